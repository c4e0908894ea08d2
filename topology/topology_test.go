package topology

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/deepflow-compose/deepflow-compose/settings"
)

func spec(network settings.Network) Spec {
	return Spec{Network: network, NodeIP: "192.0.2.10",
		Ports: map[Name]int{SQL: 30130}, Published: map[Name]int{Web: 3000}}
}

// TestDial: how each kind of consumer reaches its listener, per network
// mode. The table is the facts seed 003 lists for a host-network
// conversion, and DeepFlow's bridge package for the default.
func TestDial(t *testing.T) {
	for _, c := range []struct {
		network settings.Network
		expose  bool
		id      string
		want    string
	}{
		{settings.Bridge, false, "ServerToMySQL", "mysql:30130"},
		{settings.Bridge, false, "ServerToClickHouse", "clickhouse:9000"},
		{settings.Bridge, false, "AppToQuerier", "deepflow-server:20416"},
		{settings.Bridge, false, "GrafanaToApp", "deepflow-app:20418"},
		{settings.Bridge, false, "ClickHouseSelf", "127.0.0.1:9000"},
		{settings.Bridge, false, "AgentController", "192.0.2.10:30035"},
		{settings.Bridge, false, "AgentIngester", "192.0.2.10:30033"},
		{settings.Bridge, false, "CtlAPI", "192.0.2.10:30417"},
		{settings.Bridge, false, "GrafanaWeb", "192.0.2.10:3000"},
		{settings.Host, false, "ServerToMySQL", "127.0.0.1:30130"},
		{settings.Host, true, "ServerToMySQL", "192.0.2.10:30130"},
		{settings.Host, false, "AppToController", "192.0.2.10:20417"},
		{settings.Host, false, "AgentController", "192.0.2.10:20035"},
		{settings.Host, false, "CtlAPI", "192.0.2.10:20417"},
	} {
		sp := spec(c.network)
		sp.ExposeMySQL, sp.ExposeClickHouse = c.expose, c.expose
		w, err := Resolve(sp).Wiring()
		if err != nil {
			t.Fatal(err)
		}
		if got := w[c.id].String(); got != c.want {
			t.Errorf("%s expose=%v %s = %s, want %s", c.network, c.expose, c.id, got, c.want)
		}
	}
}

// TestConsumerRows: rows sharing an ID resolve alike (templates print one
// endpoint per ID), and every row names a key unless it is prose.
func TestConsumerRows(t *testing.T) {
	for _, network := range []settings.Network{settings.Bridge, settings.Host} {
		top := Resolve(spec(network))
		byID := map[string]Endpoint{}
		for _, c := range Consumers {
			e, err := top.Dial(c)
			if err != nil {
				t.Fatalf("%s %s: %v", network, c.ID, err)
			}
			if prev, ok := byID[c.ID]; ok && prev != e {
				t.Errorf("%s: rows of %s resolve to %s and %s", network, c.ID, prev, e)
			}
			byID[c.ID] = e
			if c.Form != FormText && c.Host == "" {
				t.Errorf("row %s of %s names no key", c.ID, c.File)
			}
		}
	}
}

func TestAgentOverride(t *testing.T) {
	sp := spec(settings.Bridge)
	sp.AgentController, sp.AgentIngester = 31035, 31033
	top := Resolve(sp)
	c, _ := top.ForAgent(GRPC)
	i, _ := top.ForAgent(Ingester)
	e, _ := top.External(GRPC)
	if c.Port != 31035 || i.Port != 31033 || e.Port != 30035 {
		t.Errorf("override: agents dial %d/%d, outside %d; want 31035/31033, 30035", c.Port, i.Port, e.Port)
	}
}

// TestResolveNeverFails: clashing ports still resolve (check needs the
// topology of a broken directory); Validate names every clash and wraps
// ErrTopology.
func TestResolveNeverFails(t *testing.T) {
	sp := spec(settings.Host)
	sp.Ports[SQL] = 20416
	sp.Ports[Web] = 20417
	top := Resolve(sp)
	if l, _ := top.Listener(SQL); l.Port != 20416 {
		t.Fatalf("MySQL resolved on %d", l.Port)
	}
	err := top.Validate()
	want := "invalid topology: mysql (mysql) and server (querier) both bind node port 20416; server (controller) and grafana (web) both bind node port 20417"
	if !errors.Is(err, ErrTopology) || err.Error() != want {
		t.Errorf("Validate = %v, want %s", err, want)
	}
	if err := Resolve(spec(settings.Bridge)).Validate(); err != nil {
		t.Errorf("the default bridge topology: %v", err)
	}
}

func TestAgentOnServer(t *testing.T) {
	for _, on := range []bool{false, true} {
		sp := spec(settings.Bridge)
		sp.AgentOnServer = on
		top := Resolve(sp)
		var keys []string
		for _, c := range top.Components() {
			keys = append(keys, c.Key)
		}
		hasLiveness := false
		for _, hp := range top.HostPorts() {
			hasLiveness = hasLiveness || hp.Listener == Liveness
		}
		if got := strings.Contains(fmt.Sprint(keys), "agent"); got != on || hasLiveness != on {
			t.Errorf("onServer=%v: components %v, liveness on the node %v", on, keys, hasLiveness)
		}
	}
	if p := Resolve(spec(settings.Bridge)).Agent.Publish(); p != nil {
		t.Errorf("the agent runs on the node's network, yet publishes %v", p)
	}
}

func TestSpecFor(t *testing.T) {
	s := settings.Settings{Network: settings.Host, NodeIP: "192.0.2.10",
		MySQL:      settings.MySQLSettings{Port: 30131},
		ClickHouse: settings.ClickHouseSettings{TCPPort: 9001, HTTPPort: 8124, InterserverPort: 9010},
		Grafana:    settings.GrafanaSettings{Port: 3001}}
	top := Resolve(SpecFor(&s))
	for n, want := range map[Name]int{SQL: 30131, TCP: 9001, HTTP: 8124, Interserver: 9010, Web: 3001, Controller: 20417} {
		if l, _ := top.Listener(n); l.Port != want || l.HostPort != want {
			t.Errorf("host network %s: port %d on node %d, want %d", n, l.Port, l.HostPort, want)
		}
	}
	s.Network = settings.Bridge
	top = Resolve(SpecFor(&s))
	if l, _ := top.Listener(Web); l.Port != 3000 || l.HostPort != 3001 {
		t.Errorf("bridge Grafana: %d published on %d, want 3000 on 3001", l.Port, l.HostPort)
	}
}
