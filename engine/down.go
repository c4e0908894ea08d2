package engine

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	"github.com/compose-spec/compose-go/v2/types"
	"github.com/docker/compose/v5/pkg/api"
	"github.com/moby/moby/client"
)

var inspectOpts = client.ContainerInspectOptions{}

// DownOptions tune Down.
type DownOptions struct {
	// Purge removes the stack's data directories too.
	Purge bool
	// Yes skips the purge confirmation.
	Yes bool
}

// Down removes the stack's containers and network. The data directories
// stay unless Purge is set; purging asks first unless Yes is set.
func (e *Engine) Down(ctx context.Context, s *Stack, o DownOptions) error {
	p, err := e.project(ctx, s)
	if err != nil {
		return err
	}
	if err := e.checkOwner(ctx, s); err != nil {
		return err
	}
	all := dataDirs(s, p)
	var dirs, foreign []string
	if o.Purge {
		if dirs, foreign, err = purgeable(s, all); err != nil {
			return err
		}
		if !o.Yes && len(dirs) > 0 {
			if err := e.confirm(s, dirs); err != nil {
				return err
			}
		}
	}
	present, err := e.deployed(ctx, s.Project)
	if err != nil {
		return err
	}
	if present {
		c, err := e.compose(e.processor())
		if err != nil {
			return err
		}
		if err := c.Down(ctx, s.Project, api.DownOptions{Project: p, RemoveOrphans: true}); err != nil {
			return fmt.Errorf("compose down %s: %w", s.Project, err)
		}
	} else {
		fmt.Fprintf(e.out, "Project %s has no containers or networks on this engine\n", s.Project)
	}
	what := "Stack " + s.Project + " removed"
	if !present {
		what = "Nothing removed"
	}
	if !o.Purge {
		var kept []string
		for _, d := range all {
			if _, err := os.Stat(d); err == nil {
				kept = append(kept, d)
			}
		}
		if len(kept) == 0 {
			fmt.Fprintf(e.out, "%s; there is no data in %s\n", what, s.DataDir)
			return nil
		}
		fmt.Fprintf(e.out, "%s; data kept in %s (down --purge removes it)\n", what, s.DataDir)
		return nil
	}
	for _, d := range dirs {
		if err := os.RemoveAll(d); err != nil {
			return fmt.Errorf("purge %s: %w", d, err)
		}
	}
	removeEmptyParents(dirs, s.DataDir)
	// The record goes too: whatever appears here later was not created by
	// this stack's first up.
	if err := os.Remove(filepath.Join(s.DataDir, markerName)); err != nil && !os.IsNotExist(err) {
		return fmt.Errorf("purge %s: %w", filepath.Join(s.DataDir, markerName), err)
	}
	fmt.Fprintf(e.out, "%s and its data purged (%d directories under %s)\n", what, len(dirs), s.DataDir)
	if len(foreign) > 0 {
		fmt.Fprintf(e.out, "Kept, because this stack did not create them: %s\n", strings.Join(foreign, ", "))
	}
	return nil
}

// purgeable splits the stack's data directories into those this stack
// created (the marker its first up wrote lists them) and those it found
// holding data, which purge keeps. Without a marker of this stack's,
// purge is refused as a whole: the data may be another install's.
func purgeable(s *Stack, all []string) (ours, foreign []string, err error) {
	if systemDir(s.DataDir) {
		return nil, nil, fmt.Errorf("%w: %s", ErrPurge, systemDirError(s))
	}
	m, err := readMarker(s.DataDir)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: cannot read %s: %w", ErrPurge, filepath.Join(s.DataDir, markerName), err)
	}
	var present []string
	for _, d := range all {
		if _, err := os.Lstat(d); err == nil {
			present = append(present, d)
		}
	}
	refuse := func(why string) error {
		return fmt.Errorf("%w: %s, so down --purge deletes nothing there (it deletes only data this stack created); nothing was removed. "+
			"Run down without --purge to remove the containers, and delete the data yourself if you mean to: %s",
			ErrPurge, why, strings.Join(present, ", "))
	}
	switch {
	case m == nil && len(present) == 0:
		return nil, nil, nil
	case m == nil:
		return nil, nil, refuse(fmt.Sprintf("%s holds data but no record (%s) that this stack created it", s.DataDir, markerName))
	case m.legacy:
		return nil, nil, refuse(fmt.Sprintf("the record in %s predates the list of directories a stack created", filepath.Join(s.DataDir, markerName)))
	case m.Project != s.Project:
		return nil, nil, refuse(fmt.Sprintf("the data in %s was created by project %s (from %s), not %s", s.DataDir, m.Project, m.Dir, s.Project))
	}
	for _, d := range present {
		rel, _ := filepath.Rel(s.DataDir, d)
		if slices.Contains(m.Created, rel) {
			ours = append(ours, d)
		} else {
			foreign = append(foreign, d)
		}
	}
	return ours, foreign, nil
}

// dataDirs lists the host directories the stack bind-mounts from under its
// data dir: the ones down keeps and --purge removes. Config files in the
// rendered directory are not among them.
func dataDirs(s *Stack, p *types.Project) []string {
	root := filepath.Clean(s.DataDir)
	seen := map[string]bool{}
	var out []string
	for _, svc := range p.Services {
		for _, v := range svc.Volumes {
			if v.Type != types.VolumeTypeBind {
				continue
			}
			src := filepath.Clean(v.Source)
			if src == root || !strings.HasPrefix(src, root+string(filepath.Separator)) || seen[src] {
				continue
			}
			seen[src] = true
			out = append(out, src)
		}
	}
	sort.Strings(out)
	return out
}

func removeEmptyParents(dirs []string, root string) {
	root = filepath.Clean(root)
	for _, d := range dirs {
		for p := filepath.Dir(d); strings.HasPrefix(p, root); p = filepath.Dir(p) {
			if os.Remove(p) != nil || p == root {
				break
			}
		}
	}
}

func (e *Engine) confirm(s *Stack, dirs []string) error {
	fmt.Fprintf(e.out, "down --purge deletes the data of project %s (MySQL, ClickHouse, Grafana):\n", s.Project)
	for _, d := range dirs {
		fmt.Fprintf(e.out, "  %s\n", d)
	}
	fmt.Fprint(e.out, "Delete them? [y/N] ")
	line, err := bufio.NewReader(e.in).ReadString('\n')
	answer := strings.ToLower(strings.TrimSpace(line))
	if answer == "y" || answer == "yes" {
		return nil
	}
	if err != nil && answer == "" {
		return fmt.Errorf("%w: no answer to the purge confirmation (pass --yes to purge without asking)", ErrAborted)
	}
	return fmt.Errorf("%w: nothing removed", ErrAborted)
}

// deployed reports whether the project has any container or network.
func (e *Engine) deployed(ctx context.Context, project string) (bool, error) {
	cs, err := e.projectContainers(ctx, project)
	if err != nil || len(cs) > 0 {
		return len(cs) > 0, err
	}
	nets, err := e.api.NetworkList(ctx, client.NetworkListOptions{
		Filters: make(client.Filters).Add("label", api.ProjectLabel+"="+project),
	})
	if err != nil {
		return false, fmt.Errorf("%w: list networks: %v", ErrEngine, err)
	}
	return len(nets.Items) > 0, nil
}
