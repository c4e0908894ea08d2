package engine

import (
	"context"
	"io"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/deepflow-compose/deepflow-compose/engine/standin"
	"github.com/deepflow-compose/deepflow-compose/settings"
	"github.com/deepflow-compose/deepflow-compose/topology"
)

// listen serves every connection with answer on a loopback port.
func listen(t *testing.T, answer func(net.Conn)) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				answer(c)
			}()
		}
	}()
	return l.Addr().(*net.TCPAddr).Port
}

// proxyOnly behaves as docker-proxy does on a published port when nothing
// listens in the container: it accepts and then closes.
func proxyOnly(c net.Conn) {}

func writeBytes(b []byte) func(net.Conn) {
	return func(c net.Conn) {
		c.Write(b)
		io.Copy(io.Discard, c)
	}
}

// hostStack is a host-networking stack whose listeners are the given
// loopback ports.
func hostStack(ports map[topology.Name]int) *Stack {
	t := topology.Resolve(topology.Spec{Network: settings.Host, NodeIP: "127.0.0.1", Ports: ports})
	return &Stack{Network: settings.Host, Topology: t, Project: "dfc-probe"}
}

func probeOf(s *Stack, l topology.Name) *Probe {
	for _, p := range s.probes() {
		if p.Listener == string(l) {
			return p
		}
	}
	return nil
}

// TestProbesNeedTheProcess: a port that accepts and closes (docker-proxy
// with nothing behind it) must never count as ready, for any kind of probe;
// the process's own answer must.
func TestProbesNeedTheProcess(t *testing.T) {
	e := &Engine{out: io.Discard, err: io.Discard}
	ctx := context.Background()
	httpOK := func(c net.Conn) {
		buf := make([]byte, 1024)
		c.Read(buf)
		io.WriteString(c, "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
	}
	for _, tc := range []struct {
		listener topology.Name
		ok       func(net.Conn)
		detail   string
	}{
		{topology.SQL, writeBytes(standin.MySQLGreeting()), "MySQL greeting, server 8.0.0-deepflow-compose-standin"},
		{topology.SQL, writeBytes([]byte("\x16\x00\x00\x00\xff\x6a\x04Host is not allowed")), "MySQL answers with an error: Host is not allowed"},
		{topology.GRPC, writeBytes([]byte{0, 0, 6, 4, 0, 0, 0, 0, 0, 0, 3, 0, 0, 0, 100}), "HTTP/2 SETTINGS received"},
		{topology.App, httpOK, "HTTP 404"},
	} {
		t.Run(string(tc.listener)+" proxy only", func(t *testing.T) {
			s := hostStack(map[topology.Name]int{tc.listener: listen(t, proxyOnly)})
			p := probeOf(s, tc.listener)
			e.run(ctx, s, p)
			if p.Ready {
				t.Fatalf("a port that only accepts counted as ready: %s", p.Detail)
			}
		})
		t.Run(string(tc.listener)+" answers", func(t *testing.T) {
			s := hostStack(map[topology.Name]int{tc.listener: listen(t, tc.ok)})
			p := probeOf(s, tc.listener)
			e.run(ctx, s, p)
			if !p.Ready || p.Detail != tc.detail {
				t.Fatalf("ready %v, detail %q; want ready, %q", p.Ready, p.Detail, tc.detail)
			}
		})
	}
}

func TestProbeRejectsOtherProtocols(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want string
	}{
		{"", "no MySQL greeting: connection closed without an answer (nothing listening behind the published port yet)"},
		{"HTTP/1.1 400 Bad Request\r\n", "not a MySQL greeting (packet header 48 54 54 50)"},
		{"\x05\x00\x00\x00\x09abc\x00", "not a MySQL greeting (protocol byte 0x9)"},
		{"\x05\x00\x00\x00\x0aabc", "truncated MySQL greeting: connection closed without an answer (nothing listening behind the published port yet)"},
	} {
		if ok, got := parseMySQLGreeting(strings.NewReader(tc.in)); ok || got != tc.want {
			t.Errorf("%q: %v %q, want %q", tc.in, ok, got, tc.want)
		}
	}
	if ok, got := parseHTTP2Settings(strings.NewReader("HTTP/1.1 400 Bad Request\r\n")); ok || got != "not an HTTP/2 SETTINGS frame (48 54 54 50 2f 31 2e 31 20)" {
		t.Errorf("HTTP/1 answer: %v %q", ok, got)
	}
}

// TestControllerWaitsForGRPC: the controller's HTTP port is not sent a
// single request until the gRPC port answers, because requests that reach
// it before its routes are registered break later calls.
func TestControllerWaitsForGRPC(t *testing.T) {
	e := &Engine{out: io.Discard, err: io.Discard}
	ctx := context.Background()
	var hits atomic.Int32
	ctl := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		io.WriteString(w, `{"OPT_STATUS":"SUCCESS"}`)
	})}
	cl, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go ctl.Serve(cl)
	t.Cleanup(func() { ctl.Close() })
	var grpcUp atomic.Bool
	grpc := listen(t, func(c net.Conn) {
		if grpcUp.Load() {
			writeBytes([]byte{0, 0, 0, 4, 0, 0, 0, 0, 0})(c)
		}
	})
	s := hostStack(map[topology.Name]int{topology.Controller: cl.Addr().(*net.TCPAddr).Port, topology.GRPC: grpc})
	var server []*Probe
	for _, p := range s.probes() {
		if p.Service == "deepflow-server" && p.Listener != string(topology.Querier) {
			server = append(server, p)
		}
	}
	if len(server) != 2 {
		t.Fatalf("server probes: %d", len(server))
	}
	for round := 0; round < 3; round++ {
		e.probeAll(ctx, s, server)
	}
	var ctlProbe *Probe
	if n := hits.Load(); n != 0 {
		t.Fatalf("the controller got %d requests before gRPC answered", n)
	}
	for _, p := range server {
		if p.Listener == string(topology.Controller) {
			ctlProbe = p
		}
	}
	if ctlProbe.Ready || ctlProbe.Detail != "not probed until grpc answers" {
		t.Errorf("controller before gRPC: %v %q", ctlProbe.Ready, ctlProbe.Detail)
	}
	grpcUp.Store(true)
	e.probeAll(ctx, s, server)
	if hits.Load() != 1 || !ctlProbe.Ready {
		t.Errorf("after gRPC answered: %d requests, controller ready %v (%s)", hits.Load(), ctlProbe.Ready, ctlProbe.Detail)
	}
}
