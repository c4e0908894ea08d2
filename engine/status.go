package engine

import (
	"context"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/deepflow-compose/deepflow-compose/settings"
	"github.com/docker/compose/v5/pkg/api"
	"github.com/moby/moby/api/types/container"
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
	Service   string `json:"service"`
	Container string `json:"container"`
	Image     string `json:"image"`
	// State is the engine's word (running, exited, …, or "not created");
	// Status the human one ("Up 5 minutes", "exited (exit code 0)").
	State     string   `json:"state"`
	Status    string   `json:"status"`
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
	if err := e.checkOwner(ctx, s); err != nil {
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
		ss := ServiceStatus{Service: name, Container: svc.ContainerName, Image: svc.Image, State: "not created", Status: "not created", Readiness: NotCreated}
		c, exists := byService[name]
		if exists {
			ss.State, ss.Status = string(c.State), c.Status
			if c.State != "running" {
				if ins, err := e.api.ContainerInspect(ctx, c.ID, inspectOpts); err == nil && ins.Container.State != nil {
					ss.Status = stateText(ins.Container.State.Status, ins.Container.State.ExitCode)
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
		if prs := probes[name]; len(prs) > 0 && exists {
			ss.Probes = prs
			ss.Readiness = Ready
			for _, pr := range prs {
				if !pr.Ready {
					ss.Readiness = NotReadyS
					if pr.Detail == "" {
						pr.Detail = "container " + ss.Status
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
	out := []string{}
	if s.Network == settings.Host {
		if comp := s.component(name); comp != nil {
			for _, l := range comp.Listeners {
				out = append(out, fmt.Sprintf("%s:%d (%s)", l.Bind, l.Port, l.Name))
			}
		}
		return out
	}
	// The engine lists a port once per address family; a port published on
	// every address is shown once, without an address.
	type key struct {
		pub, priv uint16
		proto     string
	}
	var keys []key
	addrs := map[key][]string{}
	for _, p := range c.Ports {
		if p.PublicPort == 0 {
			continue
		}
		k := key{p.PublicPort, p.PrivatePort, p.Type}
		if _, ok := addrs[k]; !ok {
			keys = append(keys, k)
		}
		if p.IP.IsValid() && !p.IP.IsUnspecified() {
			addrs[k] = append(addrs[k], p.IP.String())
		} else {
			addrs[k] = append(addrs[k], "")
		}
	}
	sort.Slice(keys, func(i, j int) bool { return keys[i].pub < keys[j].pub })
	for _, k := range keys {
		m := strconv.Itoa(int(k.pub))
		if k.pub != k.priv {
			m += "->" + strconv.Itoa(int(k.priv))
		}
		if k.proto != "" && k.proto != "tcp" {
			m += "/" + k.proto
		}
		for _, a := range uniq(addrs[k]) {
			if a == "" {
				out = append(out, m)
			} else {
				out = append(out, a+":"+m)
			}
		}
	}
	return out
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
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", s.Service, s.Status, s.Readiness, ports, s.Image)
	}
	tw.Flush()
	for _, s := range st.Services {
		for _, p := range s.Probes {
			if !p.Ready && p.Detail != "" {
				fmt.Fprintf(w, "  %s %s: %s\n", s.Service, p.Listener, p.Detail)
			}
		}
	}
}
