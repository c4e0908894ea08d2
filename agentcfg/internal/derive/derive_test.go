package derive

import (
	"reflect"
	"strings"
	"testing"

	"github.com/deepflow-compose/deepflow-compose/agentcfg/internal/schema"
)

// A miniature template in DeepFlow's comment format.
const template = `# type: section
global:
  # type: section
  # name:
  #   en: Limits
  limits:
    # type: int
    # name:
    #   en: Memory Limit
    # unit: MiB
    # range: [128, 100000]
    # enum_options: []
    # description:
    #   en: |-
    #     ---
    #     a description line that looks like a separator
    # upgrade_from: max_memory
    max_memory: 768
    # type: duration
    # range: [10s, 3600s]
    # upgrade_from: sync_interval
    interval: 60s
    # type: int
    # enum_options:
    #   - 0:
    #       en: local
    #   #- 3:
    #   - 1: VXLAN
    #   - 2:
    #       en: |-
    #         - not an option
    mode: 0
    # type: string
    # enum_options: [_DYNAMIC_OPTIONS_: _DYNAMIC_OPTIONS_]
    domains: ["0"]
    # type: string
    # range: [0, 100]
    # upgrade_from: static_config.kubernetes-namespace
    namespace:
  # type: dict
  # upgrade_from: static_config.os-proc-regex, static_config.other
  # ---
  # type: string
  # enum_options: [a, b]
  # upgrade_from: static_config.os-proc-regex.match-type
  # ---
  # match_type: a
  # ---
  # type: int
  # ---
  # ports: []
  matcher:
    - match_type: b
      extra: true
  # type: dict
  # enum_options: [_DYNAMIC_OPTIONS_]
  ports:
    # type: string
    HTTP: 1-65535
    Oracle: 1521
`

func TestSectioned(t *testing.T) {
	f, err := Sectioned([]byte(template))
	if err != nil {
		t.Fatal(err)
	}
	str := func(s string) *string { return &s }
	want := map[string]*schema.Node{
		"global":                    {Type: "section"},
		"global.limits":             {Type: "section"},
		"global.limits.max_memory":  {Type: "int", Range: []string{"128", "100000"}, Default: str("768"), From: []string{"max_memory"}},
		"global.limits.interval":    {Type: "duration", Range: []string{"10s", "3600s"}, Default: str("60s"), From: []string{"sync_interval"}},
		"global.limits.mode":        {Type: "int", Enum: []string{"0", "1", "2"}, Default: str("0")},
		"global.limits.domains":     {Type: "string", List: true},
		"global.limits.namespace":   {Type: "string", Range: []string{"0", "100"}, Nullable: true, From: []string{"static_config.kubernetes-namespace"}},
		"global.matcher":            {Type: "dict", List: true, From: []string{"static_config.os-proc-regex", "static_config.other"}},
		"global.matcher.match_type": {Type: "string", Enum: []string{"a", "b"}, Default: str("a"), From: []string{"static_config.os-proc-regex.match-type"}},
		"global.matcher.ports":      {Type: "int", List: true},
		"global.matcher.extra":      {Type: "bool", Default: str("true")}, // used by the default value only
		"global.ports":              {Type: "dict", Map: true},
		"global.ports.*":            {Type: "string", Default: str("1-65535")},
		"global.ports.Oracle":       {Type: "int", Default: str("1521")},
	}
	if len(f.Keys) != len(want) {
		t.Errorf("got keys %v", f.Paths())
	}
	for p, w := range want {
		if got := f.Keys[p]; !reflect.DeepEqual(got, w) {
			t.Errorf("%s:\n got %+v\nwant %+v", p, got, w)
		}
	}
	if up := f.Upgrades(); up["static_config.other"] != "global.matcher" || up["max_memory"] != "global.limits.max_memory" {
		t.Errorf("upgrades %v", up)
	}
}

func TestSectionedErrors(t *testing.T) {
	for _, doc := range []string{
		"# type: int\na: {b: 1}\n",          // a mapping for a scalar type
		"# type: section\na: 1\n",           // a scalar for a section
		"# type: widget\na: 1\n",            // unknown type
		"# type: int\n# range: [1]\na: 1\n", // one bound
		"# type: dict\n# ---\n# type: int\na: []\n",
		"- a\n",
	} {
		if _, err := Sectioned([]byte(doc)); err == nil {
			t.Errorf("no error for %q", doc)
		}
	}
}

const example = `## Agent Group ID
vtap_group_id: g-xxxxxx

## Memory
## Default: 768. Range: [128, 100000]
#max_memory: 768

## Controller IP
#proxy_controller_ip:

## Switch
## Default: 0. Options: 0, 1
#platform_enabled: 0

#ntp-max-interval = 300s

#static_config:
  ## Interval
  ## Default: 10s. Range: [1s, 3600s].
  #guard-interval: 10s

  ## Regex
  ## Length: [0, 10]
  #regex: abc

  #l7-log-blacklist:
  #  HTTP: []

  #os-proc-regex:
    ## Default: .*
    #- match-regex:
    #  # Default: process_name
    #  match-type:
    #
    #  # Default: accept
    #  action:
`

const miniTemplate = `global:
  # type: ip
  # upgrade_from: proxy_controller_ip
  ip: ""
  # type: bool
  # upgrade_from: platform_enabled
  platform: false
  # type: bool
  # upgrade_from: static_config.kubernetes-resources.disabled
  disabled: false
  # type: duration
  # upgrade_from: static_config.ntp-max-interval
  ntp: 300s
  # type: dict
  # upgrade_from: static_config.l7-log-blacklist
  # ---
  # type: string
  # upgrade_from: static_config.l7-log-blacklist.$protocol.field-name
  # ---
  # field_name: ""
  filters: []
`

func TestLegacy(t *testing.T) {
	f, err := Legacy([]byte(example), []byte(miniTemplate))
	if err != nil {
		t.Fatal(err)
	}
	str := func(s string) *string { return &s }
	want := map[string]*schema.Node{
		"vtap_group_id":                                  {Type: "string", Default: str("g-xxxxxx")},
		"max_memory":                                     {Type: "int", Range: []string{"128", "100000"}, Default: str("768")},
		"proxy_controller_ip":                            {Type: "string", Nullable: true},   // from the template's ip
		"platform_enabled":                               {Type: "int", Default: str("0")},   // the example's 0/1, not the template's bool
		"static_config":                                  {Type: "section", Nullable: false}, // uncommented parent
		"static_config.guard-interval":                   {Type: "duration", Range: []string{"1s", "3600s"}, Default: str("10s")},
		"static_config.regex":                            {Type: "string", Range: []string{"0", "10"}, Default: str("abc")},
		"static_config.ntp-max-interval":                 {Type: "any"},     // only upgrade_from names it
		"static_config.kubernetes-resources":             {Type: "section"}, // parent of an upgrade_from key
		"static_config.kubernetes-resources.disabled":    {Type: "bool"},    // static_config switches were booleans
		"static_config.l7-log-blacklist":                 {Type: "section"},
		"static_config.l7-log-blacklist.HTTP":            {Type: "dict", List: true},
		"static_config.l7-log-blacklist.HTTP.field-name": {Type: "string"}, // $protocol expanded
		"static_config.os-proc-regex":                    {Type: "dict", List: true},
		"static_config.os-proc-regex.match-regex":        {Type: "any", Nullable: true},    // "Default: .*" gives no type
		"static_config.os-proc-regex.match-type":         {Type: "string", Nullable: true}, // "Default: process_name"
		"static_config.os-proc-regex.action":             {Type: "string", Nullable: true},
	}
	for p, w := range want {
		if got := f.Keys[p]; !reflect.DeepEqual(got, w) {
			t.Errorf("%s:\n got %+v\nwant %+v", p, got, w)
		}
	}
	if len(f.Keys) != len(want) {
		t.Errorf("got keys %v", f.Paths())
	}
}

func TestUncomment(t *testing.T) {
	got := string(Uncomment([]byte(example)))
	for _, want := range []string{
		"\nmax_memory: 768\n",
		"\n  l7-log-blacklist:\n    HTTP: []\n",
		"\n    - match-regex:\n",
		"\n      match-type:\n",
		"\n#ntp-max-interval = 300s\n",              // not YAML: left alone
		"\n## Default: 768. Range: [128, 100000]\n", // documentation stays
		"\n    #  # Default: process_name\n",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("uncommented example lacks %q:\n%s", want, got)
		}
	}
	if strings.Count(got, "\n") != strings.Count(example, "\n") {
		t.Error("line numbers changed")
	}
}

func TestParseDuration(t *testing.T) {
	for in, want := range map[string]string{"10s": "10s", "1h30m": "1h30m0s", "30d": "720h0m0s", "50us": "50µs", "0ns": "0s", "1.5s": "1.5s"} {
		d, err := schema.ParseDuration(in)
		if err != nil || d.String() != want {
			t.Errorf("%s: %v, %v; want %s", in, d, err, want)
		}
	}
	for _, in := range []string{"", "10", "s", "10x", "-1s", "1e3s", "99999999999d"} {
		if _, err := schema.ParseDuration(in); err == nil {
			t.Errorf("%q parsed", in)
		}
	}
}
