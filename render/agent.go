package render

import (
	"errors"
	"fmt"

	"github.com/deepflow-compose/deepflow-compose/agentcfg"
	"github.com/deepflow-compose/deepflow-compose/deployment"
	"github.com/deepflow-compose/deepflow-compose/settings"
	"github.com/deepflow-compose/deepflow-compose/topology"
)

// agentSide fills what the agent files need: the group config in this
// version's format, the ClusterRole rules of extra Kubernetes resources and
// the server's local ranges. It returns notices for the user.
func agentSide(d *Data) ([]string, error) {
	s := d.S
	format, err := agentcfg.ParseFormat(d.R.GroupConfigFormat)
	if err != nil {
		return nil, err
	}
	d.GroupConfigFormat = format
	// Every agent this tool sets up runs on a plain host or node, so the
	// server must take it for a workload host (see hostRegistration).
	inGroup, inServer, err := hostRegistration(d.R)
	if err != nil {
		return nil, err
	}
	d.ServerTypesUnknownAgents = inServer
	cfg, err := agentcfg.RenderReleases(d.R.Releases, agentcfg.Input{
		GroupID: s.Agent.GroupID,
		Communication: agentcfg.Communication{
			IngesterIP: d.W["AgentIngester"].Host, IngesterPort: d.W["AgentIngester"].Port,
			ControllerIP: d.W["AgentController"].Host, ControllerPort: d.W["AgentController"].Port,
		},
		// Hypervisor resources only on request (agent.group.platformSync):
		// a host that runs no VM taken for a hypervisor never registers.
		WorkloadResourceSyncEnabled: inGroup,
		Group:                       s.Agent.Group,
	})
	var notices []string
	switch {
	case errors.Is(err, agentcfg.ErrGroupIDRequired):
		// A legacy config is incomplete without vtap_group_id; rather than
		// write a placeholder, leave it out until the ID exists.
		notices = append(notices, fmt.Sprintf("DeepFlow %s's agent-group-config must name its group, so agent-group-config.yaml is not written: "+
			"pass --group-id with the ID the server's render chose (agent.groupID in its %s)", s.Version, deployment.ManifestName))
	case err != nil:
		return nil, err
	default:
		d.GroupConfig = string(cfg)
	}
	rules, err := agentcfg.ClusterRoleRules(s.Agent.Group)
	if err != nil {
		return nil, err
	}
	d.ClusterRoleRules = string(rules)
	d.NTPClients = ntpClientRanges(s.Agent.Subnets)
	if s.Agent.Mode == settings.AgentProcess || len(s.Agent.Subnets) > 0 {
		d.LocalIPRanges = append(append([]string{}, topology.DefaultLocalIPRanges...), s.Agent.Subnets...)
	}
	return notices, nil
}

// wanted says whether an output file belongs to this render.
func wanted(path string, d *Data) bool {
	switch path {
	case topology.AgentCompose:
		return d.S.Agent.Mode == settings.AgentContainer
	case topology.AgentUnit:
		return d.S.Agent.Mode == settings.AgentProcess
	case topology.AgentDomain:
		// Kubernetes process agents join the cluster's own domain.
		return d.S.Agent.Kubernetes.ClusterName == ""
	case topology.AgentWatcherValues:
		return d.S.Agent.Kubernetes.ClusterName != ""
	case topology.AgentClusterRoleRules:
		return d.ClusterRoleRules != ""
	case topology.GroupConfig:
		return d.GroupConfig != ""
	}
	return true
}
