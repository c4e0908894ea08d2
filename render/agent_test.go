package render

import (
	"context"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/deepflow-compose/deepflow-compose/agentcfg"
	"github.com/deepflow-compose/deepflow-compose/catalog"
	"github.com/deepflow-compose/deepflow-compose/layout"
	"github.com/deepflow-compose/deepflow-compose/settings"
	"github.com/deepflow-compose/deepflow-compose/topology"
)

// TestEveryRecipeEveryVersion renders the full recipe set for every
// version and profile; each group config is validated against its
// version's schema inside Prepare, and checked here once more against
// every release the version's image tag may pull.
func TestEveryRecipeEveryVersion(t *testing.T) {
	for _, v := range catalog.Versions() {
		for _, profile := range []string{"bridge", "host-network", "process-agent"} {
			p := prepare(t, settings.Inputs{Profile: profile, Version: v, ValuesFiles: []string{"testdata/values/recipes.yaml"}}, "x")
			f := p.File(topology.GroupConfig)
			if f == nil {
				t.Fatalf("%s %s: no group config although agent.groupID is set", v, profile)
			}
			r, _ := catalog.Lookup(v)
			if err := agentcfg.ValidateReleases(r.Releases, f.Data); err != nil {
				t.Errorf("%s %s: %v", v, profile, err)
			}
			wantPort := map[string]string{"bridge": "30035", "host-network": "20035", "process-agent": "30035"}[profile]
			if !strings.Contains(string(f.Data), "proxy_controller_port: "+wantPort) {
				t.Errorf("%s %s: group config does not carry controller port %s", v, profile, wantPort)
			}
			if p.File(topology.AgentClusterRoleRules) == nil {
				t.Errorf("%s %s: Kubernetes resources set but no clusterrole-rules.yaml", v, profile)
			}
		}
	}
}

// TestGroupIDChosenAtRender: a render without agent.groupID chooses one of
// the server's shape, every agent file asks for it (v6.5's group config
// included), NEXT-STEPS creates the group with it, and later renders keep
// it, even with Reset.
func TestGroupIDChosenAtRender(t *testing.T) {
	out := filepath.Join(t.TempDir(), "d")
	p := prepare(t, settings.Inputs{Profile: "process-agent", Version: "v6.5"}, out)
	id := p.Settings.Agent.GroupID
	if !regexp.MustCompile(`^g-[A-Za-z0-9]{10}$`).MatchString(id) {
		t.Fatalf("group ID %q is not g- and ten letters and digits", id)
	}
	for file, want := range map[string]string{
		topology.AgentYAML:   "vtap-group-id-request: \"" + id + "\"",
		topology.GroupConfig: "vtap_group_id: " + id,
		topology.NextSteps:   "agent-group create deepflow-agents --id " + id,
	} {
		f := p.File(file)
		if f == nil || !strings.Contains(string(f.Data), want) {
			t.Errorf("%s lacks %q", file, want)
		}
	}
	if len(p.Notices) != 0 {
		t.Errorf("notices %q, want none", p.Notices)
	}
	if _, err := p.Write(false); err != nil {
		t.Fatal(err)
	}
	for _, reset := range []bool{false, true} {
		again, err := Prepare(context.Background(), Options{Inputs: settings.Inputs{Profile: "process-agent", Version: "v6.5", NodeIP: "192.0.2.10"}, OutDir: out, Reset: reset, Rand: seeded()})
		if err != nil {
			t.Fatal(err)
		}
		if again.Settings.Agent.GroupID != id {
			t.Errorf("reset=%v: group ID %q, want the first render's %q", reset, again.Settings.Agent.GroupID, id)
		}
	}
}

// TestAgentOnlyLegacyWithoutGroupID: the agent command cannot know the
// server's group, so a v6.5 config without --group-id is left out, with a
// notice.
func TestAgentOnlyLegacyWithoutGroupID(t *testing.T) {
	p, err := PrepareAgent(context.Background(), Options{Inputs: settings.Inputs{Version: "v6.5", NodeIP: "192.0.2.10"}})
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range p.Files {
		if f.Path == "agent-group-config.yaml" {
			t.Error("a v6.5 group config was written without a group ID")
		}
	}
	if len(p.Notices) != 1 || !strings.Contains(p.Notices[0], "group") {
		t.Errorf("notices %q do not say the group ID is needed", p.Notices)
	}
}

func TestProcessAgentServerSide(t *testing.T) {
	p := prepare(t, settings.Inputs{Profile: "process-agent", Sets: []string{"agent.subnets=[100.42.32.0/24, 10.9.0.1-10.9.0.9]", "agent.groupID=g-TE8la86jlZ"}}, "x")
	server, err := layout.YAML(topology.ServerYAML, p.File(topology.ServerYAML).Data)
	if err != nil {
		t.Fatal(err)
	}
	var ranges []string
	for _, n := range layout.Get(server, "controller.genesis.local_ip_ranges").Content {
		ranges = append(ranges, n.Value)
	}
	want := append(append([]string{}, topology.DefaultLocalIPRanges...), "100.42.32.0/24", "10.9.0.1-10.9.0.9")
	if strings.Join(ranges, " ") != strings.Join(want, " ") {
		t.Errorf("local_ip_ranges %v, want %v", ranges, want)
	}
	// v7.1.8 reads no trident-type-for-unkonw-vtap: the group config
	// makes the server take the agents for workload hosts.
	if n := layout.Get(server, "controller.trisolaris.trident-type-for-unkonw-vtap"); n != nil {
		t.Errorf("v7.1's server.yaml sets trident-type-for-unkonw-vtap: %s, which v7.1.8 does not read", n.Value)
	}
	gc, _ := layout.YAML(topology.GroupConfig, p.File(topology.GroupConfig).Data)
	if n := layout.Get(gc, "inputs.resources.workload_resource_sync_enabled"); n == nil || n.Value != "true" {
		t.Error("the group config does not set workload_resource_sync_enabled: true")
	}
	agent, _ := layout.YAML(topology.AgentYAML, p.File(topology.AgentYAML).Data)
	if n := layout.Get(agent, "vtap-group-id-request"); n == nil || n.Value != "g-TE8la86jlZ" {
		t.Error("agent file lacks vtap-group-id-request")
	}
	if p.File(topology.AgentUnit) == nil || p.File(topology.AgentDomain) == nil || p.File(topology.AgentCompose) != nil {
		t.Error("process agents need the unit and the domain file, and no agent compose file")
	}
	unit, err := layout.INI(topology.AgentUnit, p.File(topology.AgentUnit).Data)
	if err != nil {
		t.Fatal(err)
	}
	if unit.Section("Service").Key("Restart").String() != "always" || unit.Section("Service").Key("LimitNOFILE").String() == "" {
		t.Error("the unit does not restart always with a file limit")
	}
	group := string(p.File(topology.GroupConfig).Data)
	if !strings.Contains(group, "workload_resource_sync_enabled: true") {
		t.Error("process agents' group config lacks workload_resource_sync_enabled: true")
	}
	// The next steps: up prepares the server (bootstrap), agents start,
	// doctor checks; the deepflow-ctl way last, in the legacy-host order.
	next := string(p.File(topology.NextSteps).Data)
	order := []string{"deepflow-compose up .", "bootstrap", "localinstall", "cp agent/deepflow-agent.yaml /etc/deepflow-agent.yaml",
		"systemctl enable --now deepflow-agent", "deepflow-compose doctor .",
		"domain create -f agent/domain-agent-sync.yaml", "agent-group create deepflow-agents --id g-TE8la86jlZ", "agent-group-config create g-TE8la86jlZ"}
	at := 0
	for _, step := range order {
		i := strings.Index(next[at:], step)
		if i < 0 {
			t.Fatalf("NEXT-STEPS.md lacks %q after the previous step", step)
		}
		at += i
	}
}

func TestPrepareAgent(t *testing.T) {
	p, err := PrepareAgent(context.Background(), Options{Inputs: settings.Inputs{NodeIP: "10.1.2.3",
		Sets: []string{"network=host", "agent.mode=process", "agent.groupID=g-TE8la86jlZ"}}, OutDir: "x"})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, f := range p.Files {
		names = append(names, f.Path)
		if strings.Contains(string(f.Data), "unused") {
			t.Errorf("%s carries the placeholder secret", f.Path)
		}
	}
	want := "agent-group-config.yaml deepflow-agent.service deepflow-agent.yaml domain-agent-sync.yaml"
	if strings.Join(names, " ") != want {
		t.Errorf("agent files %v, want %s", names, want)
	}
	agent, _ := layout.YAML("deepflow-agent.yaml", p.File("deepflow-agent.yaml").Data)
	if layout.Get(agent, "controller-port").Value != "20035" || layout.Get(agent, "controller-ips").Content[0].Value != "10.1.2.3" {
		t.Error("agent file does not point at 10.1.2.3:20035")
	}
}
