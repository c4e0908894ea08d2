package engine

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"sort"
	"strings"

	"github.com/docker/compose/v5/pkg/api"
)

// ErrOtherStack: the compose project name is in use on this engine by a
// stack brought up from another directory.
var ErrOtherStack = errors.New("project name used by another directory")

// checkOwner refuses to act on a project whose containers were created
// from another directory: compose knows a stack only by its project name,
// so up would replace that stack's containers, and status, logs and down
// would report on or remove them. The compose labels on the containers say
// which directory and compose file created them.
func (e *Engine) checkOwner(ctx context.Context, s *Stack) error {
	cs, err := e.projectContainers(ctx, s.Project)
	if err != nil {
		return err
	}
	dirs := map[string]string{}
	for _, c := range cs {
		wd := c.Labels[api.WorkingDirLabel]
		if wd == "" || sameDir(wd, s.Dir) {
			continue
		}
		dirs[wd] = c.Labels[api.ConfigFilesLabel]
	}
	if len(dirs) == 0 {
		return nil
	}
	var other []string
	for d, files := range dirs {
		if files != "" {
			d += " (compose file " + strings.ReplaceAll(files, ",", ", ") + ")"
		}
		other = append(other, d)
	}
	sort.Strings(other)
	return fmt.Errorf("%w: project %s on this engine was brought up from %s, not from %s; acting on it from here would replace or remove that stack. "+
		"Give this deployment its own name (render it again with --set projectName=NAME), or run the command on the directory that owns it",
		ErrOtherStack, s.Project, strings.Join(other, " and "), s.Dir)
}

// sameDir compares two directories, following symbolic links when both
// exist.
func sameDir(a, b string) bool {
	if filepath.Clean(a) == filepath.Clean(b) {
		return true
	}
	ra, err1 := filepath.EvalSymlinks(a)
	rb, err2 := filepath.EvalSymlinks(b)
	return err1 == nil && err2 == nil && ra == rb
}
