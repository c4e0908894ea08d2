package layout

import (
	"context"
	"flag"
	"fmt"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/deepflow-compose/deepflow-compose/internal/golden"

	"github.com/deepflow-compose/deepflow-compose/topology"
)

var update = flag.Bool("update", false, "rewrite testdata/golden.txt")

// TestReadGolden: what Read makes of a directory, value by value, with the
// line each one stands on. check's findings point at these lines, so a
// change here shows in review as a diff of this golden file.
//
// testdata/dir holds the shapes that trip readers: quoted .env values, a
// commented-out XML element before the real one, repeated elements, INI
// sections with the same key, flow maps, lists, null, list-style compose
// environments and interpolation.
func TestReadGolden(t *testing.T) {
	d, err := Read(context.Background(), filepath.Join("testdata", "dir"))
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	val := func(v Value) string {
		return fmt.Sprintf("%s:%d %s raw=%q val=%q", v.File, v.Line, v.Key, v.Raw, v.Val)
	}
	for _, e := range d.Errors {
		fmt.Fprintf(&b, "error %s: %v\n", e.File, e.Err)
	}
	var names []string
	for k := range d.Env.Vars {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		v, _ := d.Env.Get(k)
		fmt.Fprintf(&b, "env %s\n", val(v))
	}
	for _, c := range []*ComposeFile{d.Compose, d.AgentCompose} {
		if c == nil {
			continue
		}
		fmt.Fprintf(&b, "compose %s services:%d networks:%d load-error:%v\n", c.File, c.ServicesLine, c.NetworksLine, c.LoadErr)
		for _, s := range c.Services {
			fmt.Fprintf(&b, "  service %s:%d image=[%s] container=[%s] network_mode=[%s]\n", s.Name, s.Line, val(s.Image), val(s.Container), val(s.NetworkMode))
			for _, p := range s.Ports {
				fmt.Fprintf(&b, "    port %s published=%q target=%d\n", val(p.Value), p.Published, p.Target)
			}
			for _, k := range []Value{s.PortsKey, s.NetworksKey, s.LinksKey} {
				if k.Present() {
					fmt.Fprintf(&b, "    key %s\n", val(k))
				}
			}
			var keys []string
			for k := range s.Env {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			for _, k := range keys {
				fmt.Fprintf(&b, "    env %s\n", val(s.Env[k]))
			}
		}
	}
	// Every key the consumer and bind tables name, read the way check
	// reads them.
	for _, c := range topology.Consumers {
		for _, k := range []string{c.Host, c.Port} {
			if k == "" || c.File == topology.Compose {
				continue
			}
			for _, v := range d.Values(c.File, k) {
				fmt.Fprintf(&b, "consumer %s\n", val(v))
			}
		}
	}
	for _, bd := range topology.Binds {
		for _, v := range d.Values(bd.File, bd.Key) {
			fmt.Fprintf(&b, "bind %s\n", val(v))
		}
	}
	for _, k := range []string{"controller.genesis.local_ip_ranges", "querier.listen-port"} {
		for _, v := range d.Values(topology.ServerYAML, k) {
			fmt.Fprintf(&b, "yaml %s\n", val(v))
		}
	}
	if v, ok := d.MyCnf.Get("client", "port"); ok {
		fmt.Fprintf(&b, "ini %s\n", val(v))
	}
	golden.Check(t, filepath.Join("testdata", "golden.txt"), []byte(b.String()), *update)
}
