#!/usr/bin/env bash
# The project's test command: installs what the tests need, starts a private
# Docker engine for the tests that bring stacks up, runs every test, and stops
# the engine again. `make test` runs this; so does CI.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "$(id -u)" = 0 ]; then
	# python-dotenv is docker-compose v1's .env parser; render's tests read
	# the .env they write with it.
	if ! /usr/bin/python3 -c 'import dotenv' >/dev/null 2>&1; then
		echo "test.sh: installing python3-dotenv" >&2
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends python3-dotenv >&2 ||
			{ apt-get update -qq >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends python3-dotenv >&2; }
	fi
	eval "$(scripts/dockerd.sh start)"
	trap 'scripts/dockerd.sh stop >/dev/null 2>&1 || true' EXIT
	# CI must never skip the engine tests; a developer without root may.
	export DFC_REQUIRE_ENGINE="${CI:+1}"
	# The MariaDB stand-in of the database engine (dbver's tests): Debian's
	# mariadb-server through debootstrap, a few minutes once, then cached.
	if rootfs="$(scripts/mariadb-rootfs.sh)"; then
		export DFC_MARIADB_ROOTFS="$rootfs"
	elif [ -n "${CI:-}" ]; then
		exit 1
	else
		echo "test.sh: no MariaDB root filesystem; the tests that need it will skip" >&2
	fi
else
	echo "test.sh: not root, so no private Docker engine; engine tests will skip" >&2
fi

# DeepFlow's reference files sit beside the clone; here their absence is a
# failure, not a reason to skip the tests built on them.
export DFC_REQUIRE_REFERENCE=1
go test -count=1 ./... "$@"
# Without cgo, bundles are compressed by the Go encoder (bundle/encode_*.go):
# its frames are tested too.
CGO_ENABLED=0 go test -count=1 ./bundle -run 'Frame'
