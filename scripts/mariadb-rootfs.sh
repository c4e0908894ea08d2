#!/usr/bin/env bash
# Root filesystem of the MariaDB stand-in of the database engine: Debian's
# mariadb-server, installed with debootstrap from this machine's own Debian
# package source, packed as a gzipped tar. Go (engine/standin) adds the
# stand-in's entrypoint and imports it into a Docker engine; tests run it
# under the rendered MySQL image's name, so backup, restore and the version
# checks meet a server that speaks MySQL's protocol.
#
#   scripts/mariadb-rootfs.sh      # prints the tarball's path
#
# The tarball is cached in $DFC_CACHE_DIR (default ~/.cache/deepflow-compose),
# keyed by suite, architecture and the mariadb-server version apt offers: a
# cached one is reused, and a new package version builds a new one. Building needs root
# (debootstrap) and takes a few minutes; debootstrap is installed with apt-get
# when missing.
set -euo pipefail

CACHE="${DFC_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/deepflow-compose}"
PACKAGES="mariadb-server,mariadb-client"

log() { echo "mariadb-rootfs.sh: $*" >&2; }

# source_of_debian prints "MIRROR SUITE" from the first Debian main source
# apt uses here (deb822 .sources files first, then one-line lists).
source_of_debian() {
	local f
	for f in /etc/apt/sources.list.d/*.sources; do
		[ -f "$f" ] || continue
		awk '
			function flush() {
				if (types ~ /(^| )deb( |$)/ && uri ~ /debian\/?$/ && suite != "" && suite !~ /-(security|updates|backports)$/ && !done) {
					print uri, suite; done = 1
				}
				types = uri = suite = ""
			}
			/^[ \t]*$/ { flush(); next }
			/^[ \t]*#/ { next }
			tolower($1) == "types:" { types = $0; sub(/^[^:]*:[ \t]*/, "", types) }
			tolower($1) == "uris:" { uri = $2 }
			tolower($1) == "suites:" { suite = $2 }
			END { flush() }' "$f"
	done | head -n 1 | grep . && return 0
	cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null |
		awk '$1 == "deb" && $2 !~ /^\[/ && $3 !~ /-(security|updates|backports)$/ { print $2, $3; exit }
			$1 == "deb" && $2 ~ /^\[/ { for (i = 2; i <= NF && $i !~ /\]$/; i++); if ($(i+2) !~ /-(security|updates|backports)$/) { print $(i+1), $(i+2); exit } }' | grep .
}

candidate() {
	apt-cache policy mariadb-server 2>/dev/null | awk '$1 == "Candidate:" && $2 != "(none)" { print $2; exit }'
}

main() {
	local src mirror suite version arch key out
	if ! src="$(source_of_debian)"; then
		log "no Debian package source in /etc/apt/sources.list*"
		exit 1
	fi
	read -r mirror suite <<<"$src"
	version="$(candidate)"
	if [ -z "$version" ]; then
		[ "$(id -u)" = 0 ] && apt-get update -qq >&2
		version="$(candidate)"
	fi
	if [ -z "$version" ]; then
		log "apt knows no mariadb-server package"
		exit 1
	fi
	arch="$(dpkg --print-architecture)"
	# The epoch's colon is not welcome in file names.
	key="mariadb-rootfs-$suite-$arch-${version//:/_}"
	out="$CACHE/$key.tar.gz"
	if [ -s "$out" ]; then
		echo "$out"
		return 0
	fi
	if [ "$(id -u)" != 0 ]; then
		log "building $key needs root (debootstrap)"
		exit 1
	fi
	if ! command -v debootstrap >/dev/null 2>&1; then
		log "installing debootstrap"
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends debootstrap >&2 ||
			{ apt-get update -qq >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends debootstrap >&2; }
	fi
	mkdir -p "$CACHE"
	# Global: the EXIT trap runs after main has returned.
	tmp="$(mktemp -d "$CACHE/.build-XXXXXX")"
	trap 'rm -rf "${tmp:-}"' EXIT
	log "building $key from $mirror $suite (a few minutes, once)"
	if ! debootstrap --variant=minbase --arch="$arch" --include="$PACKAGES" "$suite" "$tmp/root" "$mirror" >"$tmp/log" 2>&1; then
		tail -n 30 "$tmp/log" >&2
		log "debootstrap failed"
		exit 1
	fi
	local installed real
	installed="$(dpkg-query --admindir="$tmp/root/var/lib/dpkg" -W -f '${Version}' mariadb-server)"
	# The package's own first-start data dir is dropped: the entrypoint
	# initialises it from the container's environment, as MySQL's does.
	# Documentation, locales and apt's caches are not needed to run.
	rm -rf "$tmp/root/var/lib/mysql/"* "$tmp/root/var/cache/apt/"* "$tmp/root/var/lib/apt/lists/"* \
		"$tmp/root/usr/share/doc" "$tmp/root/usr/share/man" "$tmp/root/usr/share/info" "$tmp/root/usr/share/locale" \
		"$tmp/root/var/log/"*.log
	tar -C "$tmp/root" --numeric-owner --one-file-system -cf - . | gzip -1 >"$tmp/rootfs.tar.gz"
	# Named after what was installed; apt's lists here may be older or newer
	# than the mirror, so the name looked up (apt's candidate) links to it.
	real="mariadb-rootfs-$suite-$arch-${installed//:/_}.tar.gz"
	mv "$tmp/rootfs.tar.gz" "$CACHE/$real"
	if [ "$CACHE/$real" != "$out" ]; then
		log "note: the mirror installed mariadb-server $installed, apt here offers $version"
		ln -sfn "$real" "$out"
	fi
	log "cached $CACHE/$real ($(du -h "$CACHE/$real" | cut -f1))"
	echo "$out"
}

main "$@"
