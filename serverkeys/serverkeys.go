// Package serverkeys knows which server.yaml keys each DeepFlow release
// reads. deepflow-server decodes server.yaml leniently, once per module,
// so a key no module's struct names is silently ignored: it misleads the
// people who review the file and, for a setting that was removed, hides
// that it no longer works. The lists under keys/ are derived from the
// config structs at each release (internal/gen) and embedded.
package serverkeys

import (
	"bufio"
	"bytes"
	"embed"
	"errors"
	"fmt"
	"path"
	"sort"
	"strings"
	"sync"

	"gopkg.in/yaml.v3"
)

// ErrUnread is wrapped by Check's error: the file sets a key some release
// does not read.
var ErrUnread = errors.New("key not read by deepflow-server")

// ErrUnknownRelease is returned for a release with no key list.
var ErrUnknownRelease = errors.New("unknown DeepFlow release")

//go:embed keys/*.txt
var keysFS embed.FS

// set is one release's keys; "*" in a key stands for any map key.
type set map[string]bool

var load = sync.OnceValues(func() (map[string]set, error) {
	ents, err := keysFS.ReadDir("keys")
	if err != nil {
		return nil, err
	}
	out := map[string]set{}
	for _, e := range ents {
		rel, ok := strings.CutSuffix(e.Name(), ".txt")
		if !ok {
			continue
		}
		b, err := keysFS.ReadFile(path.Join("keys", e.Name()))
		if err != nil {
			return nil, err
		}
		s := set{}
		sc := bufio.NewScanner(bytes.NewReader(b))
		for sc.Scan() {
			if l := strings.TrimSpace(sc.Text()); l != "" && !strings.HasPrefix(l, "#") {
				s[l] = true
			}
		}
		out[rel] = s
	}
	return out, nil
})

// Releases lists the releases with a key list, sorted by name.
func Releases() []string {
	all, _ := load()
	out := make([]string, 0, len(all))
	for r := range all {
		out = append(out, r)
	}
	sort.Strings(out)
	return out
}

func release(r string) (set, error) {
	all, err := load()
	if err != nil {
		return nil, err
	}
	s, ok := all[r]
	if !ok {
		return nil, fmt.Errorf("%w %q (known: %s)", ErrUnknownRelease, r, strings.Join(Releases(), ", "))
	}
	return s, nil
}

// UnknownAgentType is server.yaml's type for agents the server does not
// know (3 registers them as workload hosts); the misspelling is DeepFlow's.
const UnknownAgentType = "controller.trisolaris.trident-type-for-unkonw-vtap"

// Reads reports whether a release reads a dotted server.yaml key, e.g.
// UnknownAgentType.
func Reads(r, key string) (bool, error) {
	s, err := release(r)
	if err != nil {
		return false, err
	}
	return s.has(strings.Split(key, ".")), nil
}

// ReadByAll reports whether every release reads key.
func ReadByAll(releases []string, key string) (bool, error) {
	for _, r := range releases {
		ok, err := Reads(r, key)
		if err != nil || !ok {
			return false, err
		}
	}
	return len(releases) > 0, nil
}

// has matches a key, letting "*" in the list stand for any segment.
func (s set) has(segs []string) bool {
	var match func(prefix string, i int) bool
	match = func(prefix string, i int) bool {
		if i == len(segs) {
			return s[prefix]
		}
		for _, seg := range []string{segs[i], "*"} {
			p := seg
			if prefix != "" {
				p = prefix + "." + seg
			}
			if s[p] && match(p, i+1) {
				return true
			}
		}
		return false
	}
	return match("", 0)
}

// Keys lists the dotted key paths a server.yaml document sets, sections
// included, in document order. The keys of mappings inside lists sit
// below the list's key.
func Keys(doc []byte) ([]string, error) {
	var n yaml.Node
	if err := yaml.Unmarshal(doc, &n); err != nil {
		return nil, err
	}
	var out []string
	seen := map[string]bool{}
	var walk func(n *yaml.Node, prefix string)
	walk = func(n *yaml.Node, prefix string) {
		switch n.Kind {
		case yaml.DocumentNode, yaml.SequenceNode:
			for _, c := range n.Content {
				walk(c, prefix)
			}
		case yaml.AliasNode:
			walk(n.Alias, prefix)
		case yaml.MappingNode:
			for i := 0; i+1 < len(n.Content); i += 2 {
				p := n.Content[i].Value
				if prefix != "" {
					p = prefix + "." + p
				}
				if !seen[p] {
					seen[p] = true
					out = append(out, p)
				}
				walk(n.Content[i+1], p)
			}
		}
	}
	walk(&n, "")
	return out, nil
}

// Check lists every key of a server.yaml document that some of the
// releases do not read, naming them: "controller.election-namespace: not
// read by DeepFlow v6.6.8".
func Check(releases []string, doc []byte) error {
	keys, err := Keys(doc)
	if err != nil {
		return fmt.Errorf("server.yaml: %w", err)
	}
	var probs []string
	for _, k := range keys {
		var not []string
		for _, r := range releases {
			ok, err := Reads(r, k)
			if err != nil {
				return err
			}
			if !ok {
				not = append(not, r)
			}
		}
		if len(not) > 0 {
			probs = append(probs, fmt.Sprintf("%s: not read by DeepFlow %s", k, strings.Join(not, ", ")))
		}
	}
	if len(probs) > 0 {
		return fmt.Errorf("%w:\n  %s", ErrUnread, strings.Join(probs, "\n  "))
	}
	return nil
}
