#!/usr/bin/env bash
# A PostgreSQL server of its own in one folder: no system service, no root, loopback (or the address you give).
#
#   deploy/postgres.sh start DIR [PORT]   a new cluster in DIR (or the one already there), started; prints its URL
#   deploy/postgres.sh stop DIR           stopped (fast: open transactions are rolled back, nothing committed lost)
#   deploy/postgres.sh url DIR            the URL again (also in DIR/url, readable by you alone)
#   deploy/postgres.sh remove DIR         stopped, and its data deleted
#
# The URL is postgresql://mnist:PASSWORD@HOST:PORT/mnist: a role and a database named mnist, a random password,
# TCP only (no Unix socket). PGLISTEN (default 127.0.0.1) is the address it listens on; for other hosts to reach
# it, give that host's own address and open pg_hba with PGALLOW (a network, e.g. 10.0.0.0/24). PORT defaults to a
# free one (kept in DIR/port, so a restart keeps the URL). PostgreSQL refuses to run as root: as root, the
# cluster belongs to the `postgres` user (Debian's package makes it) and runs as that user. PG_BIN names the
# folder of initdb and pg_ctl (default: Debian's newest /usr/lib/postgresql/*/bin, else PATH).
set -euo pipefail

usage="usage: deploy/postgres.sh start DIR [PORT] | stop DIR | url DIR | remove DIR"
action=${1:-}
dir=${2:-}
if [[ -z $action || -z $dir ]]; then echo "$usage" >&2 && exit 2; fi

bin=${PG_BIN:-}
if [[ -z $bin ]]; then
	for candidate in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V -r); do
		[[ -x $candidate/pg_ctl ]] && bin=$candidate && break
	done
fi
if [[ -z $bin ]] && command -v pg_ctl >/dev/null; then bin=$(dirname "$(command -v pg_ctl)"); fi
if [[ -z $bin || ! -x $bin/initdb ]]; then
	echo "error: PostgreSQL is not installed (Debian: apt-get install postgresql; or set PG_BIN=/path/to/bin)" >&2
	exit 2
fi

as_owner=() # PostgreSQL will not run as root: then the cluster is the postgres user's
if [[ $(id -u) == 0 ]]; then
	if ! id postgres >/dev/null 2>&1; then
		echo "error: as root the cluster runs as the user postgres, and there is none (apt-get install postgresql)" >&2
		exit 2
	fi
	as_owner=(runuser -u postgres --)
fi

mkdir -p "$dir"
dir=$(cd "$dir" && pwd)
listen=${PGLISTEN:-127.0.0.1}

# The data folder: DIR/data, unless its owner cannot reach DIR (root's home and pytest folders are 0700): then a
# folder of its own in the postgres user's home (Debian: /var/lib/postgresql), named in DIR/data-dir.
data_dir() {
	if [[ -s $dir/data-dir ]]; then cat "$dir/data-dir" && return; fi
	local data=$dir/data owner_home
	if ((${#as_owner[@]})) && ! "${as_owner[@]}" test -x "$dir"; then
		owner_home=$(getent passwd postgres | cut -d: -f6)
		[[ -d $owner_home && -w $owner_home ]] || owner_home=${TMPDIR:-/tmp}
		data=$(mktemp -d -p "$owner_home" mnist-pg.XXXXXX)
	fi
	mkdir -p "$data"
	if ((${#as_owner[@]})); then chown postgres: "$data"; fi
	chmod 700 "$data"
	echo "$data" >"$dir/data-dir"
	echo "$data"
}

free_port() {
	"${PYTHON:-python3}" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

start() {
	local data port password
	data=$(data_dir)
	if [[ ! -s $data/PG_VERSION ]]; then
		port=${1:-$(free_port)}
		password=$(head -c 18 /dev/urandom | base64 | tr '+/' '-_')
		umask 077
		printf '%s\n' "$password" >"$dir/password"
		echo "$port" >"$dir/port"
		local pwfile # initdb reads the password from a file its user can open: DIR may be closed to it
		pwfile=$(mktemp -t mnist-pg-pw.XXXXXX)
		printf '%s\n' "$password" >"$pwfile"
		if ((${#as_owner[@]})); then chown postgres: "$pwfile"; fi
		"${as_owner[@]}" "$bin/initdb" -D "$data" -U mnist --pwfile="$pwfile" --auth=scram-sha-256 \
			-E UTF8 --locale=C.UTF-8 --no-sync >"$dir/initdb.log" 2>&1 || {
			rm -f "$pwfile"
			echo "error: initdb failed; $dir/initdb.log:" >&2
			tail -n 5 "$dir/initdb.log" >&2
			exit 1
		}
		rm -f "$pwfile"
		if [[ -n ${PGALLOW:-} ]]; then
			echo "host all all $PGALLOW scram-sha-256" | "${as_owner[@]}" tee -a "$data/pg_hba.conf" >/dev/null
		fi
	fi
	port=$(<"$dir/port")
	if ! "${as_owner[@]}" "$bin/pg_ctl" -D "$data" status >/dev/null 2>&1; then
		"${as_owner[@]}" "$bin/pg_ctl" -D "$data" -l "$data/server.log" -w -t 60 start \
			-o "-c listen_addresses=$listen -p $port -c unix_socket_directories= -c max_connections=200" \
			>/dev/null || {
			echo "error: PostgreSQL did not start (is port $port free?); $data/server.log:" >&2
			"${as_owner[@]}" tail -n 5 "$data/server.log" >&2
			exit 1
		}
	fi
	password=$(<"$dir/password")
	local host=$listen
	[[ $host == 0.0.0.0 || $host == '*' ]] && host=127.0.0.1
	PGPASSWORD=$password "$bin/psql" -h "$host" -p "$port" -U mnist -d postgres -tAq \
		-c "SELECT 1 FROM pg_database WHERE datname = 'mnist'" | grep -q 1 ||
		PGPASSWORD=$password "$bin/createdb" -h "$host" -p "$port" -U mnist mnist
	umask 077
	echo "postgresql://mnist:$password@$host:$port/mnist" | tee "$dir/url"
}

stop() {
	[[ -s $dir/data-dir ]] || return 0
	local data
	data=$(<"$dir/data-dir")
	if "${as_owner[@]}" "$bin/pg_ctl" -D "$data" status >/dev/null 2>&1; then
		"${as_owner[@]}" "$bin/pg_ctl" -D "$data" -m fast -w -t 60 stop >/dev/null
	fi
}

case $action in
start) start "${3:-}" ;;
stop) stop ;;
url) cat "$dir/url" ;;
remove)
	stop
	if [[ -s $dir/data-dir ]]; then rm -rf "$(<"$dir/data-dir")"; fi
	rm -rf "$dir"
	;;
*) echo "$usage" >&2 && exit 2 ;;
esac
