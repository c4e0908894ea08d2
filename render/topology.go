package render

import (
	"errors"
	"fmt"
	"net"
	"sort"
	"strconv"
	"strings"

	"github.com/deepflow-compose/deepflow-compose/settings"
)

// Fixed facts of DeepFlow's images: where each process listens inside its
// container, and what the bridge profile publishes. Everything else derives
// from these and the settings; templates print only the result.
const (
	serverQuerierPort    = 20416
	serverControllerPort = 20417
	serverProfilePort    = 20419
	serverGRPCPort       = 20035
	serverIngesterPort   = 20033
	appPort              = 20418
	grafanaContainerPort = 3000

	bridgeControllerPort = 30417
	bridgeGRPCPort       = 30035
	bridgeIngesterPort   = 30033

	// What each program falls back to when its config names no port;
	// check reads hand-made directories that may leave them out.
	MySQLBuiltinPort                 = 3306
	ClickHouseBuiltinTCPPort         = 9000
	ClickHouseBuiltinHTTPPort        = 8123
	ClickHouseBuiltinInterserverPort = 9009
	GrafanaBuiltinPort               = grafanaContainerPort
	AgentBuiltinControllerPort       = bridgeGRPCPort
	AgentBuiltinIngesterPort         = bridgeIngesterPort

	// CtlDefaultAPIPort is deepflow-ctl's --api-port when none is given.
	CtlDefaultAPIPort = 30417
	// AgentLivenessPort is the agent's own liveness-probe-port.
	AgentLivenessPort = 39090

	// DeepFlow's default time source for agents.
	defaultNTPHost = "ntp.cloud.aliyuncs.com"
	ntpPort        = 123

	loopback = "127.0.0.1"
	anyAddr  = "0.0.0.0"
)

// Listener names, shared with check and the readiness probes.
const (
	LQuerier     = "querier"
	LController  = "controller"
	LProfile     = "profile"
	LGRPC        = "grpc"
	LIngester    = "ingester"
	LHTTP        = "http"
	LTCP         = "tcp"
	LInterserver = "interserver"
	LMySQL       = "mysql"
	LApp         = "app"
	LWeb         = "web"
)

// A Listener is one port a component's process binds.
type Listener struct {
	Name string
	// Port is where the process listens: inside the container under
	// bridge, on the node under host networking.
	Port int
	// HostPort is the node's port that reaches it: the published port
	// under bridge (0 when not published), Port under host networking.
	HostPort int
	// Bind is the address the process binds.
	Bind string
}

// A Probe says how to tell from outside that a component is ready.
type Probe struct {
	Listener string
	// Path is the HTTP path to GET; empty means a TCP connect is enough.
	Path string
}

// A Component is one service of the stack.
type Component struct {
	Key       string // stable identifier: mysql, clickhouse, server, app, grafana
	Service   string // compose service name, also its host name on the bridge network
	Container string // container_name
	Listeners []Listener
	Probes    []Probe
}

// L returns the named listener; asking for one that does not exist is a
// programming error in a template, reported by the template engine.
func (c *Component) L(name string) (Listener, error) {
	for _, l := range c.Listeners {
		if l.Name == name {
			return l, nil
		}
	}
	return Listener{}, fmt.Errorf("component %s has no listener %q", c.Key, name)
}

func (c *Component) mustL(name string) Listener {
	l, err := c.L(name)
	if err != nil {
		panic(err)
	}
	return l
}

// Endpoint is a host and port a consumer dials.
type Endpoint struct {
	Host string
	Port int
}

func (e Endpoint) String() string { return net.JoinHostPort(e.Host, strconv.Itoa(e.Port)) }

// URL is the plain-HTTP URL of the endpoint.
func (e Endpoint) URL() string { return "http://" + e.String() }

// Topology is the single resolved wiring of a deployment.
type Topology struct {
	Network settings.Network
	NodeIP  string

	MySQL      Component
	ClickHouse Component
	Server     Component
	App        Component
	Grafana    Component
	// Init containers that prepare Grafana's plugins and dashboards.
	GrafanaInitWorkdir Component
	GrafanaInitDsDh    Component
	GrafanaInitPlugins Component
	Agent              Component
}

// Components lists the long-running services of the stack, in start order.
func (t *Topology) Components() []*Component {
	return []*Component{&t.MySQL, &t.ClickHouse, &t.Server, &t.App, &t.Grafana}
}

// Internal is how one service of the stack reaches another's listener.
func (t *Topology) Internal(c *Component, listener string) (Endpoint, error) {
	l, err := c.L(listener)
	if err != nil {
		return Endpoint{}, err
	}
	if t.Network == settings.Bridge {
		return Endpoint{Host: c.Service, Port: l.Port}, nil
	}
	if l.Bind == loopback {
		return Endpoint{Host: loopback, Port: l.Port}, nil
	}
	return Endpoint{Host: t.NodeIP, Port: l.Port}, nil
}

// External is how anything outside the stack (agents, deepflow-ctl, a
// browser) reaches a listener: the node IP and the node's port.
func (t *Topology) External(c *Component, listener string) (Endpoint, error) {
	l, err := c.L(listener)
	if err != nil {
		return Endpoint{}, err
	}
	if l.HostPort == 0 {
		return Endpoint{}, fmt.Errorf("%s %s is not reachable from outside the stack", c.Key, listener)
	}
	return Endpoint{Host: t.NodeIP, Port: l.HostPort}, nil
}

// Self is how a component reaches its own listener (ClickHouse's cluster
// definition points at itself).
func (t *Topology) Self(c *Component, listener string) (Endpoint, error) {
	l, err := c.L(listener)
	if err != nil {
		return Endpoint{}, err
	}
	return Endpoint{Host: loopback, Port: l.Port}, nil
}

// AgentPorts are the server ports an agent uses, for this network mode.
type AgentPorts struct {
	Controller int // controller-port / proxy_controller_port (gRPC)
	Ingester   int // ingester_port
	API        int // deepflow-ctl --api-port
}

func (t *Topology) AgentPorts() AgentPorts {
	return AgentPorts{
		Controller: t.Server.mustL(LGRPC).HostPort,
		Ingester:   t.Server.mustL(LIngester).HostPort,
		API:        t.Server.mustL(LController).HostPort,
	}
}

// HostPort is one port the deployment binds on the node.
type HostPort struct {
	Port      int
	Bind      string
	Component string
	Listener  string
}

// HostPorts lists every port the stack binds on the node, sorted.
func (t *Topology) HostPorts() []HostPort {
	var out []HostPort
	for _, c := range t.Components() {
		for _, l := range c.Listeners {
			if l.HostPort == 0 {
				continue
			}
			bind := anyAddr
			if t.Network == settings.Host {
				bind = l.Bind
			}
			out = append(out, HostPort{Port: l.HostPort, Bind: bind, Component: c.Key, Listener: l.Name})
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Port < out[j].Port })
	return out
}

// ErrTopology marks wiring that cannot work.
var ErrTopology = errors.New("invalid topology")

// Resolve builds the topology for validated settings.
func NewTopology(s *settings.Settings) (*Topology, error) {
	t := &Topology{Network: s.Network, NodeIP: s.NodeIP}
	host := s.Network == settings.Host
	// published returns the node port for a listener: under host networking
	// the process binds the node's port itself.
	published := func(containerPort, bridgePort int) int {
		if host {
			return containerPort
		}
		return bridgePort
	}
	dsBind := anyAddr
	if host && !s.Expose.Datastores {
		dsBind = loopback
	}
	dsPublished := func(p int) int {
		if host || s.Expose.Datastores {
			return p
		}
		return 0
	}

	t.MySQL = Component{Key: "mysql", Service: "mysql", Container: "deepflow-mysql",
		Listeners: []Listener{{Name: LMySQL, Port: s.MySQL.Port, HostPort: dsPublished(s.MySQL.Port), Bind: dsBind}},
		Probes:    []Probe{{Listener: LMySQL}}}
	t.ClickHouse = Component{Key: "clickhouse", Service: "clickhouse", Container: "deepflow-clickhouse",
		Listeners: []Listener{
			{Name: LTCP, Port: s.ClickHouse.TCPPort, HostPort: dsPublished(s.ClickHouse.TCPPort), Bind: dsBind},
			{Name: LHTTP, Port: s.ClickHouse.HTTPPort, HostPort: dsPublished(s.ClickHouse.HTTPPort), Bind: dsBind},
			// Replication traffic stays on the node: a single replica needs no peers.
			{Name: LInterserver, Port: s.ClickHouse.InterserverPort, HostPort: published(s.ClickHouse.InterserverPort, 0), Bind: dsBind},
		},
		Probes: []Probe{{Listener: LHTTP, Path: "/ping"}}}
	t.Server = Component{Key: "server", Service: "deepflow-server", Container: "deepflow-server",
		Listeners: []Listener{
			{Name: LQuerier, Port: serverQuerierPort, HostPort: serverQuerierPort, Bind: anyAddr},
			{Name: LProfile, Port: serverProfilePort, HostPort: serverProfilePort, Bind: anyAddr},
			{Name: LController, Port: serverControllerPort, HostPort: published(serverControllerPort, bridgeControllerPort), Bind: anyAddr},
			{Name: LGRPC, Port: serverGRPCPort, HostPort: published(serverGRPCPort, bridgeGRPCPort), Bind: anyAddr},
			{Name: LIngester, Port: serverIngesterPort, HostPort: published(serverIngesterPort, bridgeIngesterPort), Bind: anyAddr},
		},
		Probes: []Probe{{Listener: LController, Path: "/v1/health/"}, {Listener: LQuerier, Path: "/api/echo"}}}
	t.App = Component{Key: "app", Service: "deepflow-app", Container: "deepflow-app",
		Listeners: []Listener{{Name: LApp, Port: appPort, HostPort: appPort, Bind: anyAddr}},
		Probes:    []Probe{{Listener: LApp}}}
	grafanaPort := grafanaContainerPort
	if host {
		grafanaPort = s.Grafana.Port
	}
	t.Grafana = Component{Key: "grafana", Service: "deepflow-grafana", Container: "deepflow-grafana",
		Listeners: []Listener{{Name: LWeb, Port: grafanaPort, HostPort: s.Grafana.Port, Bind: anyAddr}},
		Probes:    []Probe{{Listener: LWeb, Path: "/api/health"}}}
	t.GrafanaInitWorkdir = Component{Key: "grafana-init-workdir", Service: "deepflow-grafana-init-worksdir", Container: "deepflow-grafana-init-worksdir"}
	t.GrafanaInitDsDh = Component{Key: "grafana-init-ds-dh", Service: "deepflow-grafana-init-grafana-ds-dh", Container: "deepflow-grafana-init-grafana-ds-dh"}
	t.GrafanaInitPlugins = Component{Key: "grafana-init-plugins", Service: "deepflow-grafana-init-custom-plugins", Container: "deepflow-grafana-init-custom-plugins"}
	t.Agent = Component{Key: "agent", Service: "deepflow-agent", Container: "deepflow-agent",
		Listeners: []Listener{{Name: "liveness", Port: AgentLivenessPort, HostPort: AgentLivenessPort, Bind: anyAddr}}}

	if err := t.checkPorts(); err != nil {
		return nil, err
	}
	return t, nil
}

// checkPorts refuses two listeners on one node port. Under host networking
// every listener binds the node; under bridge only published ones do.
func (t *Topology) checkPorts() error {
	seen := map[int]string{}
	var clashes []string
	for _, hp := range t.HostPorts() {
		name := fmt.Sprintf("%s (%s)", hp.Component, hp.Listener)
		if prev, ok := seen[hp.Port]; ok {
			clashes = append(clashes, fmt.Sprintf("%s and %s both bind node port %d", prev, name, hp.Port))
			continue
		}
		seen[hp.Port] = name
	}
	if len(clashes) > 0 {
		return fmt.Errorf("%w: %s", ErrTopology, strings.Join(clashes, "; "))
	}
	return nil
}
