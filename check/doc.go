// Package check reviews a deployment directory in DeepFlow's compose
// package layout — rendered by deepflow-compose, DeepFlow's own package as
// published, or converted by hand to host networking — and reports every
// inconsistency with its file, line, what is wrong and the exact fix.
//
// # How it judges
//
// It reads the directory with package layout's parsers (compose-go for the
// compose files and .env, yaml.v3, go-ini, encoding/xml), infers the
// settings the files imply — network mode from deepflow-server's
// network_mode, node IP from .env's NODE_IP_FOR_DEEPFLOW (else the
// server's environment, else the agent files), each listener's port from
// the file that makes the process listen (my.cnf, config.xml, server.yaml,
// app.yaml, grafana.ini), whether each datastore is exposed from its bind
// address (host) or published ports (bridge) — and resolves the wiring a
// consistent deployment with those settings has with render.NewTopology.
// Every address, port and password the files name is then compared with
// that topology and with each other.
//
// When a listener's own file disagrees with every one of at least two
// consumers that agree among themselves, the listener's file is reported
// alone (the usual "changed in one file only" case); otherwise each
// disagreeing consumer is. Passwords are treated the same way, with the
// compose environment (MySQL) or users.xml (ClickHouse) in the listener's
// place. References are followed the way each service does: compose
// interpolation with .env, Grafana's $__env{X} and ${X} against Grafana's
// container environment, ClickHouse's from_env against ClickHouse's.
// The shell environment is not consulted: the review is of the files.
// Password values never appear in messages.
//
// # JSON output
//
// `deepflow-compose check DIR --output json` prints one object, stable
// across releases (fields may be added, none removed or renamed):
//
//	{
//	  "findings": [                 // sorted by file, line, severity (error first), rule, message; [] when clean
//	    {
//	      "severity": "error",      // "error" | "warning"
//	      "file": "common/config/deepflow-server/server.yaml", // relative to DIR, slash-separated
//	      "line": 12,               // 1-based; 0 = the file as a whole or a setting it lacks
//	      "rule": "service-host",   // stable identifier, see below
//	      "message": "…",           // what is wrong and why
//	      "fix": "…"                // the exact edit
//	    }
//	  ],
//	  "summary": {"errors": 1, "warnings": 0},
//	  "inferred": {                 // what the review read the directory as
//	    "network": "host",          // "bridge" | "host"
//	    "nodeIP": "10.1.2.3",       // "" when the directory never says
//	    "version": "v7.1",          // DEEPFLOW_VERSION or the server image's tag; "" when unknown
//	    "ports": {"mysql": 30130, "clickhouseTCP": 9000, "clickhouseHTTP": 8123, "grafana": 3000,
//	              "agentController": 20035, "agentIngester": 20033, "ctlAPI": 20417}
//	  }
//	}
//
// Exit status: 0 clean or warnings only, 1 at least one error, 2 the
// directory or a file of its layout could not be read (or a bad flag).
//
// # Rules
//
//	unreadable         error    a file of the layout cannot be read at all: a directory, a symlink loop, no permission, over its size limit (exit 2)
//	parse              error    a file of the layout does not parse
//	missing-file       error    no docker-compose.yaml
//	compose-load       error    compose-go refuses the compose file; its own message (warning: what compose-go logs while loading, e.g. an obsolete version key)
//	missing-service    error    one of mysql, clickhouse, deepflow-server, deepflow-app, deepflow-grafana is absent
//	network-mode       error    services on different network modes
//	bridge-only        error    ports, networks or links under network_mode: host
//	service-host       error    a compose service or container name used as a host under host networking
//	wrong-host         error    any other host a service cannot reach in this network mode
//	env-ref            error    a $__env{}/${} (Grafana) or from_env (ClickHouse) naming an unset variable
//	port-mismatch      error    a consumer's port differs from the listener's (or the listener's from all consumers)
//	published-port     error    bridge: a port agents, deepflow-ctl or browsers dial is not published as expected
//	port-clash         error    two listeners on one node port
//	agent-port         error    controller-port, proxy_controller_port, ingester_port (analyzer_port) not what the server exposes
//	agent-ip           error    controller-ips, proxy_controller_ip, ingester_ip (analyzer_ip) not the node IP
//	node-ip            error    .env and deepflow-server's K8S_NODE_IP_FOR_DEEPFLOW disagree, or it is not an IP
//	secret-mismatch    error    MySQL root or ClickHouse default password differs between files
//	placeholder        error    {{ … }}, FIX_ME_… left in, or ${VAR} where nothing expands it
//	image              error    an unpinned or :latest image (warning for deepflowio-init-grafana-ds-dh)
//	image-registry     warning  DeepFlow images from more than one registry
//	default-password   warning  MySQL root or Grafana admin on a published default, with who can reach it
//	exposed-datastore  warning  host networking: MySQL/ClickHouse on every interface; ClickHouse default user without password
//	group-config       error    agent-group-config keys or types invalid for a release the version may run (package agentcfg), or the wrong layout for the version
//	trident-type       error    trident-type-for-unkonw-vtap missing or not 3, where the version's releases read it (warning when there are no agent files)
//	workload-sync      error    from v7.1.8 (no trident-type-for-unkonw-vtap): the group config lacks workload_resource_sync_enabled: true (warning when there are no agent files)
//	local-ip-ranges    error    an agent subnet (the render manifest's agent.subnets) outside controller.genesis.local_ip_ranges
//	offline            warning  the render manifest says offline: true, and a host outside the site is named: a chrony
//	                            (NTP) host, an image registry other than the mirror (or a public mirror), a URL or host
//	                            in server.yaml, app.yaml, the agent files or a compose environment, Grafana's update
//	                            checks or usage reports not false, a download in NEXT-STEPS.md. Outside means not
//	                            the node IP, ntpServer or mirror, not a private/loopback/link-local/100.64/10
//	                            address, not a name without a dot, not under .local/.internal/.lan/.corp/.home.arpa…
package check
