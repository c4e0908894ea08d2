package main

import (
	"context"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/deepflow-compose/deepflow-compose/api"
)

// The state file carries what bootstrap made across a restart of the
// stand-in, so a second `up` sends no write.
func TestStateSurvivesRestart(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.json")
	ctx := context.Background()
	_, h, err := setup([]string{"-not-ready", "0", "-state", path})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(h)
	c, _ := api.New(hs.URL, api.WithRetry(1, time.Millisecond))
	if _, err := c.CreateDomain(ctx, api.DomainCreate{Name: "d", Type: api.DomainTypeAgentSync}); err != nil {
		t.Fatal(err)
	}
	g, err := c.CreateGroup(ctx, api.GroupCreate{Name: "g", GroupID: "g-0123456789"})
	if err != nil {
		t.Fatal(err)
	}
	// The stand-in checks configs with agentcfg's schema, like the server.
	if err := c.SetGroupConfig(ctx, g.LCUUID, []byte("global:\n  common:\n    enabled: true\n")); err == nil ||
		!strings.HasSuffix(err.Error(), `HTTP 500 FAIL: DeepFlow said "yaml validate failed: invalid value for key 'global': unexpected key in configuration: common, please check the yaml format"`) {
		t.Errorf("an unknown key was accepted: %v", err)
	}
	if err := c.SetGroupConfig(ctx, g.LCUUID, []byte("inputs:\n  resources:\n    workload_resource_sync_enabled: true\n")); err != nil {
		t.Fatal(err)
	}
	hs.Close()
	if _, err := os.Stat(path); err != nil {
		t.Fatal(err)
	}

	_, h, err = setup([]string{"-not-ready", "0", "-state", path})
	if err != nil {
		t.Fatal(err)
	}
	hs = httptest.NewServer(h)
	defer hs.Close()
	c, _ = api.New(hs.URL)
	ds, err := c.Domains(ctx, "d")
	if err != nil || len(ds) != 1 {
		t.Fatalf("%+v %v", ds, err)
	}
	y, found, err := c.GroupConfig(ctx, g.LCUUID)
	if err != nil || !found || !strings.Contains(string(y), "workload_resource_sync_enabled") {
		t.Errorf("%q %v %v", y, found, err)
	}
}

func TestSetupErrors(t *testing.T) {
	bad := filepath.Join(t.TempDir(), "bad.json")
	if err := os.WriteFile(bad, []byte("{"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{{"-nope"}, {"extra"}, {"-state", bad}} {
		if _, _, err := setup(args); err == nil {
			t.Errorf("%q accepted", args)
		}
	}
}

// The stand-in image drives readiness from its shell script's files.
func TestFileDrivenReadiness(t *testing.T) {
	dir := t.TempDir()
	ready, stage, probes := filepath.Join(dir, "ready"), filepath.Join(dir, "stage"), filepath.Join(dir, "probes")
	if err := os.WriteFile(stage, []byte("waiting for MySQL at mysql:30130\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, h, err := setup([]string{"-ready-file", ready, "-stage-file", stage, "-probes-file", probes})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(h)
	defer hs.Close()
	c, _ := api.New(hs.URL)
	ctx := context.Background()
	for i := 0; i < 2; i++ {
		hl, err := c.Health(ctx)
		if err != nil || hl.Ready || hl.Stage != "waiting for MySQL at mysql:30130" {
			t.Fatalf("%+v %v", hl, err)
		}
	}
	if b, _ := os.ReadFile(probes); string(b) != "2\n" {
		t.Errorf("probes %q", b)
	}
	if err := os.WriteFile(ready, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if hl, err := c.Health(ctx); err != nil || !hl.Ready {
		t.Errorf("%+v %v", hl, err)
	}
}

func TestAlsoListenAndAgentRoute(t *testing.T) {
	addrs, h, err := setup([]string{"-listen", ":20417", "-also-listen", ":20035", "-agent-route", "-not-ready", "0"})
	if err != nil || len(addrs) != 2 || addrs[1] != ":20035" {
		t.Fatalf("%v %v", addrs, err)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("POST", "/v1/vtaps/standin/", strings.NewReader(`{"CTRL_IP":"192.0.2.10"}`)))
	if rec.Code != 200 {
		t.Errorf("registration: %d %s", rec.Code, rec.Body)
	}
}
