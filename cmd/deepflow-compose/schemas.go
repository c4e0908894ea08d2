package main

import (
	"fmt"
	"io"
	"text/tabwriter"

	"github.com/deepflow-compose/deepflow-compose/catalog"
)

// printSchemas lists, per release line and per release its tag may pull,
// the database versions the server expects: what upgrade checks.
func printSchemas(w io.Writer) {
	fmt.Fprintln(w, "Database versions each release's server expects (X+ = X or newer: a moving tag's branch head; X..Y = between):")
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "  VERSION\tRELEASE\tMYSQL db_version\tCLICKHOUSE table version")
	for _, v := range catalog.Versions() {
		r, err := catalog.Lookup(v)
		if err != nil {
			continue
		}
		for i, rel := range r.Releases {
			name := v
			if i > 0 {
				name = ""
			}
			s := r.Schema[rel]
			fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\n", name, rel, s.MySQL, s.ClickHouse)
		}
	}
	_ = tw.Flush()
}
