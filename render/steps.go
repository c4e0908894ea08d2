package render

import (
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/deepflow-compose/deepflow-compose/topology"
)

// Steps number NEXT-STEPS.md's sections; other files cite them by field,
// so adding a section renumbers every reference.
type Steps struct {
	Start, Firewall, Grafana, Agent, Doctor int
}

func newSteps() Steps {
	var s Steps
	n := 0
	for _, f := range []*int{&s.Start, &s.Firewall, &s.Grafana, &s.Agent, &s.Doctor} {
		n++
		*f = n
	}
	return s
}

// A FirewallPort is a node port that something outside this host dials.
type FirewallPort struct {
	Port  int
	Proto string
	// Who dials it, and What answers.
	Who, What string
}

// Who dials External rows, by consumer ID; Agent rows are the agents.
var externalClients = map[string]string{
	"CtlAPI":     "deepflow-ctl",
	"GrafanaWeb": "browsers",
}

// firewall lists the node ports agents, deepflow-ctl and browsers reach,
// from the consumer table: every row from outside the stack, at the
// listener's node port (what a load balancer in front forwards to).
func firewall(t *topology.Topology) ([]FirewallPort, error) {
	byPort := map[int]*FirewallPort{}
	who := map[int][]string{}
	for _, c := range topology.Consumers {
		if c.Via != topology.Agent && c.Via != topology.External {
			continue
		}
		comp, l, err := t.Owner(c.To)
		if err != nil {
			return nil, err
		}
		if l.HostPort == 0 {
			return nil, fmt.Errorf("%w: %s's %s listener is dialled from outside but has no node port", topology.ErrTopology, comp.Key, l.Name)
		}
		client := "agents"
		if c.Via == topology.External {
			client = externalClients[c.ID]
			if client == "" {
				client = c.ID
			}
		}
		fp := byPort[l.HostPort]
		if fp == nil {
			fp = &FirewallPort{Port: l.HostPort, Proto: "tcp", What: fmt.Sprintf("%s (%s)", comp.Label, l.Name)}
			byPort[l.HostPort] = fp
		}
		if !slices.Contains(who[l.HostPort], client) {
			who[l.HostPort] = append(who[l.HostPort], client)
		}
	}
	var out []FirewallPort
	for port, fp := range byPort {
		fp.Who = strings.Join(who[port], ", ")
		out = append(out, *fp)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Port < out[j].Port })
	return out, nil
}
