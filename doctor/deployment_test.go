package doctor

import (
	"bytes"
	"context"
	"path/filepath"
	"testing"

	"github.com/deepflow-compose/deepflow-compose/bootstrap"
	"github.com/deepflow-compose/deepflow-compose/deployment"
	"github.com/deepflow-compose/deepflow-compose/render"
	"github.com/deepflow-compose/deepflow-compose/settings"
)

// TestForDeploymentExpectsWhatBootstrapWrites: doctor checks the server
// for the very domain, group and config bootstrap puts there, Kubernetes
// process mode (no agent_sync domain) included.
func TestForDeploymentExpectsWhatBootstrapWrites(t *testing.T) {
	for _, tc := range []struct {
		name       string
		sets       []string
		wantDomain bool
	}{
		{"bridge", nil, true},
		{"kubernetes process mode", []string{"network=host", "agent.mode=process", "agent.kubernetes.clusterName=k8s-a", "agent.kubernetes.clusterID=d-J8Uv7wE0EC"}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "deepflow")
			p, err := render.Prepare(context.Background(), render.Options{Inputs: settings.Inputs{NodeIP: "192.0.2.10", Sets: tc.sets}, OutDir: dir})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := p.Write(false); err != nil {
				t.Fatal(err)
			}
			d, err := deployment.Load(dir)
			if err != nil {
				t.Fatal(err)
			}
			tg, err := bootstrap.ForDeployment(d)
			if err != nil {
				t.Fatal(err)
			}
			plan, err := ForDeployment(d)
			if err != nil {
				t.Fatal(err)
			}
			e, s := plan.Expect, tg.Spec
			if e.DomainName != s.DomainName || e.GroupName != s.GroupName || e.GroupID != s.GroupID || e.Format != s.Format || !bytes.Equal(e.GroupConfig, s.Config) {
				t.Errorf("doctor expects %q %q %q %v, bootstrap writes %q %q %q %v", e.DomainName, e.GroupName, e.GroupID, e.Format, s.DomainName, s.GroupName, s.GroupID, s.Format)
			}
			if (e.DomainName != "") != tc.wantDomain || e.HostAgents != tc.wantDomain {
				t.Errorf("domain %q, host agents %v; want an agent_sync domain: %v", e.DomainName, e.HostAgents, tc.wantDomain)
			}
			if len(e.GroupConfig) == 0 || plan.API != tg.API {
				t.Errorf("config %d bytes, API %q vs %q", len(e.GroupConfig), plan.API, tg.API)
			}
		})
	}
}
