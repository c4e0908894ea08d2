package check

import (
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/deepflow-compose/deepflow-compose/deployment"
	"github.com/deepflow-compose/deepflow-compose/internal/limits"
	"github.com/deepflow-compose/deepflow-compose/layout"
	"github.com/deepflow-compose/deepflow-compose/topology"
)

// offlineRules apply to a directory whose render manifest says offline:
// true. Such a directory is meant for a host with no way out, so every host
// it names that lies outside — an NTP server, a registry other than the
// mirror, an update check — is a request that will hang or fail there.
// Without the manifest nothing says the directory is meant for offline
// use, so nothing is reported.
func (m *model) offlineRules() {
	s := m.settings()
	if s == nil || !s.Offline {
		return
	}
	o := &offline{m: m, allowed: map[string]bool{}}
	for _, h := range []string{s.NodeIP, m.nodeIP, s.NTPServer} {
		if h != "" {
			o.allowed[strings.ToLower(h)] = true
		}
	}
	mirror := registryHost(strings.TrimSuffix(s.Registry, "/") + "/x")
	// Judged before it joins the allowed hosts: a public mirror is one.
	o.mirror(s.Registry, mirror)
	o.allowed[mirror] = true
	o.images(strings.TrimSuffix(s.Registry, "/"), mirror)
	for _, f := range []*layout.YAMLFile{m.d.ServerYAML, m.d.AppYAML, m.d.AgentYAML, m.d.GroupConfig} {
		o.yaml(f)
	}
	for _, cf := range []*layout.ComposeFile{m.d.Compose, m.d.AgentCompose} {
		o.compose(cf)
	}
	o.grafana()
	o.nextSteps()
}

type offline struct {
	m *model
	// allowed are hosts the render itself chose for this site: the node,
	// the NTP server, the mirror.
	allowed map[string]bool
}

const offlineFix = "point it at a host this site reaches, or re-render with offline: true"

// local reports whether host can be reached without leaving the site: a
// host the settings chose, a private, loopback or link-local address, a
// name without a dot (a compose service, localhost) or a name under a
// suffix that never resolves on the internet.
func (o *offline) local(host string) bool {
	h := strings.ToLower(strings.Trim(host, "[]"))
	if h == "" || o.allowed[h] {
		return true
	}
	if hp, _, err := net.SplitHostPort(h); err == nil {
		if o.allowed[hp] {
			return true
		}
		h = strings.Trim(hp, "[]")
	}
	if ip, err := netip.ParseAddr(h); err == nil {
		return ip.IsLoopback() || ip.IsPrivate() || ip.IsLinkLocalUnicast() || ip.IsUnspecified() || cgnat.Contains(ip.Unmap())
	}
	if !strings.Contains(h, ".") {
		return true
	}
	for _, suf := range siteSuffixes {
		if strings.HasSuffix(h, suf) {
			return true
		}
	}
	return false
}

// cgnat is shared address space (RFC 6598): inside a site, like RFC 1918.
var cgnat = netip.MustParsePrefix("100.64.0.0/10")

// siteSuffixes never resolve on the public internet (RFC 6761, 6762,
// 8375) or are conventionally internal.
var siteSuffixes = []string{".local", ".localdomain", ".localhost", ".lan", ".internal", ".intranet", ".corp", ".home.arpa", ".test", ".invalid", ".example"}

// registryHost is the registry an image reference pulls from, as Docker
// reads it: the first path element when it looks like a host, else Docker
// Hub.
func registryHost(ref string) string {
	first, _, ok := strings.Cut(ref, "/")
	if ok && (strings.ContainsAny(first, ".:") || first == "localhost") {
		return strings.ToLower(first)
	}
	return "docker.io"
}

// mirror: an offline directory whose images all name a public registry
// works only if every image was loaded under those names beforehand.
func (o *offline) mirror(registry, host string) {
	h, _, err := net.SplitHostPort(host)
	if err != nil {
		h = host
	}
	if o.local(h) {
		return
	}
	o.m.warnf(at(deployment.ManifestName, manifestLine(o.m.d.Root, `"registry"`)), "offline",
		"load the images with `deepflow-compose bundle load` before up, or re-render with registry set to a mirror this site runs",
		"offline: true, but every image names %s, a registry outside: up can only use images already loaded under these names, and tries to pull any other", registry)
}

// images: an image from a registry other than the mirror (an images.*
// override, or a hand edit) would be pulled from outside.
func (o *offline) images(registry, mirror string) {
	for _, cf := range []*layout.ComposeFile{o.m.d.Compose, o.m.d.AgentCompose} {
		if cf == nil {
			continue
		}
		for _, s := range cf.Services {
			v := s.Image
			if !v.Present() || v.Val == "" {
				continue
			}
			host := registryHost(v.Val)
			if host == mirror || o.local(host) {
				continue
			}
			o.m.warnf(v, "offline", fmt.Sprintf("use %s/%s, or load it with `deepflow-compose bundle load`", registry, lastElem(v.Val)),
				"services.%s pulls %s from %s, not from the mirror's registry %s; an offline host cannot reach it", s.Name, v.Val, host, mirror)
		}
	}
}

func lastElem(ref string) string {
	if i := strings.LastIndex(ref, "/"); i >= 0 {
		return ref[i+1:]
	}
	return ref
}

// hostKeyRE matches the last element of a key that names a host.
var hostKeyRE = regexp.MustCompile(`(?i)(host|server|url|endpoint|domain|addr|address|ips?)$`)

// hostOf returns the host a value names, or "" when it names none.
func hostOf(key, val string) string {
	val = strings.TrimSpace(val)
	if strings.Contains(val, "://") {
		u, err := url.Parse(val)
		if err != nil {
			return ""
		}
		return u.Hostname()
	}
	// The key's last element, without list indexes: controller-ips[0].
	last := key
	for strings.HasSuffix(last, "]") {
		i := strings.LastIndex(last, "[")
		if i < 0 {
			break
		}
		last = last[:i]
	}
	if i := strings.LastIndexAny(last, ". "); i >= 0 {
		last = last[i+1:]
	}
	if !hostKeyRE.MatchString(last) || val == "" {
		return ""
	}
	h := val
	if hp, _, err := net.SplitHostPort(val); err == nil {
		h = hp
	}
	if !hostnameRE.MatchString(h) {
		return ""
	}
	return h
}

// hostnameRE: a dotted name whose last label is not all digits, or an IP.
var hostnameRE = regexp.MustCompile(`^([A-Za-z0-9-]+\.)+[A-Za-z][A-Za-z0-9-]*$|^[0-9.]+$|^[0-9a-fA-F:]+:[0-9a-fA-F:.]*$`)

func (o *offline) yaml(f *layout.YAMLFile) {
	f.Scalars(func(v layout.Value) {
		h := hostOf(v.Key, v.Val)
		if h == "" || o.local(h) {
			return
		}
		what := "a host outside this site"
		fix := offlineFix
		if strings.HasSuffix(v.Key, "chrony.host") {
			what = "an NTP server outside this site, so agents' clocks drift"
			fix = "set ntpServer to a time source this site runs and re-render (offline defaults it to the node IP)"
		}
		o.m.warnf(v, "offline", fix, "%s is %s, %s; this directory is meant for offline use", v.Key, h, what)
	})
}

func (o *offline) compose(cf *layout.ComposeFile) {
	if cf == nil {
		return
	}
	for _, s := range cf.Services {
		for name, v := range s.Env {
			h := hostOf(name, v.Val)
			if h == "" || o.local(h) {
				continue
			}
			o.m.warnf(v, "offline", offlineFix, "services.%s.environment.%s names %s, a host outside this site; this directory is meant for offline use", s.Name, name, h)
		}
	}
}

// grafana: update checks and usage reports, on unless set to false, call
// grafana.com from every Grafana. [grafana_net] url is left alone: Grafana
// calls it only for those checks or when a plugin is installed by hand.
func (o *offline) grafana() {
	f := o.m.d.GrafanaINI
	if f == nil {
		return
	}
	for _, key := range []string{"check_for_updates", "check_for_plugin_updates", "reporting_enabled"} {
		v, ok := f.Get("analytics", key)
		if ok && strings.EqualFold(strings.TrimSpace(v.Val), "false") {
			continue
		}
		loc := v
		if !ok {
			loc = at(topology.GrafanaINI, f.SectionLine("analytics"))
		}
		o.m.warnf(loc, "offline", "set "+key+" = false under [analytics]",
			"[analytics] %s is %s, so Grafana calls grafana.com, which an offline host cannot reach", key, onByDefault(v, ok))
	}
}

func onByDefault(v layout.Value, ok bool) string {
	if !ok {
		return "not set (Grafana's default is true)"
	}
	return v.Val
}

var fetchURLRE = regexp.MustCompile(`https?://[^\s"'<>)]+`)

// nextSteps: a command in NEXT-STEPS.md that fetches from outside fails on
// an offline host; say so before someone is standing at it.
func (o *offline) nextSteps() {
	b, err := limits.ReadFile(filepath.Join(o.m.d.Root, topology.NextSteps), limits.Config)
	if err != nil {
		return
	}
	for i, line := range layout.Lines(b) {
		for _, raw := range fetchURLRE.FindAllString(line, -1) {
			u, err := url.Parse(raw)
			if err != nil || o.local(u.Hostname()) {
				continue
			}
			o.m.warnf(at(topology.NextSteps, i+1), "offline", "fetch it on a connected host and copy it over with the bundle",
				"this step fetches from %s, which an offline host cannot reach", u.Hostname())
		}
	}
}

// manifestLine finds the line of a key in the render manifest, 0 when
// absent.
func manifestLine(dir, key string) int {
	b, err := limits.ReadFile(filepath.Join(dir, deployment.ManifestName), limits.Manifest)
	if err != nil {
		return 0
	}
	for i, l := range layout.Lines(b) {
		if strings.Contains(l, key) {
			return i + 1
		}
	}
	return 0
}
