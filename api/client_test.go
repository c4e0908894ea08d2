package api_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/deepflow-compose/deepflow-compose/api"
	"github.com/deepflow-compose/deepflow-compose/api/apitest"
)

func standin(t *testing.T, o apitest.Options, opts ...api.Option) (*apitest.Server, *api.Client) {
	t.Helper()
	srv := apitest.New(o)
	hs := httptest.NewServer(srv)
	t.Cleanup(hs.Close)
	c, err := api.New(hs.URL, append([]api.Option{api.WithRetry(4, time.Millisecond)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	return srv, c
}

// raw serves one fixed answer and records the last request.
func raw(t *testing.T, status int, body string) (*api.Client, *http.Request) {
	t.Helper()
	var last http.Request
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		last = *r
		w.WriteHeader(status)
		_, _ = w.Write([]byte(body))
	}))
	t.Cleanup(hs.Close)
	c, err := api.New(hs.URL, api.WithRetry(1, 0))
	if err != nil {
		t.Fatal(err)
	}
	return c, &last
}

func TestNewRejectsBadBase(t *testing.T) {
	for _, b := range []string{"192.0.2.1:30417", "ftp://x", "http://", "http://[::1"} {
		if _, err := api.New(b); err == nil {
			t.Errorf("%q accepted", b)
		}
	}
}

func TestHeadersAndOrg(t *testing.T) {
	srv, c := standin(t, apitest.Options{}, api.WithOrg(7))
	if _, err := c.Domains(context.Background(), ""); err != nil {
		t.Fatal(err)
	}
	if r := srv.Requests(); len(r) != 1 || r[0].Org != "7" {
		t.Errorf("requests %+v", r)
	}
	c2, last := raw(t, 200, `{"OPT_STATUS":"SUCCESS","DESCRIPTION":"","DATA":null}`)
	if _, err := c2.Vtaps(context.Background()); err != nil {
		t.Fatal(err)
	}
	for h, want := range map[string]string{"X-User-Id": "1", "X-User-Type": "1", "X-Org-Id": "1"} {
		if got := last.Header.Get(h); got != want {
			t.Errorf("%s: %q, want %q", h, got, want)
		}
	}
}

func TestNullDataIsEmpty(t *testing.T) {
	_, c := standin(t, apitest.Options{})
	ctx := context.Background()
	ds, err := c.Domains(ctx, "")
	if err != nil || ds == nil || len(ds) != 0 {
		t.Errorf("domains %#v %v", ds, err)
	}
	vs, err := c.Vtaps(ctx)
	if err != nil || vs == nil || len(vs) != 0 {
		t.Errorf("vtaps %#v %v", vs, err)
	}
	vi, err := c.Vinterfaces(ctx)
	if err != nil || vi == nil || len(vi) != 0 {
		t.Errorf("vinterfaces %#v %v", vi, err)
	}
}

func TestErrors(t *testing.T) {
	for _, tc := range []struct {
		name   string
		status int
		body   string
		kind   error
		exist  bool
		msg    string
	}{
		{"404 page", 404, "404 page not found", api.ErrNotFound, false, `GET /v1/vtaps/: HTTP 404: "404 page not found"`},
		{"503", 503, `{"OPT_STATUS":"SERVICE_UNAVAILABLE","DESCRIPTION":"server is in stage: Redis init now, time cost: 2s","DATA":null}`, api.ErrNotReady, false,
			`GET /v1/vtaps/: HTTP 503 SERVICE_UNAVAILABLE: DeepFlow said "server is in stage: Redis init now, time cost: 2s"`},
		{"duplicate", 400, `{"OPT_STATUS":"RESOURCE_ALREADY_EXIST","DESCRIPTION":"vtap_group name (g1) already exist","DATA":{}}`, api.ErrRefused, true,
			`GET /v1/vtaps/: HTTP 400 RESOURCE_ALREADY_EXIST: DeepFlow said "vtap_group name (g1) already exist"`},
		{"nested duplicate", 400, `{"OPT_STATUS":"INVALID_POST_DATA","DESCRIPTION":"{\"Status\":\"RESOURCE_ALREADY_EXIST\",\"Message\":\"id(g-realsrv001) already exist\"}","DATA":null}`, api.ErrRefused, true,
			`GET /v1/vtaps/: HTTP 400 INVALID_POST_DATA: DeepFlow said "{\"Status\":\"RESOURCE_ALREADY_EXIST\",\"Message\":\"id(g-realsrv001) already exist\"}"`},
		{"fail", 500, `{"OPT_STATUS":"FAIL","DESCRIPTION":"yaml validate failed: x","DATA":""}`, api.ErrRefused, false, `GET /v1/vtaps/: HTTP 500 FAIL: DeepFlow said "yaml validate failed: x"`},
		{"not found status", 400, `{"OPT_STATUS":"RESOURCE_NOT_FOUND","DESCRIPTION":"gone","DATA":null}`, api.ErrNotFound, false, `GET /v1/vtaps/: HTTP 400 RESOURCE_NOT_FOUND: DeepFlow said "gone"`},
		{"200 not success", 200, `{"OPT_STATUS":"FAIL","DESCRIPTION":"odd","DATA":null}`, api.ErrRefused, false, `GET /v1/vtaps/: HTTP 200 FAIL: DeepFlow said "odd"`},
		{"200 html", 200, `<html>`, api.ErrBadResponse, false, `GET /v1/vtaps/: HTTP 200: deepflow-server answered something that is not its JSON envelope: "<html>"`},
		{"502 proxy", 502, `bad gateway`, api.ErrRefused, false, `GET /v1/vtaps/: HTTP 502: deepflow-server answered something that is not its JSON envelope: "bad gateway"`},
		{"list not a list", 200, `{"OPT_STATUS":"SUCCESS","DATA":{"a":1}}`, api.ErrBadResponse, false, `GET /v1/vtaps/: HTTP 200 SUCCESS: json: cannot unmarshal object into Go value of type []api.Vtap`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, _ := raw(t, tc.status, tc.body)
			_, err := c.Vtaps(context.Background())
			if !errors.Is(err, tc.kind) || errors.Is(err, api.ErrAlreadyExist) != tc.exist {
				t.Fatalf("err %v", err)
			}
			if err.Error() != tc.msg {
				t.Errorf("message\n%s\nwant\n%s", err, tc.msg)
			}
		})
	}
}

func TestNestedMessage(t *testing.T) {
	e := &api.Error{Description: `{"Status":"RESOURCE_ALREADY_EXIST","Message":"id(g-x) already exist"}`}
	if e.Message() != "id(g-x) already exist" || !e.AlreadyExist() {
		t.Errorf("%q", e.Message())
	}
}

func TestUnreachable(t *testing.T) {
	hs := httptest.NewServer(http.NotFoundHandler())
	hs.Close()
	c, _ := api.New(hs.URL)
	_, err := c.Health(context.Background())
	if !errors.Is(err, api.ErrUnreachable) {
		t.Fatalf("err %v", err)
	}
	e, ok := api.AsError(err)
	if !ok || e.HTTPStatus != 0 || !strings.Contains(err.Error(), "deepflow-server is unreachable: ") {
		t.Errorf("%v", err)
	}
}

func TestHealthStages(t *testing.T) {
	_, c := standin(t, apitest.Options{NotReady: 2, StageCost: 1500 * time.Millisecond})
	ctx := context.Background()
	var got []string
	for i := 0; i < 3; i++ {
		h, err := c.Health(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if h.Ready {
			got = append(got, "ready")
		} else {
			got = append(got, h.Stage+"/"+h.TimeCost.String())
		}
	}
	if want := []string{"Election init/1.5s", "Metadb migration/1.5s", "ready"}; !reflect.DeepEqual(got, want) {
		t.Errorf("got %v", got)
	}
}

func TestParseStage(t *testing.T) {
	for _, tc := range []struct {
		in    string
		stage string
		cost  time.Duration
		ok    bool
	}{
		{"server is in stage: MySQL migration now, time cost: 31.2s", "MySQL migration", 31200 * time.Millisecond, true},
		{"server is in stage: Register routers init now", "Register routers init", 0, true},
		{"server is in stage: Metadb init now, time cost: 1m2.5s", "Metadb init", 62500 * time.Millisecond, true},
		{"server is in stage: X now, time cost: forever", "X", 0, true},
		{"something else", "", 0, false},
		{"server is in stage:  now", "", 0, false},
	} {
		s, c, ok := api.ParseStage(tc.in)
		if s != tc.stage || c != tc.cost || ok != tc.ok {
			t.Errorf("%q: %q %v %v", tc.in, s, c, ok)
		}
	}
}

func TestStandinRules(t *testing.T) {
	srv, c := standin(t, apitest.Options{})
	ctx := context.Background()
	if _, err := c.CreateDomain(ctx, api.DomainCreate{Name: "a", Type: 23}); err != nil {
		t.Fatal(err)
	}
	_, err := c.CreateDomain(ctx, api.DomainCreate{Name: "a", Type: 23})
	if e, _ := api.AsError(err); e == nil || e.HTTPStatus != 400 || e.Description != "domain (a) already exist" || !errors.Is(err, api.ErrAlreadyExist) {
		t.Errorf("duplicate domain: %v", err)
	}
	_, err = c.CreateDomain(ctx, api.DomainCreate{Name: "b", Type: 23})
	if e, _ := api.AsError(err); e == nil || e.Description != "only one agent_sync can exist in the region (ffffffff-ffff-ffff-ffff-ffffffffffff)" {
		t.Errorf("second agent_sync: %v", err)
	}
	ds, _ := c.Domains(ctx, "a")
	if len(ds) != 1 || !strings.Contains(string(ds[0].Config), `"controller_ip"`) || !strings.HasPrefix(ds[0].ID, "d-") {
		t.Errorf("domains %+v", ds)
	}

	for _, tc := range []struct {
		g    api.GroupCreate
		want string
	}{
		{api.GroupCreate{Name: "g1", GroupID: "g-bad"}, "id (g-bad) invalid, requires g- prefix, number and letter length 10, such as g-1yhIguXABC"},
		{api.GroupCreate{Name: "g1", GroupID: "g-realsrv001"}, ""},
		{api.GroupCreate{Name: "g1", GroupID: "g-realsrv002"}, "vtap_group name (g1) already exist"},
		{api.GroupCreate{Name: "g2", GroupID: "g-realsrv001"}, `{"Status":"RESOURCE_ALREADY_EXIST","Message":"id(g-realsrv001) already exist"}`},
		{api.GroupCreate{Name: "g3"}, ""},
	} {
		g, err := c.CreateGroup(ctx, tc.g)
		switch e, _ := api.AsError(err); {
		case tc.want == "" && (err != nil || !strings.HasPrefix(g.ShortUUID, "g-") || g.LCUUID == ""):
			t.Errorf("%+v: %v %+v", tc.g, err, g)
		case tc.want != "" && (e == nil || e.Description != tc.want || e.HTTPStatus != 400):
			t.Errorf("%+v: %v", tc.g, err)
		}
	}
	gs, _ := c.Groups(ctx, api.GroupFilter{ShortUUID: "g-realsrv001"})
	if len(gs) != 1 || gs[0].Name != "g1" {
		t.Fatalf("groups %+v", gs)
	}
	if capi, err := c.ProbeConfigAPI(ctx); err != nil || capi != api.ConfigAPINew {
		t.Errorf("probe %v %v", capi, err)
	}
	if _, found, err := c.GroupConfig(ctx, gs[0].LCUUID); err != nil || found {
		t.Errorf("config of a new group: %v %v", found, err)
	}
	if err := c.SetGroupConfig(ctx, gs[0].LCUUID, []byte("- not a mapping\n")); !errors.Is(err, api.ErrRefused) ||
		!strings.Contains(err.Error(), `"yaml validate failed: the configuration is not a mapping, please check the yaml format"`) {
		t.Errorf("bad config: %v", err)
	}
	if err := c.SetGroupConfig(ctx, gs[0].LCUUID, []byte("a: 1\n")); err != nil {
		t.Fatal(err)
	}
	if y, found, err := c.GroupConfig(ctx, gs[0].LCUUID); err != nil || !found || string(y) != "a: 1\n" {
		t.Errorf("config %q %v %v", y, found, err)
	}
	// The legacy API is absent on a new server.
	if _, err := c.LegacyGroupConfigs(ctx, "g-realsrv001"); !errors.Is(err, api.ErrNotFound) {
		t.Errorf("legacy on new: %v", err)
	}
	// 3 domains, 5 groups, 2 configs, refused or not.
	if n := len(srv.Writes()); n != 10 {
		t.Errorf("%d writes recorded, want 10", n)
	}
}

func TestStandinNotReadyHidesRoutes(t *testing.T) {
	_, c := standin(t, apitest.Options{NotReady: 1})
	// Before health turns ready the routes are not registered: a probe
	// then would wrongly conclude "old server".
	if capi, err := c.ProbeConfigAPI(context.Background()); err != nil || capi != api.ConfigAPILegacy {
		t.Errorf("%v %v", capi, err)
	}
	_, _ = c.Health(context.Background())
	if capi, _ := c.ProbeConfigAPI(context.Background()); capi != api.ConfigAPINew {
		t.Errorf("after ready: %v", capi)
	}
}

func TestStandinOrgInvalid(t *testing.T) {
	hs := httptest.NewServer(apitest.New(apitest.Options{}))
	defer hs.Close()
	req, _ := http.NewRequest(http.MethodGet, hs.URL+"/v1/vtaps/", nil)
	req.Header.Set(api.HeaderOrgID, "abc")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 400 {
		t.Errorf("status %d", resp.StatusCode)
	}
}

func TestLegacyAPI(t *testing.T) {
	srv, c := standin(t, apitest.Options{Legacy: true})
	ctx := context.Background()
	g := srv.SeedGroup("g1", "g-realsrv001")
	if capi, err := c.ProbeConfigAPI(ctx); err != nil || capi != api.ConfigAPILegacy {
		t.Fatalf("%v %v", capi, err)
	}
	if err := c.CreateLegacyGroupConfig(ctx, []byte("max_memory: 1\n")); err == nil || !strings.Contains(err.Error(), `"vtap_group_id is None"`) {
		t.Errorf("%v", err)
	}
	doc := []byte("vtap_group_id: g-realsrv001\nmax_memory: 1\n")
	if err := c.CreateLegacyGroupConfig(ctx, doc); err != nil {
		t.Fatal(err)
	}
	if err := c.CreateLegacyGroupConfig(ctx, doc); !errors.Is(err, api.ErrAlreadyExist) {
		t.Errorf("%v", err)
	}
	cfgs, err := c.LegacyGroupConfigs(ctx, "g-realsrv001")
	if err != nil || len(cfgs) != 1 || cfgs[0].GroupName != g.Name {
		t.Fatalf("%+v %v", cfgs, err)
	}
	if err := c.UpdateLegacyGroupConfig(ctx, cfgs[0].LCUUID, []byte("vtap_group_id: g-realsrv001\nmax_memory: 2\n")); err != nil {
		t.Fatal(err)
	}
	if y, err := c.LegacyGroupConfig(ctx, "g-realsrv001"); err != nil || string(y) != "vtap_group_id: g-realsrv001\nmax_memory: 2\n" {
		t.Errorf("%q %v", y, err)
	}
	if _, _, err := c.GroupConfig(ctx, g.LCUUID); err != nil {
		// The new API is a 404 route here: GroupConfig reads that as "none".
		t.Errorf("%v", err)
	}
}

func TestRetries(t *testing.T) {
	srv, c := standin(t, apitest.Options{NoControllerIP: 3})
	ctx := context.Background()
	if _, err := c.CreateDomain(ctx, api.DomainCreate{Name: "a", Type: 23}); err != nil {
		t.Fatalf("after 3 transient refusals and 4 tries: %v", err)
	}
	if n := len(srv.Writes()); n != 4 || c.Writes() != 4 {
		t.Errorf("writes %d / %d", n, c.Writes())
	}
	// Bounded: 5 refusals outlast 4 tries.
	srv, c = standin(t, apitest.Options{NoControllerIP: 5})
	if _, err := c.CreateDomain(ctx, api.DomainCreate{Name: "a", Type: 23}); err == nil || !strings.Contains(err.Error(), `"can not find controller ip"`) {
		t.Errorf("%v", err)
	}
	if n := len(srv.Writes()); n != 4 {
		t.Errorf("%d tries, want 4", n)
	}
	// "record not found" is retried only on LCUUID paths.
	srv, c = standin(t, apitest.Options{NoRecord: 2})
	g := srv.SeedGroup("g1", "g-realsrv001")
	if err := c.SetGroupConfig(ctx, g.LCUUID, []byte("a: 1\n")); err != nil {
		t.Errorf("%v", err)
	}
	// Cancellation stops the waiting.
	srv, _ = standin(t, apitest.Options{NoControllerIP: 100})
	hs := httptest.NewServer(srv)
	defer hs.Close()
	slow, _ := api.New(hs.URL, api.WithRetry(100, time.Hour))
	cctx, cancel := context.WithCancel(ctx)
	go func() {
		for len(srv.Writes()) == 0 {
			time.Sleep(time.Millisecond)
		}
		cancel()
	}()
	if _, err := slow.CreateDomain(cctx, api.DomainCreate{Name: "a", Type: 23}); !errors.Is(err, context.Canceled) {
		t.Errorf("%v", err)
	}
}

func TestVinterfaceDecoding(t *testing.T) {
	c, _ := raw(t, 200, `{"OPT_STATUS":"SUCCESS","DATA":[{"name":"eth0","MAC":"m","IPS":"10.0.0.1/24, 10.0.0.2","VTAP_ID":"3"},{"NAME":"eth1","IPS":["fe80::1"],"VTAP_ID":4}]}`)
	vs, err := c.Vinterfaces(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	want := []api.Vinterface{{Name: "eth0", MAC: "m", IPs: []string{"10.0.0.1/24", "10.0.0.2"}, VtapID: 3}, {Name: "eth1", IPs: []string{"fe80::1"}, VtapID: 4}}
	if !reflect.DeepEqual(vs, want) {
		t.Errorf("%+v", vs)
	}
}

func TestLenientNumbers(t *testing.T) {
	c, _ := raw(t, 200, `{"OPT_STATUS":"SUCCESS","DATA":[{"ID":"7","STATE":1,"ENABLE":true,"TYPE":3.0,"EXCEPTIONS":null}]}`)
	vs, err := c.Vtaps(context.Background())
	if err != nil || len(vs) != 1 || vs[0].ID != 7 || vs[0].Enable != 1 || vs[0].Type != 3 || vs[0].Exceptions != nil {
		t.Errorf("%+v %v", vs, err)
	}
}
