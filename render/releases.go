package render

import (
	"fmt"
	"strings"

	"github.com/deepflow-compose/deepflow-compose/agentcfg"
	"github.com/deepflow-compose/deepflow-compose/catalog"
	"github.com/deepflow-compose/deepflow-compose/serverkeys"
	"github.com/deepflow-compose/deepflow-compose/settings"
)

// A server takes an agent on a plain host (an agent_sync domain, no cloud
// or Kubernetes to learn it from) for a workload host in one of two ways:
// agentcfg.WorkloadSyncKey in the agent's group config, or
// serverkeys.UnknownAgentType in server.yaml (v7.1.8 removed it).
//
// hostRegistration decides how the agents register as workload hosts on
// every release the version may run: the group config's key where every
// release accepts it, server.yaml's where every release reads it (both
// where both hold). It fails, naming the release, when one release would
// take neither.
//
// This departs from seed 003, which set hypervisor_resource_enabled for
// host-network agents: that seed predates v7.1.8, where the server types
// an unknown agent from its group config alone, and a v7.1.8 server took
// such an agent for a hypervisor, built no VM, and never registered it.
// hypervisor_resource_enabled is now only agent.group.platformSync, for
// hosts that really run VMs.
func hostRegistration(r *catalog.Release) (inGroup, inServer bool, err error) {
	if len(r.Releases) == 0 {
		return false, false, fmt.Errorf("%w: %s lists no releases in the catalog", catalog.ErrUnknownVersion, r.Name)
	}
	var noGroup, noServer []string
	for _, rel := range r.Releases {
		f, err := agentcfg.ReleaseFormat(rel)
		if err != nil {
			return false, false, err
		}
		// v6.5's platform_enabled, written for workload hosts, is its
		// group-config switch.
		has := f == agentcfg.Legacy
		if !has {
			if has, err = agentcfg.HasKey(rel, agentcfg.WorkloadSyncKey); err != nil {
				return false, false, err
			}
		}
		reads, err := serverkeys.Reads(rel, serverkeys.UnknownAgentType)
		if err != nil {
			return false, false, err
		}
		if !has {
			noGroup = append(noGroup, agentcfg.ReleaseName(rel))
		}
		if !reads {
			noServer = append(noServer, agentcfg.ReleaseName(rel))
		}
	}
	inGroup, inServer = len(noGroup) == 0, len(noServer) == 0
	if !inGroup && !inServer {
		return false, false, fmt.Errorf("%w: version %s: agents on plain hosts could not register: DeepFlow %s does not accept the group config's %s, and DeepFlow %s does not read server.yaml's %s",
			settings.ErrSettings, r.Name, strings.Join(noGroup, ", "), agentcfg.WorkloadSyncKey, strings.Join(noServer, ", "), serverkeys.UnknownAgentType)
	}
	return inGroup, inServer, nil
}
