// Command gen derives the compact agent-group-config schemas embedded in
// package agentcfg from DeepFlow's reference files:
//
//	go run ./internal/gen -ref ../../shared/reference/deepflow-agent -out .
//
// Only facts (key paths, types, ranges, enums, defaults, upgrade_from)
// are written; DeepFlow's descriptions stay in DeepFlow's files.
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"sort"

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
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		if err := os.WriteFile(filepath.Join(out, n), files[n], 0o644); err != nil {
			return err
		}
		fmt.Printf("wrote %s (%d bytes)\n", n, len(files[n]))
	}
	return nil
}
