package render

import (
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/compose-spec/compose-go/v2/types"

	"github.com/deepflow-compose/deepflow-compose/internal/reference"
	"github.com/deepflow-compose/deepflow-compose/layout"
	"github.com/deepflow-compose/deepflow-compose/settings"
	"github.com/deepflow-compose/deepflow-compose/templates"
	"github.com/deepflow-compose/deepflow-compose/topology"
)

// stackLiterals are the names and ports a template must never spell out:
// they come from the topology.
func stackLiterals(t *testing.T) map[string]bool {
	t.Helper()
	lit := map[string]bool{}
	for _, profile := range []string{"bridge", "host-network"} {
		p := prepare(t, settings.Inputs{Profile: profile}, "x")
		tp := p.Topology
		all := append(tp.Components(), &tp.GrafanaInitWorkdir, &tp.GrafanaInitDsDh, &tp.GrafanaInitPlugins, &tp.Agent)
		for _, c := range all {
			// Nothing dials the agent by name; "deepflow-agent" is also the
			// name of its binary, package, unit and Helm chart.
			if c != &tp.Agent {
				lit[c.Service] = true
				lit[c.Container] = true
			}
			for _, l := range c.Listeners {
				lit[strconv.Itoa(l.Port)] = true
				if l.HostPort != 0 {
					lit[strconv.Itoa(l.HostPort)] = true
				}
			}
		}
	}
	lit[strconv.Itoa(topology.CtlDefaultAPIPort)] = true
	lit[strconv.Itoa(topology.NTPPort)] = true
	lit[topology.DefaultNTPHost] = true
	lit[topology.Loopback] = true
	return lit
}

// Allowed uses of a stack word that are not addresses.
var literalAllowed = map[string]bool{
	"type = mysql": true, // Grafana's database driver name
}

func TestTemplatesHaveNoLiterals(t *testing.T) {
	lit := stackLiterals(t)
	token := regexp.MustCompile(`[A-Za-z0-9_.\-/]+`)
	// A section key of a config file ("  clickhouse:" opening a block) names
	// a part of the config, not a host.
	sectionKey := regexp.MustCompile(`^\s*[A-Za-z0-9_.\-]+:\s*$`)
	err := fs.WalkDir(templates.FS, ".", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := fs.ReadFile(templates.FS, path)
		if err != nil {
			return err
		}
		for i, line := range strings.Split(string(data), "\n") {
			if literalAllowed[strings.TrimSpace(line)] {
				continue
			}
			if sectionKey.MatchString(line) && !strings.Contains(path, "docker-compose") {
				continue
			}
			// Text inside {{ }} is template code, not output.
			code := regexp.MustCompile(`\{\{.*?\}\}`).ReplaceAllString(line, " ")
			for _, tok := range token.FindAllString(code, -1) {
				if lit[tok] {
					t.Errorf("templates/%s:%d: %q is written literally; print it from the topology", path, i+1, tok)
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// referenceDir is DeepFlow's published package, beside the clone.
func referenceDir(t *testing.T) string {
	return reference.Dir(t, "deepflow-docker-compose", topology.Compose)
}

func loadRendered(t *testing.T, p *Plan) *types.Project {
	t.Helper()
	env, err := layout.ReadEnv(p.File(topology.Env).Data)
	if err != nil {
		t.Fatal(err)
	}
	proj, err := layout.LoadCompose(context.Background(), "x", topology.Compose, p.File(topology.Compose).Data, env, "deepflow")
	if err != nil {
		t.Fatal(err)
	}
	return proj
}

// TestBridgeCoversReference: every service, mount target and environment
// key of DeepFlow's own package is in our bridge render, and every image is
// the same repository, pinned.
func TestBridgeCoversReference(t *testing.T) {
	dir := referenceDir(t)
	data, err := os.ReadFile(filepath.Join(dir, topology.Compose))
	if err != nil {
		t.Fatal(err)
	}
	ref, err := layout.LoadCompose(context.Background(), dir, topology.Compose, data,
		map[string]string{"DEEPFLOW_VERSION": "v6.6.1", "NODE_IP_FOR_DEEPFLOW": "192.0.2.10"}, "deepflow")
	if err != nil {
		t.Fatal(err)
	}
	p := prepare(t, settings.Inputs{Profile: "bridge"}, "x")
	ours := loadRendered(t, p)
	repo := func(image string) string { return image[:strings.LastIndex(image, ":")] }
	for name, rs := range ref.Services {
		os, ok := ours.Services[name]
		if !ok {
			t.Errorf("service %s of DeepFlow's package is missing", name)
			continue
		}
		if os.ContainerName != rs.ContainerName {
			t.Errorf("%s: container_name %q, DeepFlow's package has %q", name, os.ContainerName, rs.ContainerName)
		}
		if repo(os.Image) != repo(rs.Image) {
			t.Errorf("%s: image %s, DeepFlow's package uses repository %s", name, os.Image, repo(rs.Image))
		}
		if strings.HasSuffix(os.Image, ":latest") && !strings.Contains(os.Image, "/deepflowio-init-grafana-ds-dh:") {
			t.Errorf("%s: image %s is not pinned", name, os.Image)
		}
		for k := range rs.Environment {
			if _, ok := os.Environment[k]; !ok {
				t.Errorf("%s: environment key %s is missing", name, k)
			}
		}
		targets := map[string]bool{}
		for _, v := range os.Volumes {
			targets[v.Target] = true
		}
		for _, v := range rs.Volumes {
			if !targets[v.Target] {
				t.Errorf("%s: mount target %s is missing", name, v.Target)
			}
		}
	}
	var got []string
	for _, port := range ours.Services["deepflow-server"].Ports {
		got = append(got, port.Published+":"+strconv.Itoa(int(port.Target)))
	}
	want := []string{"20416:20416", "20419:20419", "30417:20417", "30035:20035", "30033:20033"}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("deepflow-server publishes %v, want %v", got, want)
	}
	if ap := p.Topology.AgentPorts(); ap.Controller != 30035 || ap.Ingester != 30033 || ap.API != 30417 {
		t.Errorf("bridge agent ports %+v, want controller 30035, ingester 30033, api 30417", ap)
	}
}

// TestHostNetworkFollowsSeed003 checks every rule of the seed's conversion.
func TestHostNetworkFollowsSeed003(t *testing.T) {
	p := prepare(t, settings.Inputs{Profile: "host-network"}, "x")
	proj := loadRendered(t, p)
	for name, s := range proj.Services {
		if s.NetworkMode != "host" {
			t.Errorf("%s: network_mode %q, want host", name, s.NetworkMode)
		}
		if len(s.Ports)+len(s.Networks)+len(s.Links) > 0 {
			t.Errorf("%s keeps ports, networks or links under host networking", name)
		}
	}
	if len(proj.Networks) > 0 {
		t.Errorf("top-level networks %v under host networking", proj.Networks)
	}
	hostish := regexp.MustCompile(`(host|URL|SERVER|url)\s*[:=]\s*"?(http://)?(deepflow-)?(mysql|clickhouse|deepflow-server|deepflow-app)\b`)
	for _, f := range []string{topology.ServerYAML, topology.AppYAML, topology.GrafanaINI, topology.Compose} {
		if m := hostish.FindString(string(p.File(f).Data)); m != "" {
			t.Errorf("%s still names a service as a host under host networking: %q", f, m)
		}
	}
	g := proj.Services["deepflow-grafana"].Environment
	for key, want := range map[string]string{
		"DEEPFLOW_REQUEST_URL": "http://192.0.2.10:20416",
		"DEEPFLOW_TRACEURL":    "http://192.0.2.10:20418",
		"MYSQL_URL":            "127.0.0.1:30130",
		"CLICKHOUSE_SERVER":    "127.0.0.1",
	} {
		if g[key] == nil || *g[key] != want {
			t.Errorf("grafana %s = %v, want %s", key, g[key], want)
		}
	}
	if ap := p.Topology.AgentPorts(); ap.Controller != 20035 || ap.Ingester != 20033 || ap.API != 20417 {
		t.Errorf("host agent ports %+v, want controller 20035, ingester 20033, api 20417", ap)
	}
	next := string(p.File("NEXT-STEPS.md").Data)
	for _, line := range strings.Split(next, "\n") {
		if strings.HasPrefix(line, "deepflow-ctl ") && !strings.HasSuffix(line, "--api-port 20417") {
			t.Errorf("NEXT-STEPS.md: %q lacks --api-port 20417", line)
		}
	}
	group := string(p.File(topology.GroupConfig).Data)
	// Unlike seed 003 (before v7.1.8): a host running no VM that asks for
	// hypervisor resources is never registered by v7.1.8.
	if strings.Contains(group, "hypervisor_resource_enabled") || !strings.Contains(group, "workload_resource_sync_enabled: true") {
		t.Errorf("host-network group config must take the agent for a workload host, not a hypervisor:\n%s", group)
	}
	// Datastores stay on loopback unless exposed.
	if !strings.Contains(string(p.File(topology.MyCnf).Data), "bind-address=127.0.0.1") {
		t.Error("MySQL does not listen on loopback under host networking")
	}
	exposed := prepare(t, settings.Inputs{Profile: "host-network", Sets: []string{"expose.datastores=true"}}, "x")
	if !strings.Contains(string(exposed.File(topology.MyCnf).Data), "bind-address=0.0.0.0") {
		t.Error("expose.datastores=true does not open MySQL")
	}
	if !strings.Contains(string(exposed.File(topology.ClickHouseUser).Data), "<ip>::/0</ip>") {
		t.Error("expose.datastores=true does not open ClickHouse's default user")
	}
}

// TestPortMovesEverywhere: changing mysql.port changes every file that uses
// it, and nothing else.
func TestPortMovesEverywhere(t *testing.T) {
	for _, profile := range []string{"bridge", "host-network"} {
		a := prepare(t, settings.Inputs{Profile: profile}, "x")
		b := prepare(t, settings.Inputs{Profile: profile, Sets: []string{"mysql.port=31999"}}, "x")
		var changed []string
		for i, f := range a.Files {
			g := b.Files[i]
			if f.Path != g.Path {
				t.Fatalf("file lists differ: %s vs %s", f.Path, g.Path)
			}
			if strings.Contains(string(g.Data), "30130") {
				t.Errorf("%s: %s still names the old MySQL port", profile, f.Path)
			}
			if string(f.Data) != string(g.Data) {
				changed = append(changed, f.Path)
				if strings.ReplaceAll(string(f.Data), "30130", "31999") != string(g.Data) {
					t.Errorf("%s: %s changed in more than the port", profile, f.Path)
				}
			}
		}
		sort.Strings(changed)
		want := []string{topology.MyCnf, topology.GrafanaINI, topology.ServerYAML, topology.Compose}
		sort.Strings(want)
		if strings.Join(changed, " ") != strings.Join(want, " ") {
			t.Errorf("%s: mysql.port changed %v, want exactly %v", profile, changed, want)
		}
	}
}

// TestComposeCompatibility: Docker Compose v2 warns about a version key and
// legacy docker-compose (v1) rejects a top-level name; the project name
// comes from .env instead.
func TestComposeCompatibility(t *testing.T) {
	for _, profile := range []string{"bridge", "host-network", "process-agent"} {
		p := prepare(t, settings.Inputs{Profile: profile}, "x")
		for _, name := range []string{topology.Compose, topology.AgentCompose} {
			f := p.File(name)
			if f == nil {
				continue
			}
			root, err := layout.YAML(name, f.Data)
			if err != nil {
				t.Fatal(err)
			}
			for _, key := range []string{"version", "name"} {
				if layout.Get(root, key) != nil {
					t.Errorf("%s %s has a top-level %s key", profile, name, key)
				}
			}
		}
		env, _ := layout.ReadEnv(p.File(topology.Env).Data)
		if env["COMPOSE_PROJECT_NAME"] != "deepflow" {
			t.Errorf("%s: COMPOSE_PROJECT_NAME is %q", profile, env["COMPOSE_PROJECT_NAME"])
		}
	}
}

// TestTemplatesPrintOnlyTableIDs: every .W.<ID> a template prints is a row
// of topology.Consumers, and every row is printed by some template, so the
// table and the templates cannot drift apart.
func TestTemplatesPrintOnlyTableIDs(t *testing.T) {
	ids := map[string]bool{}
	for _, c := range topology.Consumers {
		ids[c.ID] = true
	}
	printed := map[string]bool{}
	re := regexp.MustCompile(`\.W\.(\w+)`)
	err := fs.WalkDir(templates.FS, ".", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := fs.ReadFile(templates.FS, path)
		if err != nil {
			return err
		}
		for _, m := range re.FindAllStringSubmatch(string(data), -1) {
			if !ids[m[1]] {
				t.Errorf("templates/%s prints .W.%s, which no row of topology.Consumers defines", path, m[1])
			}
			printed[m[1]] = true
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for id := range ids {
		// The group config's rows are printed by agentcfg, from the same
		// endpoints.
		if !printed[id] && id != "AgentIngester" {
			t.Errorf("no template prints consumer %s", id)
		}
	}
}
