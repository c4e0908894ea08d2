package layout

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"

	"github.com/compose-spec/compose-go/v2/loader"
	"github.com/compose-spec/compose-go/v2/template"
	"github.com/compose-spec/compose-go/v2/types"
	"github.com/deepflow-compose/deepflow-compose/internal/limits"
	"github.com/deepflow-compose/deepflow-compose/topology"
	"gopkg.in/ini.v1"
	"gopkg.in/yaml.v3"
)

// Files lists every file of the layout Read looks at, in a stable order.
var Files = []string{
	topology.Env, topology.Compose, topology.MyCnf, topology.InitSQL, topology.ClickHouseConf, topology.ClickHouseUser, topology.ServerYAML, topology.AppYAML, topology.GrafanaINI,
	topology.AgentYAML, topology.GroupConfig, topology.AgentCompose, topology.AgentUnit, topology.AgentDomain,
}

// ErrUnreadable marks a directory that cannot be read at all.
var ErrUnreadable = errors.New("cannot read the directory")

// Value is one setting as a file states it.
type Value struct {
	File string // slash-separated, relative to the directory
	Line int    // 1-based; 0 when the setting is absent
	Key  string // how the file names it, e.g. controller.mysql.host or [database] host
	Raw  string // as written
	// Val is what the consumer sees: for compose values after
	// interpolation with .env, elsewhere the same as Raw.
	Val string
}

// Present reports whether the file sets the value at all.
func (v Value) Present() bool { return v.Line > 0 }

// FileError is a file of the layout that exists but could not be read or
// parsed.
type FileError struct {
	File string
	Err  error
	// Unreadable: the file could not be read at all (a directory, a
	// symlink loop, no permission, over the size limit), as opposed to
	// read and refused by its parser.
	Unreadable bool
}

// Dir is a deployment directory read with each format's real parser.
// Missing files leave their field nil; every accessor is nil-safe.
type Dir struct {
	Root   string
	Data   map[string][]byte // every layout file present, as read
	Errors []FileError

	Env                             *EnvFile
	Compose, AgentCompose           *ComposeFile
	MyCnf, GrafanaINI               *INIFile
	ServerYAML, AppYAML             *YAMLFile
	AgentYAML, GroupConfig          *YAMLFile
	ClickHouseConf, ClickHouseUsers *XMLFile
}

// Has reports whether the layout file exists in the directory.
func (d *Dir) Has(name string) bool { _, ok := d.Data[name]; return ok }

// Read loads every file of the layout that dir holds. It fails only when
// dir itself cannot be read; unparsable files are listed in Errors and
// left nil, so a review can go on with the rest.
func Read(ctx context.Context, dir string) (*Dir, error) {
	st, err := os.Stat(dir)
	if err != nil {
		return nil, fmt.Errorf("%w %s: %v", ErrUnreadable, dir, err)
	}
	if !st.IsDir() {
		return nil, fmt.Errorf("%w %s: not a directory", ErrUnreadable, dir)
	}
	if _, err := os.ReadDir(dir); err != nil {
		return nil, fmt.Errorf("%w %s: %v", ErrUnreadable, dir, err)
	}
	files := map[string][]byte{}
	var errs []FileError
	for _, name := range Files {
		limit := int64(limits.Config)
		if name == topology.Env {
			limit = limits.Env
		}
		full := filepath.Join(dir, filepath.FromSlash(name))
		// A named pipe blocks the open until something writes to it, and
		// may never end; a socket cannot be read at all.
		if st, err := os.Stat(full); err == nil && st.Mode()&(fs.ModeNamedPipe|fs.ModeSocket) != 0 {
			kind := "socket"
			if st.Mode()&fs.ModeNamedPipe != 0 {
				kind = "named pipe"
			}
			errs = append(errs, FileError{File: name, Err: fmt.Errorf("is a %s, not a regular file", kind), Unreadable: true})
			continue
		}
		b, err := limits.ReadFile(full, limit)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			errs = append(errs, FileError{File: name, Err: readErr(err), Unreadable: true})
			continue
		}
		files[name] = b
	}
	d := Parse(ctx, dir, files)
	d.Errors = append(errs, d.Errors...)
	return d, nil
}

// readErr drops the path from an I/O error: findings name the file already.
func readErr(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// Parse reads the layout's files from memory, each with its format's
// parser, as Read does from disk: render reviews its plan with it before
// anything is written. dir is where the compose file's relative paths
// resolve and what names the project when .env does not.
func Parse(ctx context.Context, dir string, files map[string][]byte) *Dir {
	d := &Dir{Root: dir, Data: map[string][]byte{}}
	for _, name := range Files {
		if b, ok := files[name]; ok {
			d.Data[name] = b
		}
	}
	fail := func(name string, err error) { d.Errors = append(d.Errors, FileError{File: name, Err: err}) }

	env := map[string]string{}
	if b, ok := d.Data[topology.Env]; ok {
		if vars, err := ReadEnv(b); err != nil {
			fail(topology.Env, err)
		} else {
			env = vars
			d.Env = &EnvFile{File: topology.Env, Vars: vars, data: b}
		}
	}
	for _, name := range []string{topology.ServerYAML, topology.AppYAML, topology.AgentYAML, topology.GroupConfig} {
		b, ok := d.Data[name]
		if !ok {
			continue
		}
		n, err := YAML(name, b)
		if err != nil {
			fail(name, err)
			continue
		}
		f := &YAMLFile{File: name, Root: n}
		switch name {
		case topology.ServerYAML:
			d.ServerYAML = f
		case topology.AppYAML:
			d.AppYAML = f
		case topology.AgentYAML:
			d.AgentYAML = f
		case topology.GroupConfig:
			d.GroupConfig = f
		}
	}
	for _, name := range []string{topology.MyCnf, topology.GrafanaINI} {
		b, ok := d.Data[name]
		if !ok {
			continue
		}
		f, err := INI(name, b)
		if err != nil {
			fail(name, err)
			continue
		}
		if name == topology.MyCnf {
			d.MyCnf = &INIFile{File: name, F: f, data: b}
		} else {
			d.GrafanaINI = &INIFile{File: name, F: f, data: b}
		}
	}
	for _, name := range []string{topology.ClickHouseConf, topology.ClickHouseUser} {
		b, ok := d.Data[name]
		if !ok {
			continue
		}
		root, err := XML(name, b)
		if err != nil {
			fail(name, err)
			continue
		}
		if name == topology.ClickHouseConf {
			d.ClickHouseConf = &XMLFile{File: name, Root: root}
		} else {
			d.ClickHouseUsers = &XMLFile{File: name, Root: root}
		}
	}
	project := env[topology.Vars.ProjectName]
	if project == "" {
		project = loader.NormalizeProjectName(filepath.Base(dir))
	}
	if project == "" {
		project = "deepflow"
	}
	if b, ok := d.Data[topology.Compose]; ok {
		d.Compose = readCompose(ctx, dir, topology.Compose, b, env, project)
	}
	if b, ok := d.Data[topology.AgentCompose]; ok {
		// The agent's compose file is copied to another host without .env.
		d.AgentCompose = readCompose(ctx, dir, topology.AgentCompose, b, map[string]string{}, "deepflow-agent")
	}
	return d
}

// Values reads a key of a YAML (dotted path, each item of a list), INI
// ("section.key") or XML (slash path, each repeat) file of the layout.
func (d *Dir) Values(file, key string) []Value {
	switch file {
	case topology.ServerYAML:
		return d.ServerYAML.Strings(key)
	case topology.AppYAML:
		return d.AppYAML.Strings(key)
	case topology.AgentYAML:
		return d.AgentYAML.Strings(key)
	case topology.GroupConfig:
		return d.GroupConfig.Strings(key)
	case topology.MyCnf, topology.GrafanaINI:
		f := d.MyCnf
		if file == topology.GrafanaINI {
			f = d.GrafanaINI
		}
		section, k, _ := strings.Cut(key, ".")
		if v, ok := f.Get(section, k); ok {
			return []Value{v}
		}
	case topology.ClickHouseConf, topology.ClickHouseUser:
		f := d.ClickHouseConf
		if file == topology.ClickHouseUser {
			f = d.ClickHouseUsers
		}
		var out []Value
		for _, e := range f.FindAll(key) {
			out = append(out, f.Value(e, key))
		}
		return out
	}
	return nil
}

// EnvFile is .env.
type EnvFile struct {
	File string
	Vars map[string]string
	data []byte
}

var envLineRE = regexp.MustCompile(`^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_.]*)\s*=`)

// Get returns a variable and the line that sets it (the last one wins, as
// in compose).
func (f *EnvFile) Get(name string) (Value, bool) {
	if f == nil {
		return Value{}, false
	}
	v, ok := f.Vars[name]
	if !ok {
		return Value{}, false
	}
	line := 0
	for i, l := range lines(f.data) {
		if m := envLineRE.FindStringSubmatch(l); m != nil && m[1] == name {
			line = i + 1
		}
	}
	return Value{File: f.File, Line: line, Key: name, Raw: v, Val: v}, true
}

// YAMLFile is a parsed YAML config file.
type YAMLFile struct {
	File string
	Root *yaml.Node
}

// Node returns the node at a dotted path, or nil.
func (f *YAMLFile) Node(key string) *yaml.Node {
	if f == nil {
		return nil
	}
	return Get(f.Root, key)
}

// Get returns the scalar at a dotted path. A key present with an empty
// value is present; a mapping or list is not a scalar and reports false.
func (f *YAMLFile) Get(key string) (Value, bool) {
	n := f.Node(key)
	if n == nil || n.Kind != yaml.ScalarNode {
		return Value{}, false
	}
	v := n.Value
	if n.Tag == "!!null" {
		v = ""
	}
	return Value{File: f.File, Line: n.Line, Key: key, Raw: v, Val: v}, true
}

// Strings returns a scalar or each scalar of a list at a dotted path.
func (f *YAMLFile) Strings(key string) []Value {
	n := f.Node(key)
	if n == nil {
		return nil
	}
	if n.Kind == yaml.ScalarNode {
		v, _ := f.Get(key)
		return []Value{v}
	}
	var out []Value
	for i, c := range n.Content {
		if c.Kind == yaml.ScalarNode {
			out = append(out, Value{File: f.File, Line: c.Line, Key: key + "[" + strconv.Itoa(i) + "]", Raw: c.Value, Val: c.Value})
		}
	}
	return out
}

// KeyLine is the line of the key at a dotted path, 0 when absent.
func (f *YAMLFile) KeyLine(key string) int {
	if f == nil {
		return 0
	}
	return keyLine(f.Root, key)
}

func keyLine(root *yaml.Node, key string) int {
	parent, last := root, key
	if i := strings.LastIndex(key, "."); i >= 0 {
		parent, last = Get(root, key[:i]), key[i+1:]
	}
	if parent == nil || parent.Kind != yaml.MappingNode {
		return 0
	}
	line := 0
	for i := 0; i+1 < len(parent.Content); i += 2 {
		if parent.Content[i].Value == last {
			line = parent.Content[i].Line
		}
	}
	return line
}

// Scalars walks every scalar value of the document (not the keys), with
// its dotted path.
func (f *YAMLFile) Scalars(fn func(Value)) {
	if f == nil {
		return
	}
	var walk func(n *yaml.Node, path string)
	walk = func(n *yaml.Node, path string) {
		switch n.Kind {
		case yaml.MappingNode:
			for i := 0; i+1 < len(n.Content); i += 2 {
				p := n.Content[i].Value
				if path != "" {
					p = path + "." + p
				}
				walk(n.Content[i+1], p)
			}
		case yaml.SequenceNode:
			for i, c := range n.Content {
				walk(c, path+"["+strconv.Itoa(i)+"]")
			}
		case yaml.ScalarNode:
			fn(Value{File: f.File, Line: n.Line, Key: path, Raw: n.Value, Val: n.Value})
		}
	}
	walk(f.Root, "")
}

// INIFile is a parsed INI file (my.cnf, grafana.ini).
type INIFile struct {
	File string
	F    *ini.File
	data []byte
}

// Get returns a key of a section, with the line that sets it. go-ini keeps
// no positions, so the line is found by scanning for the last assignment
// in that section, which is the one go-ini keeps.
func (f *INIFile) Get(section, key string) (Value, bool) {
	if f == nil || !f.F.Section(section).HasKey(key) {
		return Value{}, false
	}
	v := f.F.Section(section).Key(key).String()
	return Value{File: f.File, Line: iniLine(f.data, section, key), Key: "[" + section + "] " + key, Raw: v, Val: v}, true
}

// SectionLine is the line of a section header, 0 when absent.
func (f *INIFile) SectionLine(section string) int {
	if f == nil {
		return 0
	}
	for i, l := range lines(f.data) {
		if strings.TrimSpace(l) == "["+section+"]" {
			return i + 1
		}
	}
	return 0
}

func iniLine(data []byte, section, key string) int {
	cur, line := ini.DefaultSection, 0
	for i, l := range lines(data) {
		t := strings.TrimSpace(l)
		if strings.HasPrefix(t, "[") && strings.HasSuffix(t, "]") {
			cur = strings.TrimSpace(t[1 : len(t)-1])
			continue
		}
		if strings.HasPrefix(t, "#") || strings.HasPrefix(t, ";") {
			continue
		}
		k := t // a bare flag such as skip-name-resolve
		if i := strings.IndexAny(t, "=:"); i >= 0 {
			k = t[:i]
		}
		if cur == section && strings.TrimSpace(k) == key {
			line = i + 1
		}
	}
	return line
}

// XMLFile is a parsed XML file (ClickHouse's config.xml, users.xml).
type XMLFile struct {
	File string
	Root *Element
}

// Find returns the first element at a slash-separated path, or nil.
func (f *XMLFile) Find(p string) *Element {
	if f == nil {
		return nil
	}
	return f.Root.Find(p)
}

// FindAll returns every element at a slash-separated path: the last name
// may repeat (several <listen_host>).
func (f *XMLFile) FindAll(p string) []*Element {
	if f == nil {
		return nil
	}
	parent := f.Root
	dir, last := "", p
	if i := strings.LastIndex(p, "/"); i >= 0 {
		dir, last = p[:i], p[i+1:]
		parent = f.Root.Find(dir)
	}
	if parent == nil {
		return nil
	}
	var out []*Element
	for _, c := range parent.Children {
		if c.Name == last {
			out = append(out, c)
		}
	}
	return out
}

// Value turns an element's text into a Value.
func (f *XMLFile) Value(e *Element, p string) Value {
	return Value{File: f.File, Line: e.Line, Key: "<" + p + ">", Raw: e.Text, Val: e.Text}
}

// ComposeFile is a compose file read twice: by compose-go, for its
// verdict, and as YAML, for positions and for what compose-go would have
// normalised away.
type ComposeFile struct {
	File string
	// LoadErr is compose-go's own message when it refuses the file.
	LoadErr error
	// Warnings are what compose-go logged while loading it.
	Warnings []string
	// Root is nil when the file is not even YAML.
	Root     *yaml.Node
	Services []*Service // in file order
	// NetworksLine and ServicesLine are the lines of those top-level keys.
	NetworksLine, ServicesLine int
}

// WarningsOf returns c's warnings; nil-safe.
func (c *ComposeFile) WarningsOf() []string {
	if c == nil {
		return nil
	}
	return c.Warnings
}

// Service returns the named service, or nil.
func (c *ComposeFile) Service(name string) *Service {
	if c == nil {
		return nil
	}
	for _, s := range c.Services {
		if s.Name == name {
			return s
		}
	}
	return nil
}

// Service is one service of a compose file.
type Service struct {
	Name        string
	Line        int
	Image       Value
	Container   Value // container_name
	NetworkMode Value
	Ports       []Port
	// The keys themselves, when present: under host networking each is
	// ignored by the engine.
	PortsKey, NetworksKey, LinksKey Value
	Env                             map[string]Value
}

// Port is one published port.
type Port struct {
	Value
	HostIP    string
	Published string // "" when only the container port is exposed
	Target    uint32
}

func readCompose(ctx context.Context, dir, file string, data []byte, env map[string]string, project string) *ComposeFile {
	c := &ComposeFile{File: file}
	_, warnings, err := LoadComposeWarnings(ctx, dir, file, data, env, project)
	for _, w := range warnings {
		// Findings name the file already; the directory is the reader's.
		c.Warnings = append(c.Warnings, strings.TrimPrefix(w, path.Join(dir, file)+": "))
	}
	if err != nil {
		// Keep compose-go's own words, without our file prefix.
		msg := strings.TrimPrefix(err.Error(), file+": "+ErrParse.Error()+": ")
		c.LoadErr = errors.New(msg)
	}
	root, err := YAML(file, data)
	if err != nil || root.Kind != yaml.MappingNode {
		return c
	}
	c.Root = root
	c.NetworksLine, c.ServicesLine = keyLine(root, "networks"), keyLine(root, "services")
	lookup := func(k string) (string, bool) { v, ok := env[k]; return v, ok }
	interp := func(s string) string {
		out, err := template.Substitute(s, lookup)
		if err != nil {
			return ""
		}
		return out
	}
	svcs := Get(root, "services")
	if svcs == nil || svcs.Kind != yaml.MappingNode {
		return c
	}
	for i := 0; i+1 < len(svcs.Content); i += 2 {
		k, n := svcs.Content[i], svcs.Content[i+1]
		s := &Service{Name: k.Value, Line: k.Line, Env: map[string]Value{}}
		base := "services." + s.Name + "."
		scalar := func(key string) Value {
			x := Get(n, key)
			if x == nil || x.Kind != yaml.ScalarNode {
				return Value{}
			}
			return Value{File: file, Line: x.Line, Key: base + key, Raw: x.Value, Val: interp(x.Value)}
		}
		keyVal := func(key string) Value {
			if l := keyLine(n, key); l > 0 {
				return Value{File: file, Line: l, Key: base + key}
			}
			return Value{}
		}
		s.Image, s.Container, s.NetworkMode = scalar("image"), scalar("container_name"), scalar("network_mode")
		s.PortsKey, s.NetworksKey, s.LinksKey = keyVal("ports"), keyVal("networks"), keyVal("links")
		if ports := Get(n, "ports"); ports != nil && ports.Kind == yaml.SequenceNode {
			for _, p := range ports.Content {
				s.Ports = append(s.Ports, parsePorts(file, base+"ports", p, interp)...)
			}
		}
		if e := Get(n, "environment"); e != nil {
			switch e.Kind {
			case yaml.MappingNode:
				for j := 0; j+1 < len(e.Content); j += 2 {
					name, v := e.Content[j].Value, e.Content[j+1]
					raw := v.Value
					if v.Tag == "!!null" {
						raw = ""
					}
					s.Env[name] = Value{File: file, Line: e.Content[j].Line, Key: base + "environment." + name, Raw: raw, Val: interp(raw)}
				}
			case yaml.SequenceNode:
				for _, item := range e.Content {
					name, raw, _ := strings.Cut(item.Value, "=")
					s.Env[name] = Value{File: file, Line: item.Line, Key: base + "environment." + name, Raw: raw, Val: interp(raw)}
				}
			}
		}
		c.Services = append(c.Services, s)
	}
	return c
}

// parsePorts reads one entry of ports with compose-go's own parser.
func parsePorts(file, key string, n *yaml.Node, interp func(string) string) []Port {
	v := Value{File: file, Line: n.Line, Key: key}
	switch n.Kind {
	case yaml.ScalarNode:
		v.Raw, v.Val = n.Value, interp(n.Value)
		cfgs, err := types.ParsePortConfig(v.Val)
		if err != nil {
			return []Port{{Value: v}}
		}
		var out []Port
		for _, c := range cfgs {
			out = append(out, Port{Value: v, HostIP: c.HostIP, Published: c.Published, Target: c.Target})
		}
		return out
	case yaml.MappingNode:
		p := Port{Value: v}
		if t := Get(n, "target"); t != nil {
			x, _ := strconv.ParseUint(interp(t.Value), 10, 32)
			p.Target = uint32(x)
		}
		if pub := Get(n, "published"); pub != nil {
			p.Published = interp(pub.Value)
		}
		if h := Get(n, "host_ip"); h != nil {
			p.HostIP = interp(h.Value)
		}
		p.Raw = fmt.Sprintf("%s:%d", p.Published, p.Target)
		p.Val = p.Raw
		return []Port{p}
	}
	return nil
}

func lines(b []byte) []string {
	var out []string
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(make([]byte, 64*1024), 16*1024*1024)
	for sc.Scan() {
		out = append(out, sc.Text())
	}
	return out
}

// Lines splits a file into lines, for checks that read text as text.
func Lines(b []byte) []string { return lines(b) }
