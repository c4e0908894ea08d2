package render

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/deepflow-compose/deepflow-compose/layout"
	"github.com/deepflow-compose/deepflow-compose/settings"
	"github.com/deepflow-compose/deepflow-compose/topology"
)

// legacyDotenv reads a .env file with python-dotenv as docker-compose v1
// (1.27+) does: dotenv_values with interpolation on. scripts/test.sh
// installs Debian's python3-dotenv.
func legacyDotenv(t *testing.T, path string) (map[string]string, error) {
	t.Helper()
	py := "/usr/bin/python3"
	if err := exec.Command(py, "-c", "import dotenv").Run(); err != nil {
		t.Skipf("python3-dotenv is not installed (scripts/test.sh installs it): %v", err)
	}
	out, err := exec.Command(py, "-c", `import json, sys
from dotenv import dotenv_values
print(json.dumps(dotenv_values(sys.argv[1], encoding="utf-8-sig", interpolate=True)))`, path).CombinedOutput()
	if err != nil {
		return nil, fmt.Errorf("python-dotenv: %w\n%s", err, out)
	}
	var env map[string]string
	if err := json.Unmarshal(out, &env); err != nil {
		return nil, fmt.Errorf("python-dotenv: %s", out) // it warns on stdout when it cannot parse a line
	}
	return env, nil
}

// The .env written for passwords with ", $, \ and ' reads back the same
// in compose v2's dotenv and in python-dotenv (docker-compose v1), except
// where the two dialects share no spelling; render says so for those.
func TestEnvReadsBackInLegacyCompose(t *testing.T) {
	cases := []struct {
		password string
		legacyOK bool
	}{
		{`plain123`, true},
		{`a"b`, true},
		{`a\b`, true},
		{`a'b`, true},
		{`a\"b'c`, true},
		{`a\"b'c\\`, false},
		{`trail\`, false},
		{`mid\\dle`, true},
		{`$HOME`, true},
		{`${HOME}`, false},
		{`${HOME`, false},
		{`a$b"c`, true},
		{`p@$$w0rd`, true},
		{`a$b'c`, false},
		{`a\$b`, false},
		{`a"b'c\d$e`, false},
	}
	for _, c := range cases {
		t.Run(c.password, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "d")
			p, err := Prepare(context.Background(), Options{OutDir: out, Inputs: settings.Inputs{NodeIP: "192.0.2.10",
				Sets: []string{"mysql.password=" + c.password, "clickhouse.password=ch", "grafana.adminPassword=gr"}}})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := p.Write(false); err != nil {
				t.Fatal(err)
			}
			data, err := os.ReadFile(filepath.Join(out, topology.Env))
			if err != nil {
				t.Fatal(err)
			}
			v2, err := layout.ReadEnv(data)
			if err != nil || v2[topology.Vars.MySQLPassword] != c.password {
				t.Fatalf("compose v2 reads %q (%v), want %q", v2[topology.Vars.MySQLPassword], err, c.password)
			}
			legacy, err := legacyDotenv(t, filepath.Join(out, topology.Env))
			v1 := legacy[topology.Vars.MySQLPassword]
			if c.legacyOK && err != nil {
				t.Fatal(err)
			}
			warned := strings.Contains(strings.Join(p.Notices, "\n"), "mysql.password cannot be written to .env so that legacy docker-compose v1 reads it back")
			if c.legacyOK && v1 != c.password {
				t.Errorf("docker-compose v1 reads %q, want %q", v1, c.password)
			}
			if warned == c.legacyOK {
				t.Errorf("warned = %v, want %v (v1 reads %q)", warned, !c.legacyOK, v1)
			}
		})
	}
}
