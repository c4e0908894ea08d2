package engine

import (
	"context"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/docker/compose/v5/pkg/api"
	"github.com/moby/moby/api/types/container"

	"github.com/deepflow-compose/deepflow-compose/render"
)

// Readiness values of a service.
const (
	Ready      = "ready"
	NotReadyS  = "not ready"
	Finished   = "done" // a one-shot init container that exited 0
	Failed     = "failed"
	NotCreated = "-"
)

// ServiceStatus is one line of status.
type ServiceStatus struct {
	Service   string   `json:"service"`
	Container string   `json:"container"`
	Image     string   `json:"image"`
	State     string   `json:"state"`
	Readiness string   `json:"readiness"`
	Ports     []string `json:"ports"`
	Probes    []*Probe `json:"probes,omitempty"`
}

// StackStatus is what status reports.
type StackStatus struct {
	Project  string          `json:"project"`
	Dir      string          `json:"dir"`
	Network  string          `json:"network"`
	Ready    bool            `json:"ready"`
	Services []ServiceStatus `json:"services"`
}

// Status reports each service's state, readiness, ports and image. It
// returns ErrNotDeployed (with the status filled in) when the project has
// no containers at all.
func (e *Engine) Status(ctx context.Context, s *Stack) (*StackStatus, error) {
	p, err := e.project(ctx, s)
	if err != nil {
		return nil, err
	}
	cs, err := e.projectContainers(ctx, s.Project)
	if err != nil {
		return nil, err
	}
	byService := map[string]container.Summary{}
	for _, c := range cs {
		byService[c.Labels[api.ServiceLabel]] = c
	}
	probes := map[string][]*Probe{}
	var running []*Probe
	for _, pr := range s.probes() {
		probes[pr.Service] = append(probes[pr.Service], pr)
		if c, ok := byService[pr.Service]; ok && c.State == "running" {
			running = append(running, pr)
		}
	}
	e.probeAll(ctx, s, running)

	st := &StackStatus{Project: s.Project, Dir: s.Dir, Network: string(s.Network), Ready: true}
	names := make([]string, 0, len(p.Services))
	for n := range p.Services {
		names = append(names, n)
	}
	sort.Slice(names, func(i, j int) bool { return serviceOrder(s, names[i]) < serviceOrder(s, names[j]) })
	for _, name := range names {
		svc := p.Services[name]
		ss := ServiceStatus{Service: name, Container: svc.ContainerName, Image: svc.Image, State: "not created", Readiness: NotCreated}
		c, exists := byService[name]
		if exists {
			ss.State = c.Status
			if c.State != "running" {
				if ins, err := e.api.ContainerInspect(ctx, c.ID, inspectOpts); err == nil && ins.Container.State != nil {
					ss.State = stateText(ins.Container.State.Status, ins.Container.State.ExitCode)
					if oneShot(svc) && ins.Container.State.Status == "exited" {
						ss.Readiness = Finished
						if ins.Container.State.ExitCode != 0 {
							ss.Readiness = Failed
						}
					}
				}
			}
		}
		ss.Ports = ports(s, name, c)
		if prs := probes[name]; len(prs) > 0 {
			ss.Probes = prs
			ss.Readiness = Ready
			for _, pr := range prs {
				if !pr.Ready {
					ss.Readiness = NotReadyS
					if pr.Detail == "" {
						pr.Detail = "container " + ss.State
					}
				}
			}
		}
		if ss.Readiness == NotReadyS || ss.Readiness == Failed || (ss.Readiness == NotCreated) {
			st.Ready = false
		}
		st.Services = append(st.Services, ss)
	}
	if len(cs) == 0 {
		return st, fmt.Errorf("%w: project %s has no containers on this engine; run `deepflow-compose up %s`", ErrNotDeployed, s.Project, s.Dir)
	}
	return st, nil
}

// serviceOrder sorts services as the topology lists them, init ones last.
func serviceOrder(s *Stack, name string) string {
	for i, c := range s.Topology.Components() {
		if c.Service == name {
			return strconv.Itoa(i)
		}
	}
	return "z" + name
}

func ports(s *Stack, name string, c container.Summary) []string {
	var out []string
	if s.Network == render.Host {
		if comp := s.component(name); comp != nil {
			for _, l := range comp.Listeners {
				out = append(out, fmt.Sprintf("%s:%d (%s, host network)", l.Bind, l.Port, l.Name))
			}
		}
		return out
	}
	for _, p := range c.Ports {
		if p.PublicPort == 0 {
			continue
		}
		ip := "0.0.0.0"
		if p.IP.IsValid() {
			ip = p.IP.String()
		}
		out = append(out, fmt.Sprintf("%s:%d->%d/%s", ip, p.PublicPort, p.PrivatePort, p.Type))
	}
	sort.Strings(out)
	return uniq(out)
}

// PrintStatus writes the status as a table.
func PrintStatus(w io.Writer, st *StackStatus) {
	fmt.Fprintf(w, "Project %s (%s networking) from %s\n", st.Project, st.Network, st.Dir)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "SERVICE\tSTATE\tREADINESS\tPORTS\tIMAGE")
	for _, s := range st.Services {
		ports := strings.Join(s.Ports, ", ")
		if ports == "" {
			ports = "-"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", s.Service, s.State, s.Readiness, ports, s.Image)
	}
	tw.Flush()
	for _, s := range st.Services {
		for _, p := range s.Probes {
			if !p.Ready {
				fmt.Fprintf(w, "  %s %s: %s\n", s.Service, p.Listener, p.Detail)
			}
		}
	}
}
