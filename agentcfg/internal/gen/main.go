// Command gen derives the compact agent-group-config schemas embedded in
// package agentcfg from DeepFlow's reference files:
//
//	go run ./internal/gen -ref ../../shared/reference/deepflow-agent -out .
//
// It writes schema_sectioned.json and schema_legacy.json (from the
// reference template and the v6.5 example), and schemas/<release>.json,
// one per template under templates/. Only facts (key paths, types,
// ranges, enums, defaults, upgrade_from) are written; DeepFlow's
// descriptions stay in DeepFlow's files.
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/deepflow-compose/deepflow-compose/agentcfg/internal/derive"
)

func main() {
	ref := flag.String("ref", filepath.Join("..", "..", "shared", "reference", "deepflow-agent"), "directory holding DeepFlow's agent reference files")
	out := flag.String("out", ".", "directory to write the derived schemas into")
	flag.Parse()
	if err := run(*ref, *out); err != nil {
		fmt.Fprintln(os.Stderr, "gen:", err)
		os.Exit(1)
	}
}

func run(ref, out string) error {
	template, err := os.ReadFile(filepath.Join(ref, derive.TemplateName))
	if err != nil {
		return err
	}
	example, err := os.ReadFile(filepath.Join(ref, derive.ExampleName))
	if err != nil {
		return err
	}
	files, err := derive.Files(template, example)
	if err != nil {
		return err
	}
	if err := write(out, files); err != nil {
		return err
	}
	templates, err := readTemplates(filepath.Join(ref, derive.TemplatesDir))
	if err != nil {
		return err
	}
	rel, err := derive.Releases(templates)
	if err != nil {
		return err
	}
	dir := filepath.Join(out, derive.ReleaseSchemaDir)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	// A release dropped from the reference must not linger as a schema.
	old, _ := filepath.Glob(filepath.Join(dir, "*.json"))
	for _, o := range old {
		if _, keep := rel[filepath.Base(o)]; !keep {
			if err := os.Remove(o); err != nil {
				return err
			}
		}
	}
	return write(dir, rel)
}

// readTemplates reads every <release>.yaml of the templates directory.
func readTemplates(dir string) (map[string][]byte, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	out := map[string][]byte{}
	for _, e := range ents {
		if e.IsDir() || !strings.HasSuffix(e.Name(), ".yaml") {
			continue
		}
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			return nil, err
		}
		out[e.Name()] = b
	}
	return out, nil
}

func write(dir string, files map[string][]byte) error {
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		if err := os.WriteFile(filepath.Join(dir, n), files[n], 0o644); err != nil {
			return err
		}
		fmt.Printf("wrote %s (%d bytes)\n", filepath.Join(dir, n), len(files[n]))
	}
	return nil
}
