// Package render turns settings into a validated DeepFlow deployment
// directory: settings → topology → files → validation → atomic write.
package render

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/deepflow-compose/deepflow-compose/catalog"
	"github.com/deepflow-compose/deepflow-compose/deployment"
	"github.com/deepflow-compose/deepflow-compose/internal/limits"
	"github.com/deepflow-compose/deepflow-compose/layout"
	"github.com/deepflow-compose/deepflow-compose/settings"
	"github.com/deepflow-compose/deepflow-compose/topology"
)

// Options are everything one render needs.
type Options struct {
	settings.Inputs
	OutDir string
	// Force overwrites files changed by hand and files we did not write.
	Force bool
	// Reset starts from the defaults instead of the settings an earlier
	// render of OutDir recorded (secrets and the agent group ID are still
	// kept).
	Reset bool
	// Rand supplies secrets; nil means crypto/rand.
	Rand io.Reader
	// DetectNodeIP finds the node IP when no setting gives one; it returns
	// the address and a description of where it came from.
	DetectNodeIP func() (ip, from string, err error)

	agentOnly bool
}

// File is one rendered file.
type File struct {
	Path string // slash-separated, relative to the output directory
	Data []byte
	Mode fs.FileMode
}

// Plan is a validated render held in memory.
type Plan struct {
	Settings *settings.Settings
	Profile  *settings.Profile
	Topology *topology.Topology
	Images   catalog.Images
	Files    []File
	OutDir   string
	// NodeIPFrom says where the node IP came from when it was detected.
	NodeIPFrom string
	// Generated lists the secrets created by this render.
	Generated []string
	// Notices are things the user must know about this render.
	Notices []string
	// Changed lists the settings that differ from the earlier render of
	// the directory, sorted; empty on a first render.
	Changed []SettingChange
	// envSeen is the output directory's .env as Prepare read it (empty
	// when there was none); Write refuses if it changed since.
	envSeen *[]byte
}

// Files holding a secret literal are readable by their owner only; every
// other secret reaches its container through the environment.
var secretFiles = map[string]bool{
	topology.Env:        true,
	topology.ServerYAML: true,
}

// ErrNoNodeIP is returned when no node IP is set and none can be found.
var ErrNoNodeIP = errors.New("no node IP")

// AgentDir is where a deployment keeps the agent side.
const AgentDir = "agent/"

// PrepareAgent renders only the agent side, for one more monitored host:
// the files of the deployment's agent/ folder, at the top of OutDir.
// NodeIP is the server's address.
func PrepareAgent(ctx context.Context, opts Options) (*Plan, error) {
	opts.agentOnly = true
	p, err := Prepare(ctx, opts)
	if err != nil {
		return nil, err
	}
	var files []File
	for _, f := range p.Files {
		if rest, ok := strings.CutPrefix(f.Path, AgentDir); ok {
			f.Path = rest
			files = append(files, f)
		}
	}
	p.Files, p.Generated = files, nil
	return p, nil
}

// Prepare resolves the settings, renders every file in memory and
// validates the result. Nothing is written.
//
// A directory rendered before is rendered again from the settings its
// manifest recorded, with the given inputs on top (Helm's --reuse-values,
// as the default); Reset starts from the defaults instead.
func Prepare(ctx context.Context, opts Options) (*Plan, error) {
	return prepareValidated(ctx, opts, true)
}

// prepareValidated is Prepare; without validateAll it skips the whole-directory
// review (compose-go loading the compose file is most of a render's
// time), for the fuzz targets that read back each file themselves.
func prepareValidated(ctx context.Context, opts Options, validateAll bool) (*Plan, error) {
	var prev *deployment.Manifest
	if opts.OutDir != "" && !opts.agentOnly {
		m, err := deployment.ReadManifest(opts.OutDir)
		if err != nil {
			return nil, err
		}
		prev = m
	}
	if prev != nil && !opts.Reset {
		if err := reuse(&opts.Inputs, prev, opts.OutDir); err != nil {
			return nil, err
		}
	}
	s, prof, err := opts.Inputs.Settings()
	if err != nil {
		return nil, err
	}
	p := &Plan{Settings: s, Profile: prof, OutDir: opts.OutDir}
	if s.NodeIP == "" {
		if opts.DetectNodeIP == nil {
			return nil, fmt.Errorf("%w: pass --node-ip", ErrNoNodeIP)
		}
		ip, from, err := opts.DetectNodeIP()
		if err != nil {
			return nil, fmt.Errorf("%w: %w; pass --node-ip", ErrNoNodeIP, err)
		}
		s.NodeIP, p.NodeIPFrom = ip, from
		if err := s.Validate(); err != nil {
			return nil, err
		}
	}
	var sec Secrets
	var generated []string
	if opts.agentOnly {
		// The agent side holds no secret; the server's files are rendered
		// only to validate the wiring and are not written.
		sec = Secrets{MySQL: "unused", ClickHouse: "unused", Grafana: "unused"}
	} else if sec, generated, err = resolveSecrets(s, opts, &p.envSeen); err != nil {
		return nil, err
	}
	p.Generated = generated
	if s.Agent.GroupID == "" && !opts.agentOnly {
		// Chosen here, not by the server, so every agent file can ask for
		// it and bootstrap can create the group with it; kept across
		// renders through the manifest, even with Reset.
		if prev != nil && prev.Settings.Agent.GroupID != "" {
			s.Agent.GroupID = prev.Settings.Agent.GroupID
		} else {
			if s.Agent.GroupID, err = newGroupID(opts.Rand); err != nil {
				return nil, err
			}
			p.Generated = append(p.Generated, "agent.groupID")
		}
	}
	if prev != nil {
		p.Changed = changedSettings(&prev.Settings, s)
	}
	t := topology.Resolve(topology.SpecFor(s))
	if err := t.Validate(); err != nil {
		return nil, err
	}
	p.Topology = t
	d, err := newData(s, prof, t, sec)
	if err != nil {
		return nil, err
	}
	d.AgentOnly = opts.agentOnly
	p.Images = d.Images
	if p.Notices, err = agentSide(d); err != nil {
		return nil, err
	}
	if n := settings.LoopbackNodeIP(s.NodeIP); n != "" {
		p.Notices = append(p.Notices, n)
	}
	for _, v := range []struct{ key, value string }{
		{"mysql.password", sec.MySQL}, {"clickhouse.password", sec.ClickHouse}, {"grafana.adminPassword", sec.Grafana},
	} {
		if !legacyEnvSafe(v.value) {
			p.Notices = append(p.Notices, fmt.Sprintf("%s cannot be written to .env so that legacy docker-compose v1 reads it back (it holds \"${\", ends with a backslash, or mixes \"$\" with a quote or backslash); `docker compose` (v2) reads it exactly: use v2, or another password", v.key))
		}
	}
	root, outputs, err := loadTemplates()
	if err != nil {
		return nil, err
	}
	for _, out := range outputs {
		if !wanted(out, d) {
			continue
		}
		data, err := execute(root, out, d)
		if err != nil {
			return nil, err
		}
		mode := fs.FileMode(0o644)
		if secretFiles[out] {
			mode = 0o600
		}
		p.Files = append(p.Files, File{Path: out, Data: data, Mode: mode})
	}
	if !validateAll {
		return p, nil
	}
	if err := validate(ctx, p, d); err != nil {
		return nil, err
	}
	return p, nil
}

// File returns the rendered file at path, or nil.
func (p *Plan) File(path string) *File {
	for i := range p.Files {
		if p.Files[i].Path == path {
			return &p.Files[i]
		}
	}
	return nil
}

// ErrSecrets marks a render that would lose the secrets of an earlier one.
var ErrSecrets = errors.New("secrets would change")

// resolveSecrets takes each password from the settings, else from the
// .env of an earlier render in the output directory, else generates it.
func resolveSecrets(s *settings.Settings, opts Options, seen **[]byte) (Secrets, []string, error) {
	var old map[string]string
	hadManifest := false
	if opts.OutDir != "" {
		data, err := limits.ReadFile(filepath.Join(opts.OutDir, topology.Env), limits.Env)
		switch {
		case err == nil:
			env, err := layout.ReadEnv(data)
			if err != nil {
				return Secrets{}, nil, fmt.Errorf("reading the secrets of the earlier render: %w", err)
			}
			old = env
		case errors.Is(err, fs.ErrNotExist), errors.Is(err, syscall.ENOTDIR):
			data = nil // Write reports what is in the way
		default:
			return Secrets{}, nil, fmt.Errorf("reading the secrets of the earlier render: %w", err)
		}
		*seen = &data
		if _, err := os.Stat(filepath.Join(opts.OutDir, deployment.ManifestName)); err == nil {
			hadManifest = true
		}
	}
	rnd := opts.Rand
	if rnd == nil {
		rnd = rand.Reader
	}
	var generated []string
	pick := func(setting, envName, given string) (string, error) {
		if given != "" {
			return given, nil
		}
		if v := old[envName]; v != "" {
			return v, nil
		}
		if hadManifest && !opts.Force {
			return "", fmt.Errorf("%w: %s is missing from %s of the earlier render in %s; "+
				"a new one would lock you out of existing data. Restore .env, pass --set %s=…, or use --force to generate a new one",
				ErrSecrets, envName, topology.Env, opts.OutDir, setting)
		}
		v, err := newSecret(rnd)
		if err != nil {
			return "", err
		}
		generated = append(generated, setting)
		return v, nil
	}
	var sec Secrets
	var err error
	if sec.MySQL, err = pick("mysql.password", topology.Vars.MySQLPassword, s.MySQL.Password); err != nil {
		return sec, nil, err
	}
	if sec.ClickHouse, err = pick("clickhouse.password", topology.Vars.ClickHousePassword, s.ClickHouse.Password); err != nil {
		return sec, nil, err
	}
	if sec.Grafana, err = pick("grafana.adminPassword", topology.Vars.GrafanaPass, s.Grafana.AdminPassword); err != nil {
		return sec, nil, err
	}
	return sec, generated, nil
}

// groupIDAlphabet is what deepflow-server accepts after "g-".
const groupIDAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"

// newGroupID makes an agent group ID of the server's shape: g- and ten
// letters and digits.
func newGroupID(r io.Reader) (string, error) {
	if r == nil {
		r = rand.Reader
	}
	id, err := randomString(r, groupIDAlphabet, 10)
	if err != nil {
		return "", fmt.Errorf("generating the agent group ID: %w", err)
	}
	return "g-" + id, nil
}

// Generated secrets use letters and digits only, so they survive every
// shell, .env dialect and config format without quoting surprises.
const secretAlphabet = "ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789"

func newSecret(r io.Reader) (string, error) {
	s, err := randomString(r, secretAlphabet, 24)
	if err != nil {
		return "", fmt.Errorf("generating a secret: %w", err)
	}
	return s, nil
}

// randomString draws n characters of alphabet uniformly from r.
func randomString(r io.Reader, alphabet string, n int) (string, error) {
	b := make([]byte, n)
	max := big.NewInt(int64(len(alphabet)))
	for i := range b {
		k, err := rand.Int(r, max)
		if err != nil {
			return "", err
		}
		b[i] = alphabet[k.Int64()]
	}
	return string(b), nil
}
