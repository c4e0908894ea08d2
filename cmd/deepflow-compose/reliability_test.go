package main

import (
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"

	"github.com/sirupsen/logrus"
)

// A compose file that is a directory, a symlink loop or endless: exit 2
// and exactly one finding, fast.
func TestCheckUnreadableComposeFile(t *testing.T) {
	for _, c := range []struct {
		name string
		make func(t *testing.T, file string)
		why  string
	}{
		{"directory", func(t *testing.T, file string) {
			if err := os.Mkdir(file, 0o755); err != nil {
				t.Fatal(err)
			}
		}, "is a directory"},
		{"symlink loop", func(t *testing.T, file string) {
			if err := os.Symlink(filepath.Base(file), file); err != nil {
				t.Fatal(err)
			}
		}, "too many levels of symbolic links"},
		{"named pipe", func(t *testing.T, file string) {
			if err := syscall.Mkfifo(file, 0o644); err != nil {
				t.Fatal(err)
			}
		}, "is a named pipe, not a regular file"},
		{"endless", func(t *testing.T, file string) {
			if err := os.Symlink("/dev/zero", file); err != nil {
				t.Fatal(err)
			}
		}, "file too large: " + "FILE is larger than 4 MiB, the limit for this kind of file; a real one is far smaller"},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			file := filepath.Join(dir, "docker-compose.yaml")
			c.make(t, file)
			out, code := runCheck(t, dir)
			want := "docker-compose.yaml: error: docker-compose.yaml cannot be read: " + strings.ReplaceAll(c.why, "FILE", file) + " [unreadable]\n" +
				"    fix: make docker-compose.yaml a regular, readable file of the layout, or remove it\n" +
				"1 error(s), 0 warning(s); read as bridge networking, node IP unknown, DeepFlow unknown.\n"
			if code != 2 || out != want {
				t.Errorf("exit %d, output:\n%s\nwant exit 2 and:\n%s", code, out, want)
			}
		})
	}
}

// compose-go logs through logrus; none of it may reach the terminal, and
// what it says becomes a finding.
func TestCheckKeepsComposeLogsOut(t *testing.T) {
	var leaked bytes.Buffer
	old := logrus.StandardLogger().Out
	logrus.SetOutput(&leaked)
	defer logrus.SetOutput(old)
	dir := t.TempDir()
	compose := "version: \"3\"\nservices:\n  mysql:\n    image: mysql:8.0.26\n"
	if err := os.WriteFile(filepath.Join(dir, "docker-compose.yaml"), []byte(compose), 0o644); err != nil {
		t.Fatal(err)
	}
	out, _ := runCheck(t, dir)
	if leaked.Len() != 0 {
		t.Errorf("compose-go logged past check:\n%s", leaked.String())
	}
	if !strings.Contains(out, "docker-compose.yaml: warning: compose warns: the attribute `version` is obsolete") {
		t.Errorf("the warning is not a finding:\n%s", out)
	}
}

func runCLI(t *testing.T, args ...string) (string, string, int) {
	t.Helper()
	var out, errOut bytes.Buffer
	code := run(args, &out, &errOut)
	return out.String(), errOut.String(), code
}

// Errors in the user's words: the flag they typed, the spelling they used.
func TestPlainLanguageErrors(t *testing.T) {
	base := t.TempDir()
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"agent", "--server", "999.1.1.1", "-o", filepath.Join(base, "a")}, `Error: invalid settings: --server: "999.1.1.1" is not an IP address` + "\n"},
		{[]string{"agent", "--server", "224.0.0.1", "-o", filepath.Join(base, "a")}, "Error: invalid settings: --server: 224.0.0.1 is a multicast address; agents need the address of one host\n"},
		{[]string{"agent", "--server", "10.1.2.3", "--controller-port", "0", "-o", filepath.Join(base, "a")}, "Error: --controller-port: invalid settings: 0 is out of range 1-65535; leave it out to use the network mode's port\n"},
		{[]string{"agent", "--server", "10.1.2.3", "--ingester-port", "70000", "-o", filepath.Join(base, "a")}, "Error: --ingester-port: invalid settings: 70000 is out of range 1-65535; leave it out to use the network mode's port\n"},
		{[]string{"render", "--node-ip", "10.1.2.3", "--version", "V9", "--dry-run", "-o", filepath.Join(base, "r")}, `Error: invalid settings: --version: unknown version "V9" (supported: v6.5, v6.6, v7.0, v7.1)` + "\n"},
		{[]string{"render", "--node-ip", "10.1.2.3", "-o", "/"}, "Error: cannot write the output directory: / is the file system root; a render replaces its whole output directory, so give it a directory of its own, like -o /opt/deepflow-compose\n"},
	} {
		_, errOut, code := runCLI(t, c.args...)
		if code != 1 || errOut != c.want {
			t.Errorf("%v: exit %d\n got: %s\nwant: %s", c.args, code, errOut, c.want)
		}
	}
	// V7.1 is v7.1.
	out, _, code := runCLI(t, "render", "--node-ip", "10.1.2.3", "--version", "V7.1", "-o", filepath.Join(base, "v"))
	if code != 0 || !strings.Contains(out, "Rendered DeepFlow v7.1") {
		t.Errorf("--version V7.1: exit %d\n%s", code, out)
	}
}

// A loopback node IP renders, with a warning saying who cannot reach it.
func TestLoopbackNodeIPWarns(t *testing.T) {
	for _, ip := range []string{"127.0.0.1", "::1"} {
		_, errOut, code := runCLI(t, "render", "--node-ip", ip, "--dry-run", "-o", filepath.Join(t.TempDir(), "d"))
		if code != 0 || !regexp.MustCompile(`Note: node IP `+regexp.QuoteMeta(ip)+` is a loopback address: agents on other hosts cannot reach it`).MatchString(errOut) {
			t.Errorf("%s: exit %d, stderr:\n%s", ip, code, errOut)
		}
	}
}

// An endless values file fails at once with the file and the limit.
func TestRenderEndlessValuesFile(t *testing.T) {
	_, errOut, code := runCLI(t, "render", "--node-ip", "10.1.2.3", "-f", "/dev/zero", "--dry-run", "-o", filepath.Join(t.TempDir(), "d"))
	want := "Error: invalid settings: file too large: /dev/zero is larger than 1 MiB, the limit for this kind of file; a real one is far smaller\n"
	if code != 1 || errOut != want {
		t.Errorf("exit %d\n got: %s\nwant: %s", code, errOut, want)
	}
}

// ClickHouse's TCP and HTTP listeners on one port inside its container:
// check reports the clash under bridge, as render refuses it.
func TestCheckContainerPortClash(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "deploy")
	if _, errOut, code := runCLI(t, "render", "--node-ip", "192.0.2.10", "-o", dir); code != 0 {
		t.Fatal(errOut)
	}
	// What a hand edit of every file naming the TCP port gives.
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(p, regexp.MustCompile(`\b9000\b`).ReplaceAll(b, []byte("8123")), 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
	out, code := runCheck(t, dir)
	want := "common/config/clickhouse/config.xml:12: error: ClickHouse's tcp and http listeners both use port 8123 inside its container (deepflow-clickhouse); the second cannot bind [port-clash]"
	if code != 1 || !strings.Contains(out, want) {
		t.Errorf("exit %d, output:\n%s\nwant a line:\n%s", code, out, want)
	}
}

// A damaged .env never puts its secret into an error, warning or finding,
// on any command that reads it.
func TestEnvSecretsNeverPrinted(t *testing.T) {
	const secret = "s3cr3tXYZ"
	base := t.TempDir()
	dir := filepath.Join(base, "deploy")
	if _, errOut, code := runCLI(t, "render", "--node-ip", "192.0.2.10", "--set", "mysql.password="+secret, "-o", dir); code != 0 {
		t.Fatal(errOut)
	}
	envPath := filepath.Join(dir, ".env")
	good, err := os.ReadFile(envPath)
	if err != nil {
		t.Fatal(err)
	}
	line := regexp.MustCompile(`(?m)^MYSQL_ROOT_PASSWORD=.*$`)
	for _, bad := range []string{
		`MYSQL_ROOT_PASSWORD="` + secret,
		`MYSQL_ROOT_PASSWORD='` + secret,
		`MYSQL_ROOT_PASSWORD ` + secret,
		`MYSQL ROOT=` + secret,
		`bad-key!=` + secret,
		`MYSQL_ROOT_PASSWORD="` + secret + `" junk`,
		`MYSQL_ROOT_PASSWORD=` + secret + `"`,
	} {
		if err := os.WriteFile(envPath, line.ReplaceAll(good, []byte(bad)), 0o600); err != nil {
			t.Fatal(err)
		}
		for _, args := range [][]string{
			{"render", "--node-ip", "192.0.2.10", "-o", dir},
			{"render", "--node-ip", "192.0.2.10", "-o", dir, "--dry-run"},
			{"diff", "--node-ip", "192.0.2.10", "-o", dir},
			{"check", dir},
			{"check", dir, "--output", "json"},
			{"images", dir},
			{"status", dir},
			{"bundle", "save", dir, "-o", filepath.Join(base, "b.tar.zst")},
		} {
			out, errOut, _ := runCLI(t, args...)
			if strings.Contains(out+errOut, secret) {
				t.Errorf("%q with .env line %q prints the secret:\n%s%s", args, bad, out, errOut)
			}
		}
	}
}

// diff shows that a password changed without showing it, in context and
// in changes, in every file that holds it.
func TestDiffRedactsSecrets(t *testing.T) {
	const oldPW, newPW = "OldSecret-123", "NewSecret-456"
	dir := filepath.Join(t.TempDir(), "deploy")
	if _, errOut, code := runCLI(t, "render", "--node-ip", "192.0.2.10", "--set", "mysql.password="+oldPW, "--set", "clickhouse.password=Kept-789", "-o", dir); code != 0 {
		t.Fatal(errOut)
	}
	out, _, code := runCLI(t, "diff", "--node-ip", "192.0.2.10", "--set", "mysql.password="+newPW, "--set", "clickhouse.password=Kept-789", "--set", "mysql.port=30131", "-o", dir)
	if code != 1 {
		t.Fatalf("exit %d", code)
	}
	for _, s := range []string{oldPW, newPW, "Kept-789"} {
		if strings.Contains(out, s) {
			t.Errorf("diff shows %q:\n%s", s, out)
		}
	}
	for _, want := range []string{
		"-MYSQL_ROOT_PASSWORD=\"«secret ", "+MYSQL_ROOT_PASSWORD=\"«secret ",
		"-    user-password: \"«secret ", // server.yaml's MySQL password, a change
		"# secret MYSQL_ROOT_PASSWORD changed (values redacted)\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("diff lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "CLICKHOUSE_DEFAULT_PASSWORD changed") {
		t.Error("an unchanged secret is reported as changed")
	}
	// Old and new labels differ, so the change is visible.
	m := regexp.MustCompile(`(?m)^([-+])MYSQL_ROOT_PASSWORD="(«secret \d+»)"$`).FindAllStringSubmatch(out, -1)
	if len(m) != 2 || m[0][2] == m[1][2] {
		t.Errorf("want two different labels, got %v", m)
	}
}
