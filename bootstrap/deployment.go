package bootstrap

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/deepflow-compose/deepflow-compose/agentcfg"
	"github.com/deepflow-compose/deepflow-compose/deployment"
	"github.com/deepflow-compose/deepflow-compose/topology"
)

// Target is where and what a rendered directory bootstraps.
type Target struct {
	// API is the controller HTTP API's base URL: the node IP and the
	// controller's published port.
	API string
	// GRPC is the controller gRPC port agents dial; Run waits for it
	// before the first HTTP request.
	GRPC string
	Spec Spec
}

// ForDeployment reads what a rendered directory asks the server to hold
// and where the server is.
func ForDeployment(d *deployment.Deployment) (Target, error) {
	t := d.Topology
	ctrl, err := t.External(topology.Controller)
	if err != nil {
		return Target{}, err
	}
	grpc, err := t.ForAgent(topology.GRPC)
	if err != nil {
		return Target{}, err
	}
	s, err := SpecFor(d)
	if err != nil {
		return Target{}, fmt.Errorf("%w: %w", ErrSpec, err)
	}
	return Target{API: ctrl.URL(), GRPC: grpc.String(), Spec: s}, nil
}

// SpecFor reads the group, its config and the domain a rendered directory
// asks for. In Kubernetes process mode (agent.kubernetes.clusterName set)
// the cluster's watcher agent brings its own domain, so no agent_sync
// domain is asked for.
func SpecFor(d *deployment.Deployment) (Spec, error) {
	cfg, err := os.ReadFile(filepath.Join(d.Dir, topology.GroupConfig))
	if err != nil {
		return Spec{}, err
	}
	format, err := agentcfg.ParseFormat(d.Release.GroupConfigFormat)
	if err != nil {
		return Spec{}, fmt.Errorf("release %s: %w", d.Settings.Version, err)
	}
	a := d.Settings.Agent
	s := Spec{DomainName: a.DomainName, GroupName: a.GroupName, GroupID: a.GroupID, Config: cfg, Format: format}
	if a.Kubernetes.ClusterName != "" {
		s.DomainName = ""
	}
	return s, nil
}
