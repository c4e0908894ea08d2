// Package agentcfg knows DeepFlow's agent-group-config: its two layouts
// (Legacy for v6.5, Sectioned for v6.6+), a schema for each derived from
// DeepFlow's reference files and embedded in the binary, a validator as
// strict as deepflow-server (every key exists, every scalar keeps the
// reference's YAML type) plus enums and ranges, and the agent-group
// recipes of DeepFlow's advanced-configuration guide.
//
// RenderReleases builds a group config for the releases an image tag may pull:
//
//	cfg, err := agentcfg.RenderReleases([]string{"v7.1.8", "v7.1-branch"}, agentcfg.Input{
//		GroupID:       settings.Agent.GroupID, // required for Legacy
//		Communication: agentcfg.Communication{ControllerIP: ip, ControllerPort: 30035, IngesterIP: ip, IngesterPort: 30033},
//		WorkloadResourceSyncEnabled: true, // agents on plain hosts, where every release accepts the key
//		Group:         settings.Agent.Group,
//	})
//
// Recipe values are written once, in v6.5 key paths; the v6.6+ key is the
// one whose upgrade_from names that v6.5 key in DeepFlow's template.
//
// Keys were added within release lines, and each server validates against
// its own template, so a config is held to the exact releases it will run
// against: schemas/<release>.json is derived from each release's template
// (v6.6.8, v6.6.9, v7.0.9, v7.1.8 and the branch heads), and
// RenderReleases / ValidateReleases resolve recipe keys in, and check
// against, every release a (possibly moving) image tag may pull, naming
// the release in each error. Render and Validate use the reference
// template (DeepFlow's main) and v6.5's example.
//
// Regenerate the embedded schemas after the reference changes with
// go generate ./agentcfg (a test fails until they match).
package agentcfg
