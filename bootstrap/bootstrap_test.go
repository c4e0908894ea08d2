package bootstrap

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	goldenfile "github.com/deepflow-compose/deepflow-compose/internal/golden"

	"github.com/deepflow-compose/deepflow-compose/agentcfg"
	"github.com/deepflow-compose/deepflow-compose/api"
	"github.com/deepflow-compose/deepflow-compose/api/apitest"
)

var update = flag.Bool("update", false, "rewrite the golden files")

const groupID = "g-Abc123XYZ0"

const sectioned = `global:
  limits:
    max_memory: 768
inputs:
  resources:
    workload_resource_sync_enabled: true
`

const legacyCfg = `vtap_group_id: g-Abc123XYZ0
platform_enabled: 1
max_memory: 768
`

func spec() Spec {
	return Spec{DomainName: "deepflow-compose", GroupName: "deepflow-compose", GroupID: groupID, Config: []byte(sectioned), Format: agentcfg.Sectioned}
}

func legacySpec() Spec {
	s := spec()
	s.Config, s.Format = []byte(legacyCfg), agentcfg.Legacy
	return s
}

func env(t *testing.T, o apitest.Options) (*apitest.Server, *api.Client, string) {
	t.Helper()
	if o.ValidateConfig == nil {
		o.ValidateConfig = func(b []byte) error { return agentcfg.Validate(agentcfg.Sectioned, b) }
	}
	srv := apitest.New(o)
	hs := httptest.NewServer(srv)
	t.Cleanup(hs.Close)
	c, err := api.New(hs.URL, api.WithRetry(5, time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	return srv, c, hs.URL
}

func fast() Options { return Options{HealthTimeout: 5 * time.Second, PollInterval: time.Millisecond} }

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	goldenfile.Check(t, filepath.Join("testdata", name), got, *update)
}

func render(t *testing.T, rep Report, url string) (text, js []byte) {
	t.Helper()
	var a, b bytes.Buffer
	if err := rep.WriteText(&a); err != nil {
		t.Fatal(err)
	}
	if err := rep.WriteJSON(&b); err != nil {
		t.Fatal(err)
	}
	return []byte(strings.ReplaceAll(a.String(), url, "http://SERVER")), []byte(strings.ReplaceAll(b.String(), url, "http://SERVER"))
}

func statuses(rep Report) []string {
	var out []string
	for _, s := range rep.Steps {
		out = append(out, s.Step+"="+string(s.Status))
	}
	return out
}

func TestFreshThenSecondRunSendsNoWrite(t *testing.T) {
	srv, c, url := env(t, apitest.Options{NotReady: 2})
	rep, err := Run(context.Background(), c, spec(), fast())
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"health=ready", "domain=created", "group=created", "group config=created"}
	if got := statuses(rep); !reflect.DeepEqual(got, want) {
		t.Errorf("steps %v, want %v", got, want)
	}
	if !reflect.DeepEqual(rep.StagesSeen, apitest.Stages[:2]) {
		t.Errorf("stages seen %v", rep.StagesSeen)
	}
	if rep.Writes != 3 || len(srv.Writes()) != 3 {
		t.Errorf("writes: report %d, server %d, want 3", rep.Writes, len(srv.Writes()))
	}
	if got, _ := srv.GroupConfig(groupID); got != sectioned {
		t.Errorf("server holds config %q", got)
	}
	// A group just created has no config: asking for it would be answered
	// "record not found", which the client retries for seconds.
	for _, r := range srv.Requests() {
		if r.Method == http.MethodGet && strings.HasPrefix(r.Path, "/v1/agent-group-configuration/") && !strings.Contains(r.Path, "/template/") {
			t.Errorf("the fresh run read the new group's config: %s %s", r.Method, r.Path)
		}
	}
	text, js := render(t, rep, url)
	var end bytes.Buffer
	if err := rep.WriteEnd(&end); err != nil || !bytes.HasSuffix(text, end.Bytes()) || !strings.HasPrefix(end.String(), "note: ") {
		t.Errorf("WriteEnd %q is not the end of WriteText", end.String())
	}
	golden(t, "fresh.txt", text)
	golden(t, "fresh.json", js)

	srv.ResetRequests()
	rep, err = Run(context.Background(), c, spec(), fast())
	if err != nil {
		t.Fatal(err)
	}
	if w := srv.Writes(); len(w) != 0 {
		t.Errorf("second run sent writes: %+v", w)
	}
	want = []string{"health=ready", "domain=already there", "group=already there", "group config=already there"}
	if got := statuses(rep); !reflect.DeepEqual(got, want) {
		t.Errorf("steps %v, want %v", got, want)
	}
	text, js = render(t, rep, url)
	golden(t, "second.txt", text)
	golden(t, "second.json", js)
}

func TestExistingAgentSyncDomainUnderAnotherName(t *testing.T) {
	srv, c, _ := env(t, apitest.Options{})
	srv.SeedDomain(api.Domain{Name: "legacy-host", Type: api.DomainTypeAgentSync})
	rep, err := Run(context.Background(), c, spec(), fast())
	if err != nil {
		t.Fatal(err)
	}
	d := rep.Steps[1]
	if d.Status != AlreadyThere || d.Detail != `agent_sync domain "legacy-host" is used instead of "deepflow-compose": DeepFlow allows one per region` {
		t.Errorf("domain step %+v", d)
	}
	for _, w := range srv.Writes() {
		if w.Path == "/v1/domains/" {
			t.Errorf("a domain was posted: %+v", w)
		}
	}
}

func TestDomainNameTakenByAnotherType(t *testing.T) {
	srv, c, _ := env(t, apitest.Options{})
	srv.SeedDomain(api.Domain{Name: "deepflow-compose", Type: 2})
	_, err := Run(context.Background(), c, spec(), fast())
	if !errors.Is(err, ErrConflict) || ExitCode(err) != ExitRefused {
		t.Fatalf("err %v", err)
	}
}

func TestGroupNameClash(t *testing.T) {
	srv, c, url := env(t, apitest.Options{})
	srv.SeedGroup("deepflow-compose", "g-OTHER00001")
	rep, err := Run(context.Background(), c, spec(), fast())
	if !errors.Is(err, ErrConflict) || ExitCode(err) != 1 || rep.ExitCode != 1 {
		t.Fatalf("err %v", err)
	}
	const want = `the server's state conflicts with the rendered files: agent group "deepflow-compose" exists with ID g-OTHER00001, but the rendered agent files ask for g-Abc123XYZ0; either render again with --set agent.groupID=g-OTHER00001 to join the existing group, or delete it (deepflow-ctl agent-group delete g-OTHER00001) and run bootstrap again`
	if err.Error() != want {
		t.Errorf("error\n%s\nwant\n%s", err, want)
	}
	for _, w := range srv.Writes() {
		if w.Path == "/v1/vtap-groups/" {
			t.Errorf("a group was posted: %+v", w)
		}
	}
	text, js := render(t, rep, url)
	golden(t, "clash.txt", text)
	golden(t, "clash.json", js)
}

func TestGroupIDTakenByAnotherName(t *testing.T) {
	srv, c, _ := env(t, apitest.Options{})
	srv.SeedGroup("someone-else", groupID)
	_, err := Run(context.Background(), c, spec(), fast())
	if !errors.Is(err, ErrConflict) || !strings.Contains(err.Error(), `g-Abc123XYZ0 already belongs to agent group "someone-else"`) {
		t.Fatalf("err %v", err)
	}
}

func TestConfigDiffersIsDiffedThenUpdated(t *testing.T) {
	srv, c, url := env(t, apitest.Options{})
	srv.SeedDomain(api.Domain{Name: "deepflow-compose", Type: api.DomainTypeAgentSync})
	srv.SeedGroup("deepflow-compose", groupID)
	// Same meaning, other layout, plus one changed and one extra key.
	old := "inputs: {resources: {workload_resource_sync_enabled: true}}\nglobal:\n  limits:\n    max_memory: 512\n    max_millicpus: 1000\n"
	if err := srv.SeedGroupConfig(groupID, old); err != nil {
		t.Fatal(err)
	}
	var progress bytes.Buffer
	o := fast()
	o.Progress = &progress
	rep, err := Run(context.Background(), c, spec(), o)
	if err != nil {
		t.Fatal(err)
	}
	st := rep.Steps[3]
	want := []Change{{Path: "global.limits.max_memory", Old: "512", New: "768"}, {Path: "global.limits.max_millicpus", Old: "1000"}}
	if st.Status != Updated || !reflect.DeepEqual(st.Changes, want) {
		t.Errorf("config step %+v", st)
	}
	if got, _ := srv.GroupConfig(groupID); got != sectioned {
		t.Errorf("server holds %q", got)
	}
	p := progress.String()
	di, ui := strings.Index(p, "~ global.limits.max_memory: 512 → 768"), strings.Index(p, "group config  updated")
	if di < 0 || ui < 0 || di > ui {
		t.Errorf("the diff must be printed before the update line:\n%s", p)
	}
	if w := srv.Writes(); len(w) != 1 || w[0].Method != http.MethodPost {
		t.Errorf("writes %+v", w)
	}
	text, js := render(t, rep, url)
	golden(t, "update.txt", text)
	golden(t, "update.json", js)
}

func TestSameConfigOtherLayoutIsNoWrite(t *testing.T) {
	srv, c, _ := env(t, apitest.Options{})
	srv.SeedDomain(api.Domain{Name: "deepflow-compose", Type: api.DomainTypeAgentSync})
	srv.SeedGroup("deepflow-compose", groupID)
	if err := srv.SeedGroupConfig(groupID, "# comment\ninputs: {resources: {workload_resource_sync_enabled: true}}\nglobal: {limits: {max_memory: 768}}\n"); err != nil {
		t.Fatal(err)
	}
	rep, err := Run(context.Background(), c, spec(), fast())
	if err != nil || rep.Writes != 0 || len(srv.Writes()) != 0 {
		t.Fatalf("err %v, writes %d %+v", err, rep.Writes, srv.Writes())
	}
}

func TestLegacyServer(t *testing.T) {
	srv, c, url := env(t, apitest.Options{Legacy: true, ValidateLegacyConfig: func(b []byte) error { return agentcfg.Validate(agentcfg.Legacy, b) }})
	rep, err := Run(context.Background(), c, legacySpec(), fast())
	if err != nil {
		t.Fatal(err)
	}
	if rep.ConfigAPI != api.ConfigAPILegacy || rep.Steps[3].Status != Created {
		t.Errorf("report %+v", rep)
	}
	w := srv.Writes()
	if len(w) != 3 || w[2].Path != "/v1/vtap-group-configuration/advanced/" {
		t.Errorf("writes %+v", w)
	}
	text, js := render(t, rep, url)
	golden(t, "legacy.txt", text)
	golden(t, "legacy.json", js)

	srv.ResetRequests()
	if rep, err = Run(context.Background(), c, legacySpec(), fast()); err != nil || len(srv.Writes()) != 0 {
		t.Fatalf("second run: %v, writes %+v", err, srv.Writes())
	}
	s := legacySpec()
	s.Config = []byte(strings.Replace(legacyCfg, "768", "1024", 1))
	rep, err = Run(context.Background(), c, s, fast())
	if err != nil {
		t.Fatal(err)
	}
	if st := rep.Steps[3]; st.Status != Updated || len(st.Changes) != 1 || st.Changes[0].String() != "~ max_memory: 768 → 1024" {
		t.Errorf("step %+v", st)
	}
	if w := srv.Writes(); len(w) != 1 || w[0].Method != http.MethodPatch {
		t.Errorf("writes %+v", w)
	}
}

func TestFormatMismatch(t *testing.T) {
	_, c, _ := env(t, apitest.Options{Legacy: true})
	_, err := Run(context.Background(), c, spec(), fast())
	if !errors.Is(err, ErrConflict) || !strings.Contains(err.Error(), "older than v6.6.9") {
		t.Fatalf("err %v", err)
	}
	_, c, _ = env(t, apitest.Options{})
	_, err = Run(context.Background(), c, legacySpec(), fast())
	if !errors.Is(err, ErrConflict) || !strings.Contains(err.Error(), "v6.5 legacy layout") {
		t.Fatalf("err %v", err)
	}
}

func TestNotReadyInTime(t *testing.T) {
	srv, c, url := env(t, apitest.Options{NotReady: -1, Stage: "Metadb migration", StageCost: 95 * time.Second})
	o := fast()
	o.HealthTimeout = 20 * time.Millisecond
	rep, err := Run(context.Background(), c, spec(), o)
	if !errors.Is(err, api.ErrNotReady) || ExitCode(err) != ExitNotReady {
		t.Fatalf("err %v", err)
	}
	if !reflect.DeepEqual(rep.StagesSeen, []string{"Metadb migration"}) {
		t.Errorf("stages %v", rep.StagesSeen)
	}
	if len(srv.Writes()) != 0 {
		t.Error("writes sent to a server that is not ready")
	}
	rep.Error = strings.Replace(rep.Error, o.HealthTimeout.String(), "TIMEOUT", 1)
	rep.Steps[0].Detail = strings.Replace(rep.Steps[0].Detail, o.HealthTimeout.String(), "TIMEOUT", 1)
	text, js := render(t, rep, url)
	golden(t, "notready.txt", text)
	golden(t, "notready.json", js)
}

func TestUnreachable(t *testing.T) {
	hs := httptest.NewServer(http.NotFoundHandler())
	url := hs.URL
	hs.Close()
	c, _ := api.New(url)
	o := fast()
	o.HealthTimeout = 20 * time.Millisecond
	rep, err := Run(context.Background(), c, spec(), o)
	if !errors.Is(err, api.ErrUnreachable) || ExitCode(err) != ExitUnreachable || rep.ExitCode != 2 {
		t.Fatalf("err %v", err)
	}
}

func TestWaitPortsRunsFirst(t *testing.T) {
	srv, c, _ := env(t, apitest.Options{})
	o := fast()
	var saw int
	o.WaitPorts = func(context.Context) error { saw = len(srv.Requests()) + 1; return nil }
	if _, err := Run(context.Background(), c, spec(), o); err != nil {
		t.Fatal(err)
	}
	if saw != 1 {
		t.Errorf("hook saw %d requests before it", saw-1)
	}
	o.WaitPorts = func(context.Context) error { return errors.New("dial tcp 127.0.0.1:30035: connection refused") }
	_, err := Run(context.Background(), c, spec(), o)
	if ExitCode(err) != ExitUnreachable {
		t.Fatalf("err %v", err)
	}
}

func TestRefusalQuotesDescription(t *testing.T) {
	_, c, url := env(t, apitest.Options{ValidateConfig: func([]byte) error {
		return errors.New("invalid value for key 'global': unexpected key in configuration: common")
	}})
	rep, err := Run(context.Background(), c, spec(), fast())
	if !errors.Is(err, api.ErrRefused) || ExitCode(err) != ExitRefused {
		t.Fatalf("err %v", err)
	}
	const want = `POST /v1/agent-group-configuration/LCUUID/yaml: HTTP 500 FAIL: DeepFlow said "yaml validate failed: invalid value for key 'global': unexpected key in configuration: common, please check the yaml format"`
	e, _ := api.AsError(err)
	got := strings.Replace(err.Error(), strings.Split(e.Path, "/")[3], "LCUUID", 1)
	if got != want {
		t.Errorf("error\n%s\nwant\n%s", got, want)
	}
	rep.Error = got
	text, js := render(t, rep, url)
	golden(t, "refused.txt", text)
	golden(t, "refused.json", js)
}

func TestTransientAnswersAreRetried(t *testing.T) {
	srv, c, _ := env(t, apitest.Options{NoControllerIP: 2})
	rep, err := Run(context.Background(), c, spec(), fast())
	if err != nil || rep.Steps[1].Status != Created {
		t.Fatalf("err %v, steps %+v", err, rep.Steps)
	}
	n := 0
	for _, w := range srv.Writes() {
		if w.Path == "/v1/domains/" {
			n++
		}
	}
	if n != 3 {
		t.Errorf("%d domain posts, want 3 (two refused while starting)", n)
	}

	srv, c, _ = env(t, apitest.Options{NoRecord: 2})
	srv.SeedDomain(api.Domain{Name: "deepflow-compose", Type: api.DomainTypeAgentSync})
	srv.SeedGroup("deepflow-compose", groupID)
	if err := srv.SeedGroupConfig(groupID, sectioned); err != nil {
		t.Fatal(err)
	}
	rep, err = Run(context.Background(), c, spec(), fast())
	if err != nil || rep.Steps[3].Status != AlreadyThere || len(srv.Writes()) != 0 {
		t.Fatalf("err %v, steps %+v, writes %+v", err, rep.Steps, srv.Writes())
	}
}

// An empty DomainName (Kubernetes process mode) creates no domain and
// still makes the group and its config.
func TestNoDomainWanted(t *testing.T) {
	srv, c, _ := env(t, apitest.Options{})
	s := spec()
	s.DomainName = ""
	rep, err := Run(context.Background(), c, s, fast())
	if err != nil {
		t.Fatal(err)
	}
	if rep.Steps[1].Step != "domain" || rep.Steps[1].Status != Skipped {
		t.Errorf("domain step %+v, want skipped", rep.Steps[1])
	}
	if len(srv.Snapshot().Domains) != 0 {
		t.Errorf("domains created: %+v", srv.Snapshot().Domains)
	}
	if rep.Steps[2].Status != Created || rep.Steps[3].Status != Created {
		t.Errorf("steps %+v", rep.Steps)
	}
}

func TestSpecErrors(t *testing.T) {
	for _, tc := range []struct {
		mut  func(*Spec)
		want string
	}{
		{func(s *Spec) { s.GroupID = "g-short" }, `bootstrap: invalid spec: agent group ID "g-short" is not g- followed by 10 letters or digits, as deepflow-server requires`},
		{func(s *Spec) { s.GroupName = "" }, `bootstrap: invalid spec: no agent group name`},
		{func(s *Spec) { s.Config = []byte("  \n") }, `bootstrap: invalid spec: the group config is empty`},
		{func(s *Spec) { s.Config, s.Format = []byte("vtap_group_id: g-0000000000\n"), agentcfg.Legacy }, `bootstrap: invalid spec: the legacy group config names vtap_group_id "g-0000000000", the group is g-Abc123XYZ0`},
	} {
		s := spec()
		tc.mut(&s)
		if err := s.Check(); err == nil || err.Error() != tc.want || !errors.Is(err, ErrSpec) {
			t.Errorf("got %v\nwant %s", err, tc.want)
		}
	}
}

func TestSemanticDiff(t *testing.T) {
	for _, tc := range []struct {
		have, want string
		only       bool
		out        []string
	}{
		{"a: 1\n", "a: 1.0\n", false, nil},
		{"a: {b: [1, 2]}\n", "a:\n  b:\n  - 1\n  - 2\n", false, nil},
		{"a: {b: [1, 2]}\n", "a: {b: [2, 1]}\n", false, []string{"~ a.b: [1,2] → [2,1]"}},
		{"a: 1\nb: x\n", "a: 2\n", false, []string{"~ a: 1 → 2", `- b: "x"`}},
		{"a: 1\nb: x\n", "a: 1\n", true, nil},
		{"", "a: {}\n", false, []string{"+ a: {}"}},
		{"a: true\n", "a: 'true'\n", false, []string{`~ a: true → "true"`}},
		{"a: &x {b: 1}\nc: *x\n", "a: {b: 1}\nc: {b: 1}\n", false, nil},
		{"base: &b {x: 1, y: 1}\nd: {<<: *b, y: 2}\n", "base: {x: 1, y: 1}\nd: {x: 1, y: 2}\n", false, nil},
		{"a: [&v 1, *v]\n", "a: [1, 1]\n", false, nil},
	} {
		cs, err := SemanticDiff([]byte(tc.have), []byte(tc.want), tc.only)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, c := range cs {
			got = append(got, c.String())
		}
		if !reflect.DeepEqual(got, tc.out) {
			t.Errorf("%q vs %q: %q, want %q", tc.have, tc.want, got, tc.out)
		}
	}
	if _, err := SemanticDiff([]byte("- a\n"), []byte("a: 1\n"), false); err == nil || err.Error() != "the server's config: not a mapping" {
		t.Errorf("err %v", err)
	}
}

func TestProgressShowsStagesLive(t *testing.T) {
	_, c, _ := env(t, apitest.Options{NotReady: 3, Stage: "Metadb migration"})
	var p bytes.Buffer
	o := fast()
	o.Progress = &p
	if _, err := Run(context.Background(), c, spec(), o); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(p.String(), "\n")
	want := []string{
		`health        waiting        the server is in stage "Metadb migration"`,
		`health        ready          the server answers /v1/health/ (start-up stages seen: Metadb migration)`,
		`domain        created        agent_sync domain "deepflow-compose"`,
	}
	if !reflect.DeepEqual(lines[:3], want) {
		t.Errorf("got\n%s", p.String())
	}
}

func TestWaitTCP(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	if err := WaitTCP(ln.Addr().String(), time.Millisecond, nil)(context.Background()); err != nil {
		t.Errorf("open port: %v", err)
	}
	tries := 0
	refuse := func(context.Context, string, string) (net.Conn, error) {
		tries++
		if tries == 3 {
			return net.Dial("tcp", ln.Addr().String())
		}
		return nil, errors.New("connection refused")
	}
	if err := WaitTCP("192.0.2.10:30035", time.Millisecond, refuse)(context.Background()); err != nil || tries != 3 {
		t.Errorf("%v after %d tries", err, tries)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	err = WaitTCP("192.0.2.10:30035", time.Millisecond, func(context.Context, string, string) (net.Conn, error) {
		return nil, errors.New("connection refused")
	})(ctx)
	if err == nil || err.Error() != "192.0.2.10:30035 never accepted a connection: context canceled (last try: connection refused)" {
		t.Errorf("%v", err)
	}
}

// An unreadable config is written anyway: the new API's POST is an upsert.
func TestUnreadableConfigIsWritten(t *testing.T) {
	srv := apitest.New(apitest.Options{})
	g := srv.SeedGroup("deepflow-compose", groupID)
	srv.SeedDomain(api.Domain{Name: "deepflow-compose", Type: api.DomainTypeAgentSync})
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodGet && r.URL.Path == "/v1/agent-group-configuration/"+g.LCUUID+"/yaml" {
			w.WriteHeader(500)
			_, _ = w.Write([]byte(`{"OPT_STATUS":"FAIL","DESCRIPTION":"agent group configuration lookup failed","DATA":null}`))
			return
		}
		srv.ServeHTTP(w, r)
	}))
	defer hs.Close()
	c, _ := api.New(hs.URL, api.WithRetry(2, time.Millisecond))
	rep, err := Run(context.Background(), c, spec(), fast())
	if err != nil || rep.Steps[3].Status != Created || len(rep.Notes) != 2 ||
		rep.Notes[0] != `the server would not show the current group config (deepflow-server answered HTTP 500 FAIL: "agent group configuration lookup failed"), so it was written without comparing` {
		t.Fatalf("%v %+v", err, rep)
	}
	if got, _ := srv.GroupConfig(groupID); got != sectioned {
		t.Errorf("%q", got)
	}
}
