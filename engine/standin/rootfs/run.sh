#!/bin/sh
# deepflow-compose STAND-IN. This is not DeepFlow, MySQL, ClickHouse or
# Grafana: it is a busybox image that tests run under the image names a render
# asks for. It reads the ports from the rendered config files mounted into it,
# listens on them and answers the same readiness probes, so a test proves the
# orchestration (compose file, ports, wiring, readiness), not DeepFlow itself.
. /standin/conf
W=/tmp/standin
mkdir -p "$W"
PIDS=""
trap 'kill $PIDS 2>/dev/null; exit 0' TERM INT

if [ -f /etc/deepflow-agent/deepflow-agent.yaml ]; then ROLE=deepflow-agent
elif [ -f /etc/server.yaml ]; then ROLE=deepflow-server
elif [ -f /etc/deepflow/app.yaml ]; then ROLE=deepflow-app
elif [ -f /etc/clickhouse-server/config.xml ]; then ROLE=clickhouse
elif [ -f /etc/my.cnf ]; then ROLE=mysql
elif [ -f /etc/grafana/grafana.ini ]; then ROLE=grafana
else ROLE=init
fi

log() { echo "stand-in $ROLE: $*"; }

# yget FILE a.b.c: a scalar from a block-style YAML file.
yget() { awk -v want="$2" -f /standin/yflat.awk "$1" | sed -n 's/^[^=]*=//p' | head -n 1; }
# iniget FILE SECTION KEY
iniget() {
	awk -v sec="$2" -v key="$3" '
		/^[ \t]*[#;]/ { next }
		/^[ \t]*\[/ { s = $0; gsub(/[][ \t]/, "", s); cur = s; next }
		cur == sec {
			k = $0; sub(/=.*/, "", k); gsub(/[ \t]/, "", k)
			if (k == key && index($0, "=") > 0) {
				v = $0; sub(/^[^=]*=[ \t]*/, "", v); sub(/[ \t]+$/, "", v); print v; exit
			}
		}' "$1"
}
# xmlget FILE TAG: the first uncommented <TAG>value</TAG>.
xmlget() { grep -v '<!--' "$1" | sed -n "s:.*<$2>[ ]*\([^<]*\)</$2>.*:\1:p" | head -n 1 | tr -d ' '; }

bindaddr() {
	case "$1" in
	"" | "*" | "::" | "0.0.0.0") echo 0.0.0.0 ;;
	*) echo "$1" ;;
	esac
}

# serve NAME ADDR PORT: an HTTP listener whose document root is $W/NAME.
serve() {
	if [ -z "$3" ]; then
		log "no port found for $1 in the rendered config"
		exit 3
	fi
	mkdir -p "$W/$1"
	httpd -f -p "$(bindaddr "$2"):$3" -h "$W/$1" &
	PIDS="$PIDS $!"
	log "listening: $1 on $(bindaddr "$2"):$3"
}

# greet NAME PORT FILE: a listener that sends FILE to every connection, for
# protocols where the server speaks first (MySQL's greeting) or answers any
# opening with a fixed frame (HTTP/2 SETTINGS). busybox nc binds every
# address; the readiness probes only need the process to answer.
greet() {
	if [ -z "$2" ]; then
		log "no port found for $1 in the rendered config"
		exit 3
	fi
	nc -ll -p "$2" -e /bin/cat "$3" &
	PIDS="$PIDS $!"
	log "listening: $1 on $2 (answers with $(basename "$3"))"
}

never() {
	case " $NEVER_READY " in *" $ROLE "*) return 0 ;; esac
	return 1
}

# stall keeps a stand-in that was told never to become ready alive and quiet.
stall() {
	log "told never to become ready ($1)"
	while :; do sleep 3600 & PIDS="$PIDS $!"; wait $!; done
}

reachable() { nc -w 1 "$1" "$2" </dev/null >/dev/null 2>&1; }

stage() { echo "$*" >"$W/stage"; log "init stage: $*"; }

case "$ROLE" in
init)
	log "nothing to prepare"
	exit 0
	;;
mysql)
	C=/etc/my.cnf
	never && stall "mysql"
	greet mysql "$(iniget $C mysqld port)" /standin/mysql-greeting
	# Leave data behind as MySQL would, so keeping and purging it shows.
	[ -d /var/lib/mysql ] && echo "stand-in data" >/var/lib/mysql/standin.ibd
	;;
clickhouse)
	C=/etc/clickhouse-server/config.xml
	never && stall "clickhouse"
	H="$(xmlget $C listen_host)"
	serve http "$H" "$(xmlget $C http_port)"
	echo "Ok." >"$W/http/ping"
	# Queries (POST / or /?query=) go to the CGI: httpd runs
	# cgi-bin/index.cgi for a directory without index.html.
	mkdir -p "$W/http/cgi-bin"
	cp /standin/clickhouse.cgi "$W/http/cgi-bin/index.cgi"
	serve tcp "$H" "$(xmlget $C tcp_port)"
	serve interserver "$H" "$(xmlget $C interserver_http_port)"
	[ -d /var/lib/clickhouse ] && echo "stand-in data" >/var/lib/clickhouse/standin.bin
	;;
deepflow-app)
	C=/etc/deepflow/app.yaml
	never && stall "deepflow-app"
	serve app 0.0.0.0 "$(yget $C app.listen-port)"
	;;
grafana)
	C=/etc/grafana/grafana.ini
	never && stall "grafana"
	serve web "$(iniget $C server http_addr)" "$(iniget $C server http_port)"
	mkdir -p "$W/web/api"
	echo '{"database":"ok","version":"stand-in"}' >"$W/web/api/health"
	;;
deepflow-server)
	C=/etc/server.yaml
	# The controller answers 503 with its init stage until it is ready, as
	# the real server does; the querier opens once ClickHouse answers.
	stage "starting"
	# The controller API is apitest's stand-in (bin/apistandin): health
	# answers 503 "server is in stage: … now" until $W/ready exists, and
	# bootstrap and doctor talk to it. It also listens on the gRPC port,
	# where the stand-in agent registers over HTTP (the real one speaks
	# gRPC there). Its state lives in the container: a restart loses it.
	CPORT="$(yget $C controller.listen-port)"
	GPORT="$(yget $C controller.grpc-port)"
	if [ -z "$CPORT" ] || [ -z "$GPORT" ]; then
		log "no controller or gRPC port found in the rendered config"
		exit 3
	fi
	apistandin -listen "0.0.0.0:$CPORT" -also-listen "0.0.0.0:$GPORT" \
		-ready-file "$W/ready" -stage-file "$W/stage" -probes-file "$W/probes" \
		-agent-route -sync-domains -state "$W/api-state.json" &
	PIDS="$PIDS $!"
	log "listening: controller API stand-in on 0.0.0.0:$CPORT and gRPC 0.0.0.0:$GPORT"
	serve ingester 0.0.0.0 20033
	serve profile 0.0.0.0 20419
	MH="$(yget $C controller.mysql.host)"
	MP="$(yget $C controller.mysql.port)"
	CH="$(yget $C querier.clickhouse.host)"
	CP="$(yget $C querier.clickhouse.port)"
	if never; then
		stage "waiting for a stand-in that never gets ready"
		stall "deepflow-server"
	fi
	stage "waiting for MySQL at $MH:$MP"
	until reachable "$MH" "$MP"; do sleep 1; done
	stage "waiting for ClickHouse at $CH:$CP"
	until reachable "$CH" "$CP"; do sleep 1; done
	# Stay in a 503 stage for the first HEALTH_503 health probes, so a test
	# sees the stage deterministically.
	if [ "${HEALTH_503:-0}" -gt 0 ]; then
		stage "migrating the database schema (stand-in holds $HEALTH_503 probes)"
		until [ "$(cat "$W/probes" 2>/dev/null || echo 0)" -ge "$HEALTH_503" ]; do usleep 100000; done
	fi
	serve querier 0.0.0.0 "$(yget $C querier.listen-port)"
	mkdir -p "$W/querier/api"
	echo '{"OPT_STATUS":"SUCCESS","DESCRIPTION":"stand-in echo"}' >"$W/querier/api/echo"
	touch "$W/ready"
	stage "ready"
	;;
deepflow-agent)
	C=/etc/deepflow-agent/deepflow-agent.yaml
	never && stall "deepflow-agent"
	LP="$(yget $C liveness-probe-port)"
	serve liveness 0.0.0.0 "${LP:-39090}"
	# Register with the controller as the real agent would, through the
	# server stand-in's stand-in-only route on the gRPC port, again and
	# again: a restarted server stand-in has forgotten it.
	CIP="$(grep -A1 '^controller-ips:' $C | sed -n 's/^[ ]*-[ ]*//p' | tr -d "\"'" | head -n 1)"
	CP="$(yget $C controller-port)"
	GID="$(yget $C vtap-group-id-request)"
	(
		while :; do
			ME="$(ip route get "$CIP" 2>/dev/null | sed -n 's/.* src \([0-9.]*\).*/\1/p' | head -n 1)"
			wget -q -O /dev/null --header 'Content-Type: application/json' \
				--post-data "{\"CTRL_IP\":\"${ME:-$CIP}\",\"NAME\":\"$(hostname)-stand-in\",\"VTAP_GROUP_ID_REQUEST\":\"$GID\"}" \
				"http://$CIP:$CP/v1/vtaps/standin/" 2>/dev/null
			sleep 5
		done
	) &
	PIDS="$PIDS $!"
	log "registering with $CIP:$CP (group ${GID:-default})"
	;;
esac

log "ready"
wait
log "a listener stopped"
exit 1
