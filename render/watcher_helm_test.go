package render

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/deepflow-compose/deepflow-compose/internal/helmtest"
	"github.com/deepflow-compose/deepflow-compose/settings"
	"github.com/deepflow-compose/deepflow-compose/topology"
)

// agent/values-watcher.yaml, given to DeepFlow's own deepflow-agent chart,
// installs one watcher Deployment and no DaemonSet, wired to this server.
func TestValuesWatcherWithTheAgentChart(t *testing.T) {
	for _, v := range []string{"v6.6", "v7.0", "v7.1"} {
		t.Run(v, func(t *testing.T) {
			chart := helmtest.AgentChart(t, v)
			p := prepare(t, settings.Inputs{Profile: "process-agent", Version: v, Sets: []string{
				"agent.kubernetes.clusterName=k8s-east", "agent.kubernetes.clusterID=d-J8Uv7wE0EC", "agent.groupID=g-TE8la86jlZ"}}, "x")
			f := p.File(topology.AgentWatcherValues)
			if f == nil {
				t.Fatal("no agent/values-watcher.yaml")
			}
			values := filepath.Join(t.TempDir(), "values-watcher.yaml")
			if err := os.WriteFile(values, f.Data, 0o644); err != nil {
				t.Fatal(err)
			}
			res, err := helmtest.Template(context.Background(), chart, "deepflow-agent", "deepflow", values)
			if err != nil {
				t.Fatal(err)
			}
			if ds := res.Kind("DaemonSet"); len(ds) != 0 {
				t.Errorf("the chart installs DaemonSet %s: the nodes would run container agents beside the process ones", ds[0].Name)
			}
			deps := res.Kind("Deployment")
			if len(deps) != 1 {
				t.Fatalf("%d Deployments, want the one watcher", len(deps))
			}
			w := deps[0]
			c, ok := w.Containers()["deepflow-agent"]
			if !ok {
				t.Fatalf("watcher %s has no deepflow-agent container: %v", w.Name, w.Containers())
			}
			if got, want := c["image"], p.Images.Agent; got != want {
				t.Errorf("watcher image %v, want %s", got, want)
			}
			cm := res.Get("ConfigMap", "deepflow-agent")
			if cm == nil {
				t.Fatal("no deepflow-agent ConfigMap")
			}
			raw, err := helmtest.Path(cm.Doc, "data", "deepflow-agent.yaml")
			if err != nil {
				t.Fatal(err)
			}
			cfg := map[string]any{}
			if err := yamlUnmarshalString(raw, &cfg); err != nil {
				t.Fatal(err)
			}
			ctl := p.Topology.AgentPorts().Controller
			want := map[string]any{"controller-ips": []any{"192.0.2.10"}, "controller-port": ctl,
				"kubernetes-cluster-id": "d-J8Uv7wE0EC", "kubernetes-cluster-name": "k8s-east", "vtap-group-id-request": "g-TE8la86jlZ"}
			for k, w := range want {
				if got := cfg[k]; !equalYAML(got, w) {
					t.Errorf("deepflow-agent.yaml %s = %#v, want %#v", k, got, w)
				}
			}
		})
	}
}
