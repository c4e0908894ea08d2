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

// flatten maps every leaf's dotted path to its JSON rendering.
func flatten(doc []byte) (map[string]string, error) {
	var v any
	if err := yaml.Unmarshal(doc, &v); err != nil {
		return nil, err
	}
	out := map[string]string{}
	var walk func(prefix string, v any) error
	walk = func(prefix string, v any) error {
		if m, ok := v.(map[string]any); ok && len(m) > 0 {
			for k, sub := range m {
				p := k
				if prefix != "" {
					p = prefix + "." + k
				}
				if err := walk(p, sub); err != nil {
					return err
				}
			}
			return nil
		}
		if prefix == "" {
			if v == nil {
				return nil
			}
			if _, ok := v.(map[string]any); ok {
				return nil
			}
			return fmt.Errorf("not a mapping")
		}
		b, err := json.Marshal(normalize(v))
		if err != nil {
			return fmt.Errorf("%s: %w", prefix, err)
		}
		out[prefix] = string(b)
		return nil
	}
	if err := walk("", v); err != nil {
		return nil, err
	}
	return out, nil
}

// normalize makes YAML's map[any]any (non-string keys) JSON-encodable and
// integral floats equal to ints.
func normalize(v any) any {
	switch t := v.(type) {
	case map[string]any:
		m := map[string]any{}
		for k, x := range t {
			m[k] = normalize(x)
		}
		return m
	case map[any]any:
		m := map[string]any{}
		for k, x := range t {
			m[fmt.Sprint(k)] = normalize(x)
		}
		return m
	case []any:
		out := make([]any, len(t))
		for i, x := range t {
			out[i] = normalize(x)
		}
		return out
	case float64:
		if t == float64(int64(t)) {
			return int64(t)
		}
	case int:
		return int64(t)
	}
	return v
}

// formatChanges indents changes for text output.
func formatChanges(cs []Change, indent string) string {
	var b strings.Builder
	for _, c := range cs {
		b.WriteString(indent + c.String() + "\n")
	}
	return b.String()
}
