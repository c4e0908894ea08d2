package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func runCmd(args ...string) (string, int) {
	var out bytes.Buffer
	code := run(args, &out, &out)
	return out.String(), code
}

func TestUpgradeArguments(t *testing.T) {
	dir := t.TempDir()
	for _, c := range []struct {
		args []string
		out  string
	}{
		{[]string{"upgrade"}, "Error: upgrade needs DIR: upgrade DIR --version vX.Y\n"},
		{[]string{"upgrade", dir}, "Error: upgrade needs --version (see `deepflow-compose version` for the release lines)\n"},
		{[]string{"upgrade", "--restore", "b", dir}, "Error: --restore takes only the backup directory: upgrade --restore DIR/backups/<timestamp>\n"},
		{[]string{"upgrade", "--list-backups"}, "Error: --list-backups needs DIR (or --backup-dir)\n"},
	} {
		if out, code := runCmd(c.args...); code != 1 || out != c.out {
			t.Errorf("%v: exit %d, %q; want 1, %q", c.args, code, out, c.out)
		}
	}
}

func TestUpgradeListBackups(t *testing.T) {
	dir := t.TempDir()
	if out, code := runCmd("upgrade", "--list-backups", dir); code != 0 || out != "No backups.\n" {
		t.Errorf("no backups: %d %q", code, out)
	}
	// An interrupted backup: a directory without its manifest.
	partial := filepath.Join(dir, "backups", "20261127T080000Z")
	if err := os.MkdirAll(partial, 0o700); err != nil {
		t.Fatal(err)
	}
	out, code := runCmd("upgrade", "--list-backups", dir)
	if code != 0 || !strings.HasPrefix(out, partial+"  incomplete: not a complete backup: "+partial+": open "+filepath.Join(partial, "backup.json")+": no such file or directory (an interrupted backup, or not a backup)") {
		t.Errorf("partial backup: %d %q", code, out)
	}
}

func TestVersionPrintsSchemas(t *testing.T) {
	out, code := runCmd("version")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, out)
	}
	for _, want := range []string{
		"  v7.0     v7.0.9       7.0.1.23            v7.0.5.0\n",
		"           v7.0-branch  7.0.1.23..7.0.1.29  v7.0.5.0+\n",
		"  v7.1     v7.1.8       7.1.0.30            v7.1.7.3\n",
		"           v7.1-branch  7.1.0.30+           v7.1.7.3+\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("version lacks %q:\n%s", want, out)
		}
	}
}
