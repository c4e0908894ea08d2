package render

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/deepflow-compose/deepflow-compose/agentcfg"
	"github.com/deepflow-compose/deepflow-compose/check"
	"github.com/deepflow-compose/deepflow-compose/layout"
	"github.com/deepflow-compose/deepflow-compose/serverkeys"
	"github.com/deepflow-compose/deepflow-compose/topology"
)

// ErrValidation marks rendered output that failed its own checks; nothing
// is written when it happens.
var ErrValidation = errors.New("rendered files failed validation")

// ValidationError lists what a render got wrong, one finding per line.
type ValidationError struct {
	Problems []string
	// Err is the cause when one file alone stopped the review.
	Err error
}

func (e *ValidationError) Error() string {
	if e.Err != nil {
		return ErrValidation.Error() + ": " + e.Err.Error()
	}
	return ErrValidation.Error() + ":\n  " + strings.Join(e.Problems, "\n  ")
}

func (e *ValidationError) Unwrap() []error {
	if e.Err != nil {
		return []error{ErrValidation, e.Err}
	}
	return []error{ErrValidation}
}

// validate reviews the plan in memory with check's rules, held to the
// topology this render resolved: every file parses with its format's
// parser (compose-go loads the compose file with the rendered .env), and
// every consumer and bind row reads what the topology says. Files check
// does not review are parsed here, and the group config is held to its
// schema.
func validate(ctx context.Context, p *Plan, d *Data) error {
	files := map[string][]byte{}
	for _, f := range p.Files {
		files[f.Path] = f.Data
	}
	for _, name := range []string{topology.AgentDomain, topology.AgentWatcherValues, topology.AgentClusterRoleRules} {
		if b, ok := files[name]; ok {
			if _, err := layout.YAML(name, b); err != nil {
				return &ValidationError{Err: err}
			}
		}
	}
	if b, ok := files[topology.AgentUnit]; ok {
		if _, err := layout.INI(topology.AgentUnit, b); err != nil {
			return &ValidationError{Err: err}
		}
	}
	// Only keys every release the tag may pull reads: an unread key is
	// silently ignored and misleads whoever reviews the file.
	if err := serverkeys.Check(d.R.Releases, files[topology.ServerYAML]); err != nil {
		return &ValidationError{Err: fmt.Errorf("%s: %w", topology.ServerYAML, err)}
	}
	if b, ok := files[topology.GroupConfig]; ok {
		if err := agentcfg.ValidateReleases(d.R.Releases, b); err != nil {
			return &ValidationError{Err: fmt.Errorf("%s: %w", topology.GroupConfig, err)}
		}
	}
	dir := p.OutDir
	if dir == "" {
		dir = "."
	}
	v := topology.Vars
	// Without compose-go's JSON schema: the templates' output is loaded
	// with it by the golden and compatibility tests, and compiling it is a
	// third of a render's CPU.
	r := check.Plan(layout.WithoutSchema(ctx), dir, files, check.Expect{
		Topology: d.T, Settings: d.S, GroupConfigFormat: d.GroupConfigFormat.String(),
		Env: map[string]string{v.MySQLPassword: d.Secrets.MySQL, v.ClickHousePassword: d.Secrets.ClickHouse,
			v.GrafanaPass: d.Secrets.Grafana, v.NodeIP: d.T.NodeIP},
	})
	var problems []string
	for _, f := range r.Findings {
		if f.Severity != check.Error {
			continue // warnings describe choices the settings made
		}
		loc := f.File
		if f.Line > 0 {
			loc = fmt.Sprintf("%s:%d", f.File, f.Line)
		}
		problems = append(problems, fmt.Sprintf("%s: %s [%s]", loc, f.Message, f.Rule))
	}
	if len(problems) > 0 {
		return &ValidationError{Problems: problems}
	}
	return nil
}
