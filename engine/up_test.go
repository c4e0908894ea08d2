package engine_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/deepflow-compose/deepflow-compose/engine"
	"github.com/deepflow-compose/deepflow-compose/engine/standin"
)

// TestUpBridgeThenHostNetwork brings the bridge profile up on stand-in
// images, then the host-network profile, and requires every readiness probe
// to pass in both. Stand-ins prove the orchestration, not DeepFlow.
func TestUpBridgeThenHostNetwork(t *testing.T) {
	needEngine(t)
	for _, profile := range []string{"bridge", "host-network"} {
		t.Run(profile, func(t *testing.T) {
			ctx := context.Background()
			var out syncBuffer
			e := newEngine(t, &out, "")
			s := renderStack(t, profile, "projectName=dfc-"+strings.ReplaceAll(profile, "-", ""))
			buildStandins(t, e, s, standin.Options{Health503: 2})
			downAtEnd(t, e, s)

			res, err := e.Up(ctx, s, engine.UpOptions{Timeout: 2 * time.Minute})
			t.Log(out.String())
			if err != nil {
				t.Fatalf("up: %v", err)
			}
			if !res.Changed {
				t.Error("first up reported no change")
			}
			// The network is created too, and must not count as a container.
			if res.Changes["container created"] != 8 || !strings.Contains(out.String(), "(created 8 containers, ") {
				t.Errorf("containers created: %v", res.Changes)
			}
			if nets := res.Changes["network created"]; (profile == "bridge") != (nets == 1) {
				t.Errorf("%s: %d networks created", profile, nets)
			}
			if len(res.Probes) != 7 {
				t.Errorf("want 7 readiness probes, got %d", len(res.Probes))
			}
			for _, p := range res.Probes {
				if !p.Ready {
					t.Errorf("%s %s not ready: %s", p.Service, p.Listener, p.Detail)
				}
			}
			o := out.String()
			for _, want := range []string{"ok    engine", "ok    ports", "All services ready", "Grafana:  http://127.0.0.1:3000", "printenv GF_SECURITY_ADMIN_PASSWORD", "NEXT-STEPS.md"} {
				if !strings.Contains(o, want) {
					t.Errorf("up output lacks %q", want)
				}
			}
			// The server stand-in answers 503 with its stage before it is
			// ready; up must have shown that stage.
			if !strings.Contains(o, "HTTP 503: stage:") {
				t.Errorf("up never showed the controller's 503 init stage")
			}
		})
	}
}

// TestNeverListens runs stand-ins for MySQL and deepflow-app that never
// open their ports, under both profiles. Under bridge their ports are
// published, so docker-proxy accepts connections for them: readiness must
// still say they are not ready, because the process never answers.
func TestNeverListens(t *testing.T) {
	needEngine(t)
	for _, profile := range []string{"bridge", "host-network"} {
		t.Run(profile, func(t *testing.T) {
			var out syncBuffer
			e := newEngine(t, &out, "")
			s := renderStack(t, profile, "projectName=dfc-deaf"+strings.ReplaceAll(profile, "-", ""), "expose.datastores=true")
			buildStandins(t, e, s, standin.Options{NeverReady: []string{"mysql", "deepflow-app"}})
			downAtEnd(t, e, s)
			_, err := e.Up(context.Background(), s, engine.UpOptions{Timeout: 5 * time.Second})
			var nr *engine.NotReadyError
			if !errors.As(err, &nr) {
				t.Fatalf("want a NotReadyError, got %v\n%s", err, out.String())
			}
			got := map[string]string{}
			for _, sv := range nr.Services {
				got[sv.Service] = sv.LastError
			}
			for _, svc := range []string{"mysql", "deepflow-app"} {
				if _, ok := got[svc]; !ok {
					t.Errorf("%s never listens but was reported ready; not ready: %v\n%s", svc, got, out.String())
				}
			}
			if strings.Contains(out.String(), "ready    mysql") || strings.Contains(out.String(), "ready    deepflow-app") {
				t.Errorf("a probe said ready:\n%s", out.String())
			}
		})
	}
}
