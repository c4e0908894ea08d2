// Package derive turns DeepFlow's reference files into compact schemas:
// the v6.6+ template (metadata in "# type:" comments above each key) and
// the v6.5 example (mostly commented-out "#key: value" lines).
package derive

import (
	"fmt"
	"regexp"
	"sort"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/deepflow-compose/deepflow-compose/agentcfg/internal/schema"
)

// Source file names, recorded in the derived schema (names only, no paths).
const (
	TemplateName = "agent-group-config-template.yaml"
	ExampleName  = "agent-group-config-example-v6.5.yaml"
)

// dynamic marks enum options that DeepFlow fills at run time (protocol
// names from plugins, domain IDs): no fixed set to check against.
const dynamic = "_DYNAMIC_OPTIONS_"

// meta is the parsed "# field: value" block above one key.
type meta struct {
	Type       string
	Range      []string
	Enum       []string
	Dynamic    bool
	From       []string
	Deprecated bool
	// Sub-keys of a dict, from the "# ---" separated parts that follow
	// the dict's own fields: pairs of (meta lines, "# key: default").
	Subs []sub
}

type sub struct {
	Key     string
	Meta    *meta
	Default *yaml.Node
}

// Sectioned derives the v6.6+ schema from the template's bytes.
func Sectioned(template []byte) (*schema.File, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(template, &doc); err != nil {
		return nil, fmt.Errorf("%s: %w", TemplateName, err)
	}
	if doc.Kind != yaml.DocumentNode || len(doc.Content) != 1 || doc.Content[0].Kind != yaml.MappingNode {
		return nil, fmt.Errorf("%s: top level is not a mapping", TemplateName)
	}
	d := &sectionDeriver{lines: strings.Split(string(template), "\n"), out: map[string]*schema.Node{}}
	if err := d.mapping(doc.Content[0], ""); err != nil {
		return nil, err
	}
	return &schema.File{Format: "sectioned", Source: TemplateName, Keys: d.out}, nil
}

type sectionDeriver struct {
	lines []string
	out   map[string]*schema.Node
}

func (d *sectionDeriver) mapping(m *yaml.Node, prefix string) error {
	for i := 0; i+1 < len(m.Content); i += 2 {
		k, v := m.Content[i], m.Content[i+1]
		if err := d.key(schema.Join(prefix, k.Value), k.Line, v); err != nil {
			return err
		}
	}
	return nil
}

func (d *sectionDeriver) key(path string, line int, v *yaml.Node) error {
	md, err := parseMeta(commentBlockAbove(d.lines, line))
	if err != nil {
		return fmt.Errorf("%s line %d (%s): %w", TemplateName, line, path, err)
	}
	return d.node(path, md, v)
}

// node records path and everything below it.
func (d *sectionDeriver) node(path string, md *meta, v *yaml.Node) error {
	t := md.Type
	if t == "" {
		t = inferType(v)
	}
	n := &schema.Node{Type: t, Range: md.Range, Enum: md.Enum, From: md.From, Deprecated: md.Deprecated}
	d.out[path] = n
	switch {
	case t == schema.Section:
		if v.Kind != yaml.MappingNode {
			return fmt.Errorf("%s: section is not a mapping", path)
		}
		return d.mapping(v, path)
	case t == schema.Dict && v.Kind == yaml.MappingNode:
		// name → value; the first child carries the per-value metadata.
		n.Map, n.Enum = true, nil
		switch {
		case md.Dynamic:
		case len(md.Enum) > 0:
			n.Names = md.Enum
		default:
			for i := 0; i < len(v.Content); i += 2 {
				n.Names = append(n.Names, v.Content[i].Value)
			}
			sort.Strings(n.Names)
		}
		if len(v.Content) == 0 {
			d.out[schema.Join(path, schema.Wildcard)] = &schema.Node{Type: schema.Any}
			return nil
		}
		first := v.Content[0]
		cmd, err := parseMeta(commentBlockAbove(d.lines, first.Line))
		if err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
		wild := schema.Join(path, schema.Wildcard)
		if err := d.node(wild, cmd, v.Content[1]); err != nil {
			return err
		}
		// A name whose value has another YAML type (Oracle: 1521 among
		// HTTP: 1-65535) keeps its own type, as DeepFlow compares per key.
		for i := 2; i+1 < len(v.Content); i += 2 {
			if t := inferType(v.Content[i+1]); d.out[wild].Type != schema.Dict && t != d.out[wild].Type {
				d.out[schema.Join(path, v.Content[i].Value)] = &schema.Node{Type: t, Default: scalarDefault(v.Content[i+1])}
			}
		}
		return nil
	case t == schema.Dict:
		// A sequence of mappings whose keys come from the "# ---" parts.
		n.List = true
		for _, s := range md.Subs {
			if err := d.node(schema.Join(path, s.Key), s.Meta, s.Default); err != nil {
				return err
			}
		}
		// Keys used by the default value but not documented: still valid.
		if v.Kind == yaml.SequenceNode {
			for _, e := range v.Content {
				if e.Kind != yaml.MappingNode {
					continue
				}
				for i := 0; i+1 < len(e.Content); i += 2 {
					p := schema.Join(path, e.Content[i].Value)
					if _, ok := d.out[p]; !ok {
						if err := d.node(p, &meta{}, e.Content[i+1]); err != nil {
							return err
						}
					}
				}
			}
		}
		return nil
	default:
		switch v.Kind {
		case yaml.SequenceNode:
			n.List = true
		case yaml.ScalarNode:
			n.Default = scalarDefault(v)
			n.Nullable = v.Tag == "!!null"
		case yaml.MappingNode:
			return fmt.Errorf("%s: type %s but the value is a mapping", path, t)
		}
		if !schema.IsScalar(t) {
			return fmt.Errorf("%s: unknown type %q", path, t)
		}
		return nil
	}
}

func scalarDefault(v *yaml.Node) *string {
	if v.Kind != yaml.ScalarNode || v.Tag == "!!null" {
		return nil
	}
	s := v.Value
	return &s
}

// inferType is the fallback for a key without "# type:".
func inferType(v *yaml.Node) string {
	switch v.Kind {
	case yaml.MappingNode:
		return schema.Section
	case yaml.SequenceNode:
		if len(v.Content) > 0 {
			return inferType(v.Content[0])
		}
		return schema.Any
	}
	switch v.Tag {
	case "!!int":
		return schema.Int
	case "!!float":
		return schema.Float
	case "!!bool":
		return schema.Bool
	case "!!str":
		return schema.String
	}
	return schema.Any
}

// commentBlockAbove returns the contiguous comment lines just above the
// 1-based line, in file order.
func commentBlockAbove(lines []string, line int) []string {
	i := line - 2
	for i >= 0 && strings.HasPrefix(strings.TrimSpace(lines[i]), "#") {
		i--
	}
	return lines[i+1 : line-1]
}

// uncomment strips the indentation, the '#' and one following space.
func uncomment(l string) string {
	r := strings.TrimLeft(l, " \t")
	r = strings.TrimPrefix(r, "#")
	return strings.TrimPrefix(r, " ")
}

var enumItem = regexp.MustCompile(`^(\s+)- ([^:#]+?)\s*(:.*)?$`)

// parseMeta reads the fields DeepFlow's template puts above a key.
func parseMeta(block []string) (*meta, error) {
	var parts [][]string
	cur := []string{}
	for _, l := range block {
		r := uncomment(l)
		if r == "---" {
			parts = append(parts, cur)
			cur = []string{}
			continue
		}
		cur = append(cur, r)
	}
	parts = append(parts, cur)
	md, err := parseFields(parts[0])
	if err != nil {
		return nil, err
	}
	rest := parts[1:]
	for len(rest) >= 2 {
		smd, err := parseFields(rest[0])
		if err != nil {
			return nil, err
		}
		var def yaml.Node
		if err := yaml.Unmarshal([]byte(strings.Join(rest[1], "\n")), &def); err != nil {
			return nil, fmt.Errorf("sub-key default: %w", err)
		}
		if len(def.Content) != 1 || def.Content[0].Kind != yaml.MappingNode || len(def.Content[0].Content) != 2 {
			return nil, fmt.Errorf("sub-key default %q is not one key", strings.Join(rest[1], " "))
		}
		md.Subs = append(md.Subs, sub{Key: def.Content[0].Content[0].Value, Meta: smd, Default: def.Content[0].Content[1]})
		rest = rest[2:]
	}
	if len(rest) != 0 {
		return nil, fmt.Errorf("dict sub-key without a default line")
	}
	return md, nil
}

func parseFields(lines []string) (*meta, error) {
	md := &meta{}
	for i := 0; i < len(lines); i++ {
		r := lines[i]
		if r == "" || r[0] == ' ' || r[0] == '#' {
			continue
		}
		name, val, ok := strings.Cut(r, ":")
		if !ok {
			continue
		}
		val = strings.TrimSpace(val)
		switch name {
		case "type":
			md.Type = val
		case "range":
			rng, err := flowList(val)
			if err != nil {
				return nil, fmt.Errorf("range %q: %w", val, err)
			}
			if len(rng) == 2 {
				md.Range = rng
			} else if len(rng) != 0 {
				return nil, fmt.Errorf("range %q has %d bounds", val, len(rng))
			}
		case "enum_options":
			var opts []string
			if val != "" {
				var err error
				if opts, err = flowList(val); err != nil {
					return nil, fmt.Errorf("enum_options %q: %w", val, err)
				}
			} else {
				// Block form: "- value:" items, optionally described below.
				indent := ""
				for j := i + 1; j < len(lines) && (lines[j] == "" || lines[j][0] == ' '); j++ {
					m := enumItem.FindStringSubmatch(lines[j])
					if m == nil || (indent != "" && m[1] != indent) {
						continue
					}
					indent = m[1]
					opts = append(opts, strings.TrimSpace(m[2]))
				}
			}
			for _, o := range opts {
				if o == dynamic {
					md.Dynamic = true
				}
			}
			if !md.Dynamic {
				md.Enum = opts
			}
		case "upgrade_from":
			for _, f := range strings.Split(val, ",") {
				if f = strings.TrimSpace(f); f != "" {
					md.From = append(md.From, f)
				}
			}
		case "deprecated":
			md.Deprecated = val == "true"
		}
	}
	return md, nil
}

// flowList reads "[a, b]" (items may be scalars or one-key mappings, whose
// key is taken).
func flowList(s string) ([]string, error) {
	var n yaml.Node
	if err := yaml.Unmarshal([]byte(s), &n); err != nil {
		return nil, err
	}
	if len(n.Content) != 1 || n.Content[0].Kind != yaml.SequenceNode {
		return nil, fmt.Errorf("not a list")
	}
	var out []string
	for _, it := range n.Content[0].Content {
		switch it.Kind {
		case yaml.ScalarNode:
			out = append(out, it.Value)
		case yaml.MappingNode:
			out = append(out, it.Content[0].Value)
		default:
			return nil, fmt.Errorf("nested list")
		}
	}
	return out, nil
}
