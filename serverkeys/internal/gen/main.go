// Command gen derives, for each DeepFlow release, the server.yaml keys
// deepflow-server reads: every yaml-tagged field reachable from the
// structs each module decodes server.yaml into (the module list of the
// server facts file, section 4). It reads a git clone of deepflowio/deepflow
// at the commits below and writes keys/<release>.txt:
//
//	go run ./internal/gen -repo PATH/TO/deepflow.git -out keys
//
// Only key paths are written; no DeepFlow code is copied.
package main

import (
	"bytes"
	"flag"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"reflect"
	"sort"
	"strconv"
	"strings"
)

// releases are the builds the catalog's image tags may run, at the commits
// the agent templates were taken from (reference templates/README.md).
var releases = []struct{ name, rev string }{
	{"v6.5", "v6.5"},
	{"v6.6.8", "59a8f735"},
	{"v6.6.9", "3b8884d6"},
	{"v6.6-branch", "e531ee09"},
	{"v7.0.9", "63e511c7"},
	{"v7.0-branch", "bae62fea"},
	{"v7.1.8", "ed89af6d"},
	{"v7.1-branch", "77b899f6"},
}

// rootDirs are the packages that decode server.yaml, each into its own
// struct (yaml.v2, unknown keys ignored). The querier's distributed_tracing
// and profile config packages have a Load of their own that the server
// never calls: their structs are read as querier.trace-map and
// querier.profile through querier/config.
var rootDirs = []string{
	"server/cmd/server",
	"server/common",
	"server/controller/config",
	"server/ingester/config",
	"server/ingester/app_log/config",
	"server/ingester/event/config",
	"server/ingester/exporters/config",
	"server/ingester/ext_metrics/config",
	"server/ingester/flow_log/config",
	"server/ingester/flow_metrics/config",
	"server/ingester/pcap/config",
	"server/ingester/profile/config",
	"server/ingester/prometheus/config",
	"server/querier/config",
	"server/mcp/config",
}

// sections are server.yaml's top-level module keys: a struct with a field
// tagged with one of them is what a module decodes the file into.
var sections = map[string]bool{"controller": true, "ingester": true, "querier": true, "mcp": true}

const module = "github.com/deepflowio/deepflow/"

func main() {
	repo := flag.String("repo", "", "git directory of a deepflowio/deepflow clone")
	out := flag.String("out", "keys", "directory to write <release>.txt into")
	flag.Parse()
	if err := run(*repo, *out); err != nil {
		fmt.Fprintln(os.Stderr, "gen:", err)
		os.Exit(1)
	}
}

func run(repo, out string) error {
	for _, r := range releases {
		rev, err := git(repo, "rev-parse", "--verify", r.rev+"^{commit}")
		if err != nil {
			return fmt.Errorf("%s: %w", r.name, err)
		}
		rev = strings.TrimSpace(rev)
		keys, roots, err := derive(repo, rev)
		if err != nil {
			return fmt.Errorf("%s: %w", r.name, err)
		}
		var b bytes.Buffer
		fmt.Fprintf(&b, "# server.yaml keys deepflow-server %s reads (deepflowio/deepflow %s).\n", r.name, rev[:12])
		fmt.Fprintf(&b, "# Derived by serverkeys/internal/gen from the yaml tags of: %s.\n", strings.Join(roots, ", "))
		fmt.Fprintf(&b, "# \"*\" stands for any map key.\n")
		for _, k := range keys {
			b.WriteString(k + "\n")
		}
		if err := os.WriteFile(filepath.Join(out, r.name+".txt"), b.Bytes(), 0o644); err != nil {
			return err
		}
		fmt.Printf("%s: %d keys from %d structs\n", r.name, len(keys), len(roots))
	}
	return nil
}

// derive lists, sorted, every key the root structs of rootDirs read at
// commit rev, and names those roots.
func derive(repo, rev string) (keys, roots []string, err error) {
	w := &walker{repo: repo, rev: rev, pkgs: map[string]*pkg{}, keys: map[string]bool{}}
	for _, d := range rootDirs {
		p, err := w.load(d)
		if err != nil {
			return nil, nil, err
		}
		if p == nil {
			continue
		}
		for _, name := range p.names {
			st := p.types[name]
			if isRoot(d, name, st) {
				roots = append(roots, d+"."+name)
				w.fields(p, st, "", 0)
			}
		}
	}
	for k := range w.keys {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys, roots, nil
}

// isRoot: cmd/server decodes top-level keys into its Config; elsewhere a
// root has a field for a whole module section.
func isRoot(dir, name string, st *ast.StructType) bool {
	if dir == "server/cmd/server" {
		return name == "Config"
	}
	for _, f := range st.Fields.List {
		if k, ok := yamlKey(f); ok && len(f.Names) <= 1 && sections[k] {
			return true
		}
	}
	return false
}

func git(repo string, args ...string) (string, error) {
	cmd := exec.Command("git", append([]string{"--git-dir", repo}, args...)...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("git %s: %v: %s", strings.Join(args, " "), err, stderr.String())
	}
	return string(out), nil
}

type pkg struct {
	dir     string
	types   map[string]*ast.StructType
	named   map[string]ast.Expr // non-struct named types
	names   []string            // struct names, sorted
	imports map[string]string   // file-independent: local name → repo dir
}

type walker struct {
	repo, rev string
	pkgs      map[string]*pkg
	keys      map[string]bool
}

// load parses a package directory at the walker's commit; nil when absent.
func (w *walker) load(dir string) (*pkg, error) {
	if p, ok := w.pkgs[dir]; ok {
		return p, nil
	}
	ls, err := git(w.repo, "ls-tree", "--name-only", w.rev, dir+"/")
	if err != nil {
		return nil, err
	}
	p := &pkg{dir: dir, types: map[string]*ast.StructType{}, named: map[string]ast.Expr{}, imports: map[string]string{}}
	found := false
	fset := token.NewFileSet()
	for _, f := range strings.Fields(ls) {
		if !strings.HasSuffix(f, ".go") || strings.HasSuffix(f, "_test.go") {
			continue
		}
		src, err := git(w.repo, "show", w.rev+":"+f)
		if err != nil {
			return nil, err
		}
		file, err := parser.ParseFile(fset, f, src, parser.SkipObjectResolution)
		if err != nil {
			return nil, err
		}
		found = true
		for _, im := range file.Imports {
			ip, _ := strconv.Unquote(im.Path.Value)
			if !strings.HasPrefix(ip, module) {
				continue
			}
			name := path.Base(ip)
			if im.Name != nil {
				name = im.Name.Name
			}
			p.imports[name] = strings.TrimPrefix(ip, module)
		}
		for _, d := range file.Decls {
			g, ok := d.(*ast.GenDecl)
			if !ok || g.Tok != token.TYPE {
				continue
			}
			for _, s := range g.Specs {
				ts := s.(*ast.TypeSpec)
				if st, ok := ts.Type.(*ast.StructType); ok {
					p.types[ts.Name.Name] = st
					p.names = append(p.names, ts.Name.Name)
				} else {
					p.named[ts.Name.Name] = ts.Type
				}
			}
		}
	}
	sort.Strings(p.names)
	if !found {
		p = nil
	}
	w.pkgs[dir] = p
	return p, nil
}

// yamlKey is the key yaml.v2 decodes a field from: its tag's name, or the
// lowercased field name; ok is false for skipped fields and inline ones
// report "".
func yamlKey(f *ast.Field) (string, bool) {
	tag := ""
	if f.Tag != nil {
		t, _ := strconv.Unquote(f.Tag.Value)
		tag = reflect.StructTag(t).Get("yaml")
	}
	name, opts, _ := strings.Cut(tag, ",")
	if name == "-" {
		return "", false
	}
	if strings.Contains(","+opts+",", ",inline,") {
		return "", true
	}
	if name != "" {
		return name, true
	}
	var field string
	if len(f.Names) == 1 {
		field = f.Names[0].Name
	} else if len(f.Names) == 0 {
		field = typeName(f.Type)
	}
	if field == "" || !ast.IsExported(field) {
		return "", false
	}
	return strings.ToLower(field), true
}

func typeName(e ast.Expr) string {
	switch t := e.(type) {
	case *ast.Ident:
		return t.Name
	case *ast.StarExpr:
		return typeName(t.X)
	case *ast.SelectorExpr:
		return t.Sel.Name
	}
	return ""
}

func join(prefix, k string) string {
	if prefix == "" {
		return k
	}
	return prefix + "." + k
}

func (w *walker) fields(p *pkg, st *ast.StructType, prefix string, depth int) {
	if depth > 16 {
		return
	}
	for _, f := range st.Fields.List {
		names := f.Names
		if len(names) == 0 {
			names = []*ast.Ident{nil}
		}
		for _, n := range names {
			if n != nil && !n.IsExported() {
				continue
			}
			one := &ast.Field{Names: nil, Type: f.Type, Tag: f.Tag}
			if n != nil {
				one.Names = []*ast.Ident{n}
			}
			k, ok := yamlKey(one)
			if !ok {
				continue
			}
			if k == "" { // inline: the struct's keys sit at this level
				w.typ(p, f.Type, prefix, depth+1, true)
				continue
			}
			path := join(prefix, k)
			w.keys[path] = true
			w.typ(p, f.Type, path, depth+1, false)
		}
	}
}

// typ adds the keys below a field of type e.
func (w *walker) typ(p *pkg, e ast.Expr, path string, depth int, inline bool) {
	switch t := e.(type) {
	case *ast.StarExpr:
		w.typ(p, t.X, path, depth, inline)
	case *ast.ArrayType:
		w.typ(p, t.Elt, path, depth, inline) // a list of mappings: element keys below
	case *ast.MapType:
		if !inline {
			w.keys[join(path, "*")] = true
			w.typ(p, t.Value, join(path, "*"), depth, false)
		}
	case *ast.StructType:
		w.fields(p, t, path, depth)
	case *ast.Ident:
		if st, ok := p.types[t.Name]; ok {
			w.fields(p, st, path, depth)
		} else if u, ok := p.named[t.Name]; ok {
			w.typ(p, u, path, depth, inline)
		}
	case *ast.SelectorExpr:
		x, ok := t.X.(*ast.Ident)
		if !ok {
			return
		}
		dir, ok := p.imports[x.Name]
		if !ok {
			return // outside DeepFlow: a scalar (time.Duration, …)
		}
		q, err := w.load(dir)
		if err != nil || q == nil {
			return
		}
		w.typ(q, ast.NewIdent(t.Sel.Name), path, depth, inline)
	}
}
