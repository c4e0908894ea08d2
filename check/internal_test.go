package check

import (
	"testing"

	"github.com/deepflow-compose/deepflow-compose/topology"
)

func TestSplitHostPort(t *testing.T) {
	for _, c := range []struct{ in, host, port string }{
		{"http://deepflow-server:20416", "deepflow-server", "20416"},
		{"deepflow-mysql:30130", "deepflow-mysql", "30130"},
		{"127.0.0.1", "127.0.0.1", ""},
		{"http://[::1]:20418/api", "::1", "20418"},
		{"mysql", "mysql", ""},
	} {
		h, p, _ := splitHostPort(c.in)
		if h != c.host || p != c.port {
			t.Errorf("splitHostPort(%q) = %q, %q; want %q, %q", c.in, h, p, c.host, c.port)
		}
	}
}

func TestCovered(t *testing.T) {
	var spans []span
	for _, r := range topology.DefaultLocalIPRanges {
		s, ok := parseSpan(r)
		if !ok {
			t.Fatalf("parseSpan(%q) failed", r)
		}
		spans = append(spans, s)
	}
	for _, c := range []struct {
		in   string
		want bool
	}{
		{"10.9.0.0/16", true}, {"192.168.1.7", true}, {"230.0.0.0-230.0.0.9", true},
		{"100.42.32.0/24", false}, {"172.15.255.0-172.16.0.5", false}, {"9.0.0.0/7", false},
	} {
		s, ok := parseSpan(c.in)
		if !ok {
			t.Fatalf("parseSpan(%q) failed", c.in)
		}
		if got := covered(spans, s); got != c.want {
			t.Errorf("covered(%s) = %v, want %v", c.in, got, c.want)
		}
	}
	if _, ok := parseSpan("10.0.0.0/33"); ok {
		t.Error("parseSpan accepted /33")
	}
}

func TestSQLUsers(t *testing.T) {
	got := sqlUsers([]byte("-- x\nALTER USER 'root'@'localhost' IDENTIFIED WITH mysql_native_password BY 'it''s';\n" +
		"CREATE USER IF NOT EXISTS 'grafana'@'%' IDENTIFIED BY 'g';\n"))
	if len(got) != 2 || got[0].user != "root" || got[0].password != "it's" || got[0].line != 2 || got[1].host != "%" || got[1].line != 3 {
		t.Fatalf("sqlUsers = %+v", got)
	}
}

func TestStripHash(t *testing.T) {
	for in, want := range map[string]string{
		`a: "x # y" # c`: `a: "x # y" `,
		"# all":          "",
		"a: b#c":         "a: b#c",
	} {
		if got := stripHash(in); got != want {
			t.Errorf("stripHash(%q) = %q, want %q", in, got, want)
		}
	}
}
