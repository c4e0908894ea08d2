// Package catalog pins, for each DeepFlow release line, every image tag and
// the facts that differ between releases (group-config format, deepflow-ctl
// syntax). It is data, embedded from catalog.yaml.
package catalog

import (
	_ "embed"
	"errors"
	"fmt"
	"sort"
	"strings"

	"gopkg.in/yaml.v3"
)

//go:embed catalog.yaml
var catalogYAML []byte

// Release pins everything one DeepFlow release line needs.
type Release struct {
	Name            string `yaml:"-"`
	DeepFlow        string `yaml:"deepflow"`
	ClickHouse      string `yaml:"clickhouse"`
	MySQL           string `yaml:"mysql"`
	Grafana         string `yaml:"grafana"`
	GrafanaInit     string `yaml:"grafanaInit"`
	GrafanaInitDsDh string `yaml:"grafanaInitDsDh"`
	// GroupConfigFormat is "legacy" (vtap_group_id + static_config) or
	// "sectioned" (global/inputs/… from v6.6 on).
	GroupConfigFormat string `yaml:"groupConfigFormat"`
	// CtlCreateTakesGroupID: `agent-group-config create GROUP_ID -f F`
	// rather than `create -f F`.
	CtlCreateTakesGroupID bool   `yaml:"ctlCreateTakesGroupID"`
	CtlNote               string `yaml:"ctlNote"`
	// Releases are the DeepFlow builds the image tag may pull (agentcfg
	// and serverkeys names); every rendered file must suit each of them.
	Releases []string `yaml:"releases"`
	// Schema is, per release in Releases, the database versions its
	// server expects.
	Schema map[string]Schema `yaml:"schema"`
}

// Catalog is the embedded table of supported releases.
type Catalog struct {
	Versions map[string]*Release `yaml:"versions"`
}

// ErrUnknownVersion is returned for a version the catalog does not pin.
var ErrUnknownVersion = errors.New("unknown version")

var catalog = func() *Catalog {
	var c Catalog
	dec := yaml.NewDecoder(strings.NewReader(string(catalogYAML)))
	dec.KnownFields(true)
	if err := dec.Decode(&c); err != nil {
		panic("catalog: embedded catalog.yaml: " + err.Error())
	}
	for name, r := range c.Versions {
		r.Name = name
		if len(r.Releases) == 0 {
			panic("render: embedded catalog.yaml: " + name + " lists no releases")
		}
		if err := r.checkSchema(); err != nil {
			panic("catalog: embedded catalog.yaml: " + name + ": " + err.Error())
		}
	}
	return &c
}()

// Versions lists the supported release lines, oldest first.
func Versions() []string {
	out := make([]string, 0, len(catalog.Versions))
	for v := range catalog.Versions {
		out = append(out, v)
	}
	sort.Strings(out)
	return out
}

// Lookup finds a release line. "7.1" and "v7.1" both work.
func Lookup(v string) (*Release, error) {
	given := v
	// "V7.1", "7.1" and "v7.1" name one release; the error quotes what
	// was typed, not a spelling the user never wrote.
	if rest, ok := strings.CutPrefix(strings.ToLower(v), "v"); ok || v != "" {
		v = "v" + rest
	}
	r, ok := catalog.Versions[v]
	if !ok {
		return nil, fmt.Errorf("%w %q (supported: %s)", ErrUnknownVersion, given, strings.Join(Versions(), ", "))
	}
	return r, nil
}

// Images are the pinned image references of one render.
type Images struct {
	MySQL, ClickHouse, Server, App, Grafana, GrafanaInit, GrafanaInitDsDh, Agent string
}

func (r *Release) images(registry string) Images {
	reg := strings.TrimSuffix(registry, "/")
	ref := func(name, tag string) string { return reg + "/" + name + ":" + tag }
	return Images{
		MySQL:           ref("mysql", r.MySQL),
		ClickHouse:      ref("clickhouse-server", r.ClickHouse),
		Server:          ref("deepflow-server", r.DeepFlow),
		App:             ref("deepflow-app", r.DeepFlow),
		Grafana:         ref("grafana", r.Grafana),
		GrafanaInit:     ref("deepflowio-init-grafana", r.GrafanaInit),
		GrafanaInitDsDh: ref("deepflowio-init-grafana-ds-dh", r.GrafanaInitDsDh),
		Agent:           ref("deepflow-agent", r.DeepFlow),
	}
}

// ImageKeys are the components whose image can be overridden, as
// images.<key> names them.
var ImageKeys = []string{"mysql", "clickhouse", "server", "app", "grafana", "grafanaInit", "grafanaInitDsDh", "agent"}

// IsImageKey reports whether key names a component whose image can be
// overridden.
func IsImageKey(key string) bool { return (&Images{}).field(key) != nil }

func (im *Images) field(key string) *string {
	switch key {
	case "mysql":
		return &im.MySQL
	case "clickhouse":
		return &im.ClickHouse
	case "server":
		return &im.Server
	case "app":
		return &im.App
	case "grafana":
		return &im.Grafana
	case "grafanaInit":
		return &im.GrafanaInit
	case "grafanaInitDsDh":
		return &im.GrafanaInitDsDh
	case "agent":
		return &im.Agent
	}
	return nil
}

// ErrUnknownComponent is returned for an image override of a component
// the stack does not have.
var ErrUnknownComponent = errors.New("unknown component")

// Resolve pins every image of a release under registry, then applies
// single-image overrides keyed by ImageKeys.
func Resolve(version, registry string, overrides map[string]string) (Images, error) {
	r, err := Lookup(version)
	if err != nil {
		return Images{}, err
	}
	im := r.images(registry)
	for k, v := range overrides {
		f := im.field(k)
		if f == nil {
			return Images{}, fmt.Errorf("images.%s: %w (one of %s)", k, ErrUnknownComponent, strings.Join(ImageKeys, ", "))
		}
		*f = v
	}
	return im, nil
}

// Named returns the images keyed by component, in ImageKeys order.
func (im Images) Named() [][2]string {
	var out [][2]string
	for _, k := range ImageKeys {
		c := im
		out = append(out, [2]string{k, *c.field(k)})
	}
	return out
}

// List returns every image, sorted, without duplicates.
func (im Images) List() []string {
	all := []string{im.MySQL, im.ClickHouse, im.Server, im.App, im.Grafana, im.GrafanaInit, im.GrafanaInitDsDh, im.Agent}
	sort.Strings(all)
	out := all[:0]
	for i, s := range all {
		if i == 0 || s != all[i-1] {
			out = append(out, s)
		}
	}
	return out
}
