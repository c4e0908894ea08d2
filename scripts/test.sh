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
else
	echo "test.sh: not root, so no private Docker engine; engine tests will skip" >&2
fi

go test -count=1 ./... "$@"
