package engine

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/deepflow-compose/deepflow-compose/topology"
)

// Rerender renders a directory again from its manifest with one more
// key.path=value setting, keeping secrets and hand edits.
type Rerender func(ctx context.Context, dir, set string) error

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
// Rerendering is the command layer's (it owns render); without a rerender
// function the user is told what to run.
func privilegeAgent(ctx context.Context, out, warn io.Writer, s *Stack, engineVersion string, rerender Rerender) {
	if !agentNeedsPrivileged(s, engineVersion) {
		return
	}
	const set = "agent.privileged=true"
	err := fmt.Errorf("render it again with --set %s", set)
	if rerender != nil {
		err = rerender(ctx, s.Dir, set)
	}
	if err != nil {
		fmt.Fprintf(warn, "warning: Docker %s is older than %s, so the agent container needs privileged: true, but %s was not rendered again: %v\n",
			engineVersion, agentCapsVersion, s.Dir, err)
		return
	}
	s.AgentPrivileged = true
	fmt.Fprintf(out, "Docker %s is older than %s: rendered %s again with --set %s, so the agent container runs privileged\n",
		engineVersion, agentCapsVersion, filepath.Join(s.Dir, topology.AgentCompose), set)
}
