package render

import (
	"context"
	"errors"
	"strings"
	"testing"

	"gopkg.in/ini.v1"

	"github.com/deepflow-compose/deepflow-compose/layout"
	"github.com/deepflow-compose/deepflow-compose/settings"
	"github.com/deepflow-compose/deepflow-compose/topology"
)

// FuzzSecrets renders random passwords and admin user names and reads every
// place they land back with that format's real parser: .env with compose's
// dotenv, the compose file with compose-go (interpolating .env), server.yaml
// with yaml.v3, grafana.ini with go-ini, ClickHouse's XML with
// encoding/xml. Following ${VAR}, $__env{} and from_env references to the
// reading container's environment must give back the exact value.
func FuzzSecrets(f *testing.F) {
	for _, s := range []string{"deepflow", `a"b'c\d`, "$HOME ${X} $$", "# not ; a comment", " lead", "trail ", "ünï©ødé", `\$`, "`", "{{ x }}", "a\\", "'"} {
		f.Add(s, s, "admin"+s)
	}
	f.Fuzz(func(t *testing.T, mysql, clickhouse, user string) {
		in := settings.Inputs{NodeIP: "192.0.2.10", Sets: []string{
			"mysql.password=" + mysql, "clickhouse.password=" + clickhouse, "grafana.adminUser=" + user, "grafana.adminPassword=" + mysql + clickhouse,
		}}
		p, err := Prepare(context.Background(), Options{Inputs: in, OutDir: "x"})
		if err != nil {
			if errors.Is(err, settings.ErrSettings) {
				return // refused up front: control characters, invalid UTF-8, empty user, or a list-looking value
			}
			t.Fatalf("Prepare: %v", err)
		}
		env, err := layout.ReadEnv(p.File(topology.Env).Data)
		if err != nil {
			t.Fatal(err)
		}
		wantMySQL, wantCH := p.Settings.MySQL.Password, p.Settings.ClickHouse.Password
		if wantMySQL == "" || wantCH == "" {
			return // empty means "generate"
		}
		if env[topology.Vars.MySQLPassword] != wantMySQL || env[topology.Vars.ClickHousePassword] != wantCH {
			t.Fatalf(".env reads back %q/%q, want %q/%q", env[topology.Vars.MySQLPassword], env[topology.Vars.ClickHousePassword], wantMySQL, wantCH)
		}
		proj := loadRendered(t, p)
		for svc, kv := range map[string]map[string]string{
			"mysql":            {"MYSQL_ROOT_PASSWORD": wantMySQL},
			"clickhouse":       {topology.Vars.ClickHousePassword: wantCH},
			"deepflow-grafana": {"MYSQL_PASSWORD": wantMySQL, "CLICKHOUSE_PASSWORD": wantCH, "GF_SECURITY_ADMIN_USER": p.Settings.Grafana.AdminUser, "GF_SECURITY_ADMIN_PASSWORD": p.Settings.Grafana.AdminPassword},
		} {
			for k, want := range kv {
				if got := proj.Services[svc].Environment[k]; got == nil || *got != want {
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
		if got := proj.Services["deepflow-grafana"].Environment[name]; got == nil || *got != wantMySQL {
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
			if got := proj.Services["clickhouse"].Environment[e.Attr["from_env"]]; got == nil || *got != wantCH {
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
	})
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
