package helmexport

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/deepflow-compose/deepflow-compose/deployment"
	"github.com/deepflow-compose/deepflow-compose/internal/helmtest"
	"github.com/deepflow-compose/deepflow-compose/render"
	"github.com/deepflow-compose/deepflow-compose/settings"
	"github.com/deepflow-compose/deepflow-compose/topology"
)

const nodeIP = "192.0.2.10"

func seeded() *rand.ChaCha8 {
	var seed [32]byte
	copy(seed[:], "deepflow-compose export secrets")
	return rand.NewChaCha8(seed)
}

type exportCase struct {
	name         string
	in           settings.Inputs
	storageClass string
}

// Every profile at every chart version, and the settings that change the
// values the most.
func exportCases() []exportCase {
	var out []exportCase
	for _, v := range ChartVersions() {
		for _, p := range []string{"bridge", "host-network", "process-agent"} {
			out = append(out, exportCase{name: p + "-" + v, in: settings.Inputs{Profile: p, Version: v}})
		}
	}
	out = append(out,
		exportCase{name: "offline-mirror-v7.1", in: settings.Inputs{Profile: "host-network", Version: "v7.1", Sets: []string{
			"offline=true", "registry=harbor.local/deepflow", "images.agent=harbor.local/agents/deepflow-agent:v7.1.2",
			"images.grafanaInit=harbor.local/grafana/deepflowio-init-grafana:v7.1.9", "timezone=Europe/Berlin",
			"agent.subnets=[100.42.32.0/24]", "agent.groupID=g-TE8la86jlZ"}}},
		exportCase{name: "kubernetes-process-v7.0", in: settings.Inputs{Profile: "process-agent", Version: "v7.0", Sets: []string{
			"agent.kubernetes.clusterName=k8s-east", "agent.kubernetes.clusterID=d-J8Uv7wE0EC", "agent.groupID=g-TE8la86jlZ",
			"agent.controllerPort=31035"}}},
		exportCase{name: "exposed-storage-class-v6.6", storageClass: "fast-ssd", in: settings.Inputs{Profile: "bridge", Version: "v6.6", Sets: []string{
			"expose.datastores=true", "mysql.port=30131", "grafana.port=30300", "clickhouse.tcpPort=31900",
			"images.mysql=mirror.local/mysql@sha256:" + strings.Repeat("ab", 32)}}},
	)
	return out
}

// renderDir renders the case into a directory named deepflow, the way
// `render -o deepflow` does.
func renderDir(t *testing.T, in settings.Inputs) string {
	t.Helper()
	in.NodeIP = nodeIP
	dir := filepath.Join(t.TempDir(), "deepflow")
	p, err := render.Prepare(context.Background(), render.Options{Inputs: in, OutDir: dir, Rand: seeded()})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.Write(false); err != nil {
		t.Fatal(err)
	}
	return dir
}

func exportDir(t *testing.T, dir, storageClass string) (*Export, string) {
	t.Helper()
	out := filepath.Join(t.TempDir(), "deepflow-helm")
	e, err := Run(context.Background(), Options{Dir: dir, OutDir: out, StorageClass: storageClass})
	if err != nil {
		t.Fatal(err)
	}
	return e, out
}

// TestGolden compares every exported file with testdata/golden/<case>/;
// `go test ./export/helm -update` rewrites them.
func TestGolden(t *testing.T) {
	for _, tc := range exportCases() {
		t.Run(tc.name, func(t *testing.T) {
			e, _ := exportDir(t, renderDir(t, tc.in), tc.storageClass)
			dir := filepath.Join("testdata", "golden", tc.name)
			if *update {
				if err := os.RemoveAll(dir); err != nil {
					t.Fatal(err)
				}
				if err := os.MkdirAll(dir, 0o755); err != nil {
					t.Fatal(err)
				}
			}
			var names []string
			for _, f := range e.Files {
				names = append(names, f.Path)
				path := filepath.Join(dir, f.Path)
				if *update {
					if err := os.WriteFile(path, f.Data, 0o644); err != nil {
						t.Fatal(err)
					}
					continue
				}
				want, err := os.ReadFile(path)
				if err != nil {
					t.Fatalf("%v (go test ./export/helm -update)", err)
				}
				if string(want) != string(f.Data) {
					t.Errorf("%s differs from %s; run go test ./export/helm -update and read the diff", f.Path, path)
				}
			}
			entries, _ := os.ReadDir(dir)
			if len(entries) != len(names) {
				t.Errorf("%s holds %d files, the export writes %v", dir, len(entries), names)
			}
		})
	}
}

// TestRoundTrip: render → export → DeepFlow's own charts rendered by Helm
// with the exported files. What reaches the manifests is what the
// deployment resolved.
func TestRoundTrip(t *testing.T) {
	for _, tc := range exportCases() {
		t.Run(tc.name, func(t *testing.T) {
			dir := renderDir(t, tc.in)
			d, err := deployment.Load(dir)
			if err != nil {
				t.Fatal(err)
			}
			e, out := exportDir(t, dir, tc.storageClass)
			sec := d.Secrets()

			findings, err := Lint(out)
			if err != nil {
				t.Fatal(err)
			}
			for _, f := range findings {
				t.Errorf("lint: %s:%d: %s", f.File, f.Line, f.Message)
			}
			if st, err := os.Stat(filepath.Join(out, SecretsFile)); err != nil || st.Mode().Perm() != 0o600 {
				t.Errorf("%s: mode %v (%v), want 0600", SecretsFile, st.Mode().Perm(), err)
			}

			res, err := helmtest.Template(context.Background(), helmtest.DeepFlowChart(t, d.Settings.Version), e.Release, e.Namespace,
				filepath.Join(out, ValuesFile), filepath.Join(out, SecretsFile))
			if err != nil {
				t.Fatal(err)
			}
			checkImages(t, res, d)
			checkNodePorts(t, res, d)
			checkNetwork(t, res, d)
			checkServerConfig(t, res, dir, sec)
			checkDatastores(t, res, d, sec, tc.storageClass)
			checkInClusterAgent(t, res, d)
			checkGrafana(t, d, helmtest.DeepFlowChart(t, d.Settings.Version), filepath.Join(out, ValuesFile), filepath.Join(out, SecretsFile))

			agentChart := helmtest.AgentChart(t, d.Settings.Version)
			ares, err := helmtest.Template(context.Background(), agentChart, AgentRelease, AgentNamespace, filepath.Join(out, AgentValuesFile))
			if err != nil {
				t.Fatal(err)
			}
			checkStandaloneAgent(t, ares, d)
		})
	}
}

func str(t *testing.T, doc any, path ...any) string {
	t.Helper()
	v, err := helmtest.Path(doc, path...)
	if err != nil {
		t.Fatal(err)
	}
	s, _ := v.(string)
	return s
}

// checkImages: every container of every workload runs the deployment's
// image for it, with the pull policy its offline setting asks for.
func checkImages(t *testing.T, res *helmtest.Result, d *deployment.Deployment) {
	t.Helper()
	want := map[string]string{ // workload/container → image
		"Deployment/deepflow-server/deepflow-server": d.Images.Server,
		"Deployment/deepflow-app/deepflow-app":       d.Images.App,
		"Deployment/deepflow-mysql/mysql":            d.Images.MySQL,
		"StatefulSet/deepflow-clickhouse/clickhouse": d.Images.ClickHouse,
	}
	policy := pullAlways
	if d.Settings.Offline {
		policy = pullIfNotPresent
	}
	allowed := map[string]bool{}
	for _, ref := range d.Images.List() {
		allowed[ref] = true
	}
	seen := 0
	for _, kind := range []string{"Deployment", "StatefulSet", "DaemonSet"} {
		for _, o := range res.Kind(kind) {
			for name, c := range o.Containers() {
				img, _ := c["image"].(string)
				if !allowed[img] {
					t.Errorf("%s %s container %s runs %s, not an image of the deployment (%v)", kind, o.Name, name, img, d.Images.List())
				}
				if w, ok := want[kind+"/"+o.Name+"/"+name]; ok {
					seen++
					if img != w {
						t.Errorf("%s %s container %s runs %s, want %s", kind, o.Name, name, img, w)
					}
				}
				if strings.Contains(img, "deepflow-agent") && img != d.Images.Agent {
					t.Errorf("%s %s container %s runs %s, want %s", kind, o.Name, name, img, d.Images.Agent)
				}
				if got := effectivePolicy(c); got != policy && (c["imagePullPolicy"] != nil || d.Settings.Offline) {
					t.Errorf("%s %s container %s: imagePullPolicy %v, want %s", kind, o.Name, name, got, policy)
				}
			}
		}
	}
	if seen != len(want) {
		t.Errorf("found %d of the %d server-side containers: %v", seen, len(want), names(res))
	}
}

// effectivePolicy is the container's pull policy as Kubernetes defaults
// it: Always for :latest or no tag, else IfNotPresent.
func effectivePolicy(c map[string]any) string {
	if p, ok := c["imagePullPolicy"].(string); ok {
		return p
	}
	img, _ := c["image"].(string)
	if strings.Contains(img, "@") {
		return pullIfNotPresent
	}
	if i := strings.LastIndex(img, ":"); i > strings.LastIndex(img, "/") && img[i+1:] != "latest" {
		return pullIfNotPresent
	}
	return pullAlways
}

func names(res *helmtest.Result) []string {
	var out []string
	for _, o := range res.Objects {
		out = append(out, o.Kind+"/"+o.Name)
	}
	return out
}

// checkNodePorts: the server's NodePorts are the deployment's external
// ports, or the bridge profile's where Kubernetes cannot allocate those.
func checkNodePorts(t *testing.T, res *helmtest.Result, d *deployment.Deployment) {
	t.Helper()
	svc := res.Get("Service", "deepflow-server")
	if svc == nil {
		t.Fatalf("no deepflow-server Service: %v", names(res))
	}
	ports, _ := helmtest.Path(svc.Doc, "spec", "ports")
	got := map[string]int{}
	for _, p := range ports.([]any) {
		m := p.(map[string]any)
		if np, ok := m["nodePort"].(int); ok {
			got[m["name"].(string)] = np
		}
	}
	bs := *d.Settings
	bs.Network = settings.Bridge
	bt := topology.Resolve(topology.SpecFor(&bs))
	for name, l := range map[string]topology.Name{"health-check": topology.Controller, "grpc-30035": topology.GRPC, "ingester-30033": topology.Ingester} {
		ex, err := d.Topology.External(l)
		if err != nil {
			t.Fatal(err)
		}
		want := ex.Port
		if want < NodePortMin {
			bex, _ := bt.External(l)
			want = bex.Port
		}
		if got[name] != want {
			t.Errorf("deepflow-server service port %s: nodePort %d, want %d (all: %v)", name, got[name], want, got)
		}
	}
}

// checkNetwork: under host networking the server side runs on the node's
// network and still resolves the chart's service names.
func checkNetwork(t *testing.T, res *helmtest.Result, d *deployment.Deployment) {
	t.Helper()
	host := d.Settings.Network == settings.Host
	for _, w := range []struct{ kind, name string }{
		{"Deployment", "deepflow-server"}, {"Deployment", "deepflow-app"}, {"Deployment", "deepflow-mysql"}, {"StatefulSet", "deepflow-clickhouse"},
	} {
		o := res.Get(w.kind, w.name)
		if o == nil {
			t.Fatalf("no %s %s", w.kind, w.name)
		}
		hn, _ := helmtest.Path(o.Doc, "spec", "template", "spec", "hostNetwork")
		dns, _ := helmtest.Path(o.Doc, "spec", "template", "spec", "dnsPolicy")
		wantDNS := "ClusterFirst"
		if host {
			wantDNS = "ClusterFirstWithHostNet"
		}
		if hn != host || dns != wantDNS {
			t.Errorf("%s %s: hostNetwork %v, dnsPolicy %v; want %v, %s", w.kind, w.name, hn, dns, host, wantDNS)
		}
	}
}

// serverYAML returns the server.yaml of the chart's server ConfigMap.
func serverYAML(t *testing.T, res *helmtest.Result) map[string]any {
	t.Helper()
	cm := res.Get("ConfigMap", "deepflow")
	if cm == nil {
		t.Fatalf("no deepflow ConfigMap: %v", names(res))
	}
	var out map[string]any
	if err := yaml.Unmarshal([]byte(str(t, cm.Doc, "data", "server.yaml")), &out); err != nil {
		t.Fatal(err)
	}
	return out
}

func checkServerConfig(t *testing.T, res *helmtest.Result, dir string, sec deployment.Secrets) {
	t.Helper()
	sy := serverYAML(t, res)
	rendered, err := os.ReadFile(filepath.Join(dir, topology.ServerYAML))
	if err != nil {
		t.Fatal(err)
	}
	var compose map[string]any
	if err := yaml.Unmarshal(rendered, &compose); err != nil {
		t.Fatal(err)
	}
	for _, p := range [][]any{
		{"controller", "trisolaris", "chrony", "host"},
		{"controller", "genesis", "local_ip_ranges"},
	} {
		want, werr := helmtest.Path(compose, p...)
		got, gerr := helmtest.Path(sy, p...)
		if werr != nil { // compose keeps the built-in list: so must the chart
			if gerr == nil {
				t.Errorf("server.yaml %v = %v in the chart, absent from the compose server", p, got)
			}
			continue
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("server.yaml %v = %v in the chart, %v in the compose server", p, got, want)
		}
	}
	for _, p := range []struct {
		path []any
		want string
	}{
		{[]any{"controller", "mysql", "user-password"}, sec.MySQL},
		{[]any{"controller", "clickhouse", "user-password"}, sec.ClickHouse},
		{[]any{"querier", "clickhouse", "user-password"}, sec.ClickHouse},
		{[]any{"ingester", "ckdb-auth", "password"}, sec.ClickHouse},
	} {
		if got := str(t, sy, p.path...); got != p.want {
			t.Errorf("server.yaml %v = %q, want the deployment's %q", p.path, got, p.want)
		}
	}
}

func checkDatastores(t *testing.T, res *helmtest.Result, d *deployment.Deployment, sec deployment.Secrets, storageClass string) {
	t.Helper()
	my := res.Get("Deployment", "deepflow-mysql")
	if my == nil {
		t.Fatalf("no deepflow-mysql Deployment: %v", names(res))
	}
	env, _ := helmtest.Path(my.Containers()["mysql"], "env")
	found := false
	for _, e := range env.([]any) {
		m := e.(map[string]any)
		if m["name"] == "MYSQL_ROOT_PASSWORD" {
			found = true
			if m["value"] != sec.MySQL {
				t.Errorf("MySQL's MYSQL_ROOT_PASSWORD is %v, want the deployment's", m["value"])
			}
		}
	}
	if !found {
		t.Error("MySQL gets no MYSQL_ROOT_PASSWORD")
	}
	initSQL := str(t, res.Get("ConfigMap", "deepflow-mysql").Doc, "data", "init.sql")
	if strings.Count(initSQL, "BY '"+sec.MySQL+"'") != 3 {
		t.Errorf("init.sql does not give root and grafana the deployment's password:\n%s", initSQL)
	}
	ck := res.Get("ConfigMap", "deepflow-clickhouse-config")
	if ck == nil {
		t.Fatalf("no ClickHouse ConfigMap: %v", names(res))
	}
	if n := strings.Count(ck.Raw, "<password>"+sec.ClickHouse+"</password>"); n != 2 {
		t.Errorf("ClickHouse's config names the deployment's password %d times, want 2 (default user, interserver)", n)
	}

	// Storage: host paths under dataDir, or claims of the storage class.
	vols, _ := helmtest.Path(my.Doc, "spec", "template", "spec", "volumes")
	var hostPaths []string
	for _, v := range vols.([]any) {
		if hp, err := helmtest.Path(v, "hostPath", "path"); err == nil {
			hostPaths = append(hostPaths, hp.(string))
		}
	}
	sts := res.Get("StatefulSet", "deepflow-clickhouse")
	cvols, _ := helmtest.Path(sts.Doc, "spec", "template", "spec", "volumes")
	for _, v := range cvols.([]any) {
		if hp, err := helmtest.Path(v, "hostPath", "path"); err == nil {
			hostPaths = append(hostPaths, hp.(string))
		}
	}
	sort.Strings(hostPaths)
	if storageClass == "" {
		dd := d.Settings.DataDir
		want := []string{dd + "/clickhouse", dd + "/clickhouse-storage", dd + "/mysql"}
		if !reflect.DeepEqual(hostPaths, want) {
			t.Errorf("host paths %v, want %v", hostPaths, want)
		}
		return
	}
	if len(hostPaths) != 0 {
		t.Errorf("host paths %v with storage class %s", hostPaths, storageClass)
	}
	pvc := res.Get("PersistentVolumeClaim", "deepflow-mysql-data-pvc")
	if pvc == nil || str(t, pvc.Doc, "spec", "storageClassName") != storageClass {
		t.Errorf("MySQL's claim does not use storage class %s", storageClass)
	}
	tmpls, _ := helmtest.Path(sts.Doc, "spec", "volumeClaimTemplates")
	for _, c := range tmpls.([]any) {
		if sc, _ := helmtest.Path(c, "spec", "storageClassName"); sc != storageClass {
			t.Errorf("ClickHouse claim template storage class %v, want %s", sc, storageClass)
		}
	}
	if d.Settings.Expose.Datastores {
		svc := res.Get("Service", "deepflow-mysql")
		if str(t, svc.Doc, "spec", "type") != "NodePort" {
			t.Error("MySQL's service is not a NodePort though expose.datastores is set")
		}
		np, _ := helmtest.Path(svc.Doc, "spec", "ports", 0, "nodePort")
		if np != d.Settings.MySQL.Port {
			t.Errorf("MySQL's node port %v, want mysql.port %d", np, d.Settings.MySQL.Port)
		}
	}
}

// checkGrafana: Grafana's chart is only stubbed here, so its images,
// pull policies, port and credentials are read from the merged values the
// way its templates join them (registry/repository:tag; the init
// containers' strings with global.image.repository filled in).
func checkGrafana(t *testing.T, d *deployment.Deployment, chart string, files ...string) {
	t.Helper()
	vals, err := helmtest.Values(chart, files...)
	if err != nil {
		t.Fatal(err)
	}
	s := d.Settings
	g := func(path ...any) any {
		v, err := helmtest.Path(vals, append([]any{"grafana"}, path...)...)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	global := str(t, vals, "global", "image", "repository")
	globalPolicy := str(t, vals, "global", "image", "pullPolicy")
	img := fmt.Sprintf("%v/%v:%v", g("image", "registry"), g("image", "repository"), g("image", "tag"))
	if img != d.Images.Grafana {
		t.Errorf("Grafana runs %s, want %s", img, d.Images.Grafana)
	}
	policy := pullAlways
	if s.Offline {
		policy = pullIfNotPresent
	}
	if g("image", "pullPolicy") != policy || globalPolicy != policy {
		t.Errorf("Grafana pull policy %v, global %v, want %s", g("image", "pullPolicy"), globalPolicy, policy)
	}
	fill := strings.NewReplacer("{{ .Values.global.image.repository }}", global,
		"{{ tpl .Values.global.image.pullPolicy . }}", globalPolicy)
	want := map[string]string{"init-custom-plugins": d.Images.GrafanaInit, "init-grafana-ds-dh": d.Images.GrafanaInitDsDh}
	inits := g("extraInitContainers").([]any)
	if len(inits) != len(want) {
		t.Fatalf("%d Grafana init containers, want %d", len(inits), len(want))
	}
	for _, c := range inits {
		m := c.(map[string]any)
		name, _ := m["name"].(string)
		if got := fill.Replace(m["image"].(string)); got != want[name] {
			t.Errorf("Grafana init container %s runs %s, want %s", name, got, want[name])
		}
		if got := fill.Replace(m["imagePullPolicy"].(string)); got != policy {
			t.Errorf("Grafana init container %s pull policy %s, want %s", name, got, policy)
		}
		if mounts, _ := m["volumeMounts"].([]any); len(mounts) == 0 {
			t.Errorf("Grafana init container %s lost its volume mounts", name)
		}
	}
	if g("adminUser") != s.Grafana.AdminUser || g("adminPassword") != d.Secrets().Grafana {
		t.Errorf("Grafana admin %v / %v, want the deployment's", g("adminUser"), g("adminPassword"))
	}
	if g("env", "TZ") != s.Timezone || str(t, vals, "global", "timezone") != s.Timezone {
		t.Errorf("time zone %v / %v, want %s", g("env", "TZ"), str(t, vals, "global", "timezone"), s.Timezone)
	}
	np, err := helmtest.Path(vals, "grafana", "service", "nodePort")
	if s.Grafana.Port >= NodePortMin && s.Grafana.Port <= NodePortMax {
		if err != nil || fmt.Sprint(np) != fmt.Sprint(s.Grafana.Port) { // Helm reads numbers as float64
			t.Errorf("Grafana node port %v (%v), want %d", np, err, s.Grafana.Port)
		}
	} else if err == nil {
		t.Errorf("Grafana node port %v set though grafana.port %d is outside the node port range", np, s.Grafana.Port)
	}
	if s.Offline {
		if g("grafana.ini", "analytics", "check_for_updates") != false {
			t.Error("offline Grafana still checks for updates")
		}
	}
}

func agentConfig(t *testing.T, res *helmtest.Result) map[string]any {
	t.Helper()
	cm := res.Get("ConfigMap", "deepflow-agent")
	if cm == nil {
		t.Fatalf("no deepflow-agent ConfigMap: %v", names(res))
	}
	var cfg map[string]any
	if err := yaml.Unmarshal([]byte(str(t, cm.Doc, "data", "deepflow-agent.yaml")), &cfg); err != nil {
		t.Fatal(err)
	}
	return cfg
}

// checkIdentity: group and cluster reach the agent's own config.
func checkIdentity(t *testing.T, cfg map[string]any, s *settings.Settings) {
	t.Helper()
	for key, want := range map[string]string{
		"vtap-group-id-request":   s.Agent.GroupID,
		"kubernetes-cluster-name": s.Agent.Kubernetes.ClusterName,
		"kubernetes-cluster-id":   s.Agent.Kubernetes.ClusterID,
	} {
		got, _ := cfg[key].(string)
		if got != want {
			t.Errorf("deepflow-agent.yaml %s = %q, want %q", key, got, want)
		}
	}
}

func checkWorkloads(t *testing.T, res *helmtest.Result, s *settings.Settings) {
	t.Helper()
	watcher := s.Agent.Mode == settings.AgentProcess && s.Agent.Kubernetes.ClusterName != ""
	if got := len(res.Kind("DaemonSet")) > 0; got == watcher {
		t.Errorf("agent DaemonSet present: %v, want %v", got, !watcher)
	}
	w := false
	for _, o := range res.Kind("Deployment") {
		if strings.Contains(o.Name, "watcher") {
			w = true
		}
	}
	if w != watcher {
		t.Errorf("agent watcher present: %v, want %v", w, watcher)
	}
}

// The agents of the chart's own cluster report to its server service.
func checkInClusterAgent(t *testing.T, res *helmtest.Result, d *deployment.Deployment) {
	t.Helper()
	cfg := agentConfig(t, res)
	if got := cfg["controller-ips"]; !reflect.DeepEqual(got, []any{"deepflow-server"}) {
		t.Errorf("in-cluster agents dial %v, want the deepflow-server service", got)
	}
	checkIdentity(t, cfg, d.Settings)
	checkWorkloads(t, res, d.Settings)
}

// A cluster's agents from values-agent.yaml report to the compose server.
func checkStandaloneAgent(t *testing.T, res *helmtest.Result, d *deployment.Deployment) {
	t.Helper()
	cfg := agentConfig(t, res)
	want := d.Topology.AgentPorts().Controller
	if d.Settings.Agent.ControllerPort != 0 {
		want = d.Settings.Agent.ControllerPort
	}
	if got := cfg["controller-ips"]; !reflect.DeepEqual(got, []any{d.Settings.NodeIP}) {
		t.Errorf("agents dial %v, want the node IP %s", got, d.Settings.NodeIP)
	}
	if got := cfg["controller-port"]; got != want {
		t.Errorf("agents dial port %v, want %d", got, want)
	}
	checkIdentity(t, cfg, d.Settings)
	checkWorkloads(t, res, d.Settings)
	policy := pullAlways
	if d.Settings.Offline {
		policy = pullIfNotPresent
	}
	for _, kind := range []string{"Deployment", "DaemonSet"} {
		for _, o := range res.Kind(kind) {
			for name, c := range o.Containers() {
				if c["image"] != d.Images.Agent || c["imagePullPolicy"] != policy {
					t.Errorf("%s %s container %s: %v %v, want %s %s", kind, o.Name, name, c["image"], c["imagePullPolicy"], d.Images.Agent, policy)
				}
			}
		}
	}
}

// Bad input gets render's own errors, with what to do.
func TestBadInput(t *testing.T) {
	ctx := context.Background()
	empty := t.TempDir()
	_, err := Prepare(ctx, Options{Dir: empty, OutDir: t.TempDir()})
	if !errors.Is(err, deployment.ErrNotRendered) {
		t.Errorf("never rendered: %v, want ErrNotRendered", err)
	}
	_, renderErr := deployment.Load(empty)
	if err == nil || renderErr == nil || err.Error() != renderErr.Error() {
		t.Errorf("export says %v, render's Load says %v", err, renderErr)
	}

	dir := renderDir(t, settings.Inputs{Profile: "bridge", Version: "v7.1"})
	path := filepath.Join(dir, topology.ServerYAML)
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, append(b, "# tuned by hand\n"...), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(filepath.Join(dir, topology.AppYAML)); err != nil {
		t.Fatal(err)
	}
	_, err = Prepare(ctx, Options{Dir: dir, OutDir: t.TempDir()})
	want := "files changed by hand since the last render in " + dir + ": " + topology.AppYAML + " (removed since the last render), " +
		topology.ServerYAML + " (changed by hand since the last render); the export reads the settings recorded in .deepflow-compose.json, " +
		"so these edits would not reach the chart values. Put them in settings and render again (`deepflow-compose diff` shows what render would change), then export"
	if !errors.Is(err, ErrHandEdits) || err.Error() != want {
		t.Errorf("hand edits:\n got %v\nwant %s", err, want)
	}

	old := renderDir(t, settings.Inputs{Profile: "bridge", Version: "v6.5"})
	_, err = Prepare(ctx, Options{Dir: old, OutDir: t.TempDir()})
	if want := "no DeepFlow Helm chart for this version v6.5 (DeepFlow publishes charts for v6.6, v7.0, v7.1)"; !errors.Is(err, ErrUnsupportedVersion) || err.Error() != want {
		t.Errorf("v6.5: %v, want %s", err, want)
	}

	_, err = Prepare(ctx, Options{Render: render.Options{Inputs: settings.Inputs{Profile: "bridge", NodeIP: nodeIP, Sets: []string{"mysql.prot=1"}}}})
	if !errors.Is(err, settings.ErrSettings) || !strings.Contains(err.Error(), `unknown key "mysql.prot"`) {
		t.Errorf("bad --set: %v", err)
	}
}

// Render inputs export the same files as the directory they render.
func TestFromInputsMatchesDir(t *testing.T) {
	in := settings.Inputs{Profile: "process-agent", Version: "v7.1", NodeIP: nodeIP, Sets: []string{"agent.subnets=[10.9.0.0/16]",
		"mysql.password=m-secret", "clickhouse.password=c-secret", "grafana.adminPassword=g-secret", "agent.groupID=g-TE8la86jlZ"}}
	e, err := Prepare(context.Background(), Options{Render: render.Options{Inputs: in}})
	if err != nil {
		t.Fatal(err)
	}
	fromDir, _ := exportDir(t, renderDir(t, in), "")
	for _, name := range []string{ValuesFile, SecretsFile, AgentValuesFile} {
		a, b := e.File(name), fromDir.File(name)
		// Only the line naming the source differs.
		strip := func(d []byte) string {
			var out []string
			for _, l := range strings.Split(string(d), "\n") {
				if !strings.HasPrefix(l, "# From ") {
					out = append(out, l)
				}
			}
			return strings.Join(out, "\n")
		}
		if strip(a.Data) != strip(b.Data) {
			t.Errorf("%s from inputs differs from the export of their render:\n%s\n---\n%s", name, a.Data, b.Data)
		}
	}
	if !strings.Contains(string(e.File(SecretsFile).Data), "mysql: m-secret") {
		t.Errorf("the given MySQL password is not in %s:\n%s", SecretsFile, e.File(SecretsFile).Data)
	}
}

// Write refuses files it did not write and keeps the secrets private.
func TestWrite(t *testing.T) {
	dir := renderDir(t, settings.Inputs{Profile: "bridge", Version: "v7.1"})
	out := t.TempDir()
	if err := os.WriteFile(filepath.Join(out, ValuesFile), []byte("global: {}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	e, err := Prepare(context.Background(), Options{Dir: dir, OutDir: out})
	if err != nil {
		t.Fatal(err)
	}
	err = e.Write(false)
	want := "refusing to overwrite files in " + out + ": values.yaml (not written by deepflow-compose export helm); use --force to overwrite, or another -o"
	if !errors.Is(err, ErrConflict) || err.Error() != want {
		t.Errorf("got %v\nwant %s", err, want)
	}
	if err := e.Write(true); err != nil {
		t.Fatal(err)
	}
	// Exported files are ours: a second export overwrites them.
	if err := e.Write(false); err != nil {
		t.Errorf("second export: %v", err)
	}
	for _, f := range e.Files {
		st, err := os.Stat(filepath.Join(out, f.Path))
		if err != nil {
			t.Fatal(err)
		}
		if st.Mode().Perm() != f.Mode {
			t.Errorf("%s: mode %v, want %v", f.Path, st.Mode().Perm(), f.Mode)
		}
	}
	if e.File(SecretsFile).Mode != 0o600 {
		t.Errorf("%s is not 0600", SecretsFile)
	}
	d, err := deployment.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	sec := d.Secrets()
	for _, f := range []string{ValuesFile, AgentValuesFile, GuideFile} {
		for _, pw := range []string{sec.MySQL, sec.ClickHouse, sec.Grafana} {
			if strings.Contains(string(e.File(f).Data), pw) {
				t.Errorf("%s holds a password", f)
			}
		}
	}
	for _, pw := range []string{sec.MySQL, sec.ClickHouse, sec.Grafana} {
		if !strings.Contains(string(e.File(SecretsFile).Data), pw) {
			t.Errorf("%s lacks a password of the deployment", SecretsFile)
		}
	}
}

// A password the chart's templates cannot carry is named in HELM.md.
func TestPasswordsTheChartCannotCarry(t *testing.T) {
	in := settings.Inputs{Profile: "bridge", NodeIP: nodeIP, Sets: []string{`clickhouse.password=a#b`, `mysql.password=q"x`}}
	e, err := Prepare(context.Background(), Options{Render: render.Options{Inputs: in, Rand: seeded()}})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, u := range e.Unmapped {
		if strings.HasSuffix(u.Setting, "password") {
			got = append(got, u.Setting)
		}
	}
	if want := []string{"mysql.password", "clickhouse.password"}; !reflect.DeepEqual(got, want) {
		t.Errorf("HELM.md names %v, want %v", got, want)
	}
	guide := string(e.File(GuideFile).Data)
	if strings.Contains(guide, `q"x`) || strings.Contains(guide, "a#b") {
		t.Error("HELM.md prints a password")
	}
}
