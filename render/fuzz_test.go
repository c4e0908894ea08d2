package render

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/compose-spec/compose-go/v2/interpolation"
	"gopkg.in/ini.v1"
	"gopkg.in/yaml.v3"

	"github.com/deepflow-compose/deepflow-compose/layout"
	"github.com/deepflow-compose/deepflow-compose/settings"
	"github.com/deepflow-compose/deepflow-compose/topology"
)

// secretSeeds are the values FuzzSecrets starts from and
// TestSecretsFullRender renders with the whole validation.
var secretSeeds = []string{"deepflow", `a"b'c\d`, "$HOME ${X} $$", "# not ; a comment", " lead", "trail ", "ünï©ødé", `\$`, "`", "{{ x }}", "a\\", "'"}

// serviceEnv is each compose service's environment after interpolation.
type serviceEnv func(svc, key string) *string

// FuzzSecrets renders random passwords and admin user names and reads every
// place they land back with that format's real parser: .env with compose's
// dotenv, the compose file's environment with compose's interpolation,
// server.yaml with yaml.v3, grafana.ini with go-ini, ClickHouse's XML with
// encoding/xml. Following ${VAR}, $__env{} and from_env references to the
// reading container's environment must give back the exact value.
//
// Each execution renders without the whole-directory review and
// interpolates the compose file's environment with compose-go's own
// interpolation instead of a full compose-go load: those two were 90% of
// an execution's time (about 12 ms), and neither depends on the secret
// beyond what is read back here. TestSecretsFullRender runs the seeds
// through both.
func FuzzSecrets(f *testing.F) {
	for _, s := range secretSeeds {
		f.Add(s, s, "admin"+s)
	}
	f.Fuzz(func(t *testing.T, mysql, clickhouse, user string) {
		p := prepareSecrets(t, mysql, clickhouse, user, false)
		if p != nil {
			checkSecrets(t, p, interpolatedEnv(t, p))
		}
	})
}

// TestSecretsFullRender: the seeds through a whole Prepare (with its
// review) and a full compose-go load.
func TestSecretsFullRender(t *testing.T) {
	for _, s := range secretSeeds {
		p := prepareSecrets(t, s, s, "admin"+s, true)
		if p == nil {
			t.Fatalf("seed %q refused", s)
		}
		proj := loadRendered(t, p)
		checkSecrets(t, p, func(svc, key string) *string { return proj.Services[svc].Environment[key] })
	}
}

func prepareSecrets(t testing.TB, mysql, clickhouse, user string, full bool) *Plan {
	t.Helper()
	in := settings.Inputs{NodeIP: "192.0.2.10", Sets: []string{
		"mysql.password=" + mysql, "clickhouse.password=" + clickhouse, "grafana.adminUser=" + user, "grafana.adminPassword=" + mysql + clickhouse,
	}}
	p, err := prepareValidated(context.Background(), Options{Inputs: in, OutDir: "x"}, full)
	if err != nil {
		if errors.Is(err, settings.ErrSettings) {
			return nil // refused up front: control characters, invalid UTF-8, empty user, or a list-looking value
		}
		t.Fatalf("Prepare: %v", err)
	}
	if p.Settings.MySQL.Password == "" || p.Settings.ClickHouse.Password == "" {
		return nil // empty means "generate"
	}
	return p
}

// interpolatedEnv reads the compose file as YAML and interpolates it with
// compose-go's interpolation and the rendered .env, as compose does.
func interpolatedEnv(t testing.TB, p *Plan) serviceEnv {
	t.Helper()
	env, err := layout.ReadEnv(p.File(topology.Env).Data)
	if err != nil {
		t.Fatal(err)
	}
	// Only the services' environments: decoding the rest was a third of
	// an execution and holds no secret.
	var c struct {
		Services map[string]struct {
			Environment map[string]any `yaml:"environment"`
		} `yaml:"services"`
	}
	if err := yaml.Unmarshal(p.File(topology.Compose).Data, &c); err != nil {
		t.Fatal(err)
	}
	services := map[string]any{}
	for name, svc := range c.Services {
		services[name] = map[string]any{"environment": svc.Environment}
	}
	doc, err := interpolation.Interpolate(map[string]any{"services": services}, interpolation.Options{LookupValue: func(k string) (string, bool) { v, ok := env[k]; return v, ok }})
	if err != nil {
		t.Fatal(err)
	}
	return func(svc, key string) *string {
		services, _ := doc["services"].(map[string]any)
		s, _ := services[svc].(map[string]any)
		e, _ := s["environment"].(map[string]any)
		v, ok := e[key].(string)
		if !ok {
			return nil
		}
		return &v
	}
}

func checkSecrets(t testing.TB, p *Plan, envOf serviceEnv) {
	t.Helper()
	env, err := layout.ReadEnv(p.File(topology.Env).Data)
	if err != nil {
		t.Fatal(err)
	}
	wantMySQL, wantCH := p.Settings.MySQL.Password, p.Settings.ClickHouse.Password
	if env[topology.Vars.MySQLPassword] != wantMySQL || env[topology.Vars.ClickHousePassword] != wantCH {
		t.Fatalf(".env reads back %q/%q, want %q/%q", env[topology.Vars.MySQLPassword], env[topology.Vars.ClickHousePassword], wantMySQL, wantCH)
	}
	{
		for svc, kv := range map[string]map[string]string{
			"mysql":            {"MYSQL_ROOT_PASSWORD": wantMySQL},
			"clickhouse":       {topology.Vars.ClickHousePassword: wantCH},
			"deepflow-grafana": {"MYSQL_PASSWORD": wantMySQL, "CLICKHOUSE_PASSWORD": wantCH, "GF_SECURITY_ADMIN_USER": p.Settings.Grafana.AdminUser, "GF_SECURITY_ADMIN_PASSWORD": p.Settings.Grafana.AdminPassword},
		} {
			for k, want := range kv {
				if got := envOf(svc, k); got == nil || *got != want {
					t.Fatalf("%s %s = %v, want %q", svc, k, got, want)
				}
			}
		}
		// Mounted config files hold references; follow each to the
		// environment of the container that reads the file.
		grafana, err := layout.INI(topology.GrafanaINI, p.File(topology.GrafanaINI).Data)
		if err != nil {
			t.Fatal(err)
		}
		ref := grafana.Section("database").Key("password").String()
		name, ok := strings.CutPrefix(ref, "$__env{")
		name, ok2 := strings.CutSuffix(name, "}")
		if !ok || !ok2 {
			t.Fatalf("grafana.ini database password %q is not an $__env{} reference", ref)
		}
		if got := envOf("deepflow-grafana", name); got == nil || *got != wantMySQL {
			t.Fatalf("grafana.ini's $__env{%s} resolves to %v, want %q", name, got, wantMySQL)
		}
		for _, f := range []struct{ file, path string }{
			{topology.ClickHouseUser, "users/default/password"},
			{topology.ClickHouseConf, "remote_servers/df_cluster/shard/replica/password"},
		} {
			root, err := layout.XML(f.file, p.File(f.file).Data)
			if err != nil {
				t.Fatal(err)
			}
			e := root.Find(f.path)
			if e == nil || e.Attr["from_env"] == "" {
				t.Fatalf("%s <%s> does not read from_env", f.file, f.path)
			}
			if got := envOf("clickhouse", e.Attr["from_env"]); got == nil || *got != wantCH {
				t.Fatalf("%s from_env=%s resolves to %v, want %q", f.file, e.Attr["from_env"], got, wantCH)
			}
		}
		server, err := layout.YAML(topology.ServerYAML, p.File(topology.ServerYAML).Data)
		if err != nil {
			t.Fatal(err)
		}
		if got := layout.Get(server, "controller.mysql.user-password").Value; got != wantMySQL {
			t.Fatalf("server.yaml MySQL password %q, want %q", got, wantMySQL)
		}
		if got := layout.Get(server, "ingester.ckdb-auth.password").Value; got != wantCH {
			t.Fatalf("server.yaml ClickHouse password %q, want %q", got, wantCH)
		}
	}
}

// FuzzINIValue: iniValue survives go-ini, the reader Grafana uses.
func FuzzINIValue(f *testing.F) {
	for _, s := range []string{"a#b", "a;b", " x ", "`", `"""`, "a`b\"c", "plain"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		if settings.CheckSecretText(v) != nil || (strings.Contains(v, "`") && strings.Contains(v, `"""`)) {
			t.Skip()
		}
		cfg, err := ini.LoadSources(ini.LoadOptions{}, []byte("[s]\nk = "+iniValue(v)+"\n"))
		if err != nil {
			t.Fatalf("%q: %v", v, err)
		}
		if got := cfg.Section("s").Key("k").String(); got != v {
			t.Fatalf("iniValue(%q) reads back as %q", v, got)
		}
	})
}
