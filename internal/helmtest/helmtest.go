// Package helmtest renders Helm charts client-only, the way `helm template`
// does, for tests. It pulls in Helm's SDK and with it Kubernetes' client
// libraries, so only _test.go files may import it: the shipped binary
// stays free of them.
package helmtest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/deepflow-compose/deepflow-compose/internal/reference"
	"gopkg.in/yaml.v3"
	"helm.sh/helm/v3/pkg/action"
	"helm.sh/helm/v3/pkg/chart"
	"helm.sh/helm/v3/pkg/chart/loader"
	"helm.sh/helm/v3/pkg/chartutil"
	"helm.sh/helm/v3/pkg/cli/values"
	"helm.sh/helm/v3/pkg/getter"
)

// GrafanaStubVersion is the version the stub grafana subchart claims; the
// parent chart asks for 7.*.*.
const GrafanaStubVersion = "7.3.12"

// Object is one rendered Kubernetes object.
type Object struct {
	Source string // the template it came from, as Helm's "# Source:" names it
	Kind   string
	Name   string
	Doc    map[string]any
	Raw    string
}

// Result is a rendered release.
type Result struct {
	Objects []Object
	Notes   string
}

// ChartsDir is DeepFlow's reference charts beside the clone.
func ChartsDir(t testing.TB) string {
	return reference.Dir(t, "deepflow-charts", filepath.Join("v7.1", "deepflow", "Chart.yaml"))
}

// DeepFlowChart copies the reference deepflow chart of a release line
// ("v7.1") into a temporary directory and adds the stub grafana subchart
// Helm needs to render it offline (the real one comes from Grafana's
// repository, which tests cannot reach). It returns the copy's path.
func DeepFlowChart(t testing.TB, version string) string {
	t.Helper()
	src := filepath.Join(ChartsDir(t), version, "deepflow")
	if _, err := os.Stat(src); err != nil {
		t.Fatalf("no reference chart for %s: %v", version, err)
	}
	dst := filepath.Join(t.TempDir(), "deepflow")
	if err := os.CopyFS(dst, os.DirFS(src)); err != nil {
		t.Fatal(err)
	}
	stub := "apiVersion: v2\nname: grafana\nversion: " + GrafanaStubVersion + "\n"
	if err := os.MkdirAll(filepath.Join(dst, "charts", "grafana"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dst, "charts", "grafana", "Chart.yaml"), []byte(stub), 0o644); err != nil {
		t.Fatal(err)
	}
	return dst
}

// AgentChart copies the reference standalone deepflow-agent chart of a
// release line into a temporary directory.
func AgentChart(t testing.TB, version string) string {
	t.Helper()
	src := filepath.Join(ChartsDir(t), version, "deepflow", "charts", "deepflow-agent")
	dst := filepath.Join(t.TempDir(), "deepflow-agent")
	if err := os.CopyFS(dst, os.DirFS(src)); err != nil {
		t.Fatal(err)
	}
	return dst
}

// Template renders chartDir as `helm template RELEASE CHART -n NAMESPACE
// -f FILE…` would, without a cluster, and parses every object.
func Template(ctx context.Context, chartDir, release, namespace string, valueFiles ...string) (*Result, error) {
	chrt, vals, err := load(chartDir, valueFiles)
	if err != nil {
		return nil, err
	}
	cfg := &action.Configuration{Log: func(string, ...any) {}}
	inst := action.NewInstall(cfg)
	inst.DryRun, inst.ClientOnly, inst.Replace = true, true, true
	inst.ReleaseName, inst.Namespace = release, namespace
	inst.DisableHooks = false
	rel, err := inst.RunWithContext(ctx, chrt, vals)
	if err != nil {
		return nil, err
	}
	var manifest strings.Builder
	manifest.WriteString(rel.Manifest)
	for _, h := range rel.Hooks { // helm template prints hooks too
		fmt.Fprintf(&manifest, "\n---\n# Source: %s\n%s\n", h.Path, h.Manifest)
	}
	objs, err := Parse(manifest.String())
	if err != nil {
		return nil, err
	}
	return &Result{Objects: objs, Notes: rel.Info.Notes}, nil
}

// Values returns the chart's values with the files merged over them, as
// its templates see them (maps merge, lists and scalars replace), for
// values whose templates cannot be rendered here: Grafana's come from a
// chart this harness only stubs.
func Values(chartDir string, valueFiles ...string) (map[string]any, error) {
	chrt, vals, err := load(chartDir, valueFiles)
	if err != nil {
		return nil, err
	}
	merged, err := chartutil.CoalesceValues(chrt, vals)
	if err != nil {
		return nil, err
	}
	return merged.AsMap(), nil
}

// load reads the chart and merges the values files, as helm does before
// it renders.
func load(chartDir string, valueFiles []string) (*chart.Chart, map[string]any, error) {
	chrt, err := loader.Load(chartDir)
	if err != nil {
		return nil, nil, fmt.Errorf("loading %s: %w", chartDir, err)
	}
	vals, err := (&values.Options{ValueFiles: valueFiles}).MergeValues(getter.Providers{})
	if err != nil {
		return nil, nil, err
	}
	return chrt, vals, nil
}

// Parse splits a multi-document manifest and decodes every object.
func Parse(manifest string) ([]Object, error) {
	var out []Object
	dec := yaml.NewDecoder(strings.NewReader(manifest))
	// Sources come from the comments Helm puts above each document.
	sources := sourceComments(manifest)
	for i := 0; ; i++ {
		var node yaml.Node
		err := dec.Decode(&node)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("rendered manifest, document %d: %w", i+1, err)
		}
		var doc map[string]any
		if err := node.Decode(&doc); err != nil {
			return nil, fmt.Errorf("rendered manifest, document %d: %w", i+1, err)
		}
		if doc == nil {
			continue
		}
		raw, _ := yaml.Marshal(doc)
		o := Object{Doc: doc, Raw: string(raw)}
		o.Kind, _ = doc["kind"].(string)
		if md, ok := doc["metadata"].(map[string]any); ok {
			o.Name, _ = md["name"].(string)
		}
		if len(node.HeadComment) > 0 {
			o.Source = sourceOf(node.HeadComment)
		}
		if o.Source == "" && i < len(sources) {
			o.Source = sources[i]
		}
		out = append(out, o)
	}
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].Kind != out[j].Kind {
			return out[i].Kind < out[j].Kind
		}
		return out[i].Name < out[j].Name
	})
	return out, nil
}

func sourceOf(comment string) string {
	for _, l := range strings.Split(comment, "\n") {
		if s, ok := strings.CutPrefix(strings.TrimSpace(l), "# Source: "); ok {
			return s
		}
	}
	return ""
}

func sourceComments(manifest string) []string {
	var out []string
	for _, l := range bytes.Split([]byte(manifest), []byte("\n")) {
		if s, ok := bytes.CutPrefix(l, []byte("# Source: ")); ok {
			out = append(out, string(s))
		}
	}
	return out
}

// Get returns the object of a kind and name, or nil.
func (r *Result) Get(kind, name string) *Object {
	for i := range r.Objects {
		if r.Objects[i].Kind == kind && r.Objects[i].Name == name {
			return &r.Objects[i]
		}
	}
	return nil
}

// Kind returns every object of a kind.
func (r *Result) Kind(kind string) []Object {
	var out []Object
	for _, o := range r.Objects {
		if o.Kind == kind {
			out = append(out, o)
		}
	}
	return out
}

// Path walks a decoded document by map keys and list indexes ("spec",
// "template", "spec", "containers", 0, "image").
func Path(doc any, path ...any) (any, error) {
	cur := doc
	for i, p := range path {
		switch k := p.(type) {
		case string:
			m, ok := cur.(map[string]any)
			if !ok {
				return nil, fmt.Errorf("%v: not a map at %q", path[:i], k)
			}
			v, ok := m[k]
			if !ok {
				return nil, fmt.Errorf("%v: no key %q", path[:i], k)
			}
			cur = v
		case int:
			l, ok := cur.([]any)
			if !ok || k >= len(l) {
				return nil, fmt.Errorf("%v: no index %d", path[:i], k)
			}
			cur = l[k]
		default:
			return nil, fmt.Errorf("bad path element %v", p)
		}
	}
	return cur, nil
}

// Containers lists every container and init container of a workload
// (Deployment, StatefulSet, DaemonSet), by name.
func (o *Object) Containers() map[string]map[string]any {
	out := map[string]map[string]any{}
	for _, key := range []string{"initContainers", "containers"} {
		l, err := Path(o.Doc, "spec", "template", "spec", key)
		if err != nil {
			continue
		}
		list, _ := l.([]any)
		for _, c := range list {
			m, _ := c.(map[string]any)
			name, _ := m["name"].(string)
			out[name] = m
		}
	}
	return out
}
