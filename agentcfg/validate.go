package agentcfg

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"net/netip"
	"strconv"
	"strings"
	"unicode/utf8"

	"gopkg.in/yaml.v3"

	"github.com/deepflow-compose/deepflow-compose/agentcfg/internal/schema"
)

// maxDepth bounds nesting, maxNodes the values visited: aliases can make
// a small document deep or exponentially wide.
const (
	maxDepth = 32
	maxNodes = 1 << 20
)

// Validate checks an agent-group-config document against the schema of
// its format: every key must exist, every scalar must have the schema's
// YAML type, and enums and ranges must hold. DeepFlow's server applies the
// first two rules to v6.6+ configs; this is at least as strict. A Legacy
// document must also name its group in vtap_group_id.
//
// The error is an Errors listing every problem, each an *Error.
func Validate(format Format, doc []byte) error {
	s, err := schemaFor(format)
	if err != nil {
		return err
	}
	return validateWith(s, format == Legacy, doc)
}

func validateWith(s *schema.File, legacy bool, doc []byte) error {
	dec := yaml.NewDecoder(bytes.NewReader(doc))
	var n yaml.Node
	if err := dec.Decode(&n); err != nil && !errors.Is(err, io.EOF) {
		return Errors{{Path: "(document)", Err: ErrSyntax, Msg: cleanYAMLErr(err)}}
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		return Errors{{Path: "(document)", Line: extra.Line, Err: ErrSyntax, Msg: "more than one YAML document"}}
	}
	return validateNode(s, legacy, &n)
}

func validateNode(s *schema.File, legacy bool, n *yaml.Node) error {
	v := &validator{s: s}
	root := n
	if root.Kind == yaml.DocumentNode && len(root.Content) == 1 {
		root = root.Content[0]
	}
	switch {
	case root.Kind == 0 || (root.Kind == yaml.DocumentNode && len(root.Content) == 0):
		root = nil // empty document: nothing set
	case root.Kind == yaml.ScalarNode && root.Tag == "!!null":
		root = nil
	default:
		v.section(root, "", "", 0)
	}
	if legacy {
		v.groupID(root)
	}
	return v.errs.err()
}

type validator struct {
	s       *schema.File
	errs    Errors
	visited int
}

func (v *validator) fail(n *yaml.Node, path string, sentinel error, format string, args ...any) {
	if path == "" {
		path = "(document)"
	}
	line := 0
	if n != nil {
		line = n.Line
	}
	v.errs = append(v.errs, &Error{Path: path, Line: line, Err: sentinel, Msg: fmt.Sprintf(format, args...)})
}

// groupID insists on vtap_group_id: a legacy config without it cannot be
// created (deepflow-ctl reads the group from the file).
func (v *validator) groupID(root *yaml.Node) {
	if root != nil && root.Kind == yaml.MappingNode {
		for i := 0; i+1 < len(root.Content); i += 2 {
			if root.Content[i].Value == "vtap_group_id" {
				if val := resolve(root.Content[i+1]); val.Kind == yaml.ScalarNode && val.Value != "" {
					return
				}
				v.fail(root.Content[i+1], "vtap_group_id", ErrGroupIDRequired, "must name the agent group (g-…)")
				return
			}
		}
	}
	v.fail(root, "vtap_group_id", ErrGroupIDRequired, "missing; a legacy group config names its agent group (g-…)")
}

func resolve(n *yaml.Node) *yaml.Node {
	for i := 0; n.Kind == yaml.AliasNode && n.Alias != nil && i < maxDepth; i++ {
		n = n.Alias
	}
	return n
}

// mappingKeys walks a mapping's keys, reporting bad and duplicate ones,
// and calls fn for the rest.
func (v *validator) mappingKeys(n *yaml.Node, docPath string, fn func(k, val *yaml.Node, name string)) {
	seen := map[string]bool{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, val := resolve(n.Content[i]), resolve(n.Content[i+1])
		name := k.Value
		p := schema.Join(docPath, name)
		switch {
		case k.Kind != yaml.ScalarNode || k.ShortTag() != "!!str":
			v.fail(k, schema.Join(docPath, fmt.Sprintf("%v", k.Value)), ErrUnknownKey, "keys must be strings")
			continue
		case seen[name]:
			v.fail(k, p, ErrDuplicateKey, "set twice")
			continue
		}
		seen[name] = true
		fn(k, val, name)
	}
}

// section checks a mapping whose children are fixed schema keys.
func (v *validator) section(n *yaml.Node, schemaPath, docPath string, depth int) {
	if n.Kind != yaml.MappingNode {
		v.fail(n, docPath, ErrType, "%s, want a mapping", what(n))
		return
	}
	v.mappingKeys(n, docPath, func(k, val *yaml.Node, name string) {
		sp, dp := schema.Join(schemaPath, name), schema.Join(docPath, name)
		child := v.s.Keys[sp]
		if child == nil || name == schema.Wildcard || strings.Contains(name, ".") {
			v.fail(k, dp, ErrUnknownKey, "unknown key")
			return
		}
		v.value(val, child, sp, dp, depth+1)
	})
}

func (v *validator) value(n *yaml.Node, s *schema.Node, schemaPath, docPath string, depth int) {
	v.visited++
	switch {
	case v.visited == maxNodes:
		v.fail(n, docPath, ErrSyntax, "too many values (alias expansion?)")
		return
	case v.visited > maxNodes:
		return
	case depth > maxDepth:
		v.fail(n, docPath, ErrType, "nested too deeply")
		return
	}
	switch {
	case s.Type == schema.Section:
		v.section(n, schemaPath, docPath, depth)
	case s.Type == schema.Dict && s.Map:
		if n.Kind != yaml.MappingNode {
			v.fail(n, docPath, ErrType, "%s, want a mapping", what(n))
			return
		}
		v.mappingKeys(n, docPath, func(k, val *yaml.Node, name string) {
			dp := schema.Join(docPath, name)
			sp := schema.Join(schemaPath, name)
			child := v.s.Keys[sp]
			if child == nil || name == schema.Wildcard || strings.Contains(name, ".") {
				sp = schema.Join(schemaPath, schema.Wildcard)
				child = v.s.Keys[sp]
			}
			if len(s.Names) > 0 && !contains(s.Names, name) {
				v.fail(k, dp, ErrUnknownKey, "unknown key (one of %s)", strings.Join(s.Names, ", "))
				return
			}
			if child == nil {
				v.fail(k, dp, ErrUnknownKey, "unknown key")
				return
			}
			v.value(val, child, sp, dp, depth+1)
		})
	case s.Type == schema.Dict:
		if n.Kind != yaml.SequenceNode {
			v.fail(n, docPath, ErrType, "%s, want a list of mappings", what(n))
			return
		}
		for i, e := range n.Content {
			v.section(resolve(e), schemaPath, fmt.Sprintf("%s[%d]", docPath, i), depth+1)
		}
	case s.List:
		if n.Kind != yaml.SequenceNode {
			v.fail(n, docPath, ErrType, "%s, want a list of %s", what(n), s.Type)
			return
		}
		for i, e := range n.Content {
			v.scalar(resolve(e), s, fmt.Sprintf("%s[%d]", docPath, i))
		}
	default:
		v.scalar(n, s, docPath)
	}
}

// scalar checks one scalar value: YAML type, then enum, then range.
func (v *validator) scalar(n *yaml.Node, s *schema.Node, path string) {
	if n.Kind != yaml.ScalarNode {
		v.fail(n, path, ErrType, "%s, want %s", what(n), article(s.Type))
		return
	}
	if err := checkScalar(n, s); err != nil {
		var e *Error
		if errors.As(err, &e) {
			v.fail(n, path, e.Err, "%s", e.Msg)
		}
	}
}

// checkScalar is the scalar rule shared by validation and the recipes.
// Its *Error carries no path.
func checkScalar(n *yaml.Node, s *schema.Node) error {
	bad := func(sentinel error, format string, args ...any) error {
		return &Error{Err: sentinel, Msg: fmt.Sprintf(format, args...)}
	}
	tag := n.ShortTag()
	want := map[string]string{
		schema.Int: "!!int", schema.Float: "!!float", schema.Bool: "!!bool",
		schema.String: "!!str", schema.Duration: "!!str", schema.IP: "!!str",
	}[s.Type]
	if tag == "!!null" && s.Nullable {
		return nil
	}
	if want != "" && tag == "!!null" {
		return bad(ErrType, "is empty, want %s", article(s.Type))
	}
	if want != "" && tag != want {
		return bad(ErrType, "%s, want %s", what(n), article(s.Type))
	}
	if len(s.Enum) > 0 && !contains(s.Enum, n.Value) {
		return bad(ErrEnum, "%s is not one of %s", shown(n), strings.Join(s.Enum, ", "))
	}
	var lo, hi, x float64 // compared as float64: exact for every bound in use
	switch s.Type {
	case schema.Int:
		var i int64
		if err := n.Decode(&i); err != nil {
			return bad(ErrRange, "%s does not fit a 64-bit integer", shown(n))
		}
		x = float64(i)
	case schema.Float:
		if err := n.Decode(&x); err != nil || math.IsNaN(x) {
			return bad(ErrValue, "%s is not a number", shown(n))
		}
	case schema.Duration:
		d, err := schema.ParseDuration(n.Value)
		if err != nil {
			return bad(ErrValue, "%s is not a duration (e.g. 10s, 5m, 1h, 30d)", shown(n))
		}
		x = float64(d)
	case schema.IP:
		if n.Value != "" {
			if _, err := netip.ParseAddr(n.Value); err != nil {
				return bad(ErrValue, "%s is not an IP address", shown(n))
			}
		}
		return nil
	case schema.String:
		x = float64(utf8.RuneCountInString(n.Value))
	default:
		return nil
	}
	if len(s.Range) != 2 {
		return nil
	}
	var ok bool
	if lo, ok = bound(s.Type, s.Range[0]); !ok {
		return nil
	}
	if hi, ok = bound(s.Type, s.Range[1]); !ok {
		return nil
	}
	if x < lo || x > hi {
		if s.Type == schema.String {
			return bad(ErrRange, "%s is %d characters long, want [%s, %s]", shown(n), int(x), s.Range[0], s.Range[1])
		}
		return bad(ErrRange, "%s is out of range [%s, %s]", shown(n), s.Range[0], s.Range[1])
	}
	return nil
}

func bound(t, s string) (float64, bool) {
	switch t {
	case schema.Duration:
		d, err := schema.ParseDuration(s)
		return float64(d), err == nil
	default:
		f, err := strconv.ParseFloat(s, 64)
		return f, err == nil
	}
}

// shown prints a value the way the user wrote it, quoted when a string.
func shown(n *yaml.Node) string {
	v := n.Value
	if len(v) > 60 {
		v = v[:57] + "..."
	}
	if n.ShortTag() == "!!str" {
		return strconv.Quote(v)
	}
	return v
}

// what says what a node is, with its value when it is a scalar.
func what(n *yaml.Node) string {
	if n.Kind == yaml.ScalarNode && n.ShortTag() != "!!null" {
		return shown(n) + " is " + describe(n)
	}
	return "is " + describe(n)
}

func describe(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		switch n.ShortTag() {
		case "!!int":
			return "an integer"
		case "!!float":
			return "a float"
		case "!!bool":
			return "a boolean"
		case "!!str":
			return "a string"
		case "!!null":
			return "empty"
		}
		return "tagged " + n.ShortTag()
	}
	return "not a value"
}

func article(t string) string {
	switch t {
	case schema.Int:
		return "an integer"
	case schema.Float:
		return "a float (e.g. 1.0)"
	case schema.Bool:
		return "true or false"
	case schema.String:
		return "a string"
	case schema.Duration:
		return "a duration string (e.g. 10s)"
	case schema.IP:
		return "an IP address string"
	}
	return "a scalar"
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// cleanYAMLErr drops yaml.v3's "yaml: " prefix.
func cleanYAMLErr(err error) string {
	return strings.TrimPrefix(err.Error(), "yaml: ")
}
