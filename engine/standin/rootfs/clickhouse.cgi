#!/bin/sh
# Stand-in of ClickHouse's HTTP query interface, for the two queries
# deepflow-compose sends: SELECT 1, and the table versions (the comment on
# column time) from system.columns. The versions are seeded by the test in
# /var/lib/clickhouse/standin-columns.tsv (the data dir, so they stay with
# the data), one "database<TAB>table<TAB>comment" line per table, or in the
# environment variable STANDIN_CLICKHOUSE_COLUMNS in the same format. The
# password is checked against CLICKHOUSE_DEFAULT_PASSWORD, as the rendered
# users.xml makes ClickHouse do.
fail() {
	printf 'Status: %s\r\nContent-Type: text/plain\r\n\r\nCode: %s. DB::Exception: %s (stand-in)\n' "$1" "$2" "$3"
	exit 0
}

q=""
if [ "${CONTENT_LENGTH:-0}" -gt 0 ]; then
	q="$(head -c "$CONTENT_LENGTH")"
fi
if [ -z "$q" ]; then
	case "&${QUERY_STRING:-}" in
	*"&query="*)
		q="${QUERY_STRING#*query=}"
		q="$(httpd -d "${q%%&*}")"
		;;
	esac
fi
# One line, single spaces: the shape the matching below expects.
q="$(printf '%s' "$q" | tr '\n\t' '  ' | sed 's/  */ /g; s/^ //; s/ $//')"

# No query: ClickHouse's own "Ok.", without asking for a password.
if [ -z "$q" ]; then
	printf 'Content-Type: text/plain\r\n\r\nOk.\n'
	exit 0
fi

user="${HTTP_X_CLICKHOUSE_USER:-default}"
if [ "$user" != default ] || [ "${HTTP_X_CLICKHOUSE_KEY:-}" != "${CLICKHOUSE_DEFAULT_PASSWORD:-}" ]; then
	fail "516 Unauthorized" 516 "$user: Authentication failed: password is incorrect, or there is no user with such name. (AUTHENTICATION_FAILED)"
fi


case "$q" in
"SELECT 1" | "SELECT 1 FORMAT TabSeparated")
	printf 'Content-Type: text/tab-separated-values\r\n\r\n1\n'
	exit 0
	;;
*"FROM system.columns WHERE name = 'time'"*) ;;
*) fail "400 Bad Request" 62 "the ClickHouse stand-in does not answer: $q" ;;
esac

# The databases of "AND database IN ('a', 'b')", if any, one per line.
dbs=""
case "$q" in
*"database IN ("*)
	dbs="$(printf '%s' "${q#*database IN (}" | sed 's/).*//' | tr ',' '\n' | sed "s/^ *'//; s/' *\$//")"
	;;
esac

seed=/var/lib/clickhouse/standin-columns.tsv
printf 'Content-Type: text/tab-separated-values\r\n\r\n'
{
	[ -f "$seed" ] && cat "$seed"
	[ -n "${STANDIN_CLICKHOUSE_COLUMNS:-}" ] && printf '%s\n' "$STANDIN_CLICKHOUSE_COLUMNS"
} | awk -F '\t' -v dbs="$dbs" '
	BEGIN { n = split(dbs, d, "\n"); for (i = 1; i <= n; i++) want[d[i]] = 1 }
	NF >= 2 && (n == 0 || ($1 in want))' | sort -t "$(printf '\t')" -k1,1 -k2,2
