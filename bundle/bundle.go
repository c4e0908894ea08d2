// Package bundle packs a rendered DeepFlow deployment and every image it
// runs into one file for hosts with no network, and unpacks it there.
//
// # Format
//
// A bundle is one zstd stream of one tar archive. The stream is a series
// of independent frames of 8 MiB of the tar each, so that save compresses
// and load decodes several at once; the manifest has the last frame to
// itself. Any zstd decoder reads the frames as one stream. A binary built
// with cgo compresses them with libzstd (compiled in), one built without
// with the Go encoder, which also writes zstd's own frame checksums; the
// checksums below make those redundant, and every load reads both kinds.
// The tar's members come in this order:
//
//	images/images.tar.000000   the images as one `docker save` tar (layers
//	images/images.tar.000001   shared between images stored once), cut in
//	…                          chunks of DefaultChunkSize (8 MiB)
//	deploy/<path>              every regular file of the rendered directory
//	manifest.json              the Manifest: image references and IDs, and
//	                           the size and sha256 of every other member
//
// A skippable zstd frame closes the file: the tag "dfc-sha256" and the
// SHA-256 of every byte before the frame. zstd has bits no decoder reads,
// so a flipped bit can leave the content, and every member checksum,
// unchanged; this sum of the file as written catches it.
//
// The chunks exist because a tar header states its member's size before the
// data, and the engine's save stream has no size up front: chunking keeps
// save streaming with two chunks in memory and no temporary file.
// The manifest comes last because only then are the checksums known.
//
// # Trust
//
// Nothing a bundle holds is taken by the engine, or written where the
// directory goes, before the whole bundle has been checked. Load first
// reads the file without decoding it: its framing, and the checksum frame
// over every byte, so that any damage to the file stops it there, with
// nothing sent anywhere. It then reads the manifest from the last frame
// and checks it on its own. Only then does it decode the frames, several
// at once, and stream the images' tar into the engine while it checks
// every member against the manifest and refuses the bundle on any
// difference — a member that differs from its checksum or size, one the
// manifest does not list, a path that would leave the target directory,
// a link, data after the archive's end. The engine takes images only once
// it has read the end of their tar; load follows that tar as the engine
// does and holds its end back until the whole bundle has matched, and on
// a refusal breaks the upload off, so that the engine loads nothing. The
// directory is unpacked into a temporary one beside the target and moved
// in place at the end.
//
// A bundle in one frame (as saves before the frames wrote them) or with a
// manifest that does not read from its last frame is loaded as it always
// was: read once with every member checked, the images' tar spooled to an
// unnamed file beside the target, and that file handed to the engine only
// once the whole bundle has matched. Verify is that pass, writing nothing.
package bundle

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path"
	"regexp"
	"strings"

	"github.com/deepflow-compose/deepflow-compose/engine"
)

// Errors callers can test with errors.Is.
var (
	// ErrCorrupt: the bundle differs from its manifest, is truncated, or is
	// not a bundle at all. Nothing was loaded.
	ErrCorrupt = errors.New("bundle is corrupt")
	// ErrUnsafe: a member would be written outside the target directory, or
	// is not a regular file. Nothing was loaded.
	ErrUnsafe = errors.New("bundle has an unsafe member")
	// ErrFormat: a bundle format this version does not read.
	ErrFormat = errors.New("unknown bundle format")
	// ErrMissingImages: images the deployment names are not on the engine.
	ErrMissingImages = errors.New("images missing")
	// ErrExists: the directory to unpack into already holds files.
	ErrExists = errors.New("target directory is not empty")
	// ErrLoad: after loading, an image is absent or has another ID than the
	// one saved.
	ErrLoad = errors.New("images did not load as saved")
)

// Format names the layout described in the package documentation.
const Format = "deepflow-compose-bundle/2"

// Member names.
const (
	ManifestName = "manifest.json"
	imagesPrefix = "images/images.tar."
	deployPrefix = "deploy/"
)

// DefaultChunkSize is the size of the images' chunks. Save holds two of
// them (one filling from the engine, one being written); load holds none.
const DefaultChunkSize = 8 << 20

// Chunks larger than this are refused: earlier versions' load holds a
// whole chunk in memory, and bundles stay readable by them.
const maxChunkSize = 256 << 20

// maxManifest bounds the manifest, which is read into memory.
const maxManifest = 16 << 20

// Manifest describes a bundle. Its JSON form is the member manifest.json.
type Manifest struct {
	Format string `json:"format"`
	// Tool is the deepflow-compose version that wrote the bundle.
	Tool string `json:"tool,omitempty"`
	// DeepFlow, Profile and Registry are the deployment's, from its render.
	DeepFlow string `json:"deepflow"`
	Profile  string `json:"profile"`
	Registry string `json:"registry"`
	// Dir is the base name of the rendered directory; load unpacks into it
	// unless told otherwise.
	Dir     string   `json:"dir"`
	Images  []Image  `json:"images"`
	Members []Member `json:"members"`
}

// Image is one image in a bundle.
type Image struct {
	Ref string `json:"ref"`
	// ID is the engine's image ID (the config digest); load checks it.
	ID string `json:"id"`
	// Components are the render's image keys (server, agent, …) using it.
	Components []string `json:"components,omitempty"`
}

// Member is one tar member other than the manifest.
type Member struct {
	Name   string `json:"name"`
	Size   int64  `json:"size"`
	SHA256 string `json:"sha256"`
}

// Engine is what bundle needs from a Docker engine; *engine.Engine has it.
type Engine interface {
	Inspect(ctx context.Context, ref string) (engine.LocalImage, error)
	SaveImages(ctx context.Context, refs []string) (io.ReadCloser, error)
	LoadImages(ctx context.Context, r io.Reader) ([]string, error)
	TagImage(ctx context.Context, src, dst string) error
	PushImage(ctx context.Context, ref string, progress io.Writer) error
}

var chunkRE = regexp.MustCompile(`^images/images\.tar\.([0-9]{6})$`)

func chunkName(i int) string { return fmt.Sprintf("%s%06d", imagesPrefix, i) }

// checkName accepts the member names of the format and nothing else: no
// absolute path, no "..", no "." or empty element, no backslash.
func checkName(name string) error {
	switch {
	case name == ManifestName, chunkRE.MatchString(name):
		return nil
	case strings.HasPrefix(name, deployPrefix):
		rel := strings.TrimPrefix(name, deployPrefix)
		if rel == "" || rel == "." || !fs.ValidPath(rel) || strings.Contains(rel, `\`) || path.Clean(rel) != rel {
			return fmt.Errorf("%w: %q would be written outside the deployment directory", ErrUnsafe, name)
		}
		return nil
	}
	if strings.HasPrefix(name, "/") || strings.Contains(name, "..") {
		return fmt.Errorf("%w: %q would be written outside the deployment directory", ErrUnsafe, name)
	}
	return fmt.Errorf("%w: unexpected member %q", ErrCorrupt, name)
}

// checkDir accepts the manifest's directory name only as a plain name:
// load unpacks into it, in the current directory, when not told otherwise,
// and a bundle verify calls intact must load.
func checkDir(dir string) error {
	if dir == "" || dir == "." || dir == ".." || strings.ContainsAny(dir, `/\`) {
		return fmt.Errorf("%w: the manifest names the directory %q; a bundle names a directory by its plain name", ErrUnsafe, dir)
	}
	return nil
}

// MirrorRef names ref under another registry the way render's registry
// setting does: registry + "/" + the last path element (name and tag).
func MirrorRef(registry, ref string) string {
	return strings.TrimSuffix(registry, "/") + "/" + path.Base(ref)
}

// Refs lists the manifest's image references.
func (m *Manifest) Refs() []string {
	var out []string
	for _, im := range m.Images {
		out = append(out, im.Ref)
	}
	return out
}

// Size is the total size of the members, as unpacked.
func (m *Manifest) Size() int64 {
	var n int64
	for _, mb := range m.Members {
		n += mb.Size
	}
	return n
}

// Files lists the members that are files of the rendered directory, with
// names relative to it.
func (m *Manifest) Files() []Member {
	var out []Member
	for _, mb := range m.Members {
		if rel, ok := strings.CutPrefix(mb.Name, deployPrefix); ok {
			mb.Name = rel
			out = append(out, mb)
		}
	}
	return out
}
