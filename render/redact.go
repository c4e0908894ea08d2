package render

import (
	"fmt"
	"regexp"
	"sort"
	"strings"

	"github.com/deepflow-compose/deepflow-compose/layout"
	"github.com/deepflow-compose/deepflow-compose/topology"
)

// Redactor hides secret values in text people paste into tickets (diff
// output), while still telling one value from another: each distinct
// value becomes «secret N», so a changed password shows as a changed
// label and an unchanged one as an unchanged line.
type Redactor struct {
	values []string // longest first, so a value inside another is not split
	label  map[string]string
	n      int
	// Changed lists the secrets (by .env name) whose value differs
	// between the old and the new .env.
	Changed []string
}

// A key naming a secret, in YAML, .env, INI or JSON: everything after the
// separator is the value.
var (
	secretKeyRE = regexp.MustCompile(`(?i)^(\s*(?:-\s*)?"?[A-Za-z0-9_.\-]*(?:password|passwd|secret|token)[A-Za-z0-9_.\-]*"?\s*[:=]\s*)(.+)$`)
	secretXMLRE = regexp.MustCompile(`(?i)(<(password|password_sha256_hex|password_double_sha1_hex)\b[^>]*>)([^<]+)(</)`)
	// References say where a secret comes from, not what it is.
	referenceRE = regexp.MustCompile(`^["']?(\$\{[^}]*\}|\$__env\{[^}]*\}|\$[A-Za-z_][A-Za-z0-9_]*|"")["']?,?$`)
)

// NewRedactor knows the secret values of both sides: the old and new .env
// of the changes, plus any extra values (secrets given by settings).
func NewRedactor(changes []Change, extra ...string) *Redactor {
	r := &Redactor{label: map[string]string{}}
	seen := map[string]bool{}
	add := func(v string) {
		if len(v) < 3 || seen[v] { // shorter ones would blank ordinary text
			return
		}
		seen[v] = true
		r.values = append(r.values, v)
	}
	for _, v := range extra {
		add(v)
	}
	secretVars := []string{topology.Vars.MySQLPassword, topology.Vars.ClickHousePassword, topology.Vars.GrafanaPass}
	for _, c := range changes {
		if c.Path != topology.Env {
			continue
		}
		oldEnv, _ := layout.ReadEnv(c.Old)
		newEnv, _ := layout.ReadEnv(c.New)
		for _, k := range secretVars {
			add(oldEnv[k])
			add(newEnv[k])
			if c.Old != nil && oldEnv[k] != newEnv[k] {
				r.Changed = append(r.Changed, k)
			}
		}
	}
	sort.SliceStable(r.values, func(i, j int) bool { return len(r.values[i]) > len(r.values[j]) })
	return r
}

func (r *Redactor) labelOf(v string) string {
	if l, ok := r.label[v]; ok {
		return l
	}
	r.n++
	l := fmt.Sprintf("«secret %d»", r.n)
	r.label[v] = l
	return l
}

// Text redacts every line of s: known secret values wherever they appear,
// and the value of any key that names a password.
func (r *Redactor) Text(s string) string {
	if s == "" {
		return s
	}
	lines := strings.SplitAfter(s, "\n")
	for i, l := range lines {
		lines[i] = r.line(l)
	}
	return strings.Join(lines, "")
}

func (r *Redactor) line(l string) string {
	body := strings.TrimRight(l, "\r\n")
	end := l[len(body):]
	for _, v := range r.values {
		if strings.Contains(body, v) {
			body = strings.ReplaceAll(body, v, r.labelOf(v))
		}
	}
	body = secretXMLRE.ReplaceAllStringFunc(body, func(m string) string {
		p := secretXMLRE.FindStringSubmatch(m)
		return p[1] + r.labelOf(p[3]) + p[4]
	})
	if m := secretKeyRE.FindStringSubmatch(body); m != nil {
		v := strings.TrimSpace(m[2])
		if !referenceRE.MatchString(v) && !strings.Contains(v, "«secret ") {
			body = m[1] + r.labelOf(v)
		}
	}
	return body + end
}
