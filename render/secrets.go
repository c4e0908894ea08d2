package render

import (
	"fmt"

	"github.com/deepflow-compose/deepflow-compose/layout"
)

// Secrets returns the passwords the deployment's .env holds.
func (d *Deployment) Secrets() Secrets {
	return secretsFromEnv(d.Env)
}

// Secrets returns the passwords this plan writes to .env.
func (p *Plan) Secrets() (Secrets, error) {
	f := p.File(layout.Env)
	if f == nil {
		return Secrets{}, fmt.Errorf("%s is not part of this render", layout.Env)
	}
	env, err := layout.ReadEnv(f.Data)
	if err != nil {
		return Secrets{}, err
	}
	return secretsFromEnv(env), nil
}

func secretsFromEnv(env map[string]string) Secrets {
	return Secrets{MySQL: env[envNames.MySQLPassword], ClickHouse: env[envNames.ClickHousePassword], Grafana: env[envNames.GrafanaPass]}
}
