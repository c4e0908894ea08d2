package standin

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	_ "embed"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/moby/moby/client"

	"github.com/deepflow-compose/deepflow-compose/internal/findup"
)

// The MariaDB stand-in is a stand-in of the database engine, not of
// DeepFlow: Debian's mariadb-server with a small entrypoint that does what
// MySQL's image entrypoint does. Tests run it under the rendered MySQL
// image's name where they need a server that speaks MySQL's protocol (the
// version checks, backup and restore).
const (
	// KindLabel says what a stand-in stands in for; the MariaDB one carries
	// KindDatabaseEngine, beside Label=true.
	KindLabel          = "io.deepflow-compose.standin.kind"
	KindDatabaseEngine = "database-engine"
	// mariadbBuildLabel identifies the root filesystem and entrypoint an
	// image was built from, so that a second build reuses it.
	mariadbBuildLabel = "io.deepflow-compose.standin.build"
	// MariaDBImage is the stand-in's own name; BuildMariaDB tags it with
	// the names a test asks for as well.
	MariaDBImage = "deepflow-compose/mariadb-standin"
)

// MariaDBLooseOptions are MySQL 8 server options that MariaDB does not have
// and that a rendered my.cnf may hold. The stand-in's entrypoint marks these,
// and only these, `loose-` in its copy of my.cnf (so MariaDB ignores them
// instead of refusing to start), and logs each one it marks.
var MariaDBLooseOptions = []string{
	"default-authentication-plugin",
}

// ErrMariaDBRootfs means the MariaDB root filesystem could not be found or
// built.
var ErrMariaDBRootfs = errors.New("no MariaDB root filesystem")

//go:embed mariadb/docker-entrypoint.sh
var mariadbEntrypoint []byte

// RootfsEnv names a prebuilt root filesystem tarball (scripts/test.sh sets
// it); when unset, MariaDBRootfs runs scripts/mariadb-rootfs.sh.
const RootfsEnv = "DFC_MARIADB_ROOTFS"

// MariaDBRootfs returns the path of the MariaDB root filesystem tarball:
// $DFC_MARIADB_ROOTFS when set, else what scripts/mariadb-rootfs.sh (found
// above the working directory) prints. The script builds the tarball once,
// with debootstrap, and caches it.
func MariaDBRootfs(ctx context.Context) (string, error) {
	if p := os.Getenv(RootfsEnv); p != "" {
		if _, err := os.Stat(p); err != nil {
			return "", fmt.Errorf("%w: %s: %w", ErrMariaDBRootfs, RootfsEnv, err)
		}
		return p, nil
	}
	script, err := findup.Path("scripts/mariadb-rootfs.sh")
	if err != nil {
		return "", fmt.Errorf("%w: %w", ErrMariaDBRootfs, err)
	}
	cmd := exec.CommandContext(ctx, "bash", script)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("%w: %s: %w: %s", ErrMariaDBRootfs, script, err, strings.TrimSpace(stderr.String()))
	}
	p := strings.TrimSpace(string(out))
	if _, err := os.Stat(p); err != nil {
		return "", fmt.Errorf("%w: %s printed %q: %w", ErrMariaDBRootfs, script, p, err)
	}
	return p, nil
}

// BuildMariaDB imports the MariaDB stand-in from the root filesystem
// tarball (gzipped or plain tar) into the engine, unless an image built
// from the same tarball and entrypoint is there already, and tags it with
// every name in images. It returns the image ID.
func BuildMariaDB(ctx context.Context, api client.APIClient, rootfs string, images []string) (string, error) {
	key, err := mariadbKey(rootfs)
	if err != nil {
		return "", err
	}
	own := MariaDBImage + ":" + key[:12]
	img, err := api.ImageInspect(ctx, own)
	if err != nil || img.Config == nil || img.Config.Labels[mariadbBuildLabel] != key {
		if err := importMariaDB(ctx, api, rootfs, own, key); err != nil {
			return "", err
		}
		if img, err = api.ImageInspect(ctx, own); err != nil {
			return "", fmt.Errorf("standin: inspect %s: %w", own, err)
		}
	}
	if img.Config == nil || img.Config.Labels[Label] != "true" || img.Config.Labels[KindLabel] != KindDatabaseEngine {
		return "", fmt.Errorf("standin: %s lacks the %s and %s labels", own, Label, KindLabel)
	}
	names := append([]string(nil), images...)
	sort.Strings(names)
	for _, n := range names {
		if _, err := api.ImageTag(ctx, client.ImageTagOptions{Source: own, Target: n}); err != nil {
			return "", fmt.Errorf("standin: tag %s: %w", n, err)
		}
	}
	return img.ID, nil
}

// mariadbKey names one build: the tarball (its name carries the package
// version; its size tells a rebuilt one apart), the entrypoint and the list
// of options it marks loose.
func mariadbKey(rootfs string) (string, error) {
	// The script's cache may link the name it looks up to the file named
	// after the version really installed.
	real, err := filepath.EvalSymlinks(rootfs)
	if err != nil {
		return "", fmt.Errorf("%w: %w", ErrMariaDBRootfs, err)
	}
	st, err := os.Stat(real)
	if err != nil {
		return "", fmt.Errorf("%w: %w", ErrMariaDBRootfs, err)
	}
	h := sha256.New()
	fmt.Fprintf(h, "%s\x00%d\x00", filepath.Base(real), st.Size())
	h.Write(mariadbEntrypoint)
	h.Write([]byte(looseList()))
	return hex.EncodeToString(h.Sum(nil)), nil
}

func looseList() string {
	return "# MySQL options MariaDB does not have; the entrypoint marks them loose-.\n" +
		strings.Join(MariaDBLooseOptions, "\n") + "\n"
}

func importMariaDB(ctx context.Context, api client.APIClient, rootfs, name, key string) error {
	pr, pw := io.Pipe()
	go func() { pw.CloseWithError(MariaDBLayer(rootfs, pw)) }()
	err := importImage(ctx, api, pr, name, "deepflow-compose stand-in of the database engine: Debian's MariaDB, not MySQL", []string{
		"LABEL " + Label + "=true",
		"LABEL " + KindLabel + "=" + KindDatabaseEngine,
		"LABEL " + mariadbBuildLabel + "=" + key,
		`ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin`,
		`ENTRYPOINT ["/usr/local/bin/docker-entrypoint.sh"]`,
		`CMD ["mariadbd"]`,
	})
	// Ends the layer's writer, whether the engine read it all or not.
	pr.CloseWithError(err)
	return err
}

// MariaDBLayer writes the image's filesystem to w: the root filesystem
// tarball with the stand-in's entrypoint, its list of loose options and an
// empty /docker-entrypoint-initdb.d added.
func MariaDBLayer(rootfs string, w io.Writer) error {
	f, err := os.Open(rootfs)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrMariaDBRootfs, err)
	}
	defer f.Close()
	var r io.Reader = f
	var head [2]byte
	if _, err := io.ReadFull(f, head[:]); err != nil {
		return fmt.Errorf("%w: %s: %w", ErrMariaDBRootfs, rootfs, err)
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return err
	}
	if head == [2]byte{0x1f, 0x8b} {
		gz, err := gzip.NewReader(f)
		if err != nil {
			return fmt.Errorf("%w: %s: %w", ErrMariaDBRootfs, rootfs, err)
		}
		defer gz.Close()
		r = gz
	}
	added := map[string]bool{
		"usr/local/bin/docker-entrypoint.sh": true,
		"standin/loose-options":              true,
		"standin/":                           true,
		"docker-entrypoint-initdb.d/":        true,
	}
	tr := tar.NewReader(r)
	tw := tar.NewWriter(w)
	sawMariadbd := false
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return fmt.Errorf("%w: %s: %w", ErrMariaDBRootfs, rootfs, err)
		}
		name := strings.TrimPrefix(h.Name, "./")
		if name == "" {
			continue
		}
		if added[name] {
			continue
		}
		if name == "usr/sbin/mariadbd" {
			sawMariadbd = true
		}
		h.Name = name
		if err := tw.WriteHeader(h); err != nil {
			return err
		}
		if _, err := io.Copy(tw, tr); err != nil {
			return err
		}
	}
	if !sawMariadbd {
		return fmt.Errorf("%w: %s holds no usr/sbin/mariadbd", ErrMariaDBRootfs, rootfs)
	}
	mtime := time.Unix(0, 0)
	for _, d := range []string{"standin/", "docker-entrypoint-initdb.d/"} {
		if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: d, Mode: 0o755, ModTime: mtime}); err != nil {
			return err
		}
	}
	for _, fl := range []struct {
		name string
		mode int64
		data []byte
	}{
		{"usr/local/bin/docker-entrypoint.sh", 0o755, mariadbEntrypoint},
		{"standin/loose-options", 0o644, []byte(looseList())},
	} {
		if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: fl.name, Mode: fl.mode, Size: int64(len(fl.data)), ModTime: mtime}); err != nil {
			return err
		}
		if _, err := tw.Write(fl.data); err != nil {
			return err
		}
	}
	return tw.Close()
}
