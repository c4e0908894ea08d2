package settings

import (
	"bytes"
	_ "embed"
	"errors"
	"fmt"
	"net/netip"
	"path"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"

	"gopkg.in/yaml.v3"

	"github.com/deepflow-compose/deepflow-compose/catalog"
	"github.com/deepflow-compose/deepflow-compose/profiles"
)

//go:embed defaults.yaml
var defaultsYAML []byte

// Profile is one embedded preset.
type Profile struct {
	Name        string
	Aliases     []string
	Description string
	layer       Layer
}

type profileFile struct {
	Description string    `yaml:"description"`
	Aliases     []string  `yaml:"aliases"`
	Settings    yaml.Node `yaml:"settings"`
}

// ErrUnknownProfile is returned for a profile name nothing defines.
var ErrUnknownProfile = errors.New("unknown profile")

// The profiles and defaults are embedded: parse them once per process.
// Layers are never modified (Resolve merges clones), so sharing is safe.
var embedded struct {
	once     sync.Once
	profiles []*Profile
	defaults Layer
	err      error
}

func loadEmbedded() {
	embedded.profiles, embedded.err = parseProfiles()
	if embedded.err == nil {
		embedded.defaults, embedded.err = ParseLayer("built-in defaults", defaultsYAML)
	}
}

// Profiles lists the embedded profiles, sorted by name.
func Profiles() ([]*Profile, error) {
	embedded.once.Do(loadEmbedded)
	return append([]*Profile(nil), embedded.profiles...), embedded.err
}

func parseProfiles() ([]*Profile, error) {
	entries, err := profiles.FS.ReadDir(".")
	if err != nil {
		return nil, err
	}
	var out []*Profile
	for _, e := range entries {
		if path.Ext(e.Name()) != ".yaml" {
			continue
		}
		data, err := profiles.FS.ReadFile(e.Name())
		if err != nil {
			return nil, err
		}
		var pf profileFile
		dec := yaml.NewDecoder(bytes.NewReader(data))
		dec.KnownFields(true)
		if err := dec.Decode(&pf); err != nil {
			return nil, fmt.Errorf("profiles/%s: %v", e.Name(), cleanYAMLErr(err))
		}
		name := strings.TrimSuffix(e.Name(), ".yaml")
		raw, err := yaml.Marshal(&pf.Settings)
		if err != nil {
			return nil, err
		}
		l, err := ParseLayer("profile "+name, raw)
		if err != nil {
			return nil, err
		}
		out = append(out, &Profile{Name: name, Aliases: pf.Aliases, Description: pf.Description, layer: l})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// LookupProfile finds a profile by name or alias.
func LookupProfile(name string) (*Profile, error) {
	all, err := Profiles()
	if err != nil {
		return nil, err
	}
	var names []string
	for _, p := range all {
		if p.Name == name {
			return p, nil
		}
		for _, a := range p.Aliases {
			if a == name {
				return p, nil
			}
		}
		names = append(names, p.Name)
	}
	return nil, fmt.Errorf("%w %q (available: %s)", ErrUnknownProfile, name, strings.Join(names, ", "))
}

// A FieldError is one setting that fails validation.
type FieldError struct {
	Key string // dotted, as values files name it; or the flag that set it
	Msg string
}

// FieldErrors are every setting that fails validation; they wrap
// ErrSettings.
type FieldErrors []FieldError

func (e FieldErrors) Error() string {
	parts := make([]string, len(e))
	for i, f := range e {
		parts[i] = f.Key + ": " + f.Msg
	}
	return ErrSettings.Error() + ": " + strings.Join(parts, "; ")
}

func (e FieldErrors) Unwrap() error { return ErrSettings }

// An Override is one setting a command-line flag sets. It is typed, so a
// flag's value is never read as YAML, and an error about it names the
// flag the user typed.
type Override struct {
	Flag  string // --server
	Key   string // nodeIP
	Value any    // string, int or bool
}

// Inputs are what a user hands a render, before layering.
type Inputs struct {
	Profile     string   // default "bridge"
	ValuesFiles []string // -f, in order
	Sets        []string // --set, in order
	NodeIP      string   // --node-ip
	Version     string   // --version
	// Overrides are other flags' settings, applied last, in order.
	Overrides []Override

	// Recorded is an earlier render's settings, layered over the profile.
	Recorded *Layer
}

// Settings layers defaults < profile < -f files < --set < flags and
// validates the result.
func (in *Inputs) Settings() (*Settings, *Profile, error) {
	name := in.Profile
	if name == "" {
		name = "bridge"
	}
	prof, err := LookupProfile(name)
	if err != nil {
		return nil, nil, err
	}
	embedded.once.Do(loadEmbedded)
	if embedded.err != nil {
		return nil, nil, embedded.err
	}
	defaults := embedded.defaults
	layers := []Layer{defaults, prof.layer}
	if in.Recorded != nil {
		layers = append(layers, *in.Recorded)
	}
	for _, f := range in.ValuesFiles {
		l, err := LoadValuesFile(f)
		if err != nil {
			return nil, nil, err
		}
		layers = append(layers, l)
	}
	for _, s := range in.Sets {
		l, err := ParseSet(s)
		if err != nil {
			return nil, nil, err
		}
		layers = append(layers, l)
	}
	overrides := in.Overrides
	if in.NodeIP != "" {
		overrides = append([]Override{{Flag: "--node-ip", Key: "nodeIP", Value: in.NodeIP}}, overrides...)
	}
	if in.Version != "" {
		overrides = append([]Override{{Flag: "--version", Key: "version", Value: in.Version}}, overrides...)
	}
	for _, o := range overrides {
		l, err := o.layer()
		if err != nil {
			return nil, nil, err
		}
		layers = append(layers, l)
	}
	s, err := Resolve(layers...)
	if err != nil {
		return nil, nil, err
	}
	if err := s.Validate(); err != nil {
		return nil, nil, nameFlags(err, overrides)
	}
	return &s, prof, nil
}

var (
	projectNameRE = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]*$`)
	timezoneRE    = regexp.MustCompile(`^[A-Za-z0-9_+\-/]+$`)
	groupIDRE     = regexp.MustCompile(`^g-[A-Za-z0-9]{10}$`)
	// A pinned reference: name, then a tag or a digest.
	imageRefRE  = regexp.MustCompile(`^[a-z0-9]+([._/:-][a-z0-9]+)*(:[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}|@sha256:[a-f0-9]{64})$`)
	hostRE      = regexp.MustCompile(`^[A-Za-z0-9]([A-Za-z0-9.:-]*[A-Za-z0-9])?$`)
	clusterIDRE = regexp.MustCompile(`^d-[A-Za-z0-9]+$`)
	groupNameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.\-]*$`)
)

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// checkSubnet accepts a network in CIDR form or an a-b address range, the
// two forms local_ip_ranges takes.
func checkSubnet(s string) error {
	if from, to, ok := strings.Cut(s, "-"); ok {
		a, errA := netip.ParseAddr(from)
		b, errB := netip.ParseAddr(to)
		switch {
		case errA != nil || errB != nil:
			return fmt.Errorf("%q is not an address range like 10.1.0.0-10.1.255.255", s)
		case a.Is4() != b.Is4():
			return fmt.Errorf("%q mixes IPv4 and IPv6", s)
		case b.Less(a):
			return fmt.Errorf("%q ends before it starts", s)
		}
		return nil
	}
	p, err := netip.ParsePrefix(s)
	if err != nil {
		return fmt.Errorf("%q is neither a CIDR like 100.42.32.0/24 nor a range like 10.1.0.0-10.1.255.255", s)
	}
	if p.Masked() != p {
		return fmt.Errorf("%q has host bits set; the network is %s", s, p.Masked())
	}
	return nil
}

// Validate checks every setting and normalises the version spelling. It
// does not check nodeIP's presence: the caller fills it from the default
// route first.
func (s *Settings) Validate() error {
	var errs FieldErrors
	bad := func(key, format string, a ...any) {
		errs = append(errs, FieldError{Key: key, Msg: fmt.Sprintf(format, a...)})
	}
	if s.NodeIP != "" {
		if ip, err := CheckNodeIP(s.NodeIP); err != nil {
			bad("nodeIP", "%v", err)
		} else {
			s.NodeIP = ip
		}
	}
	if r, err := catalog.Lookup(s.Version); err != nil {
		bad("version", "%v", err)
	} else {
		s.Version = r.Name
	}
	switch s.Network {
	case Bridge, Host:
	default:
		bad("network", "%q must be bridge or host", s.Network)
	}
	if s.Registry == "" || strings.ContainsAny(s.Registry, " \t\n@") || strings.HasSuffix(s.Registry, "/") {
		bad("registry", "%q is not an image registry path", s.Registry)
	}
	if !path.IsAbs(s.DataDir) || path.Clean(s.DataDir) != s.DataDir || s.DataDir == "/" {
		bad("dataDir", "%q must be a clean absolute path other than /", s.DataDir)
	}
	if !timezoneRE.MatchString(s.Timezone) {
		bad("timezone", "%q is not a time zone name like Asia/Shanghai", s.Timezone)
	}
	if !projectNameRE.MatchString(s.ProjectName) {
		bad("projectName", "%q must be lowercase letters, digits, '-' or '_'", s.ProjectName)
	}
	for _, p := range []struct {
		key string
		v   int
		// optional: 0 takes the port from the topology.
		optional bool
	}{
		{"mysql.port", s.MySQL.Port, false},
		{"clickhouse.tcpPort", s.ClickHouse.TCPPort, false},
		{"clickhouse.httpPort", s.ClickHouse.HTTPPort, false},
		{"clickhouse.interserverPort", s.ClickHouse.InterserverPort, false},
		{"grafana.port", s.Grafana.Port, false},
		{"agent.controllerPort", s.Agent.ControllerPort, true},
		{"agent.ingesterPort", s.Agent.IngesterPort, true},
	} {
		if (p.v < 1 && !(p.optional && p.v == 0)) || p.v > 65535 {
			bad(p.key, "%d is out of range 1-65535", p.v)
		}
	}
	if s.Grafana.AdminUser == "" {
		bad("grafana.adminUser", "must not be empty")
	} else if err := CheckSecretText(s.Grafana.AdminUser); err != nil {
		bad("grafana.adminUser", "%v", err)
	}
	for _, p := range []struct{ key, v string }{
		{"mysql.password", s.MySQL.Password},
		{"clickhouse.password", s.ClickHouse.Password},
		{"grafana.adminPassword", s.Grafana.AdminPassword},
	} {
		if p.v == "" {
			continue // generated later
		}
		if err := CheckSecretText(p.v); err != nil {
			bad(p.key, "%v", err)
		}
	}
	for _, k := range sortedKeys(s.Images) {
		if !catalog.IsImageKey(k) {
			bad("images."+k, "unknown component (one of %s)", strings.Join(catalog.ImageKeys, ", "))
		} else if !imageRefRE.MatchString(s.Images[k]) {
			bad("images."+k, "%q is not an image reference with a tag or digest, like registry/name:tag", s.Images[k])
		}
	}
	if s.NTPServer != "" && !hostRE.MatchString(s.NTPServer) {
		bad("ntpServer", "%q is not a host name or IP address", s.NTPServer)
	}
	switch s.Agent.Mode {
	case AgentContainer, AgentProcess:
	default:
		bad("agent.mode", "%q must be container or process", s.Agent.Mode)
	}
	if s.Agent.GroupID != "" && !IsGroupID(s.Agent.GroupID) {
		bad("agent.groupID", "%q is not an agent group ID like g-TE8la86jlZ", s.Agent.GroupID)
	}
	if !groupNameRE.MatchString(s.Agent.DomainName) {
		bad("agent.domainName", "%q must be letters, digits, '-', '_' or '.'", s.Agent.DomainName)
	}
	if !groupNameRE.MatchString(s.Agent.GroupName) {
		bad("agent.groupName", "%q must be letters, digits, '-', '_' or '.'", s.Agent.GroupName)
	}
	for i, sn := range s.Agent.Subnets {
		if err := checkSubnet(sn); err != nil {
			bad(fmt.Sprintf("agent.subnets[%d]", i), "%v", err)
		}
	}
	if k := s.Agent.Kubernetes; k.ClusterName != "" && !groupNameRE.MatchString(k.ClusterName) {
		bad("agent.kubernetes.clusterName", "%q must be letters, digits, '-', '_' or '.'", k.ClusterName)
	}
	if k := s.Agent.Kubernetes; k.ClusterID != "" && !clusterIDRE.MatchString(k.ClusterID) {
		bad("agent.kubernetes.clusterID", "%q is not a kubernetes-cluster-id like d-J8Uv7wE0EC", k.ClusterID)
	}
	if len(errs) > 0 {
		return errs
	}
	return nil
}

// CheckNodeIP refuses an address agents on other hosts can never dial and
// returns the canonical spelling.
func CheckNodeIP(ip string) (string, error) {
	a, err := netip.ParseAddr(ip)
	switch {
	case err != nil || a.Zone() != "":
		return "", fmt.Errorf("%q is not an IP address", ip)
	case a.IsUnspecified():
		return "", fmt.Errorf("%s is the unspecified address; agents need one they can dial", ip)
	case a.IsMulticast():
		return "", fmt.Errorf("%s is a multicast address; agents need the address of one host", ip)
	case a == netip.AddrFrom4([4]byte{255, 255, 255, 255}):
		return "", fmt.Errorf("%s is the broadcast address; agents need the address of one host", ip)
	case a.IsLinkLocalUnicast():
		return "", fmt.Errorf("%s is link-local: it is not routed, and Docker's published ports do not serve it; use the host's routable address", ip)
	}
	return a.Unmap().String(), nil
}

// LoopbackNodeIP says why a loopback node IP only suits a single-host trial,
// or "" when ip is not loopback.
func LoopbackNodeIP(ip string) string {
	if a, err := netip.ParseAddr(ip); err == nil && a.IsLoopback() {
		return fmt.Sprintf("node IP %s is a loopback address: agents on other hosts cannot reach it, and agents in containers reach their own loopback; use the host's routable address unless this is a single-host trial", ip)
	}
	return ""
}

// CheckSecretText refuses what no target format can carry on one line.
func CheckSecretText(v string) error {
	if !utf8.ValidString(v) {
		return errors.New("must be valid UTF-8")
	}
	for _, r := range v {
		if unicode.IsControl(r) {
			return errors.New("must not contain control characters such as newlines or tabs")
		}
	}
	return nil
}

// layer is the override as a one-key settings layer.
func (o Override) layer() (Layer, error) {
	var v *yaml.Node
	switch x := o.Value.(type) {
	case string:
		v = &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: x}
	case int:
		v = &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!int", Value: strconv.Itoa(x)}
	case bool:
		v = &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!bool", Value: strconv.FormatBool(x)}
	default:
		return Layer{}, fmt.Errorf("%s: %w: unsupported value %v", o.Flag, ErrSettings, o.Value)
	}
	path := strings.Split(o.Key, ".")
	if _, ok := settingType(path); !ok {
		return Layer{}, fmt.Errorf("%s: %w: unknown key %q", o.Flag, ErrSettings, o.Key)
	}
	return Layer{Source: o.Flag, Node: nest(path, v)}, nil
}

// nameFlags reports a setting a flag set under the flag's name.
func nameFlags(err error, overrides []Override) error {
	var fe FieldErrors
	if !errors.As(err, &fe) {
		return err
	}
	out := make(FieldErrors, len(fe))
	for i, f := range fe {
		out[i] = f
		for _, o := range overrides {
			if o.Key == f.Key {
				out[i].Key = o.Flag
			}
		}
	}
	return out
}

// IsGroupID reports whether id is an agent group ID deepflow-server
// accepts: g- and exactly 10 letters or digits (it refuses others with
// INVALID_POST_DATA).
func IsGroupID(id string) bool { return groupIDRE.MatchString(id) }
