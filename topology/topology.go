// Package topology is the single source of wiring facts: which component
// listens on which port and address, how every other component, an agent
// or a browser reaches that listener, and which key of which file names
// it (the consumer table). render prints from it, check reviews against
// it, engine probes and preflights with it, and the API commands dial
// with it. It imports nothing of ours but the settings types.
//
// Resolving and rejecting are two steps: Resolve always returns a
// topology, even for clashing ports, so check can build one from what a
// hand-made directory says; Validate then reports what cannot work.
package topology

import (
	"errors"
	"fmt"
	"net"
	"sort"
	"strconv"
	"strings"

	"github.com/deepflow-compose/deepflow-compose/settings"
)

// Name names a listener. Names are unique across the stack, so a name is
// enough to find a listener and its component.
type Name string

// The stack's listeners.
const (
	Querier     Name = "querier"
	Controller  Name = "controller"
	Profile     Name = "profile"
	GRPC        Name = "grpc"
	Ingester    Name = "ingester"
	TCP         Name = "tcp"
	HTTP        Name = "http"
	Interserver Name = "interserver"
	SQL         Name = "mysql"
	App         Name = "app"
	Web         Name = "web"
	Liveness    Name = "liveness"
)

// Fixed facts of DeepFlow's images: where each process listens when its
// config names no port, and what the bridge profile publishes. Everything
// else derives from these and the settings.
var (
	// builtin is each listener's port when nothing sets it: the port
	// DeepFlow's images use, or the program's own fallback.
	builtin = map[Name]int{
		Querier: 20416, Controller: 20417, Profile: 20419, GRPC: 20035, Ingester: 20033,
		App: 20418, Web: 3000, SQL: 3306, TCP: 9000, HTTP: 8123, Interserver: 9009,
		Liveness: 39090,
	}
	// bridgePublish is the node port the bridge profile publishes each
	// server listener on; the others are published on their own port.
	bridgePublish = map[Name]int{Controller: 30417, GRPC: 30035, Ingester: 30033}
)

// AgentBuiltin is the server port an agent dials when its files name
// none: the node ports DeepFlow's Kubernetes and bridge deployments
// publish.
func AgentBuiltin(n Name) int { return bridgePublish[n] }

// Builtin is the port a listener uses when no file sets it.
func Builtin(n Name) int { return builtin[n] }

// BridgePublished is the node port the bridge profile publishes a listener
// on (its own port when the profile does not move it).
func BridgePublished(n Name) int {
	if p, ok := bridgePublish[n]; ok {
		return p
	}
	return builtin[n]
}

const (
	// CtlDefaultAPIPort is deepflow-ctl's --api-port when none is given.
	CtlDefaultAPIPort = 30417
	// NTPPort is where agents' time queries go.
	NTPPort = 123
	// DefaultNTPHost is DeepFlow's own time source for agents.
	DefaultNTPHost = "ntp.cloud.aliyuncs.com"

	Loopback = "127.0.0.1"
	AnyAddr  = "0.0.0.0"
)

// A Listener is one port a component's process binds.
type Listener struct {
	Name Name
	// Port is where the process listens: inside the container under
	// bridge, on the node under host networking.
	Port int
	// HostPort is the node's port that reaches it: the published port
	// under bridge (0 when not published), Port under host networking.
	HostPort int
	// Bind is the address the process binds.
	Bind string
}

// ProbeKind says what a readiness probe must read back. A TCP connect
// alone proves nothing under bridge networking: docker-proxy accepts on a
// published port whether or not the process inside listens. Every kind
// therefore needs an answer only the process itself can give.
type ProbeKind string

const (
	// ProbeHTTP: GET Path and read an HTTP answer.
	ProbeHTTP ProbeKind = "http"
	// ProbeMySQL: read MySQL's handshake greeting (or its error packet),
	// which the server sends first on every connection.
	ProbeMySQL ProbeKind = "mysql"
	// ProbeHTTP2: send the HTTP/2 preface and read the server's SETTINGS
	// frame, as a gRPC server answers.
	ProbeHTTP2 ProbeKind = "http2"
)

// A Probe says how to tell from outside that a component is ready.
type Probe struct {
	Listener Name
	Kind     ProbeKind
	// Path is the HTTP path to GET (ProbeHTTP only).
	Path string
	// AnyStatus counts any HTTP answer short of a server error as ready:
	// the probe only needs the process to answer.
	AnyStatus bool
	// After names a listener of the same component whose probe must pass
	// before this one is sent at all.
	After Name
}

// A Component is one service of the stack.
type Component struct {
	Key       string // stable identifier: mysql, clickhouse, server, app, grafana
	Label     string // how people name it: MySQL, deepflow-server, …
	Service   string // compose service name, also its host name on the bridge network
	Container string // container_name
	Listeners []Listener
	Probes    []Probe
	// HostNetwork: the component runs on the node's network whatever the
	// stack's network mode (the agent).
	HostNetwork bool
}

// L returns the named listener; asking for one the component does not
// have is a programming error in a template, reported by the template
// engine.
func (c *Component) L(name Name) (Listener, error) {
	for _, l := range c.Listeners {
		if l.Name == name {
			return l, nil
		}
	}
	return Listener{}, fmt.Errorf("component %s has no listener %q", c.Key, name)
}

// Endpoint is a host and port a consumer dials.
type Endpoint struct {
	Host string
	Port int
}

func (e Endpoint) String() string { return net.JoinHostPort(e.Host, strconv.Itoa(e.Port)) }

// URL is the plain-HTTP URL of the endpoint.
func (e Endpoint) URL() string { return "http://" + e.String() }

// Spec is what a topology is resolved from: the settings a render starts
// with, or what check read in a directory.
type Spec struct {
	Network settings.Network
	NodeIP  string
	// Ports sets listeners' ports; a listener not named uses Builtin.
	Ports map[Name]int
	// Published sets a listener's node port under bridge; a listener not
	// named uses BridgePublished when the profile publishes it.
	Published map[Name]int
	// ExposeMySQL and ExposeClickHouse: the datastore listens beyond
	// loopback under host networking, and is published under bridge.
	ExposeMySQL, ExposeClickHouse bool
	// AgentController and AgentIngester override the ports agents dial
	// (0: what the network mode exposes), e.g. behind a load balancer.
	AgentController, AgentIngester int
	// AgentOnServer: the stack runs an agent of its own, on the node's
	// network.
	AgentOnServer bool
}

// SpecFor is the spec of a render's settings.
func SpecFor(s *settings.Settings) Spec {
	sp := Spec{Network: s.Network, NodeIP: s.NodeIP,
		Ports: map[Name]int{SQL: s.MySQL.Port, TCP: s.ClickHouse.TCPPort, HTTP: s.ClickHouse.HTTPPort,
			Interserver: s.ClickHouse.InterserverPort},
		Published:   map[Name]int{Web: s.Grafana.Port},
		ExposeMySQL: s.Expose.Datastores, ExposeClickHouse: s.Expose.Datastores,
		AgentController: s.Agent.ControllerPort, AgentIngester: s.Agent.IngesterPort,
		AgentOnServer: s.Agent.OnServer}
	if s.Network == settings.Host {
		// No port mapping under host networking: Grafana itself binds
		// the port browsers use.
		sp.Ports[Web] = s.Grafana.Port
	}
	return sp
}

// settingKeys names the setting that moves each listener's node port, as
// SpecFor reads it. The server's and the app's ports are not settings: they
// are fixed by DeepFlow's images and the agents' files.
var settingKeys = map[Name]string{
	SQL: "mysql.port", TCP: "clickhouse.tcpPort", HTTP: "clickhouse.httpPort",
	Interserver: "clickhouse.interserverPort", Web: "grafana.port",
}

// SettingKey is the dotted setting (for --set) that moves the listener's
// node port; false when no setting does.
func SettingKey(n Name) (string, bool) {
	k, ok := settingKeys[n]
	return k, ok
}

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

	agentController, agentIngester int
	// AgentOnServer: Agent is one of the stack's services.
	AgentOnServer bool
}

// Resolve builds the topology of a spec. It is pure and never fails:
// Validate reports what cannot work.
func Resolve(sp Spec) *Topology {
	t := &Topology{Network: sp.Network, NodeIP: sp.NodeIP, AgentOnServer: sp.AgentOnServer,
		agentController: sp.AgentController, agentIngester: sp.AgentIngester}
	host := sp.Network == settings.Host
	port := func(n Name) int {
		if p, ok := sp.Ports[n]; ok && p != 0 {
			return p
		}
		return builtin[n]
	}
	// l is a listener of the server, app or Grafana: always reachable
	// from outside, on its published port under bridge.
	l := func(n Name) Listener {
		p := port(n)
		hp := p
		if !host {
			hp = BridgePublished(n)
			if pp, ok := sp.Published[n]; ok && pp != 0 {
				hp = pp
			}
		}
		return Listener{Name: n, Port: p, HostPort: hp, Bind: AnyAddr}
	}
	// ds is a datastore's listener: on loopback under host networking
	// unless exposed, published under bridge only when exposed.
	ds := func(n Name, expose, replication bool) Listener {
		p := port(n)
		bind, hp := AnyAddr, 0
		if host {
			hp = p
			if !expose {
				bind = Loopback
			}
		} else if expose && !replication {
			hp = p
		}
		return Listener{Name: n, Port: p, HostPort: hp, Bind: bind}
	}

	t.MySQL = Component{Key: "mysql", Label: "MySQL", Service: "mysql", Container: "deepflow-mysql",
		Listeners: []Listener{ds(SQL, sp.ExposeMySQL, false)},
		Probes:    []Probe{{Listener: SQL, Kind: ProbeMySQL}}}
	t.ClickHouse = Component{Key: "clickhouse", Label: "ClickHouse", Service: "clickhouse", Container: "deepflow-clickhouse",
		Listeners: []Listener{
			ds(TCP, sp.ExposeClickHouse, false),
			ds(HTTP, sp.ExposeClickHouse, false),
			// Replication traffic stays on the node: a single replica needs no peers.
			ds(Interserver, sp.ExposeClickHouse, true),
		},
		Probes: []Probe{{Listener: HTTP, Kind: ProbeHTTP, Path: "/ping"}}}
	t.Server = Component{Key: "server", Label: "deepflow-server", Service: "deepflow-server", Container: "deepflow-server",
		Listeners: []Listener{l(Querier), l(Profile), l(Controller), l(GRPC), l(Ingester)},
		// The controller's HTTP port opens before its routes are
		// registered, and requests in that window break later calls; the
		// gRPC port opens right after the routes, so it goes first.
		Probes: []Probe{
			{Listener: GRPC, Kind: ProbeHTTP2},
			{Listener: Controller, Kind: ProbeHTTP, Path: "/v1/health/", After: GRPC},
			// The querier opens once ClickHouse answers: any answer will do.
			{Listener: Querier, Kind: ProbeHTTP, Path: "/api/echo", AnyStatus: true},
		}}
	t.App = Component{Key: "app", Label: "deepflow-app", Service: "deepflow-app", Container: "deepflow-app",
		Listeners: []Listener{l(App)},
		Probes:    []Probe{{Listener: App, Kind: ProbeHTTP, Path: "/", AnyStatus: true}}}
	t.Grafana = Component{Key: "grafana", Label: "Grafana", Service: "deepflow-grafana", Container: "deepflow-grafana",
		Listeners: []Listener{l(Web)},
		Probes:    []Probe{{Listener: Web, Kind: ProbeHTTP, Path: "/api/health"}}}
	t.GrafanaInitWorkdir = Component{Key: "grafana-init-workdir", Service: "deepflow-grafana-init-worksdir", Container: "deepflow-grafana-init-worksdir"}
	t.GrafanaInitDsDh = Component{Key: "grafana-init-ds-dh", Service: "deepflow-grafana-init-grafana-ds-dh", Container: "deepflow-grafana-init-grafana-ds-dh"}
	t.GrafanaInitPlugins = Component{Key: "grafana-init-plugins", Service: "deepflow-grafana-init-custom-plugins", Container: "deepflow-grafana-init-custom-plugins"}
	lv := port(Liveness)
	t.Agent = Component{Key: "agent", Label: "deepflow-agent", Service: "deepflow-agent", Container: "deepflow-agent",
		Listeners: []Listener{{Name: Liveness, Port: lv, HostPort: lv, Bind: AnyAddr}},
		// The agent answers HTTP on its liveness-probe-port.
		Probes: []Probe{{Listener: Liveness, Kind: ProbeHTTP, Path: "/", AnyStatus: true}}, HostNetwork: true}
	return t
}

// Components lists the long-running services of the stack, in start order:
// the agent last, when the stack runs one.
func (t *Topology) Components() []*Component {
	cs := []*Component{&t.MySQL, &t.ClickHouse, &t.Server, &t.App, &t.Grafana}
	if t.AgentOnServer {
		cs = append(cs, &t.Agent)
	}
	return cs
}

// Services lists every service of the main compose file: the long-running
// ones and Grafana's init containers.
func (t *Topology) Services() []*Component {
	return append(t.Components(), &t.GrafanaInitWorkdir, &t.GrafanaInitDsDh, &t.GrafanaInitPlugins)
}

// Owner returns the component that has the listener.
func (t *Topology) Owner(n Name) (*Component, Listener, error) {
	for _, c := range []*Component{&t.MySQL, &t.ClickHouse, &t.Server, &t.App, &t.Grafana, &t.Agent} {
		if l, err := c.L(n); err == nil {
			return c, l, nil
		}
	}
	return nil, Listener{}, fmt.Errorf("no component has a listener %q", n)
}

// Listener returns a listener by name.
func (t *Topology) Listener(n Name) (Listener, error) {
	_, l, err := t.Owner(n)
	return l, err
}

// Internal is how one service of the stack reaches another's listener.
func (t *Topology) Internal(n Name) (Endpoint, error) {
	c, l, err := t.Owner(n)
	if err != nil {
		return Endpoint{}, err
	}
	if t.Network == settings.Bridge {
		return Endpoint{Host: c.Service, Port: l.Port}, nil
	}
	if l.Bind == Loopback {
		return Endpoint{Host: Loopback, Port: l.Port}, nil
	}
	return Endpoint{Host: t.NodeIP, Port: l.Port}, nil
}

// External is how anything outside the stack (deepflow-ctl, a browser, the
// API commands) reaches a listener: the node IP and the node's port.
func (t *Topology) External(n Name) (Endpoint, error) {
	c, l, err := t.Owner(n)
	if err != nil {
		return Endpoint{}, err
	}
	if l.HostPort == 0 {
		return Endpoint{}, fmt.Errorf("%s %s is not reachable from outside the stack", c.Key, n)
	}
	return Endpoint{Host: t.NodeIP, Port: l.HostPort}, nil
}

// Self is how a component reaches its own listener (ClickHouse's cluster
// definition points at itself).
func (t *Topology) Self(n Name) (Endpoint, error) {
	l, err := t.Listener(n)
	if err != nil {
		return Endpoint{}, err
	}
	return Endpoint{Host: Loopback, Port: l.Port}, nil
}

// ForAgent is how an agent on a monitored host reaches a listener: from
// outside, unless the settings route agents elsewhere (a load balancer).
func (t *Topology) ForAgent(n Name) (Endpoint, error) {
	e, err := t.External(n)
	if err != nil {
		return e, err
	}
	switch {
	case n == GRPC && t.agentController != 0:
		e.Port = t.agentController
	case n == Ingester && t.agentIngester != 0:
		e.Port = t.agentIngester
	}
	return e, nil
}

// Dial resolves how a consumer reaches its listener.
func (t *Topology) Dial(c Consumer) (Endpoint, error) {
	switch c.Via {
	case Internal:
		return t.Internal(c.To)
	case External:
		return t.External(c.To)
	case Self:
		return t.Self(c.To)
	case Agent:
		return t.ForAgent(c.To)
	}
	return Endpoint{}, fmt.Errorf("consumer %s: unknown address kind %q", c.ID, c.Via)
}

// AgentPorts are the server ports an agent uses, for this network mode.
type AgentPorts struct {
	Controller int // controller-port / proxy_controller_port (gRPC)
	Ingester   int // ingester_port
	API        int // deepflow-ctl --api-port
}

// AgentPorts are the node ports agents and deepflow-ctl use, before any
// load-balancer override.
func (t *Topology) AgentPorts() AgentPorts {
	hp := func(n Name) int {
		l, _ := t.Server.L(n)
		return l.HostPort
	}
	return AgentPorts{Controller: hp(GRPC), Ingester: hp(Ingester), API: hp(Controller)}
}

// HostPort is one port the deployment binds on the node.
type HostPort struct {
	Port      int
	Bind      string
	Component string
	Listener  Name
}

// HostPorts lists every port the stack binds on the node, sorted.
func (t *Topology) HostPorts() []HostPort {
	var out []HostPort
	for _, c := range t.Components() {
		for _, l := range c.Listeners {
			if l.HostPort == 0 {
				continue
			}
			bind := AnyAddr
			if t.Network == settings.Host {
				bind = l.Bind
			}
			out = append(out, HostPort{Port: l.HostPort, Bind: bind, Component: c.Key, Listener: l.Name})
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Port < out[j].Port })
	return out
}

// Publish lists a component's "host:container" port mappings under bridge.
func (c Component) Publish() []string {
	if c.HostNetwork {
		return nil // nothing to publish on the node's own network
	}
	var out []string
	for _, l := range c.Listeners {
		if l.HostPort != 0 {
			out = append(out, strconv.Itoa(l.HostPort)+":"+strconv.Itoa(l.Port))
		}
	}
	return out
}

// ErrTopology marks wiring that cannot work.
var ErrTopology = errors.New("invalid topology")

// A Clash is two listeners on one port of one network namespace: the
// node's, or (Container set) one container's under bridge.
type Clash struct {
	Port        int
	First, Then HostPort
	Container   string
}

func (c Clash) Error() string {
	if c.Container != "" {
		return fmt.Sprintf("%s (%s) and %s (%s) both listen on port %d inside the %s container",
			c.First.Component, c.First.Listener, c.Then.Component, c.Then.Listener, c.Port, c.Container)
	}
	return fmt.Sprintf("%s (%s) and %s (%s) both bind node port %d",
		c.First.Component, c.First.Listener, c.Then.Component, c.Then.Listener, c.Port)
}

// Clashes lists pairs of listeners on one port of one network namespace.
// Under host networking every listener binds the node; under bridge only
// published ones do, and each container is a namespace of its own.
func (t *Topology) Clashes() []Clash {
	seen := map[int]HostPort{}
	var out []Clash
	for _, hp := range t.HostPorts() {
		if prev, ok := seen[hp.Port]; ok {
			out = append(out, Clash{Port: hp.Port, First: prev, Then: hp})
			continue
		}
		seen[hp.Port] = hp
	}
	if t.Network == settings.Host {
		return out // one namespace, covered above
	}
	for _, c := range t.Components() {
		inside := map[int]HostPort{}
		for _, l := range c.Listeners {
			hp := HostPort{Port: l.Port, Bind: l.Bind, Component: c.Key, Listener: l.Name}
			if prev, ok := inside[l.Port]; ok {
				out = append(out, Clash{Port: l.Port, First: prev, Then: hp, Container: c.Container})
				continue
			}
			inside[l.Port] = hp
		}
	}
	return out
}

// Validate reports wiring that cannot work, wrapping ErrTopology.
func (t *Topology) Validate() error {
	cl := t.Clashes()
	if len(cl) == 0 {
		return nil
	}
	msgs := make([]string, len(cl))
	for i, c := range cl {
		msgs[i] = c.Error()
	}
	return &Error{Problems: msgs}
}

// Error lists what makes a topology unworkable.
type Error struct{ Problems []string }

func (e *Error) Error() string { return ErrTopology.Error() + ": " + strings.Join(e.Problems, "; ") }
func (e *Error) Unwrap() error { return ErrTopology }
