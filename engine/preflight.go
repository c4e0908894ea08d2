package engine

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/compose-spec/compose-go/v2/types"
	"github.com/deepflow-compose/deepflow-compose/settings"
	"github.com/deepflow-compose/deepflow-compose/topology"
	"github.com/docker/compose/v5/pkg/api"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/client"
	"golang.org/x/sys/unix"

	"github.com/deepflow-compose/deepflow-compose/internal/humanize"
)

// Level is a preflight check's outcome.
type Level string

const (
	OK   Level = "ok"
	Warn Level = "warn"
	Fail Level = "fail"
)

// Check is one line of preflight.
type Check struct {
	Name  string `json:"name"`
	Level Level  `json:"level"`
	Msg   string `json:"message"`
}

func (c Check) String() string { return fmt.Sprintf("%-4s  %-14s %s", c.Level, c.Name, c.Msg) }

// Preflight is what the checks found.
type Preflight struct {
	Checks        []Check
	EngineVersion string
	APIVersion    string
	// MissingImages will be pulled by up.
	MissingImages []string
}

// Thresholds and facts the checks use.
const (
	minAPIVersion = "1.40"
	// Engines before this need privileged: true for the agent container.
	agentCapsVersion = "20.10.10"
	// Below this much free space on the data dir's file system, warn.
	lowDiskBytes = 10 << 30
	// markerName records which DeepFlow version last used a data dir.
	markerName = ".deepflow-compose-data"
)

// Preflight runs every check in order, printing one line each, and stops at
// the first failure with an error wrapping ErrPreflight. p may be nil, in
// which case the project is loaded here.
func (e *Engine) Preflight(ctx context.Context, s *Stack, p *types.Project) (*Preflight, error) {
	pf := &Preflight{}
	add := func(c Check) error {
		pf.Checks = append(pf.Checks, c)
		fmt.Fprintln(e.out, c)
		if c.Level == Fail {
			return fmt.Errorf("%w: %s: %s", ErrPreflight, c.Name, c.Msg)
		}
		return nil
	}
	if err := add(e.checkEngine(ctx, pf)); err != nil {
		return pf, err
	}
	if p == nil {
		var err error
		if p, err = e.project(ctx, s); err != nil {
			return pf, err
		}
	}
	for _, c := range []func() Check{
		func() Check { return checkNodeIP(s) },
		func() Check { return e.checkPorts(ctx, s) },
		func() Check { return checkDataDir(s) },
		func() Check { return checkExistingData(s) },
		func() Check { return e.checkImages(ctx, p, pf) },
		func() Check { return checkAgent(s, pf.EngineVersion) },
		func() Check { return e.checkAgentCaps(ctx, s, p) },
	} {
		if err := add(c()); err != nil {
			return pf, err
		}
	}
	return pf, nil
}

func (e *Engine) checkEngine(ctx context.Context, pf *Preflight) Check {
	c := Check{Name: "engine"}
	v, err := e.api.ServerVersion(ctx, client.ServerVersionOptions{})
	if err != nil {
		c.Level, c.Msg = Fail, fmt.Sprintf("cannot reach the Docker engine at %s: %v (is dockerd running? DOCKER_HOST selects another engine)", e.Host(), err)
		return c
	}
	pf.EngineVersion, pf.APIVersion = v.Version, v.APIVersion
	if compareVersions(v.APIVersion, minAPIVersion) < 0 {
		c.Level, c.Msg = Fail, fmt.Sprintf("Docker %s speaks API %s; %s or newer is needed", v.Version, v.APIVersion, minAPIVersion)
		return c
	}
	c.Level, c.Msg = OK, fmt.Sprintf("Docker %s, API %s, at %s", v.Version, v.APIVersion, e.Host())
	return c
}

func checkNodeIP(s *Stack) Check {
	c := Check{Name: "node IP"}
	local, err := localAddr(s.NodeIP)
	switch {
	case err != nil:
		c.Level, c.Msg = Warn, fmt.Sprintf("%s: cannot list local interfaces: %v", s.NodeIP, err)
	case local:
		c.Level, c.Msg = OK, s.NodeIP+" is assigned to a local interface"
	case s.Network == settings.Host:
		c.Level, c.Msg = Fail, s.NodeIP+" is not assigned to any local interface; host networking binds and dials it, so re-render with --node-ip set to one of this host's addresses"
	default:
		c.Level, c.Msg = Warn, s.NodeIP+" is not assigned to any local interface; agents will not reach this host there (fine if it is a NAT or load-balancer address)"
	}
	return c
}

func localAddr(ip string) (bool, error) {
	want, err := netip.ParseAddr(ip)
	if err != nil {
		return false, nil
	}
	if want.IsLoopback() {
		return true, nil
	}
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		return false, err
	}
	for _, a := range addrs {
		if p, err := netip.ParsePrefix(a.String()); err == nil && p.Addr().Unmap() == want.Unmap() {
			return true, nil
		}
	}
	return false, nil
}

// checkPorts tries to bind every node port the stack will bind. A port held
// by this stack's own containers is fine: up will leave them or replace them.
func (e *Engine) checkPorts(ctx context.Context, s *Stack) Check {
	c := Check{Name: "ports"}
	hps := s.Topology.HostPorts()
	if len(hps) == 0 {
		c.Level, c.Msg = OK, "the stack binds no node port"
		return c
	}
	var busy, ours []string
	var w *whoHolds
	for _, hp := range hps {
		addr := net.JoinHostPort(hp.Bind, strconv.Itoa(hp.Port))
		l, err := net.Listen("tcp", addr)
		if err == nil {
			l.Close()
			continue
		}
		if w == nil {
			w = e.newWhoHolds(ctx, s.Project)
		}
		holder, mine := w.holder(hp.Port)
		what := fmt.Sprintf("%d (%s %s)", hp.Port, componentLabel(s, hp.Component), hp.Listener)
		if mine {
			ours = append(ours, fmt.Sprintf("%d", hp.Port))
			continue
		}
		if holder == "" {
			holder = "an unknown process: " + errors.Unwrap(err).Error()
		}
		busy = append(busy, what+" is held by "+holder+"; "+portHint(s, hp))
	}
	if len(busy) > 0 {
		c.Level, c.Msg = Fail, strings.Join(busy, "; ")
		return c
	}
	c.Level = OK
	c.Msg = fmt.Sprintf("%d node ports free", len(hps)-len(ours))
	if len(ours) > 0 {
		c.Msg += fmt.Sprintf(", %d held by this stack (%s)", len(ours), strings.Join(ours, ", "))
	}
	return c
}

// portHint says how to get a busy port free: the setting that moves it,
// or, for ports no setting moves, that the holder must go.
func portHint(s *Stack, hp topology.HostPort) string {
	if key, ok := topology.SettingKey(hp.Listener); ok {
		return fmt.Sprintf("stop it, or render %s again with --set %s=PORT to use another port", s.Dir, key)
	}
	return fmt.Sprintf("stop it: %s's %s port is fixed by DeepFlow's image and the agents' files, not a setting", componentLabel(s, hp.Component), hp.Listener)
}

func componentLabel(s *Stack, key string) string {
	for _, c := range s.Topology.Components() {
		if c.Key == key {
			return c.Service
		}
	}
	return key
}

func checkDataDir(s *Stack) Check {
	c := Check{Name: "data dir"}
	dir := s.DataDir
	if systemDir(dir) {
		c.Level, c.Msg = Fail, systemDirError(s)
		return c
	}
	exists := true
	probe := dir
	for {
		st, err := os.Stat(probe)
		if err == nil {
			if !st.IsDir() {
				c.Level, c.Msg = Fail, probe+" is not a directory"
				return c
			}
			break
		}
		exists = false
		parent := filepath.Dir(probe)
		if parent == probe {
			break
		}
		probe = parent
	}
	f, err := os.CreateTemp(probe, ".deepflow-compose-write-test-*")
	if err != nil {
		c.Level, c.Msg = Fail, fmt.Sprintf("%s is not writable: %v", probe, err)
		return c
	}
	f.Close()
	os.Remove(f.Name())
	var st unix.Statfs_t
	if err := unix.Statfs(probe, &st); err != nil {
		c.Level, c.Msg = Warn, fmt.Sprintf("%s: cannot read free space: %v", dir, err)
		return c
	}
	free := st.Bavail * uint64(st.Bsize)
	where := dir
	if !exists {
		where = dir + " (will be created)"
	}
	if free < lowDiskBytes {
		c.Level, c.Msg = Warn, fmt.Sprintf("%s is writable but only %s is free; ClickHouse wants %s or more", where, humanize.Bytes(int64(free)), humanize.Bytes(int64(lowDiskBytes)))
		return c
	}
	c.Level, c.Msg = OK, fmt.Sprintf("%s is writable, %s free", where, humanize.Bytes(int64(free)))
	return c
}

// checkExistingData warns about MySQL data an earlier install left: the
// server compares its db_version with the schema it ships, and data from
// another version makes it migrate or refuse.
func checkExistingData(s *Stack) Check {
	c := Check{Name: "existing data"}
	mysqlDir := filepath.Join(s.DataDir, "mysql")
	entries, err := os.ReadDir(mysqlDir)
	if err != nil || len(entries) == 0 {
		c.Level, c.Msg = OK, "no MySQL data under "+s.DataDir+"; a fresh install"
		return c
	}
	prev, _ := readMarker(s.DataDir)
	if prev != nil && prev.Version == s.Version && prev.Project == s.Project {
		c.Level, c.Msg = OK, fmt.Sprintf("MySQL data in %s is this stack's own (DeepFlow %s); kept", mysqlDir, s.Version)
		return c
	}
	from := "an earlier install"
	if prev != nil && prev.Version != "" {
		from = "DeepFlow " + prev.Version
	}
	// Purge deletes only what this stack created: for anyone else's data
	// the way to start fresh is moving it aside.
	fresh := fmt.Sprintf("move %s aside before up (down --purge deletes only data this stack created)", s.DataDir)
	if prev.of(s) {
		fresh = fmt.Sprintf("run `deepflow-compose down %s --purge` before up", s.Dir)
	}
	c.Level = Warn
	c.Msg = fmt.Sprintf("MySQL data from %s is in %s. deepflow-server checks the db_version recorded there against the schema of %s: "+
		"an older version is migrated on start, a newer or foreign one stops the server with a db_version mismatch and the controller never gets ready. "+
		"To start fresh, %s; to keep the data, deploy the version that wrote it",
		from, mysqlDir, s.Version, fresh)
	return c
}

func (e *Engine) checkImages(ctx context.Context, p *types.Project, pf *Preflight) Check {
	c := Check{Name: "images"}
	imgs := projectImages(p)
	var missing []string
	for _, img := range imgs {
		if _, err := e.api.ImageInspect(ctx, img); err != nil {
			missing = append(missing, img)
		}
	}
	pf.MissingImages = missing
	if len(missing) == 0 {
		c.Level, c.Msg = OK, fmt.Sprintf("all %d images present locally", len(imgs))
		return c
	}
	c.Level = Warn
	c.Msg = fmt.Sprintf("%d of %d images missing locally, up pulls them: %s (an air-gapped host loads them with `deepflow-compose bundle load`)",
		len(missing), len(imgs), strings.Join(missing, ", "))
	return c
}

func projectImages(p *types.Project) []string {
	seen := map[string]bool{}
	var out []string
	for _, svc := range p.Services {
		if svc.Image != "" && !seen[svc.Image] {
			seen[svc.Image] = true
			out = append(out, svc.Image)
		}
	}
	sort.Strings(out)
	return out
}

func checkAgent(s *Stack, engineVersion string) Check {
	c := Check{Name: "agent"}
	old := compareVersions(engineVersion, agentCapsVersion) < 0
	switch {
	case !old:
		c.Level, c.Msg = OK, fmt.Sprintf("Docker %s is %s or newer: the agent container runs with its capability list", engineVersion, agentCapsVersion)
	case s.AgentPrivileged:
		c.Level, c.Msg = OK, fmt.Sprintf("Docker %s is older than %s and the agent's compose file already runs it privileged", engineVersion, agentCapsVersion)
	default:
		c.Level, c.Msg = Warn, fmt.Sprintf("Docker %s is older than %s: the agent container needs privileged: true instead of its capability list; up renders agent/ again with agent.privileged=true", engineVersion, agentCapsVersion)
	}
	return c
}

// compareVersions compares dotted numeric versions ("20.10.24+dfsg1",
// "1.41"), ignoring any suffix.
func compareVersions(a, b string) int {
	pa, pb := versionParts(a), versionParts(b)
	for i := 0; i < len(pa) || i < len(pb); i++ {
		var x, y int
		if i < len(pa) {
			x = pa[i]
		}
		if i < len(pb) {
			y = pb[i]
		}
		if x != y {
			if x < y {
				return -1
			}
			return 1
		}
	}
	return 0
}

func versionParts(v string) []int {
	v = strings.TrimPrefix(v, "v")
	if i := strings.IndexAny(v, "+-~ "); i >= 0 {
		v = v[:i]
	}
	var out []int
	for _, p := range strings.Split(v, ".") {
		n, err := strconv.Atoi(p)
		if err != nil {
			break
		}
		out = append(out, n)
	}
	return out
}

// projectContainers lists every container of the project, running or not.
func (e *Engine) projectContainers(ctx context.Context, project string) ([]container.Summary, error) {
	res, err := e.api.ContainerList(ctx, client.ContainerListOptions{
		All:     true,
		Filters: make(client.Filters).Add("label", api.ProjectLabel+"="+project),
	})
	if err != nil {
		return nil, fmt.Errorf("%w: list containers: %v", ErrEngine, err)
	}
	return res.Items, nil
}

// Images lists the images the stack's compose file asks for.
func (e *Engine) Images(ctx context.Context, s *Stack) ([]string, error) {
	p, err := e.project(ctx, s)
	if err != nil {
		return nil, err
	}
	return projectImages(p), nil
}

// checkAgentCaps tries the stack's own agent's capability list on this
// engine with a container that never runs: some engines (inside other
// containers, in some sandboxes) cannot grant them all, and the agent then
// fails at start with the stack half up.
func (e *Engine) checkAgentCaps(ctx context.Context, s *Stack, p *types.Project) Check {
	c := Check{Name: "agent caps"}
	svc, ok := p.Services[s.Topology.Agent.Service]
	if !s.Topology.AgentOnServer || !ok {
		c.Level, c.Msg = OK, "the stack runs no agent of its own"
		return c
	}
	what := "privileged: true"
	if !svc.Privileged {
		what = "capabilities " + strings.Join(svc.CapAdd, ", ")
	}
	if _, err := e.api.ImageInspect(ctx, svc.Image); err != nil {
		c.Level, c.Msg = OK, fmt.Sprintf("not tried: %s is not here yet", svc.Image)
		return c
	}
	cr, err := e.api.ContainerCreate(ctx, client.ContainerCreateOptions{
		Config: &container.Config{Image: svc.Image, Entrypoint: []string{"/deepflow-compose-capability-probe"},
			Labels: map[string]string{"io.deepflow-compose.probe": "capabilities"}},
		HostConfig: &container.HostConfig{NetworkMode: "none", CapAdd: svc.CapAdd, Privileged: svc.Privileged},
	})
	if err != nil {
		c.Level, c.Msg = Warn, fmt.Sprintf("could not try the agent's %s: %v", what, err)
		return c
	}
	defer func() {
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
		defer cancel()
		_, _ = e.api.ContainerRemove(ctx, cr.ID, client.ContainerRemoveOptions{Force: true})
	}()
	// The entrypoint does not exist: a start that gets as far as looking
	// for it has applied the capabilities.
	_, err = e.api.ContainerStart(ctx, cr.ID, client.ContainerStartOptions{})
	if err != nil && (strings.Contains(err.Error(), "apply caps") || strings.Contains(err.Error(), "operation not permitted")) {
		c.Level, c.Msg = Fail, fmt.Sprintf("this engine cannot give the agent container its %s (%v), so the stack's own agent cannot start here; "+
			"render again with --set agent.onServer=false (agents on other hosts are not affected), or run on a host whose Docker engine can", what, err)
		return c
	}
	c.Level, c.Msg = OK, fmt.Sprintf("the engine grants the agent's %s", what)
	return c
}

// AllImages lists every image the deployment may run: those its compose
// file asks for (hand edits included) and every one the render pins, the
// agent's too.
func (e *Engine) AllImages(ctx context.Context, s *Stack) ([]string, error) {
	imgs, err := e.Images(ctx, s)
	if err != nil {
		return nil, err
	}
	for _, img := range s.Images {
		if !slices.Contains(imgs, img) {
			imgs = append(imgs, img)
		}
	}
	sort.Strings(imgs)
	return imgs, nil
}
