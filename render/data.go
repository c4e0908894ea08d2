package render

import (
	"path"
	"strconv"
	"strings"

	"github.com/deepflow-compose/deepflow-compose/agentcfg"
	"github.com/deepflow-compose/deepflow-compose/catalog"
	"github.com/deepflow-compose/deepflow-compose/deployment"
	"github.com/deepflow-compose/deepflow-compose/settings"
	"github.com/deepflow-compose/deepflow-compose/topology"
)

// Secrets are the resolved passwords of one render.
type Secrets = deployment.Secrets

// Paths are the host directories the stack keeps its data in.
type Paths struct {
	MySQL, ClickHouse, ClickHouseStorage                                             string
	GrafanaDashboards, GrafanaPlugins, GrafanaProvDashboards, GrafanaProvDatasources string
}

// Data is handed to every template.
type Data struct {
	S       *settings.Settings
	T       *topology.Topology
	R       *catalog.Release
	Images  catalog.Images
	Env     topology.EnvVars
	Secrets Secrets
	// W is every consumer's resolved endpoint, by consumer ID
	// (topology.Consumers): .W.ServerToMySQL.Host.
	W map[string]topology.Endpoint
	// Listen is every listener by name: .Listen.grpc.Port.
	Listen  map[string]topology.Listener
	Paths   Paths
	Profile string
	// CtlAPIPortFlag is " --api-port N" when deepflow-ctl's default port is
	// not the one this network mode exposes, else "".
	CtlAPIPortFlag string
	// GroupConfig is the agent-group-config document body, empty when it
	// cannot be complete yet.
	GroupConfig       string
	GroupConfigFormat agentcfg.Format
	// ServerTypesUnknownAgents writes server.yaml's
	// trident-type-for-unkonw-vtap: every release of the version reads it.
	ServerTypesUnknownAgents bool
	// ClusterRoleRules are the extra rules the agent's ClusterRole needs
	// for the Kubernetes resources the group config watches.
	ClusterRoleRules string
	// AgentImageRepo and AgentImageTag split the agent image for Helm.
	AgentImageRepo, AgentImageTag string
	// PodIP is what deepflow-server takes as its own pod address in
	// STANDALONE mode.
	PodIP string
	// ClickHouseNetworks are the client networks ClickHouse's default user
	// accepts: loopback only when ClickHouse listens on loopback.
	ClickHouseNetworks []string
	// LocalIPRanges are controller.genesis.local_ip_ranges; empty keeps the
	// server's built-in list.
	LocalIPRanges []string
	// NTP is the time source deepflow-server hands to agents.
	NTP topology.Endpoint
	// NTPClients are the networks the NTP host must answer when this node
	// is the time source (offline, no ntpServer): chrony allow lines.
	NTPClients        []string
	CtlDefaultAPIPort int
	// Step numbers NEXT-STEPS.md's sections.
	Step Steps
	// Firewall lists the node ports agents, deepflow-ctl and browsers dial.
	Firewall []FirewallPort
	// AgentOnly: `deepflow-compose agent`, which writes no NEXT-STEPS.md.
	AgentOnly bool
	// GrafanaAdminPasswordVar prints the real Grafana password.
	GrafanaAdminPasswordVar string
}

func newData(s *settings.Settings, prof *settings.Profile, t *topology.Topology, sec Secrets) (*Data, error) {
	r, err := catalog.Lookup(s.Version)
	if err != nil {
		return nil, err
	}
	images, err := catalog.Resolve(s.Version, s.Registry, s.Images)
	if err != nil {
		return nil, err
	}
	d := &Data{S: s, T: t, R: r, Images: images, Env: topology.Vars, Secrets: sec, Profile: prof.Name,
		PodIP: topology.Loopback, NTP: topology.Endpoint{Host: topology.DefaultNTPHost, Port: topology.NTPPort},
		CtlDefaultAPIPort: topology.CtlDefaultAPIPort, GrafanaAdminPasswordVar: topology.GrafanaAdminPasswordVar, Listen: t.Listening()}
	if s.Offline {
		// No way out: agents and the server take time from a host the
		// operator runs, the node itself unless told otherwise.
		d.NTP.Host = s.NTPServer
		if d.NTP.Host == "" {
			d.NTP.Host = t.NodeIP
		}
	}
	d.AgentImageRepo, d.AgentImageTag = SplitImage(d.Images.Agent)
	d.ClickHouseNetworks = []string{"::/0"}
	if d.Listen[string(topology.TCP)].Bind == topology.Loopback {
		d.ClickHouseNetworks = []string{"::1", topology.Loopback}
	}
	if d.W, err = t.Wiring(); err != nil {
		return nil, err
	}
	d.Step = newSteps()
	if d.Firewall, err = firewall(t); err != nil {
		return nil, err
	}
	if d.W["CtlAPI"].Port != topology.CtlDefaultAPIPort {
		d.CtlAPIPortFlag = " --api-port " + strconv.Itoa(d.W["CtlAPI"].Port)
	}
	dd := s.DataDir
	d.Paths = Paths{
		MySQL:                  path.Join(dd, "mysql"),
		ClickHouse:             path.Join(dd, "clickhouse"),
		ClickHouseStorage:      path.Join(dd, "clickhouse_storage"),
		GrafanaDashboards:      path.Join(dd, "grafana/dashboards"),
		GrafanaPlugins:         path.Join(dd, "grafana/plugins"),
		GrafanaProvDashboards:  path.Join(dd, "grafana/provisioning/dashboards"),
		GrafanaProvDatasources: path.Join(dd, "grafana/provisioning/datasources"),
	}
	return d, nil
}

// SplitImage splits an image reference into the repository and tag that
// DeepFlow's charts join with ":". A digest becomes repository
// "name@sha256" and tag "<hex>", which the same join turns back into
// name@sha256:<hex>.
func SplitImage(ref string) (repo, tag string) {
	if name, digest, ok := strings.Cut(ref, "@"); ok {
		algo, hex, _ := strings.Cut(digest, ":")
		return name + "@" + algo, hex
	}
	if i := strings.LastIndex(ref, ":"); i > strings.LastIndex(ref, "/") {
		return ref[:i], ref[i+1:]
	}
	return ref, "latest"
}
