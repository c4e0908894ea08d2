package render

import (
	"errors"
	"strings"
	"testing"

	"github.com/deepflow-compose/deepflow-compose/agentcfg"
	"github.com/deepflow-compose/deepflow-compose/catalog"
	"github.com/deepflow-compose/deepflow-compose/layout"
	"github.com/deepflow-compose/deepflow-compose/serverkeys"
	"github.com/deepflow-compose/deepflow-compose/settings"
	"github.com/deepflow-compose/deepflow-compose/topology"
)

// Every catalog version names releases both agentcfg and serverkeys know,
// in the version's group-config layout.
func TestCatalogReleases(t *testing.T) {
	known := map[string]bool{}
	for _, r := range serverkeys.Releases() {
		known[r] = true
	}
	for _, v := range catalog.Versions() {
		r, _ := catalog.Lookup(v)
		if len(r.Releases) == 0 {
			t.Errorf("%s lists no releases", v)
		}
		for _, rel := range r.Releases {
			f, err := agentcfg.ReleaseFormat(rel)
			if err != nil {
				t.Errorf("%s: %v", v, err)
				continue
			}
			if f.String() != r.GroupConfigFormat {
				t.Errorf("%s: release %s takes the %v layout, the catalog says %s", v, rel, f, r.GroupConfigFormat)
			}
			if !known[rel] {
				t.Errorf("%s: release %s has no server.yaml key list", v, rel)
			}
		}
	}
	// The pinned image is one release; a moving tag covers its branch head.
	for v, want := range map[string]string{"v6.6": "v6.6.8", "v7.0": "v7.0.9 v7.0-branch", "v7.1": "v7.1.8 v7.1-branch"} {
		if r, _ := catalog.Lookup(v); strings.Join(r.Releases, " ") != want {
			t.Errorf("%s may run %v, want %s", v, r.Releases, want)
		}
	}
}

// The matrix: each profile × each version × recipe sets (process topology,
// macvlan, Kubernetes presets and extras, subnets, Kubernetes process
// mode). Every group config passes every release's schema, every
// server.yaml key is read by every release, and on each release the
// server takes the agents for workload hosts, never for hypervisors.
func TestEveryRenderSuitsEveryRelease(t *testing.T) {
	variations := map[string]settings.Inputs{
		"plain":   {},
		"recipes": {ValuesFiles: []string{"testdata/values/recipes.yaml"}},
		"kubernetes-process": {ValuesFiles: []string{"testdata/values/recipes.yaml"},
			Sets: []string{"agent.mode=process", "agent.kubernetes.clusterName=k8s-a"}},
		"offline-subnets": {Sets: []string{"offline=true", "agent.groupID=g-TE8la86jlZ", "agent.subnets=[100.64.3.0/24]"}},
	}
	for _, v := range catalog.Versions() {
		r, _ := catalog.Lookup(v)
		for _, profile := range []string{"bridge", "host-network", "process-agent"} {
			for name, in := range variations {
				in.Profile, in.Version = profile, v
				id := v + " " + profile + " " + name
				p := prepare(t, in, "x")
				server := p.File(topology.ServerYAML).Data
				if err := serverkeys.Check(r.Releases, server); err != nil {
					t.Errorf("%s: %v", id, err)
				}
				sy, err := layout.YAML(topology.ServerYAML, server)
				if err != nil {
					t.Fatal(err)
				}
				trident := layout.Get(sy, serverkeys.UnknownAgentType)
				gf := p.File(topology.GroupConfig)
				if gf == nil {
					if r.GroupConfigFormat != "legacy" {
						t.Errorf("%s: no group config", id)
					}
					continue
				}
				if err := agentcfg.ValidateReleases(r.Releases, gf.Data); err != nil {
					t.Errorf("%s: %v", id, err)
				}
				gy, _ := layout.YAML(topology.GroupConfig, gf.Data)
				workload := layout.Get(gy, agentcfg.WorkloadSyncKey)
				if r.GroupConfigFormat == "legacy" {
					workload = layout.Get(gy, "platform_enabled")
				}
				if strings.Contains(string(gf.Data), "hypervisor_resource_enabled") {
					t.Errorf("%s: the group config asks for hypervisor resources on hosts that run no VM", id)
				}
				for _, rel := range r.Releases {
					reads, _ := serverkeys.Reads(rel, serverkeys.UnknownAgentType)
					byServer := reads && trident != nil && trident.Value == "3"
					byGroup := workload != nil && (workload.Value == "true" || workload.Value == "1")
					if !byServer && !byGroup {
						t.Errorf("%s: on %s neither server.yaml nor the group config makes agents workload hosts", id, rel)
					}
				}
			}
		}
	}
}

// Asking for hypervisor resources is a recipe, for hosts that run VMs.
func TestHypervisorOnlyOnRequest(t *testing.T) {
	p := prepare(t, settings.Inputs{Profile: "host-network", Sets: []string{"agent.group.platformSync=true"}}, "x")
	g := string(p.File(topology.GroupConfig).Data)
	if !strings.Contains(g, "hypervisor_resource_enabled: true") || !strings.Contains(g, "workload_resource_sync_enabled: true") {
		t.Errorf("platformSync=true:\n%s", g)
	}
}

// Where the group config's key and server.yaml's key each miss a release
// the version may run, the render fails naming them.
func TestHostRegistrationNamesTheRelease(t *testing.T) {
	cases := []struct {
		releases        []string
		inGroup, inServ bool
		err             string
	}{
		{[]string{"v6.6.8"}, false, true, ""},
		{[]string{"v7.0.9", "v7.0-branch"}, true, true, ""},
		{[]string{"v7.1.8", "v7.1-branch"}, true, false, ""},
		{[]string{"v6.5"}, true, true, ""},
		{[]string{"v6.6.9", "v7.1.8"}, false, false,
			"invalid settings: version vX: agents on plain hosts could not register: DeepFlow v6.6.9 does not accept the group config's inputs.resources.workload_resource_sync_enabled, and DeepFlow v7.1.8 does not read server.yaml's controller.trisolaris.trident-type-for-unkonw-vtap"},
	}
	for _, c := range cases {
		g, s, err := hostRegistration(&catalog.Release{Name: "vX", Releases: c.releases})
		if c.err != "" {
			if !errors.Is(err, settings.ErrSettings) || err.Error() != c.err {
				t.Errorf("%v: %v, want %s", c.releases, err, c.err)
			}
			continue
		}
		if err != nil || g != c.inGroup || s != c.inServ {
			t.Errorf("%v: group %v server %v err %v; want %v %v", c.releases, g, s, err, c.inGroup, c.inServ)
		}
	}
}
