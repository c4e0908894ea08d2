package check

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/deepflow-compose/deepflow-compose/layout"
	"github.com/deepflow-compose/deepflow-compose/settings"
	"github.com/deepflow-compose/deepflow-compose/topology"
)

// composeRules: services present, one network mode, nothing bridge-only
// left under host networking.
func (m *model) composeRules() {
	cf := m.d.Compose
	if cf == nil || cf.Root == nil {
		return
	}
	server := m.service(&m.topo.Server)
	for _, c := range m.topo.Components() {
		s := m.service(c)
		if s == nil {
			m.errorf(at(cf.File, cf.ServicesLine), "missing-service", fmt.Sprintf("add the %s service from DeepFlow's package", c.Service),
				"there is no %s service; the stack needs it", c.Service)
			continue
		}
		if server == nil || s == server || c.HostNetwork {
			continue
		}
		host := s.NetworkMode.Val == "host"
		switch {
		case m.network == settings.Host && !host:
			m.errorf(at(cf.File, s.Line), "network-mode", fmt.Sprintf("add network_mode: host to services.%s and remove its networks, links and ports", s.Name),
				"services.%s is on a compose network while deepflow-server uses network_mode: host; the two cannot reach each other by name, and only published ports connect them", s.Name)
		case m.network == settings.Bridge && host:
			m.errorf(s.NetworkMode, "network-mode", fmt.Sprintf("remove network_mode: host from services.%s, or convert every service to host networking", s.Name),
				"services.%s uses network_mode: host while deepflow-server is on the compose network; service names do not resolve from the host network", s.Name)
		}
	}
	for _, s := range cf.Services {
		if s.NetworkMode.Val != "host" {
			continue
		}
		for _, k := range []struct {
			v    layout.Value
			what string
		}{{s.PortsKey, "ports"}, {s.NetworksKey, "networks"}, {s.LinksKey, "links"}} {
			if k.v.Present() {
				m.errorf(k.v, "bridge-only", fmt.Sprintf("delete services.%s.%s", s.Name, k.what),
					"services.%s.%s has no effect under network_mode: host: compose accepts it and the engine drops it silently", s.Name, k.what)
			}
		}
	}
}

// clashRules: two listeners on one node port (under host networking) or
// in one container (under bridge), as topology.Clashes finds them.
func (m *model) clashRules() {
	for _, c := range m.topo.Clashes() {
		v := m.src[c.Then.Listener]
		if v.File == "" {
			v = m.src[c.First.Listener]
		}
		if m.network == settings.Host {
			first, then := m.topo.Component(c.First.Component).Label, m.topo.Component(c.Then.Component).Label
			fix := fmt.Sprintf("give %s's %s listener a port nothing else on this host uses", then, c.Then.Listener)
			if v.Key != "" {
				fix = fmt.Sprintf("change %s in %s to a port nothing else on this host uses, and every file that dials it", v.Key, v.File)
			}
			m.errorf(v, "port-clash", fix,
				"%s's %s listener and %s's %s listener both bind node port %d under host networking; whichever starts second fails",
				first, c.First.Listener, then, c.Then.Listener, c.Port)
			continue
		}
		if c.Container == "" {
			continue // published ports: the compose file's, below
		}
		label := m.topo.Component(c.Then.Component).Label
		fix := fmt.Sprintf("give %s's %s and %s listeners different ports", label, c.First.Listener, c.Then.Listener)
		if v.Key != "" {
			fix = fmt.Sprintf("change %s in %s to a port %s does not already listen on, and every file that dials it", v.Key, v.File, label)
		}
		m.errorf(v, "port-clash", fix,
			"%s's %s and %s listeners both use port %d inside its container (%s); the second cannot bind",
			label, c.First.Listener, c.Then.Listener, c.Port, c.Container)
	}
	if m.network == settings.Host {
		return
	}
	cf := m.d.Compose
	if cf == nil {
		return
	}
	type owner struct {
		svc string
		p   layout.Port
	}
	seen := map[string]owner{}
	for _, s := range cf.Services {
		for _, p := range s.Ports {
			if p.Published == "" {
				continue
			}
			key := p.Published
			if prev, ok := seen[key]; ok {
				m.errorf(p.Value, "port-clash", fmt.Sprintf("publish services.%s on a node port nothing else uses", s.Name),
					"services.%s and services.%s both publish node port %s; the second fails to start", prev.svc, s.Name, p.Published)
				continue
			}
			seen[key] = owner{svc: s.Name, p: p}
		}
	}
}

// stackNames are the host names that only exist on the compose network.
func (m *model) stackNames() map[string]bool {
	out := map[string]bool{}
	for _, c := range m.topo.Services() {
		out[c.Service], out[c.Container] = true, true
	}
	if cf := m.d.Compose; cf != nil {
		for _, s := range cf.Services {
			out[s.Name] = true
			if s.Container.Val != "" {
				out[s.Container.Val] = true
			}
		}
	}
	return out
}

// wiringRules: every host a config file names is one this network mode
// can reach, and bridge mode publishes what agents and browsers dial.
func (m *model) wiringRules() {
	names := m.stackNames()
	grafanaEnv := m.serviceEnv(&m.topo.Grafana)
	for _, r := range m.wireRefs() {
		if strings.HasSuffix(r.ep.what, ".port") {
			continue // ports were settled with the topology
		}
		if r.ep.v.File == topology.GrafanaINI {
			var missing []string
			for _, name := range grafanaRefs(r.ep.v.Raw) {
				if _, ok := grafanaEnv[name]; !ok {
					missing = append(missing, name)
				}
			}
			if len(missing) > 0 {
				m.errorf(r.ep.v, "env-ref", fmt.Sprintf("add %s to services.%s.environment, or write the address itself", strings.Join(missing, ", "), m.topo.Grafana.Service),
					"%s refers to %s, which Grafana's container environment does not set, so Grafana reads an empty value", r.ep.what, strings.Join(missing, ", "))
				continue
			}
		}
		c, l, _ := m.topo.Owner(r.listener)
		want, err := m.topo.Internal(r.listener)
		if err != nil {
			continue
		}
		host := r.ep.host
		if hasPlaceholder(host) {
			continue // reported as a placeholder
		}
		ok := host == want.Host
		if m.network == settings.Bridge {
			ok = ok || host == c.Service || host == c.Container ||
				(m.nodeIP != "" && host == m.nodeIP && l.HostPort != 0)
		} else {
			anyBind := !isLoopback(l.Bind)
			ok = ok || (isLoopback(host) && isLoopback(want.Host)) ||
				(anyBind && (isLoopback(host) || (m.nodeIP == "" && isIP(host))))
		}
		if !ok {
			fixHost := want.Host
			if fixHost == "" {
				fixHost = "the node's IP"
			}
			fix := fmt.Sprintf("set %s to %s", r.ep.what, fixHost)
			if r.ep.hasPort || strings.Contains(r.ep.what, "URL") || r.ep.what == "[database] host" {
				fix = fmt.Sprintf("set %s to %q", r.ep.what, m.rewriteHost(r.ep.v.Raw, r.ep.host, fixHost))
			}
			label := c.Label
			switch {
			case m.network == settings.Host && names[host]:
				m.errorf(r.ep.v, "service-host", fix,
					"%s names %q, a compose service or container name; under network_mode: host no such name resolves, so %s is unreachable", r.ep.what, host, label)
			case m.network == settings.Host && isLoopback(want.Host):
				m.errorf(r.ep.v, "wrong-host", fix,
					"%s names %s, but %s listens on %s only (%s)", r.ep.what, host, label, l.Bind, m.bindWhere(c))
			default:
				m.errorf(r.ep.v, "wrong-host", fix,
					"%s names %s, but under %s networking %s is reached at %s", r.ep.what, host, m.network, label, want.Host)
			}
		}
	}
	m.publishRules()
}

func (m *model) bindWhere(c *topology.Component) string {
	if c.Key == "mysql" {
		v := m.mysqlBind()
		return fmt.Sprintf("%s:%d", v.File, v.Line)
	}
	b := m.clickhouseBinds()
	if len(b) > 0 {
		return fmt.Sprintf("%s:%d", b[0].File, b[0].Line)
	}
	return topology.ClickHouseConf
}

// rewriteHost replaces the host in a value as written, keeping the rest
// (scheme, port, path) so the fix is the exact new value.
func (m *model) rewriteHost(raw, oldHost, newHost string) string {
	if i := strings.Index(raw, oldHost); i >= 0 && oldHost != "" {
		return raw[:i] + newHost + raw[i+len(oldHost):]
	}
	return newHost
}

// publishRules: under bridge, every port agents, deepflow-ctl and browsers
// dial is published, on the node port the topology gives.
func (m *model) publishRules() {
	if m.network != settings.Bridge || m.d.Compose == nil || m.d.Compose.Root == nil {
		return
	}
	for _, nc := range []*topology.Component{&m.topo.Server, &m.topo.App, &m.topo.Grafana, &m.topo.MySQL, &m.topo.ClickHouse} {
		s := m.service(nc)
		if s == nil {
			continue
		}
		c := nc
		for _, l := range c.Listeners {
			if l.HostPort == 0 {
				continue
			}
			want := fmt.Sprintf("%d:%d", l.HostPort, l.Port)
			var found *layout.Port
			for i := range s.Ports {
				if int(s.Ports[i].Target) == l.Port {
					found = &s.Ports[i]
				}
			}
			switch {
			case found == nil && (c.Key == "mysql" || c.Key == "clickhouse"):
				// Publishing one datastore port is a choice, not a requirement.
			case found == nil:
				loc := s.PortsKey
				if !loc.Present() {
					loc = at(m.d.Compose.File, s.Line)
				}
				m.errorf(loc, "published-port", fmt.Sprintf("add %q to services.%s.ports", want, s.Name),
					"services.%s does not publish its %s port %d; from outside the stack it is expected on node port %d", s.Name, l.Name, l.Port, l.HostPort)
			case found.Published != strconv.Itoa(l.HostPort):
				m.errorf(found.Value, "published-port", fmt.Sprintf("publish it as %q", want),
					"services.%s publishes its %s port %d on node port %s, but agents, deepflow-ctl and the other files expect %d", s.Name, l.Name, l.Port, found.Published, l.HostPort)
			}
		}
		for _, p := range s.Ports {
			known := false
			for _, l := range c.Listeners {
				if int(p.Target) == l.Port {
					known = true
				}
			}
			if !known && p.Target != 0 {
				m.errorf(p.Value, "published-port", fmt.Sprintf("point it at one of %s's ports or delete it", s.Name),
					"services.%s publishes container port %d, where nothing in %s listens", s.Name, p.Target, s.Name)
			}
		}
	}
}

// agentRules: the agent's own file and the group config dial the node IP
// on the ports this network mode exposes.
func (m *model) agentRules() {
	// The server listeners' own ports, or a load balancer's the render
	// routed agents through.
	ctl, _ := m.topo.ForAgent(topology.GRPC)
	ing, _ := m.topo.ForAgent(topology.Ingester)
	mode := "bridge networking (published ports)"
	if m.network == settings.Host {
		mode = "host networking"
	}
	checkIP := func(v layout.Value, what string) {
		if hasPlaceholder(v.Val) || strings.Contains(v.Val, "${") || m.nodeIP == "" {
			return
		}
		if v.Val != m.nodeIP {
			m.errorf(v, "agent-ip", fmt.Sprintf("set %s to %s", what, m.nodeIP),
				"%s is %s, but the node IP is %s (%s:%d)", what, v.Val, m.nodeIP, m.nodeIPFrom.File, m.nodeIPFrom.Line)
		}
	}
	checkPort := func(f *layout.YAMLFile, key, what string, want, def int) {
		if f == nil {
			return
		}
		v, ok := f.Get(key)
		if !ok {
			if want != def {
				m.errorf(at(f.File, 0), "agent-port", fmt.Sprintf("set %s: %d", key, want),
					"%s is not set, so the agent uses its default %d; under %s deepflow-server's %s is on %d", key, def, mode, what, want)
			}
			return
		}
		if p, good := atoi(v.Val); !good || p != want {
			m.errorf(v, "agent-port", fmt.Sprintf("set %s: %d", key, want),
				"%s is %s, but under %s deepflow-server's %s is on %d", key, v.Val, mode, what, want)
		}
	}
	format := "sectioned"
	if m.groupConfigIsLegacy() {
		format = "legacy"
	}
	for _, file := range []*layout.YAMLFile{m.d.AgentYAML, m.d.GroupConfig} {
		if file == nil {
			continue
		}
		for _, c := range topology.ConsumersOf(file.File, format) {
			for _, v := range file.Strings(c.Host) {
				// An empty ingester IP means the controller's.
				if c.To != topology.Ingester || v.Val != "" {
					checkIP(v, c.Host)
				}
			}
			want, what := ctl.Port, "controller (gRPC)"
			if c.To == topology.Ingester {
				want, what = ing.Port, "ingester"
			}
			checkPort(file, c.Port, what, want, topology.AgentBuiltin(c.To))
		}
	}
}

// groupConfigIsLegacy tells v6.5's layout from the sectioned one by the
// document itself.
func (m *model) groupConfigIsLegacy() bool {
	f := m.d.GroupConfig
	return f != nil && (f.Node("vtap_group_id") != nil || f.Node("static_config") != nil)
}

// nodeIPRules: .env and the server's environment name one node IP.
func (m *model) nodeIPRules() {
	v, ok := m.d.Env.Get(topology.Vars.NodeIP)
	if ok && !hasPlaceholder(v.Val) && !isIP(v.Val) {
		m.errorf(v, "node-ip", "set NODE_IP_FOR_DEEPFLOW to this host's IP address, e.g. NODE_IP_FOR_DEEPFLOW=192.0.2.10",
			"NODE_IP_FOR_DEEPFLOW is %q, which is not an IP address", v.Val)
	}
	s := m.service(&m.topo.Server)
	if s == nil {
		return
	}
	e, ok := s.Env[topology.ServerNodeIPVar]
	switch {
	case !ok:
		m.errorf(at(m.d.Compose.File, s.Line), "node-ip", fmt.Sprintf("add K8S_NODE_IP_FOR_DEEPFLOW: ${NODE_IP_FOR_DEEPFLOW} to services.%s.environment", s.Name),
			"services.%s does not set K8S_NODE_IP_FOR_DEEPFLOW, so deepflow-server does not know the node IP", s.Name)
	case e.Val == "" && strings.Contains(e.Raw, topology.Vars.NodeIP):
		m.errorf(e, "node-ip", "set NODE_IP_FOR_DEEPFLOW in .env",
			"K8S_NODE_IP_FOR_DEEPFLOW comes from NODE_IP_FOR_DEEPFLOW, which .env does not set")
	case hasPlaceholder(e.Val) || m.nodeIP == "" || strings.Contains(e.Raw, topology.Vars.NodeIP):
		// It follows .env, which is judged on its own.
	case e.Val != m.nodeIP:
		m.errorf(e, "node-ip", fmt.Sprintf("set K8S_NODE_IP_FOR_DEEPFLOW: %s, or better ${NODE_IP_FOR_DEEPFLOW}", m.nodeIP),
			"deepflow-server's K8S_NODE_IP_FOR_DEEPFLOW is %s, but the node IP is %s (%s:%d)", e.Val, m.nodeIP, m.nodeIPFrom.File, m.nodeIPFrom.Line)
	}
}

// exposureRules: under host networking, datastores on every interface are
// open to the network.
func (m *model) exposureRules() {
	if m.network != settings.Host {
		return
	}
	who := "anyone who can reach this host"
	if m.nodeIP != "" {
		who = "anyone who can reach " + m.nodeIP
	}
	if m.d.MyCnf != nil {
		if b := m.mysqlBind(); !isLoopback(b.Val) {
			port := m.listener(topology.SQL).Port
			m.warnf(b, "exposed-datastore", "set bind-address=127.0.0.1 in [mysqld] and point server.yaml, grafana.ini and MYSQL_URL at 127.0.0.1 (deepflow-compose render does this unless expose.datastores=true)",
				"MySQL listens on every interface (bind-address %s) under host networking: %s can try root's password on port %d", b.Val, who, port)
		}
	}
	for _, b := range m.clickhouseBinds() {
		if !isLoopback(b.Val) {
			m.warnf(b, "exposed-datastore", "set <listen_host>127.0.0.1</listen_host> and point server.yaml and CLICKHOUSE_SERVER at 127.0.0.1 (deepflow-compose render does this unless expose.datastores=true)",
				"ClickHouse listens on %s under host networking: %s can query it on ports %d and %d", b.Val, who,
				m.listener(topology.TCP).Port, m.listener(topology.HTTP).Port)
			break
		}
	}
}

// reach says who can reach a datastore, for the warnings about its
// credentials.
func (m *model) reach(c *topology.Component, exposed bool) string {
	node := "this host"
	if m.nodeIP != "" {
		node = m.nodeIP
	}
	switch {
	case m.network == settings.Host && exposed:
		return "anyone who can reach " + node
	case m.network == settings.Host:
		return "any process on this host"
	case exposed:
		return fmt.Sprintf("anyone who can reach %s (the port is published)", node)
	}
	return "any container on the compose network"
}
