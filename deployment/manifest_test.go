package deployment

import "testing"

func TestManifestDrift(t *testing.T) {
	m := &Manifest{Files: map[string]ManifestFile{"a.yaml": {SHA256: Sum([]byte("x: 1\n"))}}}
	for _, c := range []struct {
		m          *Manifest
		path, data string
		want       string
	}{
		{m, "a.yaml", "x: 1\n", ""},
		{m, "a.yaml", "x: 2\n", "changed by hand since the last render"},
		{m, "b.yaml", "x: 1\n", "not written by deepflow-compose"},
		{nil, "a.yaml", "x: 1\n", "not written by deepflow-compose"},
	} {
		if got := c.m.Drift(c.path, []byte(c.data)); got != c.want {
			t.Errorf("Drift(%s, %q) = %q, want %q", c.path, c.data, got, c.want)
		}
	}
}
