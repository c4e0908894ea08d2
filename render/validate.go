package render

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/compose-spec/compose-go/v2/types"
	"gopkg.in/yaml.v3"

	"github.com/deepflow-compose/deepflow-compose/agentcfg"
	"github.com/deepflow-compose/deepflow-compose/layout"
	"github.com/deepflow-compose/deepflow-compose/serverkeys"
)

// ErrValidation marks rendered output that failed its own checks; nothing
// is written when it happens.
var ErrValidation = errors.New("rendered files failed validation")

// validate reads every rendered file back with its format's parser and
// checks that each address and port in it is the one the topology
// resolved. The compose file is loaded by compose-go with the rendered .env.
func validate(ctx context.Context, p *Plan, d *Data) error {
	var problems []string
	fail := func(file, format string, a ...any) {
		problems = append(problems, file+": "+fmt.Sprintf(format, a...))
	}
	get := func(name string) []byte {
		if f := p.File(name); f != nil {
			return f.Data
		}
		fail(name, "not rendered")
		return nil
	}

	env, err := layout.ReadEnv(get(layout.Env))
	if err != nil {
		return fmt.Errorf("%w: %v", ErrValidation, err)
	}
	for name, want := range map[string]string{
		envNames.MySQLPassword: d.Secrets.MySQL, envNames.ClickHousePassword: d.Secrets.ClickHouse,
		envNames.GrafanaPass: d.Secrets.Grafana, envNames.NodeIP: d.T.NodeIP,
	} {
		if env[name] != want {
			fail(layout.Env, "%s does not read back as the value written", name)
		}
	}
	dir := p.OutDir
	if dir == "" {
		dir = "."
	}
	proj, err := layout.LoadCompose(ctx, dir, layout.Compose, get(layout.Compose), env, env[envNames.ProjectName])
	if err != nil {
		return fmt.Errorf("%w: %v", ErrValidation, err)
	}
	checkCompose(proj, d, fail)
	if f := p.File(layout.AgentCompose); f != nil {
		if _, err := layout.LoadCompose(ctx, dir, layout.AgentCompose, f.Data, nil, d.T.Agent.Service); err != nil {
			return fmt.Errorf("%w: %v", ErrValidation, err)
		}
	}

	yamls := map[string]*yaml.Node{}
	for _, name := range []string{layout.ServerYAML, layout.AppYAML, layout.AgentYAML,
		layout.GroupConfig, layout.AgentDomain, layout.AgentWatcherValues, layout.AgentClusterRoleRules} {
		f := p.File(name)
		if f == nil {
			continue // optional per profile; required files were checked by get
		}
		n, err := layout.YAML(name, f.Data)
		if err != nil {
			return fmt.Errorf("%w: %v", ErrValidation, err)
		}
		yamls[name] = n
	}
	expectYAML := func(file, key, want string) {
		n := layout.Get(yamls[file], key)
		switch {
		case n == nil:
			fail(file, "%s is missing, want %s", key, want)
		case n.Kind == yaml.SequenceNode:
			var vals []string
			for _, c := range n.Content {
				vals = append(vals, c.Value)
			}
			if got := strings.Join(vals, ","); got != want {
				fail(file, "line %d: %s is %s, want %s", n.Line, key, got, want)
			}
		case n.Value != want:
			fail(file, "line %d: %s is %q, want %q", n.Line, key, n.Value, want)
		}
	}
	itoa := strconv.Itoa
	w := d.W
	for _, prefix := range []string{"controller.clickhouse", "ingester.ckdb", "querier.clickhouse"} {
		expectYAML(layout.ServerYAML, prefix+".host", w.ServerToClickHouse.Host)
		expectYAML(layout.ServerYAML, prefix+".port", itoa(w.ServerToClickHouse.Port))
	}
	expectYAML(layout.ServerYAML, "controller.mysql.host", w.ServerToMySQL.Host)
	expectYAML(layout.ServerYAML, "controller.mysql.port", itoa(w.ServerToMySQL.Port))
	expectYAML(layout.ServerYAML, "controller.mysql.user-password", d.Secrets.MySQL)
	expectYAML(layout.ServerYAML, "controller.clickhouse.user-password", d.Secrets.ClickHouse)
	expectYAML(layout.ServerYAML, "ingester.ckdb-auth.password", d.Secrets.ClickHouse)
	expectYAML(layout.ServerYAML, "querier.clickhouse.user-password", d.Secrets.ClickHouse)
	expectYAML(layout.ServerYAML, "querier.deepflow-app.host", w.ServerToApp.Host)
	expectYAML(layout.ServerYAML, "querier.deepflow-app.port", itoa(w.ServerToApp.Port))
	expectYAML(layout.ServerYAML, "controller.listen-port", itoa(d.Listen.Controller.Port))
	expectYAML(layout.ServerYAML, "controller.grpc-port", itoa(d.Listen.GRPC.Port))
	expectYAML(layout.ServerYAML, "querier.listen-port", itoa(d.Listen.Querier.Port))
	expectYAML(layout.AppYAML, "app.listen-port", itoa(d.Listen.App.Port))
	expectYAML(layout.AppYAML, "app.controller.host", w.AppToController.Host)
	expectYAML(layout.AppYAML, "app.controller.port", itoa(w.AppToController.Port))
	expectYAML(layout.AppYAML, "app.querier.host", w.AppToQuerier.Host)
	expectYAML(layout.AppYAML, "app.querier.port", itoa(w.AppToQuerier.Port))
	expectYAML(layout.AgentYAML, "controller-ips", w.AgentController.Host)
	expectYAML(layout.AgentYAML, "controller-port", itoa(w.AgentController.Port))
	for _, name := range []string{layout.ServerYAML, layout.AppYAML, layout.AgentYAML} {
		get(name)
	}
	// Only keys every release the tag may pull reads: an unread key is
	// silently ignored and misleads whoever reviews the file.
	if err := serverkeys.Check(d.R.Releases, get(layout.ServerYAML)); err != nil {
		fail(layout.ServerYAML, "%v", err)
	}
	if f := p.File(layout.GroupConfig); f != nil {
		if err := agentcfg.ValidateReleases(d.R.Releases, f.Data); err != nil {
			return fmt.Errorf("%w: %s: %v", ErrValidation, layout.GroupConfig, err)
		}
		keys := groupConfigKeys[d.GroupConfigFormat]
		expectYAML(layout.GroupConfig, keys[0], w.AgentIngester.Host)
		expectYAML(layout.GroupConfig, keys[1], itoa(w.AgentIngester.Port))
		expectYAML(layout.GroupConfig, keys[2], w.AgentController.Host)
		expectYAML(layout.GroupConfig, keys[3], itoa(w.AgentController.Port))
	}
	if d.LocalIPRanges != nil {
		expectYAML(layout.ServerYAML, "controller.genesis.local_ip_ranges", strings.Join(d.LocalIPRanges, ","))
	}
	if f := p.File(layout.AgentUnit); f != nil {
		if _, err := layout.INI(layout.AgentUnit, f.Data); err != nil {
			return fmt.Errorf("%w: %v", ErrValidation, err)
		}
	}

	for _, name := range []string{layout.MyCnf, layout.GrafanaINI} {
		f, err := layout.INI(name, get(name))
		if err != nil {
			return fmt.Errorf("%w: %v", ErrValidation, err)
		}
		expect := func(section, key, want string) {
			if got := f.Section(section).Key(key).String(); got != want {
				fail(name, "[%s] %s is %q, want %q", section, key, got, want)
			}
		}
		if name == layout.MyCnf {
			expect("mysqld", "port", itoa(d.Listen.MySQL.Port))
			expect("mysqld", "bind-address", d.Listen.MySQL.Bind)
		} else {
			expect("database", "host", w.GrafanaToMySQL.String())
			expect("server", "http_port", itoa(d.Listen.Grafana.Port))
		}
	}

	for _, name := range []string{layout.ClickHouseConf, layout.ClickHouseUser} {
		root, err := layout.XML(name, get(name))
		if err != nil {
			return fmt.Errorf("%w: %v", ErrValidation, err)
		}
		expect := func(p, want string) {
			e := root.Find(p)
			if e == nil || e.Text != want {
				fail(name, "<%s> is not %q", p, want)
			}
		}
		if name == layout.ClickHouseConf {
			expect("tcp_port", itoa(d.Listen.ClickHouseTCP.Port))
			expect("http_port", itoa(d.Listen.ClickHouseHTTP.Port))
			expect("interserver_http_port", itoa(d.Listen.ClickHouseInterserver.Port))
			expect("listen_host", d.Listen.ClickHouseTCP.Bind)
			expect("remote_servers/df_cluster/shard/replica/port", itoa(w.ClickHouseSelf.Port))
		} else if e := root.Find("users/default/password"); e == nil || e.Attr["from_env"] != envNames.ClickHousePassword {
			fail(name, "the default user's password must come from_env %s", envNames.ClickHousePassword)
		}
	}

	if len(problems) > 0 {
		sort.Strings(problems)
		return fmt.Errorf("%w:\n  %s", ErrValidation, strings.Join(problems, "\n  "))
	}
	return nil
}

// groupConfigKeys name the ingester IP and port and the controller IP and
// port in each group-config format.
var groupConfigKeys = map[agentcfg.Format][4]string{
	agentcfg.Sectioned: {"global.communication.ingester_ip", "global.communication.ingester_port",
		"global.communication.proxy_controller_ip", "global.communication.proxy_controller_port"},
	agentcfg.Legacy: {"analyzer_ip", "analyzer_port", "proxy_controller_ip", "proxy_controller_port"},
}

// checkCompose checks what compose-go loaded against the topology, including
// what compose accepts but the engine silently drops under host networking.
func checkCompose(proj *types.Project, d *Data, fail func(file, format string, a ...any)) {
	f := layout.Compose
	for _, c := range append(d.T.Components(), &d.T.GrafanaInitWorkdir, &d.T.GrafanaInitDsDh, &d.T.GrafanaInitPlugins) {
		svc, ok := proj.Services[c.Service]
		if !ok {
			fail(f, "service %s is missing", c.Service)
			continue
		}
		if d.T.Network == Host {
			if svc.NetworkMode != "host" {
				fail(f, "services.%s.network_mode must be host", c.Service)
			}
			if len(svc.Ports) > 0 || len(svc.Networks) > 0 || len(svc.Links) > 0 {
				fail(f, "services.%s has ports, networks or links, which host networking ignores", c.Service)
			}
			continue
		}
		want := publish(*c)
		var got []string
		for _, p := range svc.Ports {
			got = append(got, p.Published+":"+strconv.Itoa(int(p.Target)))
		}
		if strings.Join(got, ",") != strings.Join(want, ",") {
			fail(f, "services.%s.ports are %v, want %v", c.Service, got, want)
		}
	}
	g := proj.Services[d.T.Grafana.Service]
	expectEnv := func(key, want string) {
		v := g.Environment[key]
		if v == nil || *v != want {
			fail(f, "services.%s.environment.%s is not %q", d.T.Grafana.Service, key, want)
		}
	}
	expectEnv("DEEPFLOW_REQUEST_URL", d.W.GrafanaToQuerier.URL())
	expectEnv("DEEPFLOW_TRACEURL", d.W.GrafanaToApp.URL())
	expectEnv("MYSQL_URL", d.W.GrafanaToMySQL.String())
	expectEnv("CLICKHOUSE_SERVER", d.W.GrafanaToClickHouse.Host)
	expectEnv("MYSQL_PASSWORD", d.Secrets.MySQL)
	expectEnv("CLICKHOUSE_PASSWORD", d.Secrets.ClickHouse)
	expectEnv("GF_SECURITY_ADMIN_PASSWORD", d.Secrets.Grafana)
	expectEnv("GF_SECURITY_ADMIN_USER", d.S.Grafana.AdminUser)
}
