package agentcfg

import (
	"fmt"
	"strings"
)

type preset struct {
	resources []KubernetesResource
	rules     []rule
}

// rule grants get/list/watch on resources of one API group.
type rule struct {
	group     string
	resources []string
}

// ClusterRoleRules returns the ClusterRole rules the agent needs on top of
// DeepFlow's chart for g's Kubernetes resources: a YAML list to append
// under the ClusterRole's rules. It returns nil when nothing is added.
// Presets grant what DeepFlow's guide lists for them; each extra resource
// that is not disabled gets get/list/watch in its group.
func ClusterRoleRules(g Group) ([]byte, error) {
	k := g.KubernetesResources
	if k == nil {
		return nil, nil
	}
	sec, err := schemaFor(Sectioned)
	if err != nil {
		return nil, err
	}
	if _, err := kubernetesResources(k, sec); err != nil {
		return nil, err
	}
	var rules []rule
	add := func(group, res string) {
		for i := range rules {
			if rules[i].group == group {
				if !contains(rules[i].resources, res) {
					rules[i].resources = append(rules[i].resources, res)
				}
				return
			}
		}
		rules = append(rules, rule{group: group, resources: []string{res}})
	}
	for _, name := range k.Presets {
		for _, r := range presets[name].rules {
			for _, res := range r.resources {
				add(r.group, res)
			}
		}
	}
	for _, r := range k.Extra {
		if !r.Disabled {
			add(r.Group, r.Name)
		}
	}
	if len(rules) == 0 {
		return nil, nil
	}
	var list []*omap
	for _, r := range rules {
		m := &omap{}
		m.set("apiGroups", []string{r.group})
		m.set("resources", r.resources)
		m.set("verbs", []string{"get", "list", "watch"})
		list = append(list, m)
	}
	n, err := toNode(list)
	if err != nil {
		return nil, err
	}
	for _, m := range n.Content { // block lists, as Kubernetes manifests are written
		for _, v := range m.Content {
			v.Style = 0
		}
	}
	var b strings.Builder
	if err := encodeNode(&b, n); err != nil {
		return nil, fmt.Errorf("agentcfg: %w", err)
	}
	return []byte(b.String()), nil
}
