package check_test

import (
	"strings"
	"testing"

	"github.com/deepflow-compose/deepflow-compose/settings"
	"github.com/deepflow-compose/deepflow-compose/topology"
)

// A render that routes agents through a load balancer is reviewed from
// disk against the balancer's ports its manifest records: the agent files
// are clean as written, and one left on the server's own port is wrong.
func TestLoadBalancedAgentPorts(t *testing.T) {
	dir := renderDir(t, settings.Inputs{Sets: []string{"agent.controllerPort=40035", "agent.ingesterPort=40033"}})
	if errs := errorsOf(run(t, dir)); len(errs) > 0 {
		t.Fatalf("errors on a load-balanced render:\n%s", strings.Join(errs, "\n"))
	}
	edit(t, dir, topology.AgentYAML, "controller-port: 40035", "controller-port: 30035")
	want := "error agent/deepflow-agent.yaml:6 agent-port: controller-port is 30035, but under bridge networking (published ports) deepflow-server's controller (gRPC) is on 40035\n" +
		"    fix: set controller-port: 40035"
	if got := strings.Join(errorsOf(run(t, dir)), "\n"); got != want {
		t.Errorf("findings:\n%s\nwant:\n%s", got, want)
	}
}
