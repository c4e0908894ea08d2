package render

import (
	"fmt"

	"github.com/deepflow-compose/deepflow-compose/deployment"
	"github.com/deepflow-compose/deepflow-compose/layout"
	"github.com/deepflow-compose/deepflow-compose/topology"
)

// Secrets returns the passwords this plan writes to .env.
func (p *Plan) Secrets() (deployment.Secrets, error) {
	f := p.File(topology.Env)
	if f == nil {
		return deployment.Secrets{}, fmt.Errorf("%s is not part of this render", topology.Env)
	}
	env, err := layout.ReadEnv(f.Data)
	if err != nil {
		return deployment.Secrets{}, err
	}
	return deployment.SecretsFromEnv(env), nil
}
