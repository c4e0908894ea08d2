package bundle

import (
	"archive/tar"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"strings"
)

// LoadOptions say which bundle to load and what to do with it.
type LoadOptions struct {
	File string
	// OutDir is where the rendered directory goes; when empty, the
	// directory's own name in the current directory. It must not exist or
	// be empty.
	OutDir string
	// Registry, when set, gives every image a second name under this
	// registry (as render's registry setting names them).
	Registry string
	// Push pushes those names; it needs Registry.
	Push   bool
	Engine Engine
	Progress
}

// LoadResult tells what was loaded.
type LoadResult struct {
	Manifest *Manifest
	// Dir is where the rendered directory now is.
	Dir string
	// Mirrored maps each image reference to its name under Registry.
	Mirrored map[string]string
}

// Load verifies a bundle completely, then loads its images, names them for
// a mirror and pushes them when asked, and unpacks the rendered directory.
// A bundle that fails verification loads nothing. How it reads the bundle
// is in the package documentation (Trust) and in stream.go.
func Load(ctx context.Context, o LoadOptions) (*LoadResult, error) {
	if o.Engine == nil {
		return nil, errors.New("bundle load: no engine")
	}
	if o.Push && o.Registry == "" {
		return nil, errors.New("bundle load: --push needs --registry: the registry to push to")
	}
	// The target is the manifest's directory name, here, unless -o names
	// one: either way its parent is known before the bundle is read.
	parent, target := ".", ""
	if o.OutDir != "" {
		abs, err := filepath.Abs(o.OutDir)
		if err != nil {
			return nil, err
		}
		// Refuse before the bundle is read.
		if err := emptyOrAbsent(abs); err != nil {
			return nil, err
		}
		parent, target = filepath.Dir(abs), abs
	}
	parent, err := filepath.Abs(parent)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(parent, 0o755); err != nil {
		return nil, err
	}
	f, size, err := open(o.File)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	c, damaged, err := precheck(ctx, f, size, o.Progress)
	if err != nil {
		return nil, err
	}
	if damaged {
		// Worded as verify words it, reading the file once more and
		// writing nothing.
		if _, err := read(ctx, f, nil); err != nil {
			return nil, fmt.Errorf("%s: %w", o.File, err)
		}
		return nil, fmt.Errorf("%s: %w", o.File, corrupt("it changed while it was being read"))
	}
	var st *staged
	if c != nil {
		// The stream hands the images to the engine as it reads them:
		// a target that will be refused is refused first.
		if target == "" {
			if err := emptyOrAbsent(filepath.Join(parent, c.man.Dir)); err != nil {
				return nil, err
			}
		}
		st, err = stream(ctx, o, f, c, parent, target)
	} else {
		st, err = unpack(ctx, o, f, size, parent, target)
	}
	if err != nil {
		return nil, err
	}
	defer st.remove()
	man := st.man
	if target == "" {
		target = filepath.Join(parent, man.Dir)
		if err := emptyOrAbsent(target); err != nil {
			return nil, err
		}
	}

	if err := st.loadImages(ctx, o); err != nil {
		return nil, err
	}
	for _, im := range man.Images {
		li, err := o.Engine.Inspect(ctx, im.Ref)
		if err != nil {
			return nil, fmt.Errorf("%w: %w", ErrLoad, err)
		}
		if li.ID != im.ID {
			return nil, fmt.Errorf("%w: %s is %s on the engine, %s in the bundle", ErrLoad, im.Ref, li.ID, im.ID)
		}
	}
	res := &LoadResult{Manifest: man, Dir: target}
	if o.Registry != "" {
		res.Mirrored = map[string]string{}
		for _, im := range man.Images {
			dst := MirrorRef(o.Registry, im.Ref)
			if dst != im.Ref {
				if err := o.Engine.TagImage(ctx, im.Ref, dst); err != nil {
					return nil, err
				}
			}
			res.Mirrored[im.Ref] = dst
			if o.Push {
				if err := o.Engine.PushImage(ctx, dst, o.W); err != nil {
					return nil, err
				}
			}
		}
	}
	if err := emptyOrAbsent(target); err != nil {
		return nil, err
	}
	if _, err := os.Stat(target); err == nil {
		if err := os.Remove(target); err != nil {
			return nil, err
		}
	}
	if err := os.Rename(st.dir, target); err != nil {
		return nil, fmt.Errorf("bundle load: moving the directory in place: %w", err)
	}
	st.dir = ""
	return res, nil
}

func emptyOrAbsent(dir string) error {
	ents, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	if len(ents) > 0 {
		return fmt.Errorf("%w: %s; choose another with -o, or move it away", ErrExists, dir)
	}
	return nil
}

// staged is a verified bundle laid out beside its target: the images'
// tar in an unnamed file, the directory in a temporary one.
type staged struct {
	man   *Manifest
	dir   string
	spool *os.File
}

// fail removes what was staged and returns err.
func (s *staged) fail(err error) (*staged, error) {
	s.remove()
	return nil, err
}

func (s *staged) remove() {
	if s.spool != nil {
		s.spool.Close()
	}
	if s.dir != "" {
		os.RemoveAll(s.dir)
	}
}

// loadImages hands the spooled images' tar to the engine; a streamed load
// has done so already.
func (s *staged) loadImages(ctx context.Context, o LoadOptions) error {
	if s.spool == nil {
		return nil
	}
	st, err := s.spool.Stat()
	if err != nil {
		return err
	}
	if _, err := s.spool.Seek(0, io.SeekStart); err != nil {
		return err
	}
	m := newMeter(o.Progress, "load", st.Size())
	if _, err := o.Engine.LoadImages(ctx, &countReader{r: s.spool, m: m}); err != nil {
		return err
	}
	m.done()
	return nil
}

// spoolBuf sizes the copies into the spool: fewer, larger writes.
const spoolBuf = 1 << 20

// stage makes the temporary directory beside the target, and the spool
// file when asked.
func stage(o LoadOptions, parent, target string, spool bool) (*staged, *os.Root, error) {
	base := "." + filepath.Base(target)
	if target == "" {
		base = "." + strings.TrimSuffix(filepath.Base(o.File), ".tar.zst")
	}
	st := &staged{}
	var err error
	if st.dir, err = os.MkdirTemp(parent, base+".load-"); err != nil {
		return nil, nil, err
	}
	fail := func(err error) (*staged, *os.Root, error) {
		st.remove()
		return nil, nil, err
	}
	if err := os.Chmod(st.dir, 0o755); err != nil {
		return fail(err)
	}
	if spool {
		// The spool has no name once open: only this process can reach it,
		// and it is gone when the process is, however it ends.
		if st.spool, err = os.CreateTemp(parent, base+".images-*.tar"); err != nil {
			return fail(err)
		}
		if err := os.Remove(st.spool.Name()); err != nil {
			return fail(err)
		}
	}
	root, err := os.OpenRoot(st.dir)
	if err != nil {
		return fail(err)
	}
	return st, root, nil
}

// unpack reads the bundle once, checking every member: image chunks go to
// a spool file and the directory's files into a temporary directory, both
// in parent. Nothing reaches the engine here. Bundles that stream cannot
// take go this way.
func unpack(ctx context.Context, o LoadOptions, f *os.File, size int64, parent, target string) (*staged, error) {
	st, root, err := stage(o, parent, target, true)
	if err != nil {
		return nil, err
	}
	defer root.Close()

	m := newMeter(o.Progress, "verify", size)
	buf := make([]byte, spoolBuf)
	visit := func(hdr *tar.Header, body io.Reader) error {
		if chunkRE.MatchString(hdr.Name) {
			if _, err := io.CopyBuffer(onlyWriter{st.spool}, body, buf); err != nil {
				var pe *os.PathError
				if errors.As(err, &pe) {
					return fmt.Errorf("bundle load: spooling the images: %w", err)
				}
				return truncated(in(hdr.Name), err)
			}
			return nil
		}
		return writeMember(root, strings.TrimPrefix(hdr.Name, deployPrefix), os.FileMode(hdr.Mode)&0o777, body)
	}
	man, err := read(ctx, &countReader{r: f, m: m}, visit)
	if err != nil {
		return st.fail(fmt.Errorf("%s: %w", o.File, err))
	}
	m.done()
	st.man = man
	return st, nil
}

// onlyWriter hides ReadFrom, so that io.CopyBuffer uses its buffer.
type onlyWriter struct{ w io.Writer }

func (o onlyWriter) Write(p []byte) (int, error) { return o.w.Write(p) }

// writeMember writes one file of the directory through root, which refuses
// any path that leaves it (checkName has refused those already).
func writeMember(root *os.Root, rel string, mode os.FileMode, body io.Reader) error {
	if dir := path.Dir(rel); dir != "." {
		if err := root.MkdirAll(dir, 0o755); err != nil {
			return fmt.Errorf("%w: %w", ErrUnsafe, err)
		}
	}
	// Secrets (.env) must not be readable by others even for a moment:
	// create owner-only, widen to the recorded mode below.
	f, err := root.OpenFile(rel, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrUnsafe, err)
	}
	if _, err := io.Copy(f, body); err != nil {
		f.Close()
		return truncated(in(deployPrefix+rel), err)
	}
	if err := f.Close(); err != nil {
		return err
	}
	return root.Chmod(rel, mode)
}
