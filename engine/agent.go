package engine

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/deepflow-compose/deepflow-compose/render"
	"github.com/deepflow-compose/deepflow-compose/topology"
)

// agentNeedsPrivileged: the directory runs the agent as a container with
// its capability list, which an engine older than 20.10.10 cannot apply.
func agentNeedsPrivileged(s *Stack, engineVersion string) bool {
	if s.AgentPrivileged || engineVersion == "" || compareVersions(engineVersion, agentCapsVersion) >= 0 {
		return false
	}
	_, err := os.Stat(filepath.Join(s.Dir, topology.AgentCompose))
	return err == nil
}

// privilegeAgent sets agent.privileged from the engine it finds: it renders
// the directory again from its manifest with agent.privileged=true. A
// directory with hand edits is left alone, with a warning saying what to do.
func privilegeAgent(ctx context.Context, out, warn io.Writer, s *Stack, engineVersion string) {
	if !agentNeedsPrivileged(s, engineVersion) {
		return
	}
	const set = "agent.privileged=true"
	if _, _, err := render.Rerender(ctx, s.Dir, set); err != nil {
		fmt.Fprintf(warn, "warning: Docker %s is older than %s, so the agent container needs privileged: true, but %s was not rendered again: %v\n",
			engineVersion, agentCapsVersion, s.Dir, err)
		return
	}
	s.AgentPrivileged = true
	fmt.Fprintf(out, "Docker %s is older than %s: rendered %s again with --set %s, so the agent container runs privileged\n",
		engineVersion, agentCapsVersion, filepath.Join(s.Dir, topology.AgentCompose), set)
}
