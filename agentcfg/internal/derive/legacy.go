package derive

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/deepflow-compose/deepflow-compose/agentcfg/internal/schema"
)

var (
	// "#key: value", "#- item", "#"HTTP": ..." — a commented-out line of
	// configuration (single '#', no space); "##" lines are documentation.
	commentedConfig = regexp.MustCompile(`^(\s*)#((?:- |-$|"?[A-Za-z0-9_.$-]+"?\s*:(?:\s|$)).*)$`)
	// "#  key: value" — the continuation of a commented-out list item or
	// mapping ("#- match-regex:" then "#  match-type:").
	commentedContinuation = regexp.MustCompile(`^(\s*)#(  [A-Za-z"][A-Za-z0-9_."-]*:(?:\s.*)?)$`)
	// A documentation line: "## text", "#  # text", a bare "#", or prose
	// continued after "#" and three or more spaces.
	docLine = regexp.MustCompile(`^\s*#(\s*#.*|\s*|\s{3,}.*)$`)

	docDefault = regexp.MustCompile(`Default: *([^,.\s]*(?:\.[0-9]+)?|"[^"]*")`)
	docRange   = regexp.MustCompile(`Range: *\[(-?[0-9.]+[a-z]*), *(-?[0-9.]+[a-z]*)\]`)
	docLength  = regexp.MustCompile(`Length: *\[([0-9]+), *([0-9]+)\]`)
)

// Legacy derives the v6.5 schema. The example file gives the key set and
// most types (its values); keys it only documents in prose are added from
// the template's upgrade_from entries, which name v6.5 key paths.
func Legacy(example, template []byte) (*schema.File, error) {
	orig := strings.Split(string(example), "\n")
	var doc yaml.Node
	if err := yaml.Unmarshal(Uncomment(example), &doc); err != nil {
		return nil, fmt.Errorf("%s (uncommented): %w", ExampleName, err)
	}
	if len(doc.Content) != 1 || doc.Content[0].Kind != yaml.MappingNode {
		return nil, fmt.Errorf("%s: top level is not a mapping", ExampleName)
	}
	sec, err := Sectioned(template)
	if err != nil {
		return nil, err
	}
	d := &legacyDeriver{orig: orig, out: map[string]*schema.Node{}, docs: map[string]string{}}
	d.mapping(doc.Content[0], "")

	// Keys the example only mentions in prose, named by upgrade_from.
	upgrades := sec.Upgrades()
	via := map[string]string{} // legacy path → sectioned path
	for _, from := range sortedKeys(upgrades) {
		for _, p := range d.expand(from) {
			d.ensure(p)
			via[p] = upgrades[from]
		}
	}
	// Types the example leaves open: its "Default:" prose, else the
	// sectioned type where that cannot differ (see fallbackType).
	for p, n := range d.out {
		if n.Type != schema.Any {
			continue
		}
		if t := d.docType(p); t != "" {
			n.Type = t
		} else if to, ok := via[p]; ok {
			n.Type = fallbackType(p, sec.Keys[to])
		}
	}
	for p, n := range d.out {
		d.ranges(p, n)
	}
	return &schema.File{Format: "legacy", Source: ExampleName, Keys: d.out}, nil
}

// Uncomment turns the example's commented-out configuration lines into
// YAML, line for line (documentation stays comments, so lines keep their
// numbers).
func Uncomment(example []byte) []byte {
	lines := strings.Split(string(example), "\n")
	for i, l := range lines {
		switch {
		case commentedConfig.MatchString(l):
			lines[i] = commentedConfig.ReplaceAllString(l, "$1$2")
		case commentedContinuation.MatchString(l):
			lines[i] = commentedContinuation.ReplaceAllString(l, "$1$2")
		}
	}
	return []byte(strings.Join(lines, "\n"))
}

type legacyDeriver struct {
	orig []string
	out  map[string]*schema.Node
	docs map[string]string // key path → its documentation prose
}

func (d *legacyDeriver) mapping(m *yaml.Node, prefix string) {
	for i := 0; i+1 < len(m.Content); i += 2 {
		k, v := m.Content[i], m.Content[i+1]
		p := schema.Join(prefix, k.Value)
		if _, seen := d.docs[p]; !seen {
			d.docs[p] = d.docAbove(k.Line)
		}
		d.value(p, v)
	}
}

func (d *legacyDeriver) value(p string, v *yaml.Node) {
	n := d.out[p]
	if n == nil {
		n = &schema.Node{Type: schema.Any}
		d.out[p] = n
	}
	switch v.Kind {
	case yaml.MappingNode:
		if n.Type == schema.Any {
			n.Type = schema.Section
		}
		d.mapping(v, p)
	case yaml.SequenceNode:
		n.List = true
		for _, e := range v.Content {
			if e.Kind == yaml.MappingNode {
				n.Type = schema.Dict
				d.mapping(e, p)
			} else if n.Type == schema.Any {
				n.Type = scalarType(e)
			}
		}
	case yaml.ScalarNode:
		if n.Type == schema.Any {
			n.Type = scalarType(v)
		}
		if n.Default == nil {
			n.Default = scalarDefault(v)
		}
		// "#key:" with nothing after it: leaving it empty is allowed.
		n.Nullable = n.Nullable || v.Tag == "!!null"
	}
}

func scalarType(v *yaml.Node) string {
	switch v.Tag {
	case "!!int":
		return schema.Int
	case "!!float":
		return schema.Float
	case "!!bool":
		return schema.Bool
	case "!!str":
		if _, err := schema.ParseDuration(v.Value); err == nil {
			return schema.Duration
		}
		return schema.String
	}
	return schema.Any
}

// docAbove returns the documentation lines just above a key's line.
func (d *legacyDeriver) docAbove(line int) string {
	i := line - 2
	for i >= 0 && docLine.MatchString(d.orig[i]) {
		i--
	}
	return strings.Join(d.orig[i+1:line-1], "\n")
}

// expand resolves "$protocol" in an upgrade_from path to the protocol
// names the example lists under that parent.
func (d *legacyDeriver) expand(from string) []string {
	before, after, ok := strings.Cut(from, ".$protocol")
	if !ok {
		return []string{from}
	}
	var out []string
	for p := range d.out {
		if parent, name, _ := cutLast(p); parent == before && !strings.Contains(name, ".") {
			out = append(out, p+after)
		}
	}
	return out
}

// ensure adds a key path and its missing parents. A parent gaining
// children becomes a section, or a dict if it is a list.
func (d *legacyDeriver) ensure(p string) {
	if _, ok := d.out[p]; ok {
		return
	}
	d.out[p] = &schema.Node{Type: schema.Any}
	parent, _, ok := cutLast(p)
	if !ok {
		return
	}
	d.ensure(parent)
	pn := d.out[parent]
	switch {
	case pn.List:
		pn.Type = schema.Dict
	case pn.Type != schema.Dict:
		pn.Type = schema.Section
	}
}

func cutLast(p string) (string, string, bool) {
	i := strings.LastIndex(p, ".")
	if i < 0 {
		return "", p, false
	}
	return p[:i], p[i+1:], true
}

// docType reads "Default: X" in a key's documentation.
func (d *legacyDeriver) docType(p string) string {
	m := docDefault.FindStringSubmatch(d.docs[p])
	if m == nil || m[1] == "" {
		return ""
	}
	var v yaml.Node
	if yaml.Unmarshal([]byte(m[1]), &v) != nil || len(v.Content) != 1 || v.Content[0].Kind != yaml.ScalarNode {
		return ""
	}
	if t := scalarType(v.Content[0]); t != schema.Any {
		return t
	}
	return ""
}

// fallbackType takes a sectioned key's type for the v6.5 key it upgrades
// from, only where the representation did not change: strings stayed
// strings, and static_config switches were YAML booleans already (the
// top-level v6.5 switches were 0/1 ints, and ints often became durations).
func fallbackType(legacyPath string, n *schema.Node) string {
	switch {
	case n == nil:
	case n.Type == schema.String || n.Type == schema.IP:
		return schema.String
	case n.Type == schema.Bool && strings.HasPrefix(legacyPath, "static_config."):
		return schema.Bool
	}
	return schema.Any
}

// ranges reads "Range: [a, b]" (numbers, durations) and "Length: [a, b]"
// (strings) from a key's documentation, keeping only bounds that parse as
// the key's type.
func (d *legacyDeriver) ranges(p string, n *schema.Node) {
	doc := d.docs[p]
	if n.Type == schema.String {
		if m := docLength.FindStringSubmatch(doc); m != nil {
			n.Range = []string{m[1], m[2]}
		}
		return
	}
	m := docRange.FindStringSubmatch(doc)
	if m == nil {
		return
	}
	ok := func(s string) bool {
		switch n.Type {
		case schema.Int:
			_, err := strconv.ParseInt(s, 10, 64)
			return err == nil
		case schema.Float:
			_, err := strconv.ParseFloat(s, 64)
			return err == nil
		case schema.Duration:
			_, err := schema.ParseDuration(s)
			return err == nil
		}
		return false
	}
	if ok(m[1]) && ok(m[2]) {
		n.Range = []string{m[1], m[2]}
	}
}

func sortedKeys(m map[string]string) []string {
	f := &schema.File{Keys: map[string]*schema.Node{}}
	for k := range m {
		f.Keys[k] = nil
	}
	return f.Paths()
}

// Output file names of the derived schemas inside package agentcfg.
const (
	SectionedFile = "schema_sectioned.json"
	LegacyFile    = "schema_legacy.json"
)

// Files derives both schemas and returns their bytes keyed by file name,
// exactly as the generator writes them.
func Files(template, example []byte) (map[string][]byte, error) {
	sec, err := Sectioned(template)
	if err != nil {
		return nil, err
	}
	leg, err := Legacy(example, template)
	if err != nil {
		return nil, err
	}
	out := map[string][]byte{}
	for name, f := range map[string]*schema.File{SectionedFile: sec, LegacyFile: leg} {
		b, err := f.Marshal()
		if err != nil {
			return nil, err
		}
		out[name] = b
	}
	return out, nil
}
