package catalog

import (
	"errors"
	"testing"
)

func TestParseRange(t *testing.T) {
	for _, c := range []struct {
		in, str string
		exact   bool
		in1     []string // contained
		out     []string // not contained
		above   []string
		err     string
	}{
		{in: "7.1.0.30", str: "7.1.0.30", exact: true, in1: []string{"7.1.0.30", "7.1.0.30.0"}, out: []string{"7.1.0.29", "7.1.0.31", "", "x"}, above: []string{"7.1.0.31", "7.2"}},
		{in: "7.1.0.30+", str: "7.1.0.30+", in1: []string{"7.1.0.30", "7.1.0.40", "8"}, out: []string{"7.0.1.29"}},
		{in: "7.0.1.23..7.0.1.29", str: "7.0.1.23..7.0.1.29", in1: []string{"7.0.1.23", "7.0.1.25", "7.0.1.29"}, out: []string{"7.0.1.22", "7.1.0.30"}, above: []string{"7.1.0.30"}},
		{in: "v7.1.7.3", str: "v7.1.7.3", exact: true, in1: []string{"v7.1.7.3", "7.1.7.3"}, out: []string{"v7.0.5.0"}},
		{in: "7.1..7.0", err: `bad version range "7.1..7.0": its bottom is above its top`},
		{in: "seven", err: `bad version range "seven": "seven" is not a dotted version`},
		{in: "+", err: `bad version range "+": empty version`},
	} {
		r, err := ParseRange(c.in)
		if c.err != "" {
			if err == nil || err.Error() != c.err || !errors.Is(err, ErrBadRange) {
				t.Errorf("%q: error %v, want %q", c.in, err, c.err)
			}
			continue
		}
		if err != nil {
			t.Fatalf("%q: %v", c.in, err)
		}
		if r.String() != c.str || r.Exact() != c.exact {
			t.Errorf("%q: %s exact=%v", c.in, r, r.Exact())
		}
		for _, v := range c.in1 {
			if !r.Contains(v) {
				t.Errorf("%s does not contain %q", r, v)
			}
		}
		for _, v := range c.out {
			if r.Contains(v) {
				t.Errorf("%s contains %q", r, v)
			}
		}
		for _, v := range c.above {
			if !r.Above(v) {
				t.Errorf("%q is not above %s", v, r)
			}
		}
		if r.Above(r.Min) || (r.Open && r.Above("99")) {
			t.Errorf("%s: Above wrong at its ends", r)
		}
	}
}

// Every release line's expected versions, over the releases its tag may
// pull; the lines are ordered, so a database past one line's top belongs to
// a later line.
func TestExpected(t *testing.T) {
	want := map[string][2]string{
		"v6.5": {"6.5.1.46+", "v6.5.7.0+"},
		"v6.6": {"6.5.1.46..6.6.1.25", "v6.5.7.0..v6.6.3.0"},
		"v7.0": {"7.0.1.23..7.0.1.29", "v7.0.5.0+"},
		"v7.1": {"7.1.0.30+", "v7.1.7.3+"},
	}
	for _, v := range Versions() {
		r, _ := Lookup(v)
		e := r.Expected()
		if got := [2]string{e.MySQL.String(), e.ClickHouse.String()}; got != want[v] {
			t.Errorf("%s expects %v, want %v", v, got, want[v])
		}
	}
	v70, _ := Lookup("v7.0")
	if !v70.Expected().MySQL.Above("7.1.0.30") {
		t.Error("a v7.1.8 database is not above v7.0")
	}
	if r, ok := ForTag("v7.0"); !ok || r.Name != "v7.0" {
		t.Errorf("ForTag(v7.0) = %v", r)
	}
	if r, ok := ForTag("v6.6.8"); !ok || r.Name != "v6.6" {
		t.Errorf("ForTag(v6.6.8) = %v", r)
	}
	if _, ok := ForTag("latest"); ok {
		t.Error("ForTag(latest) found a line")
	}
	if Order("v7.1") <= Order("7.0") || Order("v9.9") != -1 {
		t.Error("Order is wrong")
	}
}

func TestCheckSchema(t *testing.T) {
	r := &Release{Name: "vX", Releases: []string{"a", "b"}, Schema: map[string]Schema{"a": {MySQL: Range{Min: "1", Max: "1"}, ClickHouse: Range{Min: "1", Max: "1"}}}}
	if err := r.checkSchema(); err == nil || err.Error() != "release b has no schema (mysql and clickhouse)" {
		t.Errorf("missing release: %v", err)
	}
	r.Releases = []string{"a"}
	r.Schema["c"] = r.Schema["a"]
	if err := r.checkSchema(); err == nil || err.Error() != "schema names c, which is not among the releases" {
		t.Errorf("extra release: %v", err)
	}
}

// Order reads a line's name as Lookup does.
func TestOrderSpellings(t *testing.T) {
	want := Order("v7.0")
	for _, v := range []string{"7.0", "V7.0"} {
		if got := Order(v); got != want || got < 0 {
			t.Errorf("Order(%q) = %d, want %d", v, got, want)
		}
	}
	for _, v := range []string{"", "v", "7", "v7.0x"} {
		if got := Order(v); got != -1 {
			t.Errorf("Order(%q) = %d, want -1", v, got)
		}
	}
}
