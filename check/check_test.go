package check_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/deepflow-compose/deepflow-compose/catalog"
	"github.com/deepflow-compose/deepflow-compose/check"
	"github.com/deepflow-compose/deepflow-compose/internal/reference"
	"github.com/deepflow-compose/deepflow-compose/render"
	"github.com/deepflow-compose/deepflow-compose/settings"
	"github.com/deepflow-compose/deepflow-compose/topology"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/golden and the want lists of testdata/cases")

// renderDir renders ours into a fresh directory, with reproducible secrets.
func renderDir(t *testing.T, in settings.Inputs) string {
	t.Helper()
	if in.NodeIP == "" {
		in.NodeIP = "192.0.2.10"
	}
	var seed [32]byte
	copy(seed[:], "deepflow-compose check tests")
	dir := filepath.Join(t.TempDir(), "deploy")
	p, err := render.Prepare(context.Background(), render.Options{Inputs: in, OutDir: dir, Rand: rand.NewChaCha8(seed)})
	if err != nil {
		t.Fatalf("Prepare(%+v): %v", in, err)
	}
	if _, err := p.Write(false); err != nil {
		t.Fatalf("Write: %v", err)
	}
	return dir
}

// copyReference copies DeepFlow's package into a writable directory.
func copyReference(t *testing.T) string {
	t.Helper()
	referenceDir := reference.Dir(t, "deepflow-docker-compose", topology.Compose)
	dst := filepath.Join(t.TempDir(), "deepflow-docker-compose")
	err := filepath.WalkDir(referenceDir, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(referenceDir, p)
		if d.IsDir() {
			return os.MkdirAll(filepath.Join(dst, rel), 0o755)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dst, rel), b, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
	return dst
}

// seed003 converts DeepFlow's package to host networking as seed 003
// does: network_mode host everywhere, networks/links/ports gone, every
// service name replaced by the node IP (grafana.ini through
// ${NODE_IP_FOR_DEEPFLOW}, exactly as the seed writes it).
func seed003(t *testing.T, dir, nodeIP string) {
	t.Helper()
	file := filepath.Join(dir, "docker-compose.yaml")
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	root := doc.Content[0]
	root.Content = dropKeys(root.Content, "networks")
	svcs := mapGet(root, "services")
	for i := 1; i < len(svcs.Content); i += 2 {
		s := svcs.Content[i]
		s.Content = dropKeys(s.Content, "networks", "links", "ports")
		s.Content = append(s.Content, &yaml.Node{Kind: yaml.ScalarNode, Value: "network_mode"}, &yaml.Node{Kind: yaml.ScalarNode, Value: "host"})
	}
	env := mapGet(mapGet(svcs, "deepflow-grafana"), "environment")
	for k, v := range map[string]string{
		"DEEPFLOW_REQUEST_URL": "http://${NODE_IP_FOR_DEEPFLOW}:20416",
		"DEEPFLOW_TRACEURL":    "http://${NODE_IP_FOR_DEEPFLOW}:20418",
		"MYSQL_URL":            "${NODE_IP_FOR_DEEPFLOW}:30130",
		"CLICKHOUSE_SERVER":    "${NODE_IP_FOR_DEEPFLOW}",
	} {
		mapGet(env, k).Value = v
	}
	out, err := yaml.Marshal(&doc)
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, file, out)
	edit(t, dir, "common/config/deepflow-server/server.yaml",
		"host: clickhouse", "host: "+nodeIP, "host: mysql", "host: "+nodeIP, "host: deepflow-app", "host: "+nodeIP)
	edit(t, dir, "common/config/deepflow-app/app.yaml", "host: deepflow-server", "host: "+nodeIP)
	edit(t, dir, "common/config/grafana/grafana.ini", "host = deepflow-mysql:30130", `host = "${NODE_IP_FOR_DEEPFLOW}:30130"`)
}

func dropKeys(content []*yaml.Node, keys ...string) []*yaml.Node {
	var out []*yaml.Node
	for i := 0; i+1 < len(content); i += 2 {
		drop := false
		for _, k := range keys {
			if content[i].Value == k {
				drop = true
			}
		}
		if !drop {
			out = append(out, content[i], content[i+1])
		}
	}
	return out
}

func mapGet(n *yaml.Node, key string) *yaml.Node {
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			return n.Content[i+1]
		}
	}
	panic("no key " + key)
}

func writeFile(t *testing.T, p string, b []byte) {
	t.Helper()
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// edit replaces every occurrence of each old string with its new one and
// fails when an old string is not there, so a template change cannot
// silently turn a broken case into a clean one.
func edit(t *testing.T, dir, file string, pairs ...string) {
	t.Helper()
	p := filepath.Join(dir, filepath.FromSlash(file))
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	for i := 0; i+1 < len(pairs); i += 2 {
		if !strings.Contains(s, pairs[i]) {
			t.Fatalf("%s does not contain %q", file, pairs[i])
		}
		s = strings.ReplaceAll(s, pairs[i], pairs[i+1])
	}
	writeFile(t, p, []byte(s))
}

// editRE is edit with patterns; each must match.
func editRE(t *testing.T, dir, file string, pairs ...string) {
	t.Helper()
	p := filepath.Join(dir, filepath.FromSlash(file))
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	for i := 0; i+1 < len(pairs); i += 2 {
		re := regexp.MustCompile(pairs[i])
		if !re.MatchString(s) {
			t.Fatalf("%s does not match %q", file, pairs[i])
		}
		s = re.ReplaceAllLiteralString(s, pairs[i+1])
	}
	writeFile(t, p, []byte(s))
}

func run(t *testing.T, dir string) *check.Report {
	t.Helper()
	r, err := check.Run(dir, check.Options{})
	if err != nil {
		t.Fatalf("check.Run(%s): %v", dir, err)
	}
	return r
}

// line renders a finding the way the case files list them.
func line(f check.Finding) string {
	return fmt.Sprintf("%s %s:%d %s: %s", f.Severity, f.File, f.Line, f.Rule, f.Message)
}

func errorsOf(r *check.Report) []string {
	var out []string
	for _, f := range r.Findings {
		if f.Severity == check.Error {
			out = append(out, line(f)+"\n    fix: "+f.Fix)
		}
	}
	return out
}

// TestOwnRendersAreClean: every profile × version × variation renders to a
// directory check finds no error in.
func TestOwnRendersAreClean(t *testing.T) {
	profiles, err := settings.Profiles()
	if err != nil {
		t.Fatal(err)
	}
	variations := map[string][]string{
		"defaults":     nil,
		"ports":        {"mysql.port=30131", "clickhouse.tcpPort=9100", "clickhouse.httpPort=8124", "grafana.port=3001"},
		"exposed":      {"expose.datastores=true"},
		"odd-secrets":  {`mysql.password=a"b'c#d;e\f$g%h`, `clickhouse.password=x&y<z>'"`, "grafana.adminPassword=$$x y"},
		"mirror-group": {"registry=ghcr.io/deepflowys/deepflow-ce", "agent.groupID=g-TE8la86jlZ"},
		// Agents outside DeepFlow's default private ranges.
		"subnets": {"agent.subnets=[100.42.32.0/24, 100.42.40.1-100.42.40.9]", "agent.groupID=g-TE8la86jlZ"},
	}
	for _, p := range profiles {
		for _, v := range catalog.Versions() {
			for name, sets := range variations {
				t.Run(p.Name+"/"+v+"/"+name, func(t *testing.T) {
					in := settings.Inputs{Profile: p.Name, Version: v, Sets: sets, NodeIP: "10.20.30.40"}
					if _, _, err := in.Settings(); errors.Is(err, settings.ErrSettings) && name == "subnets" {
						t.Skipf("this render has no agent.subnets yet: %v", err)
					}
					dir := renderDir(t, in)
					r := run(t, dir)
					if errs := errorsOf(r); len(errs) > 0 {
						t.Errorf("errors on our own render:\n%s", strings.Join(errs, "\n"))
					}
					if r.Inferred.NodeIP != "10.20.30.40" {
						t.Errorf("inferred node IP %q, want 10.20.30.40", r.Inferred.NodeIP)
					}
				})
			}
		}
	}
}

// A case is one broken directory and the exact findings it must produce.
type caseFile struct {
	// Base: render (ours, edited), reference (DeepFlow's package),
	// seed003 (DeepFlow's package converted as seed 003), or dir:NAME
	// (testdata/dirs/NAME as committed).
	Base    string   `yaml:"base"`
	Profile string   `yaml:"profile"`
	Sets    []string `yaml:"sets"`
	Edits   []struct {
		File    string   `yaml:"file"`
		Replace []string `yaml:"replace"` // old, new, old, new, …
		// Regexp pairs are a pattern and a literal replacement, for
		// lines whose quoting render may change.
		Regexp []string `yaml:"regexp"`
	} `yaml:"edits"`
	Want []string `yaml:"want"`
	// Golden names a JSON golden file under testdata/golden.
	Golden string `yaml:"golden"`
}

func buildCase(t *testing.T, c *caseFile) string {
	t.Helper()
	var dir string
	switch {
	case c.Base == "render":
		dir = renderDir(t, settings.Inputs{Profile: c.Profile, Sets: c.Sets})
	case c.Base == "reference":
		dir = copyReference(t)
	case c.Base == "seed003":
		dir = copyReference(t)
		seed003(t, dir, "192.168.101.116")
	case strings.HasPrefix(c.Base, "dir:"):
		dir = filepath.Join("testdata", "dirs", strings.TrimPrefix(c.Base, "dir:"))
	default:
		t.Fatalf("unknown base %q", c.Base)
	}
	for _, e := range c.Edits {
		if len(e.Replace) > 0 {
			edit(t, dir, e.File, e.Replace...)
		}
		if len(e.Regexp) > 0 {
			editRE(t, dir, e.File, e.Regexp...)
		}
	}
	return dir
}

func TestCorpus(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "cases", "*.yaml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no cases: %v", err)
	}
	sort.Strings(files)
	for _, file := range files {
		name := strings.TrimSuffix(filepath.Base(file), ".yaml")
		t.Run(name, func(t *testing.T) {
			b, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			var c caseFile
			dec := yaml.NewDecoder(bytes.NewReader(b))
			dec.KnownFields(true)
			if err := dec.Decode(&c); err != nil {
				t.Fatalf("%s: %v", file, err)
			}
			dir := buildCase(t, &c)
			r := run(t, dir)
			var got []string
			for _, f := range r.Findings {
				got = append(got, line(f))
			}
			if *update {
				// want is the last key of every case file.
				i := bytes.Index(b, []byte("\nwant:"))
				if i < 0 {
					t.Fatalf("%s has no want:", file)
				}
				writeFile(t, file, append(b[:i+1], []byte("want:\n"+yamlList(got))...))
				c.Want = got
			}
			if strings.Join(got, "\n") != strings.Join(c.Want, "\n") {
				t.Errorf("findings differ\n--- got\n%s\n--- want\n%s", yamlList(got), yamlList(c.Want))
			}
			if c.Golden != "" {
				var buf bytes.Buffer
				if err := r.WriteJSON(&buf); err != nil {
					t.Fatal(err)
				}
				golden := filepath.Join("testdata", "golden", c.Golden)
				if *update {
					writeFile(t, golden, buf.Bytes())
				}
				want, err := os.ReadFile(golden)
				if err != nil {
					t.Fatalf("%v (run with -update to create it)", err)
				}
				if !bytes.Equal(buf.Bytes(), want) {
					t.Errorf("JSON differs from %s (run with -update if intended):\n%s", golden, buf.String())
				}
			}
		})
	}
}

func yamlList(s []string) string {
	var b strings.Builder
	for _, x := range s {
		q, _ := json.Marshal(x)
		fmt.Fprintf(&b, "  - %s\n", q)
	}
	return b.String()
}

// A subnet the manifest names but local_ip_ranges lacks is found in our
// own render too, so the subnets variation above is not clean by accident.
func TestSubnetsReachLocalIPRanges(t *testing.T) {
	in := settings.Inputs{Profile: "process-agent", Sets: []string{"agent.subnets=[100.42.32.0/24]", "agent.groupID=g-TE8la86jlZ"}}
	if _, _, err := in.Settings(); err != nil {
		t.Skipf("this render has no process-agent subnets yet: %v", err)
	}
	dir := renderDir(t, in)
	if errs := errorsOf(run(t, dir)); len(errs) > 0 {
		t.Fatalf("errors on our own render:\n%s", strings.Join(errs, "\n"))
	}
	editRE(t, dir, "common/config/deepflow-server/server.yaml", `\n\s*- "?100\.42\.32\.0/24"?`, "")
	var got []string
	for _, f := range run(t, dir).Findings {
		if f.Rule == "local-ip-ranges" {
			got = append(got, f.Message)
		}
	}
	want := "agent subnet 100.42.32.0/24 (agent.subnets in .deepflow-compose.json) is not in controller.genesis.local_ip_ranges, so deepflow-server takes those agents for external hosts"
	if len(got) != 1 || got[0] != want {
		t.Fatalf("local-ip-ranges findings = %q, want [%q]", got, want)
	}
}

func TestUnreadable(t *testing.T) {
	for _, dir := range []string{filepath.Join(t.TempDir(), "missing"), "check_test.go"} {
		if _, err := check.Run(dir, check.Options{}); !errors.Is(err, check.ErrUnreadable) {
			t.Errorf("check.Run(%s) error = %v, want ErrUnreadable", dir, err)
		}
	}
}

func TestEmptyDirectory(t *testing.T) {
	r := run(t, t.TempDir())
	got := []string{}
	for _, f := range r.Findings {
		got = append(got, line(f))
	}
	want := []string{"error docker-compose.yaml:0 missing-file: there is no docker-compose.yaml here, so nothing says how the stack runs"}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("findings = %q, want %q", got, want)
	}
	var buf bytes.Buffer
	if err := r.WriteJSON(&buf); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(buf.String(), "{\n  \"findings\": [\n") {
		t.Errorf("JSON does not start with the findings list:\n%s", buf.String())
	}
}

func TestCleanJSONHasEmptyList(t *testing.T) {
	r := &check.Report{Findings: []check.Finding{}}
	var buf bytes.Buffer
	if err := r.WriteJSON(&buf); err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := json.Unmarshal(buf.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	if l, ok := doc["findings"].([]any); !ok || len(l) != 0 {
		t.Errorf("findings = %#v, want []", doc["findings"])
	}
}
