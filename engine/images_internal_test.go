package engine

import (
	"context"
	"io"
	"slices"
	"strings"
	"testing"
)

// TestAllImagesIncludeTheAgent: the stand-in builder tags AllImages, so it
// must hold the agent's image as well as every image of the compose file.
func TestAllImagesIncludeTheAgent(t *testing.T) {
	s := renderedStack(t, "registry=127.0.0.1:5999/x")
	e, err := New(Options{Out: io.Discard, Err: io.Discard})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	compose, err := e.Images(context.Background(), s)
	if err != nil {
		t.Fatal(err)
	}
	all, err := e.AllImages(context.Background(), s)
	if err != nil {
		t.Fatal(err)
	}
	for _, img := range compose {
		if !slices.Contains(all, img) {
			t.Errorf("AllImages lacks the compose file's %s", img)
		}
	}
	if !slices.ContainsFunc(all, func(s string) bool { return strings.Contains(s, "/deepflow-agent:") }) {
		t.Errorf("AllImages lacks the agent: %v", all)
	}
}
