package render

import (
	"context"
	"flag"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/deepflow-compose/deepflow-compose/settings"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/golden")

// seeded gives reproducible "generated" secrets.
func seeded() *rand.ChaCha8 {
	var seed [32]byte
	copy(seed[:], "deepflow-compose golden secrets")
	return rand.NewChaCha8(seed)
}

func prepare(t *testing.T, in settings.Inputs, out string) *Plan {
	t.Helper()
	if in.NodeIP == "" {
		in.NodeIP = "192.0.2.10"
	}
	p, err := Prepare(context.Background(), Options{Inputs: in, OutDir: out, Rand: seeded()})
	if err != nil {
		t.Fatalf("Prepare(%+v): %v", in, err)
	}
	return p
}

var goldenCases = []struct {
	name string
	in   settings.Inputs
}{
	{"bridge", settings.Inputs{Profile: "bridge"}},
	{"host-network", settings.Inputs{Profile: "host-network"}},
	{"host-network-exposed", settings.Inputs{Profile: "hostNetwork", Version: "v6.6",
		Sets: []string{"expose.datastores=true", "mysql.port=30131", "grafana.port=3001", "agent.groupID=g-TE8la86jlZ"}}},
	{"process-agent", settings.Inputs{Profile: "process-agent", Sets: []string{"agent.subnets=[100.42.32.0/24]"}}},
	{"process-agent-kubernetes", settings.Inputs{Profile: "process-agent", ValuesFiles: []string{"testdata/values/recipes.yaml"},
		Sets: []string{"network=host", "agent.kubernetes.clusterName=process-example", "agent.kubernetes.clusterID=d-J8Uv7wE0EC"}}},
	{"v6.5-process-agent-without-group", settings.Inputs{Profile: "process-agent", Version: "v6.5"}},
	{"offline-mirror", settings.Inputs{Profile: "host-network", Sets: []string{"offline=true", "registry=harbor.local/deepflow", "images.agent=harbor.local/agents/deepflow-agent:v7.1.2"}}},
	{"v6.5-recipes", settings.Inputs{Profile: "bridge", Version: "v6.5", ValuesFiles: []string{"testdata/values/recipes.yaml"}}},
}

// TestGolden compares every rendered file, byte for byte, with
// testdata/golden/<case>/. Run `go test ./render -update` and read the diff.
func TestGolden(t *testing.T) {
	for _, tc := range goldenCases {
		t.Run(tc.name, func(t *testing.T) {
			p := prepare(t, tc.in, "deepflow")
			dir := filepath.Join("testdata", "golden", tc.name)
			if *update {
				if err := os.RemoveAll(dir); err != nil {
					t.Fatal(err)
				}
			}
			want := map[string]bool{}
			for _, f := range p.Files {
				want[f.Path] = true
				path := filepath.Join(dir, filepath.FromSlash(f.Path))
				if *update {
					if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
						t.Fatal(err)
					}
					if err := os.WriteFile(path, f.Data, 0o644); err != nil {
						t.Fatal(err)
					}
					continue
				}
				golden, err := os.ReadFile(path)
				if err != nil {
					t.Fatalf("%v (run go test ./render -update)", err)
				}
				if string(golden) != string(f.Data) {
					t.Errorf("%s differs from %s; run go test ./render -update and read the diff", f.Path, path)
				}
			}
			// No golden file may be left over from a file we no longer write.
			var extra []string
			_ = filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
				if err == nil && !d.IsDir() {
					rel, _ := filepath.Rel(dir, path)
					if !want[filepath.ToSlash(rel)] {
						extra = append(extra, rel)
					}
				}
				return nil
			})
			sort.Strings(extra)
			if len(extra) > 0 {
				t.Errorf("golden files no longer rendered: %s", strings.Join(extra, ", "))
			}
		})
	}
}

// TestDeterministic: the same inputs give byte-identical output.
func TestDeterministic(t *testing.T) {
	for _, tc := range goldenCases {
		a, b := prepare(t, tc.in, "x"), prepare(t, tc.in, "x")
		for i := range a.Files {
			if string(a.Files[i].Data) != string(b.Files[i].Data) {
				t.Errorf("%s: %s differs between two renders of the same inputs", tc.name, a.Files[i].Path)
			}
		}
		ma, _ := a.manifest()
		mb, _ := b.manifest()
		if string(ma) != string(mb) {
			t.Errorf("%s: manifest differs between two renders", tc.name)
		}
	}
}
