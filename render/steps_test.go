package render

import (
	"context"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/deepflow-compose/deepflow-compose/settings"
	"github.com/deepflow-compose/deepflow-compose/topology"
)

func planFor(t *testing.T, in settings.Inputs) *Plan {
	t.Helper()
	if in.NodeIP == "" {
		in.NodeIP = "192.0.2.10"
	}
	p, err := Prepare(context.Background(), Options{Inputs: in, OutDir: t.TempDir() + "/d"})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// headingStep finds the number of the NEXT-STEPS.md section whose title
// contains title.
func headingStep(t *testing.T, nextSteps, title string) int {
	t.Helper()
	m := regexp.MustCompile(`(?m)^## (\d+)\. ` + regexp.QuoteMeta(title)).FindStringSubmatch(nextSteps)
	if m == nil {
		t.Fatalf("no section %q", title)
	}
	n, _ := strconv.Atoi(m[1])
	return n
}

// Files that cite a NEXT-STEPS.md step cite the section that does it.
func TestStepReferencesMatchSections(t *testing.T) {
	p := planFor(t, settings.Inputs{Profile: "process-agent"})
	ns := string(p.File(topology.NextSteps).Data)
	agent := headingStep(t, ns, "Start agents on other hosts")
	unit := string(p.File(AgentDir + "deepflow-agent.service").Data)
	if !strings.Contains(unit, "(NEXT-STEPS.md step "+strconv.Itoa(agent)+")") {
		t.Errorf("the unit file cites the wrong step (agents start in step %d):\n%s", agent, unit)
	}
	for _, ref := range regexp.MustCompile(`\(step (\d+)\)`).FindAllStringSubmatch(ns, -1) {
		if n, _ := strconv.Atoi(ref[1]); !regexp.MustCompile(`(?m)^## ` + ref[1] + `\. `).MatchString(ns) {
			t.Errorf("NEXT-STEPS cites step %d, which does not exist", n)
		}
	}
}

// `deepflow-compose agent` writes no NEXT-STEPS.md, so its files do not
// send the reader to one of their own.
func TestAgentOnlyFilesCiteNoLocalNextSteps(t *testing.T) {
	p, err := PrepareAgent(context.Background(), Options{Inputs: settings.Inputs{NodeIP: "192.0.2.10",
		Sets: []string{"agent.mode=process", "agent.groupID=g-TE8la86jlZ"}}, OutDir: t.TempDir() + "/a"})
	if err != nil {
		t.Fatal(err)
	}
	if p.File(topology.NextSteps) != nil {
		t.Fatal("the agent side writes NEXT-STEPS.md after all")
	}
	for _, f := range p.Files {
		s := string(f.Data)
		if strings.Contains(s, "NEXT-STEPS.md") && !strings.Contains(s, "server's deployment directory's NEXT-STEPS.md") {
			t.Errorf("%s points at a NEXT-STEPS.md this directory does not have:\n%s", f.Path, s[:min(len(s), 300)])
		}
	}
}

func firewallPorts(t *testing.T, p *Plan) []string {
	t.Helper()
	var out []string
	for _, m := range regexp.MustCompile(`(?m)^firewall-cmd --permanent --add-port=(\S+)$`).FindAllStringSubmatch(string(p.File(topology.NextSteps).Data), -1) {
		out = append(out, m[1])
	}
	sort.Strings(out)
	return out
}

// NEXT-STEPS lists the node ports agents, deepflow-ctl and browsers dial;
// behind a load balancer, the node port it forwards to.
func TestNextStepsFirewallPorts(t *testing.T) {
	for _, c := range []struct {
		name string
		in   settings.Inputs
		want string
	}{
		{"bridge", settings.Inputs{}, "3000/tcp 30033/tcp 30035/tcp 30417/tcp"},
		{"host", settings.Inputs{Profile: "host-network", Sets: []string{"grafana.port=3100"}}, "20033/tcp 20035/tcp 20417/tcp 3100/tcp"},
		{"load balancer", settings.Inputs{Sets: []string{"agent.controllerPort=40035", "agent.ingesterPort=40033"}}, "3000/tcp 30033/tcp 30035/tcp 30417/tcp"},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := strings.Join(firewallPorts(t, planFor(t, c.in)), " "); got != c.want {
				t.Errorf("firewall ports %s, want %s", got, c.want)
			}
		})
	}
}
