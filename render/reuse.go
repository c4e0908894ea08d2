package render

import (
	"errors"
	"fmt"
	"path/filepath"
	"sort"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/deepflow-compose/deepflow-compose/deployment"
	"github.com/deepflow-compose/deepflow-compose/settings"
)

// ErrProfileChange is returned for a re-render that names another profile
// than the directory was rendered with.
var ErrProfileChange = errors.New("the profile would change")

// reuse layers the settings an earlier render recorded under the inputs,
// and takes its profile.
func reuse(in *settings.Inputs, prev *deployment.Manifest, dir string) error {
	if in.Profile != "" {
		p, err := settings.LookupProfile(in.Profile)
		if err != nil {
			return err
		}
		if p.Name != prev.Profile {
			return fmt.Errorf("%w: %s was rendered with profile %s, not %s; render it with --reset to start from the %s profile's defaults (secrets and the agent group ID are kept)",
				ErrProfileChange, dir, prev.Profile, p.Name, p.Name)
		}
	}
	in.Profile = prev.Profile
	raw, err := yaml.Marshal(prev.Settings)
	if err != nil {
		return err
	}
	l, err := settings.ParseLayer(filepath.Join(dir, deployment.ManifestName), raw)
	if err != nil {
		return err
	}
	in.Recorded = &l
	return nil
}

// A SettingChange is one setting that differs from the earlier render.
type SettingChange struct {
	Key      string // as values files and --set name it: mysql.port
	Old, New string
}

func (c SettingChange) String() string { return fmt.Sprintf("%s: %s → %s", c.Key, c.Old, c.New) }

// changedSettings compares two renders' settings key by key, passwords
// left out: they live in .env and are never printed.
func changedSettings(old, cur *settings.Settings) []SettingChange {
	flat := func(s *settings.Settings) map[string]string {
		c := *s
		c.MySQL.Password, c.ClickHouse.Password, c.Grafana.AdminPassword = "", "", ""
		var n yaml.Node
		if err := n.Encode(&c); err != nil {
			return nil
		}
		out := map[string]string{}
		flatten(&n, "", out)
		return out
	}
	a, b := flat(old), flat(cur)
	keys := map[string]bool{}
	for k := range a {
		keys[k] = true
	}
	for k := range b {
		keys[k] = true
	}
	var out []SettingChange
	for k := range keys {
		if a[k] != b[k] {
			out = append(out, SettingChange{Key: k, Old: orNone(a[k]), New: orNone(b[k])})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Key < out[j].Key })
	return out
}

func orNone(s string) string {
	if s == "" {
		return "(none)"
	}
	return s
}

// flatten writes every leaf of a settings tree under its dotted key; a
// list is one value, as --set takes it.
func flatten(n *yaml.Node, prefix string, out map[string]string) {
	switch n.Kind {
	case yaml.DocumentNode:
		for _, c := range n.Content {
			flatten(c, prefix, out)
		}
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			k := n.Content[i].Value
			if prefix != "" {
				k = prefix + "." + k
			}
			flatten(n.Content[i+1], k, out)
		}
	case yaml.SequenceNode:
		if len(n.Content) > 0 {
			setFlow(n)
			if b, err := yaml.Marshal(n); err == nil {
				out[prefix] = strings.TrimSpace(string(b))
			}
		}
	default:
		// A zero port means "from the topology": shown as (none). A
		// switch is shown either way.
		if n.Value != "" && !(n.Tag == "!!int" && n.Value == "0") {
			out[prefix] = n.Value
		}
	}
}

// setFlow makes a subtree print on one line: [a, {b: c}].
func setFlow(n *yaml.Node) {
	n.Style = yaml.FlowStyle
	for _, c := range n.Content {
		setFlow(c)
	}
}
