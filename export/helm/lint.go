package helmexport

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"

	"github.com/deepflow-compose/deepflow-compose/check"
	"gopkg.in/yaml.v3"

	"github.com/deepflow-compose/deepflow-compose/internal/limits"
)

// Finding is one problem in an exported values directory: check's own
// findings, so `check` reports an export as it reports a deployment.
type Finding = check.Finding

// Severities, as check has them.
const (
	SevError   = check.Error
	SevWarning = check.Warning
)

// Lint rules.
const (
	RuleUnknownKey = "helm-unknown-key"
	RuleDeadKey    = "helm-dead-key"
	RuleNoChart    = "helm-chart-version"
	RuleSecrets    = "helm-secrets-mode"
)

// GrafanaUpstreamKeys are keys of Grafana's own chart (grafana/grafana
// 7.x, the dependency DeepFlow's chart pulls in) that DeepFlow's values.yaml
// does not list but the export sets. DeepFlow's chart cannot be rendered
// with Grafana's here, so these come from Grafana's chart documentation.
var GrafanaUpstreamKeys = [][]string{
	{"grafana", "adminUser"},       // default admin
	{"grafana", "service", "port"}, // the service port
	{"grafana", "service", "nodePort"},
}

// openSubtrees are maps whose keys the chart passes through as they are:
// server.yaml and grafana.ini are DeepFlow's and Grafana's own files, env
// is the Grafana container's environment.
var openSubtrees = [][]string{
	{"configmap", "server.yaml"},
	{"configmap", "app.yaml"},
	{"grafana", "grafana.ini"},
	{"grafana", "env"},
}

// deadKeys are keys that look right but that no template reads.
var deadKeys = map[string]struct{ message, fix string }{
	joinPath([]string{"deepflow-agent", "kubernetesClusterId"}): {
		"the deepflow chart lists deepflow-agent.kubernetesClusterId, but the agent subchart reads deepflowK8sClusterID: this value is never used",
		"rename it to deepflow-agent.deepflowK8sClusterID"},
	joinPath([]string{"deployMode"}): {
		"deployMode was dropped from the deepflow-agent chart in 2023: Helm installs the default DaemonSet instead of a watcher",
		"use deployComponent: [watcher] (or [daemonset, watcher])"},
	joinPath([]string{"deepflow-agent", "deployMode"}): {
		"deployMode was dropped from the deepflow-agent chart in 2023: Helm installs the default DaemonSet instead of a watcher",
		"use deepflow-agent.deployComponent: [watcher] (or [daemonset, watcher])"},
}

var chartLineRE = regexp.MustCompile(`(?m)^# chart: (\S+) (\S+)\s*$`)

// Lint reviews an exported values directory: every key of values.yaml and
// values-secrets.yaml must be one deepflow/deepflow (or a subchart, or
// Grafana's chart) reads, every key of values-agent.yaml one
// deepflow/deepflow-agent reads, at the chart version the file names in
// its "# chart:" line. Files that are absent are skipped; it returns an
// error only when no file can be read.
func Lint(dir string) ([]Finding, error) {
	var out []Finding
	read := 0
	for _, f := range []struct{ name, chart string }{
		{ValuesFile, chartDeepFlow}, {SecretsFile, chartDeepFlow}, {AgentValuesFile, chartAgent},
	} {
		path := filepath.Join(dir, f.name)
		data, err := limits.ReadFile(path, limits.Config)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, err
		}
		read++
		fs, err := LintValues(f.name, f.chart, data)
		if err != nil {
			return nil, err
		}
		out = append(out, fs...)
		if f.name == SecretsFile {
			if st, err := os.Stat(path); err == nil && st.Mode().Perm()&0o077 != 0 {
				out = append(out, Finding{Severity: SevWarning, File: f.name, Rule: RuleSecrets,
					Message: fmt.Sprintf("%s holds passwords and is readable by others (mode %04o)", f.name, st.Mode().Perm()),
					Fix:     "chmod 600 " + f.name})
			}
		}
	}
	if read == 0 {
		return nil, fmt.Errorf("%s: none of %s, %s, %s: not an exported values directory (deepflow-compose export helm writes one)",
			dir, ValuesFile, SecretsFile, AgentValuesFile)
	}
	return out, nil
}

// LintValues reviews one values file for chart ("deepflow" or
// "deepflow-agent"); name is how findings name the file.
func LintValues(name, chart string, data []byte) ([]Finding, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return []Finding{{Severity: SevError, File: name, Rule: RuleUnknownKey,
			Message: "not valid YAML: " + err.Error(), Fix: "fix the syntax, or export again"}}, nil
	}
	var out []Finding
	versions := ChartVersions()
	label := "every published version (" + strings.Join(versions, ", ") + ")"
	if m := chartLineRE.FindSubmatch(data); m != nil {
		v := ""
		for rel, c := range Charts {
			if c.Version == string(m[2]) {
				v = rel
			}
		}
		if v == "" {
			out = append(out, Finding{Severity: SevWarning, File: name, Line: lineOf(data, m[0]), Rule: RuleNoChart,
				Message: fmt.Sprintf("chart version %s is not one this tool knows the keys of; checked against %s", m[2], label),
				Fix:     "export again from a deployment of " + strings.Join(versions, ", ")})
		} else {
			versions = []string{v}
			label = fmt.Sprintf("%s %s", m[1], m[2])
		}
	} else {
		out = append(out, Finding{Severity: SevWarning, File: name, Rule: RuleNoChart,
			Message: "names no chart version (a \"# chart: deepflow/deepflow 7.1.002\" line); checked against " + label,
			Fix:     "export again, or add the line"})
	}
	sets := make([]keySet, 0, len(versions))
	for _, v := range versions {
		ks, err := loadKeys(v, chart)
		if err != nil {
			return nil, err
		}
		for _, k := range GrafanaUpstreamKeys {
			ks[joinPath(k)] = true
		}
		for _, k := range openSubtrees {
			ks[joinPath(append(append([]string{}, k...), openKey))] = true
		}
		sets = append(sets, ks)
	}
	known := func(p []string) bool {
		for _, ks := range sets {
			if ks.has(p) {
				return true
			}
		}
		return false
	}
	if len(doc.Content) == 0 {
		return out, nil
	}
	var walk func(p []string, n *yaml.Node)
	walk = func(p []string, n *yaml.Node) {
		if n.Kind != yaml.MappingNode {
			return
		}
		for i := 0; i+1 < len(n.Content); i += 2 {
			k := n.Content[i]
			kp := append(append([]string{}, p...), k.Value)
			dotted := dottedPath(kp)
			if d, ok := deadKeys[joinPath(kp)]; ok {
				out = append(out, Finding{Severity: SevError, File: name, Line: k.Line, Rule: RuleDeadKey, Message: d.message, Fix: d.fix})
				continue
			}
			if !known(kp) {
				out = append(out, Finding{Severity: SevError, File: name, Line: k.Line, Rule: RuleUnknownKey,
					Message: fmt.Sprintf("%s is not a value of %s: Helm ignores it silently", dotted, label),
					Fix:     "remove it, or use the key the chart reads (helm show values " + chartRef(chart) + ")"})
				continue // nothing below an unknown key can be known
			}
			walk(kp, n.Content[i+1])
		}
	}
	walk(nil, doc.Content[0])
	sort.SliceStable(out, func(i, j int) bool { return out[i].Line < out[j].Line })
	return out, nil
}

func chartRef(chart string) string {
	if chart == chartAgent {
		return AgentChart
	}
	return ServerChart
}

// dottedPath prints a key path the way --set names it, quoting keys that
// hold a dot.
func dottedPath(p []string) string {
	parts := make([]string, len(p))
	for i, k := range p {
		if strings.ContainsAny(k, ". ") {
			k = `"` + k + `"`
		}
		parts[i] = k
	}
	return strings.Join(parts, ".")
}

func lineOf(data, match []byte) int {
	i := strings.Index(string(data), string(match))
	if i < 0 {
		return 0
	}
	return strings.Count(string(data[:i]), "\n") + 1
}

// IsValuesDir says whether dir holds an export's values files, so check
// can tell it from a deployment directory.
func IsValuesDir(dir string) bool {
	for _, f := range []string{ValuesFile, SecretsFile, AgentValuesFile} {
		b, err := limits.ReadFile(filepath.Join(dir, f), limits.Config)
		if err == nil && chartLineRE.Match(firstLines(b, 3)) {
			return true
		}
	}
	return false
}
