package bundle

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"reflect"
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
// A bundle that fails verification loads nothing.
func Load(ctx context.Context, o LoadOptions) (*LoadResult, error) {
	if o.Engine == nil {
		return nil, errors.New("bundle load: no engine")
	}
	if o.Push && o.Registry == "" {
		return nil, errors.New("bundle load: --push needs --registry: the registry to push to")
	}
	man, err := Verify(ctx, VerifyOptions{File: o.File, Progress: o.Progress})
	if err != nil {
		return nil, err
	}
	target := o.OutDir
	if target == "" {
		if man.Dir == "" || man.Dir == "." || man.Dir == ".." || strings.ContainsAny(man.Dir, `/\`) {
			return nil, fmt.Errorf("%w: the manifest names the directory %q", ErrUnsafe, man.Dir)
		}
		target = man.Dir
	}
	target, err = filepath.Abs(target)
	if err != nil {
		return nil, err
	}
	// Refuse before anything reaches the engine.
	if err := emptyOrAbsent(target); err != nil {
		return nil, err
	}
	tmp, err := unpack(ctx, o, man, target)
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)

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
	if err := os.Rename(tmp, target); err != nil {
		return nil, fmt.Errorf("bundle load: moving the directory in place: %w", err)
	}
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

// unpack is the second pass: it feeds checked image chunks to the engine
// and writes the directory into a temporary one beside target, which it
// returns.
func unpack(ctx context.Context, o LoadOptions, man *Manifest, target string) (string, error) {
	want := map[string]Member{}
	for _, mb := range man.Members {
		want[mb.Name] = mb
	}
	if err := os.MkdirAll(filepath.Dir(target), 0o755); err != nil {
		return "", err
	}
	tmp, err := os.MkdirTemp(filepath.Dir(target), "."+filepath.Base(target)+".load-")
	if err != nil {
		return "", err
	}
	fail := func(err error) (string, error) {
		os.RemoveAll(tmp)
		return "", err
	}
	if err := os.Chmod(tmp, 0o755); err != nil {
		return fail(err)
	}
	root, err := os.OpenRoot(tmp)
	if err != nil {
		return fail(err)
	}
	defer root.Close()

	f, size, err := open(o.File)
	if err != nil {
		return fail(err)
	}
	defer f.Close()
	m := newMeter(o.Progress, "load", size)

	// The engine reads the images' tar from a pipe while the bundle is
	// read; it gets a chunk only once that chunk's checksum matched.
	pr, pw := io.Pipe()
	loadDone := make(chan error, 1)
	go func() {
		_, err := o.Engine.LoadImages(ctx, pr)
		// Unblock the writer should the engine stop reading early.
		pr.CloseWithError(fmt.Errorf("the engine stopped reading: %w", err))
		loadDone <- err
	}()
	piping := true
	endImages := func() error {
		if !piping {
			return nil
		}
		piping = false
		pw.Close()
		return <-loadDone
	}
	var buf []byte
	visit := func(hdr *tar.Header, body io.Reader) error {
		name, size := hdr.Name, hdr.Size
		if chunkRE.MatchString(name) {
			if int64(cap(buf)) < size {
				buf = make([]byte, size)
			}
			b := buf[:size]
			if _, err := io.ReadFull(body, b); err != nil {
				return truncated(in(name), err)
			}
			sum := sha256.Sum256(b)
			if w, ok := want[name]; !ok || w.SHA256 != hex.EncodeToString(sum[:]) {
				return corrupt("member %q changed since it was verified", name)
			}
			if _, err := io.Copy(pw, bytes.NewReader(b)); err != nil {
				return fmt.Errorf("bundle load: %w", err)
			}
			return nil
		}
		if err := endImages(); err != nil {
			return err
		}
		return writeMember(root, strings.TrimPrefix(name, deployPrefix), os.FileMode(hdr.Mode)&0o777, body)
	}
	got, err := read(ctx, &countReader{r: f, m: m}, visit)
	if piping {
		pw.CloseWithError(fmt.Errorf("bundle load: stopped: %w", err))
		if lerr := <-loadDone; err == nil {
			err = lerr
		}
		piping = false
	}
	if err != nil {
		return fail(fmt.Errorf("%s: %w", o.File, err))
	}
	if !reflect.DeepEqual(got, man) {
		return fail(fmt.Errorf("%s: %w", o.File, corrupt("it changed since it was verified")))
	}
	m.done()
	return tmp, nil
}

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
