package doctor

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http/httptest"
	"net/netip"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/deepflow-compose/deepflow-compose/agentcfg"
	"github.com/deepflow-compose/deepflow-compose/api"
	"github.com/deepflow-compose/deepflow-compose/api/apitest"
	"github.com/deepflow-compose/deepflow-compose/bootstrap"
	goldenfile "github.com/deepflow-compose/deepflow-compose/internal/golden"
)

var update = flag.Bool("update", false, "rewrite the golden files")

const (
	groupID = "g-Abc123XYZ0"
	cfg     = "global:\n  limits:\n    max_memory: 768\ninputs:\n  resources:\n    workload_resource_sync_enabled: true\n"
)

var now = time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)

// dial answers on the addresses in open and refuses the others, so no
// real port is needed and the output is stable.
func dial(open ...string) func(context.Context, string, string) (net.Conn, error) {
	return func(_ context.Context, network, addr string) (net.Conn, error) {
		for _, o := range open {
			if o == addr {
				a, b := net.Pipe()
				b.Close()
				return a, nil
			}
		}
		return nil, fmt.Errorf("dial %s %s: connection refused", network, addr)
	}
}

func expect() Expect {
	return Expect{DomainName: "deepflow-compose", GroupName: "deepflow-compose", GroupID: groupID, GroupConfig: []byte(cfg),
		Format: agentcfg.Sectioned, HostAgents: true, ServerVersion: "v7.1.8",
		Ports:         []Endpoint{{"controller gRPC (agents)", "192.0.2.10:30035"}, {"ingester (agents)", "192.0.2.10:30033"}},
		Dial:          dial("192.0.2.10:30035", "192.0.2.10:30033"),
		LocalIPRanges: []string{"10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "169.254.0.0/15", "224.0.0.0-240.255.255.255"},
		Now:           func() time.Time { return now }}
}

// healthy is a server holding everything bootstrap makes, and one good agent.
func healthy(t *testing.T, o apitest.Options) (*apitest.Server, *api.Client, api.Group) {
	t.Helper()
	srv := apitest.New(o)
	hs := httptest.NewServer(srv)
	t.Cleanup(hs.Close)
	c, err := api.New(hs.URL, api.WithRetry(3, time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	srv.SeedDomain(api.Domain{Name: "deepflow-compose", Type: api.DomainTypeAgentSync, State: 1, SyncedAt: "2026-01-01 11:59:30"})
	g := srv.SeedGroup("deepflow-compose", groupID)
	return srv, c, g
}

func normalVtap(g api.Group, ip, name string) api.Vtap {
	return api.Vtap{Name: name, CtrlIP: ip, State: api.AgentNormal, Type: api.AgentTypeWorkloadV, GroupLCUUID: g.LCUUID, GroupName: g.Name, Revision: "v7.1.8 ed89af6d"}
}

func run(t *testing.T, c *api.Client, e Expect, agents ...string) []Finding {
	t.Helper()
	fs, err := Run(context.Background(), c, e, agents)
	if err != nil {
		t.Fatal(err)
	}
	return fs
}

func find(fs []Finding, rule, subject string) (Finding, bool) {
	for _, f := range fs {
		if f.Rule == rule && (subject == "" || f.Subject == subject) {
			return f, true
		}
	}
	return Finding{}, false
}

func golden(t *testing.T, name string, fs []Finding, base string, repl ...string) {
	t.Helper()
	r := NewReport(fs)
	var a, b bytes.Buffer
	if err := r.WriteText(&a); err != nil {
		t.Fatal(err)
	}
	if err := r.WriteJSON(&b); err != nil {
		t.Fatal(err)
	}
	for ext, buf := range map[string]*bytes.Buffer{".txt": &a, ".json": &b} {
		got := []byte(strings.NewReplacer(append([]string{base, "http://SERVER"}, repl...)...).Replace(buf.String()))
		goldenfile.Check(t, filepath.Join("testdata", name+ext), got, *update)
	}
}

func TestHealthy(t *testing.T) {
	srv, c, g := healthy(t, apitest.Options{})
	if err := srv.SeedGroupConfig(groupID, cfg); err != nil {
		t.Fatal(err)
	}
	srv.SeedVtap(normalVtap(g, "10.0.0.7", "host7-W2"))
	srv.SeedVtap(normalVtap(g, "192.0.2.10", "server-W1"))
	e := expect()
	e.LocalIPRanges = append(e.LocalIPRanges, "192.0.2.0/24") // as agent.subnets adds it
	fs := run(t, c, e, "192.0.2.10")
	r := NewReport(fs)
	if r.ExitCode() != 0 {
		t.Errorf("exit %d: %+v", r.ExitCode(), fs)
	}
	// The named agent (the server's own) comes first.
	var agents []string
	for _, f := range fs {
		if f.Rule == "agent" {
			agents = append(agents, f.Subject)
		}
	}
	if want := []string{"agent 192.0.2.10 (server-W1)", "agent 10.0.0.7 (host7-W2)"}; !reflect.DeepEqual(agents, want) {
		t.Errorf("agents %v, want %v", agents, want)
	}
	golden(t, "healthy", fs, c.Base())
	if len(srv.Writes()) != 0 {
		t.Error("doctor sent a write request")
	}
}

func TestMissingGroupConfig(t *testing.T) {
	_, c, _ := healthy(t, apitest.Options{})
	fs := run(t, c, expect())
	f, ok := find(fs, "group.config.missing", "")
	if !ok || f.Severity != Error || f.Message != "agent group g-Abc123XYZ0 has no group config on the server" {
		t.Fatalf("%+v", fs)
	}
	if NewReport(fs).ExitCode() != 1 {
		t.Error("exit 0 with a missing config")
	}
}

func TestGroupConfigDiffers(t *testing.T) {
	srv, c, _ := healthy(t, apitest.Options{})
	if err := srv.SeedGroupConfig(groupID, "global: {limits: {max_memory: 512}}\n"); err != nil {
		t.Fatal(err)
	}
	fs := run(t, c, expect())
	f, ok := find(fs, "group.config.differs", "")
	want := []string{"~ global.limits.max_memory: 512 → 768", "+ inputs.resources.workload_resource_sync_enabled: true"}
	if !ok || !reflect.DeepEqual(f.Details, want) {
		t.Fatalf("%+v", fs)
	}
	if _, ok := find(fs, "group.config.workload", ""); !ok {
		t.Error("a host group config without workload sync was not reported")
	}
}

func TestAgentWithSocketErrors(t *testing.T) {
	srv, c, g := healthy(t, apitest.Options{})
	_ = srv.SeedGroupConfig(groupID, cfg)
	v := normalVtap(g, "10.0.0.7", "host7-W2")
	v.Exceptions = []api.Int{32768, 65536}
	srv.SeedVtap(v)
	fs := run(t, c, expect())
	var got []string
	for _, f := range fs {
		if f.Rule == "agent.exception" {
			got = append(got, string(f.Severity)+" "+f.Message+" | "+f.Fix)
		}
	}
	want := []string{
		"error exception CONTROLLER_SOCKET_ERROR | check that the controller port in the agent YAML (controller-port) is published on the node IP and not firewalled between the agent and the server",
		"error exception ANALYZER_SOCKET_ERROR | check that the ingester port is published on the node IP and not firewalled, and that the node IP is routable from the agent",
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %q", got)
	}
}

func TestAgentOutsideLocalIPRanges(t *testing.T) {
	srv, c, g := healthy(t, apitest.Options{})
	_ = srv.SeedGroupConfig(groupID, cfg)
	srv.SeedVtap(normalVtap(g, "100.64.1.2", "wan-W3"))
	fs := run(t, c, expect(), "100.64.1.2", "10.1.1.1")
	f, ok := find(fs, "agent.local_ip_ranges", "agent 100.64.1.2")
	if !ok || f.Severity != Warning || !strings.HasPrefix(f.Message, "100.64.1.2 is outside local_ip_ranges") {
		t.Fatalf("%+v", fs)
	}
	if _, ok := find(fs, "agent.local_ip_ranges", "agent 10.1.1.1"); ok {
		t.Error("10.1.1.1 is inside 10.0.0.0/8")
	}
}

func TestAgentReportingButUnregistered(t *testing.T) {
	srv, c, _ := healthy(t, apitest.Options{})
	srv.SeedVinterface(api.Vinterface{Name: "eth0", MAC: "52:54:00:12:34:56", IPs: []string{"10.0.0.9/24", "fe80::1/64"}, HostIP: "10.0.0.9", DeviceName: "host9", LastSeen: "2026-01-01 11:59:00"})
	fs := run(t, c, expect(), "10.0.0.9", "10.0.0.8")
	f, ok := find(fs, "agent.unregistered", "agent 10.0.0.9")
	if !ok || f.Details[0] != "interface eth0 52:54:00:12:34:56 on host9 (last seen 2026-01-01 11:59:00)" ||
		!strings.Contains(f.Fix, "the group has no usable group config") {
		t.Fatalf("%+v", f)
	}
	if f, ok := find(fs, "agent.silent", "agent 10.0.0.8"); !ok || f.Severity != Error {
		t.Errorf("silent agent: %+v", fs)
	}
	golden(t, "unregistered", fs, c.Base())
}

func TestAgentNewerThanServer(t *testing.T) {
	srv, c, g := healthy(t, apitest.Options{})
	_ = srv.SeedGroupConfig(groupID, cfg)
	v := normalVtap(g, "10.0.0.7", "host7-W2")
	v.Revision = "v7.2.1 0a1b2c3d"
	srv.SeedVtap(v)
	w := normalVtap(g, "10.0.0.8", "host8-W4")
	w.Revision = "v7.1 1234"
	srv.SeedVtap(w)
	fs := run(t, c, expect())
	f, ok := find(fs, "agent.version", "")
	if !ok || f.Subject != "agent 10.0.0.7 (host7-W2)" || f.Message != "the agent (v7.2.1) is newer than the server (v7.1.8)" {
		t.Fatalf("%+v", fs)
	}
	if n := strings.Count(fmt.Sprint(fs), "agent.version"); n != 1 {
		t.Errorf("%d version findings, want 1 (v7.1 is not newer than v7.1.8)", n)
	}
}

func TestServerStuckInMigration(t *testing.T) {
	srv, c, _ := healthy(t, apitest.Options{NotReady: -1, Stage: "MySQL migration", StageCost: 21*time.Minute + 3*time.Second})
	fs := run(t, c, expect(), "10.0.0.7")
	f, ok := find(fs, "server.health", "")
	if !ok || f.Severity != Error || f.Message != `deepflow-server is not ready: it is in stage "MySQL migration" for 21m3s: it looks stuck` {
		t.Fatalf("%+v", fs)
	}
	for _, r := range srv.Requests() {
		if r.Path != "/v1/health/" {
			t.Errorf("doctor asked %s of a server that is not ready", r.Path)
		}
	}
	golden(t, "migration", fs, c.Base())
}

func TestUnreachableAndPorts(t *testing.T) {
	hs := httptest.NewServer(apitest.New(apitest.Options{}))
	base := hs.URL
	hs.Close()
	c, _ := api.New(base)
	e := expect()
	e.Dial = dial("192.0.2.10:30035")
	fs := run(t, c, e)
	if f, ok := find(fs, "server.port", ""); !ok || f.Severity != OK {
		t.Errorf("%+v", fs)
	}
	var portErr Finding
	for _, f := range fs {
		if f.Rule == "server.port" && f.Severity == Error {
			portErr = f
		}
	}
	if portErr.Message != "ingester (agents) port 192.0.2.10:30033 does not answer: dial tcp 192.0.2.10:30033: connection refused" {
		t.Errorf("%+v", portErr)
	}
	if f, ok := find(fs, "server.health", ""); !ok || f.Message != "deepflow-server's controller API does not answer at "+base {
		t.Errorf("%+v", fs)
	}
}

func TestPortOnlyOnLoopback(t *testing.T) {
	hs := httptest.NewServer(apitest.New(apitest.Options{NotReady: -1}))
	defer hs.Close()
	c, _ := api.New(hs.URL)
	e := expect()
	e.Ports = []Endpoint{{"ingester (agents)", "192.0.2.10:30033"}}
	e.Dial = dial("127.0.0.1:30033")
	fs := run(t, c, e)
	if fs[0].Rule != "server.port" || fs[0].Message != "ingester (agents) port 192.0.2.10:30033 does not answer on the node IP, only on loopback" {
		t.Errorf("%+v", fs[0])
	}
}

func TestDomainAndTypeProblems(t *testing.T) {
	srv := apitest.New(apitest.Options{})
	hs := httptest.NewServer(srv)
	defer hs.Close()
	c, _ := api.New(hs.URL, api.WithRetry(3, time.Millisecond))
	srv.SeedDomain(api.Domain{Name: "legacy-host", Type: api.DomainTypeAgentSync, State: 4, ErrorMsg: "invalid vm count (0)", SyncedAt: "2026-01-01 11:00:00"})
	g := srv.SeedGroup("deepflow-compose", groupID)
	_ = srv.SeedGroupConfig(groupID, cfg)
	v := normalVtap(g, "10.0.0.7", "host7-K1")
	v.Type = api.AgentTypePodHost
	v.GroupLCUUID, v.GroupName, v.LCUUID = "other", "default", "VTAP-LCUUID"
	srv.SeedVtap(v)
	fs := run(t, c, expect())
	for _, want := range []struct{ rule, msg string }{
		{"domain.name", `the agent_sync domain is "legacy-host", not the rendered "deepflow-compose"; DeepFlow allows one per region, so it is used`},
		{"domain.state", `the agent_sync domain's STATE is 4 (warning): "invalid vm count (0)"`},
		{"domain.synced", "the agent_sync domain last synced at 2026-01-01 11:00:00, 1h0m0s ago"},
		{"agent.type", "TYPE is K8S_BM (7); a legacy host registers as CHOST_VM (3) or CHOST_BM (5)"},
		{"agent.group", `the agent is in group "default", not "deepflow-compose" (g-Abc123XYZ0)`},
	} {
		if f, ok := find(fs, want.rule, ""); !ok || f.Message != want.msg {
			t.Errorf("%s: got %+v", want.rule, f)
		}
	}
	golden(t, "problems", fs, c.Base(), g.LCUUID, "GROUP-LCUUID")
}

// Agents on Kubernetes nodes register under the cluster's domain: no
// agent_sync domain is no error there.
func TestNoAgentSyncDomainForKubernetesAgents(t *testing.T) {
	srv := apitest.New(apitest.Options{})
	hs := httptest.NewServer(srv)
	defer hs.Close()
	c, _ := api.New(hs.URL)
	e := expect()
	e.HostAgents, e.DomainName = false, ""
	f, ok := find(run(t, c, e), "domain.missing", "")
	if !ok || f.Severity != Info {
		t.Errorf("domain.missing: %+v, want info", f)
	}
}

func TestMissingDomainAndGroup(t *testing.T) {
	srv := apitest.New(apitest.Options{})
	hs := httptest.NewServer(srv)
	defer hs.Close()
	c, _ := api.New(hs.URL)
	fs := run(t, c, expect())
	for _, rule := range []string{"domain.missing", "group.missing"} {
		if f, ok := find(fs, rule, ""); !ok || f.Severity != Error {
			t.Errorf("%s missing from %+v", rule, fs)
		}
	}
	srv.SeedGroup("deepflow-compose", "g-0000000000")
	fs = run(t, c, expect())
	if f, ok := find(fs, "group.id", ""); !ok || f.Message != "agent group \"deepflow-compose\" has ID g-0000000000, the rendered agent files ask for g-Abc123XYZ0" {
		t.Errorf("%+v", fs)
	}
}

func TestFormatMismatch(t *testing.T) {
	srv, c, _ := healthy(t, apitest.Options{Legacy: true})
	_ = srv.SeedGroupConfig(groupID, "vtap_group_id: g-Abc123XYZ0\n")
	fs := run(t, c, expect())
	if f, ok := find(fs, "group.config.format", ""); !ok || f.Message != "the server has the vtap-group-configuration API but the rendered group config is in the sectioned layout" {
		t.Errorf("%+v", fs)
	}
}

func TestLegacyServerConfig(t *testing.T) {
	srv, c, _ := healthy(t, apitest.Options{Legacy: true})
	e := expect()
	e.Format, e.GroupConfig = agentcfg.Legacy, []byte("vtap_group_id: g-Abc123XYZ0\nplatform_enabled: 1\n")
	// A legacy server answers with its defaults filled in: not a difference.
	_ = srv.SeedGroupConfig(groupID, "vtap_group_id: g-Abc123XYZ0\nplatform_enabled: 1\nmax_memory: 768\n")
	fs := run(t, c, e)
	if f, ok := find(fs, "group.config", ""); !ok || f.Severity != OK {
		t.Errorf("%+v", fs)
	}
	_ = srv.SeedGroupConfig(groupID, "vtap_group_id: g-Abc123XYZ0\nplatform_enabled: 0\n")
	fs = run(t, c, e)
	if _, ok := find(fs, "group.config.workload", ""); !ok {
		t.Errorf("%+v", fs)
	}
}

func TestNTP(t *testing.T) {
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	go func() {
		buf := make([]byte, 512)
		for {
			n, addr, err := pc.ReadFrom(buf)
			if err != nil {
				return
			}
			if n >= 48 && buf[0]&7 == 3 {
				resp := make([]byte, 48)
				resp[0] = 0x24 // version 4, mode 4 (server)
				_, _ = pc.WriteTo(resp, addr)
			}
		}
	}()
	hs := httptest.NewServer(apitest.New(apitest.Options{NotReady: -1}))
	defer hs.Close()
	c, _ := api.New(hs.URL)
	e := expect()
	e.Ports, e.Dial, e.NTPAddr, e.Timeout = nil, nil, pc.LocalAddr().String(), 2*time.Second
	fs := run(t, c, e)
	if f, ok := find(fs, "server.ntp", ""); !ok || f.Severity != OK {
		t.Errorf("%+v", fs)
	}
	// Nothing answers on a socket that is closed at once.
	dead, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	e.NTPAddr = dead.LocalAddr().String()
	dead.Close()
	e.Timeout = 200 * time.Millisecond
	fs = run(t, c, e)
	if f, ok := find(fs, "server.ntp", ""); !ok || f.Severity != Warning {
		t.Errorf("%+v", fs)
	}
}

func TestDecodeExceptions(t *testing.T) {
	got := DecodeExceptions([]int64{32768, 65536, 256 | 512, 2048, 0x100000000, 32768})
	want := []string{"CONTROLLER_SOCKET_ERROR", "ANALYZER_SOCKET_ERROR", "INVALID_CONFIGURATION", "THREAD_THRESHOLD_EXCEEDED", "BIT_11", "LICENSE_NOT_ENOUGH"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %v", got)
	}
	if len(exceptions) != 29 {
		t.Errorf("%d exception bits known, want 29", len(exceptions))
	}
}

func TestInRanges(t *testing.T) {
	ranges := []string{"10.0.0.0/8", "224.0.0.0-240.255.255.255", "fd00::/8", "bogus", "1.1.1.1-::1"}
	for _, tc := range []struct {
		ip string
		in bool
	}{
		{"10.2.3.4", true}, {"11.0.0.1", false}, {"230.1.1.1", true}, {"240.255.255.255", true}, {"241.0.0.0", false},
		{"fd12::1", true}, {"fe80::1", false},
	} {
		in, bad := InRanges(netip.MustParseAddr(tc.ip), ranges)
		if in != tc.in || !reflect.DeepEqual(bad, []string{"bogus", "1.1.1.1-::1"}) {
			t.Errorf("%s: in %v bad %v", tc.ip, in, bad)
		}
	}
}

func TestParseVersion(t *testing.T) {
	for _, tc := range []struct {
		a, b  string
		newer bool
	}{
		{"v7.2.0", "v7.1.8", true}, {"v7.1", "v7.1.8", false}, {"v7.1.9-123 abc", "v7.1.8", true},
		{"6.6.9", "v7.0.9", false}, {"v8.0", "v7.1", true}, {"v7.1.8", "v7.1.8", false},
	} {
		a, ok1 := parseVersion(tc.a)
		b, ok2 := parseVersion(tc.b)
		if !ok1 || !ok2 || a.newer(b) != tc.newer {
			t.Errorf("%s newer than %s: %v", tc.a, tc.b, a.newer(b))
		}
	}
	if _, ok := parseVersion("main 10329"); ok {
		t.Error("parsed a version out of a branch name")
	}
}

func TestContextCancelled(t *testing.T) {
	_, c, _ := healthy(t, apitest.Options{})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	e := expect()
	e.Ports = nil
	if _, err := Run(ctx, c, e, nil); !errors.Is(err, context.Canceled) {
		t.Errorf("err %v", err)
	}
}

// After bootstrap, doctor finds nothing wrong; before, it names each gap.
func TestAfterBootstrap(t *testing.T) {
	srv := apitest.New(apitest.Options{ValidateConfig: func(b []byte) error { return agentcfg.Validate(agentcfg.Sectioned, b) }})
	hs := httptest.NewServer(srv)
	defer hs.Close()
	c, _ := api.New(hs.URL, api.WithRetry(3, time.Millisecond))
	e := expect()
	before := NewReport(run(t, c, e))
	var rules []string
	for _, f := range before.Findings {
		if f.Severity == Error {
			rules = append(rules, f.Rule)
		}
	}
	if want := []string{"domain.missing", "group.missing"}; !reflect.DeepEqual(rules, want) {
		t.Errorf("before bootstrap: %v", rules)
	}
	spec := bootstrap.Spec{DomainName: e.DomainName, GroupName: e.GroupName, GroupID: e.GroupID, Config: e.GroupConfig, Format: e.Format}
	if _, err := bootstrap.Run(context.Background(), c, spec, bootstrap.Options{PollInterval: time.Millisecond}); err != nil {
		t.Fatal(err)
	}
	gs, _ := c.Groups(context.Background(), api.GroupFilter{Name: e.GroupName})
	srv.SeedVtap(normalVtap(gs[0], "10.0.0.7", "host7-W2"))
	after := NewReport(run(t, c, e, "10.0.0.7"))
	// The new domain has not synced yet: the one warning left.
	if after.Summary.Errors != 0 || after.Summary.Warnings != 1 || after.Findings[3].Rule != "domain.synced" {
		t.Errorf("%+v", after)
	}
}
