package check

import (
	"fmt"
	"net/netip"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/deepflow-compose/deepflow-compose/catalog"
	"github.com/deepflow-compose/deepflow-compose/layout"
	"github.com/deepflow-compose/deepflow-compose/settings"
	"github.com/deepflow-compose/deepflow-compose/topology"
)

// model is one directory under review: what was read, what was inferred
// from it, the topology a consistent deployment with those settings has,
// and the findings so far.
type model struct {
	d        *layout.Dir
	findings []Finding

	network settings.Network
	nodeIP  string
	// nodeIPFrom is where nodeIP was read, for messages.
	nodeIPFrom layout.Value
	version    string

	// topo is the expected wiring for what the directory says. Until
	// buildTopology settles the ports it holds DeepFlow's defaults, which
	// is enough for service and container names: those never change.
	topo *topology.Topology
	// src says where each listener's port was read.
	src map[topology.Name]layout.Value
	// dsExposed: MySQL or ClickHouse listens beyond loopback (host) or is
	// published (bridge).
	mysqlExposed, chExposed bool
	// grafanaHostPort is Grafana's port on the node.
	grafanaHostPort int
	// built: buildTopology has settled the ports.
	built bool
	// expect is what a render meant to write, when a render asks.
	expect *Expect
}

func newModel(d *layout.Dir) *model {
	return &model{d: d, topo: topology.Resolve(topology.Spec{Network: settings.Bridge}), src: map[topology.Name]layout.Value{}}
}

func (m *model) add(sev Severity, v layout.Value, file, rule, fix, format string, a ...any) {
	if file == "" {
		file = v.File
	}
	m.findings = append(m.findings, Finding{Severity: sev, File: file, Line: v.Line, Rule: rule,
		Message: fmt.Sprintf(format, a...), Fix: fix})
}

func (m *model) errorf(v layout.Value, rule, fix, format string, a ...any) {
	m.add(Error, v, "", rule, fix, format, a...)
}

func (m *model) warnf(v layout.Value, rule, fix, format string, a ...any) {
	m.add(Warning, v, "", rule, fix, format, a...)
}

// at is a location without a value: a file, and a line when known.
func at(file string, line int) layout.Value { return layout.Value{File: file, Line: line} }

// The review runs in two phases, like Helm's linter: first it reads what
// the directory says (network mode, node IP, version, the ports settled
// into a topology), then each rule, one function per concern, adds its
// findings. A new rule is a method added to rules.
var (
	infer = []func(*model){
		(*model).fileErrors, (*model).inferNetwork, (*model).inferNodeIP, (*model).inferVersion,
		(*model).composeRules, (*model).buildTopology,
	}
	rules = []func(*model){
		(*model).wiringRules, (*model).agentRules, (*model).nodeIPRules, (*model).secretRules,
		(*model).exposureRules, (*model).placeholderRules, (*model).imageRules, (*model).groupConfigRules,
		(*model).processAgentRules, (*model).offlineRules, (*model).expectRules,
	}
)

func (m *model) run() {
	for _, step := range infer {
		step(m)
	}
	for _, rule := range rules {
		rule(m)
	}
}

func (m *model) inferred() Inferred {
	in := Inferred{Network: string(m.network), NodeIP: m.nodeIP, Version: m.version}
	if m.built {
		p := m.topo.AgentPorts()
		in.Ports = Ports{
			MySQL:           m.listener(topology.SQL).Port,
			ClickHouseTCP:   m.listener(topology.TCP).Port,
			ClickHouseHTTP:  m.listener(topology.HTTP).Port,
			Grafana:         m.listener(topology.Web).HostPort,
			AgentController: p.Controller,
			AgentIngester:   p.Ingester,
			CtlAPI:          p.API,
		}
	}
	return in
}

// listener is one of the expected topology's listeners; the names are
// the package's own, so the lookup cannot miss.
func (m *model) listener(n topology.Name) topology.Listener {
	l, _ := m.topo.Listener(n)
	return l
}

func (m *model) fileErrors() {
	d := m.d
	unreadable := map[string]bool{}
	for _, e := range d.Errors {
		if e.Unreadable {
			unreadable[e.File] = true
			m.errorf(at(e.File, 0), RuleUnreadable, "make "+e.File+" a regular, readable file of the layout, or remove it",
				"%s cannot be read: %v", e.File, e.Err)
			continue
		}
		m.errorf(at(e.File, lineOf(e.Err)), "parse", "correct the syntax so "+e.File+" parses",
			"%s cannot be read: %v", e.File, e.Err)
	}
	if d.Compose == nil {
		if !d.Has(topology.Compose) && !unreadable[topology.Compose] {
			m.errorf(at(topology.Compose, 0), "missing-file", "run the check on the directory that holds docker-compose.yaml",
				"there is no %s here, so nothing says how the stack runs", topology.Compose)
		}
		return
	}
	for _, c := range []*layout.ComposeFile{d.Compose, d.AgentCompose} {
		for _, w := range c.WarningsOf() {
			m.warnf(at(c.File, 0), "compose-load", "follow compose's advice in "+c.File, "compose warns: %s", w)
		}
		if c != nil && c.LoadErr != nil {
			m.errorf(at(c.File, lineOf(c.LoadErr)), "compose-load", "edit "+c.File+" until `docker compose config` accepts it",
				"compose cannot load this file: %v", c.LoadErr)
		}
	}
}

// service returns the compose service of a component, by service name or,
// when renamed, by container name.
func (m *model) service(c *topology.Component) *layout.Service {
	cf := m.d.Compose
	if s := cf.Service(c.Service); s != nil {
		return s
	}
	if cf == nil {
		return nil
	}
	for _, s := range cf.Services {
		if s.Container.Val == c.Container {
			return s
		}
	}
	return nil
}

func (m *model) inferNetwork() {
	m.network = settings.Bridge
	if s := m.service(&m.topo.Server); s != nil {
		if s.NetworkMode.Val == "host" {
			m.network = settings.Host
		}
		return
	}
	host, other := 0, 0
	for _, c := range m.topo.Components() {
		if s := m.service(c); s != nil {
			if s.NetworkMode.Val == "host" {
				host++
			} else {
				other++
			}
		}
	}
	if host > other {
		m.network = settings.Host
		return
	}
	if host == 0 && other == 0 {
		// No compose file to go by: the agent side still says which
		// ports it expects.
		if v, ok := m.d.AgentYAML.Get(agentRow().Port); ok && v.Val == strconv.Itoa(m.listener(topology.GRPC).Port) {
			m.network = settings.Host
		}
	}
}

// agentRow is the consumer row of the agent's own file.
func agentRow() topology.Consumer { return topology.ConsumersOf(topology.AgentYAML, "")[0] }

func isIP(s string) bool {
	a, err := netip.ParseAddr(s)
	return err == nil && a.Zone() == "" && !a.IsUnspecified()
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	a, err := netip.ParseAddr(host)
	return err == nil && a.IsLoopback()
}

// inferNodeIP takes the node IP from .env, the way the stack itself gets
// it, and falls back to the server's environment and the agent files.
func (m *model) inferNodeIP() {
	var cands []layout.Value
	if v, ok := m.d.Env.Get(topology.Vars.NodeIP); ok {
		cands = append(cands, v)
	}
	if s := m.service(&m.topo.Server); s != nil {
		if v, ok := s.Env[topology.ServerNodeIPVar]; ok {
			cands = append(cands, v)
		}
	}
	cands = append(cands, m.agentSideNodeIPs()...)
	for _, v := range cands {
		if isIP(v.Val) && !isLoopback(v.Val) {
			a, _ := netip.ParseAddr(v.Val)
			m.nodeIP, m.nodeIPFrom = a.String(), v
			break
		}
	}
	m.settleNodeIP()
}

// agentSideNodeIPs are the server addresses the agent side names: the
// agent's own file, then the group config's rows.
func (m *model) agentSideNodeIPs() []layout.Value {
	out := m.d.AgentYAML.Strings(agentRow().Host)
	for _, c := range topology.ConsumersOf(topology.GroupConfig, "*") {
		if v, ok := m.d.GroupConfig.Get(c.Host); ok {
			out = append(out, v)
		}
	}
	return out
}

// settleNodeIP reports .env alone when every other file that names the
// node IP (at least two) agrees on another one: .env is then the file
// that changed, and the others are judged against their common value.
func (m *model) settleNodeIP() {
	env, ok := m.d.Env.Get(topology.Vars.NodeIP)
	if !ok || m.nodeIPFrom != env {
		return
	}
	others := m.agentSideNodeIPs()
	if m.network == settings.Host {
		for _, r := range m.wireRefs() {
			if isIP(r.ep.host) && !isLoopback(r.ep.host) && !strings.Contains(r.ep.v.Raw, topology.Vars.NodeIP) {
				others = append(others, layout.Value{File: r.ep.v.File, Line: r.ep.v.Line, Val: r.ep.host})
			}
		}
	}
	if len(others) < 2 {
		return
	}
	var files []string
	seen := map[string]bool{}
	for _, v := range others {
		if v.Val != others[0].Val || !isIP(v.Val) {
			return
		}
		if !seen[v.File] {
			seen[v.File] = true
			files = append(files, v.File)
		}
	}
	if others[0].Val == m.nodeIP {
		return
	}
	sort.Strings(files)
	m.errorf(env, "node-ip", "set NODE_IP_FOR_DEEPFLOW="+others[0].Val+", or re-render with the new node IP so every file changes",
		"NODE_IP_FOR_DEEPFLOW is %s, but %s all use %s", env.Val, joinAnd(files), others[0].Val)
	m.nodeIP, m.nodeIPFrom = others[0].Val, others[0]
}

var versionRE = regexp.MustCompile(`^v?(\d+)\.(\d+)`)

func (m *model) inferVersion() {
	if v, ok := m.d.Env.Get(topology.Vars.Version); ok && versionRE.MatchString(v.Val) {
		m.version = v.Val
		return
	}
	if s := m.service(&m.topo.Server); s != nil {
		if _, tag, _ := splitImage(s.Image.Val); versionRE.MatchString(tag) {
			m.version = tag
		}
	}
}

// catalogLine is the catalog's release line of a version (v7.1 for
// v7.1.8 or 7.1); false when the version names no line the catalog knows.
func catalogLine(version string) (*catalog.Release, bool) {
	mm := versionRE.FindStringSubmatch(version)
	if mm == nil {
		return nil, false
	}
	r, err := catalog.Lookup("v" + mm[1] + "." + mm[2])
	return r, err == nil
}

// legacyGroupConfig reports whether the version uses v6.5's group-config
// layout; ok is false when the version is unknown.
func (m *model) legacyGroupConfig() (legacy, ok bool) {
	mm := versionRE.FindStringSubmatch(m.version)
	if mm == nil {
		return false, false
	}
	// The catalog knows each release line's format; past it, v6.6 is
	// where the sectioned layout began.
	if r, ok := catalogLine(m.version); ok && r.GroupConfigFormat != "" {
		return r.GroupConfigFormat == "legacy", true
	}
	major, _ := strconv.Atoi(mm[1])
	minor, _ := strconv.Atoi(mm[2])
	return major < 6 || (major == 6 && minor < 6), true
}

func atoi(s string) (int, bool) {
	n, err := strconv.Atoi(strings.TrimSpace(s))
	return n, err == nil && n > 0 && n < 65536
}

// portClaim is one file's statement of a listener's port.
type portClaim struct {
	v    layout.Value
	port int
	what string // the key as a person would name it, for messages
}

// settle decides a listener's port: what the listener's own file says,
// unless every one of at least two consumers agrees on another value, in
// which case the listener's file is the odd one out and is reported
// alone. Consumers that disagree with the settled port are reported.
func (m *model) settle(name, component string, listener portClaim, def int, consumers []portClaim) int {
	port := def
	if listener.v.Present() {
		port = listener.port
	}
	var agreeing []portClaim
	for _, c := range consumers {
		if c.v.Present() {
			agreeing = append(agreeing, c)
		}
	}
	if listener.v.Present() && len(agreeing) >= 2 {
		all := true
		for _, c := range agreeing {
			if c.port != agreeing[0].port {
				all = false
			}
		}
		if all && agreeing[0].port != port {
			var who []string
			for _, c := range agreeing {
				who = append(who, c.what)
			}
			m.errorf(listener.v, "port-mismatch", fmt.Sprintf("set %s to %d", listener.what, agreeing[0].port),
				"%s listens on port %d here, but %s all use %d", name, port, joinAnd(who), agreeing[0].port)
			return agreeing[0].port
		}
	}
	where := "DeepFlow's default"
	if listener.v.Present() {
		where = fmt.Sprintf("%s:%d", listener.v.File, listener.v.Line)
	}
	for _, c := range agreeing {
		if c.port != port {
			m.errorf(c.v, "port-mismatch", fmt.Sprintf("set %s to %d", c.what, port),
				"%s uses port %d for %s, but %s listens on %d (%s)", c.what, c.port, name, component, port, where)
		}
	}
	return port
}

func joinAnd(s []string) string {
	switch len(s) {
	case 0:
		return ""
	case 1:
		return s[0]
	}
	return strings.Join(s[:len(s)-1], ", ") + " and " + s[len(s)-1]
}

// endpoint is a host and port a consumer names.
type endpoint struct {
	v          layout.Value // where it is written
	host, port string
	hasPort    bool
	what       string // the key, for messages
}

var urlRE = regexp.MustCompile(`^(?:[a-zA-Z][a-zA-Z0-9+.-]*://)?(\[[^\]]*\]|[^:/\[\]]*)(:([^/]*))?(?:/.*)?$`)

// splitHostPort reads "host", "host:port" or "scheme://host:port/path".
func splitHostPort(s string) (host, port string, hasPort bool) {
	mm := urlRE.FindStringSubmatch(strings.TrimSpace(s))
	if mm == nil {
		return s, "", false
	}
	return strings.Trim(mm[1], "[]"), mm[3], mm[2] != ""
}

// wireRef is one address a config file of the server stack names.
type wireRef struct {
	ep       endpoint
	listener topology.Name
	// hostOnly: the consumer takes a host and a fixed port.
	hostOnly bool
}

// wiredFiles are the server stack's files whose consumer rows wiringRules
// judges; the agent side's rows are agentRules', against the ports agents
// see, and ClickHouse's replica is judged with its port.
var wiredFiles = []string{topology.ServerYAML, topology.AppYAML, topology.GrafanaINI, topology.Compose}

// wireRefs reads every consumer row of the wired files as the directory
// writes it.
func (m *model) wireRefs() []wireRef {
	d := m.d
	var refs []wireRef
	for _, file := range wiredFiles {
		for _, c := range topology.ConsumersOf(file, "") {
			switch file {
			case topology.ServerYAML, topology.AppYAML:
				f := d.ServerYAML
				if file == topology.AppYAML {
					f = d.AppYAML
				}
				if h, ok := f.Get(c.Host); ok {
					refs = append(refs, wireRef{ep: endpoint{v: h, host: h.Val, what: c.Host}, listener: c.To, hostOnly: true})
				}
				if p, ok := f.Get(c.Port); ok {
					refs = append(refs, wireRef{ep: endpoint{v: p, port: p.Val, hasPort: true, what: c.Port}, listener: c.To})
				}
			case topology.GrafanaINI:
				section, key, _ := strings.Cut(c.Host, ".")
				v, ok := d.GrafanaINI.Get(section, key)
				if !ok || !m.grafanaUsesMySQL() {
					continue
				}
				v.Val = m.grafanaExpand(v)
				h, p, hp := splitHostPort(v.Val)
				refs = append(refs, wireRef{ep: endpoint{v: v, host: h, port: p, hasPort: hp, what: c.What}, listener: c.To})
			case topology.Compose:
				in := m.topo.Component(c.In)
				v, ok := envOf(m.service(in), c.Host)
				if !ok {
					continue
				}
				h, p, hp := splitHostPort(v.Val)
				hostOnly := c.Form == topology.FormHost
				if hostOnly {
					p, hp = "", false
				}
				refs = append(refs, wireRef{ep: endpoint{v: v, host: h, port: p, hasPort: hp, what: in.Label + "'s " + c.Host}, listener: c.To, hostOnly: hostOnly})
			}
		}
	}
	return refs
}

func (m *model) grafanaUsesMySQL() bool {
	v, ok := m.d.GrafanaINI.Get("database", "type")
	return !ok || v.Val == "mysql"
}

var grafanaRefRE = regexp.MustCompile(`\$__env\{([^}]*)\}|\$\{([^}]*)\}`)

// grafanaExpand resolves Grafana's $__env{X} and ${X} against Grafana's
// container environment, as Grafana does when it reads grafana.ini.
func (m *model) grafanaExpand(v layout.Value) string {
	env := m.serviceEnv(&m.topo.Grafana)
	return grafanaRefRE.ReplaceAllStringFunc(v.Raw, func(s string) string {
		mm := grafanaRefRE.FindStringSubmatch(s)
		name := mm[1] + mm[2]
		return env[name]
	})
}

// grafanaRefs names the variables a grafana.ini value refers to.
func grafanaRefs(raw string) []string {
	var out []string
	for _, mm := range grafanaRefRE.FindAllStringSubmatch(raw, -1) {
		out = append(out, mm[1]+mm[2])
	}
	return out
}

// serviceEnv is a component's container environment after interpolation.
func (m *model) serviceEnv(c *topology.Component) map[string]string {
	env := map[string]string{}
	if s := m.service(c); s != nil {
		for k, v := range s.Env {
			env[k] = v.Val
		}
	}
	return env
}

// buildTopology settles every listener's port from the files that set it
// (topology.Binds) and the files that dial it (topology.Consumers), and
// resolves the expected wiring from what was settled.
func (m *model) buildTopology() {
	d := m.d
	refs := m.wireRefs()
	consumersOf := func(l topology.Name) []portClaim {
		var out []portClaim
		for _, r := range refs {
			if r.listener == l && r.ep.hasPort {
				p, ok := atoi(r.ep.port)
				if !ok {
					m.errorf(r.ep.v, "port-mismatch", "write a port number from 1 to 65535",
						"%s has %q where a port number belongs", r.ep.what, r.ep.port)
					continue
				}
				out = append(out, portClaim{v: r.ep.v, port: p, what: r.ep.what})
			}
		}
		return out
	}
	claims := map[topology.Name]portClaim{}
	for _, b := range topology.Binds {
		if !b.Addr && b.File != topology.GrafanaINI {
			claims[b.To] = m.claim(b)
		}
	}

	mysqlL := claims[topology.SQL]
	if c, ok := d.MyCnf.Get("client", "port"); ok && mysqlL.v.Present() && c.Val != mysqlL.v.Val {
		m.warnf(c, "port-mismatch", "set port="+mysqlL.v.Val+" in [client] too",
			"[client] port is %s but [mysqld] port is %s; the mysql client inside the container dials the wrong port", c.Val, mysqlL.v.Val)
	}
	ports := map[topology.Name]int{}
	ports[topology.SQL] = m.settle("MySQL", "MySQL", mysqlL, topology.Builtin(topology.SQL), consumersOf(topology.SQL))
	chTCP := m.settle("ClickHouse's native TCP port", "ClickHouse", claims[topology.TCP], topology.Builtin(topology.TCP), consumersOf(topology.TCP))
	ports[topology.TCP] = chTCP
	for _, c := range topology.ConsumersOf(topology.ClickHouseConf, "") {
		if e := d.ClickHouseConf.Find(c.Port); e != nil {
			v := d.ClickHouseConf.Value(e, c.Port)
			if p, ok := atoi(v.Val); ok && p != chTCP {
				m.errorf(v, "port-mismatch", fmt.Sprintf("set <port>%d</port> in the df_cluster replica", chTCP),
					"the df_cluster replica dials ClickHouse itself on %d, but ClickHouse listens on %d", p, chTCP)
			}
		}
	}
	for _, n := range []topology.Name{topology.HTTP, topology.Interserver, topology.GRPC} {
		if c := claims[n]; c.v.Present() {
			ports[n] = c.port
		}
	}
	ports[topology.Querier] = m.settle("deepflow-server's querier", "deepflow-server", claims[topology.Querier], 0, consumersOf(topology.Querier))
	ports[topology.Controller] = m.settle("deepflow-server's controller", "deepflow-server", claims[topology.Controller], 0, consumersOf(topology.Controller))
	ports[topology.App] = m.settle("deepflow-app", "deepflow-app", claims[topology.App], 0, consumersOf(topology.App))

	// Grafana: its own port inside, and on the node.
	grafana := topology.Builtin(topology.Web)
	if v, ok := d.GrafanaINI.Get("server", "http_port"); ok {
		if p, good := atoi(m.grafanaExpand(v)); good {
			grafana = p
		}
	}
	if v, ok := envOf(m.service(&m.topo.Grafana), topology.GrafanaPortVar); ok {
		if p, good := atoi(v.Val); good {
			grafana = p
		}
	}
	m.grafanaHostPort = grafana
	if m.network == settings.Bridge {
		m.grafanaHostPort = 0
		if s := m.service(&m.topo.Grafana); s != nil {
			for _, p := range s.Ports {
				if int(p.Target) == grafana {
					if hp, ok := atoi(p.Published); ok {
						m.grafanaHostPort = hp
					}
				}
			}
		}
		if m.grafanaHostPort == 0 {
			m.grafanaHostPort = grafana
		}
	} else {
		// Under host networking Grafana binds the node port itself.
		ports[topology.Web] = grafana
	}

	// Which datastores are reachable beyond the stack.
	if m.network == settings.Host {
		m.mysqlExposed = !isLoopback(m.mysqlBind().Val)
		m.chExposed = false
		for _, h := range m.clickhouseBinds() {
			if !isLoopback(h.Val) {
				m.chExposed = true
			}
		}
	} else {
		m.mysqlExposed = published(m.service(&m.topo.MySQL))
		m.chExposed = published(m.service(&m.topo.ClickHouse))
	}

	// Where each port was read, for findings about it.
	for _, b := range topology.Binds {
		if b.Addr {
			continue
		}
		switch b.File {
		case topology.ServerYAML:
			m.src[b.To] = m.portSrc(d.ServerYAML, b.Key)
		case topology.AppYAML:
			m.src[b.To] = m.portSrc(d.AppYAML, b.Key)
		case topology.GrafanaINI:
			section, key, _ := strings.Cut(b.Key, ".")
			gv, _ := d.GrafanaINI.Get(section, key)
			if !gv.Present() {
				gv = at(topology.GrafanaINI, 0)
			}
			m.src[b.To] = gv
		default:
			m.src[b.To] = claims[b.To].v
		}
	}
	m.src[topology.Ingester] = at(topology.ServerYAML, 0)
	m.src[topology.Profile] = at(topology.ServerYAML, 0)

	sp := topology.Spec{Network: m.network, NodeIP: m.nodeIP, Ports: ports,
		Published:   map[topology.Name]int{topology.Web: m.grafanaHostPort},
		ExposeMySQL: m.mysqlExposed, ExposeClickHouse: m.chExposed,
		AgentOnServer: m.service(&m.topo.Agent) != nil}
	if s := m.settings(); s != nil {
		// A render may route agents through a load balancer.
		sp.AgentController, sp.AgentIngester = s.Agent.ControllerPort, s.Agent.IngesterPort
	}
	m.topo = topology.Resolve(sp)
	m.built = true
	m.clashRules()
}

// claim reads the port a Bind row sets, as the directory writes it.
func (m *model) claim(b topology.Bind) portClaim {
	d := m.d
	var v layout.Value
	var ok bool
	what := b.What
	switch b.File {
	case topology.MyCnf:
		section, key, _ := strings.Cut(b.Key, ".")
		v, ok = d.MyCnf.Get(section, key)
	case topology.ClickHouseConf:
		e := d.ClickHouseConf.Find(b.Key)
		if e == nil {
			return portClaim{}
		}
		v, ok, what = d.ClickHouseConf.Value(e, b.Key), true, "<"+b.Key+"> in "+b.File
	case topology.ServerYAML:
		v, ok = d.ServerYAML.Get(b.Key)
	case topology.AppYAML:
		v, ok = d.AppYAML.Get(b.Key)
	}
	if what == "" {
		what = b.Key + " in " + b.File
	}
	if !ok {
		return portClaim{}
	}
	p, good := atoi(v.Val)
	if !good {
		m.errorf(v, "port-mismatch", "write a port number from 1 to 65535", "%s is %q, not a port number", what, v.Val)
		return portClaim{}
	}
	return portClaim{v: v, port: p, what: what}
}

func (m *model) portSrc(f *layout.YAMLFile, key string) layout.Value {
	if v, ok := f.Get(key); ok {
		return v
	}
	if f != nil {
		return at(f.File, 0)
	}
	return layout.Value{}
}

func published(s *layout.Service) bool {
	if s == nil {
		return false
	}
	for _, p := range s.Ports {
		if p.Published != "" {
			return true
		}
	}
	return false
}

// envOf returns one variable of a service's environment.
func envOf(s *layout.Service, key string) (layout.Value, bool) {
	if s == nil {
		return layout.Value{}, false
	}
	v, ok := s.Env[key]
	return v, ok
}

// mysqlBind is where MySQL listens: my.cnf's bind-address, else MySQL's
// default of every interface.
func (m *model) mysqlBind() layout.Value {
	if v, ok := m.d.MyCnf.Get("mysqld", "bind-address"); ok {
		return v
	}
	return layout.Value{File: topology.MyCnf, Line: m.d.MyCnf.SectionLine("mysqld"), Key: "[mysqld] bind-address", Val: "*"}
}

// clickhouseBinds are ClickHouse's listen_host entries. Without any, the
// image's own config.d listens on every interface.
func (m *model) clickhouseBinds() []layout.Value {
	var out []layout.Value
	for _, e := range m.d.ClickHouseConf.FindAll("listen_host") {
		out = append(out, m.d.ClickHouseConf.Value(e, "listen_host"))
	}
	if len(out) == 0 && m.d.ClickHouseConf != nil {
		out = append(out, layout.Value{File: topology.ClickHouseConf, Line: m.d.ClickHouseConf.Root.Line, Key: "<listen_host>", Val: "0.0.0.0"})
	}
	return out
}
