#!/bin/bash
# deepflow-compose STAND-IN of the database engine. This is Debian's MariaDB,
# not MySQL 8: tests run it under the rendered MySQL image's name so that
# backup, restore and the version checks meet a server that speaks MySQL's
# protocol, runs the rendered init.sql and my.cnf and honours the
# entrypoint's variables.
#
# It does what MySQL's image entrypoint does with MYSQL_ROOT_PASSWORD,
# MYSQL_ROOT_HOST, MYSQL_ALLOW_EMPTY_PASSWORD, MYSQL_DATABASE, MYSQL_USER,
# MYSQL_PASSWORD and /docker-entrypoint-initdb.d: on the first start only
# (an empty data dir) it initialises the data dir, creates the users and the
# database and runs the *.sql, *.sql.gz and *.sh files there in name order,
# through a server that listens on its socket only. Then it runs the server
# in the foreground with the mounted /etc/my.cnf.
#
# MySQL options that MariaDB does not have would stop the server. The ones
# named in /standin/loose-options (one per line; engine/standin's
# MariaDBLooseOptions) are marked `loose-` in a copy of /etc/my.cnf, which
# the server then reads instead; every marked line is logged, and no other
# line is dropped or changed.
set -euo pipefail

IN_CNF=/etc/my.cnf
CNF=/run/mysqld/my.cnf
INIT_SOCK=/run/mysqld/init.sock
LOOSE_LIST=/standin/loose-options

log() { echo "stand-in mariadb: $*"; }
die() {
	echo "stand-in mariadb: error: $*" >&2
	exit 1
}

# sqlstr VALUE: a single-quoted SQL string literal. Backslash escapes are on
# (the server's default sql_mode), so \ and ' are escaped; nothing else in a
# literal is special, whatever the value holds.
sqlstr() {
	local s=$1
	s=${s//\\/\\\\}
	s=${s//\'/\\\'}
	printf "'%s'" "$s"
}

# sqlid NAME: a back-quoted identifier.
sqlid() { printf '`%s`' "${1//\`/\`\`}"; }

# loosen writes $CNF: $IN_CNF with every option named in
# /standin/loose-options marked loose-, in any group. Option names compare as
# the server compares them: - and _ alike, case-insensitive.
loosen() {
	mkdir -p "$(dirname "$CNF")"
	if [ ! -f "$IN_CNF" ]; then
		log "no $IN_CNF; running with Debian's configuration"
		CNF=""
		return
	fi
	local marked
	marked="$(awk -v list="$LOOSE_LIST" -v out="$CNF" '
		BEGIN {
			while ((getline l < list) > 0) {
				gsub(/[ \t\r]/, "", l)
				if (l == "" || l ~ /^#/) continue
				l = tolower(l); gsub(/-/, "_", l); want[l] = 1
			}
			printf "" > out
		}
		{
			line = $0
			if (match(line, /^[ \t]*[A-Za-z0-9_-]+/)) {
				name = substr(line, RSTART, RLENGTH); gsub(/[ \t]/, "", name)
				rest = substr(line, RSTART + RLENGTH)
				key = tolower(name); gsub(/-/, "_", key)
				if ((key in want) && rest ~ /^[ \t]*(=|$)/) {
					ind = substr(line, 1, index(line, name) - 1)
					line = ind "loose-" name rest
					printf "%s%s (line %d)", sep, name, NR; sep = ", "
				}
			}
			print line > out
		}' "$IN_CNF")"
	chmod 0644 "$CNF"
	if [ -n "$marked" ]; then
		log "marked loose- (MySQL options MariaDB does not have): $marked"
	else
		log "marked loose-: none"
	fi
}

# server runs mariadbd with the loosened configuration first, as it must be.
server() {
	if [ -n "$CNF" ]; then
		mariadbd --defaults-file="$CNF" "$@"
	else
		mariadbd "$@"
	fi
}

# confvar NAME: the server's value for NAME with this configuration.
confvar() { { server --verbose --help 2>/dev/null || true; } | awk -v k="$1" '$1 == k { v = $2 } END { print v }'; }

client() { mariadb --no-defaults --protocol=socket --socket="$INIT_SOCK" -uroot "$@"; }

first_start() {
	local datadir=$1
	if [ -z "${MYSQL_ROOT_PASSWORD:-}" ] && [ -z "${MYSQL_ALLOW_EMPTY_PASSWORD:-}" ]; then
		die "the data dir is empty and neither MYSQL_ROOT_PASSWORD nor MYSQL_ALLOW_EMPTY_PASSWORD is set"
	fi
	if [ "${MYSQL_USER:-}" = root ]; then
		die "MYSQL_USER=root: root is created from MYSQL_ROOT_PASSWORD"
	fi
	log "initialising the data dir $datadir (first start)"
	mkdir -p "$datadir"
	chown -R mysql:mysql "$datadir"
	if [ -n "$CNF" ]; then
		mariadb-install-db --defaults-file="$CNF" --user=mysql --datadir="$datadir" \
			--auth-root-authentication-method=normal --skip-test-db --skip-name-resolve >/dev/null
	else
		mariadb-install-db --user=mysql --datadir="$datadir" \
			--auth-root-authentication-method=normal --skip-test-db --skip-name-resolve >/dev/null
	fi

	server --user=mysql --datadir="$datadir" --skip-networking --socket="$INIT_SOCK" &
	local pid=$! i
	for ((i = 0; i < 120; i++)); do
		client -e 'SELECT 1' >/dev/null 2>&1 && break
		kill -0 "$pid" 2>/dev/null || die "the initialising server stopped"
		sleep 0.5
	done
	client -e 'SELECT 1' >/dev/null || die "the initialising server does not answer on $INIT_SOCK"

	local root_host=${MYSQL_ROOT_HOST:-%} pw=${MYSQL_ROOT_PASSWORD:-}
	{
		echo "SET @@SESSION.SQL_LOG_BIN=0;"
		# Only root@localhost, as MySQL's image leaves it; anonymous users go.
		echo "DELETE FROM mysql.global_priv WHERE User = '' OR (User = 'root' AND Host NOT IN ('localhost'));"
		echo "FLUSH PRIVILEGES;"
		echo "ALTER USER 'root'@'localhost' IDENTIFIED BY $(sqlstr "$pw");"
		if [ "$root_host" != localhost ]; then
			echo "CREATE USER 'root'@$(sqlstr "$root_host") IDENTIFIED BY $(sqlstr "$pw");"
			echo "GRANT ALL ON *.* TO 'root'@$(sqlstr "$root_host") WITH GRANT OPTION;"
		fi
		if [ -n "${MYSQL_DATABASE:-}" ]; then
			echo "CREATE DATABASE IF NOT EXISTS $(sqlid "$MYSQL_DATABASE");"
		fi
		if [ -n "${MYSQL_USER:-}" ] && [ -n "${MYSQL_PASSWORD:-}" ]; then
			echo "CREATE USER $(sqlstr "$MYSQL_USER")@'%' IDENTIFIED BY $(sqlstr "$MYSQL_PASSWORD");"
			if [ -n "${MYSQL_DATABASE:-}" ]; then
				# _ and % are wildcards in a grant's database name.
				local db=${MYSQL_DATABASE//_/\\_}
				db=${db//%/\\%}
				echo "GRANT ALL ON $(sqlid "$db").* TO $(sqlstr "$MYSQL_USER")@'%';"
			fi
		fi
		echo "FLUSH PRIVILEGES;"
	} | client || die "creating the users failed"

	# From here on root has its password; the client takes it from the
	# environment, never from its arguments.
	export MYSQL_PWD="$pw"
	local f dbarg=()
	[ -n "${MYSQL_DATABASE:-}" ] && dbarg=(--database="$MYSQL_DATABASE")
	for f in /docker-entrypoint-initdb.d/*; do
		[ -e "$f" ] || continue
		case "$f" in
		*.sh)
			log "running $f"
			# shellcheck disable=SC1090
			. "$f"
			;;
		*.sql)
			log "running $f"
			client "${dbarg[@]}" <"$f" || die "$f failed"
			;;
		*.sql.gz)
			log "running $f"
			gzip -dc "$f" | client "${dbarg[@]}" || die "$f failed"
			;;
		*) log "ignoring $f" ;;
		esac
	done

	mariadb-admin --no-defaults --protocol=socket --socket="$INIT_SOCK" -uroot shutdown || die "stopping the initialising server failed"
	wait "$pid" || true
	unset MYSQL_PWD
	log "data dir initialised"
}

main() {
	# Arguments that start with - are the server's, as in MySQL's image.
	if [ "${1:0:1}" = - ]; then
		set -- mariadbd "$@"
	fi
	case "${1:-}" in
	mariadbd | mysqld) ;;
	*) exec "$@" ;;
	esac
	shift
	loosen
	local datadir
	datadir="$(confvar datadir)"
	datadir=${datadir:-/var/lib/mysql}
	mkdir -p /run/mysqld
	chown mysql:mysql /run/mysqld
	if [ ! -d "$datadir/mysql" ]; then
		first_start "$datadir"
	fi
	log "starting the server"
	if [ -n "$CNF" ]; then
		exec mariadbd --defaults-file="$CNF" --user=mysql "$@"
	fi
	exec mariadbd --user=mysql "$@"
}

# Tests source this file with STANDIN_NO_MAIN=1 to run loosen alone.
[ "${STANDIN_NO_MAIN:-}" = 1 ] || main "$@"
