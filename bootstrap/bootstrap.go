// Package bootstrap puts what agents need to register into a running
// deepflow-server, over its controller HTTP API: the agent_sync domain,
// the agent group with the ID chosen at render time, and the group's
// config. It is idempotent: a run against a server that already has
// everything sends no write request, and says so.
package bootstrap

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/deepflow-compose/deepflow-compose/agentcfg"
	"github.com/deepflow-compose/deepflow-compose/api"
	"github.com/deepflow-compose/deepflow-compose/settings"
)

// Errors Run wraps besides api's sentinels.
var (
	// ErrSpec: the Spec itself is unusable (caught before any request).
	ErrSpec = errors.New("bootstrap: invalid spec")
	// ErrConflict: the server holds something that contradicts the
	// rendered files (a group of that name with another ID, say). Nothing
	// is changed; the error names the fix.
	ErrConflict = errors.New("the server's state conflicts with the rendered files")
)

// Spec is what the rendered directory asks for.
type Spec struct {
	// DomainName is the agent_sync domain's name, used when none exists.
	// Empty: no agent_sync domain is wanted (Kubernetes process mode,
	// where the cluster's watcher agent creates a Kubernetes domain).
	DomainName string
	GroupName  string
	// GroupID is the g-… ID the agent files request.
	GroupID string
	// Config is agent/agent-group-config.yaml as rendered.
	Config []byte
	// Format is Config's layout: Legacy (v6.5) or Sectioned.
	Format agentcfg.Format
}

// Options tune a run.
type Options struct {
	// HealthTimeout bounds the wait for /v1/health/ (default 10 min: a
	// first start or an upgrade's migration can be slow).
	HealthTimeout time.Duration
	// PollInterval is the health poll period (default 2 s).
	PollInterval time.Duration
	// WaitPorts runs before the first HTTP request. The caller waits there
	// for the controller's gRPC port: the HTTP port opens before the
	// routes are registered, and early requests can poison later ones.
	// It gets a context bounded by HealthTimeout.
	WaitPorts func(ctx context.Context) error
	// Progress, when set, gets each step's line as it completes and a
	// config's semantic diff before it is replaced.
	Progress io.Writer
}

// Status is what a step did.
type Status string

const (
	Ready        Status = "ready"
	Created      Status = "created"
	AlreadyThere Status = "already there"
	Updated      Status = "updated"
	Skipped      Status = "skipped"
	Failed       Status = "failed"
)

// Step is one line of the report.
type Step struct {
	Step    string   `json:"step"`
	Status  Status   `json:"status"`
	Detail  string   `json:"detail"`
	Changes []Change `json:"changes,omitempty"`
}

// Report is what a run did, in order.
type Report struct {
	Server string `json:"server"`
	Org    int    `json:"org"`
	Steps  []Step `json:"steps"`
	// StagesSeen lists the start-up stages health reported, in order.
	StagesSeen []string      `json:"stagesSeen,omitempty"`
	ConfigAPI  api.ConfigAPI `json:"configAPI,omitempty"`
	// Writes counts the write requests sent; 0 means nothing changed.
	Writes int      `json:"writes"`
	Notes  []string `json:"notes,omitempty"`
	Error  string   `json:"error,omitempty"`
	// ExitCode is ExitCode(err) of the run.
	ExitCode int `json:"exitCode"`
}

// Exit codes of the bootstrap command.
const (
	ExitDone        = 0
	ExitRefused     = 1
	ExitUnreachable = 2
	ExitNotReady    = 3
)

// ExitCode maps Run's error: 0 done, 2 unreachable, 3 not ready in time,
// 1 anything else (a refusal, a conflict, a cancelled run).
func ExitCode(err error) int {
	switch {
	case err == nil:
		return ExitDone
	case errors.Is(err, api.ErrUnreachable):
		return ExitUnreachable
	case errors.Is(err, api.ErrNotReady):
		return ExitNotReady
	}
	return ExitRefused
}

// Check validates a Spec without talking to a server.
func (s Spec) Check() error {
	switch {
	case s.GroupName == "":
		return fmt.Errorf("%w: no agent group name", ErrSpec)
	case !settings.IsGroupID(s.GroupID):
		return fmt.Errorf("%w: agent group ID %q is not g- followed by 10 letters or digits, as deepflow-server requires", ErrSpec, s.GroupID)
	case s.Format != agentcfg.Legacy && s.Format != agentcfg.Sectioned:
		return fmt.Errorf("%w: group config format %v", ErrSpec, s.Format)
	case len(strings.TrimSpace(string(s.Config))) == 0:
		return fmt.Errorf("%w: the group config is empty", ErrSpec)
	}
	var doc map[string]any
	if err := yaml.Unmarshal(s.Config, &doc); err != nil {
		return fmt.Errorf("%w: the group config: %w", ErrSpec, err)
	}
	if s.Format == agentcfg.Legacy {
		if id, _ := doc["vtap_group_id"].(string); id != s.GroupID {
			return fmt.Errorf("%w: the legacy group config names vtap_group_id %q, the group is %s", ErrSpec, id, s.GroupID)
		}
	}
	return nil
}

type run struct {
	c   *api.Client
	s   Spec
	o   Options
	rep *Report
}

// Run brings the server to the Spec. The Report lists what was done up to
// the error, if any; the error wraps api's sentinels, ErrSpec or
// ErrConflict, and ExitCode maps it.
func Run(ctx context.Context, c *api.Client, s Spec, o Options) (rep Report, err error) {
	if o.HealthTimeout <= 0 {
		o.HealthTimeout = 10 * time.Minute
	}
	if o.PollInterval <= 0 {
		o.PollInterval = 2 * time.Second
	}
	rep = Report{Server: c.Base(), Org: c.Org(), Steps: []Step{}}
	start := c.Writes()
	r := &run{c: c, s: s, o: o, rep: &rep}
	defer func() {
		rep.Writes = c.Writes() - start
		rep.ExitCode = ExitCode(err)
		if err != nil {
			rep.Error = err.Error()
		}
	}()
	if err := s.Check(); err != nil {
		return rep, err
	}
	for _, f := range []func(context.Context) error{r.health, r.domain, r.group} {
		if err := f(ctx); err != nil {
			return rep, err
		}
	}
	return rep, nil
}

func (r *run) add(st Step) {
	r.rep.Steps = append(r.rep.Steps, st)
	if r.o.Progress != nil {
		_, _ = io.WriteString(r.o.Progress, stepLine(st))
	}
}

func (r *run) failed(step string, err error) error {
	r.add(Step{Step: step, Status: Failed, Detail: describe(err)})
	return err
}

// describe quotes DeepFlow's DESCRIPTION when there is one.
func describe(err error) string {
	if e, ok := api.AsError(err); ok && e.Description != "" {
		return fmt.Sprintf("deepflow-server answered HTTP %d %s: %q", e.HTTPStatus, e.OptStatus, e.Description)
	}
	return err.Error()
}

func (r *run) health(ctx context.Context) error {
	hctx, cancel := context.WithTimeout(ctx, r.o.HealthTimeout)
	defer cancel()
	if r.o.WaitPorts != nil {
		if err := r.o.WaitPorts(hctx); err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return r.failed("health", fmt.Errorf("waiting for the controller's gRPC port: %w: %w", api.ErrUnreachable, err))
		}
	}
	var last api.Health
	var lastErr error
	for {
		h, err := r.c.Health(hctx)
		switch {
		case err == nil && h.Ready:
			detail := "the server answers /v1/health/"
			if len(r.rep.StagesSeen) > 0 {
				detail += " (start-up stages seen: " + strings.Join(r.rep.StagesSeen, ", ") + ")"
			}
			r.add(Step{Step: "health", Status: Ready, Detail: detail})
			return nil
		case err == nil:
			last, lastErr = h, nil
			if st := h.Stage; st != "" && (len(r.rep.StagesSeen) == 0 || r.rep.StagesSeen[len(r.rep.StagesSeen)-1] != st) {
				r.rep.StagesSeen = append(r.rep.StagesSeen, st)
				if r.o.Progress != nil {
					// Live only: a migration can take minutes.
					_, _ = io.WriteString(r.o.Progress, stepLine(Step{Step: "health", Status: "waiting", Detail: "the server is in stage " + fmt.Sprintf("%q", st)}))
				}
			}
		case errors.Is(err, api.ErrUnreachable):
			lastErr = err
		case ctx.Err() != nil:
			return ctx.Err()
		case hctx.Err() != nil:
		default:
			return r.failed("health", err)
		}
		t := time.NewTimer(r.o.PollInterval)
		select {
		case <-t.C:
			continue
		case <-hctx.Done():
			t.Stop()
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if lastErr != nil || last.Description == "" {
			if lastErr == nil {
				lastErr = fmt.Errorf("%w: no answer", api.ErrUnreachable)
			}
			return r.failed("health", fmt.Errorf("no answer within %s: %w", r.o.HealthTimeout, lastErr))
		}
		stage := last.Stage
		if stage == "" {
			stage = last.Description
		}
		nerr := fmt.Errorf("%w: still in stage %q after %s; raise the timeout if it is migrating, and do not restart it mid-migration", api.ErrNotReady, stage, r.o.HealthTimeout)
		r.add(Step{Step: "health", Status: Failed, Detail: nerr.Error()})
		return nerr
	}
}

func (r *run) domain(ctx context.Context) error {
	if r.s.DomainName == "" {
		r.add(Step{Step: "domain", Status: Skipped, Detail: "no agent_sync domain is rendered (Kubernetes process mode: the cluster's watcher agent brings its domain)"})
		return nil
	}
	named, err := r.c.Domains(ctx, r.s.DomainName)
	if err != nil {
		return r.failed("domain", err)
	}
	for _, d := range named {
		if d.Name != r.s.DomainName {
			continue
		}
		if d.Type != api.DomainTypeAgentSync {
			return r.failed("domain", fmt.Errorf("%w: domain %q exists with TYPE %d, not agent_sync (23); choose another domain name or delete that domain", ErrConflict, d.Name, d.Type))
		}
		r.add(Step{Step: "domain", Status: AlreadyThere, Detail: fmt.Sprintf("agent_sync domain %q", d.Name)})
		return nil
	}
	if d, ok, err := r.c.AgentSyncDomain(ctx); err != nil || ok {
		if err != nil {
			return r.failed("domain", err)
		}
		r.add(Step{Step: "domain", Status: AlreadyThere, Detail: fmt.Sprintf("agent_sync domain %q is used instead of %q: DeepFlow allows one per region", d.Name, r.s.DomainName)})
		return nil
	}
	d, err := r.c.CreateDomain(ctx, api.DomainCreate{Name: r.s.DomainName, Type: api.DomainTypeAgentSync, Config: map[string]any{"region_uuid": api.DefaultRegion}})
	if errors.Is(err, api.ErrAlreadyExist) {
		// Someone created one meanwhile.
		if d, ok, lerr := r.c.AgentSyncDomain(ctx); lerr == nil && ok {
			r.add(Step{Step: "domain", Status: AlreadyThere, Detail: fmt.Sprintf("agent_sync domain %q (created meanwhile by someone else)", d.Name)})
			return nil
		}
	}
	if err != nil {
		return r.failed("domain", err)
	}
	r.add(Step{Step: "domain", Status: Created, Detail: fmt.Sprintf("agent_sync domain %q", d.Name)})
	return nil
}

func (r *run) group(ctx context.Context) error {
	named, err := r.c.Groups(ctx, api.GroupFilter{Name: r.s.GroupName})
	if err != nil {
		return r.failed("group", err)
	}
	for _, g := range named {
		if g.Name != r.s.GroupName {
			continue
		}
		if g.ShortUUID != r.s.GroupID {
			return r.failed("group", fmt.Errorf("%w: agent group %q exists with ID %s, but the rendered agent files ask for %s; "+
				"either render again with --set agent.groupID=%s to join the existing group, or delete it (deepflow-ctl agent-group delete %s) and run bootstrap again",
				ErrConflict, g.Name, g.ShortUUID, r.s.GroupID, g.ShortUUID, g.ShortUUID))
		}
		r.add(Step{Step: "group", Status: AlreadyThere, Detail: fmt.Sprintf("agent group %q with ID %s", g.Name, g.ShortUUID)})
		return r.config(ctx, g, false)
	}
	byID, err := r.c.Groups(ctx, api.GroupFilter{ShortUUID: r.s.GroupID})
	if err != nil {
		return r.failed("group", err)
	}
	for _, g := range byID {
		if g.ShortUUID == r.s.GroupID {
			return r.failed("group", fmt.Errorf("%w: the rendered group ID %s already belongs to agent group %q, not %q; "+
				"render again with that group's name, or with a new agent.groupID", ErrConflict, g.ShortUUID, g.Name, r.s.GroupName))
		}
	}
	g, err := r.c.CreateGroup(ctx, api.GroupCreate{Name: r.s.GroupName, GroupID: r.s.GroupID})
	if err != nil {
		return r.failed("group", err)
	}
	if g.LCUUID == "" {
		// Some versions answer with less: read it back.
		gs, err := r.c.Groups(ctx, api.GroupFilter{ShortUUID: r.s.GroupID})
		if err != nil {
			return r.failed("group", err)
		}
		for _, x := range gs {
			if x.ShortUUID == r.s.GroupID {
				g = x
			}
		}
	}
	r.add(Step{Step: "group", Status: Created, Detail: fmt.Sprintf("agent group %q with ID %s", r.s.GroupName, r.s.GroupID)})
	return r.config(ctx, g, true)
}

const rereadNote = "deepflow-server rereads group configs at start-up and every 5 minutes: agents may wait that long to register, or restart deepflow-server to apply it now"

// config writes the group's config, or compares it first when the group
// was already there. A group just created has none, and the server says
// so in the words of its start-up hazard ("record not found"), which the
// client retries: asking would only cost those retries.
func (r *run) config(ctx context.Context, g api.Group, fresh bool) error {
	const step = "group config"
	capi, err := r.c.ProbeConfigAPI(ctx)
	if err != nil {
		return r.failed(step, err)
	}
	r.rep.ConfigAPI = capi
	switch {
	case capi == api.ConfigAPINew && r.s.Format == agentcfg.Legacy:
		return r.failed(step, fmt.Errorf("%w: the server has the v6.6.9+ group-config API but the rendered agent-group-config.yaml is in the v6.5 legacy layout; render for the server's version", ErrConflict))
	case capi == api.ConfigAPILegacy && r.s.Format == agentcfg.Sectioned:
		return r.failed(step, fmt.Errorf("%w: the server is older than v6.6.9 (no /v1/agent-group-configuration/ API) but the rendered agent-group-config.yaml is in the sectioned layout; render for the server's version", ErrConflict))
	}
	var have []byte
	var found bool
	var legacyLCUUID string
	if capi == api.ConfigAPINew && !fresh {
		have, found, err = r.c.GroupConfig(ctx, g.LCUUID)
		if e, ok := api.AsError(err); ok && errors.Is(err, api.ErrRefused) && e.HTTPStatus != 0 {
			// The read was refused in words GroupConfig does not know as
			// "none". POST is create-or-update, so writing is still safe.
			r.rep.Notes = append(r.rep.Notes, "the server would not show the current group config ("+describe(err)+"), so it was written without comparing")
			found, err = false, nil
		}
	} else if capi == api.ConfigAPILegacy {
		have, legacyLCUUID, found, err = r.c.FindLegacyGroupConfig(ctx, r.s.GroupID)
	}
	if err != nil {
		return r.failed(step, err)
	}
	via := "through the v6.6.9+ API"
	if capi == api.ConfigAPILegacy {
		via = "through the legacy (v6.5) API"
	}
	if !found {
		if capi == api.ConfigAPINew {
			err = r.c.SetGroupConfig(ctx, g.LCUUID, r.s.Config)
		} else {
			err = r.c.CreateLegacyGroupConfig(ctx, r.s.Config)
		}
		if err != nil {
			return r.failed(step, err)
		}
		r.add(Step{Step: step, Status: Created, Detail: fmt.Sprintf("for group %s %s", r.s.GroupID, via)})
		r.rep.Notes = append(r.rep.Notes, rereadNote)
		return nil
	}
	// A legacy server answers with its defaults filled in: compare only
	// the keys the rendered file sets.
	changes, err := SemanticDiff(have, r.s.Config, capi == api.ConfigAPILegacy)
	if err != nil {
		return r.failed(step, fmt.Errorf("comparing group configs: %w", err))
	}
	if len(changes) == 0 {
		r.add(Step{Step: step, Status: AlreadyThere, Detail: fmt.Sprintf("for group %s, equal to the rendered file", r.s.GroupID)})
		return nil
	}
	if r.o.Progress != nil {
		fmt.Fprintf(r.o.Progress, "group config on the server differs from the rendered file (- server, + rendered); replacing it:\n%s", formatChanges(changes, "    "))
	}
	if capi == api.ConfigAPINew {
		err = r.c.SetGroupConfig(ctx, g.LCUUID, r.s.Config)
	} else {
		err = r.c.UpdateLegacyGroupConfig(ctx, legacyLCUUID, r.s.Config)
	}
	if err != nil {
		return r.failed(step, err)
	}
	r.add(Step{Step: step, Status: Updated, Detail: fmt.Sprintf("for group %s %s, %d change(s)", r.s.GroupID, via, len(changes)), Changes: changes})
	r.rep.Notes = append(r.rep.Notes, rereadNote)
	return nil
}

func stepLine(st Step) string {
	return fmt.Sprintf("%-13s %-14s %s\n", st.Step, st.Status, st.Detail)
}

// WriteEnd writes what WriteText adds after the steps (notes and the
// summary line): with Options.Progress the steps are already printed.
func (r Report) WriteEnd(w io.Writer) error {
	var b strings.Builder
	for _, n := range r.Notes {
		b.WriteString("note: " + n + "\n")
	}
	b.WriteString(r.Summary() + "\n")
	_, err := io.WriteString(w, b.String())
	return err
}

// WriteText writes the report for people: one line per step, each
// changed config key, then a summary line.
func (r Report) WriteText(w io.Writer) error {
	var b strings.Builder
	for _, st := range r.Steps {
		b.WriteString(stepLine(st))
		if len(st.Changes) > 0 {
			b.WriteString(formatChanges(st.Changes, "    "))
		}
	}
	if _, err := io.WriteString(w, b.String()); err != nil {
		return err
	}
	return r.WriteEnd(w)
}

// Summary is the last line of the text form.
func (r Report) Summary() string {
	switch {
	case r.Error != "":
		return "bootstrap failed: " + r.Error
	case r.Writes == 0:
		return "nothing to change: the server already has everything, no write request was sent"
	}
	return fmt.Sprintf("done: %d write request(s) sent", r.Writes)
}

// WriteJSON writes the report as one JSON document.
func (r Report) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(r)
}

// WaitTCP returns a WaitPorts hook that polls addr (the controller's gRPC
// port on the node IP) until it accepts a TCP connection or the context
// ends. dial is net.Dialer's DialContext when nil.
func WaitTCP(addr string, interval time.Duration, dial func(ctx context.Context, network, addr string) (net.Conn, error)) func(context.Context) error {
	if dial == nil {
		var d net.Dialer
		dial = d.DialContext
	}
	if interval <= 0 {
		interval = time.Second
	}
	return func(ctx context.Context) error {
		for {
			conn, err := dial(ctx, "tcp", addr)
			if err == nil {
				conn.Close()
				return nil
			}
			t := time.NewTimer(interval)
			select {
			case <-ctx.Done():
				t.Stop()
				return fmt.Errorf("%s never accepted a connection: %w (last try: %w)", addr, ctx.Err(), err)
			case <-t.C:
			}
		}
	}
}
