// Package standin builds small local images that stand in for DeepFlow's
// images in tests. A stand-in is a busybox rootfs imported under the exact
// image names a render asks for; it reads the rendered config files mounted
// into it, listens on the ports they name and answers the readiness probes.
// Stand-ins prove the orchestration (compose file, ports, wiring, readiness),
// not DeepFlow itself, and every one is labelled as a stand-in.
package standin

import (
	"archive/tar"
	"bytes"
	"context"
	"debug/elf"
	"embed"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/moby/moby/client"
)

// Label marks every stand-in image.
const Label = "io.deepflow-compose.standin"

// DefaultBusybox is where Debian's busybox-static installs the binary.
const DefaultBusybox = "/bin/busybox"

// ErrRealImage: a name the stand-in would take already names an image that
// is not a stand-in; taking it would hide the real image from up.
var ErrRealImage = errors.New("name taken by a real image")

// ErrBusybox means no static busybox is available to build a rootfs from.
var ErrBusybox = errors.New("no static busybox (install Debian's busybox-static)")

//go:embed rootfs/run.sh rootfs/yflat.awk rootfs/clickhouse.cgi
var rootfs embed.FS

// Options tune the stand-ins' behaviour.
type Options struct {
	// Busybox is the static busybox binary; DefaultBusybox when empty.
	Busybox string
	// Health503 keeps the deepflow-server stand-in's controller answering
	// 503 with an init stage to this many health probes after its
	// databases answer, before it turns ready.
	Health503 int
	// ReplaceReal lets Build take a name that a real (not stand-in) image
	// holds on the engine.
	ReplaceReal bool
	// NeverReady lists roles (mysql, clickhouse, deepflow-server,
	// deepflow-app, grafana) that never open their ports; the server one
	// answers 503 forever.
	NeverReady []string
	// APIStandin is a static apistandin binary (the controller API
	// stand-in the server role serves); when empty it is built with
	// `go build`, which needs the Go toolchain and this module's source.
	APIStandin string
}

// apistandinPkg is the command the server role runs on the controller port.
const apistandinPkg = "github.com/deepflow-compose/deepflow-compose/api/apitest/cmd/apistandin"

var (
	apiOnce sync.Once
	apiBin  []byte
	apiErr  error
)

// ErrAPIStandin means the controller API stand-in could not be built.
var ErrAPIStandin = errors.New("standin: cannot build the controller API stand-in")

// apiStandin returns the apistandin binary, built once per process as a
// static binary (CGO_ENABLED=0): the image has no libc.
func apiStandin(path string) ([]byte, error) {
	if path != "" {
		b, err := os.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("%w: %w", ErrAPIStandin, err)
		}
		return b, nil
	}
	apiOnce.Do(func() {
		dir, err := os.MkdirTemp("", "apistandin")
		if err != nil {
			apiErr = fmt.Errorf("%w: %w", ErrAPIStandin, err)
			return
		}
		defer os.RemoveAll(dir)
		bin := filepath.Join(dir, "apistandin")
		cmd := exec.Command("go", "build", "-trimpath", "-ldflags", "-s -w", "-o", bin, apistandinPkg)
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			apiErr = fmt.Errorf("%w: go build: %w: %s", ErrAPIStandin, err, strings.TrimSpace(string(out)))
			return
		}
		apiBin, apiErr = os.ReadFile(bin)
	})
	return apiBin, apiErr
}

// Build imports one stand-in image and tags it with every name in images.
// It returns the image ID.
func Build(ctx context.Context, api client.APIClient, images []string, o Options) (string, error) {
	if len(images) == 0 {
		return "", errors.New("standin: no image names given")
	}
	names := append([]string(nil), images...)
	sort.Strings(names)
	if !o.ReplaceReal {
		var real []string
		for _, n := range names {
			if img, err := api.ImageInspect(ctx, n); err == nil && (img.Config == nil || img.Config.Labels[Label] != "true") {
				real = append(real, n)
			}
		}
		if len(real) > 0 {
			return "", fmt.Errorf("%w: %s already on this engine; a stand-in under that name would run instead of it. Use a private engine (scripts/dockerd.sh), or replace it on purpose", ErrRealImage, strings.Join(real, ", "))
		}
	}
	layer, err := Rootfs(o)
	if err != nil {
		return "", err
	}
	err = importImage(ctx, api, bytes.NewReader(layer), names[0], "deepflow-compose stand-in (not DeepFlow)", []string{
		"LABEL " + Label + "=true",
		`ENV PATH=/bin`,
		`CMD ["/bin/sh", "/standin/run.sh"]`,
	})
	if err != nil {
		return "", err
	}
	for _, n := range names[1:] {
		if _, err := api.ImageTag(ctx, client.ImageTagOptions{Source: names[0], Target: n}); err != nil {
			return "", fmt.Errorf("standin: tag %s: %w", n, err)
		}
	}
	img, err := api.ImageInspect(ctx, names[0])
	if err != nil {
		return "", fmt.Errorf("standin: inspect %s: %w", names[0], err)
	}
	if img.Config == nil || img.Config.Labels[Label] != "true" {
		return "", fmt.Errorf("standin: %s lacks the %s label", names[0], Label)
	}
	return img.ID, nil
}

// importImage imports a filesystem tarball as image name and reads the
// engine's answer to its end, where a failed import says why.
func importImage(ctx context.Context, api client.APIClient, src io.Reader, name, message string, changes []string) error {
	res, err := api.ImageImport(ctx, client.ImageImportSource{Source: src, SourceName: "-"}, name,
		client.ImageImportOptions{Message: message, Changes: changes})
	if err != nil {
		return fmt.Errorf("standin: import %s: %w", name, err)
	}
	out, err := io.ReadAll(res)
	res.Close()
	if err != nil {
		return fmt.Errorf("standin: import %s: %w", name, err)
	}
	if i := bytes.Index(out, []byte(`"error"`)); i >= 0 {
		return fmt.Errorf("standin: import %s: %s", name, strings.TrimSpace(string(out[i:])))
	}
	return nil
}

// Rootfs returns the stand-in's filesystem as a tar stream.
func Rootfs(o Options) ([]byte, error) {
	bb := o.Busybox
	if bb == "" {
		bb = DefaultBusybox
	}
	bin, err := os.ReadFile(bb)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBusybox, err)
	}
	if err := checkStatic(bb); err != nil {
		return nil, err
	}
	applets, err := listApplets(bb)
	if err != nil {
		return nil, err
	}

	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	mtime := time.Unix(0, 0)
	dir := func(name string, mode int64) error {
		return tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: name + "/", Mode: mode, ModTime: mtime})
	}
	file := func(name string, mode int64, data []byte) error {
		if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: name, Mode: mode, Size: int64(len(data)), ModTime: mtime}); err != nil {
			return err
		}
		_, err := tw.Write(data)
		return err
	}
	for _, d := range []string{"bin", "etc", "standin", "tmp", "var", "var/lib", "var/log"} {
		mode := int64(0o755)
		if d == "tmp" {
			mode = 0o1777
		}
		if err := dir(d, mode); err != nil {
			return nil, err
		}
	}
	if err := file("bin/busybox", 0o755, bin); err != nil {
		return nil, err
	}
	api, err := apiStandin(o.APIStandin)
	if err != nil {
		return nil, err
	}
	if err := file("bin/apistandin", 0o755, api); err != nil {
		return nil, err
	}
	for _, a := range applets {
		if a == "busybox" || a == "apistandin" {
			continue
		}
		if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeSymlink, Name: "bin/" + a, Linkname: "busybox", Mode: 0o777, ModTime: mtime}); err != nil {
			return nil, err
		}
	}
	for _, f := range []string{"run.sh", "yflat.awk", "clickhouse.cgi"} {
		data, err := rootfs.ReadFile("rootfs/" + f)
		if err != nil {
			return nil, err
		}
		if err := file("standin/"+f, 0o755, data); err != nil {
			return nil, err
		}
	}
	for name, data := range map[string][]byte{"mysql-greeting": MySQLGreeting()} {
		if err := file("standin/"+name, 0o644, data); err != nil {
			return nil, err
		}
	}
	conf := fmt.Sprintf("# stand-in settings, baked in at build time\nHEALTH_503=%d\nNEVER_READY=%q\n",
		o.Health503, strings.Join(o.NeverReady, " "))
	if err := file("standin/conf", 0o644, []byte(conf)); err != nil {
		return nil, err
	}
	if err := file("etc/passwd", 0o644, []byte("root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n")); err != nil {
		return nil, err
	}
	if err := file("etc/group", 0o644, []byte("root:x:0:\nnogroup:x:65534:\n")); err != nil {
		return nil, err
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// MySQLGreeting is the handshake packet (protocol 10) a MySQL server sends
// on every new connection, with a server version that says "stand-in".
func MySQLGreeting() []byte {
	var p []byte
	p = append(p, 10)
	p = append(p, "8.0.0-deepflow-compose-standin"...)
	p = append(p, 0)
	p = append(p, 1, 0, 0, 0)          // connection id
	p = append(p, "standin1"...)       // auth data, part 1
	p = append(p, 0)                   // filler
	p = append(p, 0xff, 0xf7)          // capabilities, low
	p = append(p, 0x21)                // utf8 collation
	p = append(p, 2, 0)                // status: autocommit
	p = append(p, 0xff, 0x81)          // capabilities, high
	p = append(p, 21)                  // auth data length
	p = append(p, make([]byte, 10)...) // reserved
	p = append(p, "standin12345"...)   // auth data, part 2
	p = append(p, 0)                   // its terminator
	p = append(p, "mysql_native_password"...)
	p = append(p, 0)
	n := len(p)
	return append([]byte{byte(n), byte(n >> 8), byte(n >> 16), 0}, p...)
}

// checkStatic refuses a dynamically linked busybox: it could not run in an
// image that holds no libc.
func checkStatic(path string) error {
	f, err := elf.Open(path)
	if err != nil {
		return fmt.Errorf("%w: %s: %w", ErrBusybox, path, err)
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			return fmt.Errorf("%w: %s is dynamically linked", ErrBusybox, path)
		}
	}
	return nil
}

func listApplets(bb string) ([]string, error) {
	out, err := exec.Command(bb, "--list").Output()
	if err != nil {
		return nil, fmt.Errorf("%w: %s --list: %w", ErrBusybox, bb, err)
	}
	var applets []string
	for _, l := range strings.Fields(string(out)) {
		if !strings.ContainsAny(l, "/.") {
			applets = append(applets, l)
		}
	}
	if len(applets) < 10 {
		return nil, fmt.Errorf("%w: %s lists only %s applets", ErrBusybox, bb, strconv.Itoa(len(applets)))
	}
	return applets, nil
}
