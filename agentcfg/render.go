package agentcfg

import (
	"bytes"
	"fmt"
	"io"
	"regexp"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/deepflow-compose/deepflow-compose/agentcfg/internal/schema"
)

// Recipe values are described once, in v6.5 key paths; the v6.6+ key is
// whatever the template's upgrade_from says replaced that v6.5 key.
const (
	keyGroupID        = "vtap_group_id"
	keyControllerIP   = "proxy_controller_ip"
	keyControllerPort = "proxy_controller_port"
	keyIngesterIP     = "analyzer_ip"
	keyIngesterPort   = "analyzer_port"
	keyMaxMemory      = "max_memory"
	keyThreads        = "thread_threshold"
	keyCaptureRegex   = "tap_interface_regex"
	keyTapMode        = "tap_mode"
	keyPlatform       = "platform_enabled"
	keySrcInterfaces  = "static_config.src-interfaces"
	keyK8sResources   = "static_config.kubernetes-resources"
	keyProcEnabled    = "static_config.os-proc-sync-enabled"
	keyTaggedOnly     = "static_config.os-proc-sync-tagged-only"
	keySocketSync     = "static_config.os-proc-socket-sync-interval"
	keyTagExec        = "static_config.os-app-tag-exec"
	keyTagExecUser    = "static_config.os-app-tag-exec-user"
	keyProcRegex      = "static_config.os-proc-regex"

	// v6.6+ keys with no v6.5 ancestor.
	keyOnlyInContainer = "inputs.proc.process_matcher.only_in_container"
	keyFeatures        = "inputs.proc.process_matcher.enabled_features"
)

// WorkloadSyncKey makes the server take an agent it does not know for a
// workload host (v6.6 branch after 2025-05-20, v7.0.9 and later).
const WorkloadSyncKey = "inputs.resources.workload_resource_sync_enabled"

// The recipes' own choices (the setting names and values).
var (
	matchTypes  = []string{"process_name", "cmdline", "parent_process_name", "tag"}
	actions     = []string{"accept", "drop"}
	presetNames = []string{"openshift", "openkruise"}

	// From DeepFlow's advanced-configuration guide: what each preset
	// watches, and the ClusterRole rules that lets the agent read it.
	presets = map[string]preset{
		"openshift": {
			resources: []KubernetesResource{{Name: "ingresses", Disabled: true}, {Name: "routes"}},
			rules:     []rule{{group: "route.openshift.io", resources: []string{"routes"}}},
		},
		"openkruise": {
			resources: []KubernetesResource{
				{Name: "clonesets", Group: "apps.kruise.io"},
				{Name: "statefulsets", Group: "apps"}, // listing one statefulsets replaces the default
				{Name: "statefulsets", Group: "apps.kruise.io"},
			},
			rules: []rule{{group: "apps.kruise.io", resources: []string{"clonesets", "statefulsets"}}},
		},
	}

	// v6.5's action became v6.6+'s ignore flag.
	actionIgnore = map[string]bool{"accept": false, "drop": true}

	// v6.6+ process features that give what v6.5's process sync gave:
	// process info plus its sockets (the topology needs both).
	procFeatures = []string{"proc.gprocess_info", "proc.socket_list"}
)

// item is one value to write: at a v6.5 path (upgraded for v6.6+), or at
// a v6.6+ path that has no v6.5 ancestor.
type item struct {
	setting   string // settings path, for errors
	legacy    string
	sectioned string
	only      Format // 0: both formats
	value     any    // bool, int, string, []string or []element
}

// element is one mapping in a list (a process rule, an API resource).
type element struct {
	only   Format // 0: both formats
	fields []item
}

// render builds the document with sec as the v6.6+ key set; release names
// that key set in errors ("" for the reference template).
func render(format Format, leg, sec *schema.File, in Input, release string) ([]byte, error) {
	if format != Legacy && format != Sectioned {
		return nil, fmt.Errorf("%w: unknown agent-group-config format %v", ErrEnum, format)
	}
	if format == Legacy && in.GroupID == "" {
		return nil, &Error{Path: "agent.groupID", Err: ErrGroupIDRequired,
			Msg: "a v6.5 group config names its group in vtap_group_id; create the group first (deepflow-ctl agent-group create) and set agent.groupID to its ID"}
	}
	items, err := recipe(in, leg, sec)
	if err != nil {
		return nil, err
	}
	w := &writer{format: format, leg: leg, sec: sec, upgrades: upgradeTargets(sec), release: release}
	root := &omap{}
	if format == Legacy {
		root.set(keyGroupID, in.GroupID)
	}
	for _, it := range items {
		if err := w.put(root, it); err != nil {
			return nil, err
		}
	}
	if format == Legacy {
		root.moveLast("static_config")
	}
	return encode(root)
}

// recipe turns the settings into items, checking the recipe's own enums.
func recipe(in Input, leg, sec *schema.File) ([]item, error) {
	var items []item
	add := func(it item) { items = append(items, it) }
	c := in.Communication
	if c.ControllerIP != "" {
		add(item{setting: "communication.controllerIP", legacy: keyControllerIP, value: c.ControllerIP})
	}
	if c.ControllerPort != 0 {
		add(item{setting: "communication.controllerPort", legacy: keyControllerPort, value: c.ControllerPort})
	}
	if c.IngesterIP != "" {
		add(item{setting: "communication.ingesterIP", legacy: keyIngesterIP, value: c.IngesterIP})
	}
	if c.IngesterPort != 0 {
		add(item{setting: "communication.ingesterPort", legacy: keyIngesterPort, value: c.IngesterPort})
	}

	g := in.Group
	const gp = "agent.group"
	if g.MaxMemoryMB != nil {
		add(item{setting: gp + ".maxMemoryMB", legacy: keyMaxMemory, value: *g.MaxMemoryMB})
	}
	if g.ThreadThreshold != nil {
		add(item{setting: gp + ".threadThreshold", legacy: keyThreads, value: *g.ThreadThreshold})
	}
	if g.CaptureInterfaceRegex != nil {
		if err := checkRegex(gp+".captureInterfaceRegex", *g.CaptureInterfaceRegex); err != nil {
			return nil, err
		}
		add(item{setting: gp + ".captureInterfaceRegex", legacy: keyCaptureRegex, value: *g.CaptureInterfaceRegex})
	}
	if m := g.Macvlan; m != nil {
		p := gp + ".macvlan.interfaces"
		if len(m.Interfaces) == 0 {
			return nil, &Error{Path: p, Err: ErrRequired, Msg: "mirror capture needs the NICs that carry the macvlan traffic (e.g. [eth0])"}
		}
		for i, nic := range m.Interfaces {
			if strings.TrimSpace(nic) == "" {
				return nil, &Error{Path: fmt.Sprintf("%s[%d]", p, i), Err: ErrRequired, Msg: "empty interface name"}
			}
		}
		add(item{setting: gp + ".macvlan", legacy: keyTapMode, value: 1}) // 1: virtual mirror
		add(item{setting: p, legacy: keySrcInterfaces, value: m.Interfaces})
	}

	// v6.5 had one switch (platform_enabled) for what v6.6+ splits into
	// hypervisor and workload resources. An explicit platformSync wins.
	legacyPlatform := in.HypervisorResourceEnabled || in.WorkloadResourceSyncEnabled
	hyper := in.HypervisorResourceEnabled
	if g.PlatformSync != nil {
		add(item{setting: gp + ".platformSync", legacy: keyPlatform, value: *g.PlatformSync})
	} else {
		if legacyPlatform {
			add(item{setting: "hypervisorResourceEnabled", legacy: keyPlatform, only: Legacy, value: true})
		}
		if hyper {
			add(item{setting: "hypervisorResourceEnabled", legacy: keyPlatform, only: Sectioned, value: true})
		}
	}
	if in.WorkloadResourceSyncEnabled {
		add(item{setting: "workloadResourceSyncEnabled", sectioned: WorkloadSyncKey, only: Sectioned, value: true})
	}

	if k := g.KubernetesResources; k != nil {
		res, err := kubernetesResources(k, sec)
		if err != nil {
			return nil, err
		}
		if len(res) > 0 {
			add(item{setting: gp + ".kubernetesResources", legacy: keyK8sResources, value: res})
		}
	}

	if pt := g.ProcessTopology; pt != nil {
		its, err := processTopology(pt, leg)
		if err != nil {
			return nil, err
		}
		items = append(items, its...)
	}
	return items, nil
}

func processTopology(pt *ProcessTopology, leg *schema.File) ([]item, error) {
	const p = "agent.group.processTopology"
	var items []item
	enabled := pt.Enabled != nil && *pt.Enabled
	if pt.Enabled != nil {
		items = append(items, item{setting: p + ".enabled", legacy: keyProcEnabled, value: *pt.Enabled})
	}
	if enabled {
		// v6.6+ turns socket sync off by default (0ns); v6.5 synced every
		// os-proc-socket-sync-interval seconds. Keep v6.5's default.
		if d := leg.Keys[keySocketSync]; d != nil && d.Default != nil {
			var secs int
			if _, err := fmt.Sscan(*d.Default, &secs); err == nil {
				items = append(items, item{setting: p + ".enabled", legacy: keySocketSync, only: Sectioned, value: secs})
			}
		}
	}
	if pt.TagCommand != nil {
		items = append(items, item{setting: p + ".tagCommand", legacy: keyTagExec, value: pt.TagCommand})
	}
	if pt.TagCommandUser != nil {
		items = append(items, item{setting: p + ".tagCommandUser", legacy: keyTagExecUser, value: *pt.TagCommandUser})
	}
	if pt.TaggedOnly != nil {
		items = append(items, item{setting: p + ".taggedOnly", legacy: keyTaggedOnly, only: Legacy, value: *pt.TaggedOnly})
	}

	var rules []element
	for i, r := range pt.Rules {
		rp := fmt.Sprintf("%s.rules[%d]", p, i)
		if r.Match == "" {
			return nil, &Error{Path: rp + ".match", Err: ErrRequired, Msg: "a regular expression is required (.* matches every process)"}
		}
		if err := checkRegex(rp+".match", r.Match); err != nil {
			return nil, err
		}
		if r.MatchType != "" && !contains(matchTypes, r.MatchType) {
			return nil, &Error{Path: rp + ".matchType", Err: ErrEnum, Msg: fmt.Sprintf("%q is not one of %s", r.MatchType, strings.Join(matchTypes, ", "))}
		}
		if r.Action != "" && !contains(actions, r.Action) {
			return nil, &Error{Path: rp + ".action", Err: ErrEnum, Msg: fmt.Sprintf("%q is not one of %s", r.Action, strings.Join(actions, ", "))}
		}
		e := []item{{setting: rp + ".match", legacy: keyProcRegex + ".match-regex", value: r.Match}}
		if r.MatchType != "" {
			e = append(e, item{setting: rp + ".matchType", legacy: keyProcRegex + ".match-type", value: r.MatchType})
		}
		if r.Action != "" {
			e = append(e, item{setting: rp + ".action", legacy: keyProcRegex + ".action", value: r.Action})
		}
		if r.RewriteName != "" {
			e = append(e, item{setting: rp + ".rewriteName", legacy: keyProcRegex + ".rewrite-name", value: r.RewriteName})
		}
		rules = append(rules, element{fields: sectionedRule(e, pt, rp, r.Action != "drop")})
	}
	// v6.6+ has no implicit rule: what v6.5 accepted by default (every
	// process, containers or not) needs an explicit catch-all there.
	if enabled || len(pt.Rules) > 0 || pt.TaggedOnly != nil {
		last := len(pt.Rules) - 1
		if last < 0 || pt.Rules[last].Match != ".*" || (pt.Rules[last].MatchType != "" && pt.Rules[last].MatchType != "process_name") {
			catchAll := []item{{setting: p, legacy: keyProcRegex + ".match-regex", value: ".*"}}
			rules = append(rules, element{only: Sectioned, fields: sectionedRule(catchAll, pt, p, true)})
		}
	}
	if len(rules) > 0 {
		items = append(items, item{setting: p + ".rules", legacy: keyProcRegex, value: rules})
	}
	return items, nil
}

// sectionedRule adds to a rule what v6.6+ needs to behave as v6.5 did.
func sectionedRule(e []item, pt *ProcessTopology, setting string, accept bool) []item {
	e = append(e, item{setting: setting, sectioned: keyOnlyInContainer, only: Sectioned, value: false})
	if pt.TaggedOnly != nil {
		e = append(e, item{setting: "agent.group.processTopology.taggedOnly", legacy: keyTaggedOnly, only: Sectioned, value: *pt.TaggedOnly})
	}
	if accept {
		e = append(e, item{setting: setting, sectioned: keyFeatures, only: Sectioned, value: procFeatures})
	}
	return e
}

func kubernetesResources(k *KubernetesResources, sec *schema.File) ([]element, error) {
	const p = "agent.group.kubernetesResources"
	var all []KubernetesResource
	var from []string
	for i, name := range k.Presets {
		res, ok := presets[name]
		if !ok {
			return nil, &Error{Path: fmt.Sprintf("%s.presets[%d]", p, i), Err: ErrEnum, Msg: fmt.Sprintf("%q is not one of %s", name, strings.Join(presetNames, ", "))}
		}
		for range res.resources {
			from = append(from, fmt.Sprintf("%s.presets[%d]", p, i))
		}
		all = append(all, res.resources...)
	}
	var names *schema.Node
	if to := upgradeTargets(sec)[keyK8sResources+".name"]; len(to) == 1 {
		names = sec.Keys[to[0]]
	}
	for i, r := range k.Extra {
		ep := fmt.Sprintf("%s.extra[%d]", p, i)
		if r.Name == "" {
			return nil, &Error{Path: ep + ".name", Err: ErrRequired, Msg: "the resource's plural name is required (e.g. servicerules)"}
		}
		// The agent only knows the resources its template lists.
		if names != nil && len(names.Enum) > 0 && !contains(names.Enum, r.Name) {
			return nil, &Error{Path: ep + ".name", Err: ErrEnum, Msg: fmt.Sprintf("%q is not one of %s", r.Name, strings.Join(names.Enum, ", "))}
		}
		all = append(all, r)
		from = append(from, ep)
	}
	var out []element
	seen := map[KubernetesResource]bool{}
	for i, r := range all {
		if seen[r] {
			continue
		}
		seen[r] = true
		e := []item{{setting: from[i] + ".name", legacy: keyK8sResources + ".name", value: r.Name}}
		if r.Group != "" {
			e = append(e, item{setting: from[i] + ".group", legacy: keyK8sResources + ".group", value: r.Group})
		}
		if r.Version != "" {
			e = append(e, item{setting: from[i] + ".version", legacy: keyK8sResources + ".version", value: r.Version})
		}
		if r.Disabled {
			e = append(e, item{setting: from[i] + ".disabled", legacy: keyK8sResources + ".disabled", value: true})
		}
		out = append(out, element{fields: e})
	}
	return out, nil
}

// checkRegex compiles with Go's RE2 syntax, which the agent's Rust regex
// crate shares for everything these recipes need.
func checkRegex(path, re string) error {
	if _, err := regexp.Compile(re); err != nil {
		return &Error{Path: path, Err: ErrValue, Msg: fmt.Sprintf("%q is not a valid regular expression: %v", re, strings.TrimPrefix(err.Error(), "error parsing regexp: "))}
	}
	return nil
}

// upgradeTargets maps each v6.5 path to the v6.6+ paths that name it in
// upgrade_from.
func upgradeTargets(sec *schema.File) map[string][]string {
	m := map[string][]string{}
	for _, p := range sec.Paths() {
		for _, from := range sec.Keys[p].From {
			m[from] = append(m[from], p)
		}
	}
	return m
}

type writer struct {
	format   Format
	leg, sec *schema.File
	upgrades map[string][]string
	release  string // whose template sec is; "" for the reference's
}

// target resolves an item's key path and schema in the writer's format.
func (w *writer) target(it item) (string, *schema.Node, error) {
	var path string
	var s *schema.File
	switch {
	case w.format == Legacy && it.legacy != "":
		path, s = it.legacy, w.leg
	case w.format == Legacy:
		return "", nil, fmt.Errorf("agentcfg: %s has no v6.5 key (a bug)", it.setting)
	case it.sectioned != "":
		path, s = it.sectioned, w.sec
	default:
		to := w.resolveUpgrade(it.legacy)
		if len(to) == 0 && w.release != "" {
			return "", nil, &Error{Path: it.setting, Err: ErrUnknownKey, Releases: []string{w.release},
				Msg: fmt.Sprintf("DeepFlow %s has no key for v6.5's %s", ReleaseName(w.release), it.legacy)}
		}
		if len(to) != 1 {
			return "", nil, fmt.Errorf("agentcfg: the template names %d v6.6+ keys upgraded from %s, want 1 (a bug or a new template)", len(to), it.legacy)
		}
		path, s = to[0], w.sec
	}
	n := s.Keys[path]
	if n == nil && w.release != "" && s == w.sec {
		return "", nil, &Error{Path: it.setting, Err: ErrUnknownKey, Releases: []string{w.release},
			Msg: fmt.Sprintf("needs %s, which DeepFlow %s does not accept", path, ReleaseName(w.release))}
	}
	if n == nil {
		return "", nil, fmt.Errorf("agentcfg: %s is not in the %v schema (a bug or a new reference)", path, w.format)
	}
	return path, n, nil
}

// resolveUpgrade finds the v6.6+ key replacing a v6.5 key. Where a
// template's upgrade_from is ambiguous or missing (v6.6.8 marks both
// match_regex and match_type as upgraded from match-regex), the key with
// the v6.5 key's name under its parent's replacement is taken.
func (w *writer) resolveUpgrade(legacy string) []string {
	to := w.upgrades[legacy]
	if len(to) == 1 {
		return to
	}
	parent, leaf, ok := cutLastKey(legacy)
	if !ok {
		return to
	}
	leaf = strings.ReplaceAll(leaf, "-", "_")
	for _, t := range to {
		if _, l, _ := cutLastKey(t); l == leaf {
			return []string{t}
		}
	}
	if len(to) == 0 {
		if up := w.upgrades[parent]; len(up) == 1 && w.sec.Keys[up[0]+"."+leaf] != nil {
			return []string{up[0] + "." + leaf}
		}
	}
	return to
}

func cutLastKey(p string) (string, string, bool) {
	i := strings.LastIndexByte(p, '.')
	if i < 0 {
		return "", p, false
	}
	return p[:i], p[i+1:], true
}

func (w *writer) skip(it item) bool { return it.only != 0 && it.only != w.format }

func (w *writer) put(root *omap, it item) error {
	if w.skip(it) {
		return nil
	}
	path, n, err := w.target(it)
	if err != nil {
		return err
	}
	v, err := w.convert(it, path, n)
	if err != nil {
		return err
	}
	root.setPath(path, v)
	return nil
}

// convert turns a recipe value into the target key's representation and
// checks it there, so errors name the setting rather than the file key.
func (w *writer) convert(it item, path string, n *schema.Node) (any, error) {
	switch v := it.value.(type) {
	case []element:
		if n.Type != schema.Dict || !n.List {
			return nil, fmt.Errorf("agentcfg: %s is not a list of mappings (a bug)", path)
		}
		var list []*omap
		for _, e := range v {
			if e.only != 0 && e.only != w.format {
				continue
			}
			m := &omap{}
			for _, f := range e.fields {
				if w.skip(f) {
					continue
				}
				fp, fn, err := w.target(f)
				if err != nil {
					return nil, err
				}
				key, ok := strings.CutPrefix(fp, path+".")
				if !ok || strings.Contains(key, ".") {
					return nil, fmt.Errorf("agentcfg: %s is not a key of %s (a bug)", fp, path)
				}
				fv, err := w.convert(f, fp, fn)
				if err != nil {
					return nil, err
				}
				m.set(key, fv)
			}
			list = append(list, m)
		}
		return list, nil
	case []string:
		if !n.List {
			return nil, fmt.Errorf("agentcfg: %s is not a list (a bug)", path)
		}
		for i, s := range v {
			if err := check(fmt.Sprintf("%s[%d]", it.setting, i), s, n); err != nil {
				return nil, err
			}
		}
		return v, nil
	}
	out := it.value
	switch n.Type {
	case schema.Bool:
		switch v := it.value.(type) {
		case int:
			out = v != 0
		case string:
			b, ok := actionIgnore[v]
			if !ok {
				return nil, fmt.Errorf("agentcfg: no boolean for %q at %s (a bug)", v, path)
			}
			out = b
		}
	case schema.Int:
		if b, ok := it.value.(bool); ok { // v6.5 switches are 0/1
			out = 0
			if b {
				out = 1
			}
		}
	case schema.Duration:
		if secs, ok := it.value.(int); ok { // v6.5 intervals are seconds
			out = fmt.Sprintf("%ds", secs)
		}
	}
	if err := check(it.setting, out, n); err != nil {
		return nil, err
	}
	// Legacy values are also held to the range the newer template
	// documents for the same setting, where v6.5's file gave none.
	if w.format == Legacy && it.legacy != "" && len(n.Range) == 0 {
		if to := w.upgrades[it.legacy]; len(to) == 1 {
			if sn := w.sec.Keys[to[0]]; sn != nil && sn.Type == n.Type && len(sn.Range) == 2 {
				if err := check(it.setting, out, sn); err != nil {
					return nil, err
				}
			}
		}
	}
	return out, nil
}

// check applies the schema's scalar rule to a Go value.
func check(setting string, v any, n *schema.Node) error {
	var node yaml.Node
	if err := node.Encode(v); err != nil {
		return err
	}
	single := *n
	single.List = false
	if err := checkScalar(&node, &single); err != nil {
		e := err.(*Error)
		return &Error{Path: setting, Err: e.Err, Msg: e.Msg}
	}
	return nil
}

// omap is a mapping that keeps insertion order, for stable output.
type omap struct {
	keys []string
	vals map[string]any
}

func (m *omap) set(k string, v any) {
	if m.vals == nil {
		m.vals = map[string]any{}
	}
	if _, ok := m.vals[k]; !ok {
		m.keys = append(m.keys, k)
	}
	m.vals[k] = v
}

func (m *omap) setPath(path string, v any) {
	parts := strings.Split(path, ".")
	cur := m
	for _, p := range parts[:len(parts)-1] {
		next, ok := cur.vals[p].(*omap)
		if !ok {
			next = &omap{}
			cur.set(p, next)
		}
		cur = next
	}
	cur.set(parts[len(parts)-1], v)
}

func (m *omap) moveLast(k string) {
	for i, x := range m.keys {
		if x == k {
			m.keys = append(append(m.keys[:i:i], m.keys[i+1:]...), k)
			return
		}
	}
}

func toNode(v any) (*yaml.Node, error) {
	switch v := v.(type) {
	case *omap:
		n := &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"}
		for _, k := range v.keys {
			c, err := toNode(v.vals[k])
			if err != nil {
				return nil, err
			}
			n.Content = append(n.Content, &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: k}, c)
		}
		return n, nil
	case []*omap:
		n := &yaml.Node{Kind: yaml.SequenceNode, Tag: "!!seq"}
		for _, e := range v {
			c, err := toNode(e)
			if err != nil {
				return nil, err
			}
			n.Content = append(n.Content, c)
		}
		return n, nil
	case []string:
		n := &yaml.Node{Kind: yaml.SequenceNode, Tag: "!!seq", Style: yaml.FlowStyle}
		for _, s := range v {
			c := &yaml.Node{}
			if err := c.Encode(s); err != nil {
				return nil, err
			}
			n.Content = append(n.Content, c)
		}
		return n, nil
	}
	n := &yaml.Node{}
	if err := n.Encode(v); err != nil {
		return nil, err
	}
	return n, nil
}

func encode(root *omap) ([]byte, error) {
	n, err := toNode(root)
	if err != nil {
		return nil, err
	}
	var b bytes.Buffer
	if err := encodeNode(&b, n); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

func encodeNode(w io.Writer, n *yaml.Node) error {
	enc := yaml.NewEncoder(w)
	enc.SetIndent(2)
	if err := enc.Encode(n); err != nil {
		return err
	}
	return enc.Close()
}

// CommunicationKeys are where a group config names the server: its
// controller (gRPC) and ingester addresses.
type CommunicationKeys struct {
	ControllerIP, ControllerPort, IngesterIP, IngesterPort string
}

// KeysOf gives the communication keys' paths in a format: v6.5's own, or
// what the reference template's upgrade_from maps them to.
func KeysOf(f Format) (CommunicationKeys, error) {
	legacy := CommunicationKeys{keyControllerIP, keyControllerPort, keyIngesterIP, keyIngesterPort}
	if f == Legacy {
		return legacy, nil
	}
	sec, err := schemaFor(Sectioned)
	if err != nil {
		return CommunicationKeys{}, err
	}
	up := upgradeTargets(sec)
	var out CommunicationKeys
	for _, k := range []struct {
		from string
		to   *string
	}{
		{legacy.ControllerIP, &out.ControllerIP}, {legacy.ControllerPort, &out.ControllerPort},
		{legacy.IngesterIP, &out.IngesterIP}, {legacy.IngesterPort, &out.IngesterPort},
	} {
		if len(up[k.from]) != 1 {
			return CommunicationKeys{}, fmt.Errorf("agentcfg: v6.5's %s maps to %v in the sectioned template, want one key", k.from, up[k.from])
		}
		*k.to = up[k.from][0]
	}
	return out, nil
}
