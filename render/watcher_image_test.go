package render

import (
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/deepflow-compose/deepflow-compose/settings"
	"github.com/deepflow-compose/deepflow-compose/topology"
)

// The agent chart joins image.repository and image.tag with ":", so the
// pair must give back the agent image, a digest pin included.
func TestValuesWatcherImageJoinsBack(t *testing.T) {
	digest := "mirror.local/deepflow-agent@sha256:" + strings.Repeat("ab", 32)
	for _, img := range []string{"", "mirror.local:5000/deepflow-agent:v7.1-x", digest} {
		sets := []string{"agent.kubernetes.clusterName=k8s-east"}
		if img != "" {
			sets = append(sets, "images.agent="+img)
		}
		p := prepare(t, settings.Inputs{Profile: "process-agent", Sets: sets}, "")
		var v struct {
			Image struct{ Repository, Tag string }
		}
		if err := yaml.Unmarshal(p.File(topology.AgentWatcherValues).Data, &v); err != nil {
			t.Fatal(err)
		}
		if got := v.Image.Repository + ":" + v.Image.Tag; got != p.Images.Agent {
			t.Errorf("repository:tag = %s, want %s", got, p.Images.Agent)
		}
	}
}
