// Package doctor runs the agent-registration checklist against a live
// deepflow-server: its health, its ports on the node IP, the agent_sync
// domain, the agent group and its config, every registered agent, and
// each agent IP the user names. Findings have check's shape: severity,
// what (message), why and fix.
package doctor

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/deepflow-compose/deepflow-compose/agentcfg"
	"github.com/deepflow-compose/deepflow-compose/api"
	"github.com/deepflow-compose/deepflow-compose/bootstrap"
	"github.com/deepflow-compose/deepflow-compose/check"
)

// Severity says how bad a finding is: check's severities, and two that a
// live checklist also reports.
type Severity = check.Severity

const (
	Error   = check.Error
	Warning = check.Warning
	// Info is worth knowing and needs no action.
	Info Severity = "info"
	// OK is a check that passed.
	OK Severity = "ok"
)

// Finding is one result. JSON field names follow check.Finding.
type Finding struct {
	Severity Severity `json:"severity"`
	Rule     string   `json:"rule"`
	// Subject is what the finding is about: "server", "agent 192.0.2.7", …
	Subject string   `json:"subject"`
	Message string   `json:"message"`
	Why     string   `json:"why,omitempty"`
	Fix     string   `json:"fix,omitempty"`
	Details []string `json:"details,omitempty"`
}

// Endpoint is a TCP port that must answer on the node IP.
type Endpoint struct {
	// Name says what listens there: "controller HTTP API", "controller
	// gRPC (agents)", "ingester (agents)".
	Name string
	Addr string
}

// Expect is what the rendered directory says the server should hold.
type Expect struct {
	DomainName  string
	GroupName   string
	GroupID     string
	GroupConfig []byte
	Format      agentcfg.Format
	// HostAgents: the agents are legacy hosts (compose or process agents),
	// which register as workload types and need
	// workload_resource_sync_enabled (platform_enabled on v6.5).
	HostAgents bool
	// ServerVersion is the rendered DeepFlow version ("v7.1.8"); "" skips
	// the version-skew check.
	ServerVersion string
	// Ports are dialled from here; use the node IP, not loopback.
	Ports []Endpoint
	// Dial replaces net.Dialer for the port and NTP checks.
	Dial func(ctx context.Context, network, addr string) (net.Conn, error)
	// LocalIPRanges are controller.genesis.local_ip_ranges: CIDRs or
	// "first-last" ranges. Empty skips the check.
	LocalIPRanges []string
	// NTPAddr, when set ("NODE_IP:123"), checks that an NTP server
	// answers there, for offline agents that sync time from the server.
	NTPAddr string
	// ServerTZ is the server's TZ, for reading SYNCED_AT (UTC when nil).
	ServerTZ *time.Location
	// Now is time.Now when nil.
	Now func() time.Time
	// SyncStale: an agent_sync domain not synced for longer is reported
	// (default 10 min; the sync period is 60 s).
	SyncStale time.Duration
	// Timeout bounds each dial (default 3 s).
	Timeout time.Duration
}

type doc struct {
	c   *api.Client
	e   Expect
	out []Finding
	// group is the expected group as the server holds it; "" LCUUID when
	// missing.
	group      api.Group
	configGood bool
	domainOK   bool
}

func (d *doc) add(f Finding) { d.out = append(d.out, f) }

// Run performs the checks and returns the findings in checklist order.
// Problems with the server are findings, not errors; the error is for a
// cancelled context.
func Run(ctx context.Context, c *api.Client, e Expect, agents []string) ([]Finding, error) {
	if e.Now == nil {
		e.Now = time.Now
	}
	if e.ServerTZ == nil {
		e.ServerTZ = time.UTC
	}
	if e.SyncStale <= 0 {
		e.SyncStale = 10 * time.Minute
	}
	if e.Timeout <= 0 {
		e.Timeout = 3 * time.Second
	}
	if e.Dial == nil {
		var dl net.Dialer
		e.Dial = dl.DialContext
	}
	d := &doc{c: c, e: e, out: []Finding{}}
	d.ports(ctx)
	if e.NTPAddr != "" {
		d.ntp(ctx)
	}
	if !d.health(ctx) {
		d.agentsOffline(agents)
		return d.out, ctx.Err()
	}
	steps := []func(context.Context) error{d.domain, d.groupAndConfig, func(ctx context.Context) error { return d.agents(ctx, agents) }}
	for _, f := range steps {
		if err := f(ctx); err != nil {
			if ctx.Err() != nil {
				return d.out, ctx.Err()
			}
			d.add(apiFailure(err))
		}
	}
	return d.out, nil
}

func apiFailure(err error) Finding {
	f := Finding{Severity: Error, Rule: "server.api", Subject: "server", Message: err.Error()}
	if errors.Is(err, api.ErrUnreachable) {
		f.Fix = "check that deepflow-server is running (deepflow-compose status DIR)"
	}
	return f
}

func (d *doc) ports(ctx context.Context) {
	for _, p := range d.e.Ports {
		dctx, cancel := context.WithTimeout(ctx, d.e.Timeout)
		conn, err := d.e.Dial(dctx, "tcp", p.Addr)
		cancel()
		if err == nil {
			conn.Close()
			d.add(Finding{Severity: OK, Rule: "server.port", Subject: "server", Message: fmt.Sprintf("%s port %s answers", p.Name, p.Addr)})
			continue
		}
		if d.loopbackOnly(ctx, p.Addr) {
			d.add(Finding{Severity: Error, Rule: "server.port", Subject: "server",
				Message: fmt.Sprintf("%s port %s does not answer on the node IP, only on loopback", p.Name, p.Addr),
				Why:     "agents on other hosts (and the server's own agent under bridge networking) reach the server on the node IP",
				Fix:     "publish the port on the node IP or all addresses, not 127.0.0.1, and render again with the right node IP if it changed"})
			continue
		}
		d.add(Finding{Severity: Error, Rule: "server.port", Subject: "server",
			Message: fmt.Sprintf("%s port %s does not answer: %v", p.Name, p.Addr, err),
			Why:     "agents and deepflow-ctl reach the server on the node IP; a port that answers only on loopback, or not at all, leaves agents unregistered or silent",
			Fix:     "check that deepflow-server runs and publishes the port (deepflow-compose status DIR), that it is bound to the node IP and not only 127.0.0.1, and that no firewall drops it"})
	}
}

// loopbackOnly says whether the port answers on 127.0.0.1 when addr is
// not itself a loopback address.
func (d *doc) loopbackOnly(ctx context.Context, addr string) bool {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if ip, err := netip.ParseAddr(host); err != nil || ip.IsLoopback() {
		return false
	}
	dctx, cancel := context.WithTimeout(ctx, d.e.Timeout)
	defer cancel()
	conn, err := d.e.Dial(dctx, "tcp", net.JoinHostPort("127.0.0.1", port))
	if err != nil {
		return false
	}
	conn.Close()
	return true
}

// ntp sends one SNTP client request and waits for a server answer.
func (d *doc) ntp(ctx context.Context) {
	f := Finding{Severity: Warning, Rule: "server.ntp", Subject: "server",
		Why: "offline agents take their time from the server; without it their data lands at the wrong time",
		Fix: "run an NTP server on the node, or point the agents at one they can reach"}
	dctx, cancel := context.WithTimeout(ctx, d.e.Timeout)
	defer cancel()
	conn, err := d.e.Dial(dctx, "udp", d.e.NTPAddr)
	if err != nil {
		f.Message = fmt.Sprintf("NTP at %s: %v", d.e.NTPAddr, err)
		d.add(f)
		return
	}
	defer conn.Close()
	if dl, ok := dctx.Deadline(); ok {
		_ = conn.SetDeadline(dl)
	}
	req := make([]byte, 48)
	req[0] = 0x23 // LI 0, version 4, mode 3 (client)
	binary.BigEndian.PutUint32(req[40:], uint32(d.e.Now().Unix()+2208988800))
	if _, err = conn.Write(req); err == nil {
		resp := make([]byte, 512)
		var n int
		n, err = conn.Read(resp)
		if err == nil && (n < 48 || resp[0]&7 != 4) {
			err = fmt.Errorf("the answer is not an NTP server reply")
		}
	}
	if err != nil {
		f.Message = fmt.Sprintf("no NTP answer from %s: %v", d.e.NTPAddr, err)
		d.add(f)
		return
	}
	d.add(Finding{Severity: OK, Rule: "server.ntp", Subject: "server", Message: fmt.Sprintf("NTP answers at %s", d.e.NTPAddr)})
}

// health reports /v1/health/ and says whether the API checks can go on.
func (d *doc) health(ctx context.Context) bool {
	h, err := d.c.Health(ctx)
	if err != nil {
		f := apiFailure(err)
		f.Rule = "server.health"
		if errors.Is(err, api.ErrUnreachable) {
			f.Message = "deepflow-server's controller API does not answer at " + d.c.Base()
			f.Why = err.Error()
		}
		d.add(f)
		return false
	}
	if h.Ready {
		d.add(Finding{Severity: OK, Rule: "server.health", Subject: "server", Message: "deepflow-server is ready"})
		return true
	}
	f := Finding{Severity: Error, Rule: "server.health", Subject: "server"}
	stage := h.Stage
	if stage == "" {
		stage = h.Description
	}
	f.Message = fmt.Sprintf("deepflow-server is not ready: it is in stage %q", stage)
	if h.TimeCost > 0 {
		f.Message += " for " + h.TimeCost.Round(time.Second).String()
	}
	if strings.Contains(strings.ToLower(stage), "migration") {
		f.Why = "the server migrates its MySQL schema at start-up, which can take minutes after an upgrade; a failed migration exits and compose restarts it, so it shows this stage again and again"
		f.Fix = "wait, and do not restart deepflow-server during the migration: a killed migration can leave the database half-migrated. " +
			"If it stays in this stage, read `docker logs deepflow-server` for db_version errors: a server older than its database (a downgrade) never starts and needs the database restored or wiped"
		if h.TimeCost > 10*time.Minute {
			f.Message += ": it looks stuck"
		}
	} else {
		f.Why = "the server answers its API only once every start-up stage is done"
		f.Fix = "wait and run doctor again; if the stage never changes, read `docker logs deepflow-server`"
	}
	d.add(f)
	return false
}

const sqlTime = "2006-01-02 15:04:05"

func (d *doc) domain(ctx context.Context) error {
	x, found, err := d.c.AgentSyncDomain(ctx)
	if err != nil {
		return err
	}
	if !found && !d.e.HostAgents {
		d.add(Finding{Severity: Info, Rule: "domain.missing", Subject: "server", Message: "there is no agent_sync domain; none is needed when the agents run on Kubernetes nodes, which register under the cluster's domain"})
		d.domainOK = true
		return nil
	}
	if !found {
		d.add(Finding{Severity: Error, Rule: "domain.missing", Subject: "server", Message: "there is no agent_sync domain",
			Why: "a host agent registers only into a VM that genesis builds from the agent_sync domain; without one no agent registers",
			Fix: "run deepflow-compose bootstrap DIR"})
		return nil
	}
	d.domainOK = true
	subj := fmt.Sprintf("domain %q", x.Name)
	if x.Name != d.e.DomainName && d.e.DomainName != "" {
		d.add(Finding{Severity: Info, Rule: "domain.name", Subject: subj,
			Message: fmt.Sprintf("the agent_sync domain is %q, not the rendered %q; DeepFlow allows one per region, so it is used", x.Name, d.e.DomainName)})
	}
	switch x.State {
	case api.DomainStateNormal:
	default:
		f := Finding{Severity: Warning, Rule: "domain.state", Subject: subj, Message: fmt.Sprintf("the agent_sync domain's STATE is %s", domainState(int(x.State)))}
		if x.ErrorMsg != "" {
			f.Message += fmt.Sprintf(": %q", x.ErrorMsg)
		}
		if strings.Contains(x.ErrorMsg, "invalid vm count") {
			f.Severity = Error
			f.Why = "no agent reported a host it could build a VM from: agents without a group config (or without workload_resource_sync_enabled) send no interfaces"
			f.Fix = "check the group config findings below, and that agents ask for the rendered group (vtap-group-id-request)"
		}
		d.add(f)
	}
	if x.SyncedAt == "" {
		d.add(Finding{Severity: Warning, Rule: "domain.synced", Subject: subj, Message: "the agent_sync domain never synced",
			Why: "it syncs once a minute once the server runs; a domain that never synced has had no agent data", Fix: "wait a minute after bootstrap and run doctor again"})
	} else if t, err := time.ParseInLocation(sqlTime, x.SyncedAt, d.e.ServerTZ); err == nil {
		if age := d.e.Now().Sub(t); age > d.e.SyncStale {
			d.add(Finding{Severity: Warning, Rule: "domain.synced", Subject: subj,
				Message: fmt.Sprintf("the agent_sync domain last synced at %s, %s ago", x.SyncedAt, age.Round(time.Second)),
				Why:     "it should sync every minute; a stale sync means genesis is stuck or the server restarts", Fix: "read `docker logs deepflow-server` for genesis errors"})
		}
	}
	d.add(Finding{Severity: OK, Rule: "domain", Subject: subj, Message: "agent_sync domain exists"})
	return nil
}

func domainState(s int) string {
	switch s {
	case api.DomainStateNormal:
		return "1 (normal)"
	case api.DomainStateException:
		return "3 (exception)"
	case api.DomainStateWarning:
		return "4 (warning)"
	}
	return strconv.Itoa(s)
}

func (d *doc) groupAndConfig(ctx context.Context) error {
	subj := fmt.Sprintf("group %q", d.e.GroupName)
	gs, err := d.c.Groups(ctx, api.GroupFilter{Name: d.e.GroupName})
	if err != nil {
		return err
	}
	for _, g := range gs {
		if g.Name != d.e.GroupName {
			continue
		}
		if g.ShortUUID != d.e.GroupID {
			d.add(Finding{Severity: Error, Rule: "group.id", Subject: subj,
				Message: fmt.Sprintf("agent group %q has ID %s, the rendered agent files ask for %s", g.Name, g.ShortUUID, d.e.GroupID),
				Why:     "agents that ask for a group ID the server does not know fall into the default group, without the rendered config",
				Fix:     fmt.Sprintf("render again with --set agent.groupID=%s, or delete the group and run bootstrap", g.ShortUUID)})
			return nil
		}
		d.group = g
		d.add(Finding{Severity: OK, Rule: "group", Subject: subj, Message: fmt.Sprintf("agent group exists with ID %s", g.ShortUUID)})
		return d.config(ctx)
	}
	d.add(Finding{Severity: Error, Rule: "group.missing", Subject: subj, Message: fmt.Sprintf("agent group %q (%s) does not exist", d.e.GroupName, d.e.GroupID),
		Why: "agents ask for it by ID in vtap-group-id-request; without it they get the default group and no workload sync",
		Fix: "run deepflow-compose bootstrap DIR"})
	return nil
}

func (d *doc) config(ctx context.Context) error {
	subj := fmt.Sprintf("group %q", d.e.GroupName)
	capi, err := d.c.ProbeConfigAPI(ctx)
	if err != nil {
		return err
	}
	if (capi == api.ConfigAPINew) != (d.e.Format == agentcfg.Sectioned) {
		d.add(Finding{Severity: Error, Rule: "group.config.format", Subject: subj,
			Message: fmt.Sprintf("the server has the %s API but the rendered group config is in the %s layout", capi, d.e.Format),
			Why:     "v6.6.9 and later take the sectioned layout through /v1/agent-group-configuration/; older servers take the v6.5 legacy layout",
			Fix:     "render for the server's version and run bootstrap"})
		return nil
	}
	var have []byte
	found := false
	if capi == api.ConfigAPINew {
		have, found, err = d.c.GroupConfig(ctx, d.group.LCUUID)
	} else {
		have, _, found, err = d.c.FindLegacyGroupConfig(ctx, d.e.GroupID)
	}
	if err != nil {
		return err
	}
	if !found {
		d.add(Finding{Severity: Error, Rule: "group.config.missing", Subject: subj, Message: fmt.Sprintf("agent group %s has no group config on the server", d.e.GroupID),
			Why: "without it the server answers agents \"vtap group config not found\", gives them no type and builds no VM, so they never register. " +
				"This is also what a v6.6+ deepflow-ctl leaves behind when the config was submitted in the legacy syntax",
			Fix: "run deepflow-compose bootstrap DIR; then restart deepflow-server, or wait up to 5 minutes for it to reread group configs"})
		return nil
	}
	changes, err := bootstrap.SemanticDiff(have, d.e.GroupConfig, capi == api.ConfigAPILegacy)
	if err != nil {
		d.add(Finding{Severity: Error, Rule: "group.config", Subject: subj, Message: "cannot compare the group config: " + err.Error()})
		return nil
	}
	d.configGood = true
	if len(changes) > 0 {
		f := Finding{Severity: Warning, Rule: "group.config.differs", Subject: subj,
			Message: fmt.Sprintf("the group config on the server differs from the rendered file in %d key(s)", len(changes)),
			Why:     "agents run with the server's copy, not with agent/agent-group-config.yaml",
			Fix:     "run deepflow-compose bootstrap DIR to replace it (- server, + rendered)"}
		for _, c := range changes {
			f.Details = append(f.Details, c.String())
		}
		d.add(f)
	} else {
		d.add(Finding{Severity: OK, Rule: "group.config", Subject: subj, Message: "group config on the server equals the rendered file"})
	}
	if d.e.HostAgents && !workloadSync(have, capi == api.ConfigAPILegacy) {
		d.configGood = false
		key, val := agentcfg.WorkloadSyncKey, "true"
		if capi == api.ConfigAPILegacy {
			key, val = "platform_enabled", "1"
		}
		d.add(Finding{Severity: Error, Rule: "group.config.workload", Subject: subj,
			Message: fmt.Sprintf("the group config on the server does not set %s: %s", key, val),
			Why:     "a host agent reports its interfaces only with it; from v7.1.8 the server also takes the agent's type from it, so without it hosts never register",
			Fix:     "set it in the rendered config (it is on by default for host profiles) and run bootstrap"})
	}
	return nil
}

func workloadSync(doc []byte, legacy bool) bool {
	var m map[string]any
	if yaml.Unmarshal(doc, &m) != nil {
		return false
	}
	if legacy {
		v := m["platform_enabled"]
		return v == 1 || v == true
	}
	in, _ := m["inputs"].(map[string]any)
	res, _ := in["resources"].(map[string]any)
	return res["workload_resource_sync_enabled"] == true
}

func (d *doc) agentsOffline(agents []string) {
	for _, a := range agents {
		d.ipRange(a)
	}
}

func (d *doc) agents(ctx context.Context, wanted []string) error {
	vtaps, err := d.c.Vtaps(ctx)
	if err != nil {
		return err
	}
	byIP := map[string]int{}
	for i, v := range vtaps {
		for _, ip := range []string{v.CtrlIP, v.LaunchServer} {
			if ip != "" {
				if _, ok := byIP[ip]; !ok {
					byIP[ip] = i
				}
			}
		}
	}
	var vifs []api.Vinterface
	for _, a := range wanted {
		if _, ok := byIP[a]; !ok {
			if vifs, err = d.c.Vinterfaces(ctx); errors.Is(err, api.ErrNotFound) {
				d.add(Finding{Severity: Info, Rule: "server.genesis", Subject: "server",
					Message: "this server has no /v1/sync/vinterface/: doctor cannot tell an agent that reports from one that is silent"})
			} else if err != nil {
				return err
			}
			break
		}
	}
	// The named agents first, in the order given (the caller puts the
	// server's own agent first), then the others by IP.
	done := map[int]bool{}
	for _, a := range wanted {
		d.ipRange(a)
		i, ok := byIP[a]
		switch {
		case !ok:
			d.unregistered(a, vifs)
		case !done[i]:
			done[i] = true
			d.agent(vtaps[i])
		}
	}
	var rest []int
	for i := range vtaps {
		if !done[i] {
			rest = append(rest, i)
		}
	}
	sort.SliceStable(rest, func(a, b int) bool { return vtaps[rest[a]].CtrlIP < vtaps[rest[b]].CtrlIP })
	for _, i := range rest {
		d.agent(vtaps[i])
	}
	if len(vtaps) == 0 && len(wanted) == 0 {
		d.add(Finding{Severity: Info, Rule: "agent", Subject: "agents", Message: "no agent is registered",
			Fix: "start agents with the rendered agent/ files, or name one with --agent IP to see why it does not register"})
	}
	return nil
}

func (d *doc) ipRange(a string) {
	subj := "agent " + a
	ip, err := netip.ParseAddr(a)
	if err != nil {
		d.add(Finding{Severity: Error, Rule: "agent.ip", Subject: subj, Message: fmt.Sprintf("%q is not an IP address", a)})
		return
	}
	if len(d.e.LocalIPRanges) == 0 {
		return
	}
	in, bad := InRanges(ip, d.e.LocalIPRanges)
	for _, b := range bad {
		d.add(Finding{Severity: Warning, Rule: "server.local_ip_ranges", Subject: "server", Message: fmt.Sprintf("local_ip_ranges entry %q is not a CIDR or a first-last range", b)})
	}
	if !in {
		d.add(Finding{Severity: Warning, Rule: "agent.local_ip_ranges", Subject: subj,
			Message: fmt.Sprintf("%s is outside local_ip_ranges (%s)", a, strings.Join(d.e.LocalIPRanges, ", ")),
			Why:     "the server learns its interface as a WAN address, so traffic is not attributed to the host's LAN IP",
			Fix:     "add its subnet to agent.subnets (render --set agent.subnets=…), then up again to restart deepflow-server"})
	}
}

// InRanges says whether ip is inside one of ranges (CIDRs or
// "first-last"), and lists the entries it could not parse.
func InRanges(ip netip.Addr, ranges []string) (in bool, bad []string) {
	for _, r := range ranges {
		r = strings.TrimSpace(r)
		if p, err := netip.ParsePrefix(r); err == nil {
			if p.Contains(ip) {
				in = true
			}
			continue
		}
		lo, hi, ok := strings.Cut(r, "-")
		a, err1 := netip.ParseAddr(strings.TrimSpace(lo))
		b, err2 := netip.ParseAddr(strings.TrimSpace(hi))
		if !ok || err1 != nil || err2 != nil || a.Is4() != b.Is4() {
			bad = append(bad, r)
			continue
		}
		if a.Is4() == ip.Is4() && ip.Compare(a) >= 0 && ip.Compare(b) <= 0 {
			in = true
		}
	}
	return in, bad
}

func (d *doc) unregistered(a string, vifs []api.Vinterface) {
	subj := "agent " + a
	var seen []string
	for _, v := range vifs {
		hit := v.HostIP == a || v.NodeIP == a
		for _, ip := range v.IPs {
			if p, _, _ := strings.Cut(ip, "/"); p == a {
				hit = true
			}
		}
		if hit {
			seen = append(seen, fmt.Sprintf("interface %s %s on %s (last seen %s)", v.Name, v.MAC, v.DeviceName, v.LastSeen))
		}
	}
	if len(seen) > 0 {
		f := Finding{Severity: Error, Rule: "agent.unregistered", Subject: subj,
			Message: fmt.Sprintf("%s reports its interfaces (genesis sync) but is not registered", a),
			Why:     "the server heard from the agent but could not match it to a VM of the agent_sync domain",
			Fix:     "likely reasons, most common first: " + strings.Join(d.reasons(), "; "),
			Details: seen}
		d.add(f)
		return
	}
	d.add(Finding{Severity: Error, Rule: "agent.silent", Subject: subj,
		Message: fmt.Sprintf("%s is not registered and has reported nothing", a),
		Why:     "the agent never reached the controller, or was refused before its first genesis sync",
		Fix: "check that deepflow-agent runs on that host and that its YAML names controller-ips: [node IP] and the published controller port; " +
			"that the port is open from that host; and that the agent is not newer than the server (its log then shows gRPC \"unknown service agent.Synchronizer\", deepflow#9707)"})
}

func (d *doc) reasons() []string {
	var r []string
	if !d.domainOK {
		r = append(r, "there is no agent_sync domain (see above)")
	}
	if !d.configGood {
		r = append(r, "the group has no usable group config (see above)")
	}
	r = append(r,
		"the group config was posted after the server started: it rereads group configs every 5 minutes, so wait or restart deepflow-server",
		fmt.Sprintf("the agent does not ask for the group (vtap-group-id-request: %s in its YAML)", d.e.GroupID),
		"its capture interfaces do not match the group config's interface regex, so its MAC is unknown")
	return r
}

func (d *doc) agent(v api.Vtap) {
	subj := fmt.Sprintf("agent %s (%s)", v.CtrlIP, v.Name)
	bad := false
	switch v.State {
	case api.AgentNormal:
	case api.AgentLost:
		bad = true
		d.add(Finding{Severity: Error, Rule: "agent.state", Subject: subj, Message: "STATE is LOST: the agent is registered but not connected",
			Why: "it stopped, or lost its connection to the controller port", Fix: "start the agent, and check the controller port from its host (see the port findings)"})
	case api.AgentDisable:
		bad = true
		d.add(Finding{Severity: Warning, Rule: "agent.state", Subject: subj, Message: "STATE is DISABLE: the agent was disabled on the server",
			Fix: "enable it again in the server (deepflow-ctl agent or the API's ENABLE field)"})
	case api.AgentPending:
		bad = true
		d.add(Finding{Severity: Warning, Rule: "agent.state", Subject: subj, Message: "STATE is PENDING: the agent waits to be admitted",
			Why: "the server holds new agents when auto-registration is off", Fix: "enable vtap-auto-register in server.yaml or admit the agent"})
	default:
		bad = true
		d.add(Finding{Severity: Warning, Rule: "agent.state", Subject: subj, Message: fmt.Sprintf("STATE is %d, unknown to doctor", v.State)})
	}
	if d.e.HostAgents && v.Type != api.AgentTypeWorkloadV && v.Type != api.AgentTypeWorkloadP {
		bad = true
		d.add(Finding{Severity: Warning, Rule: "agent.type", Subject: subj,
			Message: fmt.Sprintf("TYPE is %s; a legacy host registers as CHOST_VM (3) or CHOST_BM (5)", agentType(int(v.Type))),
			Why:     "the server takes a host agent's type from its group config (workload_resource_sync_enabled) or, before v7.1.8, trident-type-for-unknow-vtap",
			Fix:     "make sure the agent asks for the rendered group and the group config enables workload sync; then delete the agent on the server so it registers again"})
	}
	if d.group.LCUUID != "" && v.GroupLCUUID != d.group.LCUUID {
		bad = true
		d.add(Finding{Severity: Warning, Rule: "agent.group", Subject: subj,
			Message: fmt.Sprintf("the agent is in group %q, not %q (%s)", v.GroupName, d.e.GroupName, d.e.GroupID),
			Why:     "it runs with that group's config; an agent keeps the group it registered with",
			Fix:     fmt.Sprintf("check vtap-group-id-request: %s in its YAML, then move it (PATCH /v1/vtaps/%s/ with VTAP_GROUP_LCUUID %s) or delete it so it registers again", d.e.GroupID, v.LCUUID, d.group.LCUUID)})
	}
	for _, b := range exceptionBits(v.Exceptions) {
		bad = true
		f := Finding{Severity: Warning, Rule: "agent.exception", Subject: subj, Message: "exception " + exceptionName(b)}
		if e, ok := exceptions[b]; ok {
			f.Severity, f.Why, f.Fix = e.sev, e.why, e.fix
		}
		d.add(f)
	}
	if d.e.ServerVersion != "" {
		av, aok := parseVersion(v.Revision)
		if !aok {
			av, aok = parseVersion(v.CompleteRevision)
		}
		sv, sok := parseVersion(d.e.ServerVersion)
		if aok && sok && av.newer(sv) {
			bad = true
			d.add(Finding{Severity: Warning, Rule: "agent.version", Subject: subj,
				Message: fmt.Sprintf("the agent (%s) is newer than the server (%s)", av, sv),
				Why:     "DeepFlow supports agents up to the server's version; a newer agent may call services the server lacks (deepflow#9707)",
				Fix:     "run the agent image of the server's version, or upgrade the server first"})
		}
	}
	if !bad {
		d.add(Finding{Severity: OK, Rule: "agent", Subject: subj, Message: fmt.Sprintf("registered, NORMAL, %s, in group %q, no exceptions", agentType(int(v.Type)), v.GroupName)})
	}
}

// agentTypeNames are DeepFlow's names of api's agent TYPE values.
var agentTypeNames = map[int]string{
	api.AgentTypeKVM: "KVM", api.AgentTypeESXI: "ESXI", api.AgentTypeWorkloadV: "CHOST_VM", api.AgentTypeWorkloadP: "CHOST_BM",
	api.AgentTypeDedicated: "DEDICATED", api.AgentTypePodHost: "K8S_BM", api.AgentTypePodVM: "K8S_VM", api.AgentTypeTunDecap: "TUN_DECAP",
	api.AgentTypeHyperV: "HYPER_V", api.AgentTypeK8sSidecar: "K8S_SIDECAR",
}

func agentType(t int) string {
	if n, ok := agentTypeNames[t]; ok {
		return fmt.Sprintf("%s (%d)", n, t)
	}
	return strconv.Itoa(t)
}

type version struct {
	n     [3]int
	patch bool
}

func (v version) String() string {
	if v.patch {
		return fmt.Sprintf("v%d.%d.%d", v.n[0], v.n[1], v.n[2])
	}
	return fmt.Sprintf("v%d.%d", v.n[0], v.n[1])
}

// newer compares as far as both versions go: v7.1 is not newer than
// v7.1.8.
func (v version) newer(o version) bool {
	k := 3
	if !v.patch || !o.patch {
		k = 2
	}
	for i := 0; i < k; i++ {
		if v.n[i] != o.n[i] {
			return v.n[i] > o.n[i]
		}
	}
	return false
}

var versionRE = regexp.MustCompile(`v?(\d+)\.(\d+)(?:\.(\d+))?`)

// parseVersion finds the first vX.Y[.Z] in a revision string such as
// "v7.1.8 ed89af6d…" or "v6.6-1234".
func parseVersion(s string) (version, bool) {
	m := versionRE.FindStringSubmatch(s)
	if m == nil {
		return version{}, false
	}
	var v version
	for i := 0; i < 3; i++ {
		if m[i+1] == "" {
			break
		}
		n, err := strconv.Atoi(m[i+1])
		if err != nil {
			return version{}, false
		}
		v.n[i] = n
		v.patch = i == 2
	}
	return v, true
}

// Summary counts findings by severity.
type Summary struct {
	Errors   int `json:"errors"`
	Warnings int `json:"warnings"`
}

// Report is doctor's JSON form.
type Report struct {
	Findings []Finding `json:"findings"`
	Summary  Summary   `json:"summary"`
}

// NewReport counts the findings.
func NewReport(fs []Finding) Report {
	r := Report{Findings: fs}
	if r.Findings == nil {
		r.Findings = []Finding{}
	}
	for _, f := range fs {
		switch f.Severity {
		case Error:
			r.Summary.Errors++
		case Warning:
			r.Summary.Warnings++
		}
	}
	return r
}

// ExitCode is 1 when something is wrong (an error or a warning), else 0.
func (r Report) ExitCode() int {
	if r.Summary.Errors+r.Summary.Warnings > 0 {
		return 1
	}
	return 0
}

// WriteJSON writes the report as one JSON document.
func (r Report) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(r)
}

// WriteText writes one finding per paragraph, then a summary line.
func (r Report) WriteText(w io.Writer) error {
	var b strings.Builder
	for _, f := range r.Findings {
		fmt.Fprintf(&b, "%-7s %s: %s [%s]\n", f.Severity, f.Subject, f.Message, f.Rule)
		for _, d := range f.Details {
			fmt.Fprintf(&b, "        %s\n", d)
		}
		if f.Why != "" {
			fmt.Fprintf(&b, "    why: %s\n", f.Why)
		}
		if f.Fix != "" {
			fmt.Fprintf(&b, "    fix: %s\n", f.Fix)
		}
	}
	fmt.Fprintf(&b, "%d error(s), %d warning(s).\n", r.Summary.Errors, r.Summary.Warnings)
	_, err := io.WriteString(w, b.String())
	return err
}
