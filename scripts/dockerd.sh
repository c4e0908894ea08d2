#!/usr/bin/env bash
# Private Docker engine for tests and demos: start | stop | env | status.
#
# It runs its own dockerd (vfs storage, own data-root, exec-root, pidfile,
# socket, config file and bridge) under $DFC_DOCKER_DIR so it never touches a
# system Docker that may also be running on the host. It needs root.
#
#   eval "$(scripts/dockerd.sh start)"   # prints: export DOCKER_HOST=unix://...
#   scripts/dockerd.sh stop
#
# Networking: a second dockerd on one host clashes with the first on the
# default docker0 bridge and on the iptables chains. So ours brings its own
# bridge (DFC_DOCKER_BRIDGE, address DFC_DOCKER_BIP) and runs with
# --iptables=false: published ports are served by docker-proxy (the userland
# proxy), containers on one compose network reach each other over the bridge,
# and nothing is NATed to the outside (no registry is reachable anyway).
# Tested beside a second, iptables-managing dockerd on docker0. Should another
# engine have set the FORWARD policy to DROP (with br_netfilter, bridged
# traffic then passes FORWARD too), start adds one ACCEPT rule for traffic
# inside our own address pool, and stop removes it.
set -euo pipefail

DIR="${DFC_DOCKER_DIR:-${TMPDIR:-/tmp}/dfc-docker}"
# Each directory gets its own bridge, bridge address and address pool, so
# two private engines (say a developer's and a test run's) never share one.
# The 16 /20 pools in 172.30.0.0/16 hold 16 compose networks each.
SLOT="$(printf '%s' "$DIR" | cksum | cut -d' ' -f1)"
BRIDGE="${DFC_DOCKER_BRIDGE:-dfc$(printf '%08x' "$SLOT" | cut -c1-8)}"
BIP="${DFC_DOCKER_BIP:-172.31.$((128 + SLOT % 127)).1/24}"
POOL="${DFC_DOCKER_POOL:-172.30.$((SLOT % 16 * 16)).0/20}"
SOCK="$DIR/docker.sock"
PIDFILE="$DIR/dockerd.pid"
LOG="$DIR/dockerd.log"
WAIT="${DFC_DOCKER_WAIT:-60}"

log() { echo "dockerd.sh: $*" >&2; }

need_root() {
	if [ "$(id -u)" != 0 ]; then
		log "must run as root (dockerd needs it)"
		exit 1
	fi
}

# install puts Debian's docker.io and busybox-static in place when missing.
install() {
	local pkgs=()
	command -v dockerd >/dev/null 2>&1 || pkgs+=(docker.io)
	command -v docker-proxy >/dev/null 2>&1 || [ -x /usr/sbin/docker-proxy ] || pkgs+=(docker.io)
	if ! { [ -x /bin/busybox ] && file_is_static /bin/busybox; }; then
		pkgs+=(busybox-static)
	fi
	[ ${#pkgs[@]} -eq 0 ] && return 0
	log "installing ${pkgs[*]}"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq >&2
	apt-get install -y -qq --no-install-recommends "${pkgs[@]}" >&2
}

# file_is_static: a dynamic busybox cannot run inside an empty image.
file_is_static() {
	dpkg -s busybox-static >/dev/null 2>&1 && return 0
	! ldd "$1" >/dev/null 2>&1
}

running() {
	[ -f "$PIDFILE" ] && kill -0 "$(cat "$PIDFILE")" 2>/dev/null
}

answers() {
	# /_ping answers once the API is up; curl may be missing, so use the CLI.
	DOCKER_HOST="unix://$SOCK" docker version --format '{{.Server.APIVersion}}' >/dev/null 2>&1
}

print_env() {
	echo "export DOCKER_HOST=unix://$SOCK"
}

make_bridge() {
	if ! ip link show "$BRIDGE" >/dev/null 2>&1; then
		ip link add name "$BRIDGE" type bridge
	fi
	if ! ip -4 addr show dev "$BRIDGE" | grep -q "inet ${BIP%/*}/"; then
		ip addr add "$BIP" dev "$BRIDGE"
	fi
	ip link set "$BRIDGE" up
}

# forward_rule add|del: let traffic inside our pool through a DROP policy.
forward_rule() {
	command -v iptables >/dev/null 2>&1 || return 0
	local rule=(FORWARD -s "$POOL" -d "$POOL" -m comment --comment "dfc-docker $DIR" -j ACCEPT)
	if [ "$1" = add ]; then
		if [ "${DFC_DOCKER_FORWARD_RULE:-}" = 1 ] || iptables -S FORWARD 2>/dev/null | grep -q '^-P FORWARD DROP'; then
			iptables -C "${rule[@]}" 2>/dev/null || iptables -I "${rule[@]}" 2>/dev/null || log "cannot add the FORWARD rule for $POOL"
		fi
	else
		while iptables -D "${rule[@]}" 2>/dev/null; do :; done
	fi
}

start() {
	need_root
	install
	mkdir -p "$DIR"
	if running; then
		if answers; then
			print_env
			return 0
		fi
		log "dockerd (pid $(cat "$PIDFILE")) runs but does not answer; restarting it"
		stop_daemon
	fi
	mkdir -p "$DIR/data" "$DIR/exec"
	# An empty config file of our own: the system /etc/docker/daemon.json
	# belongs to the system engine.
	[ -f "$DIR/daemon.json" ] || echo '{}' >"$DIR/daemon.json"
	make_bridge
	forward_rule add
	rm -f "$SOCK"
	log "starting dockerd in $DIR (log: $LOG)"
	setsid dockerd \
		--config-file "$DIR/daemon.json" \
		--storage-driver=vfs \
		--data-root "$DIR/data" \
		--exec-root "$DIR/exec" \
		--pidfile "$PIDFILE" \
		-H "unix://$SOCK" \
		--bridge "$BRIDGE" \
		--iptables=false \
		--ip-masq=false \
		--default-address-pool "base=$POOL,size=24" \
		>"$LOG" 2>&1 </dev/null &
	local i
	for ((i = 0; i < WAIT * 4; i++)); do
		if answers; then
			print_env
			return 0
		fi
		if ! running && [ $i -gt 8 ]; then
			break
		fi
		sleep 0.25
	done
	log "dockerd did not answer within ${WAIT}s; last log lines:"
	tail -n 30 "$LOG" >&2 || true
	stop_daemon
	exit 1
}

stop_daemon() {
	if [ -f "$PIDFILE" ]; then
		local pid
		pid="$(cat "$PIDFILE")"
		if kill -0 "$pid" 2>/dev/null; then
			kill "$pid" 2>/dev/null || true
			local i
			for ((i = 0; i < 80; i++)); do
				kill -0 "$pid" 2>/dev/null || break
				sleep 0.25
			done
			kill -0 "$pid" 2>/dev/null && kill -9 "$pid" 2>/dev/null || true
		fi
		rm -f "$PIDFILE"
	fi
}

stop() {
	need_root
	stop_daemon
	# Mounts the daemon may leave behind (netns, containerd shims) block rm.
	if [ -d "$DIR" ]; then
		{ grep -o " $DIR/[^ ]*" /proc/self/mounts || true; } | sort -r | while read -r m; do
			umount -l "$m" 2>/dev/null || true
		done
	fi
	if ip link show "$BRIDGE" >/dev/null 2>&1; then
		ip link delete "$BRIDGE" 2>/dev/null || true
	fi
	forward_rule del
	if [ "${DFC_DOCKER_KEEP:-}" != 1 ]; then
		rm -rf "$DIR"
	fi
}

case "${1:-}" in
start) start ;;
stop) stop ;;
env) print_env ;;
status)
	if running && answers; then
		echo "running: $(print_env)"
	else
		echo "not running"
		exit 1
	fi
	;;
*)
	echo "usage: $0 start|stop|env|status" >&2
	exit 2
	;;
esac
