package engine

import (
	"fmt"
	"path/filepath"

	"github.com/deepflow-compose/deepflow-compose/deployment"
	"github.com/deepflow-compose/deepflow-compose/settings"
	"github.com/deepflow-compose/deepflow-compose/topology"
)

// Stack is what the engine needs to know about one rendered deployment.
// Every port and address in it comes from the render's topology.
type Stack struct {
	Dir         string
	Project     string
	ComposeFile string
	EnvFile     string
	Version     string
	Network     settings.Network
	NodeIP      string
	DataDir     string
	// AgentPrivileged: the agent's compose file runs it privileged.
	AgentPrivileged bool
	Topology        *topology.Topology
	// Grafana login, for the closing message.
	GrafanaUser string
	// GrafanaPasswordVar is the .env line that holds Grafana's password.
	GrafanaPasswordVar string
	// Images is every image the render pins, the agent's included.
	Images []string

	// secrets are .env's passwords; only their salted hashes leave the
	// process (the data dir's marker).
	secrets deployment.Secrets
}

// Load reads a rendered deployment directory.
func Load(dir string) (*Stack, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	d, err := deployment.Load(abs)
	if err != nil {
		return nil, err
	}
	return FromDeployment(d)
}

// FromDeployment adapts a loaded render.
func FromDeployment(d *deployment.Deployment) (*Stack, error) {
	if d.ProjectName == "" {
		return nil, fmt.Errorf("%s: %s names no compose project", d.Dir, topology.Env)
	}
	s := d.Settings
	return &Stack{
		Dir:                d.Dir,
		Project:            d.ProjectName,
		ComposeFile:        filepath.Join(d.Dir, topology.Compose),
		EnvFile:            filepath.Join(d.Dir, topology.Env),
		Version:            d.Release.DeepFlow,
		Network:            s.Network,
		NodeIP:             s.NodeIP,
		DataDir:            s.DataDir,
		AgentPrivileged:    s.Agent.Privileged,
		Topology:           d.Topology,
		GrafanaUser:        s.Grafana.AdminUser,
		GrafanaPasswordVar: topology.Vars.GrafanaPass,
		Images:             d.Images.List(),
		secrets:            d.Secrets(),
	}, nil
}

// component finds a long-running component by service name or key.
func (s *Stack) component(name string) *topology.Component {
	for _, c := range s.Topology.Components() {
		if c.Service == name || c.Key == name || c.Container == name {
			return c
		}
	}
	return nil
}

// GrafanaURL is where a browser reaches Grafana.
func (s *Stack) GrafanaURL() string {
	ep, err := s.Topology.External(topology.Web)
	if err != nil {
		return ""
	}
	return ep.URL()
}
