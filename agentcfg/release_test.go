package agentcfg

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/deepflow-compose/deepflow-compose/agentcfg/internal/derive"
)

// The embedded per-release schemas are exactly what the generator derives
// from the reference's templates today, one per template and no other:
// regenerate (go generate ./agentcfg) when this fails.
func TestReleaseSchemasMatchReference(t *testing.T) {
	ref := referenceDir(t)
	dir := filepath.Join(ref, derive.TemplatesDir)
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Skipf("no per-release templates: %v", err)
	}
	templates := map[string][]byte{}
	for _, e := range ents {
		if strings.HasSuffix(e.Name(), ".yaml") {
			templates[e.Name()] = readRef(t, dir, e.Name())
		}
	}
	want, err := derive.Releases(templates)
	if err != nil {
		t.Fatal(err)
	}
	embedded, err := releaseFS.ReadDir(derive.ReleaseSchemaDir)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range embedded {
		got = append(got, e.Name())
		b, _ := releaseFS.ReadFile(derive.ReleaseSchemaDir + "/" + e.Name())
		if w, ok := want[e.Name()]; !ok {
			t.Errorf("%s/%s has no template in the reference: run go generate ./agentcfg", derive.ReleaseSchemaDir, e.Name())
		} else if !bytes.Equal(b, w) {
			t.Errorf("%s/%s is stale: run go generate ./agentcfg", derive.ReleaseSchemaDir, e.Name())
		}
	}
	if len(got) != len(want) {
		t.Errorf("embedded schemas %v, the reference has %d templates", got, len(want))
	}
}

func TestReleases(t *testing.T) {
	want := "v6.5 v6.6.8 v6.6.9 v6.6-branch v7.0.9 v7.0-branch v7.1.8 v7.1-branch"
	if got := strings.Join(Releases(), " "); got != want {
		t.Errorf("Releases() = %s, want %s", got, want)
	}
	for _, r := range Releases() {
		f, err := ReleaseFormat(r)
		if err != nil {
			t.Fatal(err)
		}
		if want := map[bool]Format{true: Legacy, false: Sectioned}[r == LegacyRelease]; f != want {
			t.Errorf("%s takes %v, want %v", r, f, want)
		}
	}
	for _, c := range []struct {
		release string
		has     bool
	}{{"v6.6.8", false}, {"v6.6.9", false}, {"v6.6-branch", true}, {"v7.0.9", true}, {"v7.1.8", true}} {
		if has, err := HasKey(c.release, WorkloadSyncKey); err != nil || has != c.has {
			t.Errorf("HasKey(%s, %s) = %v, %v; want %v", c.release, WorkloadSyncKey, has, err, c.has)
		}
	}
	if _, err := HasKey("v6.6.1", WorkloadSyncKey); !errors.Is(err, ErrUnknownRelease) ||
		err.Error() != `unknown DeepFlow release "v6.6.1" (known: v6.5, v6.6.8, v6.6.9, v6.6-branch, v7.0.9, v7.0-branch, v7.1.8, v7.1-branch)` {
		t.Errorf("unknown release: %v", err)
	}
	if got := ReleaseNames([]string{"v7.0.9", "v7.0-branch"}); got != "v7.0.9 and v7.0 branch head" {
		t.Errorf("ReleaseNames = %q", got)
	}
}

// nest writes a dotted key as nested YAML.
func nest(path, value string) string {
	var b strings.Builder
	parts := strings.Split(path, ".")
	for i, p := range parts {
		b.WriteString(strings.Repeat("  ", i) + p + ":")
		if i == len(parts)-1 {
			b.WriteString(" " + value)
		}
		b.WriteString("\n")
	}
	return b.String()
}

// Per release, a key that a newer release added is refused, and the error
// names the release; the newer release takes the same document.
func TestNewerKeyRefusedNamingRelease(t *testing.T) {
	cases := []struct {
		release, newer, key, value string
	}{
		{"v6.5", "v6.6.8", "global.limits.max_memory", "768"},
		{"v6.6.8", "v6.6-branch", "inputs.proc.socket_info_sync_interval", "10s"},
		{"v6.6.9", "v6.6-branch", "inputs.resources.workload_resource_sync_enabled", "true"},
		{"v6.6-branch", "v7.0.9", "inputs.ebpf.socket.kprobe.disabled", "false"},
		{"v7.0.9", "v7.0-branch", "inputs.ebpf.file.io_event.enable_virtual_file_collect", "false"},
		{"v7.0-branch", "v7.1.8", "processors.request_log.tag_extraction.tracing_tag.copy_apm_trace_id", "false"},
		{"v7.1.8", "v7.1-branch", "inputs.ebpf.tunning.kick_kern_nice", "0"},
	}
	covered := map[string]bool{}
	for _, c := range cases {
		covered[c.release] = true
		doc := nest(c.key, c.value)
		if c.release == LegacyRelease {
			doc = "vtap_group_id: g-TE8la86jlZ\n" + doc
		}
		err := ValidateReleases([]string{c.release}, []byte(doc))
		top, _, _ := strings.Cut(c.key, ".")
		wantPath := c.key
		if c.release == LegacyRelease {
			wantPath = top // a whole section v6.5 does not have
		}
		want := wantPath + ": not accepted by DeepFlow " + ReleaseName(c.release)
		var es Errors
		if !errors.As(err, &es) || len(es) != 1 || es[0].Error() != want || !errors.Is(es[0], ErrUnknownKey) ||
			strings.Join(es[0].Releases, " ") != c.release {
			t.Errorf("%s: %v, want %q", c.release, err, want)
		}
		if c.release == LegacyRelease {
			continue
		}
		if err := ValidateReleases([]string{c.newer}, []byte(doc)); err != nil {
			t.Errorf("%s refuses its own key %s: %v", c.newer, c.key, err)
		}
	}
	// The newest branch head against the reference template (DeepFlow's
	// main), which is newer still.
	covered["v7.1-branch"] = true
	doc := nest("inputs.ebpf.profile.languages.lua_disabled", "false")
	if err := ValidateReleases([]string{"v7.1-branch"}, []byte(doc)); err == nil ||
		err.Error() != "inputs.ebpf.profile.languages.lua_disabled: not accepted by DeepFlow v7.1 branch head" {
		t.Errorf("v7.1-branch: %v", err)
	}
	if err := Validate(Sectioned, []byte(doc)); err != nil {
		t.Errorf("the reference template refuses its own key: %v", err)
	}
	for _, r := range Releases() {
		if !covered[r] {
			t.Errorf("no negative case for %s", r)
		}
	}
}

// A moving tag's config must suit each release it may pull: a key only the
// branch head has is refused, naming the tag's release.
func TestMovingTagNeedsEveryRelease(t *testing.T) {
	doc := []byte(nest("inputs.ebpf.file.io_event.enable_virtual_file_collect", "false") +
		"global:\n  limits:\n    max_memory: 1\n")
	err := ValidateReleases([]string{"v7.0.9", "v7.0-branch"}, doc)
	want := "inputs.ebpf.file.io_event.enable_virtual_file_collect: not accepted by DeepFlow v7.0.9\n" +
		"global.limits.max_memory: 1 is out of range [128, 100000] (DeepFlow v7.0.9 and v7.0 branch head)"
	if err == nil || err.Error() != want {
		t.Errorf("got\n%v\nwant\n%s", err, want)
	}
	for _, c := range []struct {
		releases []string
		msg      string
	}{
		{nil, "unknown DeepFlow release: no release given"},
		{[]string{"v6.5", "v6.6.8"}, "unknown DeepFlow release: v6.5 takes the legacy layout and v6.6.8 the sectioned one: no file suits both"},
		{[]string{"v9.9.9"}, `unknown DeepFlow release "v9.9.9" (known: v6.5, v6.6.8, v6.6.9, v6.6-branch, v7.0.9, v7.0-branch, v7.1.8, v7.1-branch)`},
	} {
		if err := ValidateReleases(c.releases, doc); !errors.Is(err, ErrUnknownRelease) || err.Error() != c.msg {
			t.Errorf("%v: %v, want %s", c.releases, err, c.msg)
		}
	}
}

// Every recipe renders for every release, resolving each v6.5 key in that
// release's own template (v6.6.8 syncs sockets under inputs.proc.sync_interval),
// except where the release lacks what the recipe needs: then the error
// names the release.
func TestRecipesPerRelease(t *testing.T) {
	refuses := map[string]string{
		"v6.6.8/process-agent": "workloadResourceSyncEnabled: inputs.resources.workload_resource_sync_enabled is not accepted by DeepFlow v6.6.8; there, the server registers hosts through server.yaml's trident-type-for-unkonw-vtap",
		"v6.6.9/process-agent": "workloadResourceSyncEnabled: inputs.resources.workload_resource_sync_enabled is not accepted by DeepFlow v6.6.9; there, the server registers hosts through server.yaml's trident-type-for-unkonw-vtap",
	}
	socketKey := map[string]string{"v6.6.8": "    sync_interval: 10s\n", "v6.6.9": "    sync_interval: 10s\n"}
	seen := map[string]bool{}
	for _, r := range Releases() {
		for i, rc := range recipes {
			name := r + "/" + rc.name
			out, err := RenderReleases([]string{r}, recipeInput(t, i))
			if want, ok := refuses[name]; ok {
				seen[name] = true
				var e *Error
				if !errors.As(err, &e) || err.Error() != want || !errors.Is(err, ErrUnknownKey) || e.Releases[0] != r {
					t.Errorf("%s: %v, want %s", name, err, want)
				}
				continue
			}
			if err != nil {
				t.Errorf("%s: %v", name, err)
				continue
			}
			if err := ValidateReleases([]string{r}, out); err != nil {
				t.Errorf("%s: output refused: %v", name, err)
			}
			if rc.name == "process-topology" && r != LegacyRelease {
				want := socketKey[r]
				if want == "" {
					want = "    socket_info_sync_interval: 10s\n"
				}
				if !strings.Contains(string(out), want) {
					t.Errorf("%s: socket sync is not %q:\n%s", name, want, out)
				}
			}
		}
	}
	var missing []string
	for k := range refuses {
		if !seen[k] {
			missing = append(missing, k)
		}
	}
	sort.Strings(missing)
	if len(missing) > 0 {
		t.Errorf("expected refusals not met: %v", missing)
	}
}
