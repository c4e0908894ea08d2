package helmexport

import (
	"fmt"
	"io/fs"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/deepflow-compose/deepflow-compose/layout"
	"github.com/deepflow-compose/deepflow-compose/render"
	"github.com/deepflow-compose/deepflow-compose/settings"
	"github.com/deepflow-compose/deepflow-compose/topology"
)

// Pull policies: offline hosts use what is already on the node.
const (
	pullAlways       = "Always"
	pullIfNotPresent = "IfNotPresent"
)

type builder struct {
	src   *source
	chart Chart
	o     Options
	e     *Export

	values, secrets, agent *tree
	// agentController is how agents outside the stack reach the server.
	agentController topology.Endpoint
	// deployComponent is the agent chart's workload choice.
	deployComponent []string
	// chrony and localIPRanges are what the rendered server.yaml sets.
	chrony        string
	localIPRanges []string
	analytics     [][2]string
	nodePorts     []nodePort
}

type nodePort struct {
	key, what string
	port      int
}

func (b *builder) unmapped(setting, value, chart string) {
	b.e.Unmapped = append(b.e.Unmapped, Unmapped{Setting: setting, Value: value, Chart: chart})
}

func (b *builder) build() error {
	if err := b.readRendered(); err != nil {
		return err
	}
	s, t := b.src.s, b.src.t
	ac, err := t.ForAgent(topology.GRPC)
	if err != nil {
		return err
	}
	b.agentController = ac
	b.deployComponent = []string{"daemonset"}
	if s.Agent.Mode == settings.AgentProcess && s.Agent.Kubernetes.ClusterName != "" {
		// Kubernetes process mode: nodes run agents as processes, the
		// cluster only one agent that watches its API.
		b.deployComponent = []string{"watcher"}
	}
	b.values, b.secrets, b.agent = newTree(), newTree(), newTree()
	if err := b.buildValues(); err != nil {
		return err
	}
	b.buildSecrets()
	b.buildAgent()
	b.listUnmapped()

	header := func(file, what string) []string {
		return []string{Signature,
			fmt.Sprintf("chart: %s %s", what, b.chart.Version),
			fmt.Sprintf("From %s (DeepFlow %s, profile %s). See %s for the commands and what the chart cannot carry.", b.sourceName(), s.Version, b.src.profile, GuideFile)}
	}
	for _, f := range []struct {
		path   string
		t      *tree
		header []string
		mode   uint32
	}{
		{ValuesFile, b.values, header(ValuesFile, ServerChart), 0o644},
		{SecretsFile, b.secrets, append(header(SecretsFile, ServerChart), "Mode 0600: the passwords of the deployment. Keep it out of what you share."), 0o600},
		{AgentValuesFile, b.agent, append(header(AgentValuesFile, AgentChart), "Agents of a Kubernetes cluster reporting to the compose server at "+ac.String()+"."), 0o644},
	} {
		data, err := f.t.marshal(f.header)
		if err != nil {
			return fmt.Errorf("%s: %w", f.path, err)
		}
		b.e.Files = append(b.e.Files, render.File{Path: f.path, Data: data, Mode: fs.FileMode(f.mode)})
	}
	guide, err := b.guide()
	if err != nil {
		return err
	}
	b.e.Files = append(b.e.Files, render.File{Path: GuideFile, Data: guide, Mode: 0o644})
	return nil
}

// sourceName is the source as files may print it: a directory's base
// name, never a path of the exporting machine.
func (b *builder) sourceName() string {
	if b.o.Dir == "" {
		return b.src.name
	}
	return "directory " + filepath.Base(filepath.Clean(b.o.Dir))
}

// readRendered takes what render resolved into server.yaml and
// grafana.ini, so the chart gets the same values, not a second guess.
func (b *builder) readRendered() error {
	n, err := layout.YAML(topology.ServerYAML, b.src.serverYAML)
	if err != nil {
		return err
	}
	if h := layout.Get(n, "controller.trisolaris.chrony.host"); h != nil {
		b.chrony = h.Value
	}
	if r := layout.Get(n, "controller.genesis.local_ip_ranges"); r != nil {
		if r.Kind != yaml.SequenceNode {
			return fmt.Errorf("%s: controller.genesis.local_ip_ranges is not a list", topology.ServerYAML)
		}
		for _, c := range r.Content {
			b.localIPRanges = append(b.localIPRanges, c.Value)
		}
	}
	ini, err := layout.INI(topology.GrafanaINI, b.src.grafanaINI)
	if err != nil {
		return err
	}
	for _, k := range ini.Section("analytics").Keys() {
		b.analytics = append(b.analytics, [2]string{k.Name(), k.Value()})
	}
	return nil
}

// splitRegistry splits a repository into the registry part and the last
// path element, as Grafana's chart takes them.
func splitRegistry(repo string) (registry, name string) {
	if i := strings.LastIndex(repo, "/"); i >= 0 {
		return repo[:i], repo[i+1:]
	}
	return "docker.io", repo
}

func (b *builder) image(ref string, policyLiteral bool, path ...string) {
	repo, tag := render.SplitImage(ref)
	b.values.set(repo, append(path, "repository")...)
	b.values.set(tag, append(path, "tag")...)
	if policyLiteral && b.src.s.Offline {
		k := b.values.set(pullIfNotPresent, append(path, "pullPolicy")...)
		comment(k, "A literal in the chart: global.image.pullPolicy does not reach it.")
	}
}

func (b *builder) buildValues() error {
	s, t, im, v := b.src.s, b.src.t, b.src.images, b.values
	host := s.Network == settings.Host

	v.set(s.Registry, "global", "image", "repository")
	if s.Offline {
		v.set(pullIfNotPresent, "global", "image", "pullPolicy")
	}
	if host {
		v.set(true, "global", "hostNetwork")
		// Pods on the node's network resolve service names only with this.
		v.set("ClusterFirstWithHostNet", "global", "dnsPolicy")
	}
	v.set(s.Timezone, "global", "timezone")
	if b.chrony != "" {
		v.set(b.chrony, "global", "ntpServer")
	}

	// Node ports agents and deepflow-ctl dial. Kubernetes allocates them
	// only from its node port range; ports outside it (host networking's
	// 20417/20035/20033) keep the bridge profile's, and the pods, on the
	// node's network, still listen on the deployment's own.
	var bridge *topology.Topology
	if host {
		bs := *s
		bs.Network = settings.Bridge
		bridge = topology.Resolve(topology.SpecFor(&bs))
	}
	for _, np := range []struct {
		key      string
		listener topology.Name
		what     string
	}{
		{"deepflowServerhealthCheck", topology.Controller, "controller API (deepflow-ctl)"},
		{"deepflowServerGrpc", topology.GRPC, "controller gRPC (agents register)"},
		{"deepflowServerIngester", topology.Ingester, "ingester (agents send data)"},
	} {
		ex, err := t.External(np.listener)
		if err != nil {
			return err
		}
		port := ex.Port
		if !nodePortOK(port) && bridge != nil {
			bex, err := bridge.External(np.listener)
			if err != nil {
				return err
			}
			b.unmapped("network", fmt.Sprintf("host: %s on %d", np.what, port),
				fmt.Sprintf("%d is outside Kubernetes' node port range %d-%d: the service's node port is %d, and the server pod (host network) also listens on %d on its node",
					port, NodePortMin, NodePortMax, bex.Port, port))
			port = bex.Port
		}
		v.set(port, "global", "nodePort", np.key)
		b.nodePorts = append(b.nodePorts, nodePort{key: np.key, what: np.what, port: port})
	}

	if b.o.StorageClass != "" {
		v.set(b.o.StorageClass, "global", "storageClass")
	} else {
		k := v.set(true, "global", "allInOneLocalStorage")
		comment(k, "Data in host paths under dataDir, on whichever node runs the pod.")
	}

	b.image(im.Server, false, "image", "server")
	b.image(im.App, false, "image", "app")

	if len(b.localIPRanges) > 0 {
		k := v.set(b.localIPRanges, "configmap", "server.yaml", "controller", "genesis", "local_ip_ranges")
		comment(k, "The agents' networks, as the compose server's server.yaml has them.")
	}

	// ClickHouse.
	b.image(im.ClickHouse, true, "clickhouse", "image")
	if b.o.StorageClass == "" {
		k := v.set(s.DataDir, "clickhouse", "storageConfig", "hostPath")
		comment(k, "The chart adds /clickhouse and /clickhouse-storage.")
	}
	if s.Expose.Datastores {
		v.set("NodePort", "clickhouse", "service", "type")
		for _, p := range []struct{ key, setting string }{
			{"clickhouseTcpPort", "clickhouse.tcpPort"}, {"clickhouseHttpPort", "clickhouse.httpPort"},
		} {
			port := s.ClickHouse.TCPPort
			if p.key == "clickhouseHttpPort" {
				port = s.ClickHouse.HTTPPort
			}
			if nodePortOK(port) {
				v.set(port, "global", "nodePort", p.key)
			}
		}
	}

	// MySQL.
	b.image(im.MySQL, true, "mysql", "image")
	if host {
		v.set("true", "mysql", "hostNetwork")
		v.set("ClusterFirstWithHostNet", "mysql", "dnsPolicy")
	}
	if b.o.StorageClass == "" {
		v.set(s.DataDir+"/mysql", "mysql", "storageConfig", "hostPath")
	}
	if s.Expose.Datastores {
		v.set("NodePort", "mysql", "service", "type")
		if nodePortOK(s.MySQL.Port) {
			// The list replaces the chart's whole list: repeat its one entry.
			k := v.set([]map[string]any{{"name": "tcp", "port": b.chart.MySQLPort, "targetPort": b.chart.MySQLPort,
				"nodePort": s.MySQL.Port, "protocol": "TCP"}}, "mysql", "service", "ports")
			comment(k, fmt.Sprintf("MySQL listens on the chart's fixed %d; the node port is mysql.port.", b.chart.MySQLPort))
		}
	}

	// Agents in the cluster, reporting to the server in the cluster.
	b.image(im.Agent, false, "deepflow-agent", "image")
	if host {
		v.set("true", "deepflow-agent", "hostNetwork")
		v.set("ClusterFirstWithHostNet", "deepflow-agent", "dnsPolicy")
	}
	if b.deployComponent[0] != "daemonset" {
		v.set(b.deployComponent, "deepflow-agent", "deployComponent")
	}
	b.agentIdentity(v, "deepflow-agent")

	// Grafana: its chart takes the registry apart from the repository and
	// does not follow global.image.repository.
	repo, tag := render.SplitImage(im.Grafana)
	reg, name := splitRegistry(repo)
	k := v.set(reg, "grafana", "image", "registry")
	comment(k, "Grafana's chart does not follow global.image.repository.")
	v.set(name, "grafana", "image", "repository")
	v.set(tag, "grafana", "image", "tag")
	if s.Offline {
		k := v.set(pullIfNotPresent, "grafana", "image", "pullPolicy")
		comment(k, "A literal in the chart: global.image.pullPolicy does not reach it.")
	}
	v.set(s.Grafana.AdminUser, "grafana", "adminUser")
	if nodePortOK(s.Grafana.Port) {
		v.set(s.Grafana.Port, "grafana", "service", "nodePort")
	}
	v.set(s.Timezone, "grafana", "env", "TZ")
	if s.Offline {
		for _, kv := range b.analytics {
			var val any = kv[1]
			if bv, err := strconv.ParseBool(kv[1]); err == nil {
				val = bv
			}
			v.set(val, "grafana", "grafana.ini", "analytics", kv[0])
		}
	}
	b.grafanaInit()

	// The chart's optional AI agent is not part of the compose deployment.
	v.set(false, "stella-agent-ce", "enabled")
	return nil
}

// agentIdentity sets the group and cluster an agent chart registers with.
func (b *builder) agentIdentity(v *tree, path ...string) {
	s := b.src.s
	if s.Agent.GroupID != "" {
		v.set(s.Agent.GroupID, append(path, "agentGroupID")...)
	}
	if k := s.Agent.Kubernetes; k.ClusterName != "" {
		v.set(k.ClusterName, append(path, "clusterNAME")...)
		if k.ClusterID != "" {
			// Not kubernetesClusterId: the agent chart never reads that one.
			v.set(k.ClusterID, append(path, "deepflowK8sClusterID")...)
		}
	}
}

// grafanaInit overrides the init containers only when their images differ
// from what the chart builds from global.image.repository and its own
// tags; the list replaces the chart's whole list, so it repeats it.
func (b *builder) grafanaInit() {
	s, im := b.src.s, b.src.images
	chartInit := s.Registry + "/deepflowio-init-grafana:" + b.chart.GrafanaInitTag
	chartDsDh := s.Registry + "/deepflowio-init-grafana-ds-dh:" + b.chart.GrafanaInitDsDhTag
	if im.GrafanaInit == chartInit && im.GrafanaInitDsDh == chartDsDh {
		return
	}
	policy := pullAlways
	if s.Offline {
		policy = pullIfNotPresent
	}
	mount := func(name, path string) map[string]any { return map[string]any{"name": name, "mountPath": path} }
	k := b.values.set([]map[string]any{
		{"name": "init-custom-plugins", "image": im.GrafanaInit, "imagePullPolicy": policy,
			"volumeMounts": []map[string]any{mount("custom-plugins", "/var/lib/grafana/plugins")}},
		{"name": "init-grafana-ds-dh", "image": im.GrafanaInitDsDh, "imagePullPolicy": policy,
			"volumeMounts": []map[string]any{
				mount("deepflow-dashboards", "/tmp/dashboards"),
				mount("grafana-dashboards-config", "/etc/grafana/provisioning/dashboards"),
				mount("grafana-datasources-config", "/etc/grafana/provisioning/datasources"),
			}},
	}, "grafana", "extraInitContainers")
	comment(k, "The chart's init containers with this deployment's images.")
}

func (b *builder) buildSecrets() {
	sec := b.src.sec
	b.secrets.set(sec.MySQL, "global", "password", "mysql")
	b.secrets.set(sec.ClickHouse, "global", "password", "clickhouse")
	b.secrets.set(sec.Grafana, "grafana", "adminPassword")
}

// buildAgent writes values for the standalone agent chart, pointing a
// cluster's agents at the compose server.
func (b *builder) buildAgent() {
	s, a := b.src.s, b.agent
	a.set(b.deployComponent, "deployComponent")
	a.set([]string{b.agentController.Host}, "deepflowServerNodeIPS")
	k := a.set(b.agentController.Port, "controllerPort")
	if s.Agent.ControllerPort != 0 {
		comment(k, "agent.controllerPort: what agents dial instead of the server's own port.")
	} else {
		comment(k, "The compose server's controller port for its "+string(b.src.t.Network)+" network mode.")
	}
	b.agentIdentity(a)
	repo, tag := render.SplitImage(b.src.images.Agent)
	a.set(repo, "image", "repository")
	a.set(tag, "image", "tag")
	if s.Offline {
		a.set(pullIfNotPresent, "image", "pullPolicy")
	}
	a.set(s.Timezone, "timezone")
}

// listUnmapped names every setting the chart has no place for.
func (b *builder) listUnmapped() {
	s, c := b.src.s, b.chart
	b.unmapped("nodeIP", s.NodeIP, "no chart key: Kubernetes places the pods. values-agent.yaml points a cluster's agents at this node IP.")
	b.unmapped("projectName", s.ProjectName, "no chart key: the release name ("+b.e.Release+") prefixes every object.")
	if s.MySQL.Port == c.MySQLPort {
		b.unmapped("mysql.port", strconv.Itoa(s.MySQL.Port), fmt.Sprintf("no chart key; the chart fixes MySQL at %d, the same port.", c.MySQLPort))
	} else {
		b.unmapped("mysql.port", strconv.Itoa(s.MySQL.Port), fmt.Sprintf("no chart key: the chart fixes MySQL at %d in my.cnf, its service, server.yaml and grafana.ini. Clients inside the cluster use %d.", c.MySQLPort, c.MySQLPort))
	}
	for _, p := range []struct {
		key       string
		v, chartP int
	}{
		{"clickhouse.tcpPort", s.ClickHouse.TCPPort, c.ClickHouseTCPPort},
		{"clickhouse.httpPort", s.ClickHouse.HTTPPort, c.ClickHouseHTTPPort},
		{"clickhouse.interserverPort", s.ClickHouse.InterserverPort, c.ClickHouseInterserverPort},
	} {
		what := fmt.Sprintf("no chart key: ClickHouse listens on the chart's fixed %d", p.chartP)
		if s.Expose.Datastores && p.key != "clickhouse.interserverPort" {
			if nodePortOK(p.v) {
				what += fmt.Sprintf("; its NodePort service publishes it on node port %d", p.v)
			} else {
				what += fmt.Sprintf("; %d is outside Kubernetes' node port range %d-%d, so its NodePort service gets one allocated (kubectl get svc)", p.v, NodePortMin, NodePortMax)
			}
		}
		b.unmapped(p.key, strconv.Itoa(p.v), what+".")
	}
	if s.Expose.Datastores && !nodePortOK(s.MySQL.Port) {
		b.unmapped("expose.datastores", "true", fmt.Sprintf("MySQL's service is a NodePort, but mysql.port %d is outside the node port range %d-%d: Kubernetes allocates one (kubectl get svc).", s.MySQL.Port, NodePortMin, NodePortMax))
	}
	if !nodePortOK(s.Grafana.Port) {
		b.unmapped("grafana.port", strconv.Itoa(s.Grafana.Port), fmt.Sprintf("outside Kubernetes' node port range %d-%d: Grafana's NodePort service gets one allocated (kubectl get svc).", NodePortMin, NodePortMax))
	}
	if b.o.StorageClass != "" {
		b.unmapped("dataDir", s.DataDir, "not used: data lives in PersistentVolumeClaims of storage class "+b.o.StorageClass+".")
	} else {
		b.unmapped("dataDir", s.DataDir, "ClickHouse's second volume is "+s.DataDir+"/clickhouse-storage in the chart (clickhouse_storage in the compose deployment); Grafana keeps no host path. Data is not migrated: Kubernetes starts empty.")
	}
	b.unmapped("agent.privileged", strconv.FormatBool(s.Agent.Privileged), "no chart key: the agent DaemonSet runs with the chart's capability list (deepflow-agent.securityContext).")
	b.unmapped("agent.groupName", s.Agent.GroupName, "no chart key: create the group with deepflow-ctl (NEXT-STEPS.md of the deployment); the chart takes its ID, agent.groupID.")
	if s.Agent.GroupID == "" {
		b.unmapped("agent.groupID", "(not set)", "agents join the default group until you set agent.groupID, render and export again.")
	}
	b.unmapped("agent.domainName", s.Agent.DomainName, "no chart key: agents in a cluster register under the cluster's own domain (clusterNAME), not agent_sync.")
	if !reflect.ValueOf(s.Agent.Group).IsZero() {
		b.unmapped("agent.group", "(recipes)", "no chart key: the agent-group-config is applied with deepflow-ctl, as the deployment's NEXT-STEPS.md shows (agent/agent-group-config.yaml).")
	}
	if s.Agent.ControllerPort != 0 {
		b.unmapped("agent.controllerPort", strconv.Itoa(s.Agent.ControllerPort), "values-agent.yaml only: agents inside the cluster dial the server's service.")
	}
	if s.Agent.IngesterPort != 0 {
		b.unmapped("agent.ingesterPort", strconv.Itoa(s.Agent.IngesterPort), "no chart key: agents learn the ingester port from the agent-group-config (agent/agent-group-config.yaml).")
	}
	if s.Agent.Mode == settings.AgentProcess && s.Agent.Kubernetes.ClusterName == "" {
		b.unmapped("agent.mode", s.Agent.Mode, "no chart key: process agents on hosts outside the cluster keep using the deployment's agent/ files; the cluster runs the DaemonSet.")
	}
	for _, p := range []struct{ key, v string }{
		{"mysql.password", b.src.sec.MySQL}, {"clickhouse.password", b.src.sec.ClickHouse}, {"grafana.adminPassword", b.src.sec.Grafana},
	} {
		// The chart quotes passwords with " in YAML and its server.yaml
		// notes that # and @ break ClickHouse's.
		if strings.ContainsAny(p.v, "\"\\#@'") {
			b.unmapped(p.key, "(in "+SecretsFile+")", "holds one of \" \\ # @ ' which the chart's templates do not escape: choose a password without them before installing.")
		}
	}
}
