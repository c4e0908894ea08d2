package helmexport

import (
	"bytes"
	"embed"
	"errors"
	"fmt"
	"sort"
	"strings"

	"gopkg.in/yaml.v3"
)

// ChartRepo is where DeepFlow publishes its charts; ChartRepoMirror serves
// the same index from mainland China.
const (
	ChartRepoName   = "deepflow"
	ChartRepo       = "https://deepflowio.github.io/deepflow"
	ChartRepoMirror = "https://deepflow-ce.oss-cn-beijing.aliyuncs.com/chart/stable"
	ServerChart     = "deepflow/deepflow"
	AgentChart      = "deepflow/deepflow-agent"
)

// Chart holds the facts of DeepFlow's chart at one release line that the
// export depends on. Tests check each against the reference chart.
type Chart struct {
	// Version of deepflow/deepflow and deepflow/deepflow-agent (they are
	// released together) whose images match the catalog's pins.
	Version string
	// GrafanaInitTag is the tag the chart hard-codes for the
	// deepflowio-init-grafana init container.
	GrafanaInitTag string
	// GrafanaInitDsDhTag is the same for deepflowio-init-grafana-ds-dh.
	GrafanaInitDsDhTag string
	// MySQLPort is the port the chart fixes for MySQL (my.cnf, service,
	// server.yaml and grafana.ini all name it literally).
	MySQLPort int
	// ClickHouse ports, fixed in the chart's server.yaml and service.
	ClickHouseTCPPort, ClickHouseHTTPPort, ClickHouseInterserverPort int
}

// Charts are the release lines DeepFlow publishes charts for.
var Charts = map[string]Chart{
	"v6.6": {Version: "6.6.016", GrafanaInitTag: "v6.6.8", GrafanaInitDsDhTag: "latest", MySQLPort: 30130,
		ClickHouseTCPPort: 9000, ClickHouseHTTPPort: 8123, ClickHouseInterserverPort: 9009},
	"v7.0": {Version: "7.0.014", GrafanaInitTag: "v7.0", GrafanaInitDsDhTag: "latest", MySQLPort: 30130,
		ClickHouseTCPPort: 9000, ClickHouseHTTPPort: 8123, ClickHouseInterserverPort: 9009},
	"v7.1": {Version: "7.1.002", GrafanaInitTag: "v7.1", GrafanaInitDsDhTag: "latest", MySQLPort: 30130,
		ClickHouseTCPPort: 9000, ClickHouseHTTPPort: 8123, ClickHouseInterserverPort: 9009},
}

// ErrUnsupportedVersion is returned for a release line DeepFlow publishes
// no chart for.
var ErrUnsupportedVersion = errors.New("no DeepFlow Helm chart for this version")

// ChartVersions lists the release lines with a chart, oldest first.
func ChartVersions() []string {
	var out []string
	for v := range Charts {
		out = append(out, v)
	}
	sort.Strings(out)
	return out
}

// LookupChart finds the chart of a release line.
func LookupChart(version string) (Chart, error) {
	c, ok := Charts[version]
	if !ok {
		return Chart{}, fmt.Errorf("%w %s (DeepFlow publishes charts for %s)",
			ErrUnsupportedVersion, version, strings.Join(ChartVersions(), ", "))
	}
	return c, nil
}

// The Kubernetes API server's default service-node-port-range. A node port
// outside it cannot be asked of a NodePort service.
const (
	NodePortMin = 30000
	NodePortMax = 32767
)

func nodePortOK(p int) bool { return p >= NodePortMin && p <= NodePortMax }

// Value key paths of each chart, derived from the reference charts'
// values.yaml files (the parent's and its subcharts'). One path a line,
// segments separated by tabs; a last segment "*" means the chart leaves
// the map open (an empty map such as podAnnotations: {}).
//
//go:embed keys/*.txt
var keysFS embed.FS

// Chart names, as the key files name them.
const (
	chartDeepFlow = "deepflow"
	chartAgent    = "deepflow-agent"
)

// openKey marks a path below which any key is accepted.
const openKey = "*"

// keySet is the set of value paths a chart reads.
type keySet map[string]bool

func joinPath(p []string) string { return strings.Join(p, "\t") }

func loadKeys(version, chart string) (keySet, error) {
	b, err := keysFS.ReadFile("keys/" + version + "-" + chart + ".txt")
	if err != nil {
		return nil, fmt.Errorf("%w %s", ErrUnsupportedVersion, version)
	}
	ks := keySet{}
	for _, l := range strings.Split(string(b), "\n") {
		if l != "" && !strings.HasPrefix(l, "#") {
			ks[l] = true
		}
	}
	return ks, nil
}

// has says whether a values path is one the chart reads: listed itself,
// or below an open map.
func (ks keySet) has(p []string) bool {
	if ks[joinPath(p)] {
		return true
	}
	for i := len(p) - 1; i >= 0; i-- {
		if ks[joinPath(append(append([]string{}, p[:i]...), openKey))] {
			return true
		}
	}
	return false
}

// DeriveKeys lists every key path of a values.yaml document under prefix,
// in the key files' format. Lists are leaves; empty maps are open.
func DeriveKeys(prefix []string, values []byte) ([]string, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(values, &doc); err != nil {
		return nil, err
	}
	var out []string
	if len(doc.Content) == 0 {
		return nil, nil
	}
	var walk func(p []string, n *yaml.Node)
	walk = func(p []string, n *yaml.Node) {
		if n.Kind == yaml.AliasNode {
			n = n.Alias
		}
		if n.Kind != yaml.MappingNode {
			return
		}
		if len(n.Content) == 0 && len(p) > 0 {
			out = append(out, joinPath(append(append([]string{}, p...), openKey)))
			return
		}
		for i := 0; i+1 < len(n.Content); i += 2 {
			k := n.Content[i]
			if k.Value == "<<" { // a merge key: its map's keys are ours
				walk(p, n.Content[i+1])
				continue
			}
			kp := append(append([]string{}, p...), k.Value)
			out = append(out, joinPath(kp))
			walk(kp, n.Content[i+1])
		}
	}
	walk(prefix, doc.Content[0])
	return out, nil
}

// KeyFile assembles a key file from derived paths: sorted, unique, with a
// header naming its source.
func KeyFile(header string, paths ...[]string) []byte {
	seen := map[string]bool{}
	var all []string
	for _, ps := range paths {
		for _, p := range ps {
			if !seen[p] {
				seen[p] = true
				all = append(all, p)
			}
		}
	}
	sort.Strings(all)
	var b bytes.Buffer
	b.WriteString("# " + header + "\n")
	for _, p := range all {
		b.WriteString(p + "\n")
	}
	return b.Bytes()
}
