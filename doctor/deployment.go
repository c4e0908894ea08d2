package doctor

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/deepflow-compose/deepflow-compose/bootstrap"
	"github.com/deepflow-compose/deepflow-compose/deployment"
	"github.com/deepflow-compose/deepflow-compose/topology"
)

// Plan is what doctor needs from a rendered directory.
type Plan struct {
	// API is the controller HTTP API's base URL (node IP, published port).
	API    string
	Expect Expect
	// Agents are the agent IPs to look for before the user's own: the
	// server's own agent (the node IP) when agent.onServer is on.
	Agents []string
}

// ForDeployment derives the expectations from a rendered directory: ports
// on the node IP, local_ip_ranges as the rendered server.yaml sets them,
// the group, its config and the server's time zone.
func ForDeployment(d *deployment.Deployment) (Plan, error) {
	t, s := d.Topology, d.Settings
	ctrl, err := t.External(topology.Controller)
	if err != nil {
		return Plan{}, err
	}
	var ports []Endpoint
	for _, p := range []struct {
		name string
		n    topology.Name
	}{{"controller HTTP API", topology.Controller}, {"controller gRPC (agents)", topology.GRPC}, {"ingester (agents)", topology.Ingester}} {
		e, err := t.External(p.n)
		if err != nil {
			return Plan{}, err
		}
		ports = append(ports, Endpoint{Name: p.name, Addr: e.String()})
	}
	spec, err := bootstrap.SpecFor(d)
	if err != nil {
		return Plan{}, err
	}
	ranges, err := localIPRanges(filepath.Join(d.Dir, topology.ServerYAML))
	if err != nil {
		return Plan{}, err
	}
	tz, err := time.LoadLocation(s.Timezone)
	if err != nil {
		// Without the zone database SYNCED_AT is read as UTC; the
		// staleness check is then off by the zone's offset at most.
		tz = nil
	}
	e := Expect{
		DomainName: spec.DomainName, GroupName: spec.GroupName, GroupID: spec.GroupID,
		GroupConfig: spec.Config, Format: spec.Format,
		HostAgents:    s.Agent.Kubernetes.ClusterName == "",
		ServerVersion: s.Version,
		Ports:         ports,
		LocalIPRanges: ranges,
		ServerTZ:      tz,
	}
	if s.Offline && (s.NTPServer == "" || s.NTPServer == t.NodeIP) {
		e.NTPAddr = (topology.Endpoint{Host: t.NodeIP, Port: topology.NTPPort}).String()
	}
	p := Plan{API: ctrl.URL(), Expect: e}
	if t.AgentOnServer {
		p.Agents = []string{t.NodeIP}
	}
	return p, nil
}

// localIPRanges reads controller.genesis.local_ip_ranges from the rendered
// server.yaml; DeepFlow's defaults apply when it is absent.
func localIPRanges(path string) ([]string, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return append([]string(nil), topology.DefaultLocalIPRanges...), nil
	}
	if err != nil {
		return nil, err
	}
	var doc struct {
		Controller struct {
			Genesis struct {
				LocalIPRanges []string `yaml:"local_ip_ranges"`
			} `yaml:"genesis"`
		} `yaml:"controller"`
	}
	if err := yaml.Unmarshal(b, &doc); err != nil {
		return nil, fmt.Errorf("%s: %w", filepath.Base(path), err)
	}
	if r := doc.Controller.Genesis.LocalIPRanges; len(r) > 0 {
		return r, nil
	}
	return append([]string(nil), topology.DefaultLocalIPRanges...), nil
}
