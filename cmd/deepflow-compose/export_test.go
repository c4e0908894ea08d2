package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestExportHelmCLI(t *testing.T) {
	dir := t.TempDir()
	if _, errOut, code := runBinary(t, dir, "render", "--profile", "process-agent", "--node-ip", "192.0.2.10", "--version", "v7.0", "-o", "deepflow"); code != 0 {
		t.Fatalf("render exited %d: %s", code, errOut)
	}
	out, errOut, code := runBinary(t, dir, "export", "helm", "deepflow")
	if code != 0 {
		t.Fatalf("export exited %d: %s", code, errOut)
	}
	if !strings.HasPrefix(out, "Exported deepflow (DeepFlow v7.0) for chart version 7.0.014 into deepflow-helm:\n") {
		t.Errorf("unexpected output:\n%s", out)
	}
	st, err := os.Stat(filepath.Join(dir, "deepflow-helm", "values-secrets.yaml"))
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Errorf("values-secrets.yaml: %v %v", st, err)
	}
	values, err := os.ReadFile(filepath.Join(dir, "deepflow-helm", "values.yaml"))
	if err != nil || !strings.Contains(string(values), "# chart: deepflow/deepflow 7.0.014\n") {
		t.Errorf("values.yaml does not name its chart: %v\n%s", err, values)
	}

	for _, tc := range []struct {
		args []string
		code int
		msg  string
	}{
		{[]string{"export", "helm", "nothere"}, 1, "Error: nothere: not a directory rendered by deepflow-compose; render it first: deepflow-compose render -o nothere\n"},
		{[]string{"export", "helm", "deepflow", "--set", "mysql.port=1"}, 2, "give DIR or render inputs, not both"},
		{[]string{"export", "helm", "--node-ip", "192.0.2.10", "--version", "v6.5", "-o", "old"}, 1,
			"Error: no DeepFlow Helm chart for this version v6.5 (DeepFlow publishes charts for v6.6, v7.0, v7.1)\n"},
	} {
		_, errOut, code := runBinary(t, dir, tc.args...)
		if code != tc.code || !strings.Contains(errOut, tc.msg) {
			t.Errorf("%v: exit %d, %q; want %d, %q", tc.args, code, errOut, tc.code, tc.msg)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "old")); err == nil {
		t.Error("a failed export wrote its output directory")
	}
}
