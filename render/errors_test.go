package render

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/deepflow-compose/deepflow-compose/agentcfg"
	"github.com/deepflow-compose/deepflow-compose/settings"
	"github.com/deepflow-compose/deepflow-compose/topology"
)

// TestBadInput: each bad input fails with exactly this message, wraps the
// sentinel callers test for, and nothing is prepared.
func TestBadInput(t *testing.T) {
	dir := t.TempDir()
	typo := filepath.Join(dir, "typo.yaml")
	if err := os.WriteFile(typo, []byte("mysql:\n  port: 30130\n  prot: 1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	wrongType := filepath.Join(dir, "type.yaml")
	if err := os.WriteFile(wrongType, []byte("grafana:\n  port: web\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	hexFile := filepath.Join(dir, "hex.yaml")
	if err := os.WriteFile(hexFile, []byte("mysql:\n  port: 0x7530\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	expFile := filepath.Join(dir, "exp.yaml")
	if err := os.WriteFile(expFile, []byte("agent:\n  group:\n    threadThreshold: 1e3\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name string
		in   settings.Inputs
		want string
		is   error
	}{
		{"invalid IP", settings.Inputs{NodeIP: "10.0.0.300"}, `invalid settings: --node-ip: "10.0.0.300" is not an IP address`, settings.ErrSettings},
		{"unspecified IP", settings.Inputs{NodeIP: "0.0.0.0"}, `invalid settings: --node-ip: 0.0.0.0 is the unspecified address; agents need one they can dial`, settings.ErrSettings},
		{"unknown profile", settings.Inputs{Profile: "swarm"}, `unknown profile "swarm" (available: bridge, host-network, process-agent)`, settings.ErrUnknownProfile},
		{"unknown version", settings.Inputs{Version: "v5.0"}, `invalid settings: --version: unknown version "v5.0" (supported: v6.5, v6.6, v7.0, v7.1)`, settings.ErrSettings},
		{"unknown --set key", settings.Inputs{Sets: []string{"mysql.prot=1"}}, `--set mysql.prot=1: invalid settings: unknown key "mysql.prot"`, settings.ErrSettings},
		{"unknown file key", settings.Inputs{ValuesFiles: []string{typo}}, typo + `: invalid settings: line 3: unknown key "prot"`, settings.ErrSettings},
		{"wrong type in file", settings.Inputs{ValuesFiles: []string{wrongType}}, wrongType + ": invalid settings: line 2: cannot unmarshal !!str `web` into an integer", settings.ErrSettings},
		{"wrong --set type", settings.Inputs{Sets: []string{"mysql.port=x"}}, `--set mysql.port=x: invalid settings: mysql.port: "x" is not an integer`, settings.ErrSettings},
		{"--set on a group", settings.Inputs{Sets: []string{"expose=1"}}, `--set expose=1: invalid settings: expose is a group of settings; set one of its keys, like expose.<key>=…`, settings.ErrSettings},
		{"--set list not a list", settings.Inputs{Sets: []string{"agent.subnets=lan"}}, `--set agent.subnets=lan: invalid settings: agent.subnets: "lan" is not a list like [a, b]`, settings.ErrSettings},
		{"--set bool not a bool", settings.Inputs{Sets: []string{"expose.datastores=maybe"}}, `--set expose.datastores=maybe: invalid settings: expose.datastores: "maybe" is not true or false`, settings.ErrSettings},
		{"--set without =", settings.Inputs{Sets: []string{"mysql.port"}}, `--set mysql.port: invalid settings: want key.path=value`, settings.ErrSettings},
		{"port out of range", settings.Inputs{Sets: []string{"mysql.port=70000"}}, `invalid settings: mysql.port: 70000 is out of range 1-65535`, settings.ErrSettings},
		{"port zero", settings.Inputs{Sets: []string{"grafana.port=0"}}, `invalid settings: grafana.port: 0 is out of range 1-65535`, settings.ErrSettings},
		{"bad network", settings.Inputs{Sets: []string{"network=overlay"}}, `invalid settings: network: "overlay" must be bridge or host`, settings.ErrSettings},
		{"relative dataDir", settings.Inputs{Sets: []string{"dataDir=data"}}, `invalid settings: dataDir: "data" must be a clean absolute path other than /`, settings.ErrSettings},
		{"newline in password", settings.Inputs{Sets: []string{"mysql.password=a\nb"}}, `invalid settings: mysql.password: must not contain control characters such as newlines or tabs`, settings.ErrSettings},
		{"host port clash", settings.Inputs{Profile: "host-network", Sets: []string{"mysql.port=20416"}}, `invalid topology: mysql (mysql) and server (querier) both bind node port 20416`, topology.ErrTopology},
		{"published port clash", settings.Inputs{Sets: []string{"grafana.port=30417"}}, `invalid topology: server (controller) and grafana (web) both bind node port 30417`, topology.ErrTopology},
		{"bad subnet", settings.Inputs{Sets: []string{"agent.subnets=[100.42.32.0/24, 100.42.33.7/24, 10.0.0.9-10.0.0.1, lan]"}},
			`invalid settings: agent.subnets[1]: "100.42.33.7/24" has host bits set; the network is 100.42.33.0/24; ` +
				`agent.subnets[2]: "10.0.0.9-10.0.0.1" ends before it starts; ` +
				`agent.subnets[3]: "lan" is neither a CIDR like 100.42.32.0/24 nor a range like 10.1.0.0-10.1.255.255`, settings.ErrSettings},
		{"unknown recipe key", settings.Inputs{Sets: []string{"agent.group.processTopology.enable=true"}}, `--set agent.group.processTopology.enable=true: invalid settings: unknown key "agent.group.processTopology.enable"`, settings.ErrSettings},
		{"bad recipe value", settings.Inputs{Sets: []string{"agent.group.kubernetesResources.presets=[rancher]"}}, `agent.group.kubernetesResources.presets[0]: "rancher" is not one of openshift, openkruise`, agentcfg.ErrEnum},
		{"bad group ID", settings.Inputs{Sets: []string{"agent.groupID=TE8la86jlZ"}}, `invalid settings: agent.groupID: "TE8la86jlZ" is not an agent group ID like g-TE8la86jlZ`, settings.ErrSettings},
		// deepflow-server refuses any length but 10 (INVALID_POST_DATA).
		{"short group ID", settings.Inputs{Sets: []string{"agent.groupID=g-abc"}}, `invalid settings: agent.groupID: "g-abc" is not an agent group ID like g-TE8la86jlZ`, settings.ErrSettings},
		{"bad agent mode", settings.Inputs{Sets: []string{"agent.mode=daemonset"}}, `invalid settings: agent.mode: "daemonset" must be container or process`, settings.ErrSettings},
		{"bad image overrides", settings.Inputs{Sets: []string{"images.foo=x:1", "images.server=nope"}},
			`invalid settings: images.foo: unknown component (one of mysql, clickhouse, server, app, grafana, grafanaInit, grafanaInitDsDh, agent); ` +
				`images.server: "nope" is not an image reference with a tag or digest, like registry/name:tag`, settings.ErrSettings},
		{"clickhouse ports clash in its container", settings.Inputs{Sets: []string{"clickhouse.tcpPort=8123"}}, `invalid topology: clickhouse (tcp) and clickhouse (http) both listen on port 8123 inside the deepflow-clickhouse container`, topology.ErrTopology},
		{"clickhouse ports clash on the node", settings.Inputs{Profile: "host-network", Sets: []string{"clickhouse.tcpPort=8123"}}, `invalid topology: clickhouse (tcp) and clickhouse (http) both bind node port 8123`, topology.ErrTopology},
		{"fraction", settings.Inputs{Sets: []string{"mysql.port=3.5"}}, `--set mysql.port=3.5: invalid settings: mysql.port: "3.5" is not an integer`, settings.ErrSettings},
		{"exponent", settings.Inputs{Sets: []string{"mysql.port=1e3"}}, `--set mysql.port=1e3: invalid settings: mysql.port: "1e3" is not an integer`, settings.ErrSettings},
		{"hex", settings.Inputs{Sets: []string{"grafana.port=0x7530"}}, `--set grafana.port=0x7530: invalid settings: grafana.port: "0x7530" is not an integer`, settings.ErrSettings},
		{"leading zero", settings.Inputs{Sets: []string{"grafana.port=03000"}}, `--set grafana.port=03000: invalid settings: grafana.port: "03000" is not an integer`, settings.ErrSettings},
		{"recipe fraction", settings.Inputs{Sets: []string{"agent.group.maxMemoryMB=768.5"}}, `--set agent.group.maxMemoryMB=768.5: invalid settings: agent.group.maxMemoryMB: "768.5" is not an integer`, settings.ErrSettings},
		{"hex in a file", settings.Inputs{ValuesFiles: []string{hexFile}}, hexFile + `: invalid settings: line 2: mysql.port: "0x7530" is not a plain integer (digits only: no fraction, exponent, hex, octal or '_')`, settings.ErrSettings},
		{"exponent in a file", settings.Inputs{ValuesFiles: []string{expFile}}, expFile + `: invalid settings: line 3: agent.group.threadThreshold: "1e3" is not a plain integer (digits only: no fraction, exponent, hex, octal or '_')`, settings.ErrSettings},
		{"multicast IP", settings.Inputs{NodeIP: "224.0.0.1"}, `invalid settings: --node-ip: 224.0.0.1 is a multicast address; agents need the address of one host`, settings.ErrSettings},
		{"multicast IPv6", settings.Inputs{NodeIP: "ff02::1"}, `invalid settings: --node-ip: ff02::1 is a multicast address; agents need the address of one host`, settings.ErrSettings},
		{"broadcast IP", settings.Inputs{NodeIP: "255.255.255.255"}, `invalid settings: --node-ip: 255.255.255.255 is the broadcast address; agents need the address of one host`, settings.ErrSettings},
		{"unspecified IPv6", settings.Inputs{NodeIP: "::"}, `invalid settings: --node-ip: :: is the unspecified address; agents need one they can dial`, settings.ErrSettings},
		{"link-local IP", settings.Inputs{NodeIP: "169.254.1.1"}, `invalid settings: --node-ip: 169.254.1.1 is link-local: it is not routed, and Docker's published ports do not serve it; use the host's routable address`, settings.ErrSettings},
		{"link-local IPv6", settings.Inputs{NodeIP: "fe80::1"}, `invalid settings: --node-ip: fe80::1 is link-local: it is not routed, and Docker's published ports do not serve it; use the host's routable address`, settings.ErrSettings},
		{"clickhouse ports clash", settings.Inputs{Profile: "host-network", Sets: []string{"clickhouse.httpPort=9000"}}, `invalid topology: clickhouse (tcp) and clickhouse (http) both bind node port 9000`, topology.ErrTopology},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if tc.in.NodeIP == "" {
				tc.in.NodeIP = "192.0.2.10"
			}
			out := filepath.Join(t.TempDir(), "out")
			p, err := Prepare(context.Background(), Options{Inputs: tc.in, OutDir: out})
			if err == nil {
				t.Fatalf("no error; want %q", tc.want)
			}
			if err.Error() != tc.want {
				t.Errorf("error\n got: %s\nwant: %s", err, tc.want)
			}
			if !errors.Is(err, tc.is) {
				t.Errorf("error does not wrap %v", tc.is)
			}
			if p != nil {
				t.Error("a plan came back with the error")
			}
			if _, err := os.Stat(out); !os.IsNotExist(err) {
				t.Errorf("output directory exists after a failed render: %v", err)
			}
		})
	}
}

func TestUnwritableOutput(t *testing.T) {
	file := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, out := range []string{file, filepath.Join(file, "sub")} {
		p := prepare(t, settings.Inputs{}, out)
		_, err := p.Write(false)
		if !errors.Is(err, ErrWrite) {
			t.Errorf("-o %s: got %v, want ErrWrite", out, err)
		}
	}
}
