package bootstrap

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"

	"gopkg.in/yaml.v3"
)

// Change is one difference between two parsed YAML documents.
type Change struct {
	// Path is dotted; list items are leaves as a whole.
	Path string `json:"path"`
	// Old and New are JSON renderings of the values; "" when absent.
	Old string `json:"old,omitempty"`
	New string `json:"new,omitempty"`
}

// String is "- path: old", "+ path: new" or "~ path: old → new".
func (c Change) String() string {
	switch {
	case c.Old == "":
		return "+ " + c.Path + ": " + c.New
	case c.New == "":
		return "- " + c.Path + ": " + c.Old
	}
	return "~ " + c.Path + ": " + c.Old + " → " + c.New
}

// SemanticDiff compares two YAML documents by value, not text: comments,
// key order, quoting and layout do not count. With onlyWanted, keys the
// server holds that want does not mention are ignored (a legacy server
// answers with its defaults filled in).
func SemanticDiff(have, want []byte, onlyWanted bool) ([]Change, error) {
	h, err := flatten(have)
	if err != nil {
		return nil, fmt.Errorf("the server's config: %w", err)
	}
	w, err := flatten(want)
	if err != nil {
		return nil, fmt.Errorf("the rendered config: %w", err)
	}
	var out []Change
	for p, wv := range w {
		hv, ok := h[p]
		switch {
		case !ok:
			out = append(out, Change{Path: p, New: wv})
		case hv != wv:
			out = append(out, Change{Path: p, Old: hv, New: wv})
		}
	}
	if !onlyWanted {
		for p, hv := range h {
			if _, ok := w[p]; !ok {
				out = append(out, Change{Path: p, Old: hv})
			}
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Path < out[j].Path })
	return out, nil
}

// maxVisits bounds the values flatten visits (agent group configs have a
// few hundred); maxDepth bounds nesting. Aliases can make a small document
// exponentially wide, so the YAML is walked as nodes, never expanded whole.
const (
	maxVisits = 1 << 16
	maxDepth  = 64
)

type walker struct {
	visits int
	out    map[string]string
}

func (w *walker) visit(depth int) error {
	if w.visits++; w.visits > maxVisits {
		return fmt.Errorf("more than %d values", maxVisits)
	}
	if depth > maxDepth {
		return fmt.Errorf("nested deeper than %d", maxDepth)
	}
	return nil
}

// flatten maps every leaf's dotted path to its JSON rendering.
func flatten(doc []byte) (map[string]string, error) {
	var n yaml.Node
	if err := yaml.Unmarshal(doc, &n); err != nil {
		return nil, err
	}
	w := &walker{out: map[string]string{}}
	root := &n
	if root.Kind == 0 {
		return w.out, nil // an empty document
	}
	if root.Kind == yaml.DocumentNode {
		if len(root.Content) == 0 {
			return w.out, nil
		}
		root = root.Content[0]
	}
	root = deref(root)
	switch {
	case root.Kind == yaml.ScalarNode && root.Tag == "!!null":
		return w.out, nil
	case root.Kind != yaml.MappingNode:
		return nil, fmt.Errorf("not a mapping")
	}
	if err := w.walk("", root, 0); err != nil {
		return nil, err
	}
	return w.out, nil
}

func deref(n *yaml.Node) *yaml.Node {
	for i := 0; n.Kind == yaml.AliasNode && n.Alias != nil && i < maxDepth; i++ {
		n = n.Alias
	}
	return n
}

// pairs lists a mapping's key/value pairs with << merges applied, later
// and explicit keys winning.
func (w *walker) pairs(m *yaml.Node, depth int) ([][2]*yaml.Node, error) {
	var merged, own [][2]*yaml.Node
	for i := 0; i+1 < len(m.Content); i += 2 {
		k, v := m.Content[i], m.Content[i+1]
		if k.Tag == "!!merge" {
			srcs := []*yaml.Node{deref(v)}
			if srcs[0].Kind == yaml.SequenceNode {
				srcs = srcs[0].Content
			}
			for _, src := range srcs {
				if err := w.visit(depth); err != nil {
					return nil, err
				}
				src = deref(src)
				if src.Kind != yaml.MappingNode {
					return nil, fmt.Errorf("line %d: << merges a non-mapping", k.Line)
				}
				p, err := w.pairs(src, depth+1)
				if err != nil {
					return nil, err
				}
				merged = append(merged, p...)
			}
			continue
		}
		own = append(own, [2]*yaml.Node{k, v})
	}
	return append(merged, own...), nil
}

func (w *walker) walk(prefix string, n *yaml.Node, depth int) error {
	if err := w.visit(depth); err != nil {
		return err
	}
	n = deref(n)
	if n.Kind == yaml.MappingNode && len(n.Content) > 0 {
		ps, err := w.pairs(n, depth)
		if err != nil {
			return err
		}
		for _, p := range ps {
			key, err := w.value(p[0], depth+1)
			if err != nil {
				return err
			}
			ks, ok := key.(string)
			if !ok {
				b, _ := json.Marshal(key)
				ks = string(b)
			}
			if prefix != "" {
				ks = prefix + "." + ks
			}
			if err := w.walk(ks, p[1], depth+1); err != nil {
				return err
			}
		}
		return nil
	}
	v, err := w.value(n, depth)
	if err != nil {
		return fmt.Errorf("%s: %w", prefix, err)
	}
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("%s: %w", prefix, err)
	}
	w.out[prefix] = string(b)
	return nil
}

// value converts a node to plain Go values, counting every one visited.
func (w *walker) value(n *yaml.Node, depth int) (any, error) {
	if err := w.visit(depth); err != nil {
		return nil, err
	}
	n = deref(n)
	switch n.Kind {
	case yaml.ScalarNode:
		var v any
		if err := n.Decode(&v); err != nil {
			return nil, err
		}
		switch t := v.(type) {
		case int:
			return int64(t), nil
		case uint64:
			return float64(t), nil
		case float64:
			if t == float64(int64(t)) {
				return int64(t), nil
			}
		}
		return v, nil
	case yaml.SequenceNode:
		out := make([]any, 0, len(n.Content))
		for _, c := range n.Content {
			v, err := w.value(c, depth+1)
			if err != nil {
				return nil, err
			}
			out = append(out, v)
		}
		return out, nil
	case yaml.MappingNode:
		ps, err := w.pairs(n, depth)
		if err != nil {
			return nil, err
		}
		m := map[string]any{}
		for _, p := range ps {
			k, err := w.value(p[0], depth+1)
			if err != nil {
				return nil, err
			}
			ks, ok := k.(string)
			if !ok {
				b, _ := json.Marshal(k)
				ks = string(b)
			}
			if m[ks], err = w.value(p[1], depth+1); err != nil {
				return nil, err
			}
		}
		return m, nil
	}
	return nil, fmt.Errorf("line %d: unsupported YAML node", n.Line)
}

// formatChanges indents changes for text output.
func formatChanges(cs []Change, indent string) string {
	var b strings.Builder
	for _, c := range cs {
		b.WriteString(indent + c.String() + "\n")
	}
	return b.String()
}
