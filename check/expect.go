package check

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/deepflow-compose/deepflow-compose/deployment"
	"github.com/deepflow-compose/deepflow-compose/layout"
	"github.com/deepflow-compose/deepflow-compose/settings"
	"github.com/deepflow-compose/deepflow-compose/topology"
)

// Expect is what a render meant to write. With it the review also holds
// every consumer and bind row to the intended topology, not only to the
// directory's own consistency, and every secret to the value generated.
type Expect struct {
	Topology *topology.Topology
	// Env are .env's variables as render wrote them, secrets included.
	Env map[string]string
	// Settings are the render's, in place of the manifest it has not
	// written yet.
	Settings *settings.Settings
	// GroupConfigFormat selects the group config's rows: legacy or
	// sectioned.
	GroupConfigFormat string
}

// Plan reviews a render held in memory: files by layout path, dir where
// they will be written.
func Plan(ctx context.Context, dir string, files map[string][]byte, want Expect) *Report {
	m := newModel(layout.Parse(ctx, dir, files))
	m.expect = &want
	m.run()
	return m.report()
}

// expectRules: with an Expect, every row of the consumer and bind tables
// reads exactly what the intended topology resolves, .env reads back as
// written, and the compose file publishes what the topology says.
func (m *model) expectRules() {
	x := m.expect
	if x == nil {
		return
	}
	t := x.Topology
	const rule = "render"
	const fix = "this is a defect of deepflow-compose's templates; please report it"
	for name, want := range x.Env {
		if v, ok := m.d.Env.Get(name); !ok || v.Val != want {
			m.errorf(at(topology.Env, v.Line), rule, fix, "%s does not read back as the value written", name)
		}
	}
	same := func(file, key, want string) {
		vals := m.d.Values(file, key)
		var got []string
		line := 0
		for _, v := range vals {
			got = append(got, v.Val)
			line = v.Line
		}
		switch {
		case len(vals) == 0:
			m.errorf(at(file, 0), rule, fix, "%s is missing, want %s", key, want)
		case strings.Join(got, ",") != want:
			m.errorf(at(file, line), rule, fix, "%s is %q, want %q", key, strings.Join(got, ","), want)
		}
	}
	for _, c := range topology.Consumers {
		if !m.d.Has(c.File) || (c.GroupConfigFormat != "" && c.GroupConfigFormat != x.GroupConfigFormat) {
			continue
		}
		e, err := t.Dial(c)
		if err != nil {
			m.errorf(at(c.File, 0), rule, fix, "%v", err)
			continue
		}
		switch c.File {
		case topology.NextSteps:
			continue // prose
		case topology.Compose:
			in := t.Component(c.In)
			v, ok := envOf(m.service(in), c.Host)
			if want := e.Written(c.Form); !ok || v.Val != want {
				m.errorf(at(c.File, v.Line), rule, fix, "services.%s.environment.%s is not %q", in.Service, c.Host, want)
			}
			continue
		}
		if c.Form == topology.FormSplit {
			same(c.File, c.Host, e.Host)
			same(c.File, c.Port, strconv.Itoa(e.Port))
		} else {
			same(c.File, c.Host, e.Written(c.Form))
		}
	}
	for _, b := range topology.Binds {
		if !m.d.Has(b.File) {
			continue
		}
		l, _ := t.Listener(b.To)
		if b.Addr {
			same(b.File, b.Key, l.Bind)
		} else {
			same(b.File, b.Key, strconv.Itoa(l.Port))
		}
	}
	cf := m.d.Compose
	if cf == nil {
		return
	}
	for _, c := range t.Services() {
		s := cf.Service(c.Service)
		if s == nil {
			continue // missing-service
		}
		if t.Network == settings.Host || c.HostNetwork {
			if s.NetworkMode.Val != "host" {
				m.errorf(at(cf.File, s.Line), rule, fix, "services.%s.network_mode must be host", c.Service)
			}
			continue
		}
		var got []string
		for _, p := range s.Ports {
			got = append(got, fmt.Sprintf("%s:%d", p.Published, p.Target))
		}
		if want := c.Publish(); strings.Join(got, ",") != strings.Join(want, ",") {
			m.errorf(at(cf.File, s.Line), rule, fix, "services.%s.ports are %v, want %v", c.Service, got, want)
		}
	}
}

// report sorts and counts the findings.
func (m *model) report() *Report {
	r := &Report{Findings: m.findings, Inferred: m.inferred()}
	sortFindings(r.Findings)
	r.Findings = dedupe(r.Findings)
	if r.Findings == nil {
		r.Findings = []Finding{}
	}
	for _, f := range r.Findings {
		if f.Severity == Error {
			r.Summary.Errors++
		} else {
			r.Summary.Warnings++
		}
	}
	return r
}

// settings are the render's settings: the ones a render under review
// passed, else those its manifest recorded; nil for a directory we did not
// render.
func (m *model) settings() *settings.Settings {
	if m.expect != nil {
		return m.expect.Settings
	}
	man, err := deployment.ReadManifest(m.d.Root)
	if err != nil || man == nil {
		return nil
	}
	return &man.Settings
}
