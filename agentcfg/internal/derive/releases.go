package derive

import (
	"fmt"
	"path"
	"sort"
	"strings"
)

// TemplatesDir holds one agent-group-config template per DeepFlow release,
// named <release>.yaml (v6.6.8.yaml, v7.0-branch.yaml, …).
const TemplatesDir = "templates"

// ReleaseSchemaDir is where the per-release schemas are written, one
// <release>.json each.
const ReleaseSchemaDir = "schemas"

// Releases derives one schema per release template. templates maps a file
// name (v6.6.8.yaml) to its bytes; the result maps the schema's file name
// (v6.6.8.json) to its bytes. Each schema records its source file, so a
// golden names what it came from.
func Releases(templates map[string][]byte) (map[string][]byte, error) {
	names := make([]string, 0, len(templates))
	for n := range templates {
		names = append(names, n)
	}
	sort.Strings(names)
	out := map[string][]byte{}
	for _, n := range names {
		rel, ok := strings.CutSuffix(n, ".yaml")
		if !ok || rel == "" || strings.ContainsAny(rel, "/\\") {
			continue
		}
		f, err := Sectioned(templates[n])
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path.Join(TemplatesDir, n), err)
		}
		f.Source = path.Join(TemplatesDir, n)
		b, err := f.Marshal()
		if err != nil {
			return nil, err
		}
		out[rel+".json"] = b
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%s: no <release>.yaml template", TemplatesDir)
	}
	return out, nil
}
