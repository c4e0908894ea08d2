package engine

import (
	"context"
	"fmt"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/compose-spec/compose-go/v2/types"
	"github.com/deepflow-compose/deepflow-compose/topology"
	"github.com/docker/compose/v5/pkg/api"
	"github.com/docker/compose/v5/pkg/compose"
	"github.com/moby/moby/client"
)

// UpOptions tune Up.
type UpOptions struct {
	// Timeout bounds the readiness wait; 5 minutes when zero.
	Timeout time.Duration
	// Rerender lets up render agent/ again privileged on an engine older
	// than 20.10.10.
	Rerender Rerender
	// AcceptPasswordChange goes on when a datastore password in .env is
	// not the one the existing data was created with, and records the new
	// one: the user has changed it inside the database.
	AcceptPasswordChange bool
}

// UpResult tells what Up did and how long each part took.
type UpResult struct {
	Preflight *Preflight
	// Changed is false when every container was already up to date and
	// compose was not asked to do anything.
	Changed bool
	// Changes counts compose's finished events by resource kind and text:
	// "container created", "container started", "network created", … (a
	// network is counted apart from the containers).
	Changes map[string]int
	// Compose is how long compose took to create and start the containers.
	Compose time.Duration
	// Total runs from the start of Up until every service was ready.
	Total  time.Duration
	Probes []*Probe
}

// Up runs preflight, brings the stack up through the compose SDK, waits for
// every service to answer its readiness probe and says where to go next.
func (e *Engine) Up(ctx context.Context, s *Stack, o UpOptions) (*UpResult, error) {
	start := time.Now()
	if o.Timeout == 0 {
		o.Timeout = 5 * time.Minute
	}
	res := &UpResult{Changes: map[string]int{}}
	p, err := e.project(ctx, s)
	if err != nil {
		return res, err
	}
	if err := e.checkOwner(ctx, s); err != nil {
		return res, fmt.Errorf("%w: %w", ErrPreflight, err) // nothing was started
	}
	fmt.Fprintf(e.out, "Preflight for %s (project %s, %s networking)\n", s.Dir, s.Project, s.Network)
	res.Preflight, err = e.Preflight(ctx, s, p)
	if err != nil {
		return res, err
	}
	pw := checkPasswords(s, o.AcceptPasswordChange)
	res.Preflight.Checks = append(res.Preflight.Checks, pw)
	fmt.Fprintln(e.out, pw)
	if pw.Level == Fail {
		return res, fmt.Errorf("%w: %w: %s", ErrPreflight, ErrPasswordChanged, pw.Msg)
	}
	privilegeAgent(ctx, e.out, e.err, s, res.Preflight.EngineVersion, o.Rerender)
	// Record what this stack creates before compose creates it: down
	// --purge deletes only that.
	if err := claimData(s, dataDirs(s, p), o.AcceptPasswordChange); err != nil {
		return res, fmt.Errorf("record the data dir's owner in %s: %w", filepath.Join(s.DataDir, markerName), err)
	}

	current, n, err := e.upToDate(ctx, s, p)
	if err != nil {
		return res, err
	}
	if current {
		fmt.Fprintf(e.out, "Nothing to change: all %d containers of project %s are up to date with %s\n", n, s.Project, topology.Compose)
	} else {
		if err := e.composeUp(ctx, s, p, res); err != nil {
			return res, err
		}
	}

	res.Probes, err = e.WaitReady(ctx, s, o.Timeout)
	res.Total = time.Since(start)
	if err != nil {
		return res, err
	}
	e.printNext(s)
	return res, nil
}

func (e *Engine) composeUp(ctx context.Context, s *Stack, p *types.Project, res *UpResult) error {
	rec := &recorder{next: e.processor(), counts: res.Changes}
	c, err := e.compose(rec)
	if err != nil {
		return err
	}
	began := time.Now()
	err = c.Up(ctx, p, api.UpOptions{
		Create: api.CreateOptions{
			RemoveOrphans:        true,
			Recreate:             api.RecreateDiverged,
			RecreateDependencies: api.RecreateDiverged,
			Inherit:              true,
		},
		Start: api.StartOptions{Project: p},
	})
	res.Compose = time.Since(began)
	res.Changed = true
	if err != nil {
		if missing := e.stillMissing(ctx, res.Preflight); len(missing) > 0 {
			first, _, _ := strings.Cut(err.Error(), "\n")
			return fmt.Errorf("%w: %d image(s) missing locally could not be pulled: %s (%s); on an air-gapped host, load the images first with `deepflow-compose bundle load BUNDLE`, then run up again",
				ErrImage, len(missing), strings.Join(missing, ", "), first)
		}
		return fmt.Errorf("compose up %s: %w", s.Project, err)
	}
	var keys []string
	for k := range res.Changes {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var parts []string
	for _, k := range keys {
		kind, text, _ := strings.Cut(k, " ")
		n := res.Changes[k]
		if n != 1 {
			kind += "s"
		}
		parts = append(parts, fmt.Sprintf("%s %d %s", text, n, kind))
	}
	fmt.Fprintf(e.out, "Containers up in %s (%s)\n", res.Compose.Round(100*time.Millisecond), strings.Join(parts, ", "))
	return nil
}

func (e *Engine) stillMissing(ctx context.Context, pf *Preflight) []string {
	if pf == nil {
		return nil
	}
	var out []string
	for _, img := range pf.MissingImages {
		if _, err := e.api.ImageInspect(ctx, img); err != nil {
			out = append(out, img)
		}
	}
	return out
}

// upToDate reports whether compose would change nothing: one container per
// service, created from the current configuration and image, long-running
// ones running and one-shot ones finished cleanly. It answers false
// whenever in doubt; compose then converges as usual.
func (e *Engine) upToDate(ctx context.Context, s *Stack, p *types.Project) (bool, int, error) {
	cs, err := e.projectContainers(ctx, s.Project)
	if err != nil {
		return false, 0, err
	}
	if len(cs) != len(p.Services) {
		return false, len(cs), nil
	}
	images := map[string]string{}
	for _, c := range cs {
		name := c.Labels[api.ServiceLabel]
		svc, ok := p.Services[name]
		if !ok || c.Labels[api.OneoffLabel] == "True" {
			return false, 0, nil
		}
		hash, err := compose.ServiceHash(svc)
		if err != nil || c.Labels[api.ConfigHashLabel] != hash {
			return false, 0, nil
		}
		id, ok := images[svc.Image]
		if !ok {
			img, err := e.api.ImageInspect(ctx, svc.Image)
			if err != nil {
				return false, 0, nil
			}
			id = img.ID
			images[svc.Image] = id
		}
		if c.ImageID != id {
			return false, 0, nil
		}
		if c.State == "running" {
			continue
		}
		if !oneShot(svc) {
			return false, 0, nil
		}
		ins, err := e.api.ContainerInspect(ctx, c.ID, client.ContainerInspectOptions{})
		if err != nil || ins.Container.State == nil || ins.Container.State.Status != "exited" || ins.Container.State.ExitCode != 0 {
			return false, 0, nil
		}
	}
	return true, len(cs), nil
}

// oneShot services run once and exit (Grafana's init containers).
func oneShot(svc types.ServiceConfig) bool {
	return svc.Restart == "" || svc.Restart == "no"
}

func (e *Engine) printNext(s *Stack) {
	fmt.Fprintln(e.out)
	fmt.Fprintf(e.out, "DeepFlow %s is up.\n", s.Version)
	if u := s.GrafanaURL(); u != "" {
		fmt.Fprintf(e.out, "  Grafana:  %s\n", u)
	}
	fmt.Fprintf(e.out, "  User:     %s\n", s.GrafanaUser)
	fmt.Fprintf(e.out, "  Password: the %s line of %s (mode 0600)\n", s.GrafanaPasswordVar, s.EnvFile)
	fmt.Fprintf(e.out, "Next: %s\n", filepath.Join(s.Dir, "NEXT-STEPS.md"))
}

// recorder passes compose's events on and counts the finished ones.
type recorder struct {
	next   api.EventProcessor
	mu     sync.Mutex
	counts map[string]int
	seen   map[string]bool
}

func (r *recorder) Start(ctx context.Context, op string) { r.next.Start(ctx, op) }
func (r *recorder) Done(op string, ok bool)              { r.next.Done(op, ok) }
func (r *recorder) On(events ...api.Resource) {
	r.mu.Lock()
	for _, ev := range events {
		// compose may report one resource's step twice; count it once.
		if ev.Status == api.Done && ev.ParentID == "" && ev.Text != "" && !r.seen[ev.ID+"\x00"+ev.Text] {
			if r.seen == nil {
				r.seen = map[string]bool{}
			}
			r.seen[ev.ID+"\x00"+ev.Text] = true
			r.counts[eventKey(ev)]++
		}
	}
	r.mu.Unlock()
	r.next.On(events...)
}

// eventKey is "kind text" in lower case: compose names a resource "Container
// deepflow-mysql" or "Network dfc_default", and a network's "Created" must
// not count as a container's.
func eventKey(ev api.Resource) string {
	kind, _, ok := strings.Cut(ev.ID, " ")
	if !ok {
		kind = "resource"
	}
	return strings.ToLower(kind + " " + ev.Text)
}
