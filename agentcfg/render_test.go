package agentcfg

import (
	"bytes"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

// issueValues is the settings block from issue 3, verbatim: values files
// written against it must keep decoding (strictly) into Group.
const issueValues = `
agent:
  groupID: g-TE8la86jlZ
  subnets: ["100.42.32.0/24"]
  kubernetes:
    clusterName: process-example
    clusterID: ""
  group:
    maxMemoryMB: 768
    threadThreshold: 500
    captureInterfaceRegex: "^(tap.*|cali.*|veth.*|eth.*|en[ospx].*|lxc.*|lo)$"
    platformSync: true
    processTopology:
      enabled: true
      taggedOnly: false
      tagCommand: ["cat", "/tmp/tag.yaml"]
      tagCommandUser: deepflow
      rules:
        - match: "^(sleep|bash|sh|ssh|top|ps)$"
          matchType: process_name
          action: drop
        - match: "python3 (.*)\\.py"
          matchType: cmdline
          rewriteName: "$1-py-script"
    macvlan:
      interfaces: [eth0]
    kubernetesResources:
      presets: [openshift, openkruise]
      extra:
        - {group: crd.pingan.org, name: servicerules}
`

// recipes are the agent.group settings each golden covers.
var recipes = []struct {
	name  string
	group string
	in    Input // GroupID and flags; Group is decoded from group
}{
	{name: "empty", group: `{}`},
	{name: "common", group: `
maxMemoryMB: 1024
threadThreshold: 600
captureInterfaceRegex: "^(eth.*|en[ospx].*|lo)$"
platformSync: true
`},
	{name: "process-topology", group: `
processTopology:
  enabled: true
  taggedOnly: false
  tagCommand: ["cat", "/tmp/tag.yaml"]
  tagCommandUser: deepflow
  rules:
    - match: "^(sleep|bash|sh|ssh|top|ps)$"
      matchType: process_name
      action: drop
    - match: "python3 (.*)\\.py"
      matchType: cmdline
      rewriteName: "$1-py-script"
    - match: nginx
      matchType: parent_process_name
      action: accept
`},
	{name: "process-topology-catch-all", group: `
processTopology:
  enabled: true
  rules:
    - match: "^java$"
      rewriteName: jvm
    - match: ".*"
      action: drop
`},
	{name: "macvlan", group: `
macvlan:
  interfaces: [eth0, eth1]
`},
	{name: "kubernetes-openshift", group: `
kubernetesResources:
  presets: [openshift]
`},
	{name: "kubernetes-openkruise-crd", group: `
kubernetesResources:
  presets: [openkruise]
  extra:
    - {group: crd.pingan.org, name: servicerules}
`},
	{name: "process-agent", group: `{}`, in: Input{
		Communication:               Communication{ControllerIP: "192.168.1.10", ControllerPort: 30035, IngesterIP: "192.168.1.10", IngesterPort: 30033},
		WorkloadResourceSyncEnabled: true,
	}},
	{name: "host-network", group: `{}`, in: Input{
		Communication:             Communication{ControllerPort: 20035, IngesterPort: 20033},
		HypervisorResourceEnabled: true,
	}},
}

func decodeGroup(t *testing.T, src string) Group {
	t.Helper()
	var g Group
	dec := yaml.NewDecoder(strings.NewReader(src))
	dec.KnownFields(true)
	if err := dec.Decode(&g); err != nil {
		t.Fatalf("decode group: %v", err)
	}
	return g
}

func recipeInput(t *testing.T, i int) Input {
	in := recipes[i].in
	in.GroupID = "g-TE8la86jlZ"
	in.Group = decodeGroup(t, recipes[i].group)
	return in
}

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./agentcfg -update)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the golden file (go test ./agentcfg -update):\n--- got\n%s\n--- want\n%s", name, got, want)
	}
}

func TestRecipeGoldens(t *testing.T) {
	for i, r := range recipes {
		for _, f := range []Format{Legacy, Sectioned} {
			t.Run(r.name+"/"+f.String(), func(t *testing.T) {
				in := recipeInput(t, i)
				out, err := Render(f, in)
				if err != nil {
					t.Fatal(err)
				}
				again, _ := Render(f, in)
				if !bytes.Equal(out, again) {
					t.Fatal("two renders of the same input differ")
				}
				if err := Validate(f, out); err != nil {
					t.Fatalf("output does not validate: %v", err)
				}
				golden(t, r.name+"."+f.String()+".yaml", out)
			})
		}
		t.Run(r.name+"/clusterrole", func(t *testing.T) {
			rules, err := ClusterRoleRules(recipeInput(t, i).Group)
			if err != nil {
				t.Fatal(err)
			}
			if rules == nil {
				if recipeInput(t, i).Group.KubernetesResources != nil {
					t.Fatal("Kubernetes resources but no ClusterRole rules")
				}
				return
			}
			golden(t, r.name+".clusterrole.yaml", rules)
		})
	}
}

// The issue's own example: decodes strictly, renders in both formats, and
// says what seed 000 says in each.
func TestIssueExample(t *testing.T) {
	var values struct {
		Agent struct {
			GroupID    string   `yaml:"groupID"`
			Subnets    []string `yaml:"subnets"`
			Kubernetes struct {
				ClusterName string `yaml:"clusterName"`
				ClusterID   string `yaml:"clusterID"`
			} `yaml:"kubernetes"`
			Group Group `yaml:"group"`
		} `yaml:"agent"`
	}
	dec := yaml.NewDecoder(strings.NewReader(issueValues))
	dec.KnownFields(true)
	if err := dec.Decode(&values); err != nil {
		t.Fatal(err)
	}
	in := Input{GroupID: values.Agent.GroupID, Group: values.Agent.Group}

	leg, err := Render(Legacy, in)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(leg, []byte("vtap_group_id: g-TE8la86jlZ\n")) {
		t.Errorf("legacy config must start with vtap_group_id:\n%s", leg)
	}
	for _, want := range []string{
		"max_memory: 768\n", "thread_threshold: 500\n", "tap_mode: 1\n", "platform_enabled: 1\n",
		"  src-interfaces: [eth0]\n", "  os-proc-sync-enabled: true\n", "  os-app-tag-exec: [cat, /tmp/tag.yaml]\n",
		"      action: drop\n", "      rewrite-name: $1-py-script\n",
		"    - name: ingresses\n      disabled: true\n",
	} {
		if !strings.Contains(string(leg), want) {
			t.Errorf("legacy config lacks %q:\n%s", want, leg)
		}
	}
	if i, j := strings.Index(string(leg), "static_config:"), strings.Index(string(leg), "platform_enabled"); i < j {
		t.Errorf("static_config must come after the top-level keys:\n%s", leg)
	}

	sec, err := Render(Sectioned, in)
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := yaml.Unmarshal(sec, &doc); err != nil {
		t.Fatal(err)
	}
	get := func(path string) any {
		var cur any = doc
		for _, p := range strings.Split(path, ".") {
			m, ok := cur.(map[string]any)
			if !ok {
				return nil
			}
			cur = m[p]
		}
		return cur
	}
	for path, want := range map[string]any{
		"global.limits.max_memory":                                   768,
		"global.alerts.thread_threshold":                             500,
		"inputs.cbpf.common.capture_mode":                            1,
		"inputs.resources.private_cloud.hypervisor_resource_enabled": true,
		"inputs.proc.enabled":                                        true,
		"inputs.proc.socket_info_sync_interval":                      "10s",
		"inputs.proc.tag_extraction.exec_username":                   "deepflow",
	} {
		if got := get(path); got != want {
			t.Errorf("%s = %#v, want %#v", path, got, want)
		}
	}
	matchers, _ := get("inputs.proc.process_matcher").([]any)
	if len(matchers) != 3 {
		t.Fatalf("want the 2 rules plus v6.5's implicit catch-all, got %d:\n%s", len(matchers), sec)
	}
	drop := matchers[0].(map[string]any)
	if drop["ignore"] != true || drop["enabled_features"] != nil || drop["only_in_container"] != false {
		t.Errorf("drop rule = %v, want ignore: true, no features, host processes too", drop)
	}
	py := matchers[1].(map[string]any)
	if py["match_type"] != "cmdline" || py["rewrite_name"] != "$1-py-script" || py["ignore"] != nil {
		t.Errorf("cmdline rule = %v", py)
	}
	if last := matchers[2].(map[string]any); last["match_regex"] != ".*" {
		t.Errorf("last matcher = %v, want the .* catch-all", last)
	}
}

// Every leaf key the legacy config sets must reappear in the sectioned
// config at the key upgrade_from names: the two renders agree.
func TestFormatsAgree(t *testing.T) {
	sec, _ := schemaFor(Sectioned)
	up := upgradeTargets(sec)
	for i, r := range recipes {
		in := recipeInput(t, i)
		leg, err := Render(Legacy, in)
		if err != nil {
			t.Fatal(err)
		}
		secOut, err := Render(Sectioned, in)
		if err != nil {
			t.Fatal(err)
		}
		secPaths := leafPaths(t, secOut)
		for _, p := range leafPaths(t, leg) {
			if p == keyGroupID || p == keyTaggedOnly {
				continue // the group ID is an argument in v6.6+; tagged-only moved into each matcher
			}
			if p == keyPlatform && in.WorkloadResourceSyncEnabled && !in.HypervisorResourceEnabled {
				// v6.5's one switch; v6.6+ has a separate key for workloads.
				if !contains(secPaths, WorkloadSyncKey) {
					t.Errorf("%s: legacy sets %s for workload sync but sectioned lacks %s", r.name, p, WorkloadSyncKey)
				}
				continue
			}
			to := up[p]
			if len(to) != 1 {
				t.Errorf("%s: %s has %d upgrade targets", r.name, p, len(to))
				continue
			}
			if !contains(secPaths, to[0]) {
				t.Errorf("%s: legacy sets %s but sectioned lacks %s", r.name, p, to[0])
			}
		}
	}
}

// leafPaths lists the schema paths (no list indices) of a document's leaves.
func leafPaths(t *testing.T, doc []byte) []string {
	var n yaml.Node
	if err := yaml.Unmarshal(doc, &n); err != nil {
		t.Fatal(err)
	}
	var out []string
	var walk func(n *yaml.Node, prefix string)
	walk = func(n *yaml.Node, prefix string) {
		switch n.Kind {
		case yaml.DocumentNode:
			walk(n.Content[0], prefix)
		case yaml.MappingNode:
			for i := 0; i < len(n.Content); i += 2 {
				p := n.Content[i].Value
				if prefix != "" {
					p = prefix + "." + p
				}
				walk(n.Content[i+1], p)
			}
		case yaml.SequenceNode:
			if len(n.Content) > 0 && n.Content[0].Kind == yaml.MappingNode {
				for _, e := range n.Content {
					walk(e, prefix)
				}
				return
			}
			out = append(out, prefix)
		default:
			out = append(out, prefix)
		}
	}
	walk(&n, "")
	return out
}

func ptr[T any](v T) *T { return &v }

func TestRenderErrors(t *testing.T) {
	rule := func(r ProcessRule) Group {
		return Group{ProcessTopology: &ProcessTopology{Rules: []ProcessRule{{Match: ".*"}, r}}}
	}
	cases := []struct {
		name   string
		format Format
		in     Input
		is     error
		msg    string
	}{
		{"legacy without group ID", Legacy, Input{}, ErrGroupIDRequired,
			"agent.groupID: a v6.5 group config names its group in vtap_group_id; create the group first (deepflow-ctl agent-group create) and set agent.groupID to its ID"},
		{"match type", Sectioned, Input{Group: rule(ProcessRule{Match: "x", MatchType: "foo"})}, ErrEnum,
			`agent.group.processTopology.rules[1].matchType: "foo" is not one of process_name, cmdline, parent_process_name, tag`},
		{"cmdline_with_args is v6.6+ only", Legacy, Input{GroupID: "g-1", Group: rule(ProcessRule{Match: "x", MatchType: "cmdline_with_args"})}, ErrEnum,
			`agent.group.processTopology.rules[1].matchType: "cmdline_with_args" is not one of process_name, cmdline, parent_process_name, tag`},
		{"action", Legacy, Input{GroupID: "g-1", Group: rule(ProcessRule{Match: "x", Action: "ignore"})}, ErrEnum,
			`agent.group.processTopology.rules[1].action: "ignore" is not one of accept, drop`},
		{"empty match", Sectioned, Input{Group: rule(ProcessRule{MatchType: "cmdline"})}, ErrRequired,
			"agent.group.processTopology.rules[1].match: a regular expression is required (.* matches every process)"},
		{"bad regex", Sectioned, Input{Group: rule(ProcessRule{Match: "python3 (.*"})}, ErrValue,
			"agent.group.processTopology.rules[1].match: \"python3 (.*\" is not a valid regular expression: missing closing ): `python3 (.*`"},
		{"preset", Sectioned, Input{Group: Group{KubernetesResources: &KubernetesResources{Presets: []string{"openshift", "rancher"}}}}, ErrEnum,
			`agent.group.kubernetesResources.presets[1]: "rancher" is not one of openshift, openkruise`},
		{"extra without name", Legacy, Input{GroupID: "g-1", Group: Group{KubernetesResources: &KubernetesResources{Extra: []KubernetesResource{{Group: "x.io"}}}}}, ErrRequired,
			"agent.group.kubernetesResources.extra[0].name: the resource's plural name is required (e.g. servicerules)"},
		{"extra unknown to the agent", Sectioned, Input{Group: Group{KubernetesResources: &KubernetesResources{Extra: []KubernetesResource{{Group: "x.io", Name: "widgets"}}}}}, ErrEnum,
			`agent.group.kubernetesResources.extra[0].name: "widgets" is not one of namespaces, nodes, pods, replicationcontrollers, services, daemonsets, deployments, replicasets, statefulsets, ingresses, routes, servicerules, clonesets, ippools, opengaussclusters, configmaps`},
		{"memory below the range", Sectioned, Input{Group: Group{MaxMemoryMB: ptr(64)}}, ErrRange,
			"agent.group.maxMemoryMB: 64 is out of range [128, 100000]"},
		{"memory below the v6.5 range", Legacy, Input{GroupID: "g-1", Group: Group{MaxMemoryMB: ptr(64)}}, ErrRange,
			"agent.group.maxMemoryMB: 64 is out of range [128, 100000]"},
		{"threads above the range", Legacy, Input{GroupID: "g-1", Group: Group{ThreadThreshold: ptr(5000)}}, ErrRange,
			"agent.group.threadThreshold: 5000 is out of range [1, 1000]"},
		{"capture regex", Legacy, Input{GroupID: "g-1", Group: Group{CaptureInterfaceRegex: ptr("eth[")}}, ErrValue,
			"agent.group.captureInterfaceRegex: \"eth[\" is not a valid regular expression: missing closing ]: `[`"},
		{"macvlan without NICs", Sectioned, Input{Group: Group{Macvlan: &Macvlan{}}}, ErrRequired,
			"agent.group.macvlan.interfaces: mirror capture needs the NICs that carry the macvlan traffic (e.g. [eth0])"},
		{"port (v6.5 checked against the v6.6 range)", Legacy, Input{GroupID: "g-1", Communication: Communication{ControllerPort: 70000}}, ErrRange,
			"communication.controllerPort: 70000 is out of range [1, 65535]"},
		{"ingester IP", Sectioned, Input{Communication: Communication{IngesterIP: "deepflow-server"}}, ErrValue,
			`communication.ingesterIP: "deepflow-server" is not an IP address`},
		{"unknown format", Format(7), Input{}, ErrEnum, "unknown agent-group-config format Format(7)"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			out, err := Render(c.format, c.in)
			if err == nil {
				t.Fatalf("no error; rendered:\n%s", out)
			}
			if out != nil {
				t.Error("an error must come without output")
			}
			if !errors.Is(err, c.is) {
				t.Errorf("error %q does not wrap %v", err, c.is)
			}
			if !strings.HasSuffix(err.Error(), c.msg) {
				t.Errorf("error\n  %s\nwant\n  %s", err, c.msg)
			}
			var e *Error
			if c.format == Legacy || c.format == Sectioned {
				if !errors.As(err, &e) || !strings.HasPrefix(c.msg, e.Path+": ") {
					t.Errorf("error is not an *Error naming its path: %#v", err)
				}
			}
		})
	}
}

func TestClusterRoleRulesErrors(t *testing.T) {
	_, err := ClusterRoleRules(Group{KubernetesResources: &KubernetesResources{Presets: []string{"kruise"}}})
	if !errors.Is(err, ErrEnum) || err.Error() != `agent.group.kubernetesResources.presets[0]: "kruise" is not one of openshift, openkruise` {
		t.Errorf("got %v", err)
	}
	// A disabled resource needs no permission; nothing left means no file.
	got, err := ClusterRoleRules(Group{KubernetesResources: &KubernetesResources{Extra: []KubernetesResource{{Name: "ingresses", Disabled: true}}}})
	if err != nil || got != nil {
		t.Errorf("got %q, %v; want nil, nil", got, err)
	}
}

func TestFormatText(t *testing.T) {
	var v struct {
		F Format `yaml:"f"`
	}
	if err := yaml.Unmarshal([]byte("f: legacy"), &v); err != nil || v.F != Legacy {
		t.Errorf("got %v, %v", v.F, err)
	}
	if err := yaml.Unmarshal([]byte("f: v6"), &v); !errors.Is(err, ErrEnum) {
		t.Errorf("got %v, want ErrEnum", err)
	}
	if b, err := Sectioned.MarshalText(); string(b) != "sectioned" || err != nil {
		t.Errorf("got %q, %v", b, err)
	}
}
