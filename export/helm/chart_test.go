package helmexport

import (
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/deepflow-compose/deepflow-compose/catalog"
	"github.com/deepflow-compose/deepflow-compose/internal/helmtest"
)

var update = flag.Bool("update", false, "rewrite the key files and golden files")

// keySubcharts are the subcharts whose values the export may set, under
// their name in the parent's values. byconity is left out: the export
// never enables it.
var keySubcharts = []string{"clickhouse", "mysql", "deepflow-agent", "stella-agent-ce"}

// The embedded key files are exactly what the reference charts' values
// files hold; `go test ./export/helm -update` rewrites them.
func TestKeyFilesMatchReference(t *testing.T) {
	ref := helmtest.ChartsDir(t)
	for _, v := range ChartVersions() {
		dir := filepath.Join(ref, v, "deepflow")
		read := func(p string) []byte {
			b, err := os.ReadFile(filepath.Join(dir, p))
			if err != nil {
				t.Fatal(err)
			}
			return b
		}
		derive := func(prefix []string, p string) []string {
			ks, err := DeriveKeys(prefix, read(p))
			if err != nil {
				t.Fatalf("%s %s: %v", v, p, err)
			}
			return ks
		}
		parent := [][]string{derive(nil, "values.yaml")}
		for _, sub := range keySubcharts {
			parent = append(parent, derive([]string{sub}, filepath.Join("charts", sub, "values.yaml")))
		}
		files := map[string][]byte{
			chartDeepFlow: KeyFile("deepflow chart "+Charts[v].Version+": values.yaml and charts/{"+strings.Join(keySubcharts, ",")+"}/values.yaml", parent...),
			chartAgent:    KeyFile("deepflow-agent chart "+Charts[v].Version+": values.yaml", derive(nil, "charts/deepflow-agent/values.yaml")),
		}
		for chart, want := range files {
			path := filepath.Join("keys", v+"-"+chart+".txt")
			if *update {
				if err := os.WriteFile(path, want, 0o644); err != nil {
					t.Fatal(err)
				}
				continue
			}
			got, err := keysFS.ReadFile("keys/" + v + "-" + chart + ".txt")
			if err != nil || string(got) != string(want) {
				t.Errorf("%s is stale (%v): run go test ./export/helm -update", path, err)
			}
		}
	}
}

// Every fact in Charts is what the reference chart says.
func TestChartFacts(t *testing.T) {
	ref := helmtest.ChartsDir(t)
	for _, v := range ChartVersions() {
		c := Charts[v]
		dir := filepath.Join(ref, v, "deepflow")
		var meta struct {
			Version string `yaml:"version"`
		}
		for _, chart := range []string{"Chart.yaml", "charts/deepflow-agent/Chart.yaml"} {
			b, err := os.ReadFile(filepath.Join(dir, chart))
			if err != nil {
				t.Fatal(err)
			}
			if err := yaml.Unmarshal(b, &meta); err != nil {
				t.Fatal(err)
			}
			if meta.Version != c.Version {
				t.Errorf("%s %s: version %s, Charts says %s", v, chart, meta.Version, c.Version)
			}
		}
		vals, err := os.ReadFile(filepath.Join(dir, "values.yaml"))
		if err != nil {
			t.Fatal(err)
		}
		for _, want := range []string{
			"/deepflowio-init-grafana:" + c.GrafanaInitTag + `"`,
			"/deepflowio-init-grafana-ds-dh:" + c.GrafanaInitDsDhTag + `"`,
			"{{ else }}" + strconv.Itoa(c.MySQLPort) + "{{end}}",
		} {
			if !strings.Contains(string(vals), want) {
				t.Errorf("%s values.yaml does not contain %q", v, want)
			}
		}
		cnf, err := os.ReadFile(filepath.Join(dir, "charts/mysql/templates/configmap.yaml"))
		if err != nil {
			t.Fatal(err)
		}
		if !regexp.MustCompile(`(?m)^\s*port\s*=\s*` + strconv.Itoa(c.MySQLPort) + `\s*$`).Match(cnf) {
			t.Errorf("%s: the mysql subchart's my.cnf does not fix port %d", v, c.MySQLPort)
		}
		for _, p := range []int{c.ClickHouseTCPPort, c.ClickHouseHTTPPort, c.ClickHouseInterserverPort} {
			if !strings.Contains(string(vals), "port: "+strconv.Itoa(p)+"\n") {
				t.Errorf("%s: values.yaml names no ClickHouse port %d", v, p)
			}
		}
		// The catalog pins the images this chart's values pin.
		r, err := catalog.Lookup(v)
		if err != nil {
			t.Fatal(err)
		}
		if c.GrafanaInitTag != r.GrafanaInit || c.GrafanaInitDsDhTag != r.GrafanaInitDsDh {
			t.Errorf("%s: chart init images %s/%s, catalog %s/%s", v, c.GrafanaInitTag, c.GrafanaInitDsDhTag, r.GrafanaInit, r.GrafanaInitDsDh)
		}
	}
}
