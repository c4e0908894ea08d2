package render

import (
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// groupConfig renders the agent-group-config in the sectioned (v6.6+)
// format: where agents send data and reach the controller, in this network
// mode.
func groupConfig(d *Data) (string, error) {
	comm := mapping(
		"ingester_ip", str(d.W.AgentIngester.Host),
		"ingester_port", integer(d.W.AgentIngester.Port),
		"proxy_controller_ip", str(d.W.AgentController.Host),
		"proxy_controller_port", integer(d.W.AgentController.Port),
	)
	doc := mapping("global", mapping("communication", comm))
	if d.T.Network == Host {
		// Agents on host networking report the host's own resources (seed 003).
		doc.Content = append(doc.Content, &yaml.Node{Kind: yaml.ScalarNode, Value: "inputs"},
			mapping("resources", mapping("private_cloud", mapping("hypervisor_resource_enabled", boolean(true)))))
	}
	var b strings.Builder
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(2)
	if err := enc.Encode(doc); err != nil {
		return "", err
	}
	return b.String(), enc.Close()
}

func mapping(kv ...any) *yaml.Node {
	n := &yaml.Node{Kind: yaml.MappingNode}
	for i := 0; i < len(kv); i += 2 {
		k := kv[i].(string)
		n.Content = append(n.Content, &yaml.Node{Kind: yaml.ScalarNode, Value: k}, kv[i+1].(*yaml.Node))
	}
	return n
}

func str(s string) *yaml.Node {
	return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: s, Style: yaml.DoubleQuotedStyle}
}

func integer(i int) *yaml.Node {
	return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!int", Value: strconv.Itoa(i)}
}

func boolean(b bool) *yaml.Node {
	return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!bool", Value: strconv.FormatBool(b)}
}
