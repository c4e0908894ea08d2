package main

import (
	"io"
	"strings"
	"testing"
)

// TestEngineCommandsHaveLongHelp: every command that acts on a running
// stack explains itself in --help beyond its one-line summary.
func TestEngineCommandsHaveLongHelp(t *testing.T) {
	root := newRootCmd(io.Discard, io.Discard)
	for _, name := range []string{"up", "status", "down", "logs"} {
		cmd, _, err := root.Find([]string{name})
		if err != nil || cmd.Name() != name {
			t.Fatalf("%s: %v", name, err)
		}
		if len(strings.Fields(cmd.Long)) < 20 {
			t.Errorf("%s has no long help: %q", name, cmd.Long)
		}
	}
	down, _, _ := root.Find([]string{"down"})
	if !strings.Contains(down.Long, "only the directories this stack created") {
		t.Errorf("down's help does not say what --purge deletes:\n%s", down.Long)
	}
}
