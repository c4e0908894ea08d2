package catalog

import (
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// Schema is what one DeepFlow release's server expects of its databases:
// the MySQL db_version (DB_VERSION_EXPECTED) and the version ClickHouse
// tables carry as the comment on column time (CK_VERSION).
type Schema struct {
	MySQL      Range `yaml:"mysql"`
	ClickHouse Range `yaml:"clickhouse"`
}

// Range is a dotted version, or the versions a moving tag may carry: Min
// alone with Max equal is one version; an empty Max is Min or newer (a
// branch head); Min..Max bounds a release whose own value is not known.
type Range struct {
	Min, Max string
	// Open: no upper bound.
	Open bool
}

// ErrBadRange is returned for a range the catalog cannot read.
var ErrBadRange = errors.New("bad version range")

// ParseRange reads "X", "X+" or "X..Y".
func ParseRange(s string) (Range, error) {
	s = strings.TrimSpace(s)
	var r Range
	switch {
	case strings.HasSuffix(s, "+"):
		r = Range{Min: strings.TrimSuffix(s, "+"), Open: true}
	case strings.Contains(s, ".."):
		lo, hi, _ := strings.Cut(s, "..")
		r = Range{Min: lo, Max: hi}
	default:
		r = Range{Min: s, Max: s}
	}
	if _, err := parseDotted(r.Min); err != nil {
		return Range{}, fmt.Errorf("%w %q: %w", ErrBadRange, s, err)
	}
	if !r.Open {
		if _, err := parseDotted(r.Max); err != nil {
			return Range{}, fmt.Errorf("%w %q: %w", ErrBadRange, s, err)
		}
		if CompareVersions(r.Min, r.Max) > 0 {
			return Range{}, fmt.Errorf("%w %q: its bottom is above its top", ErrBadRange, s)
		}
	}
	return r, nil
}

// UnmarshalYAML reads a range from its text.
func (r *Range) UnmarshalYAML(n *yaml.Node) error {
	var s string
	if err := n.Decode(&s); err != nil {
		return err
	}
	v, err := ParseRange(s)
	if err != nil {
		return fmt.Errorf("line %d: %w", n.Line, err)
	}
	*r = v
	return nil
}

// Exact reports whether the range is one version.
func (r Range) Exact() bool { return !r.Open && r.Min == r.Max }

// String writes the range as the catalog does.
func (r Range) String() string {
	switch {
	case r.Open:
		return r.Min + "+"
	case r.Min == r.Max:
		return r.Min
	}
	return r.Min + ".." + r.Max
}

// Contains reports whether version v lies in the range. An unparsable v
// lies in none.
func (r Range) Contains(v string) bool {
	if _, err := parseDotted(v); err != nil {
		return false
	}
	if CompareVersions(v, r.Min) < 0 {
		return false
	}
	return r.Open || CompareVersions(v, r.Max) <= 0
}

// Above reports whether v is newer than anything in the range.
func (r Range) Above(v string) bool {
	if _, err := parseDotted(v); err != nil || r.Open {
		return false
	}
	return CompareVersions(v, r.Max) > 0
}

// Below reports whether v is older than anything in the range.
func (r Range) Below(v string) bool {
	if _, err := parseDotted(v); err != nil {
		return false
	}
	return CompareVersions(v, r.Min) < 0
}

// union is the smallest range holding both.
func (r Range) union(o Range) Range {
	out := r
	if CompareVersions(o.Min, out.Min) < 0 {
		out.Min = o.Min
	}
	if o.Open || out.Open {
		out.Open, out.Max = true, ""
	} else if CompareVersions(o.Max, out.Max) > 0 {
		out.Max = o.Max
	}
	return out
}

// Expected is what the line's image tag may expect, over every release it
// may pull: a moving tag's branch head widens its last release's value.
func (r *Release) Expected() Schema {
	var out Schema
	for i, rel := range r.Releases {
		s := r.Schema[rel]
		if i == 0 {
			out = s
			continue
		}
		out.MySQL = out.MySQL.union(s.MySQL)
		out.ClickHouse = out.ClickHouse.union(s.ClickHouse)
	}
	return out
}

func (r *Release) checkSchema() error {
	for _, rel := range r.Releases {
		s, ok := r.Schema[rel]
		if !ok || s.MySQL.Min == "" || s.ClickHouse.Min == "" {
			return fmt.Errorf("release %s has no schema (mysql and clickhouse)", rel)
		}
	}
	for rel := range r.Schema {
		found := false
		for _, x := range r.Releases {
			found = found || x == rel
		}
		if !found {
			return fmt.Errorf("schema names %s, which is not among the releases", rel)
		}
	}
	return nil
}

// CompareVersions orders dotted versions (a leading "v" ignored) field by
// field, numerically, a missing field counting as 0, as DeepFlow's
// migrator sorts its issu files. Unparsable versions sort first.
func CompareVersions(a, b string) int {
	pa, ea := parseDotted(a)
	pb, eb := parseDotted(b)
	switch {
	case ea != nil && eb != nil:
		return strings.Compare(a, b)
	case ea != nil:
		return -1
	case eb != nil:
		return 1
	}
	for i := 0; i < len(pa) || i < len(pb); i++ {
		var x, y uint64
		if i < len(pa) {
			x = pa[i]
		}
		if i < len(pb) {
			y = pb[i]
		}
		switch {
		case x < y:
			return -1
		case x > y:
			return 1
		}
	}
	return 0
}

// IsVersion reports whether v is a dotted version, one CompareVersions
// orders by its numbers.
func IsVersion(v string) bool {
	_, err := parseDotted(v)
	return err == nil
}

func parseDotted(v string) ([]uint64, error) {
	s := strings.TrimPrefix(v, "v")
	if s == "" {
		return nil, fmt.Errorf("empty version")
	}
	var out []uint64
	for _, f := range strings.Split(s, ".") {
		n, err := strconv.ParseUint(f, 10, 32)
		if err != nil {
			return nil, fmt.Errorf("%q is not a dotted version", v)
		}
		out = append(out, n)
	}
	return out, nil
}

// Order is a release line's place among the catalog's, oldest first; -1
// for one it does not know.
func Order(version string) int {
	r, err := Lookup(version)
	if err != nil {
		return -1
	}
	return sort.SearchStrings(Versions(), r.Name)
}

// ForTag finds the release line whose DeepFlow image tag is tag.
func ForTag(tag string) (*Release, bool) {
	for _, v := range Versions() {
		r := catalog.Versions[v]
		if r.DeepFlow == tag {
			return r, true
		}
		for _, rel := range r.Releases {
			if rel == tag {
				return r, true
			}
		}
	}
	return nil, false
}
