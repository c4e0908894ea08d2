package helmexport

import (
	"bytes"
	"strings"

	"gopkg.in/yaml.v3"
)

// tree builds a values document in the order keys are set, so the files
// read top-down like the chart's own values.yaml.
type tree struct{ root *yaml.Node }

func newTree() *tree { return &tree{root: &yaml.Node{Kind: yaml.MappingNode}} }

// set puts v at path, creating maps on the way, and returns the key node
// (for a comment).
func (t *tree) set(v any, path ...string) *yaml.Node {
	n := t.root
	for i, k := range path {
		j := -1
		for c := 0; c+1 < len(n.Content); c += 2 {
			if n.Content[c].Value == k {
				j = c
				break
			}
		}
		last := i == len(path)-1
		if j < 0 {
			key := &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: k}
			val := &yaml.Node{Kind: yaml.MappingNode}
			n.Content = append(n.Content, key, val)
			j = len(n.Content) - 2
		}
		if last {
			val := &yaml.Node{}
			if err := val.Encode(v); err != nil {
				panic("helmexport: encoding a value: " + err.Error()) // only plain values reach here
			}
			n.Content[j+1] = val
			return n.Content[j]
		}
		n = n.Content[j+1]
	}
	return nil
}

// comment puts a comment above a key.
func comment(key *yaml.Node, lines ...string) {
	key.HeadComment = strings.Join(lines, "\n")
}

// empty says whether nothing was set.
func (t *tree) empty() bool { return len(t.root.Content) == 0 }

// marshal writes the document under a header comment.
func (t *tree) marshal(header []string) ([]byte, error) {
	var b bytes.Buffer
	for _, h := range header {
		b.WriteString(strings.TrimRight("# "+h, " ") + "\n")
	}
	if t.empty() {
		return b.Bytes(), nil
	}
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(2)
	if err := enc.Encode(t.root); err != nil {
		return nil, err
	}
	if err := enc.Close(); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}
