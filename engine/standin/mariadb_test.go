package standin

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestLoosen runs the MariaDB stand-in entrypoint's loosen on a my.cnf
// shaped like the rendered one, with bash on this host: exactly the listed
// options gain loose-, in any spelling, and every other line stays byte for
// byte.
func TestLoosen(t *testing.T) {
	if _, err := exec.LookPath("bash"); err != nil {
		t.Skip(err)
	}
	dir := t.TempDir()
	ep := filepath.Join(dir, "entrypoint.sh")
	list := filepath.Join(dir, "loose")
	in := filepath.Join(dir, "my.cnf")
	out := filepath.Join(dir, "run", "my.cnf")
	write := func(p, s string) {
		t.Helper()
		if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write(ep, string(mariadbEntrypoint))
	write(list, looseList())
	cnf := "# default-authentication-plugin=mysql_native_password stays a comment\n" +
		"[client]\nport=30130\n\n[mysqld]\n" +
		"default-authentication-plugin=mysql_native_password\n" +
		"  Default_Authentication_Plugin = caching_sha2_password\n" +
		"default-authentication-plugin-extra=1\n" +
		"loose-default-authentication-plugin=x\n" +
		"bind-address=0.0.0.0\n" +
		"binlog_expire_logs_seconds=86400\n" +
		"password=\"a'b\\\"c $d\"\n"
	write(in, cnf)

	cmd := exec.Command("bash", "-c", `set -euo pipefail; . "$1"; IN_CNF=$2; CNF=$3; LOOSE_LIST=$4; loosen`, "-", ep, in, out, list)
	cmd.Env = append(os.Environ(), "STANDIN_NO_MAIN=1")
	log, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("loosen: %v\n%s", err, log)
	}
	wantLog := "stand-in mariadb: marked loose- (MySQL options MariaDB does not have): default-authentication-plugin (line 6), Default_Authentication_Plugin (line 7)\n"
	if string(log) != wantLog {
		t.Errorf("log:\n%s\nwant:\n%s", log, wantLog)
	}
	got, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	want := strings.Replace(cnf, "\ndefault-authentication-plugin=", "\nloose-default-authentication-plugin=", 1)
	want = strings.Replace(want, "  Default_Authentication_Plugin", "  loose-Default_Authentication_Plugin", 1)
	if string(got) != want {
		t.Errorf("loosened my.cnf:\n%s\nwant:\n%s", got, want)
	}
}

// TestMariaDBLayer checks the image filesystem built from a root
// filesystem tarball: the tarball's files, plus the entrypoint and the
// loose list, each once.
func TestMariaDBLayer(t *testing.T) {
	dir := t.TempDir()
	var raw bytes.Buffer
	gz := gzip.NewWriter(&raw)
	tw := tar.NewWriter(gz)
	for _, f := range []struct{ name, body string }{
		{"./usr/sbin/mariadbd", "server"},
		{"./standin/loose-options", "stale"},
		{"./etc/hostname", "x"},
	} {
		if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: f.name, Mode: 0o755, Size: int64(len(f.body))}); err != nil {
			t.Fatal(err)
		}
		tw.Write([]byte(f.body))
	}
	tw.Close()
	gz.Close()
	p := filepath.Join(dir, "rootfs.tar.gz")
	if err := os.WriteFile(p, raw.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	var layer bytes.Buffer
	if err := MariaDBLayer(p, &layer); err != nil {
		t.Fatal(err)
	}
	seen := map[string]string{}
	tr := tar.NewReader(&layer)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if _, dup := seen[h.Name]; dup {
			t.Errorf("%s twice", h.Name)
		}
		b, _ := io.ReadAll(tr)
		seen[h.Name] = string(b)
	}
	if seen["usr/sbin/mariadbd"] != "server" || seen["etc/hostname"] != "x" {
		t.Errorf("rootfs files lost: %v", seen)
	}
	if seen["standin/loose-options"] != looseList() || !strings.Contains(seen["standin/loose-options"], "\ndefault-authentication-plugin\n") {
		t.Errorf("loose-options: %q", seen["standin/loose-options"])
	}
	if !strings.Contains(seen["usr/local/bin/docker-entrypoint.sh"], "STAND-IN of the database engine") {
		t.Errorf("entrypoint missing or not labelled a stand-in")
	}

	// A tarball without the server is no MariaDB root filesystem.
	empty := filepath.Join(dir, "empty.tar")
	var e bytes.Buffer
	tar.NewWriter(&e).Close()
	os.WriteFile(empty, e.Bytes(), 0o644)
	if err := MariaDBLayer(empty, io.Discard); !errors.Is(err, ErrMariaDBRootfs) {
		t.Errorf("want ErrMariaDBRootfs, got %v", err)
	}
}
