// Package deployment reads a rendered directory back: its manifest (the
// settings and file checksums render recorded), its .env, and the topology,
// release and images resolved again from those settings. It is what every
// command that acts on a rendered directory starts from.
package deployment

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"

	"github.com/deepflow-compose/deepflow-compose/catalog"
	"github.com/deepflow-compose/deepflow-compose/internal/limits"
	"github.com/deepflow-compose/deepflow-compose/layout"
	"github.com/deepflow-compose/deepflow-compose/settings"
	"github.com/deepflow-compose/deepflow-compose/topology"
)

// Deployment is a rendered directory read back: what up, status and the
// air-gap tools need to act on it.
type Deployment struct {
	Dir         string
	Profile     string
	Settings    *settings.Settings
	Topology    *topology.Topology
	Release     *catalog.Release
	Images      catalog.Images
	ProjectName string
	// Env is the directory's .env, as compose reads it.
	Env map[string]string
	// Manifest is what the render recorded.
	Manifest *Manifest
}

// ErrNotRendered is returned for a directory without a render manifest.
var ErrNotRendered = errors.New("not a directory rendered by deepflow-compose")

// Load reads a rendered directory's manifest and .env and resolves its
// topology again from the recorded settings.
func Load(dir string) (*Deployment, error) {
	m, err := ReadManifest(dir)
	if err != nil {
		return nil, err
	}
	if m == nil {
		if _, err := os.Stat(dir); err != nil {
			return nil, fmt.Errorf("%s: %w; render it first: deepflow-compose render -o %s", dir, ErrNotRendered, dir)
		}
		return nil, fmt.Errorf("%s: %w (no %s); render it first", dir, ErrNotRendered, ManifestName)
	}
	s := m.Settings
	if err := s.Validate(); err != nil {
		return nil, fmt.Errorf("%s: %w", ManifestName, err)
	}
	t := topology.Resolve(topology.SpecFor(&s))
	if err := t.Validate(); err != nil {
		return nil, err
	}
	r, err := catalog.Lookup(s.Version)
	if err != nil {
		return nil, err
	}
	images, err := catalog.Resolve(s.Version, s.Registry, s.Images)
	if err != nil {
		return nil, err
	}
	data, err := limits.ReadFile(filepath.Join(dir, topology.Env), limits.Env)
	if err != nil {
		return nil, err
	}
	env, err := layout.ReadEnv(data)
	if err != nil {
		return nil, err
	}
	return &Deployment{Dir: dir, Profile: m.Profile, Settings: &s, Topology: t, Release: r,
		Images: images, ProjectName: env[topology.Vars.ProjectName], Env: env, Manifest: m}, nil
}

// ManifestName is the file that records what a render wrote.
const ManifestName = ".deepflow-compose.json"

// Manifest records a render's inputs and the checksum of every file, so a
// later render can tell our files from hand edits.
type Manifest struct {
	Tool     string                  `json:"tool"`
	Profile  string                  `json:"profile"`
	Settings settings.Settings       `json:"settings"` // passwords blanked: they live in .env
	Files    map[string]ManifestFile `json:"files"`
}

// ManifestFile is one file render wrote.
type ManifestFile struct {
	SHA256 string `json:"sha256"`
	Mode   string `json:"mode"`
}

// Sum is the checksum a manifest records for a file's content.
func Sum(b []byte) string {
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}

// Drift says how a file's content departs from what the render recorded
// in m (nil: no render did): "" when it is as written.
func (m *Manifest) Drift(path string, data []byte) string {
	var mf ManifestFile
	ok := false
	if m != nil {
		mf, ok = m.Files[path]
	}
	if !ok {
		return "not written by deepflow-compose"
	}
	if mf.SHA256 != Sum(data) {
		return "changed by hand since the last render"
	}
	return ""
}

// ReadManifest reads the manifest of an earlier render in dir; it returns
// nil and no error when there is none.
func ReadManifest(dir string) (*Manifest, error) {
	b, err := limits.ReadFile(filepath.Join(dir, ManifestName), limits.Manifest)
	if errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var m Manifest
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("%s: %w", ManifestName, err)
	}
	return &m, nil
}

// Secrets are the passwords of one deployment.
type Secrets struct {
	MySQL, ClickHouse, Grafana string
}

// SecretsFromEnv reads the passwords from .env's variables.
func SecretsFromEnv(env map[string]string) Secrets {
	v := topology.Vars
	return Secrets{MySQL: env[v.MySQLPassword], ClickHouse: env[v.ClickHousePassword], Grafana: env[v.GrafanaPass]}
}

// Secrets returns the passwords the deployment's .env holds.
func (d *Deployment) Secrets() Secrets { return SecretsFromEnv(d.Env) }
