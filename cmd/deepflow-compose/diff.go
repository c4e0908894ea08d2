package main

import (
	"io"

	udiff "github.com/aymanbagabas/go-udiff"

	"github.com/deepflow-compose/deepflow-compose/render"
)

// writeDiff prints a unified diff of every change and reports whether
// there was any.
func writeDiff(w io.Writer, changes []render.Change) bool {
	changed := false
	for _, c := range changes {
		if c.Kind == render.Unchanged {
			continue
		}
		changed = true
		from, to := "a/"+c.Path, "b/"+c.Path
		switch c.Kind {
		case render.Create:
			from = "/dev/null"
		case render.Remove:
			to = "/dev/null"
		}
		_, _ = io.WriteString(w, udiff.Unified(from, to, string(c.Old), string(c.New)))
	}
	return changed
}
