// Package agentcfg knows DeepFlow's agent-group-config: its two layouts
// (Legacy for v6.5, Sectioned for v6.6+), a schema for each derived from
// DeepFlow's reference files and embedded in the binary, a validator as
// strict as deepflow-server (every key exists, every scalar keeps the
// reference's YAML type) plus enums and ranges, and the agent-group
// recipes of DeepFlow's advanced-configuration guide.
//
// Render builds a group config:
//
//	cfg, err := agentcfg.Render(agentcfg.Sectioned, agentcfg.Input{
//		GroupID:       settings.Agent.GroupID, // required for Legacy
//		Communication: agentcfg.Communication{ControllerIP: ip, ControllerPort: 30035, IngesterIP: ip, IngesterPort: 30033},
//		WorkloadResourceSyncEnabled: processAgent,
//		Group:         settings.Agent.Group,
//	})
//
// Recipe values are written once, in v6.5 key paths; the v6.6+ key is the
// one whose upgrade_from names that v6.5 key in DeepFlow's template.
//
// Regenerate the embedded schemas after the reference changes with
// go generate ./agentcfg (a test fails until they match).
package agentcfg
