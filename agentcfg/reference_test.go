package agentcfg

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/deepflow-compose/deepflow-compose/agentcfg/internal/derive"
	"github.com/deepflow-compose/deepflow-compose/agentcfg/internal/schema"
	"github.com/deepflow-compose/deepflow-compose/internal/reference"
)

// referenceDir is DeepFlow's agent reference files beside the clone.
func referenceDir(t *testing.T) string {
	return reference.Dir(t, "deepflow-agent", derive.TemplateName)
}

func readRef(t *testing.T, ref, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(ref, name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// The embedded schemas are exactly what the generator derives from the
// reference today: regenerate (go generate ./agentcfg) when this fails.
func TestEmbeddedSchemasMatchReference(t *testing.T) {
	ref := referenceDir(t)
	files, err := derive.Files(readRef(t, ref, derive.TemplateName), readRef(t, ref, derive.ExampleName))
	if err != nil {
		t.Fatal(err)
	}
	for name, embedded := range map[string][]byte{derive.SectionedFile: sectionedJSON, derive.LegacyFile: legacyJSON} {
		if !bytes.Equal(files[name], embedded) {
			t.Errorf("%s is stale: run go generate ./agentcfg", name)
		}
	}
}

// Every v6.6+ config we generate passes a schema parsed freshly from the
// reference template, not only the embedded one; likewise for v6.5.
func TestOutputsValidateAgainstFreshReference(t *testing.T) {
	ref := referenceDir(t)
	template := readRef(t, ref, derive.TemplateName)
	fresh := map[Format]*schema.File{}
	var err error
	if fresh[Sectioned], err = derive.Sectioned(template); err != nil {
		t.Fatal(err)
	}
	if fresh[Legacy], err = derive.Legacy(readRef(t, ref, derive.ExampleName), template); err != nil {
		t.Fatal(err)
	}
	outputs := map[string][]byte{}
	for i, r := range recipes {
		for _, f := range []Format{Legacy, Sectioned} {
			out, err := Render(f, recipeInput(t, i))
			if err != nil {
				t.Fatal(err)
			}
			outputs[r.name+"."+f.String()] = out
		}
	}
	goldens, _ := filepath.Glob(filepath.Join("testdata", "*.*.yaml"))
	for _, g := range goldens {
		if strings.HasSuffix(g, ".clusterrole.yaml") {
			continue
		}
		b, err := os.ReadFile(g)
		if err != nil {
			t.Fatal(err)
		}
		outputs[filepath.Base(g)] = b
	}
	if len(outputs) < 2*len(recipes) {
		t.Fatalf("only %d outputs to check", len(outputs))
	}
	for name, out := range outputs {
		f := Sectioned
		if strings.Contains(name, ".legacy") {
			f = Legacy
		}
		if err := validateWith(fresh[f], f == Legacy, out); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
}

// The reference's own values pass its derived schema, except where the
// template contradicts itself (kept strict on purpose: DeepFlow documents
// that range).
func TestReferenceValidatesItself(t *testing.T) {
	ref := referenceDir(t)
	upstreamQuirks := map[string]error{
		"processors.flow_log.tunning.flow_aggregator_queue_size": ErrRange, // 65535, range [65536, 64000000]
	}
	err := Validate(Sectioned, readRef(t, ref, derive.TemplateName))
	var es Errors
	if err != nil && !errors.As(err, &es) {
		t.Fatal(err)
	}
	for _, e := range es {
		if want, ok := upstreamQuirks[e.Path]; !ok || !errors.Is(e, want) {
			t.Errorf("template line %d: %v", e.Line, e)
		}
	}
	// The v6.5 example with every commented-out key switched on.
	if err := Validate(Legacy, derive.Uncomment(readRef(t, ref, derive.ExampleName))); err != nil {
		t.Errorf("uncommented v6.5 example: %v", err)
	}
}

// What the recipes rely on exists in the reference with one upgrade each.
func TestRecipeKeysInReference(t *testing.T) {
	leg, _ := schemaFor(Legacy)
	sec, _ := schemaFor(Sectioned)
	up := upgradeTargets(sec)
	for _, k := range []string{keyControllerIP, keyControllerPort, keyIngesterIP, keyIngesterPort, keyMaxMemory,
		keyThreads, keyCaptureRegex, keyTapMode, keyPlatform, keySrcInterfaces, keyK8sResources, keyProcEnabled,
		keyTaggedOnly, keySocketSync, keyTagExec, keyTagExecUser, keyProcRegex,
		keyProcRegex + ".match-regex", keyProcRegex + ".match-type", keyProcRegex + ".action", keyProcRegex + ".rewrite-name",
		keyK8sResources + ".name", keyK8sResources + ".group", keyK8sResources + ".version", keyK8sResources + ".disabled"} {
		if leg.Keys[k] == nil {
			t.Errorf("%s is not a v6.5 key", k)
		}
		if len(up[k]) != 1 {
			t.Errorf("%s upgrades to %v, want one key", k, up[k])
		}
	}
	for _, k := range []string{WorkloadSyncKey, keyOnlyInContainer, keyFeatures} {
		if sec.Keys[k] == nil {
			t.Errorf("%s is not a v6.6+ key", k)
		}
	}
	for _, f := range procFeatures {
		if !contains(sec.Keys[keyFeatures].Enum, f) {
			t.Errorf("%s is not a process feature", f)
		}
	}
	for _, mt := range matchTypes {
		if !contains(sec.Keys[up[keyProcRegex+".match-type"][0]].Enum, mt) {
			t.Errorf("match type %s is unknown to v6.6+", mt)
		}
	}
}
