package api_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/deepflow-compose/deepflow-compose/api"
	"github.com/deepflow-compose/deepflow-compose/api/apitest"
)

// TestRetryBounds pins how many tries each answer gets: "record not
// found" on an LCUUID path at most 3 whatever the limit, elsewhere none;
// a refusal that is not transient once.
func TestRetryBounds(t *testing.T) {
	ctx := context.Background()
	srv, c := standin(t, apitest.Options{NoRecord: 10})
	g := srv.SeedGroup("g1", "g-realsrv001")
	if err := c.SetGroupConfig(ctx, g.LCUUID, []byte("a: 1\n")); err == nil {
		t.Fatal("10 refusals: want an error")
	}
	if n := len(srv.Writes()); n != 3 {
		t.Errorf("record not found on an LCUUID path: %d tries, want 3", n)
	}

	for _, desc := range []string{"record not found", "yaml validate failed: x"} {
		var n atomic.Int64
		hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			n.Add(1)
			w.WriteHeader(500)
			_, _ = w.Write([]byte(`{"OPT_STATUS":"FAIL","DESCRIPTION":"` + desc + `"}`))
		}))
		c, err := api.New(hs.URL, api.WithRetry(4, time.Millisecond))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c.Domains(ctx, ""); err == nil {
			t.Errorf("%q: want an error", desc)
		}
		if got := n.Load(); got != 1 {
			t.Errorf("%q on /v2/domains/: %d tries, want 1", desc, got)
		}
		hs.Close()
	}
}

func TestAgentSyncDomain(t *testing.T) {
	ctx := context.Background()
	srv, c := standin(t, apitest.Options{})
	srv.SeedDomain(api.Domain{Name: "k8s", Type: 11})
	if _, found, err := c.AgentSyncDomain(ctx); err != nil || found {
		t.Fatalf("only a TYPE 11 domain: found %v, %v", found, err)
	}
	srv.SeedDomain(api.Domain{Name: "sync", Type: api.DomainTypeAgentSync})
	d, found, err := c.AgentSyncDomain(ctx)
	if err != nil || !found || d.Name != "sync" {
		t.Fatalf("got %q, %v, %v; want the agent_sync domain %q", d.Name, found, err, "sync")
	}
	if r := srv.Requests(); len(r) == 0 || r[len(r)-1].Query != "" {
		t.Errorf("the lookup lists every domain, unfiltered: %+v", r)
	}
}

func TestFindLegacyGroupConfig(t *testing.T) {
	ctx := context.Background()
	srv, c := standin(t, apitest.Options{Legacy: true})
	srv.SeedGroup("g1", "g-realsrv001")
	if y, lc, found, err := c.FindLegacyGroupConfig(ctx, "g-realsrv001"); err != nil || found || y != nil || lc != "" {
		t.Fatalf("no config: %q %q %v %v", y, lc, found, err)
	}
	if n := len(srv.Requests()); n != 1 {
		t.Errorf("no config: %d requests, want only the list", n)
	}
	doc := "vtap_group_id: g-realsrv001\nmax_memory: 1\n"
	if err := srv.SeedGroupConfig("g-realsrv001", doc); err != nil {
		t.Fatal(err)
	}
	cfgs, err := c.LegacyGroupConfigs(ctx, "g-realsrv001")
	if err != nil || len(cfgs) != 1 {
		t.Fatalf("%v %v", cfgs, err)
	}
	y, lc, found, err := c.FindLegacyGroupConfig(ctx, "g-realsrv001")
	if err != nil || !found || string(y) != doc || lc != cfgs[0].LCUUID {
		t.Errorf("got %q %q %v %v; want the seeded YAML and %q", y, lc, found, err, cfgs[0].LCUUID)
	}
}
