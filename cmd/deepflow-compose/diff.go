package main

import (
	"fmt"
	"io"

	udiff "github.com/aymanbagabas/go-udiff"

	"github.com/deepflow-compose/deepflow-compose/render"
)

// writeDiff prints a unified diff of every change and reports whether
// there was any. Secret values never appear: each is shown as a label
// («secret N») that differs only where the value differs, and a changed
// password is named on a line of its own.
func writeDiff(w io.Writer, changes []render.Change, secrets ...string) bool {
	r := render.NewRedactor(changes, secrets...)
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
		_, _ = io.WriteString(w, udiff.Unified(from, to, r.Text(string(c.Old)), r.Text(string(c.New))))
	}
	for _, k := range r.Changed {
		fmt.Fprintf(w, "# secret %s changed (values redacted)\n", k)
	}
	return changed
}
