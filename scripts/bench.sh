#!/usr/bin/env bash
# Prints the ratios of issue 14's table: each deepflow-compose command next
# to its anchor, run alternately PAIRS times, median of the per-pair ratios.
#
#   scripts/bench.sh [all|bundle|render|up]      (make bench runs `all`)
#   scripts/bench.sh standins DIR   build the stand-ins, render DIR, keep both
#
#   bundle save  /  docker save IMAGES | zstd -T0          (and the sizes)
#   bundle load  /  docker load -i the raw `docker save` tar
#   render CPU   /  Compose's `config -q` on the rendered file (user+sys)
#   render peak RSS, next to Compose's
#   up wall time −  Compose's `up -d` on the same stand-ins (readiness is
#                   what up adds: it waits until every service answers)
#
# The Compose anchor is internal/bench/composeconfig: Compose's own command
# tree from the module this project links. The images are stand-ins
# (engine/standin) with a payload layer of this host's own files, about
# BENCH_MB MB in all, so that they compress like real images do.
# It starts the private engine (scripts/dockerd.sh, needs root) and stops
# it again if it started it; it installs Debian's zstd, bc and GNU time
# when missing.
# Absolute times are noise on a shared machine: read the ratios.
set -euo pipefail
cd "$(dirname "$0")/.."

what="${1:-all}"
PAIRS="${PAIRS:-5}"
BENCH_MB="${BENCH_MB:-300}"
RENDER_RUNS="${RENDER_RUNS:-20}"
GO="${GO:-go}"
export DFC_DOCKER_DIR="${DFC_DOCKER_DIR:-${TMPDIR:-/tmp}/dfc-bench-docker}"
REG=127.0.0.1:5999/dfc-bench

log() { echo "bench: $*" >&2; }

work="$(mktemp -d "${TMPDIR:-/tmp}/dfc-bench.XXXXXX")"
started=""
cleanup() {
	rm -rf "$work"
	if [ -n "$started" ]; then scripts/dockerd.sh stop >/dev/null 2>&1 || true; fi
}
trap cleanup EXIT

# median reads numbers, one a line, and prints their median.
median() { sort -g | awk '{a[NR]=$1} END {if (NR == 0) exit 1; if (NR % 2) print a[(NR+1)/2]; else printf "%.4f\n", (a[NR/2]+a[NR/2+1])/2}'; }
range() { sort -g | awk 'NR==1{lo=$1} {hi=$1} END {printf "%s–%s", lo, hi}'; }
# secs CMD…: runs CMD (output to the log) and prints its wall time and the
# CPU time (user+sys) of it and its children. The engine's own work is in
# neither: on a busy host the CPU ratio is the steadier of the two.
secs() {
	/usr/bin/time -o "$work/time" -f '%e %U %S' "$@" >>"$work/log" 2>&1 || { log "failed: $*"; tail -n 3 "$work/log" >&2; return 1; }
	awk '{printf "%s %.2f\n", $1, $2 + $3}' "$work/time"
}
ratio() { echo "scale=4; $1 / $2" | bc -l; }
mb() { echo "scale=1; $(stat -c %s "$1") / 1048576" | bc -l; }

# tools installs Debian's packages for GNU time, bc and zstd when missing.
tools() {
	local pkgs=()
	[ -x /usr/bin/time ] || pkgs+=(time)
	command -v bc >/dev/null || pkgs+=(bc)
	command -v zstd >/dev/null || pkgs+=(zstd)
	[ ${#pkgs[@]} -eq 0 ] && return 0
	log "installing ${pkgs[*]}"
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${pkgs[@]}" >/dev/null ||
		{ apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${pkgs[@]}" >/dev/null; }
}
tools

log "building deepflow-compose and the Compose anchor"
# DFC_BIN measures another build (say the one before a change) with the
# same script.
if [ -n "${DFC_BIN:-}" ]; then cp "$DFC_BIN" "$work/dfc.built"; else $GO build -o "$work/dfc.built" ./cmd/deepflow-compose; fi
$GO build -o "$work/compose.built" ./internal/bench/composeconfig
# Both binaries are copied, as an install would: the kernel maps a file's
# pages in folios as large as it was written with, and the external
# linker (cgo) writes in larger ones than Go's own, which shows as ~8 MB
# more peak RSS for the same process until the file is written anew.
for b in dfc compose; do cat "$work/$b.built" >"$work/$b" && chmod +x "$work/$b"; done
dfc="$work/dfc"
compose="$work/compose"

# Grafana off its default port: a shared host may have a stack running.
render_dir() {
	local dir="$1"
	shift
	"$dfc" render -o "$dir" --node-ip 127.0.0.1 --set "registry=$REG" --set projectName=dfcbench \
		--set "grafana.port=${BENCH_GRAFANA_PORT:-33000}" "$@" >/dev/null 2>&1
}

bench_render() {
	render_dir "$work/r0"
	# CPU: RENDER_RUNS runs of each under one GNU time, alternately; the
	# shell loop's own cost is in both.
	local i r c ratios=() rss_r=0 rss_c=0 v
	for ((i = 0; i < PAIRS; i++)); do
		# A new directory each run, removed outside the timing.
		r=$(/usr/bin/time -f '%U %S' sh -c "for n in \$(seq $RENDER_RUNS); do '$dfc' render -o '$work/rr/'\$n --node-ip 127.0.0.1 --set registry=$REG --set projectName=dfcbench >/dev/null 2>&1; done" 2>&1 | tail -n1 | awk '{print $1 + $2}')
		rm -rf "$work/rr"
		c=$(/usr/bin/time -f '%U %S' sh -c "for n in \$(seq $RENDER_RUNS); do '$compose' -f '$work/r0/docker-compose.yaml' config -q; done" 2>&1 | tail -n1 | awk '{print $1 + $2}')
		ratios+=("$(ratio "$r" "$c")")
		log "render pair $i: render ${r}s, compose config ${c}s CPU for $RENDER_RUNS runs"
	done
	for ((i = 0; i < 5; i++)); do
		rm -rf "$work/r1"
		v=$(/usr/bin/time -f '%M' "$dfc" render -o "$work/r1" --node-ip 127.0.0.1 --set "registry=$REG" 2>&1 >/dev/null | tail -n1)
		((v > rss_r)) && rss_r=$v
		v=$(/usr/bin/time -f '%M' "$compose" -f "$work/r0/docker-compose.yaml" config -q 2>&1 | tail -n1)
		((v > rss_c)) && rss_c=$v
	done
	printf '%-48s median %sx over %d pairs (range %s)\n' "render CPU / compose config -q" \
		"$(printf '%s\n' "${ratios[@]}" | median)" "$PAIRS" "$(printf '%s\n' "${ratios[@]}" | range)"
	printf '%-48s %d MB (compose config: %d MB)\n' "render peak RSS" $((rss_r / 1024)) $((rss_c / 1024))
}

engine() {
	if ! scripts/dockerd.sh status >/dev/null 2>&1; then started=1; fi
	eval "$(scripts/dockerd.sh start)"
	export DOCKER_HOST
	# The legacy builder: the engine may have no BuildKit front end.
	export DOCKER_BUILDKIT=0
}

# standins builds the stand-ins for $work/d, then gives each image a
# payload layer of this host's files (binaries, libraries, text: they
# compress like images do), about BENCH_MB MB in all, split unevenly.
standins() {
	render_dir "$work/d"
	$GO run ./engine/standin/cmd/standin "$work/d" >>"$work/log" 2>&1
	mapfile -t refs < <(grep -E '^\s+image:' "$work/d/docker-compose.yaml" "$work/d/agent/docker-compose.yaml" | awk '{print $NF}' | tr -d '"' | sort -u)
	find /usr/lib/x86_64-linux-gnu /usr/bin /usr/share -xdev -type f -readable -printf '%s %p\n' 2>/dev/null | sort -k2 >"$work/files"
	local n=${#refs[@]} i=0 total=$((BENCH_MB << 20)) ctx="$work/ctx" w weights=() wsum=0
	# The standin command has tagged every image of both compose files.
	for ((i = 0; i < n; i++)); do
		# Shares like the real images': the databases and the server
		# weigh most.
		case "${refs[i]}" in
		*/mysql:* | */clickhouse-server:*) w=25 ;;
		*/deepflow-server:*) w=20 ;;
		*/grafana:*) w=10 ;;
		*/deepflow-app:* | */deepflow-agent:*) w=8 ;;
		*) w=2 ;;
		esac
		weights+=("$w")
		wsum=$((wsum + w))
	done
	mkdir -p "$ctx"
	awk -v total="$total" -v n="$n" -v wsum="$wsum" -v w="${weights[*]}" -v out="$ctx/list." '
		BEGIN { split(w, ws, " "); g = 1; lim = total * ws[1] / wsum }
		g <= n { print substr($0, index($0, " ") + 1) > (out g); acc += $1
		  if (acc >= lim) { g++; acc = 0; lim = total * ws[g] / wsum } }' "$work/files"
	for ((i = 0; i < n; i++)); do
		printf 'FROM %s\nCOPY usr/ /payload/usr/\n' "${refs[i]}" >"$ctx/Dockerfile"
		tar -cf - -C "$ctx" Dockerfile -C / -T "$ctx/list.$((i + 1))" 2>/dev/null |
			docker build -q -t "${refs[i]}" - >>"$work/log" 2>&1
	done
	log "stand-ins: $(docker images --format '{{.Repository}}:{{.Tag}} {{.Size}}' | grep -c "$REG") names, $(docker image ls -q | sort -u | wc -l) images"
}

rmi() { docker rmi -f "${refs[@]}" >/dev/null 2>&1 || true; docker image prune -f >/dev/null 2>&1 || true; }

bench_bundle() {
	local i s z l dl saves=() loads=() scpu=() lcpu=() bsize zsize
	docker save -o "$work/raw.tar" "${refs[@]}"
	log "raw image tar: $(mb "$work/raw.tar") MB"
	"$dfc" bundle save "$work/d" -o "$work/b.tar.zst" --progress quiet >>"$work/log" 2>&1
	for ((i = 0; i < PAIRS; i++)); do
		[ "${BENCH_LOAD_ONLY:-}" = 1 ] && break
		rm -f "$work/b.tar.zst" "$work/z.tar.zst"
		# Alternate which goes first: the page cache and the engine warm up.
		if ((i % 2)); then
			read -r z zc < <(secs sh -c "docker save ${refs[*]} | zstd -q -T0 -o '$work/z.tar.zst'")
			read -r s sc < <(secs "$dfc" bundle save "$work/d" -o "$work/b.tar.zst" --progress quiet)
		else
			read -r s sc < <(secs "$dfc" bundle save "$work/d" -o "$work/b.tar.zst" --progress quiet)
			read -r z zc < <(secs sh -c "docker save ${refs[*]} | zstd -q -T0 -o '$work/z.tar.zst'")
		fi
		[ -n "$s" ] && [ -n "$z" ] || exit 1
		saves+=("$(ratio "$s" "$z")")
		scpu+=("$(ratio "$sc" "$zc")")
		log "save pair $i: bundle save ${s}s (CPU ${sc}s), docker save | zstd ${z}s (CPU ${zc}s)"
	done
	bsize=$(mb "$work/b.tar.zst")
	zsize=$(mb "$work/z.tar.zst" 2>/dev/null || echo 0)
	for ((i = 0; i < PAIRS; i++)); do
		[ "${BENCH_SAVE_ONLY:-}" = 1 ] && break
		rm -rf "$work/out"
		rmi
		read -r l lc < <(secs "$dfc" bundle load "$work/b.tar.zst" -o "$work/out" --progress quiet)
		rmi
		read -r dl dlc < <(secs docker load -q -i "$work/raw.tar")
		[ -n "$l" ] && [ -n "$dl" ] || exit 1
		loads+=("$(ratio "$l" "$dl")")
		lcpu+=("$(ratio "$lc" "$dlc")")
		log "load pair $i: bundle load ${l}s (CPU ${lc}s), docker load ${dl}s (CPU ${dlc}s)"
	done
	if ((${#saves[@]})); then
		printf '%-48s median %sx over %d pairs (range %s); %s MB vs %s MB; CPU %sx\n' "bundle save / docker save | zstd -T0" \
			"$(printf '%s\n' "${saves[@]}" | median)" "$PAIRS" "$(printf '%s\n' "${saves[@]}" | range)" "$bsize" "$zsize" \
			"$(printf '%s\n' "${scpu[@]}" | median)"
	fi
	if ((${#loads[@]})); then
		printf '%-48s median %sx over %d pairs (range %s)\n' "bundle load / docker load (raw tar)" \
			"$(printf '%s\n' "${loads[@]}" | median)" "$PAIRS" "$(printf '%s\n' "${loads[@]}" | range)"
	fi
	# Peak RSS, the whole process's: libzstd's memory (save, with cgo) is
	# in no Go heap figure.
	local rs rl
	rm -f "$work/b.tar.zst"
	rs=$(/usr/bin/time -f '%M' "$dfc" bundle save "$work/d" -o "$work/b.tar.zst" --progress quiet 2>&1 >/dev/null | tail -n1)
	rm -rf "$work/out"
	rmi
	rl=$(/usr/bin/time -f '%M' "$dfc" bundle load "$work/b.tar.zst" -o "$work/out" --progress quiet 2>&1 >/dev/null | tail -n1)
	printf '%-48s save %d MB, load %d MB\n' "bundle peak RSS" $((rs / 1024)) $((rl / 1024))
}

bench_up() {
	# The stack's own agent needs capabilities some engines cannot give
	# (a container in a container): the figure is about the rest.
	render_dir "$work/u" --set agent.onServer=false
	local i u c diffs=() f="$work/u/docker-compose.yaml"
	# A port another stack holds fails up's preflight: say so, measure nothing.
	if ! "$dfc" up "$work/u" >"$work/up.log" 2>&1; then
		"$dfc" down "$work/u" >>"$work/log" 2>&1 || true
		printf '%-48s not measured: up failed here:\n' "up wall time - compose up -d"
		tail -n 5 "$work/up.log" | sed 's/^/    /'
		return 0
	fi
	"$dfc" down "$work/u" >>"$work/log" 2>&1
	for ((i = 0; i < PAIRS; i++)); do
		# On a shared host a port can be taken between two runs: such a
		# pair is left out, and said so.
		if ! read -r u _ < <(secs "$dfc" up "$work/u") || [ -z "$u" ]; then
			"$dfc" down "$work/u" >>"$work/log" 2>&1 || true
			log "up pair $i left out: up failed"
			continue
		fi
		"$dfc" down "$work/u" >>"$work/log" 2>&1
		if ! read -r c _ < <(secs "$compose" -f "$f" --project-directory "$work/u" up -d) || [ -z "$c" ]; then
			"$compose" -f "$f" --project-directory "$work/u" down >>"$work/log" 2>&1 || true
			log "up pair $i left out: compose up -d failed"
			continue
		fi
		"$compose" -f "$f" --project-directory "$work/u" down >>"$work/log" 2>&1
		diffs+=("$(echo "$u - $c" | bc -l)")
		log "up pair $i: up ${u}s, compose up -d ${c}s"
	done
	if ((${#diffs[@]} == 0)); then
		printf '%-48s not measured: every pair failed (see above)\n' "up wall time - compose up -d"
		return 0
	fi
	printf '%-48s median %+.2f s over %d pairs (range %s)\n' "up wall time - compose up -d" \
		"$(printf '%s\n' "${diffs[@]}" | median)" "${#diffs[@]}" "$(printf '%s\n' "${diffs[@]}" | range)"
}

case "$what" in
standins)
	# Leaves the stand-ins and a rendered directory for profiling by hand.
	engine; standins
	cp -r "$work/d" "${2:?usage: $0 standins DIR}"
	started=""
	log "rendered directory in $2; DOCKER_HOST=$DOCKER_HOST"
	;;
render) bench_render ;;
bundle) engine; standins; bench_bundle; rmi ;;
up) engine; standins; bench_up; rmi ;;
all) bench_render; engine; standins; bench_bundle; bench_up; rmi ;;
*) echo "usage: $0 [all|bundle|render|up|standins DIR]" >&2; exit 2 ;;
esac
