package helmtest

import (
	"context"
	"testing"
)

// The reference chart with no values renders the 24 objects its README
// counts, and the agent DaemonSet is there by default.
func TestTemplateDefaults(t *testing.T) {
	for _, v := range []string{"v6.6", "v7.0", "v7.1"} {
		t.Run(v, func(t *testing.T) {
			res, err := Template(context.Background(), DeepFlowChart(t, v), "deepflow", "deepflow")
			if err != nil {
				t.Fatal(err)
			}
			if v == "v7.1" && len(res.Objects) != 24 {
				for _, o := range res.Objects {
					t.Logf("%s %s (%s)", o.Kind, o.Name, o.Source)
				}
				t.Errorf("%d objects, want the 24 the reference README counts", len(res.Objects))
			}
			if res.Get("DaemonSet", "deepflow-agent") == nil {
				t.Error("no deepflow-agent DaemonSet")
			}
			if res.Get("Deployment", "deepflow-server") == nil {
				t.Error("no deepflow-server Deployment")
			}
		})
	}
}
