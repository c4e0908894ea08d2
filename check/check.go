package check

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/deepflow-compose/deepflow-compose/layout"
)

// Severity says whether a finding breaks the deployment.
type Severity string

const (
	// Error: the stack or an agent will not work as the files stand.
	Error Severity = "error"
	// Warning: it works, but it is unsafe or relies on something fragile.
	Warning Severity = "warning"
)

// Finding is one problem at one place.
type Finding struct {
	Severity Severity `json:"severity"`
	// File is slash-separated and relative to the reviewed directory.
	File string `json:"file"`
	// Line is 1-based; 0 when the problem is the file's as a whole, or a
	// setting the file lacks.
	Line    int    `json:"line"`
	Rule    string `json:"rule"`
	Message string `json:"message"`
	Fix     string `json:"fix"`
}

// Inferred is what the review read from the directory before judging it.
type Inferred struct {
	Network string `json:"network"`
	// NodeIP is "" when the directory never says it.
	NodeIP  string `json:"nodeIP"`
	Version string `json:"version"`
	Ports   Ports  `json:"ports"`
}

// Ports are the listeners' ports the review settled on.
type Ports struct {
	MySQL          int `json:"mysql"`
	ClickHouseTCP  int `json:"clickhouseTCP"`
	ClickHouseHTTP int `json:"clickhouseHTTP"`
	Grafana        int `json:"grafana"`
	// What agents and deepflow-ctl must use in this network mode.
	AgentController int `json:"agentController"`
	AgentIngester   int `json:"agentIngester"`
	CtlAPI          int `json:"ctlAPI"`
}

// Summary counts the findings.
type Summary struct {
	Errors   int `json:"errors"`
	Warnings int `json:"warnings"`
}

// Report is the result of one review. Its JSON form is documented in
// doc.go and kept stable.
type Report struct {
	Findings []Finding `json:"findings"`
	Summary  Summary   `json:"summary"`
	Inferred Inferred  `json:"inferred"`
}

// Options tune a review.
type Options struct {
	// Context bounds compose-go's loading; nil means Background.
	Context context.Context
}

// ErrUnreadable is returned when the directory cannot be read at all.
var ErrUnreadable = layout.ErrUnreadable

// Run reviews the deployment directory dir.
func Run(dir string, opts Options) (*Report, error) {
	ctx := opts.Context
	if ctx == nil {
		ctx = context.Background()
	}
	d, err := layout.Read(ctx, dir)
	if err != nil {
		return nil, err
	}
	m := newModel(d)
	m.run()
	return m.report(), nil
}

// ReportOf makes a report of findings another linter found (an exported
// Helm values directory), sorted and counted as check's own.
func ReportOf(findings []Finding) *Report {
	m := &model{findings: findings}
	return m.report()
}

// RuleUnreadable names a finding about a file that could not be read at
// all; check exits 2 for it, as for an unreadable directory.
const RuleUnreadable = "unreadable"

// Unreadable reports whether a file of the layout could not be read.
func (r *Report) Unreadable() bool {
	for _, f := range r.Findings {
		if f.Rule == RuleUnreadable {
			return true
		}
	}
	return false
}

// HasErrors reports whether any finding is an error.
func (r *Report) HasErrors() bool { return r.Summary.Errors > 0 }

func sortFindings(fs []Finding) {
	sort.SliceStable(fs, func(i, j int) bool {
		a, b := fs[i], fs[j]
		if a.File != b.File {
			return a.File < b.File
		}
		if a.Line != b.Line {
			return a.Line < b.Line
		}
		if a.Severity != b.Severity {
			return a.Severity == Error
		}
		if a.Rule != b.Rule {
			return a.Rule < b.Rule
		}
		return a.Message < b.Message
	})
}

// dedupe drops exact repeats, which two rules reaching the same fact from
// two sides can produce.
func dedupe(fs []Finding) []Finding {
	var out []Finding
	for i, f := range fs {
		if i > 0 && f == fs[i-1] {
			continue
		}
		out = append(out, f)
	}
	return out
}

// WriteJSON writes the report as indented JSON with a trailing newline.
func (r *Report) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(r)
}

// WriteText writes the report for people: one finding per paragraph, then
// a summary line.
func (r *Report) WriteText(w io.Writer) error {
	var b strings.Builder
	for _, f := range r.Findings {
		loc := f.File
		if f.Line > 0 {
			loc += ":" + strconv.Itoa(f.Line)
		}
		fmt.Fprintf(&b, "%s: %s: %s [%s]\n", loc, f.Severity, f.Message, f.Rule)
		if f.Fix != "" {
			fmt.Fprintf(&b, "    fix: %s\n", f.Fix)
		}
	}
	in := r.Inferred
	ip := in.NodeIP
	if ip == "" {
		ip = "unknown"
	}
	ver := in.Version
	if ver == "" {
		ver = "unknown"
	}
	if in.Network == "" {
		// Not a deployment (an exported values directory): nothing inferred.
		fmt.Fprintf(&b, "%d error(s), %d warning(s).\n", r.Summary.Errors, r.Summary.Warnings)
	} else {
		fmt.Fprintf(&b, "%d error(s), %d warning(s); read as %s networking, node IP %s, DeepFlow %s.\n",
			r.Summary.Errors, r.Summary.Warnings, in.Network, ip, ver)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

var lineRE = regexp.MustCompile(`line (\d+)`)

// lineOf pulls a line number out of a parser's message, 0 when none.
func lineOf(err error) int {
	if err == nil {
		return 0
	}
	if m := lineRE.FindStringSubmatch(err.Error()); m != nil {
		n, _ := strconv.Atoi(m[1])
		return n
	}
	return 0
}
