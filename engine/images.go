package engine

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"iter"
	"strings"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/cli/cli/command"
	"github.com/moby/moby/api/types/jsonstream"
	"github.com/moby/moby/client"
)

// Image helpers for the air-gap tools (package bundle): save, load, tag and
// push on the same engine connection up and down use.

// LocalImage is an image present on the engine.
type LocalImage struct {
	ID string
	// Size is the unpacked size of its layers, in bytes.
	Size int64
}

// Inspect finds a local image. A missing image wraps ErrImage.
func (e *Engine) Inspect(ctx context.Context, ref string) (LocalImage, error) {
	img, err := e.api.ImageInspect(ctx, ref)
	if err != nil {
		if cerrdefs.IsNotFound(err) {
			return LocalImage{}, fmt.Errorf("%w: %s is not on this engine", ErrImage, ref)
		}
		return LocalImage{}, fmt.Errorf("%w: inspect %s: %v", ErrEngine, ref, err)
	}
	return LocalImage{ID: img.ID, Size: img.Size}, nil
}

// SaveImages streams the images as one `docker save` tar: layers shared
// between them are written once. The caller closes the stream.
func (e *Engine) SaveImages(ctx context.Context, refs []string) (io.ReadCloser, error) {
	rc, err := e.api.ImageSave(ctx, refs)
	if err != nil {
		return nil, fmt.Errorf("%w: save %s: %v", ErrEngine, strings.Join(refs, ", "), err)
	}
	return rc, nil
}

// LoadImages feeds a `docker save` tar to the engine and returns the
// references it reports loaded. The engine's own error (a broken tar, a
// full disk) is returned as it words it.
func (e *Engine) LoadImages(ctx context.Context, r io.Reader) ([]string, error) {
	res, err := e.api.ImageLoad(ctx, r, client.ImageLoadWithQuiet(true))
	if err != nil {
		return nil, fmt.Errorf("%w: load: %v", ErrEngine, err)
	}
	defer res.Close()
	var loaded []string
	dec := json.NewDecoder(res)
	for {
		var m jsonstream.Message
		if err := dec.Decode(&m); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			return loaded, fmt.Errorf("%w: load: reading the engine's answer: %v", ErrEngine, err)
		}
		if m.Error != nil {
			return loaded, fmt.Errorf("%w: load: %s", ErrEngine, m.Error.Message)
		}
		for _, l := range strings.Split(m.Stream, "\n") {
			if ref, ok := strings.CutPrefix(strings.TrimSpace(l), "Loaded image: "); ok {
				loaded = append(loaded, ref)
			}
			if id, ok := strings.CutPrefix(strings.TrimSpace(l), "Loaded image ID: "); ok {
				loaded = append(loaded, id)
			}
		}
	}
	return loaded, nil
}

// TagImage gives the image src the extra name dst.
func (e *Engine) TagImage(ctx context.Context, src, dst string) error {
	if _, err := e.api.ImageTag(ctx, client.ImageTagOptions{Source: src, Target: dst}); err != nil {
		return fmt.Errorf("%w: tag %s as %s: %v", ErrEngine, src, dst, err)
	}
	return nil
}

// PushImage pushes ref with the credentials the docker CLI would use for
// its registry (docker login, credential helpers), writing one line per
// distinct status to progress when it is not nil.
func (e *Engine) PushImage(ctx context.Context, ref string, progress io.Writer) error {
	return e.transfer(ctx, "push", ref, progress, func(auth string) (imageStream, error) {
		return e.api.ImagePush(ctx, ref, client.ImagePushOptions{RegistryAuth: auth})
	})
}

// PullImage pulls ref with the credentials the docker CLI would use. An
// image that cannot be pulled wraps ErrImage.
func (e *Engine) PullImage(ctx context.Context, ref string, progress io.Writer) error {
	return e.transfer(ctx, "pull", ref, progress, func(auth string) (imageStream, error) {
		return e.api.ImagePull(ctx, ref, client.ImagePullOptions{RegistryAuth: auth})
	})
}

// imageStream is the answer to a push or a pull.
type imageStream interface {
	io.Closer
	JSONMessages(ctx context.Context) iter.Seq2[jsonstream.Message, error]
}

// transfer runs a push or pull (verb) of ref that start begins with the
// docker CLI's credentials, and follows its messages to the end: the first
// error among them is the transfer's.
func (e *Engine) transfer(ctx context.Context, verb, ref string, progress io.Writer, start func(auth string) (imageStream, error)) error {
	auth, err := command.RetrieveAuthTokenFromImage(e.cli.ConfigFile(), ref)
	if err != nil {
		return fmt.Errorf("%w: credentials for %s: %v", ErrEngine, ref, err)
	}
	res, err := start(auth)
	if err != nil {
		return fmt.Errorf("%w: %s %s: %v", ErrImage, verb, ref, err)
	}
	defer res.Close()
	last := ""
	for m, err := range res.JSONMessages(ctx) {
		if err != nil {
			return fmt.Errorf("%w: %s %s: %v", ErrImage, verb, ref, err)
		}
		if m.Error != nil {
			return fmt.Errorf("%w: %s %s: %s", ErrImage, verb, ref, m.Error.Message)
		}
		// Layer progress ticks would flood a log; keep the status lines.
		if line := strings.TrimSpace(m.ID + " " + m.Status); progress != nil && m.Progress == nil && line != last {
			fmt.Fprintf(progress, "  %s %s: %s\n", verb, ref, line)
			last = line
		}
	}
	return nil
}
