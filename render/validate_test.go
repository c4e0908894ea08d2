package render

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/deepflow-compose/deepflow-compose/layout"
	"github.com/deepflow-compose/deepflow-compose/settings"
	"github.com/deepflow-compose/deepflow-compose/topology"
)

// TestValidateCatchesMiswiring: a plan whose file dials a port the
// topology did not resolve, or whose .env lost a secret, is refused with
// the file, the line and what was expected. Templates are correct today,
// so the defect is planted in the plan itself.
func TestValidateCatchesMiswiring(t *testing.T) {
	cases := []struct {
		name, file, from, to string
		want                 []string
	}{
		{"consumer port", topology.ServerYAML, "    port: 30130\n", "    port: 3306\n", []string{
			topology.ServerYAML + ":20: controller.mysql.port uses port 3306 for MySQL, but MySQL listens on 30130 (" + topology.MyCnf + ":9) [port-mismatch]",
			topology.ServerYAML + ":20: controller.mysql.port is \"3306\", want \"30130\" [render]",
		}},
		{"bind port", topology.MyCnf, "[mysqld]\ndefault-authentication-plugin=mysql_native_password\nbind-address=0.0.0.0\nport=30130", "[mysqld]\ndefault-authentication-plugin=mysql_native_password\nbind-address=0.0.0.0\nport=30131", []string{
			topology.MyCnf + ":9: mysqld.port is \"30131\", want \"30130\" [render]",
		}},
		{"agent host", topology.AgentYAML, "  - \"192.0.2.10\"\n", "  - \"192.0.2.11\"\n", []string{
			topology.AgentYAML + ":5: controller-ips is \"192.0.2.11\", want \"192.0.2.10\" [render]",
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := prepare(t, settings.Inputs{}, t.TempDir())
			f := p.File(c.file)
			if !bytes.Contains(f.Data, []byte(c.from)) {
				t.Fatalf("%s does not hold %q:\n%s", c.file, c.from, f.Data)
			}
			f.Data = bytes.Replace(f.Data, []byte(c.from), []byte(c.to), 1)
			env, err := layout.ReadEnv(p.File(topology.Env).Data)
			if err != nil {
				t.Fatal(err)
			}
			v := topology.Vars
			d, err := newData(p.Settings, p.Profile, p.Topology, Secrets{MySQL: env[v.MySQLPassword], ClickHouse: env[v.ClickHousePassword], Grafana: env[v.GrafanaPass]})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := agentSide(d); err != nil {
				t.Fatal(err)
			}
			err = validate(context.Background(), p, d)
			if !errors.Is(err, ErrValidation) {
				t.Fatalf("validate = %v, want ErrValidation", err)
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("validate error lacks %q:\n%v", w, err)
				}
			}
		})
	}
}
