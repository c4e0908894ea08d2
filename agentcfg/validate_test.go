package agentcfg

import (
	"errors"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

func TestValidateErrors(t *testing.T) {
	cases := []struct {
		name   string
		format Format
		doc    string
		is     error
		msg    string // the whole error text
		line   int
	}{
		{"unknown key", Sectioned, "global:\n  limits:\n    max_memroy: 768\n", ErrUnknownKey,
			"global.limits.max_memroy: unknown key", 3},
		{"unknown section", Sectioned, "globals: {}\n", ErrUnknownKey, "globals: unknown key", 1},
		{"dotted key is not a path", Sectioned, "global.limits.max_memory: 768\n", ErrUnknownKey,
			"global.limits.max_memory: unknown key", 1},
		{"string for int", Sectioned, "global:\n  limits:\n    max_memory: \"768\"\n", ErrType,
			`global.limits.max_memory: "768" is a string, want an integer`, 3},
		{"empty for int", Sectioned, "global:\n  limits:\n    max_memory:\n", ErrType,
			"global.limits.max_memory: is empty, want an integer", 3},
		{"int for bool", Sectioned, "inputs:\n  proc:\n    enabled: 1\n", ErrType,
			"inputs.proc.enabled: 1 is an integer, want true or false", 3},
		{"int for float", Sectioned, "global:\n  circuit_breakers:\n    relative_sys_load:\n      trigger_threshold: 1\n", ErrType,
			"global.circuit_breakers.relative_sys_load.trigger_threshold: 1 is an integer, want a float (e.g. 1.0)", 4},
		{"int for duration", Sectioned, "inputs:\n  resources:\n    push_interval: 10\n", ErrType,
			"inputs.resources.push_interval: 10 is an integer, want a duration string (e.g. 10s)", 3},
		{"section as scalar", Sectioned, "global: 1\n", ErrType, "global: 1 is an integer, want a mapping", 1},
		{"empty section", Sectioned, "global:\n", ErrType, "global: is empty, want a mapping", 1},
		{"int range", Sectioned, "global:\n  limits:\n    max_memory: 100001\n", ErrRange,
			"global.limits.max_memory: 100001 is out of range [128, 100000]", 3},
		{"duration below range", Sectioned, "inputs:\n  resources:\n    push_interval: 5s\n", ErrRange,
			"inputs.resources.push_interval: \"5s\" is out of range [10s, 3600s]", 3},
		{"duration in days above range", Sectioned, "global:\n  communication:\n    max_escape_duration: 31d\n", ErrRange,
			"global.communication.max_escape_duration: \"31d\" is out of range [600s, 30d]", 3},
		{"not a duration", Sectioned, "inputs:\n  resources:\n    push_interval: ten seconds\n", ErrValue,
			"inputs.resources.push_interval: \"ten seconds\" is not a duration (e.g. 10s, 5m, 1h, 30d)", 3},
		{"port range", Sectioned, "global:\n  communication:\n    ingester_port: 0\n", ErrRange,
			"global.communication.ingester_port: 0 is out of range [1, 65535]", 3},
		{"int enum", Sectioned, "inputs:\n  cbpf:\n    common:\n      capture_mode: 3\n", ErrEnum,
			"inputs.cbpf.common.capture_mode: 3 is not one of 0, 1, 2", 4},
		{"string enum", Sectioned, "global:\n  circuit_breakers:\n    relative_sys_load:\n      metric: load2\n", ErrEnum,
			`global.circuit_breakers.relative_sys_load.metric: "load2" is not one of load1, load5, load15`, 4},
		{"ip", Sectioned, "global:\n  communication:\n    ingester_ip: deepflow-server\n", ErrValue,
			`global.communication.ingester_ip: "deepflow-server" is not an IP address`, 3},
		{"string length", Sectioned, "inputs:\n  cbpf:\n    af_packet:\n      extra_bpf_filter: " + strings.Repeat("a", 513) + "\n", ErrRange,
			`inputs.cbpf.af_packet.extra_bpf_filter: "` + strings.Repeat("a", 57) + `..." is 513 characters long, want [0, 512]`, 4},
		{"list element key", Sectioned, "inputs:\n  proc:\n    process_matcher:\n      - match_regex: x\n        match_typ: cmdline\n", ErrUnknownKey,
			"inputs.proc.process_matcher[0].match_typ: unknown key", 5},
		{"list element enum", Sectioned, "inputs:\n  proc:\n    process_matcher:\n      - match_regex: x\n      - match_type: exe\n", ErrEnum,
			`inputs.proc.process_matcher[1].match_type: "exe" is not one of process_name, cmdline, cmdline_with_args, parent_process_name, tag`, 5},
		{"list element type", Sectioned, "inputs:\n  proc:\n    process_matcher:\n      - ignore: \"yes\"\n", ErrType,
			`inputs.proc.process_matcher[0].ignore: "yes" is a string, want true or false`, 4},
		{"enum inside a scalar list", Sectioned, "inputs:\n  proc:\n    process_matcher:\n      - enabled_features: [proc.gprocess_info, proc.everything]\n", ErrEnum,
			`inputs.proc.process_matcher[0].enabled_features[1]: "proc.everything" is not one of proc.gprocess_info, proc.golang_symbol_table, proc.socket_list, ebpf.socket.uprobe.golang, ebpf.socket.uprobe.tls, ebpf.profile.on_cpu, ebpf.profile.off_cpu, ebpf.profile.memory`, 4},
		{"mapping for a list of mappings", Sectioned, "inputs:\n  proc:\n    process_matcher: {match_regex: x}\n", ErrType,
			"inputs.proc.process_matcher: is a mapping, want a list of mappings", 3},
		{"scalar for a list", Sectioned, "inputs:\n  proc:\n    tag_extraction:\n      script_command: cat /tmp/tag.yaml\n", ErrType,
			`inputs.proc.tag_extraction.script_command: "cat /tmp/tag.yaml" is a string, want a list of string`, 4},
		{"named map: unknown name", Sectioned, "processors:\n  request_log:\n    tag_extraction:\n      custom_fields:\n        GRPC: []\n", ErrUnknownKey,
			"processors.request_log.tag_extraction.custom_fields.GRPC: unknown key (one of HTTP, HTTP2)", 5},
		{"dynamic map keeps per-name types", Sectioned, "processors:\n  request_log:\n    filters:\n      port_number_prefilters:\n        Oracle: \"1521\"\n", ErrType,
			`processors.request_log.filters.port_number_prefilters.Oracle: "1521" is a string, want an integer`, 5},
		{"duplicate key", Sectioned, "global:\n  limits:\n    max_memory: 768\n    max_memory: 1024\n", ErrDuplicateKey,
			"global.limits.max_memory: set twice", 4},
		{"not YAML", Sectioned, "global: [\n", ErrSyntax, "(document): ", 0},
		{"two documents", Sectioned, "global: {}\n---\nglobal: {}\n", ErrSyntax, "(document): more than one YAML document", 2},
		{"top level list", Sectioned, "- global\n", ErrType, "(document): is a list, want a mapping", 1},

		{"legacy without group", Legacy, "max_memory: 768\n", ErrGroupIDRequired,
			"vtap_group_id: missing; a legacy group config names its agent group (g-…)", 1},
		{"legacy empty group", Legacy, "vtap_group_id: \"\"\n", ErrGroupIDRequired,
			"vtap_group_id: must name the agent group (g-…)", 1},
		{"legacy sectioned key", Legacy, "vtap_group_id: g-1\nglobal:\n  limits:\n    max_memory: 768\n", ErrUnknownKey,
			"global: unknown key", 2},
		{"legacy 0/1 switch", Legacy, "vtap_group_id: g-1\nplatform_enabled: true\n", ErrType,
			"platform_enabled: true is a boolean, want an integer", 2},
		{"legacy range from the example's prose", Legacy, "vtap_group_id: g-1\nthread_threshold: 0\n", ErrRange,
			"thread_threshold: 0 is out of range [1, 1000]", 2},
		{"legacy underscore for dash", Legacy, "vtap_group_id: g-1\nstatic_config:\n  os_proc_sync_enabled: true\n", ErrUnknownKey,
			"static_config.os_proc_sync_enabled: unknown key", 3},
		{"legacy list element key", Legacy, "vtap_group_id: g-1\nstatic_config:\n  os-proc-regex:\n    - match_regex: x\n", ErrUnknownKey,
			"static_config.os-proc-regex[0].match_regex: unknown key", 4},
		{"legacy seconds as int", Legacy, "vtap_group_id: g-1\nstatic_config:\n  os-proc-socket-sync-interval: 10s\n", ErrType,
			`static_config.os-proc-socket-sync-interval: "10s" is a string, want an integer`, 3},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := Validate(c.format, []byte(c.doc))
			if err == nil {
				t.Fatal("no error")
			}
			if !errors.Is(err, c.is) {
				t.Errorf("%q does not wrap %v", err, c.is)
			}
			if c.is == ErrSyntax {
				if !strings.HasPrefix(err.Error(), c.msg) {
					t.Errorf("error\n  %s\nwant prefix\n  %s", err, c.msg)
				}
			} else if err.Error() != c.msg {
				t.Errorf("error\n  %s\nwant\n  %s", err, c.msg)
			}
			var es Errors
			if !errors.As(err, &es) || len(es) != 1 {
				t.Fatalf("want exactly one *Error, got %#v", err)
			}
			if c.line != 0 && es[0].Line != c.line {
				t.Errorf("line %d, want %d", es[0].Line, c.line)
			}
		})
	}
}

func TestValidateReportsEveryProblem(t *testing.T) {
	doc := "global:\n  limits:\n    max_memory: 1\n    max_memroy: 1\ninputs:\n  proc:\n    enabled: yes\n"
	err := Validate(Sectioned, []byte(doc))
	var es Errors
	if !errors.As(err, &es) || len(es) != 3 {
		t.Fatalf("want 3 problems, got %v", err)
	}
	for i, want := range []error{ErrRange, ErrUnknownKey, ErrType} {
		if !errors.Is(es[i], want) {
			t.Errorf("problem %d = %v, want %v", i, es[i], want)
		}
	}
}

func TestValidateAccepts(t *testing.T) {
	for _, c := range []struct {
		format Format
		doc    string
	}{
		{Sectioned, ""},
		{Sectioned, "{}\n"},
		{Sectioned, "# only a comment\n"},
		{Sectioned, "global:\n  communication:\n    ingester_ip: \"\"\n    proxy_controller_ip: \"::1\"\n"},
		{Sectioned, "inputs:\n  resources:\n    push_interval: 1h\n    kubernetes:\n      kubernetes_namespace:\n"}, // empty in the template too
		{Sectioned, "processors:\n  request_log:\n    filters:\n      port_number_prefilters:\n        MyPluginProto: 8080-8081\n"},
		{Sectioned, "global:\n  limits: &l {max_memory: 768}\n  alerts: {thread_threshold: 100}\n"},
		{Legacy, "vtap_group_id: g-1\nproxy_controller_ip:\nstatic_config:\n  l7-protocol-ports:\n    HTTP: \"80\"\n"},
	} {
		if err := Validate(c.format, []byte(c.doc)); err != nil {
			t.Errorf("%v %q: %v", c.format, c.doc, err)
		}
	}
}

func TestValidateNode(t *testing.T) {
	var n yaml.Node
	if err := yaml.Unmarshal([]byte("global:\n  limits:\n    max_memory: 7\n"), &n); err != nil {
		t.Fatal(err)
	}
	if err := ValidateNode(Sectioned, &n); !errors.Is(err, ErrRange) {
		t.Errorf("document node: %v", err)
	}
	if err := ValidateNode(Sectioned, n.Content[0]); !errors.Is(err, ErrRange) {
		t.Errorf("root node: %v", err)
	}
}

// Aliases are resolved: a reused value is checked where it is used.
func TestValidateAliases(t *testing.T) {
	ok := "inputs:\n  proc:\n    process_matcher:\n      - &m {match_regex: x, ignore: true}\n      - *m\n"
	if err := Validate(Sectioned, []byte(ok)); err != nil {
		t.Errorf("aliases to valid values are valid: %v", err)
	}
	bad := "inputs:\n  proc:\n    enabled: &on \"true\"\n    process_matcher:\n      - {ignore: *on}\n"
	err := Validate(Sectioned, []byte(bad))
	var es Errors
	if !errors.As(err, &es) || len(es) != 2 || es[1].Path != "inputs.proc.process_matcher[0].ignore" {
		t.Errorf("want the string flagged at both uses, got %v", err)
	}
}
