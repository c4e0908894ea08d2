// Package schema holds the compact, derived description of an
// agent-group-config format: one entry per dotted key path.
package schema

import (
	"bytes"
	"encoding/json"
	"fmt"
	"sort"
)

// Types a Node can have. Section and Dict are containers; the rest are
// scalars (or, with List, sequences of scalars).
const (
	Section  = "section"
	Dict     = "dict"
	Int      = "int"
	Float    = "float"
	Bool     = "bool"
	String   = "string"
	Duration = "duration"
	IP       = "ip"
	Any      = "any" // type unknown to the reference: any scalar passes
)

// Wildcard is the child name used for the values of a Map dict.
const Wildcard = "*"

// Node describes the value at one key path.
//
// Containers: a Section is a mapping with fixed children at path.<key>;
// a Dict with List is a sequence of mappings whose keys are at path.<key>;
// a Dict with Map is a mapping from a name to a value described by path.*,
// or by path.<name> where the reference gives that name another type.
type Node struct {
	Type       string   `json:"type"`
	List       bool     `json:"list,omitempty"`
	Map        bool     `json:"map,omitempty"`
	Names      []string `json:"names,omitempty"` // allowed names of a Map dict; empty = any
	Range      []string `json:"range,omitempty"` // [min, max] as written; length for strings
	Enum       []string `json:"enum,omitempty"`
	Default    *string  `json:"default,omitempty"`  // scalar default as written
	Nullable   bool     `json:"nullable,omitempty"` // the reference leaves it empty
	From       []string `json:"upgrade_from,omitempty"`
	Deprecated bool     `json:"deprecated,omitempty"`
}

// File is a whole derived schema.
type File struct {
	Format string           `json:"format"`
	Source string           `json:"source"`
	Keys   map[string]*Node `json:"keys"`
}

// Marshal writes the file deterministically, one key per line, so that a
// regenerated schema diffs readably.
func (f *File) Marshal() ([]byte, error) {
	var b bytes.Buffer
	fmt.Fprintf(&b, "{\n\"format\": %q,\n\"source\": %q,\n\"keys\": {\n", f.Format, f.Source)
	paths := f.Paths()
	for i, p := range paths {
		nb, err := json.Marshal(f.Keys[p])
		if err != nil {
			return nil, err
		}
		kb, _ := json.Marshal(p)
		b.Write(kb)
		b.WriteString(": ")
		b.Write(nb)
		if i < len(paths)-1 {
			b.WriteByte(',')
		}
		b.WriteByte('\n')
	}
	b.WriteString("}\n}\n")
	return b.Bytes(), nil
}

// Parse reads a file written by Marshal.
func Parse(b []byte) (*File, error) {
	var f File
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&f); err != nil {
		return nil, fmt.Errorf("schema: %w", err)
	}
	if f.Keys == nil {
		return nil, fmt.Errorf("schema: no keys")
	}
	return &f, nil
}

// Paths returns every key path, sorted.
func (f *File) Paths() []string {
	paths := make([]string, 0, len(f.Keys))
	for p := range f.Keys {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	return paths
}

// Join appends a key to a dotted path.
func Join(prefix, key string) string {
	if prefix == "" {
		return key
	}
	return prefix + "." + key
}

// Upgrades maps each legacy (v6.5) key path named by an upgrade_from entry
// to the sectioned key path that replaces it.
func (f *File) Upgrades() map[string]string {
	m := map[string]string{}
	for _, p := range f.Paths() {
		for _, from := range f.Keys[p].From {
			if _, dup := m[from]; !dup {
				m[from] = p
			}
		}
	}
	return m
}

// IsScalar reports whether t is a scalar type.
func IsScalar(t string) bool {
	switch t {
	case Int, Float, Bool, String, Duration, IP, Any:
		return true
	}
	return false
}
