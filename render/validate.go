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
	"github.com/deepflow-compose/deepflow-compose/settings"
	"github.com/deepflow-compose/deepflow-compose/topology"
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

	env, err := layout.ReadEnv(get(topology.Env))
	if err != nil {
		return fmt.Errorf("%w: %v", ErrValidation, err)
	}
	for name, want := range map[string]string{
		topology.Vars.MySQLPassword: d.Secrets.MySQL, topology.Vars.ClickHousePassword: d.Secrets.ClickHouse,
		topology.Vars.GrafanaPass: d.Secrets.Grafana, topology.Vars.NodeIP: d.T.NodeIP,
	} {
		if env[name] != want {
			fail(topology.Env, "%s does not read back as the value written", name)
		}
	}
	dir := p.OutDir
	if dir == "" {
		dir = "."
	}
	proj, err := layout.LoadCompose(ctx, dir, topology.Compose, get(topology.Compose), env, env[topology.Vars.ProjectName])
	if err != nil {
		return fmt.Errorf("%w: %v", ErrValidation, err)
	}
	checkCompose(proj, d, fail)
	if f := p.File(topology.AgentCompose); f != nil {
		if _, err := layout.LoadCompose(ctx, dir, topology.AgentCompose, f.Data, nil, d.T.Agent.Service); err != nil {
			return fmt.Errorf("%w: %v", ErrValidation, err)
		}
	}

	yamls := map[string]*yaml.Node{}
	for _, name := range []string{topology.ServerYAML, topology.AppYAML, topology.AgentYAML,
		topology.GroupConfig, topology.AgentDomain, topology.AgentWatcherValues, topology.AgentClusterRoleRules} {
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
	// Every consumer row of a YAML file names the endpoint its row resolves to.
	for _, file := range []string{topology.ServerYAML, topology.AppYAML, topology.AgentYAML, topology.GroupConfig} {
		if yamls[file] == nil {
			if file != topology.GroupConfig { // optional per version and settings
				get(file)
			}
			continue
		}
		for _, c := range topology.ConsumersOf(file, d.GroupConfigFormat.String()) {
			want := d.W[c.ID]
			expectYAML(file, c.Host, want.Host)
			expectYAML(file, c.Port, itoa(want.Port))
		}
		for _, b := range topology.BindsOf(file) {
			expectYAML(file, b.Key, itoa(d.Listen[string(b.To)].Port))
		}
	}
	expectYAML(topology.ServerYAML, "controller.mysql.user-password", d.Secrets.MySQL)
	expectYAML(topology.ServerYAML, "controller.clickhouse.user-password", d.Secrets.ClickHouse)
	expectYAML(topology.ServerYAML, "ingester.ckdb-auth.password", d.Secrets.ClickHouse)
	expectYAML(topology.ServerYAML, "querier.clickhouse.user-password", d.Secrets.ClickHouse)
	if f := p.File(topology.GroupConfig); f != nil {
		if err := agentcfg.Validate(d.GroupConfigFormat, f.Data); err != nil {
			return fmt.Errorf("%w: %s: %v", ErrValidation, topology.GroupConfig, err)
		}
	}
	if d.LocalIPRanges != nil {
		expectYAML(topology.ServerYAML, "controller.genesis.local_ip_ranges", strings.Join(d.LocalIPRanges, ","))
	}
	if f := p.File(topology.AgentUnit); f != nil {
		if _, err := layout.INI(topology.AgentUnit, f.Data); err != nil {
			return fmt.Errorf("%w: %v", ErrValidation, err)
		}
	}

	for _, name := range []string{topology.MyCnf, topology.GrafanaINI} {
		f, err := layout.INI(name, get(name))
		if err != nil {
			return fmt.Errorf("%w: %v", ErrValidation, err)
		}
		expect := func(dotted, want string) {
			section, key, _ := strings.Cut(dotted, ".")
			if got := f.Section(section).Key(key).String(); got != want {
				fail(name, "[%s] %s is %q, want %q", section, key, got, want)
			}
		}
		for _, b := range topology.BindsOf(name) {
			l := d.Listen[string(b.To)]
			if b.Addr {
				expect(b.Key, l.Bind)
			} else {
				expect(b.Key, itoa(l.Port))
			}
		}
		for _, c := range topology.ConsumersOf(name, "") {
			expect(c.Host, d.W[c.ID].String())
		}
	}

	for _, name := range []string{topology.ClickHouseConf, topology.ClickHouseUser} {
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
		for _, b := range topology.BindsOf(name) {
			l := d.Listen[string(b.To)]
			if b.Addr {
				expect(b.Key, l.Bind)
			} else {
				expect(b.Key, itoa(l.Port))
			}
		}
		for _, c := range topology.ConsumersOf(name, "") {
			expect(c.Host, d.W[c.ID].Host)
			expect(c.Port, itoa(d.W[c.ID].Port))
		}
		if name == topology.ClickHouseUser {
			if e := root.Find("users/default/password"); e == nil || e.Attr["from_env"] != topology.Vars.ClickHousePassword {
				fail(name, "the default user's password must come from_env %s", topology.Vars.ClickHousePassword)
			}
		}
	}

	if len(problems) > 0 {
		sort.Strings(problems)
		return fmt.Errorf("%w:\n  %s", ErrValidation, strings.Join(problems, "\n  "))
	}
	return nil
}

// checkCompose checks what compose-go loaded against the topology, including
// what compose accepts but the engine silently drops under host networking.
func checkCompose(proj *types.Project, d *Data, fail func(file, format string, a ...any)) {
	f := topology.Compose
	for _, c := range append(d.T.Components(), &d.T.GrafanaInitWorkdir, &d.T.GrafanaInitDsDh, &d.T.GrafanaInitPlugins) {
		svc, ok := proj.Services[c.Service]
		if !ok {
			fail(f, "service %s is missing", c.Service)
			continue
		}
		if d.T.Network == settings.Host {
			if svc.NetworkMode != "host" {
				fail(f, "services.%s.network_mode must be host", c.Service)
			}
			if len(svc.Ports) > 0 || len(svc.Networks) > 0 || len(svc.Links) > 0 {
				fail(f, "services.%s has ports, networks or links, which host networking ignores", c.Service)
			}
			continue
		}
		want := c.Publish()
		var got []string
		for _, p := range svc.Ports {
			got = append(got, p.Published+":"+strconv.Itoa(int(p.Target)))
		}
		if strings.Join(got, ",") != strings.Join(want, ",") {
			fail(f, "services.%s.ports are %v, want %v", c.Service, got, want)
		}
	}
	for _, c := range topology.ConsumersOf(f, "") {
		svc := d.T.Component(c.In).Service
		v := proj.Services[svc].Environment[c.Host]
		if want := d.W[c.ID].Written(c.Form); v == nil || *v != want {
			fail(f, "services.%s.environment.%s is not %q", svc, c.Host, want)
		}
	}
	g := proj.Services[d.T.Grafana.Service]
	expectEnv := func(key, want string) {
		v := g.Environment[key]
		if v == nil || *v != want {
			fail(f, "services.%s.environment.%s is not %q", d.T.Grafana.Service, key, want)
		}
	}
	expectEnv("MYSQL_PASSWORD", d.Secrets.MySQL)
	expectEnv("CLICKHOUSE_PASSWORD", d.Secrets.ClickHouse)
	expectEnv("GF_SECURITY_ADMIN_PASSWORD", d.Secrets.Grafana)
	expectEnv("GF_SECURITY_ADMIN_USER", d.S.Grafana.AdminUser)
}
