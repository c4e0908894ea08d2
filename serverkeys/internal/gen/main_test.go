package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// A tiny repository in DeepFlow's layout: what yaml.v2 would read from
// the module roots, following types across packages.
func TestDerive(t *testing.T) {
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("no git")
	}
	dir := t.TempDir()
	files := map[string]string{
		"server/cmd/server/config.go": `package main
type Config struct {
	LogFile string ` + "`yaml:\"log-file\"`" + `
	Ignored string ` + "`yaml:\"-\"`" + `
	private int
	Profiler bool
}`,
		"server/controller/config/config.go": `package config
import (
	"time"
	gen "github.com/deepflowio/deepflow/server/controller/genesis/config"
)
type Config struct {
	ControllerConfig ControllerConfig ` + "`yaml:\"controller\"`" + `
}
type ControllerConfig struct {
	ListenPort int ` + "`yaml:\"listen-port\"`" + `
	Genesis gen.GenesisConfig ` + "`yaml:\"genesis\"`" + `
	Shared ` + "`yaml:\",inline\"`" + `
	Timeout time.Duration ` + "`yaml:\"timeout\"`" + `
	Labels map[string]Label ` + "`yaml:\"labels\"`" + `
	Rules []Rule ` + "`yaml:\"rules\"`" + `
	Ports Ports ` + "`yaml:\"ports\"`" + `
}
type Shared struct {
	NodeIP string ` + "`yaml:\"node-ip\"`" + `
}
type Label struct{ Value string ` + "`yaml:\"value\"`" + ` }
type Rule struct{ Match string ` + "`yaml:\"match\"`" + ` }
type Ports []int
// Not a root: no module section.
type Other struct{ X int ` + "`yaml:\"x\"`" + ` }`,
		"server/controller/genesis/config/config.go": `package config
type GenesisConfig struct {
	LocalIPRanges []string ` + "`yaml:\"local_ip_ranges\"`" + `
	Inner *Inner ` + "`yaml:\"inner\"`" + `
}
type Inner struct{ A, B int }`,
		"server/controller/config/config_test.go": `package config
type T struct{ Controller int ` + "`yaml:\"controller\"`" + ` }`,
	}
	for name, src := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, args := range [][]string{{"init", "-q"}, {"add", "."},
		{"-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-qm", "x"}} {
		cmd := exec.Command("git", args...)
		cmd.Dir = dir
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("git %v: %v %s", args, err, out)
		}
	}
	keys, roots, err := derive(filepath.Join(dir, ".git"), "HEAD")
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"controller", "controller.genesis", "controller.genesis.inner", "controller.genesis.inner.a",
		"controller.genesis.inner.b", "controller.genesis.local_ip_ranges", "controller.labels",
		"controller.labels.*", "controller.labels.*.value", "controller.listen-port", "controller.node-ip",
		"controller.ports", "controller.rules", "controller.rules.match", "controller.timeout",
		"log-file", "profiler",
	}
	if strings.Join(keys, "\n") != strings.Join(want, "\n") {
		t.Errorf("keys:\n%s\nwant:\n%s", strings.Join(keys, "\n"), strings.Join(want, "\n"))
	}
	if got := strings.Join(roots, " "); got != "server/cmd/server.Config server/controller/config.Config" {
		t.Errorf("roots %s", got)
	}
}
