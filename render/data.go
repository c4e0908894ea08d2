package render

import (
	"fmt"
	"path"
	"strconv"
	"strings"

	"github.com/deepflow-compose/deepflow-compose/agentcfg"
)

// Env names the variables .env defines and the compose file interpolates.
// Secrets reach containers only through these.
type Env struct {
	ProjectName, Version, NodeIP                   string
	MySQLPassword, ClickHousePassword, GrafanaPass string
}

var envNames = Env{
	ProjectName:        "COMPOSE_PROJECT_NAME",
	Version:            "DEEPFLOW_VERSION",
	NodeIP:             "NODE_IP_FOR_DEEPFLOW",
	MySQLPassword:      "MYSQL_ROOT_PASSWORD",
	ClickHousePassword: "CLICKHOUSE_DEFAULT_PASSWORD",
	GrafanaPass:        "GRAFANA_ADMIN_PASSWORD",
}

// Secrets are the resolved passwords of one render.
type Secrets struct {
	MySQL, ClickHouse, Grafana string
}

// Wiring is every address a config file names, resolved once from the
// topology. Templates print these and nothing else.
type Wiring struct {
	ServerToMySQL      Endpoint
	ServerToClickHouse Endpoint
	ServerToApp        Endpoint
	AppToController    Endpoint
	AppToQuerier       Endpoint
	GrafanaToMySQL     Endpoint
	GrafanaToQuerier   Endpoint
	GrafanaToApp       Endpoint
	// GrafanaToClickHouse: DeepFlow's Grafana image takes a host only.
	GrafanaToClickHouse Endpoint
	ClickHouseSelf      Endpoint
	// As seen from outside the stack.
	AgentController Endpoint
	AgentIngester   Endpoint
	CtlAPI          Endpoint
	GrafanaWeb      Endpoint
}

// Listen is what each process binds.
type Listen struct {
	MySQL, ClickHouseTCP, ClickHouseHTTP, ClickHouseInterserver Listener
	Querier, Controller, GRPC, App, Grafana                     Listener
}

// Paths are the host directories the stack keeps its data in.
type Paths struct {
	MySQL, ClickHouse, ClickHouseStorage                                             string
	GrafanaDashboards, GrafanaPlugins, GrafanaProvDashboards, GrafanaProvDatasources string
}

// Data is handed to every template.
type Data struct {
	S       *Settings
	T       *Topology
	R       *Release
	Images  Images
	Env     Env
	Secrets Secrets
	W       Wiring
	Listen  Listen
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
	NTP Endpoint
	// NTPClients are the networks the NTP host must answer when this node
	// is the time source (offline, no ntpServer): chrony allow lines.
	NTPClients        []string
	CtlDefaultAPIPort int
}

func newData(s *Settings, prof *Profile, t *Topology, sec Secrets) (*Data, error) {
	r, err := LookupRelease(s.Version)
	if err != nil {
		return nil, err
	}
	images, err := ResolveImages(s)
	if err != nil {
		return nil, err
	}
	d := &Data{S: s, T: t, R: r, Images: images, Env: envNames, Secrets: sec, Profile: prof.Name,
		PodIP: loopback, NTP: Endpoint{Host: defaultNTPHost, Port: ntpPort}, CtlDefaultAPIPort: CtlDefaultAPIPort}
	if s.Offline {
		// No way out: agents and the server take time from a host the
		// operator runs, the node itself unless told otherwise.
		d.NTP.Host = s.NTPServer
		if d.NTP.Host == "" {
			d.NTP.Host = t.NodeIP
		}
	}
	d.AgentImageRepo, d.AgentImageTag = splitImage(d.Images.Agent)
	d.ClickHouseNetworks = []string{"::/0"}
	if t.ClickHouse.mustL(LTCP).Bind == loopback {
		d.ClickHouseNetworks = []string{"::1", loopback}
	}
	var errs []error
	in := func(c *Component, l string) Endpoint {
		e, err := t.Internal(c, l)
		errs = append(errs, err)
		return e
	}
	ex := func(c *Component, l string) Endpoint {
		e, err := t.External(c, l)
		errs = append(errs, err)
		return e
	}
	lis := func(c *Component, l string) Listener {
		x, err := c.L(l)
		errs = append(errs, err)
		return x
	}
	self, err := t.Self(&t.ClickHouse, LTCP)
	errs = append(errs, err)
	d.W = Wiring{
		ServerToMySQL:       in(&t.MySQL, LMySQL),
		ServerToClickHouse:  in(&t.ClickHouse, LTCP),
		ServerToApp:         in(&t.App, LApp),
		AppToController:     in(&t.Server, LController),
		AppToQuerier:        in(&t.Server, LQuerier),
		GrafanaToMySQL:      in(&t.MySQL, LMySQL),
		GrafanaToQuerier:    in(&t.Server, LQuerier),
		GrafanaToApp:        in(&t.App, LApp),
		GrafanaToClickHouse: in(&t.ClickHouse, LTCP),
		ClickHouseSelf:      self,
		AgentController:     ex(&t.Server, LGRPC),
		AgentIngester:       ex(&t.Server, LIngester),
		CtlAPI:              ex(&t.Server, LController),
		GrafanaWeb:          ex(&t.Grafana, LWeb),
	}
	if s.Agent.ControllerPort != 0 {
		d.W.AgentController.Port = s.Agent.ControllerPort
	}
	if s.Agent.IngesterPort != 0 {
		d.W.AgentIngester.Port = s.Agent.IngesterPort
	}
	d.Listen = Listen{
		MySQL:                 lis(&t.MySQL, LMySQL),
		ClickHouseTCP:         lis(&t.ClickHouse, LTCP),
		ClickHouseHTTP:        lis(&t.ClickHouse, LHTTP),
		ClickHouseInterserver: lis(&t.ClickHouse, LInterserver),
		Querier:               lis(&t.Server, LQuerier),
		Controller:            lis(&t.Server, LController),
		GRPC:                  lis(&t.Server, LGRPC),
		App:                   lis(&t.App, LApp),
		Grafana:               lis(&t.Grafana, LWeb),
	}
	for _, err := range errs {
		if err != nil {
			return nil, fmt.Errorf("%w: %v", ErrTopology, err)
		}
	}
	if d.W.CtlAPI.Port != CtlDefaultAPIPort {
		d.CtlAPIPortFlag = " --api-port " + strconv.Itoa(d.W.CtlAPI.Port)
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

// splitImage splits a reference into repository and tag (or digest).
func splitImage(ref string) (repo, tag string) {
	if i := strings.Index(ref, "@"); i >= 0 {
		return ref[:i], ref[i+1:]
	}
	if i := strings.LastIndex(ref, ":"); i > strings.LastIndex(ref, "/") {
		return ref[:i], ref[i+1:]
	}
	return ref, "latest"
}

// publish lists a component's "host:container" port mappings under bridge.
func publish(c Component) []string {
	var out []string
	for _, l := range c.Listeners {
		if l.HostPort != 0 {
			out = append(out, strconv.Itoa(l.HostPort)+":"+strconv.Itoa(l.Port))
		}
	}
	return out
}
