package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// runCheck runs `deepflow-compose check` in-process and returns the exit
// code main would use.
func runCheck(t *testing.T, args ...string) (string, int) {
	t.Helper()
	var out bytes.Buffer
	root := newRootCmd(&out, &out)
	root.SetArgs(append([]string{"check"}, args...))
	err := root.Execute()
	var s errSilent
	var e *exitError
	switch {
	case err == nil:
		return out.String(), 0
	case errors.As(err, &s):
		return out.String(), s.code
	case errors.As(err, &e):
		return out.String() + err.Error(), e.code
	}
	return out.String() + err.Error(), 1
}

func TestCheckExitCodes(t *testing.T) {
	clean := t.TempDir()
	// Warnings only: an image DeepFlow publishes only as latest.
	compose := `services:
  deepflow-grafana-init-grafana-ds-dh:
    image: registry.cn-hongkong.aliyuncs.com/deepflow-ce/deepflowio-init-grafana-ds-dh:latest
`
	if err := os.WriteFile(filepath.Join(clean, "docker-compose.yaml"), []byte(compose), 0o644); err != nil {
		t.Fatal(err)
	}
	broken := t.TempDir() // no docker-compose.yaml: an error
	for _, c := range []struct {
		name string
		args []string
		code int
		has  string
	}{
		{"errors", []string{broken, "--output", "text"}, 1, "missing-file"},
		{"unreadable", []string{filepath.Join(broken, "nope"), "--output", "text"}, 2, "cannot read the directory"},
		{"bad flag", []string{broken, "--output", "xml"}, 2, `--output "xml": want text or json`},
	} {
		t.Run(c.name, func(t *testing.T) {
			out, code := runCheck(t, c.args...)
			if code != c.code || !strings.Contains(out, c.has) {
				t.Errorf("exit %d, output:\n%s\nwant exit %d and %q", code, out, c.code, c.has)
			}
		})
	}
	t.Run("warnings only", func(t *testing.T) {
		dir := filepath.Join(t.TempDir(), "deploy")
		root := newRootCmd(new(bytes.Buffer), new(bytes.Buffer))
		root.SetArgs([]string{"render", "--profile", "host-network", "--node-ip", "192.0.2.10", "-o", dir})
		if err := root.Execute(); err != nil {
			t.Fatalf("render: %v", err)
		}
		out, code := runCheck(t, dir, "--output", "text")
		if code != 0 || !strings.Contains(out, "0 error(s), 2 warning(s); read as host networking, node IP 192.0.2.10") {
			t.Errorf("exit %d, output:\n%s", code, out)
		}
	})
	t.Run("json", func(t *testing.T) {
		out, code := runCheck(t, clean, "--output", "json")
		var doc struct {
			Findings []struct{ Severity, File, Rule string }
			Summary  struct{ Errors, Warnings int }
		}
		if err := json.Unmarshal([]byte(out), &doc); err != nil {
			t.Fatalf("not JSON: %v\n%s", err, out)
		}
		// Missing services are errors; the ds-dh image only a warning.
		if code != 1 || doc.Summary.Errors == 0 {
			t.Errorf("exit %d, summary %+v", code, doc.Summary)
		}
		warned := false
		for _, f := range doc.Findings {
			if f.Rule == "image" && f.Severity == "warning" {
				warned = true
			}
		}
		if !warned {
			t.Errorf("no image warning in %s", out)
		}
	})
}
