// Package settings holds the typed settings of a deployment and their
// layering: built-in defaults < profile < values files < --set < flags, maps
// merged, scalars and lists replaced, decoded strictly.
package settings

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"regexp"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/deepflow-compose/deepflow-compose/agentcfg"
	"github.com/deepflow-compose/deepflow-compose/internal/limits"
)

// Network is how the server stack's containers are networked.
type Network string

const (
	Bridge Network = "bridge"
	Host   Network = "host"
)

// Settings is everything a render depends on. Zero values are filled from
// the built-in defaults layer, so every field here has a default in
// defaults.yaml or is deliberately optional.
type Settings struct {
	NodeIP      string  `yaml:"nodeIP"`
	Version     string  `yaml:"version"`
	Network     Network `yaml:"network"`
	Registry    string  `yaml:"registry"`
	DataDir     string  `yaml:"dataDir"`
	Timezone    string  `yaml:"timezone"`
	ProjectName string  `yaml:"projectName"`

	// Images overrides single image references, by component: mysql,
	// clickhouse, server, app, grafana, grafanaInit, grafanaInitDsDh, agent.
	Images map[string]string `yaml:"images"`
	// Offline prepares the stack for a host with no way out: time from
	// NTPServer, no update checks.
	Offline bool `yaml:"offline"`
	// NTPServer is the time source deepflow-server hands agents when
	// offline (default: the node IP).
	NTPServer string `yaml:"ntpServer"`

	MySQL      MySQLSettings      `yaml:"mysql"`
	ClickHouse ClickHouseSettings `yaml:"clickhouse"`
	Grafana    GrafanaSettings    `yaml:"grafana"`
	Expose     ExposeSettings     `yaml:"expose"`
	Agent      AgentSettings      `yaml:"agent"`
}

type MySQLSettings struct {
	Port     int    `yaml:"port"`
	Password string `yaml:"password"`
}

type ClickHouseSettings struct {
	Password        string `yaml:"password"`
	TCPPort         int    `yaml:"tcpPort"`
	HTTPPort        int    `yaml:"httpPort"`
	InterserverPort int    `yaml:"interserverPort"`
}

type GrafanaSettings struct {
	AdminUser     string `yaml:"adminUser"`
	AdminPassword string `yaml:"adminPassword"`
	Port          int    `yaml:"port"`
}

type ExposeSettings struct {
	// Datastores makes MySQL and ClickHouse listen on every interface under
	// host networking (and publishes their ports under bridge).
	Datastores bool `yaml:"datastores"`
}

// Agent modes.
const (
	AgentContainer = "container"
	AgentProcess   = "process"
)

// AgentSettings configures the agent side.
type AgentSettings struct {
	// Mode is how the agent runs on a monitored host: "container" (host
	// network and pid) or "process" (a systemd service).
	Mode string `yaml:"mode"`
	// Privileged replaces the capability list; engines older than 20.10.10
	// need it.
	Privileged bool `yaml:"privileged"`
	// Subnets are the agents' networks (CIDR or a-b range) the server must
	// treat as local, added to DeepFlow's private ranges.
	Subnets    []string           `yaml:"subnets"`
	Kubernetes KubernetesSettings `yaml:"kubernetes"`
	// Group holds the agent-group-config recipes.
	Group agentcfg.Group `yaml:"group"`
	// GroupName is the agent group NEXT-STEPS creates.
	GroupName string `yaml:"groupName"`
	// GroupID is the ID deepflow-server gave that group (g-…), once known.
	GroupID string `yaml:"groupID"`
	// ControllerPort and IngesterPort override the server ports agents dial
	// (0: what the server's network mode exposes), e.g. behind a load
	// balancer.
	ControllerPort int `yaml:"controllerPort"`
	IngesterPort   int `yaml:"ingesterPort"`
	// DomainName names the agent_sync domain agents register under.
	DomainName string `yaml:"domainName"`
	// OnServer runs an agent in the server's own compose stack, so one VM
	// shows its own traffic with no second host.
	OnServer bool `yaml:"onServer"`
}

// KubernetesSettings are for agents running as processes on the nodes of a
// Kubernetes cluster, beside a deepflow-agent that only watches its API.
type KubernetesSettings struct {
	// ClusterName turns on Kubernetes process mode (clusterNAME of the
	// deepflow-agent chart).
	ClusterName string `yaml:"clusterName"`
	// ClusterID is the kubernetes-cluster-id deepflow-server gave the
	// cluster, once known.
	ClusterID string `yaml:"clusterID"`
}

// A Layer is one source of settings, kept as a YAML tree so maps can be
// merged while scalars and lists replace.
type Layer struct {
	Source string // file name, "profile bridge", "--set a.b=c", …
	Node   *yaml.Node
}

// ErrSettings marks every error about user-provided settings.
var ErrSettings = errors.New("invalid settings")

// ParseLayer decodes one YAML document and checks it strictly against
// Settings, so a typo fails here with the file and line.
func ParseLayer(source string, data []byte) (Layer, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return Layer{}, fmt.Errorf("%s: %w: %v", source, ErrSettings, cleanYAMLErr(err))
	}
	l := Layer{Source: source}
	if doc.Kind == 0 { // empty file
		return l, nil
	}
	root := doc.Content[0]
	if root.Kind != yaml.MappingNode {
		return Layer{}, fmt.Errorf("%s: %w: line %d: the top level must be a map of settings", source, ErrSettings, root.Line)
	}
	l.Node = root
	if err := strictDecode(data, new(Settings)); err != nil {
		return Layer{}, fmt.Errorf("%s: %w: %w", source, ErrSettings, err)
	}
	if err := plainIntegers(root, reflect.TypeOf(Settings{}), ""); err != nil {
		return Layer{}, fmt.Errorf("%s: %w: %w", source, ErrSettings, err)
	}
	return l, nil
}

// LoadValuesFile reads a -f file.
func LoadValuesFile(path string) (Layer, error) {
	data, err := limits.ReadFile(path, limits.Values)
	if err != nil {
		return Layer{}, fmt.Errorf("%w: %w", ErrSettings, err)
	}
	return ParseLayer(path, data)
}

// ParseSet turns one --set key.path=value into a layer. The value is read
// as the setting's type asks: a string stays the exact text ("--set
// mysql.password=0123" or "=[x" included), a list is a YAML flow list
// ("[a, b]"), numbers and booleans are YAML scalars.
func ParseSet(arg string) (Layer, error) {
	key, value, ok := strings.Cut(arg, "=")
	src := "--set " + arg
	if !ok || key == "" {
		return Layer{}, fmt.Errorf("%s: %w: want key.path=value", src, ErrSettings)
	}
	parts := strings.Split(key, ".")
	for _, p := range parts {
		if p == "" {
			return Layer{}, fmt.Errorf("%s: %w: empty key segment", src, ErrSettings)
		}
	}
	ft, ok := settingType(parts)
	if !ok {
		return Layer{}, fmt.Errorf("%s: %w: unknown key %q", src, ErrSettings, key)
	}
	for ft.Kind() == reflect.Pointer {
		ft = ft.Elem()
	}
	var leaf *yaml.Node
	switch ft.Kind() {
	case reflect.Struct, reflect.Map:
		return Layer{}, fmt.Errorf("%s: %w: %s is a group of settings; set one of its keys, like %s.<key>=…", src, ErrSettings, key, key)
	case reflect.String:
		leaf = &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: value}
	case reflect.Slice:
		var doc yaml.Node
		if err := yaml.Unmarshal([]byte(value), &doc); err != nil || len(doc.Content) == 0 || doc.Content[0].Kind != yaml.SequenceNode {
			return Layer{}, fmt.Errorf("%s: %w: %s: %q is not a list like [a, b]", src, ErrSettings, key, value)
		}
		leaf = doc.Content[0]
	default:
		leaf = &yaml.Node{Kind: yaml.ScalarNode, Value: value}
		if isInt(ft) && !plainIntRE.MatchString(value) {
			return Layer{}, fmt.Errorf("%s: %w: %s: %q is not %s", src, ErrSettings, key, value, kindName(ft))
		}
	}
	node := nest(parts, leaf)
	raw, err := yaml.Marshal(node)
	if err != nil {
		return Layer{}, fmt.Errorf("%s: %w: %w", src, ErrSettings, err)
	}
	if err := strictDecode(raw, new(Settings)); err != nil {
		return Layer{}, fmt.Errorf("%s: %w: %s: %q is not %s", src, ErrSettings, key, value, kindName(ft))
	}
	return Layer{Source: src, Node: node}, nil
}

// nest puts a value under a dotted key path: {a: {b: leaf}}.
func nest(path []string, leaf *yaml.Node) *yaml.Node {
	for i := len(path) - 1; i >= 0; i-- {
		leaf = &yaml.Node{Kind: yaml.MappingNode, Content: []*yaml.Node{{Kind: yaml.ScalarNode, Value: path[i]}, leaf}}
	}
	return leaf
}

// plainIntRE is the only integer spelling settings take: YAML would also
// read 3.5 (truncated), 1e3, 0x7530, 0o17 and 30_130, and turn each into a
// number the user did not write.
var plainIntRE = regexp.MustCompile(`^-?(0|[1-9][0-9]*)$`)

func isInt(t reflect.Type) bool {
	switch t.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return true
	}
	return false
}

// plainIntegers walks a layer beside the settings type and refuses every
// integer setting not spelled as a plain decimal integer.
func plainIntegers(n *yaml.Node, t reflect.Type, path string) error {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	join := func(k string) string {
		if path == "" {
			return k
		}
		return path + "." + k
	}
	switch {
	case isInt(t):
		if n.Kind == yaml.ScalarNode && !plainIntRE.MatchString(n.Value) {
			return fmt.Errorf("line %d: %s: %q is not a plain integer (digits only: no fraction, exponent, hex, octal or '_')", n.Line, path, n.Value)
		}
	case t.Kind() == reflect.Struct && n.Kind == yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			k := n.Content[i].Value
			if f, ok := fieldByTag(t, k); ok {
				if err := plainIntegers(n.Content[i+1], f.Type, join(k)); err != nil {
					return err
				}
			}
		}
	case t.Kind() == reflect.Map && n.Kind == yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			if err := plainIntegers(n.Content[i+1], t.Elem(), join(n.Content[i].Value)); err != nil {
				return err
			}
		}
	case t.Kind() == reflect.Slice && n.Kind == yaml.SequenceNode:
		for i, c := range n.Content {
			if err := plainIntegers(c, t.Elem(), fmt.Sprintf("%s[%d]", path, i)); err != nil {
				return err
			}
		}
	}
	return nil
}

// Resolve merges layers in order (later wins) and decodes the result.
func Resolve(layers ...Layer) (Settings, error) {
	merged := &yaml.Node{Kind: yaml.MappingNode}
	for _, l := range layers {
		if l.Node != nil {
			mergeNode(merged, l.Node)
		}
	}
	raw, err := yaml.Marshal(merged)
	if err != nil {
		return Settings{}, err
	}
	var s Settings
	if err := strictDecode(raw, &s); err != nil {
		return Settings{}, fmt.Errorf("%w: %w", ErrSettings, err)
	}
	return s, nil
}

// mergeNode merges src into dst: maps merge key by key, anything else
// replaces.
func mergeNode(dst, src *yaml.Node) {
	for i := 0; i+1 < len(src.Content); i += 2 {
		k, v := src.Content[i], src.Content[i+1]
		j := mapIndex(dst, k.Value)
		if j < 0 {
			dst.Content = append(dst.Content, k, cloneNode(v))
			continue
		}
		cur := dst.Content[j+1]
		if cur.Kind == yaml.MappingNode && v.Kind == yaml.MappingNode {
			mergeNode(cur, v)
		} else {
			dst.Content[j+1] = cloneNode(v)
		}
	}
}

func mapIndex(m *yaml.Node, key string) int {
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			return i
		}
	}
	return -1
}

func cloneNode(n *yaml.Node) *yaml.Node {
	c := *n
	c.Content = make([]*yaml.Node, len(n.Content))
	for i, ch := range n.Content {
		c.Content[i] = cloneNode(ch)
	}
	return &c
}

func strictDecode(data []byte, out any) error {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(out); err != nil && !errors.Is(err, io.EOF) { // io.EOF: an empty document
		return errors.New(cleanYAMLErr(err))
	}
	return nil
}

// cleanYAMLErr drops yaml.v3's "yaml: unmarshal errors:\n  " framing and Go
// type names so messages talk about settings, not structs.
func cleanYAMLErr(err error) string {
	msg := err.Error()
	msg = strings.TrimPrefix(msg, "yaml: unmarshal errors:\n")
	msg = strings.TrimPrefix(msg, "yaml: ")
	lines := strings.Split(msg, "\n")
	for i, l := range lines {
		l = strings.TrimSpace(l)
		if k, _, ok := strings.Cut(l, " not found in type "); ok {
			l = strings.Replace(k, "field ", "unknown key ", 1)
			if i := strings.Index(l, "unknown key "); i >= 0 {
				l = l[:i] + "unknown key " + strconv.Quote(l[i+len("unknown key "):])
			}
		}
		l = strings.NewReplacer("settings.Network", "a string", "into int", "into an integer", "into bool", "into true or false").Replace(l)
		if i := strings.Index(l, " into settings."); i >= 0 {
			l = l[:i] + " where a group of settings belongs"
		}
		lines[i] = l
	}
	return strings.Join(lines, "; ")
}

// settingType finds the Go type of a dotted settings key by its yaml tags.
func settingType(path []string) (reflect.Type, bool) {
	t := reflect.TypeOf(Settings{})
	for _, name := range path {
		for t.Kind() == reflect.Pointer {
			t = t.Elem()
		}
		if t.Kind() == reflect.Map { // any key; the map's own check names bad ones
			t = t.Elem()
			continue
		}
		if t.Kind() != reflect.Struct {
			return nil, false
		}
		f, ok := fieldByTag(t, name)
		if !ok {
			return nil, false
		}
		t = f.Type
	}
	return t, true
}

// fieldByTag finds a struct's field by its yaml key.
func fieldByTag(t reflect.Type, key string) (reflect.StructField, bool) {
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		if tag, _, _ := strings.Cut(f.Tag.Get("yaml"), ","); tag == key {
			return f, true
		}
	}
	return reflect.StructField{}, false
}

func kindName(t reflect.Type) string {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.Int:
		return "an integer"
	case reflect.Bool:
		return "true or false"
	case reflect.String:
		return "a string"
	case reflect.Slice:
		return "a list"
	}
	return "of type " + t.String()
}

// MarshalJSON writes the settings under the keys values files use, so the
// manifest reads like a values file.
func (s Settings) MarshalJSON() ([]byte, error) {
	raw, err := yaml.Marshal(s)
	if err != nil {
		return nil, err
	}
	var tree map[string]any
	if err := yaml.Unmarshal(raw, &tree); err != nil {
		return nil, err
	}
	return json.Marshal(tree)
}

// UnmarshalJSON reads what MarshalJSON wrote; JSON is YAML.
func (s *Settings) UnmarshalJSON(b []byte) error {
	return yaml.Unmarshal(b, s)
}
