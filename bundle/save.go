package bundle

import (
	"archive/tar"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/deepflow-compose/deepflow-compose/catalog"
	"github.com/deepflow-compose/deepflow-compose/deployment"
)

// SaveOptions say what to pack and where.
type SaveOptions struct {
	// Dir is a directory rendered by deepflow-compose.
	Dir string
	// Out is the bundle file. It appears only once complete: it is written
	// beside itself under another name and renamed at the end.
	Out    string
	Engine Engine
	Progress
	// Tool is recorded in the manifest (deepflow-compose's version).
	Tool string
	// ChunkSize is the size of the images' chunks; DefaultChunkSize when 0.
	ChunkSize int
	// Level is the zstd level (as zstd -N); DefaultLevel when 0.
	Level int
}

// SaveResult tells what was written.
type SaveResult struct {
	Manifest *Manifest
	// Size is the bundle file's size; Raw the members' total before
	// compression.
	Size, Raw int64
}

// exportNote is how long save waits for the engine's first byte before it
// says that the engine is still preparing.
var exportNote = time.Second

// epoch is every member's mtime, so that the same directory and images
// give the same bundle.
var epoch = time.Unix(0, 0)

// Save packs every image the rendered directory names, and the directory,
// into one bundle.
func Save(ctx context.Context, o SaveOptions) (res *SaveResult, err error) {
	defer func() {
		// Whatever was under way says so in its own words (a URL, a
		// broken stream); the user pressed Ctrl-C.
		if err != nil && ctx.Err() != nil {
			err = fmt.Errorf("bundle save: interrupted, nothing written: %w", ctx.Err())
		}
	}()
	if o.Engine == nil {
		return nil, errors.New("bundle save: no engine")
	}
	if o.Out == "" {
		return nil, errors.New("bundle save: no output file")
	}
	if o.ChunkSize <= 0 {
		o.ChunkSize = DefaultChunkSize
	}
	if o.ChunkSize > maxChunkSize {
		return nil, fmt.Errorf("bundle save: chunk size %d is over the %d load accepts", o.ChunkSize, maxChunkSize)
	}
	if o.Level == 0 {
		o.Level = DefaultLevel
	}
	// Before any work: the bundle is renamed onto o.Out only at the end.
	if st, err := os.Stat(o.Out); err == nil && st.IsDir() {
		return nil, fmt.Errorf("bundle save: %s is a directory; give -o the bundle file to write, such as %s", o.Out, filepath.Join(o.Out, "deepflow-bundle.tar.zst"))
	}
	d, err := deployment.Load(o.Dir)
	if err != nil {
		return nil, err
	}
	man := &Manifest{Format: Format, Tool: o.Tool, DeepFlow: d.Settings.Version, Profile: d.Profile,
		Registry: d.Settings.Registry, Dir: filepath.Base(filepath.Clean(d.Dir))}
	estimate, err := inspectImages(ctx, o.Engine, d.Images, man)
	if err != nil {
		return nil, err
	}
	files, err := deployFiles(d, o.Out)
	if err != nil {
		return nil, err
	}
	for _, f := range files {
		estimate += f.size
	}

	outAbs, err := filepath.Abs(o.Out)
	if err != nil {
		return nil, err
	}
	tmp, err := os.CreateTemp(filepath.Dir(outAbs), "."+filepath.Base(outAbs)+".partial-*")
	if err != nil {
		return nil, fmt.Errorf("bundle save: %w", err)
	}
	ok := false
	defer func() {
		if !ok {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	// Everything compressed is hashed on its way to the file; the hash
	// closes the bundle in its own frame (sumTrailer).
	sum := sha256.New()
	zw, err := newFrameWriter(io.MultiWriter(&writeBehind{f: tmp}, sum), o.Level)
	if err != nil {
		return nil, err
	}
	defer zw.Close()
	meter := newMeter(o.Progress, "save", estimate)
	w := &writer{tw: tar.NewWriter(zw), meter: meter, man: man}

	if err := w.images(ctx, o.Engine, man.Refs(), o.ChunkSize); err != nil {
		return nil, err
	}
	for _, f := range files {
		if err := w.file(f); err != nil {
			return nil, err
		}
	}
	mb, err := json.MarshalIndent(man, "", "  ")
	if err != nil {
		return nil, err
	}
	mb = append(mb, '\n')
	// The manifest gets a frame of its own, the last: load reads it there
	// before anything else.
	if err := w.tw.Flush(); err != nil {
		return nil, err
	}
	zw.Flush()
	if err := w.tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: ManifestName, Mode: 0o644, Size: int64(len(mb)), ModTime: epoch}); err != nil {
		return nil, err
	}
	if _, err := w.tw.Write(mb); err != nil {
		return nil, err
	}
	if err := w.tw.Close(); err != nil {
		return nil, err
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	if _, err := tmp.Write(sumTrailer(sum.Sum(nil))); err != nil {
		return nil, err
	}
	if err := tmp.Sync(); err != nil {
		return nil, err
	}
	st, err := tmp.Stat()
	if err != nil {
		return nil, err
	}
	if err := tmp.Close(); err != nil {
		return nil, err
	}
	if err := os.Chmod(tmp.Name(), 0o600); err != nil {
		return nil, err
	}
	if err := os.Rename(tmp.Name(), outAbs); err != nil {
		return nil, err
	}
	ok = true
	meter.done()
	return &SaveResult{Manifest: man, Size: st.Size(), Raw: man.Size()}, nil
}

// inspectImages fills man.Images with every image's ID and returns their
// total size. It names every missing image at once.
func inspectImages(ctx context.Context, e Engine, images catalog.Images, man *Manifest) (int64, error) {
	byRef := map[string]*Image{}
	for _, kv := range images.Named() {
		im := byRef[kv[1]]
		if im == nil {
			im = &Image{Ref: kv[1]}
			byRef[kv[1]] = im
		}
		im.Components = append(im.Components, kv[0])
	}
	var total int64
	var missing []string
	ids := map[string]bool{}
	for _, ref := range images.List() {
		li, err := e.Inspect(ctx, ref)
		if err != nil {
			missing = append(missing, err.Error())
			continue
		}
		im := byRef[ref]
		im.ID = li.ID
		man.Images = append(man.Images, *im)
		// Two names of one image are saved once.
		if !ids[li.ID] {
			ids[li.ID] = true
			total += li.Size
		}
	}
	if len(missing) > 0 {
		return 0, fmt.Errorf("%w: pull them on a host with network access first:\n  %s", ErrMissingImages, strings.Join(missing, "\n  "))
	}
	return total, nil
}

type deployFile struct {
	path, rel string
	mode      fs.FileMode
	size      int64
}

// deployFiles lists the rendered directory's regular files, sorted. It
// leaves out a data dir placed inside it and the bundle being written.
func deployFiles(d *deployment.Deployment, out string) ([]deployFile, error) {
	root := filepath.Clean(d.Dir)
	skip := map[string]bool{}
	if dd := d.Settings.DataDir; dd != "" {
		if !filepath.IsAbs(dd) {
			dd = filepath.Join(root, dd)
		}
		skip[filepath.Clean(dd)] = true
	}
	outAbs, _ := filepath.Abs(out)
	var files []deployFile
	err := filepath.WalkDir(root, func(p string, de fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if skip[p] && p != root {
			if de.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		if de.IsDir() {
			return nil
		}
		rel, err := filepath.Rel(root, p)
		if err != nil {
			return err
		}
		if p == outAbs || strings.HasPrefix(filepath.Base(p), "."+filepath.Base(outAbs)+".partial-") {
			return nil
		}
		if !de.Type().IsRegular() {
			return fmt.Errorf("bundle save: %s is not a regular file; a bundle carries regular files only", p)
		}
		info, err := de.Info()
		if err != nil {
			return err
		}
		files = append(files, deployFile{path: p, rel: filepath.ToSlash(rel), mode: info.Mode().Perm(), size: info.Size()})
		return nil
	})
	if err != nil {
		return nil, err
	}
	sort.Slice(files, func(i, j int) bool { return files[i].rel < files[j].rel })
	return files, nil
}

// writer writes members and records them in the manifest.
type writer struct {
	tw    *tar.Writer
	meter *meter
	man   *Manifest
}

// images streams the engine's save output into chunk members. A reader
// fills one chunk buffer from the engine while the previous chunk is
// hashed and handed to the compressors at once, so the engine's export
// seldom waits on either: two chunk buffers in all.
func (w *writer) images(ctx context.Context, e Engine, refs []string, chunk int) error {
	// An engine can take a while to prepare its export before the first
	// byte (a second for every few hundred MB here): say why nothing moves.
	var mu sync.Mutex
	started := false
	waiting := time.AfterFunc(exportNote, func() {
		mu.Lock()
		defer mu.Unlock()
		if !started {
			w.meter.note("the engine is preparing the images' export…")
		}
	})
	defer waiting.Stop()
	rc, err := e.SaveImages(ctx, refs)
	if err != nil {
		return err
	}
	defer rc.Close()
	type filled struct {
		b   []byte
		err error
	}
	free := make(chan []byte, 2)
	full := make(chan filled, 1)
	free <- make([]byte, chunk)
	free <- make([]byte, chunk)
	stop := make(chan struct{})
	defer close(stop)
	go func() {
		for {
			var b []byte
			select {
			case b = <-free:
			case <-stop:
				return
			}
			n, err := io.ReadFull(rc, b)
			select {
			case full <- filled{b[:n], err}:
			case <-stop:
				return
			}
			if err != nil {
				return
			}
		}
	}()
	for i := 0; ; i++ {
		var f filled
		select {
		case f = <-full:
		case <-ctx.Done():
			return ctx.Err()
		}
		if i == 0 {
			// The note, if any, is out before the bar.
			mu.Lock()
			started = true
			mu.Unlock()
		}
		if len(f.b) > 0 {
			if err := w.chunk(chunkName(i), f.b); err != nil {
				return err
			}
		}
		free <- f.b[:cap(f.b)]
		if errors.Is(f.err, io.EOF) || errors.Is(f.err, io.ErrUnexpectedEOF) {
			if i == 0 && len(f.b) == 0 {
				return errors.New("bundle save: the engine saved nothing")
			}
			return nil
		}
		if f.err != nil {
			return fmt.Errorf("bundle save: reading the engine's save stream: %w", f.err)
		}
	}
}

// chunk writes one chunk member, hashing it on another core meanwhile:
// save is CPU-bound, and the compressors wait on neither.
func (w *writer) chunk(name string, data []byte) error {
	if err := w.tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: name, Mode: 0o644, Size: int64(len(data)), ModTime: epoch}); err != nil {
		return err
	}
	var sum [sha256.Size]byte
	hashed := make(chan struct{})
	go func() {
		sum = sha256.Sum256(data)
		close(hashed)
	}()
	_, err := w.tw.Write(data)
	<-hashed
	if err != nil {
		return err
	}
	w.man.Members = append(w.man.Members, Member{Name: name, Size: int64(len(data)), SHA256: hex.EncodeToString(sum[:])})
	w.meter.add(len(data))
	return nil
}

// file copies one file of the rendered directory, hashing as it goes.
func (w *writer) file(f deployFile) error {
	in, err := os.Open(f.path)
	if err != nil {
		return err
	}
	defer in.Close()
	if err := w.tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: deployPrefix + f.rel, Mode: int64(f.mode), Size: f.size, ModTime: epoch}); err != nil {
		return err
	}
	h := sha256.New()
	n, err := io.Copy(io.MultiWriter(w.tw, h), &countReader{r: in, m: w.meter})
	if err != nil {
		return fmt.Errorf("bundle save: %s: %w", f.path, err)
	}
	if n != f.size {
		return fmt.Errorf("bundle save: %s changed size while being read", f.path)
	}
	w.man.Members = append(w.man.Members, Member{Name: deployPrefix + f.rel, Size: n, SHA256: hex.EncodeToString(h.Sum(nil))})
	return nil
}

// writeBehind writes to f and starts the writeback of every 8 MiB written
// as it goes.
type writeBehind struct {
	f       *os.File
	off, at int64
}

func (w *writeBehind) Write(p []byte) (int, error) {
	n, err := w.f.Write(p)
	w.off += int64(n)
	if w.off-w.at >= 8<<20 {
		startWriteback(w.f, w.at, w.off-w.at)
		w.at = w.off
	}
	return n, err
}
