package check

import (
	"fmt"
	"path"
	"regexp"
	"strings"

	"github.com/deepflow-compose/deepflow-compose/layout"
	"github.com/deepflow-compose/deepflow-compose/topology"
)

var (
	templateMarkerRE = regexp.MustCompile(`\{\{.*?\}\}`)
	fixMeRE          = regexp.MustCompile(`FIX_ME_[A-Za-z0-9_]*`)
	shellVarRE       = regexp.MustCompile(`\$\{[A-Za-z_][A-Za-z0-9_]*[^}]*\}`)
)

func hasPlaceholder(s string) bool {
	return templateMarkerRE.MatchString(s) || fixMeRE.MatchString(s)
}

// expands lists the files whose consumer expands ${VAR}: compose
// interpolates its own file, Grafana its ini. Anywhere else ${VAR} is read
// literally.
var expands = map[string]bool{topology.Compose: true, topology.Env: true, topology.GrafanaINI: true, topology.AgentCompose: true}

// placeholderRules finds template markers and FIX_ME_ values that were
// never filled in, and ${VAR} where nothing expands it. Comments are
// skipped: a FIX_ME_ in a comment is advice, not a value.
func (m *model) placeholderRules() {
	for _, name := range layout.Files {
		data, ok := m.d.Data[name]
		if !ok {
			continue
		}
		for i, line := range uncommented(name, data) {
			v := layout.Value{File: name, Line: i + 1}
			if m.expect != nil {
				// A render's own secrets may look like anything.
				for _, sec := range m.expect.Env {
					if sec != "" {
						line = strings.ReplaceAll(line, sec, "")
					}
				}
			}
			for _, mk := range templateMarkerRE.FindAllString(line, -1) {
				fix := "replace it with the value it stands for"
				if name == topology.InitSQL {
					fix = "delete the statement (the MySQL entrypoint already creates root from MYSQL_ROOT_PASSWORD) or write the root password there"
				}
				m.errorf(v, "placeholder", fix, "template marker %s was never filled in; the service reads it literally", mk)
			}
			for _, mk := range fixMeRE.FindAllString(line, -1) {
				fix := "replace it with the real value"
				if strings.Contains(mk, "HOST_IP") {
					fix = "replace it with this host's IP address"
				}
				m.errorf(v, "placeholder", fix, "placeholder %s was never replaced", mk)
			}
			if expands[name] {
				continue
			}
			for _, mk := range shellVarRE.FindAllString(line, -1) {
				m.errorf(v, "placeholder", "write the value itself",
					"%s is not expanded in %s: the service reads the text %s literally", mk, name, mk)
			}
		}
	}
}

// uncommented returns the file's lines with comments blanked, keeping the
// line numbering.
func uncommented(name string, data []byte) []string {
	lines := layout.Lines(data)
	switch ext := path.Ext(name); {
	case ext == ".xml":
		in := false
		for i, l := range lines {
			var b strings.Builder
			for len(l) > 0 {
				if in {
					j := strings.Index(l, "-->")
					if j < 0 {
						l = ""
						break
					}
					l, in = l[j+3:], false
					continue
				}
				j := strings.Index(l, "<!--")
				if j < 0 {
					b.WriteString(l)
					break
				}
				b.WriteString(l[:j])
				l, in = l[j+4:], true
			}
			lines[i] = b.String()
		}
	case ext == ".sql":
		for i, l := range lines {
			if j := strings.Index(l, "--"); j >= 0 {
				lines[i] = l[:j]
			}
		}
	case ext == ".ini" || ext == ".cnf":
		for i, l := range lines {
			if t := strings.TrimSpace(l); strings.HasPrefix(t, "#") || strings.HasPrefix(t, ";") {
				lines[i] = ""
			}
		}
	default: // YAML, .env, systemd units
		for i, l := range lines {
			lines[i] = stripHash(l)
		}
	}
	return lines
}

// stripHash drops a # comment that starts a line or follows whitespace,
// outside quotes.
func stripHash(l string) string {
	var quote rune
	for i, r := range l {
		switch {
		case quote != 0:
			if r == quote {
				quote = 0
			}
		case r == '"' || r == '\'':
			quote = r
		case r == '#' && (i == 0 || l[i-1] == ' ' || l[i-1] == '\t'):
			return l[:i]
		}
	}
	return l
}

// splitImage splits an image reference into name (registry/repository)
// and tag; digest reports an @sha256 pin.
func splitImage(ref string) (name, tag string, digest bool) {
	if i := strings.Index(ref, "@"); i >= 0 {
		return ref[:i], "", true
	}
	slash := strings.LastIndex(ref, "/")
	if i := strings.LastIndex(ref, ":"); i > slash {
		return ref[:i], ref[i+1:], false
	}
	return ref, "", false
}

// onlyLatest are images DeepFlow publishes with no other tag.
var onlyLatest = map[string]bool{"deepflowio-init-grafana-ds-dh": true}

// imageRules: every image pinned, DeepFlow's images from one registry.
func (m *model) imageRules() {
	type img struct {
		v        layout.Value
		svc      string
		name     string
		registry string
	}
	var all []img
	rel := m.release()
	for _, cf := range []*layout.ComposeFile{m.d.Compose, m.d.AgentCompose} {
		if cf == nil {
			continue
		}
		for _, s := range cf.Services {
			v := s.Image
			if !v.Present() {
				continue
			}
			name, tag, digest := splitImage(v.Val)
			base := path.Base(name)
			registry := path.Dir(name)
			all = append(all, img{v: v, svc: s.Name, name: name, registry: registry})
			suggest := "pin the release's tag"
			if t := rel[base]; t != "" && t != "latest" {
				suggest = fmt.Sprintf("use %s:%s", name, t)
			}
			switch {
			case digest:
			case v.Val == "":
				m.errorf(v, "image", "set the image", "services.%s.image %q interpolates to nothing", s.Name, v.Raw)
			case strings.HasSuffix(v.Val, ":"):
				m.errorf(v, "image", "set the variable it uses in .env, e.g. DEEPFLOW_VERSION",
					"services.%s.image %q has an empty tag: the variable it uses is not set", s.Name, v.Raw)
			case (tag == "" || tag == "latest") && onlyLatest[base]:
				m.warnf(v, "image", fmt.Sprintf("pin it by digest once pulled: %s@sha256:…", name),
					"services.%s uses %s:latest; DeepFlow publishes this image only as latest, so two installs may differ", s.Name, base)
			case tag == "":
				m.errorf(v, "image", suggest, "services.%s.image %s has no tag, so Docker pulls whatever latest is that day", s.Name, v.Val)
			case tag == "latest":
				m.errorf(v, "image", suggest, "services.%s.image %s is not pinned: latest changes under you and may not match the rest of the stack", s.Name, v.Val)
			}
		}
	}
	// DeepFlow's images, from whichever mirror, come from one registry;
	// a mix usually means a mirror rewrite missed one.
	count := map[string]int{}
	var order []string
	for _, im := range all {
		if strings.Contains(im.registry, "deepflow") {
			if count[im.registry] == 0 {
				order = append(order, im.registry)
			}
			count[im.registry]++
		}
	}
	if len(count) < 2 {
		return
	}
	main := order[0]
	for _, r := range order {
		if count[r] > count[main] {
			main = r
		}
	}
	for _, im := range all {
		if strings.Contains(im.registry, "deepflow") && im.registry != main {
			m.warnf(im.v, "image-registry", fmt.Sprintf("use %s/%s like the other DeepFlow images", main, path.Base(im.v.Val)),
				"services.%s pulls from %s, while the other DeepFlow images come from %s", im.svc, im.registry, main)
		}
	}
}

// release maps image names to the tags the catalog pins for the inferred
// version, when it knows that version.
func (m *model) release() map[string]string {
	r, ok := catalogLine(m.version)
	if !ok {
		return nil
	}
	return map[string]string{
		"mysql": r.MySQL, "clickhouse-server": r.ClickHouse, "deepflow-server": r.DeepFlow, "deepflow-app": r.DeepFlow,
		"deepflow-agent": r.DeepFlow, "grafana": r.Grafana, "deepflowio-init-grafana": r.GrafanaInit,
		"deepflowio-init-grafana-ds-dh": r.GrafanaInitDsDh,
	}
}
