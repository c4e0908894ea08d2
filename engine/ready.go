package engine

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/moby/moby/api/pkg/stdcopy"
	"github.com/moby/moby/client"

	"github.com/deepflow-compose/deepflow-compose/api"
	"github.com/deepflow-compose/deepflow-compose/settings"
	"github.com/deepflow-compose/deepflow-compose/topology"
)

// Probe is one readiness check of one service, resolved to an address.
type Probe struct {
	Service   string `json:"service"`
	Container string `json:"container"`
	Listener  string `json:"listener"`
	// Target is the URL or host:port probed from this host.
	Target string `json:"target"`
	Ready  bool   `json:"ready"`
	// Detail is the last answer or error, e.g. "HTTP 503: waiting for ClickHouse".
	Detail string `json:"detail"`

	comp  *topology.Component
	probe topology.Probe
	// after is the probe that must pass before this one is sent.
	after *Probe
}

const probeTimeout = 2 * time.Second

// probeClient never uses a proxy: every target is on this host.
var probeClient = &http.Client{
	Timeout: probeTimeout,
	Transport: &http.Transport{
		Proxy:             nil,
		DisableKeepAlives: true,
		DialContext:       (&net.Dialer{Timeout: probeTimeout}).DialContext,
	},
	CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
}

// probes lists the readiness probes of every long-running service, in the
// topology's order. Addresses are resolved when the probe runs.
func (s *Stack) probes() []*Probe {
	var out []*Probe
	for _, c := range s.Topology.Components() {
		for _, p := range c.Probes {
			out = append(out, &Probe{Service: c.Service, Container: c.Container, Listener: string(p.Listener), comp: c, probe: p})
		}
	}
	for _, p := range out {
		for _, q := range out {
			if p.probe.After != "" && q.comp == p.comp && q.probe.Listener == p.probe.After {
				p.after = q
			}
		}
	}
	return out
}

// target resolves where to probe from this host. Under host networking a
// listener binds the node itself; under bridge a published port is reached
// on the node and an unpublished one at the container's address on the
// stack's network.
func (e *Engine) target(ctx context.Context, s *Stack, p *Probe) (string, error) {
	l, err := p.comp.L(p.probe.Listener)
	if err != nil {
		return "", err
	}
	var host string
	port := l.Port
	switch {
	case s.Network == settings.Host:
		host = localHost(l.Bind)
	case l.HostPort != 0:
		host, port = "127.0.0.1", l.HostPort
	default:
		host, err = e.containerIP(ctx, s, p.Container)
		if err != nil {
			return "", err
		}
	}
	hp := net.JoinHostPort(host, strconv.Itoa(port))
	if p.probe.Kind == topology.ProbeHTTP {
		return "http://" + hp + p.probe.Path, nil
	}
	return hp, nil
}

// localHost is the address to dial for a listener bound to bind.
func localHost(bind string) string {
	switch bind {
	case "", "0.0.0.0", "*", "::":
		return "127.0.0.1"
	}
	return bind
}

// containerIP finds the container's address on the stack's own network.
func (e *Engine) containerIP(ctx context.Context, s *Stack, name string) (string, error) {
	ins, err := e.api.ContainerInspect(ctx, name, client.ContainerInspectOptions{})
	if err != nil {
		return "", fmt.Errorf("container %s: %w", name, err)
	}
	c := ins.Container
	if c.State != nil && !c.State.Running {
		return "", fmt.Errorf("container %s is %s", name, stateText(c.State.Status, c.State.ExitCode))
	}
	if c.NetworkSettings != nil {
		for net, ep := range c.NetworkSettings.Networks {
			if strings.HasPrefix(net, s.Project+"_") && ep != nil && ep.IPAddress.IsValid() {
				return ep.IPAddress.String(), nil
			}
		}
	}
	return "", fmt.Errorf("container %s has no address on a %s_* network", name, s.Project)
}

func stateText(state any, code int) string {
	st := fmt.Sprint(state)
	if st == "exited" || st == "dead" {
		return fmt.Sprintf("%s (exit code %d)", st, code)
	}
	return st
}

// run probes once and records the outcome in p. Every kind of probe needs
// an answer from the process itself: under bridge networking docker-proxy
// accepts a connection on a published port even when nothing listens inside
// the container, so a bare TCP connect proves nothing.
func (e *Engine) run(ctx context.Context, s *Stack, p *Probe) {
	target, err := e.target(ctx, s, p)
	if err != nil {
		p.Ready, p.Detail = false, err.Error()
		return
	}
	p.Target = target
	switch p.probe.Kind {
	case topology.ProbeMySQL:
		p.Ready, p.Detail = mysqlGreeting(ctx, target)
		return
	case topology.ProbeHTTP2:
		p.Ready, p.Detail = http2Settings(ctx, target)
		return
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, target, nil)
	if err != nil {
		p.Ready, p.Detail = false, err.Error()
		return
	}
	resp, err := probeClient.Do(req)
	if err != nil {
		p.Ready, p.Detail = false, shortNetErr(err)
		return
	}
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	resp.Body.Close()
	p.Ready = resp.StatusCode >= 200 && resp.StatusCode < 300
	if p.probe.AnyStatus && resp.StatusCode < 500 {
		p.Ready = true
	}
	p.Detail = "HTTP " + strconv.Itoa(resp.StatusCode)
	if !p.Ready {
		if msg := bodyText(body); msg != "" {
			p.Detail += ": " + msg
		}
	}
}

// dialProbe connects with the probe's deadline on the whole exchange.
func dialProbe(ctx context.Context, target string) (net.Conn, error) {
	d := net.Dialer{Timeout: probeTimeout}
	conn, err := d.DialContext(ctx, "tcp", target)
	if err != nil {
		return nil, err
	}
	conn.SetDeadline(time.Now().Add(probeTimeout))
	return conn, nil
}

// mysqlGreeting reads the first packet a MySQL server sends: a protocol 10
// handshake naming the server's version, or an error packet (host not
// allowed, too many connections), which proves the server answers too.
func mysqlGreeting(ctx context.Context, target string) (bool, string) {
	conn, err := dialProbe(ctx, target)
	if err != nil {
		return false, shortNetErr(err)
	}
	defer conn.Close()
	return parseMySQLGreeting(conn)
}

func parseMySQLGreeting(r io.Reader) (bool, string) {
	var hdr [4]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return false, noAnswer(err, "no MySQL greeting")
	}
	n := int(hdr[0]) | int(hdr[1])<<8 | int(hdr[2])<<16
	if hdr[3] != 0 || n < 2 || n > 1024 {
		return false, fmt.Sprintf("not a MySQL greeting (packet header % x)", hdr)
	}
	body := make([]byte, n)
	if _, err := io.ReadFull(r, body); err != nil {
		return false, noAnswer(err, "truncated MySQL greeting")
	}
	switch body[0] {
	case 10:
		v, _, ok := bytes.Cut(body[1:], []byte{0})
		if !ok || len(v) == 0 {
			return false, "not a MySQL greeting (no server version)"
		}
		return true, "MySQL greeting, server " + printable(v)
	case 0xff:
		msg := body[1:]
		if len(msg) >= 2 {
			msg = msg[2:] // error code
		}
		if len(msg) > 0 && msg[0] == '#' && len(msg) >= 6 {
			msg = msg[6:] // SQL state
		}
		return true, "MySQL answers with an error: " + printable(msg)
	}
	return false, fmt.Sprintf("not a MySQL greeting (protocol byte %#x)", body[0])
}

// http2Preface is what an HTTP/2 client sends first: the connection preface
// and an empty SETTINGS frame.
var http2Preface = append([]byte("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"), 0, 0, 0, 4, 0, 0, 0, 0, 0)

// http2Settings speaks the start of HTTP/2 (what gRPC runs on): a server
// answers the preface with a SETTINGS frame on stream 0.
func http2Settings(ctx context.Context, target string) (bool, string) {
	conn, err := dialProbe(ctx, target)
	if err != nil {
		return false, shortNetErr(err)
	}
	defer conn.Close()
	if _, err := conn.Write(http2Preface); err != nil {
		return false, shortNetErr(err)
	}
	return parseHTTP2Settings(conn)
}

func parseHTTP2Settings(r io.Reader) (bool, string) {
	var f [9]byte
	if _, err := io.ReadFull(r, f[:]); err != nil {
		return false, noAnswer(err, "no HTTP/2 answer")
	}
	if f[3] != 4 || f[5]&0x7f != 0 || f[6] != 0 || f[7] != 0 || f[8] != 0 {
		return false, fmt.Sprintf("not an HTTP/2 SETTINGS frame (% x)", f[:])
	}
	return true, "HTTP/2 SETTINGS received"
}

// noAnswer words a read that got nothing useful.
func noAnswer(err error, what string) string {
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return what + " within " + probeTimeout.String()
	}
	return what + ": " + shortNetErr(err)
}

func printable(b []byte) string {
	s := strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return -1
		}
		return r
	}, string(b))
	if len(s) > 100 {
		s = s[:97] + "..."
	}
	return s
}

// bodyText pulls the human part out of a response: deepflow-server's health
// answer carries its init stage in DESCRIPTION.
func bodyText(b []byte) string {
	var j struct {
		Description string `json:"DESCRIPTION"`
		Status      string `json:"OPT_STATUS"`
	}
	if json.Unmarshal(b, &j) == nil && j.Description != "" {
		if st, _, ok := api.ParseStage(j.Description); ok {
			return "stage: " + st
		}
		return "stage: " + j.Description
	}
	s := strings.Join(strings.Fields(string(b)), " ")
	if len(s) > 200 {
		s = s[:197] + "..."
	}
	return s
}

func shortNetErr(err error) string {
	// Behind a published port docker-proxy accepts and then drops the
	// connection while nothing listens in the container: say that, in
	// one stable wording, rather than alternate between EOF and reset.
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, syscall.ECONNRESET) {
		return "connection closed without an answer (nothing listening behind the published port yet)"
	}
	var op *net.OpError
	if errors.As(err, &op) && op.Err != nil {
		return op.Op + " " + op.Addr.String() + ": " + op.Err.Error()
	}
	return err.Error()
}

// probeAll runs every probe once, concurrently, except that a probe with
// After waits for its prerequisite's answer in the same round and is not
// sent at all unless that one passed.
func (e *Engine) probeAll(ctx context.Context, s *Stack, ps []*Probe) {
	var first, then []*Probe
	for _, p := range ps {
		if p.probe.After != "" {
			then = append(then, p)
		} else {
			first = append(first, p)
		}
	}
	e.probeEach(ctx, s, first)
	var ok []*Probe
	for _, p := range then {
		if p.after != nil && !p.after.Ready {
			p.Ready, p.Detail = false, fmt.Sprintf("not probed until %s answers", p.probe.After)
			continue
		}
		ok = append(ok, p)
	}
	e.probeEach(ctx, s, ok)
}

func (e *Engine) probeEach(ctx context.Context, s *Stack, ps []*Probe) {
	var wg sync.WaitGroup
	for _, p := range ps {
		wg.Add(1)
		go func() {
			defer wg.Done()
			e.run(ctx, s, p)
		}()
	}
	wg.Wait()
}

// NotReady describes one service that did not get ready.
type NotReady struct {
	Service   string
	Probe     string
	LastError string
	Logs      []string
}

// NotReadyError is returned when the readiness wait times out. It wraps
// ErrNotReady.
type NotReadyError struct {
	Timeout  time.Duration
	Services []NotReady
}

func (e *NotReadyError) Unwrap() error { return ErrNotReady }

func (e *NotReadyError) Error() string {
	var b strings.Builder
	names := make([]string, 0, len(e.Services))
	for _, s := range e.Services {
		names = append(names, s.Service)
	}
	names = uniq(names)
	fmt.Fprintf(&b, "%s after %s: %s", ErrNotReady, e.Timeout, strings.Join(names, ", "))
	for _, name := range names {
		var logs []string
		fmt.Fprintf(&b, "\n  %s:", name)
		for _, s := range e.Services {
			if s.Service == name {
				fmt.Fprintf(&b, "\n    %s: last probe: %s", s.Probe, s.LastError)
				logs = s.Logs
			}
		}
		if len(logs) == 0 {
			b.WriteString("\n    (no log lines)")
		} else {
			fmt.Fprintf(&b, "\n    last %d log lines:", len(logs))
		}
		for _, l := range logs {
			b.WriteString("\n    | " + l)
		}
	}
	return b.String()
}

func uniq(in []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, s := range in {
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	return out
}

// logTail is how many log lines a timeout shows per service.
const logTail = 15

// WaitReady probes until every service answers or timeout passes, printing
// each change of a probe's answer.
func (e *Engine) WaitReady(ctx context.Context, s *Stack, timeout time.Duration) ([]*Probe, error) {
	all := s.probes()
	fmt.Fprintf(e.out, "Waiting up to %s for %d readiness probes\n", timeout, len(all))
	return e.wait(ctx, s, timeout, all, true)
}

// wait probes until every one of probes answers or timeout passes; summary
// prints the closing line.
func (e *Engine) wait(ctx context.Context, s *Stack, timeout time.Duration, all []*Probe, summary bool) ([]*Probe, error) {
	start := time.Now()
	deadline := start.Add(timeout)
	last := map[*Probe]string{}
	pause := min(e.o.ProbeInterval, 100*time.Millisecond)
	for {
		var pending []*Probe
		for _, p := range all {
			if !p.Ready {
				pending = append(pending, p)
			}
		}
		if len(pending) == 0 {
			if summary {
				fmt.Fprintf(e.out, "All services ready after %s\n", time.Since(start).Round(100*time.Millisecond))
			}
			return all, nil
		}
		e.probeAll(ctx, s, pending)
		for _, p := range pending {
			if p.Ready {
				fmt.Fprintf(e.out, "  ready    %-18s %-11s %s (%s)\n", p.Service, p.Listener, p.Target, time.Since(start).Round(100*time.Millisecond))
			} else if last[p] != p.Detail {
				fmt.Fprintf(e.out, "  waiting  %-18s %-11s %s\n", p.Service, p.Listener, p.Detail)
			}
			last[p] = p.Detail
		}
		if ctx.Err() != nil {
			return all, ctx.Err()
		}
		done := true
		for _, p := range all {
			done = done && p.Ready
		}
		if done {
			continue
		}
		if time.Now().After(deadline) {
			return all, e.notReady(ctx, s, all, timeout)
		}
		select {
		case <-ctx.Done():
			return all, ctx.Err()
		case <-time.After(pause):
		}
		// Short pauses first: a service that answers within a moment is
		// seen then, not a whole interval later.
		pause = min(2*pause, e.o.ProbeInterval)
	}
}

func (e *Engine) notReady(ctx context.Context, s *Stack, all []*Probe, timeout time.Duration) error {
	err := &NotReadyError{Timeout: timeout}
	logs := map[string][]string{}
	for _, p := range all {
		if p.Ready {
			continue
		}
		if _, ok := logs[p.Container]; !ok {
			logs[p.Container] = e.tail(ctx, p.Container, logTail)
		}
		what := p.Listener
		if p.Target != "" {
			what += " " + p.Target
		}
		err.Services = append(err.Services, NotReady{Service: p.Service, Probe: what, LastError: p.Detail, Logs: logs[p.Container]})
	}
	return err
}

// tail returns a container's last n log lines, stdout and stderr merged.
func (e *Engine) tail(ctx context.Context, container string, n int) []string {
	ins, err := e.api.ContainerInspect(ctx, container, client.ContainerInspectOptions{})
	if err != nil {
		return []string{"(no logs: " + err.Error() + ")"}
	}
	rc, err := e.api.ContainerLogs(ctx, container, client.ContainerLogsOptions{ShowStdout: true, ShowStderr: true, Tail: strconv.Itoa(n)})
	if err != nil {
		return []string{"(no logs: " + err.Error() + ")"}
	}
	defer rc.Close()
	var buf bytes.Buffer
	if ins.Container.Config != nil && ins.Container.Config.Tty {
		_, err = io.Copy(&buf, rc)
	} else {
		_, err = stdcopy.StdCopy(&buf, &buf, rc)
	}
	if err != nil && buf.Len() == 0 {
		return []string{"(no logs: " + err.Error() + ")"}
	}
	lines := strings.Split(strings.TrimRight(buf.String(), "\n"), "\n")
	if len(lines) == 1 && lines[0] == "" {
		return nil
	}
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return lines
}
