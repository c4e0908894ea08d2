package topology

import "github.com/deepflow-compose/deepflow-compose/agentcfg"

// The files of DeepFlow's package layout, relative to the directory.
const (
	Compose        = "docker-compose.yaml"
	Env            = ".env"
	MyCnf          = "common/config/mysql/my.cnf"
	InitSQL        = "common/config/mysql/init.sql"
	ClickHouseConf = "common/config/clickhouse/config.xml"
	ClickHouseUser = "common/config/clickhouse/users.xml"
	ServerYAML     = "common/config/deepflow-server/server.yaml"
	AppYAML        = "common/config/deepflow-app/app.yaml"
	GrafanaINI     = "common/config/grafana/grafana.ini"
	AgentYAML      = "agent/deepflow-agent.yaml"
	GroupConfig    = "agent/agent-group-config.yaml"
	AgentCompose   = "agent/docker-compose.yaml"
	// Agent files of process agents and Kubernetes process mode.
	AgentUnit             = "agent/deepflow-agent.service"
	AgentDomain           = "agent/domain-agent-sync.yaml"
	AgentWatcherValues    = "agent/values-watcher.yaml"
	AgentClusterRoleRules = "agent/clusterrole-rules.yaml"
	NextSteps             = "NEXT-STEPS.md"
)

// EnvVars names the variables .env defines and the compose file
// interpolates. Secrets reach containers only through these.
type EnvVars struct {
	ProjectName, Version, NodeIP                   string
	MySQLPassword, ClickHousePassword, GrafanaPass string
}

// Vars are the names .env uses.
var Vars = EnvVars{
	ProjectName:   "COMPOSE_PROJECT_NAME",
	Version:       "DEEPFLOW_VERSION",
	NodeIP:        "NODE_IP_FOR_DEEPFLOW",
	MySQLPassword: "MYSQL_ROOT_PASSWORD",
	// Not the image's CLICKHOUSE_PASSWORD: that one makes its entrypoint
	// open the default user to every network.
	ClickHousePassword: "CLICKHOUSE_DEFAULT_PASSWORD",
	GrafanaPass:        "GRAFANA_ADMIN_PASSWORD",
}

// Container environment the stack's images read.
const (
	// ServerNodeIPVar is where deepflow-server learns the node IP.
	ServerNodeIPVar = "K8S_NODE_IP_FOR_DEEPFLOW"
	// GrafanaPortVar overrides grafana.ini's http_port.
	GrafanaPortVar = "GF_SERVER_HTTP_PORT"
)

// Via is the kind of address a consumer uses to reach a listener.
type Via string

const (
	// Internal: one service of the stack to another (service name under
	// bridge, node IP or loopback under host networking).
	Internal Via = "internal"
	// External: from outside the stack, at the node IP and node port.
	External Via = "external"
	// Self: a component to its own listener, over loopback.
	Self Via = "loopback"
	// Agent: an agent on a monitored host; External unless the settings
	// route agents through a load balancer.
	Agent Via = "agent"
)

// Form is how a file writes an address.
type Form string

const (
	// FormSplit: the host and the port under two keys (Host, Port).
	FormSplit Form = "host+port"
	// FormHostPort: "host:port" under Host.
	FormHostPort Form = "host:port"
	// FormURL: "http://host:port" under Host.
	FormURL Form = "url"
	// FormHost: a host under Host; the program fixes the port itself.
	FormHost Form = "host"
	// FormText: printed into prose (NEXT-STEPS), not read back.
	FormText Form = "text"
)

// A Consumer is one place a file names a listener: this file, this key,
// reaches this listener, through this kind of address. Templates print
// the resolved endpoint by ID (.W.<ID>), render's validation and check
// compare the file against it, and check reads the ports it observes from
// the same rows. Adding a consumer means adding one row.
//
// Keys follow each format: YAML dotted paths, INI "section.key", XML
// slash paths, compose environment variables of service In.
type Consumer struct {
	ID   string
	File string
	// In is the component whose environment holds the key, for compose
	// files.
	In         string
	Host, Port string
	Form       Form
	To         Name
	Via        Via
	// GroupConfigFormat limits a group-config row to one format.
	GroupConfigFormat string
	// What names the key for people, in messages.
	What string
}

// Consumers is the consumer table.
var Consumers = append(stackConsumers, groupConfigConsumers()...)

var stackConsumers = []Consumer{
	{ID: "ServerToMySQL", File: ServerYAML, Host: "controller.mysql.host", Port: "controller.mysql.port", Form: FormSplit, To: SQL, Via: Internal},
	{ID: "ServerToClickHouse", File: ServerYAML, Host: "controller.clickhouse.host", Port: "controller.clickhouse.port", Form: FormSplit, To: TCP, Via: Internal},
	{ID: "ServerToClickHouse", File: ServerYAML, Host: "ingester.ckdb.host", Port: "ingester.ckdb.port", Form: FormSplit, To: TCP, Via: Internal},
	{ID: "ServerToClickHouse", File: ServerYAML, Host: "querier.clickhouse.host", Port: "querier.clickhouse.port", Form: FormSplit, To: TCP, Via: Internal},
	{ID: "ServerToApp", File: ServerYAML, Host: "querier.deepflow-app.host", Port: "querier.deepflow-app.port", Form: FormSplit, To: App, Via: Internal},
	{ID: "AppToController", File: AppYAML, Host: "app.controller.host", Port: "app.controller.port", Form: FormSplit, To: Controller, Via: Internal},
	{ID: "AppToQuerier", File: AppYAML, Host: "app.querier.host", Port: "app.querier.port", Form: FormSplit, To: Querier, Via: Internal},
	{ID: "GrafanaToMySQL", File: GrafanaINI, Host: "database.host", Form: FormHostPort, To: SQL, Via: Internal, What: "[database] host"},
	{ID: "GrafanaToQuerier", File: Compose, In: "grafana", Host: "DEEPFLOW_REQUEST_URL", Form: FormURL, To: Querier, Via: Internal},
	{ID: "GrafanaToApp", File: Compose, In: "grafana", Host: "DEEPFLOW_TRACEURL", Form: FormURL, To: App, Via: Internal},
	{ID: "GrafanaToMySQL", File: Compose, In: "grafana", Host: "MYSQL_URL", Form: FormHostPort, To: SQL, Via: Internal},
	// DeepFlow's Grafana image takes a host only for ClickHouse.
	{ID: "GrafanaToClickHouse", File: Compose, In: "grafana", Host: "CLICKHOUSE_SERVER", Form: FormHost, To: TCP, Via: Internal},
	{ID: "ClickHouseSelf", File: ClickHouseConf, Host: "remote_servers/df_cluster/shard/replica/host", Port: "remote_servers/df_cluster/shard/replica/port", Form: FormSplit, To: TCP, Via: Self},
	{ID: "AgentController", File: AgentYAML, Host: "controller-ips", Port: "controller-port", Form: FormSplit, To: GRPC, Via: Agent},
	{ID: "CtlAPI", File: NextSteps, Form: FormText, To: Controller, Via: External},
	{ID: "GrafanaWeb", File: NextSteps, Form: FormText, To: Web, Via: External},
}

// A Bind is one place a file sets where a listener listens.
type Bind struct {
	File string
	Key  string
	To   Name
	// Addr: the key holds the bind address, not the port.
	Addr bool
	What string
}

// Binds is the table of keys that set listeners' ports and addresses.
var Binds = []Bind{
	{File: MyCnf, Key: "mysqld.port", To: SQL, What: "port in [mysqld] of " + MyCnf},
	{File: MyCnf, Key: "mysqld.bind-address", To: SQL, Addr: true},
	{File: ClickHouseConf, Key: "tcp_port", To: TCP},
	{File: ClickHouseConf, Key: "http_port", To: HTTP},
	{File: ClickHouseConf, Key: "interserver_http_port", To: Interserver},
	{File: ClickHouseConf, Key: "listen_host", To: TCP, Addr: true},
	{File: ServerYAML, Key: "controller.listen-port", To: Controller},
	{File: ServerYAML, Key: "controller.grpc-port", To: GRPC},
	{File: ServerYAML, Key: "querier.listen-port", To: Querier},
	{File: AppYAML, Key: "app.listen-port", To: App},
	{File: GrafanaINI, Key: "server.http_port", To: Web},
}

// ConsumersOf lists the rows of one file, for one group-config format
// where the file is the group config ("*": every format).
func ConsumersOf(file, groupConfigFormat string) []Consumer {
	var out []Consumer
	for _, c := range Consumers {
		if c.File == file && (c.GroupConfigFormat == "" || groupConfigFormat == "*" || c.GroupConfigFormat == groupConfigFormat) {
			out = append(out, c)
		}
	}
	return out
}

// Wiring resolves every consumer row, keyed by ID: what templates print.
// Rows sharing an ID dial the same listener the same way.
func (t *Topology) Wiring() (map[string]Endpoint, error) {
	out := map[string]Endpoint{}
	for _, c := range Consumers {
		e, err := t.Dial(c)
		if err != nil {
			return nil, &Error{Problems: []string{err.Error()}}
		}
		out[c.ID] = e
	}
	return out, nil
}

// Listening is every listener by name: what templates print for binds.
func (t *Topology) Listening() map[string]Listener {
	out := map[string]Listener{}
	for _, c := range []*Component{&t.MySQL, &t.ClickHouse, &t.Server, &t.App, &t.Grafana, &t.Agent} {
		for _, l := range c.Listeners {
			out[string(l.Name)] = l
		}
	}
	return out
}

// Written is the endpoint as a file of this form writes it under Host.
func (e Endpoint) Written(f Form) string {
	switch f {
	case FormHostPort:
		return e.String()
	case FormURL:
		return e.URL()
	}
	return e.Host
}

// Component returns a component by key.
func (t *Topology) Component(key string) *Component {
	for _, c := range append(t.Services(), &t.Agent) { // the agent even when it runs elsewhere
		if c.Key == key {
			return c
		}
	}
	return nil
}

// DefaultLocalIPRanges are deepflow-server's own controller.genesis.local_ip_ranges, which an explicit local_ip_ranges replaces
// and so must repeat (seed 003).
var DefaultLocalIPRanges = []string{
	"10.0.0.0/8",
	"172.16.0.0/12",
	"192.168.0.0/16",
	"169.254.0.0/15",
	"224.0.0.0-240.255.255.255",
}

// groupConfigConsumers are the group config's rows, in each format, with
// the key paths agentcfg renders: controller rows first, since check takes
// the node IP from the first that names one.
func groupConfigConsumers() []Consumer {
	var out []Consumer
	for _, f := range []agentcfg.Format{agentcfg.Sectioned, agentcfg.Legacy} {
		k, err := agentcfg.KeysOf(f)
		if err != nil {
			// The embedded schemas are part of the binary: a failure is a
			// build defect, caught by every test.
			panic("topology: " + err.Error())
		}
		out = append(out,
			Consumer{ID: "AgentController", File: GroupConfig, GroupConfigFormat: f.String(), Host: k.ControllerIP, Port: k.ControllerPort, Form: FormSplit, To: GRPC, Via: Agent},
			Consumer{ID: "AgentIngester", File: GroupConfig, GroupConfigFormat: f.String(), Host: k.IngesterIP, Port: k.IngesterPort, Form: FormSplit, To: Ingester, Via: Agent})
	}
	return out
}
