package check

import (
	"errors"
	"fmt"
	"net/netip"
	"sort"
	"strings"

	"github.com/deepflow-compose/deepflow-compose/agentcfg"
	"github.com/deepflow-compose/deepflow-compose/deployment"
	"github.com/deepflow-compose/deepflow-compose/serverkeys"
	"github.com/deepflow-compose/deepflow-compose/settings"
	"github.com/deepflow-compose/deepflow-compose/topology"
)

// groupConfigRules validates the agent-group-config with agentcfg's
// schema for its layout, and the layout against the version.
func (m *model) groupConfigRules() {
	f := m.d.GroupConfig
	if f == nil {
		return
	}
	legacyDoc := m.groupConfigIsLegacy()
	if legacyVer, known := m.legacyGroupConfig(); known && legacyVer != legacyDoc {
		want, got := "the sectioned layout (global, inputs, processors, …)", "v6.5's layout (vtap_group_id, static_config)"
		if legacyVer {
			want, got = got, want
		}
		m.errorf(at(f.File, 1), "group-config", "rewrite it in "+want+"; deepflow-compose render writes the right one for the version",
			"this group config is in %s, but DeepFlow %s takes %s", got, m.version, want)
	}
	format := agentcfg.Sectioned
	if legacyDoc {
		format = agentcfg.Legacy
	}
	// Each release the version may run validates with its own template;
	// the reference template stands in when the version is unknown or its
	// layout is not the document's (reported above).
	var err error
	if rs := releasesOf(m.version); len(rs) > 0 && releasesTake(rs, format) {
		err = agentcfg.ValidateReleases(rs, m.d.Data[topology.GroupConfig])
	} else {
		err = agentcfg.Validate(format, m.d.Data[topology.GroupConfig])
	}
	var errs agentcfg.Errors
	if !errors.As(err, &errs) {
		if err != nil {
			m.errorf(at(f.File, 0), "group-config", "correct the file", "%v", err)
		}
		return
	}
	for _, e := range errs {
		fix := "correct it as DeepFlow's agent-group-config template for this version describes"
		switch {
		case errors.Is(e, agentcfg.ErrUnknownKey):
			fix = fmt.Sprintf("remove %s or correct its name; deepflow-server rejects unknown keys", e.Path)
		case errors.Is(e, agentcfg.ErrType):
			fix = fmt.Sprintf("give %s a value of the template's type", e.Path)
		case errors.Is(e, agentcfg.ErrGroupIDRequired):
			fix = "set vtap_group_id to the agent group's ID (g-…) from deepflow-ctl agent-group list"
		}
		m.errorf(at(f.File, e.Line), "group-config", fix, "%s: %s", e.Path, e.Msg)
	}
}

// releasesOf names the DeepFlow releases a version may run: the release
// itself when its schema is known (v6.6.8), else its catalog line's; nil
// when the version says nothing.
func releasesOf(version string) []string {
	v := version
	if v != "" && !strings.HasPrefix(v, "v") {
		v = "v" + v
	}
	for _, r := range agentcfg.Releases() {
		if r == v {
			return []string{r}
		}
	}
	if r, ok := catalogLine(v); ok {
		return r.Releases
	}
	return nil
}

func releasesTake(rs []string, f agentcfg.Format) bool {
	for _, r := range rs {
		if rf, err := agentcfg.ReleaseFormat(r); err != nil || rf != f {
			return false
		}
	}
	return true
}

// processAgentRules: agents on plain hosts need the server to take them
// for workload hosts (trident-type-for-unkonw-vtap where the release reads
// it, the group config's workload_resource_sync_enabled from v7.1.8 on)
// and their subnets in local_ip_ranges.
func (m *model) processAgentRules() {
	d := m.d
	if d.ServerYAML == nil {
		return
	}
	agents := d.Has(topology.AgentYAML) || d.Has(topology.AgentCompose) || d.Has(topology.AgentUnit) || d.Has(topology.AgentDomain)
	const key = serverkeys.UnknownAgentType
	v, ok := d.ServerYAML.Get(key)
	sev := Warning
	if agents {
		sev = Error
	}
	if rs := releasesOf(m.version); len(rs) > 0 {
		if read, err := serverkeys.ReadByAll(rs, key); err == nil && !read {
			m.workloadRule(rs, sev)
			m.subnetRules()
			return
		}
	}
	switch {
	case !ok:
		line := d.ServerYAML.KeyLine("controller.trisolaris")
		m.add(sev, at(topology.ServerYAML, line), "", "trident-type", "add trident-type-for-unkonw-vtap: 3 under controller.trisolaris",
			"%s is not set, so agents on plain hosts (an agent_sync domain) are not accepted", key)
	case strings.TrimSpace(v.Val) != "3":
		m.add(sev, v, "", "trident-type", "set trident-type-for-unkonw-vtap: 3",
			"%s is %s; agents on plain hosts register only when it is 3", key, v.Val)
	}
	m.subnetRules()
}

// workloadRule: on releases that no longer read trident-type-for-unkonw-vtap
// (v7.1.8 on) an unknown agent's type comes from its group config alone.
func (m *model) workloadRule(rs []string, sev Severity) {
	const key = agentcfg.WorkloadSyncKey
	f := m.d.GroupConfig
	if f == nil || m.groupConfigIsLegacy() {
		return
	}
	if v, ok := f.Get(key); ok && strings.TrimSpace(v.Val) == "true" {
		return
	}
	m.add(sev, at(f.File, 1), "", "workload-sync", "set inputs.resources.workload_resource_sync_enabled: true in the group config",
		"on DeepFlow %s an unknown agent's type comes from its group config alone (server.yaml's trident-type-for-unkonw-vtap is no longer read), and this group config does not set %s: true, so agents on plain hosts never register",
		agentcfg.ReleaseNames(rs), key)
}

// subnetRules: agent subnets must be in local_ip_ranges.
func (m *model) subnetRules() {
	d := m.d

	var subnets []string
	if s := m.settings(); s != nil {
		subnets = s.Agent.Subnets
	}
	if len(subnets) == 0 {
		return
	}
	ranges := d.ServerYAML.Strings("controller.genesis.local_ip_ranges")
	loc := at(topology.ServerYAML, d.ServerYAML.KeyLine("controller.genesis.local_ip_ranges"))
	var raw []string
	for _, r := range ranges {
		raw = append(raw, r.Val)
	}
	explicit := len(raw) > 0
	if !explicit {
		raw = topology.DefaultLocalIPRanges
		loc = at(topology.ServerYAML, d.ServerYAML.KeyLine("controller"))
	}
	var spans []span
	for _, r := range raw {
		if s, ok := parseSpan(r); ok {
			spans = append(spans, s)
		}
	}
	for _, sn := range subnets {
		s, ok := parseSpan(sn)
		if !ok {
			m.errorf(at(deployment.ManifestName, 0), "local-ip-ranges", "write it as a CIDR (10.1.0.0/16) or a range (10.1.0.1-10.1.0.9)",
				"agent subnet %q is neither a CIDR nor an a-b range", sn)
			continue
		}
		if covered(spans, s) {
			continue
		}
		fix := fmt.Sprintf("add - %s under controller.genesis.local_ip_ranges", sn)
		if !explicit {
			fix = fmt.Sprintf("add controller.genesis.local_ip_ranges listing DeepFlow's defaults (%s) and %s", strings.Join(topology.DefaultLocalIPRanges, ", "), sn)
		}
		m.errorf(loc, "local-ip-ranges", fix,
			"agent subnet %s (agent.subnets in %s) is not in controller.genesis.local_ip_ranges, so deepflow-server takes those agents for external hosts", sn, deployment.ManifestName)
	}
}

// span is an inclusive address range.
type span struct{ lo, hi netip.Addr }

func parseSpan(s string) (span, bool) {
	lo, hi, ok := settings.SubnetRange(s)
	return span{lo, hi}, ok
}

// covered reports whether the union of spans holds all of s.
func covered(spans []span, s span) bool {
	sort.Slice(spans, func(i, j int) bool { return spans[i].lo.Less(spans[j].lo) })
	cur := s.lo
	for _, x := range spans {
		if x.lo.BitLen() != cur.BitLen() || x.hi.Less(cur) {
			continue
		}
		if cur.Less(x.lo) {
			return false
		}
		if !x.hi.Less(s.hi) {
			return true
		}
		cur = x.hi.Next()
		if !cur.IsValid() {
			return true
		}
	}
	return false
}
