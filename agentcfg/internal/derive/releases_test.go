package derive

import (
	"strings"
	"testing"

	"github.com/deepflow-compose/deepflow-compose/agentcfg/internal/schema"
)

func TestReleases(t *testing.T) {
	tmpl := func(key string) []byte {
		return []byte("inputs:\n  # type: bool\n  # upgrade_from: old_" + key + "\n  " + key + ": false\n")
	}
	out, err := Releases(map[string][]byte{"v1.0.yaml": tmpl("a"), "v1-branch.yaml": tmpl("b"), "README.md": []byte("x")})
	if err != nil {
		t.Fatal(err)
	}
	if len(out) != 2 {
		t.Fatalf("got %d schemas, want 2", len(out))
	}
	for name, key := range map[string]string{"v1.0.json": "a", "v1-branch.json": "b"} {
		f, err := schema.Parse(out[name])
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		src := "templates/" + strings.TrimSuffix(name, ".json") + ".yaml"
		if f.Source != src || f.Keys["inputs."+key] == nil || f.Keys["inputs."+key].Type != schema.Bool ||
			f.Keys["inputs."+key].From[0] != "old_"+key || len(f.Keys) != 2 {
			t.Errorf("%s: source %s, keys %v", name, f.Source, f.Paths())
		}
	}
	_, err = Releases(map[string][]byte{"v2.yaml": []byte("- not a mapping\n")})
	if err == nil || err.Error() != "templates/v2.yaml: agent-group-config-template.yaml: top level is not a mapping" {
		t.Errorf("bad template: %v", err)
	}
	if _, err := Releases(map[string][]byte{"notes.md": nil}); err == nil || err.Error() != "templates: no <release>.yaml template" {
		t.Errorf("no template: %v", err)
	}
}
