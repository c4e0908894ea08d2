package main

import (
	"bytes"
	"context"
	"encoding/json"
	"math/rand/v2"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/deepflow-compose/deepflow-compose/catalog"
	"github.com/deepflow-compose/deepflow-compose/layout"
	"github.com/deepflow-compose/deepflow-compose/render"
	"github.com/deepflow-compose/deepflow-compose/settings"
	"github.com/deepflow-compose/deepflow-compose/topology"
)

func runImagesCmd(t *testing.T, args ...string) string {
	t.Helper()
	// A fresh command each time: cobra keeps flag values between runs.
	cmd := newImagesCmd()
	var out bytes.Buffer
	cmd.SetOut(&out)
	cmd.SetErr(&out)
	// Never nil: cobra would read the test binary's own flags instead.
	cmd.SetArgs(append([]string{}, args...))
	if err := cmd.Execute(); err != nil {
		t.Fatalf("images %v: %v\n%s", args, err, out.String())
	}
	return out.String()
}

// composeImages loads a compose file with layout's compose loader (compose-go,
// with .env for the server stack) and returns its services' images.
func composeImages(t *testing.T, dir, file string, withEnv bool) []string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(dir, file))
	if err != nil {
		t.Fatal(err)
	}
	env := map[string]string{}
	if withEnv {
		b, err := os.ReadFile(filepath.Join(dir, topology.Env))
		if err != nil {
			t.Fatal(err)
		}
		if env, err = layout.ReadEnv(b); err != nil {
			t.Fatal(err)
		}
	}
	p, err := layout.LoadCompose(context.Background(), dir, file, data, env, "deepflow")
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, s := range p.Services {
		out = append(out, s.Image)
	}
	return out
}

var nextStepsImageRE = regexp.MustCompile("(?m)^- `([^`]+)`$")

func uniq(s []string) []string {
	sort.Strings(s)
	var out []string
	for i, x := range s {
		if i == 0 || x != s[i-1] {
			out = append(out, x)
		}
	}
	return out
}

// images DIR, images with the same inputs, both compose files and
// NEXT-STEPS name the same references, mirror and override included.
func TestImagesAgreeWithComposeFiles(t *testing.T) {
	for name, sets := range map[string][]string{
		"defaults": nil,
		"mirror":   {"registry=harbor.local/deepflow"},
		"override": {"registry=harbor.local/deepflow", "images.agent=harbor.local/agents/deepflow-agent:v7.1.2", "images.grafana=127.0.0.1:5000/grafana:10.4.1"},
		"v6.6":     {"version=v6.6", "registry=127.0.0.1:5000/df"},
	} {
		t.Run(name, func(t *testing.T) {
			var seed [32]byte
			dir := filepath.Join(t.TempDir(), "deepflow")
			p, err := render.Prepare(context.Background(), render.Options{
				Inputs: settings.Inputs{Profile: "bridge", NodeIP: "192.0.2.10", Sets: sets},
				OutDir: dir, Rand: rand.NewChaCha8(seed)})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := p.Write(false); err != nil {
				t.Fatal(err)
			}
			fromDir := strings.Fields(runImagesCmd(t, dir))
			var args []string
			for _, s := range sets {
				args = append(args, "--set", s)
			}
			fromInputs := strings.Fields(runImagesCmd(t, args...))

			files := composeImages(t, dir, topology.Compose, true)
			files = append(files, composeImages(t, dir, topology.AgentCompose, false)...)
			next, err := os.ReadFile(filepath.Join(dir, topology.NextSteps))
			if err != nil {
				t.Fatal(err)
			}
			var listed []string
			for _, m := range nextStepsImageRE.FindAllStringSubmatch(string(next), -1) {
				listed = append(listed, m[1])
			}
			want := uniq(files)
			if len(want) < 7 {
				t.Fatalf("the compose files name only %v", want)
			}
			for what, got := range map[string][]string{"images DIR": fromDir, "images --set": fromInputs, "NEXT-STEPS": uniq(listed)} {
				if strings.Join(got, "\n") != strings.Join(want, "\n") {
					t.Errorf("%s lists\n  %s\nthe compose files name\n  %s", what, strings.Join(got, "\n  "), strings.Join(want, "\n  "))
				}
			}
			for _, s := range sets {
				if v, ok := strings.CutPrefix(s, "images.agent="); ok && !strings.Contains(strings.Join(fromDir, " "), v) {
					t.Errorf("override %s missing from %v", v, fromDir)
				}
			}

			var js imagesJSON
			if err := json.Unmarshal([]byte(runImagesCmd(t, dir, "--output", "json")), &js); err != nil {
				t.Fatal(err)
			}
			comps := 0
			for i, im := range js.Images {
				if im.Ref != want[i] || len(im.Components) == 0 {
					t.Errorf("json image %d: %+v, want ref %s with components", i, im, want[i])
				}
				comps += len(im.Components)
			}
			if comps != len(catalog.ImageKeys) || js.DeepFlow == "" || js.Registry == "" {
				t.Errorf("json: %d components (want %d), %+v", comps, len(catalog.ImageKeys), js)
			}
		})
	}
}
