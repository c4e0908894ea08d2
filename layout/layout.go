// Package layout reads a deployment directory in DeepFlow's compose package
// layout, each file with a real parser for its format. render validates its
// own output with it and check reviews any directory with it.
package layout

import (
	"bytes"
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"path"
	"regexp"
	"strings"
	"sync"

	"github.com/compose-spec/compose-go/v2/dotenv"
	"github.com/compose-spec/compose-go/v2/loader"
	"github.com/compose-spec/compose-go/v2/types"
	"github.com/sirupsen/logrus"
	"gopkg.in/ini.v1"
	"gopkg.in/yaml.v3"

	"github.com/deepflow-compose/deepflow-compose/topology"
)

// ErrParse marks a file its format's parser rejected.
var ErrParse = errors.New("cannot parse")

func parseErr(file string, err error) error {
	return fmt.Errorf("%s: %w: %w", file, ErrParse, err)
}

// ReadEnv parses a .env file as Docker Compose does.
func ReadEnv(data []byte) (map[string]string, error) {
	env, err := dotenv.ParseWithLookup(bytes.NewReader(data), func(string) (string, bool) { return "", false })
	if err != nil {
		return nil, parseErr(topology.Env, redactEnvErr(err))
	}
	return env, nil
}

// skipSchemaKey marks a context whose compose loads skip compose-go's JSON
// schema check.
type skipSchemaKey struct{}

// WithoutSchema makes compose loads under ctx skip compose-go's JSON schema
// check (compiling the schema is a third of a render's CPU): render's own
// plan, from templates whose output the golden tests load with the schema,
// uses it. Everything else compose-go does (parsing, interpolation,
// normalisation, the consistency check) still runs.
func WithoutSchema(ctx context.Context) context.Context {
	return context.WithValue(ctx, skipSchemaKey{}, true)
}

var envErrLineRE = regexp.MustCompile(`^line (\d+): `)

// redactEnvErr keeps the line number and the kind of a .env parse error and
// drops the text dotenv quotes from the line: that text is a password as
// often as not, and error messages end up in tickets.
func redactEnvErr(err error) error {
	msg := err.Error()
	prefix := ""
	if m := envErrLineRE.FindStringSubmatch(msg); m != nil {
		prefix = "line " + m[1] + ": "
		msg = msg[len(m[0]):]
	}
	if i := strings.IndexAny(msg, "\"'`"); i >= 0 {
		msg = msg[:i]
	}
	msg = strings.TrimRight(msg, " :")
	return fmt.Errorf("%s%s (the line is not shown: .env holds passwords)", prefix, msg)
}

// LoadCompose loads a compose file with compose-go, interpolating env the
// way `docker compose` does with the directory's .env. compose-go's own
// log lines are kept out of the output; LoadComposeWarnings returns them.
func LoadCompose(ctx context.Context, dir, file string, data []byte, env map[string]string, project string) (*types.Project, error) {
	p, _, err := LoadComposeWarnings(ctx, dir, file, data, env, project)
	return p, err
}

// LoadComposeWarnings is LoadCompose, also returning what compose-go
// logged while loading (warnings such as an obsolete `version`).
func LoadComposeWarnings(ctx context.Context, dir, file string, data []byte, env map[string]string, project string) (*types.Project, []string, error) {
	details := types.ConfigDetails{
		WorkingDir:  dir,
		ConfigFiles: []types.ConfigFile{{Filename: path.Join(dir, file), Content: data}},
		Environment: env,
	}
	var p *types.Project
	var err error
	warnings := captureLog(func() {
		p, err = loader.LoadWithContext(ctx, details, func(o *loader.Options) {
			o.SetProjectName(project, true)
			o.SkipConsistencyCheck = false
			o.ResolvePaths = false
			o.SkipValidation, _ = ctx.Value(skipSchemaKey{}).(bool)
		})
	})
	if err != nil {
		return nil, warnings, parseErr(file, err)
	}
	return p, warnings, nil
}

// logMu serialises captures: compose-go logs through logrus's one global
// logger, so a capture owns it while it lasts.
var logMu sync.Mutex

type logCapture struct{ msgs []string }

func (c *logCapture) Levels() []logrus.Level { return logrus.AllLevels }
func (c *logCapture) Fire(e *logrus.Entry) error {
	c.msgs = append(c.msgs, e.Message)
	return nil
}

// captureLog runs f with logrus's standard logger silenced, returning the
// messages it logged.
func captureLog(f func()) []string {
	logMu.Lock()
	defer logMu.Unlock()
	l := logrus.StandardLogger()
	c := &logCapture{}
	hooks := logrus.LevelHooks{}
	hooks.Add(c)
	oldHooks := l.ReplaceHooks(hooks)
	oldOut := l.Out
	l.SetOutput(io.Discard)
	defer func() {
		l.SetOutput(oldOut)
		l.ReplaceHooks(oldHooks)
	}()
	f()
	return c.msgs
}

// YAML parses a YAML document, keeping line numbers.
func YAML(file string, data []byte) (*yaml.Node, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, parseErr(file, err)
	}
	if doc.Kind == 0 || len(doc.Content) == 0 {
		return &yaml.Node{Kind: yaml.MappingNode}, nil
	}
	return doc.Content[0], nil
}

// Get walks a dotted path of map keys. Keys that contain dots cannot be
// addressed; DeepFlow's files have none.
func Get(n *yaml.Node, dotted string) *yaml.Node {
	for _, k := range strings.Split(dotted, ".") {
		if n == nil || n.Kind != yaml.MappingNode {
			return nil
		}
		var next *yaml.Node
		for i := 0; i+1 < len(n.Content); i += 2 {
			if n.Content[i].Value == k {
				next = n.Content[i+1]
			}
		}
		n = next
	}
	return n
}

// INI parses an INI file (my.cnf, grafana.ini) with go-ini, the library
// Grafana itself uses.
func INI(file string, data []byte) (*ini.File, error) {
	f, err := ini.LoadSources(ini.LoadOptions{
		AllowBooleanKeys:         true, // my.cnf has bare flags like skip-name-resolve
		SpaceBeforeInlineComment: true,
	}, data)
	if err != nil {
		return nil, parseErr(file, err)
	}
	return f, nil
}

// Element is an XML element with the line it starts on.
type Element struct {
	Name     string
	Attr     map[string]string
	Text     string
	Line     int
	Children []*Element
}

// Find returns the first descendant along a slash-separated path of names.
func (e *Element) Find(p string) *Element {
	cur := e
	for _, name := range strings.Split(p, "/") {
		var next *Element
		for _, c := range cur.Children {
			if c.Name == name {
				next = c
				break
			}
		}
		if next == nil {
			return nil
		}
		cur = next
	}
	return cur
}

// XML parses an XML document with encoding/xml into an element tree.
func XML(file string, data []byte) (*Element, error) {
	dec := xml.NewDecoder(bytes.NewReader(data))
	var stack []*Element
	var root *Element
	for {
		line, _ := dec.InputPos()
		tok, err := dec.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, parseErr(file, err)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			e := &Element{Name: t.Name.Local, Attr: map[string]string{}, Line: line}
			for _, a := range t.Attr {
				e.Attr[a.Name.Local] = a.Value
			}
			if len(stack) > 0 {
				p := stack[len(stack)-1]
				p.Children = append(p.Children, e)
			} else if root == nil {
				root = e
			}
			stack = append(stack, e)
		case xml.EndElement:
			e := stack[len(stack)-1]
			e.Text = strings.TrimSpace(e.Text)
			stack = stack[:len(stack)-1]
		case xml.CharData:
			if len(stack) > 0 {
				stack[len(stack)-1].Text += string(t)
			}
		}
	}
	if root == nil {
		return nil, parseErr(file, errors.New("no root element"))
	}
	return root, nil
}
