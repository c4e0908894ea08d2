package helmexport

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestLintValues(t *testing.T) {
	for _, tc := range []struct {
		name, chart, data string
		want              []Finding
	}{
		{"known keys, open subtrees and Grafana's own", chartDeepFlow,
			"# chart: deepflow/deepflow 7.1.002\nglobal:\n  image:\n    repository: r\nconfigmap:\n  server.yaml:\n    controller:\n      genesis:\n        local_ip_ranges: [10.0.0.0/8]\n" +
				"grafana:\n  adminUser: admin\n  service:\n    nodePort: 30300\n  env:\n    ANYTHING: x\nserver:\n  podAnnotations:\n    a: b\n", nil},
		{"a typo", chartDeepFlow, "# chart: deepflow/deepflow 7.1.002\nglobal:\n  imagePullPolicy: IfNotPresent\n", []Finding{{
			Severity: SevError, File: "values.yaml", Line: 3, Rule: RuleUnknownKey,
			Message: "global.imagePullPolicy is not a value of deepflow/deepflow 7.1.002: Helm ignores it silently",
			Fix:     "remove it, or use the key the chart reads (helm show values deepflow/deepflow)"}}},
		{"the parent's dead cluster ID", chartDeepFlow, "# chart: deepflow/deepflow 7.0.014\ndeepflow-agent:\n  kubernetesClusterId: d-x\n", []Finding{{
			Severity: SevError, File: "values.yaml", Line: 3, Rule: RuleDeadKey,
			Message: "the deepflow chart lists deepflow-agent.kubernetesClusterId, but the agent subchart reads deepflowK8sClusterID: this value is never used",
			Fix:     "rename it to deepflow-agent.deepflowK8sClusterID"}}},
		{"deployMode in the agent chart", chartAgent, "# chart: deepflow/deepflow-agent 6.6.016\ndeployMode: process\nclusterNAME: c\n", []Finding{{
			Severity: SevError, File: "values.yaml", Line: 2, Rule: RuleDeadKey,
			Message: "deployMode was dropped from the deepflow-agent chart in 2023: Helm installs the default DaemonSet instead of a watcher",
			Fix:     "use deployComponent: [watcher] (or [daemonset, watcher])"}}},
		{"keys are case-sensitive", chartDeepFlow, "# chart: deepflow/deepflow 7.1.002\nmysql:\n  storageConfig:\n    hostpath: /data\n", []Finding{{
			Severity: SevError, File: "values.yaml", Line: 4, Rule: RuleUnknownKey,
			Message: "mysql.storageConfig.hostpath is not a value of deepflow/deepflow 7.1.002: Helm ignores it silently",
			Fix:     "remove it, or use the key the chart reads (helm show values deepflow/deepflow)"}}},
		{"no chart line: every version", chartDeepFlow, "stella-agent-ce:\n  image:\n    tag: latest\n\"server.yaml\": {}\n", []Finding{
			{Severity: SevWarning, File: "values.yaml", Rule: RuleNoChart,
				Message: "names no chart version (a \"# chart: deepflow/deepflow 7.1.002\" line); checked against every published version (v6.6, v7.0, v7.1)",
				Fix:     "export again, or add the line"},
			{Severity: SevError, File: "values.yaml", Line: 4, Rule: RuleUnknownKey,
				Message: "\"server.yaml\" is not a value of every published version (v6.6, v7.0, v7.1): Helm ignores it silently",
				Fix:     "remove it, or use the key the chart reads (helm show values deepflow/deepflow)"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := LintValues("values.yaml", tc.chart, []byte(tc.data))
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got  %+v\nwant %+v", got, tc.want)
			}
		})
	}
}

func TestLintDir(t *testing.T) {
	dir := t.TempDir()
	if IsValuesDir(dir) {
		t.Error("an empty directory is taken for an export")
	}
	if _, err := Lint(dir); err == nil || !strings.Contains(err.Error(), "not an exported values directory") {
		t.Errorf("empty directory: %v", err)
	}
	if err := os.WriteFile(filepath.Join(dir, SecretsFile), []byte("# chart: deepflow/deepflow 7.1.002\nglobal:\n  password:\n    mysql: x\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if !IsValuesDir(dir) {
		t.Error("a directory holding values-secrets.yaml with its chart line is not taken for an export")
	}
	got, err := Lint(dir)
	if err != nil {
		t.Fatal(err)
	}
	want := []Finding{{Severity: SevWarning, File: SecretsFile, Rule: RuleSecrets,
		Message: "values-secrets.yaml holds passwords and is readable by others (mode 0644)", Fix: "chmod 600 values-secrets.yaml"}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %+v\nwant %+v", got, want)
	}
}
