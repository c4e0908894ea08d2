package agentcfg

import (
	"embed"
	"errors"
	"fmt"
	"path"
	"sort"
	"strings"
	"sync"

	"github.com/deepflow-compose/deepflow-compose/agentcfg/internal/schema"
)

// A release is one DeepFlow build whose server validates group configs
// against its own template: a tag (v6.6.8) or a branch head (v7.0-branch),
// as named under the reference's templates/. LegacyRelease is v6.5, whose
// server takes the legacy layout described by the v6.5 example.
const LegacyRelease = "v6.5"

// ErrUnknownRelease is returned for a release with no embedded schema.
var ErrUnknownRelease = errors.New("unknown DeepFlow release")

//go:embed schemas/*.json
var releaseFS embed.FS

var loadReleases = sync.OnceValues(func() (map[string]*schema.File, error) {
	ents, err := releaseFS.ReadDir("schemas")
	if err != nil {
		return nil, err
	}
	out := map[string]*schema.File{}
	for _, e := range ents {
		rel, ok := strings.CutSuffix(e.Name(), ".json")
		if !ok {
			continue
		}
		b, err := releaseFS.ReadFile(path.Join("schemas", e.Name()))
		if err != nil {
			return nil, err
		}
		s, err := schema.Parse(b)
		if err != nil {
			return nil, fmt.Errorf("embedded schema of %s: %w", rel, err)
		}
		for key, extra := range enumFixes[rel] {
			if n := s.Keys[key]; n != nil && len(n.Enum) > 0 {
				for _, v := range extra {
					if !contains(n.Enum, v) {
						n.Enum = append(n.Enum, v)
					}
				}
			}
		}
		out[rel] = s
	}
	return out, nil
})

// enumFixes widen an enum a release's template lists short of what its
// agent accepts. The server checks no enum; ours would refuse valid
// configs. v6.6.8's template lists ten API resources, yet documents routes
// in its own example, and its agent watches five more
// (agent/src/platform/kubernetes/resource_watcher.rs at 59a8f735), the
// same as v6.6.9's template lists.
var enumFixes = map[string]map[string][]string{
	"v6.6.8": {"inputs.resources.kubernetes.api_resources.name": {"routes", "servicerules", "clonesets", "ippools", "opengaussclusters"}},
}

// Releases lists every release with a schema, oldest first (branch heads
// after their line's tags).
func Releases() []string {
	all, err := loadReleases()
	if err != nil {
		return []string{LegacyRelease}
	}
	out := []string{LegacyRelease}
	for r := range all {
		out = append(out, r)
	}
	sort.Slice(out, func(i, j int) bool { return releaseLess(out[i], out[j]) })
	return out
}

// releaseLess orders v6.6.8 < v6.6.9 < v6.6-branch < v7.0.9.
func releaseLess(a, b string) bool {
	ka, kb := releaseKey(a), releaseKey(b)
	for i := range ka {
		if ka[i] != kb[i] {
			return ka[i] < kb[i]
		}
	}
	return a < b
}

func releaseKey(r string) [3]int {
	var k [3]int
	line, branch := strings.CutSuffix(strings.TrimPrefix(r, "v"), "-branch")
	parts := strings.Split(line, ".")
	for i := 0; i < len(parts) && i < 3; i++ {
		fmt.Sscan(parts[i], &k[i])
	}
	if branch || len(parts) == 2 {
		k[2] = 1 << 30 // a branch head or a whole line comes after its tags
	}
	return k
}

// ReleaseName is how messages name a release: "v6.6.8", or "v7.0 branch
// head" for the newest build a moving tag may pull.
func ReleaseName(r string) string {
	if line, ok := strings.CutSuffix(r, "-branch"); ok {
		return line + " branch head"
	}
	return r
}

// releaseSchema returns a release's schema and whether it is the legacy
// layout.
func releaseSchema(r string) (*schema.File, Format, error) {
	if r == LegacyRelease {
		s, err := schemaFor(Legacy)
		return s, Legacy, err
	}
	all, err := loadReleases()
	if err != nil {
		return nil, 0, err
	}
	s, ok := all[r]
	if !ok {
		return nil, 0, fmt.Errorf("%w %q (known: %s)", ErrUnknownRelease, r, strings.Join(Releases(), ", "))
	}
	return s, Sectioned, nil
}

// ReleaseFormat is the group-config layout a release takes.
func ReleaseFormat(r string) (Format, error) {
	_, f, err := releaseSchema(r)
	return f, err
}

// releasesFormat checks that releases is not empty and shares one layout.
func releasesFormat(releases []string) (Format, error) {
	if len(releases) == 0 {
		return 0, fmt.Errorf("%w: no release given", ErrUnknownRelease)
	}
	var format Format
	for _, r := range releases {
		f, err := ReleaseFormat(r)
		if err != nil {
			return 0, err
		}
		if format != 0 && f != format {
			return 0, fmt.Errorf("%w: %s takes the %v layout and %s the %v one: no file suits both", ErrUnknownRelease, releases[0], format, r, f)
		}
		format = f
	}
	return format, nil
}

// HasKey reports whether a release's server accepts a group-config key
// (a dotted path such as inputs.resources.workload_resource_sync_enabled).
func HasKey(release, key string) (bool, error) {
	s, _, err := releaseSchema(release)
	if err != nil {
		return false, err
	}
	return s.Keys[key] != nil, nil
}

// ValidateReleases checks a document against the schema of every release
// it may run against (a moving image tag may pull any of them). Problems
// name the releases that have them, e.g. "inputs.proc.socket_info_sync_interval:
// not accepted by DeepFlow v6.6.8". The error is an Errors, each an *Error
// with Releases set.
func ValidateReleases(releases []string, doc []byte) error {
	if _, err := releasesFormat(releases); err != nil {
		return err
	}
	type key struct {
		path, msg string
		line      int
		err       error
	}
	var order []key
	by := map[key][]string{}
	for _, r := range releases {
		s, f, err := releaseSchema(r)
		if err != nil {
			return err
		}
		err = validateWith(s, f == Legacy, doc)
		var es Errors
		if err != nil && !errors.As(err, &es) {
			return err
		}
		for _, e := range es {
			k := key{e.Path, e.Msg, e.Line, e.Err}
			if _, seen := by[k]; !seen {
				order = append(order, k)
			}
			by[k] = append(by[k], r)
		}
	}
	var out Errors
	for _, k := range order {
		rs := by[k]
		e := &Error{Path: k.path, Line: k.line, Err: k.err, Msg: k.msg, Releases: rs}
		switch {
		case k.err == ErrSyntax || len(rs) == 0:
		case k.err == ErrUnknownKey && k.msg == "unknown key":
			e.Msg = "not accepted by DeepFlow " + ReleaseNames(rs)
		default:
			e.Msg += " (DeepFlow " + ReleaseNames(rs) + ")"
		}
		out = append(out, e)
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Line < out[j].Line })
	return out.err()
}

// ReleaseNames names releases for a message: "v7.1.8 and v7.1 branch
// head".
func ReleaseNames(rs []string) string {
	n := make([]string, len(rs))
	for i, r := range rs {
		n[i] = ReleaseName(r)
	}
	if len(n) < 2 {
		return strings.Join(n, "")
	}
	return strings.Join(n[:len(n)-1], ", ") + " and " + n[len(n)-1]
}

// RenderReleases writes the group config for the releases an image tag
// may run, validated against each of them. Recipe keys are resolved in
// the first release's template; a recipe needing a key some release lacks
// fails with an *Error naming that release.
func RenderReleases(releases []string, in Input) ([]byte, error) {
	format, err := releasesFormat(releases)
	if err != nil {
		return nil, err
	}
	leg, err := schemaFor(Legacy)
	if err != nil {
		return nil, err
	}
	sec, _, err := releaseSchema(releases[0])
	if format == Legacy {
		sec, err = schemaFor(Sectioned) // v6.5 keys' ranges come from the newer template
	}
	if err != nil {
		return nil, err
	}
	// Keys every release must have, checked first so the error names the
	// setting that needs them rather than the file key.
	for _, r := range releases {
		s, _, _ := releaseSchema(r)
		if in.WorkloadResourceSyncEnabled && format == Sectioned && s.Keys[WorkloadSyncKey] == nil {
			return nil, &Error{Path: "workloadResourceSyncEnabled", Err: ErrUnknownKey, Releases: []string{r},
				Msg: WorkloadSyncKey + " is not accepted by DeepFlow " + ReleaseName(r) + "; there, the server registers hosts through server.yaml's trident-type-for-unkonw-vtap"}
		}
	}
	out, err := render(format, leg, sec, in, releases[0])
	if err != nil {
		return nil, err
	}
	if err := ValidateReleases(releases, out); err != nil {
		return nil, fmt.Errorf("agentcfg: a recipe needs a key some release lacks: %w", err)
	}
	return out, nil
}
