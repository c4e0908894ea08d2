package standin

import (
	"archive/tar"
	"bytes"
	"debug/elf"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

func needBusybox(t *testing.T) {
	t.Helper()
	if err := checkStatic(DefaultBusybox); err != nil {
		t.Skipf("stand-ins need Debian's busybox-static: %v", err)
	}
}

func TestRootfs(t *testing.T) {
	needBusybox(t)
	layer, err := Rootfs(Options{NeverReady: []string{"mysql", "grafana"}, Health503: 3})
	if err != nil {
		t.Fatal(err)
	}
	files := map[string]*tar.Header{}
	bodies := map[string]string{}
	tr := tar.NewReader(bytes.NewReader(layer))
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		files[h.Name] = h
		b, _ := io.ReadAll(tr)
		bodies[h.Name] = string(b)
	}
	for _, name := range []string{"bin/busybox", "bin/apistandin", "standin/run.sh", "standin/yflat.awk", "tmp/"} {
		if files[name] == nil {
			t.Errorf("rootfs lacks %s", name)
		}
	}
	// The controller API stand-in must run without libc.
	if f, err := elf.NewFile(bytes.NewReader([]byte(bodies["bin/apistandin"]))); err != nil {
		t.Errorf("bin/apistandin: %v", err)
	} else {
		for _, p := range f.Progs {
			if p.Type == elf.PT_INTERP {
				t.Error("bin/apistandin is dynamically linked")
			}
		}
	}
	for _, applet := range []string{"sh", "httpd", "nc", "awk", "rm"} {
		h := files["bin/"+applet]
		if h == nil || h.Typeflag != tar.TypeSymlink || h.Linkname != "busybox" {
			t.Errorf("bin/%s is not a link to busybox: %+v", applet, h)
		}
	}
	if c := bodies["standin/conf"]; !strings.Contains(c, `NEVER_READY="mysql grafana"`) || !strings.Contains(c, "HEALTH_503=3") {
		t.Errorf("conf: %q", c)
	}
	if !strings.Contains(bodies["standin/run.sh"], "STAND-IN") {
		t.Error("run.sh does not say it is a stand-in")
	}
}

func TestDynamicBusyboxRefused(t *testing.T) {
	// /bin/ls is dynamically linked on Debian; it could not run in an image
	// without libc.
	if _, err := os.Stat("/bin/ls"); err != nil {
		t.Skip(err)
	}
	if err := checkStatic("/bin/ls"); err == nil {
		t.Skip("/bin/ls is static here")
	}
	if _, err := Rootfs(Options{Busybox: "/bin/ls"}); !errors.Is(err, ErrBusybox) {
		t.Fatalf("want ErrBusybox, got %v", err)
	}
}

// TestConfigReaders runs the stand-in's own readers, under busybox, on
// config text shaped like the rendered files.
func TestConfigReaders(t *testing.T) {
	needBusybox(t)
	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	awk, err := rootfs.ReadFile("rootfs/yflat.awk")
	if err != nil {
		t.Fatal(err)
	}
	awkPath := write("yflat.awk", string(awk))
	yaml := write("server.yaml", `# comment
controller:
  grpc-port: 20035
  listen-port: 20417
  mysql:
    host: "mysql"
    port: 30131
querier:
  listen-port: 20416 # trailing comment
  clickhouse:
    host: 'clickhouse'
    port: 9000
`)
	for want, path := range map[string]string{
		"20417": "controller.listen-port", "30131": "controller.mysql.port", "mysql": "controller.mysql.host",
		"20416": "querier.listen-port", "clickhouse": "querier.clickhouse.host",
	} {
		out, err := exec.Command(DefaultBusybox, "awk", "-v", "want="+path, "-f", awkPath, yaml).Output()
		if err != nil {
			t.Fatal(err)
		}
		if got := strings.TrimSpace(string(out)); got != path+"="+want {
			t.Errorf("%s: got %q, want %q", path, got, path+"="+want)
		}
	}
	run, err := rootfs.ReadFile("rootfs/run.sh")
	if err != nil {
		t.Fatal(err)
	}
	// Take the iniget and xmlget functions out of run.sh and call them.
	fns := between(t, string(run), "# iniget FILE SECTION KEY", "bindaddr()")
	ini := write("my.cnf", "[client]\nport=1\n\n[mysqld]\nbind-address=127.0.0.1\nport=30131\n")
	grafana := write("grafana.ini", "[database]\nhost = mysql:30130\n[server]\nhttp_port = 3001\n")
	xml := write("config.xml", "<clickhouse>\n  <!-- <http_port>1</http_port> -->\n  <http_port>8124</http_port>\n  <listen_host>0.0.0.0</listen_host>\n</clickhouse>\n")
	script := fns + "\necho \"$(iniget " + ini + " mysqld port) $(iniget " + ini + " mysqld bind-address) $(iniget " + grafana + " server http_port) $(xmlget " + xml + " http_port) $(xmlget " + xml + " listen_host)\"\n"
	out, err := exec.Command(DefaultBusybox, "sh", "-c", script).CombinedOutput()
	if err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	if got, want := strings.TrimSpace(string(out)), "30131 127.0.0.1 3001 8124 0.0.0.0"; got != want {
		t.Errorf("readers: got %q, want %q", got, want)
	}
}

func between(t *testing.T, s, from, to string) string {
	t.Helper()
	i := strings.Index(s, from)
	j := strings.Index(s, to)
	if i < 0 || j < i {
		t.Fatalf("run.sh lacks %q … %q", from, to)
	}
	return s[i:j]
}
