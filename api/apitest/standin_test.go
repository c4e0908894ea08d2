package apitest

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/deepflow-compose/deepflow-compose/api"
)

func post(t *testing.T, url, body string) int {
	t.Helper()
	res, err := http.Post(url, "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	return res.StatusCode
}

// The stand-in agent registers into the group it asks for, once: a second
// registration changes nothing; an unknown group lands in "default".
func TestStandinAgentRoute(t *testing.T) {
	srv := New(Options{AgentRoute: true})
	hs := httptest.NewServer(srv)
	defer hs.Close()
	g := srv.SeedGroup("deepflow-compose", "g-Abc123XYZ0")
	u := hs.URL + "/v1/vtaps/standin/"
	if code := post(t, u, `{"CTRL_IP":"192.0.2.10","VTAP_GROUP_ID_REQUEST":"g-Abc123XYZ0"}`); code != 200 {
		t.Fatalf("status %d", code)
	}
	if code := post(t, u, `{"CTRL_IP":"192.0.2.10","VTAP_GROUP_ID_REQUEST":"g-Abc123XYZ0"}`); code != 200 {
		t.Fatalf("status %d", code)
	}
	post(t, u, `{"CTRL_IP":"192.0.2.11","VTAP_GROUP_ID_REQUEST":"g-0000000000"}`)
	vs := srv.Snapshot().Vtaps
	if len(vs) != 2 || vs[0].GroupLCUUID != g.LCUUID || vs[0].State != api.AgentNormal || vs[0].Type != api.AgentTypeWorkloadP || vs[1].GroupName != "default" {
		t.Errorf("vtaps %+v", vs)
	}
	if code := post(t, u, `{}`); code != 400 {
		t.Errorf("registration without CTRL_IP: %d", code)
	}
	off := New(Options{})
	hs2 := httptest.NewServer(off)
	defer hs2.Close()
	if code := post(t, hs2.URL+"/v1/vtaps/standin/", `{"CTRL_IP":"192.0.2.10"}`); code != 404 {
		t.Errorf("route without AgentRoute: %d", code)
	}
}

func TestSyncDomains(t *testing.T) {
	at := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	srv := New(Options{SyncDomains: true, Now: func() time.Time { return at }})
	hs := httptest.NewServer(srv)
	defer hs.Close()
	srv.SeedDomain(api.Domain{Name: "d", Type: api.DomainTypeAgentSync})
	c, _ := api.New(hs.URL)
	ds, err := c.Domains(t.Context(), "")
	if err != nil || len(ds) != 1 || ds[0].SyncedAt != "2026-01-01 12:00:00" {
		t.Errorf("%v %+v", err, ds)
	}
}
