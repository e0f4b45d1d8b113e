#!/usr/bin/env bash
# N replicas of `python demo.py` behind nginx on this host, at one address; Ctrl+C stops them all.
#
#   deploy/run.sh N [--postgres] [demo.py flags…]        e.g. deploy/run.sh 3 --auth ann:s3cret
#
# --postgres keeps the drawings, profiles and rate limits in a PostgreSQL server of their own (deploy/postgres.sh
# in MNIST_POSTGRES_DIR, default $MNIST_DEMO_HOME/postgres), started first and stopped last; without it they are in
# the home's SQLite file, or wherever MNIST_DEMO_DATABASE says (a postgresql:// URL several hosts share).
# The replicas listen on MNIST_REPLICA_HOST (default 127.0.0.1), ports MNIST_REPLICA_PORT (default 7900) and up,
# and share one MNIST_DEMO_HOME (default ~/.cache/mnist-demo): its models folder, served-model choice, job lock and
# drawings database. nginx listens on MNIST_PROXY (default 127.0.0.1:8080); on another address the replicas
# are told they are public (--public: retraining needs --auth, drawings are kept only with --collect); all of
# them trust nginx's X-Forwarded-For (--trusted-proxy 127.0.0.1), so limits count each visitor's own address.
# Several hosts (docs/deploy.md): MNIST_UPSTREAMS="host:port …" adds other hosts' replicas to this nginx, and
# MNIST_PROXY=off starts none here (this host's replicas are reached by another host's nginx).
# Pid files, logs and nginx's config are in MNIST_DEPLOY_RUN (default: a new temporary folder).
set -euo pipefail

usage="usage: deploy/run.sh N [--postgres] [demo.py flags…]  (N replicas, 1–50)"
count=${1:-}
case $count in
'' | *[!0-9]*) echo "$usage" >&2 && exit 2 ;;
esac
if ((count < 1 || count > 50)); then echo "$usage" >&2 && exit 2; fi
shift

repo=$(cd "$(dirname "$0")/.." && pwd)
first=${MNIST_REPLICA_PORT:-7900}
listen=${MNIST_PROXY:-127.0.0.1:8080}
replica_host=${MNIST_REPLICA_HOST:-127.0.0.1}
run=${MNIST_DEPLOY_RUN:-$(mktemp -d -t mnist-deploy.XXXXXX)}
python=${PYTHON:-$(command -v python || command -v python3)}
nginx=${NGINX:-$(command -v nginx || echo /usr/sbin/nginx)}
export MNIST_DEMO_HOME=${MNIST_DEMO_HOME:-${XDG_CACHE_HOME:-$HOME/.cache}/mnist-demo}
export GRADIO_ANALYTICS_ENABLED=False PYTHONUNBUFFERED=1
wait_s=${MNIST_DEPLOY_WAIT_S:-180}

if [[ $listen != off && ! -x $nginx ]]; then
	echo "error: nginx is not installed (Debian: apt-get install nginx; or set NGINX=/path/to/nginx)" >&2
	exit 2
fi
proxy_host=${listen%:*}
postgres=""
flags=()
for arg in "$@"; do
	if [[ $arg == --postgres ]]; then postgres=${MNIST_POSTGRES_DIR:-$MNIST_DEMO_HOME/postgres}; else flags+=("$arg"); fi
done
# nginx reaches the replicas from 127.0.0.1 (or from MNIST_REPLICA_HOST, the address they listen on): its
# X-Forwarded-For names the visitor whom the limits count.
flags+=(--trusted-proxy 127.0.0.1)
case $replica_host in
127.* | localhost) ;;
*) flags+=(--trusted-proxy "$replica_host") ;;
esac
case $proxy_host in
127.* | localhost | "[::1]" | off) ;;
*) flags+=(--public) ;;
esac

mkdir -p "$run/tmp" "$MNIST_DEMO_HOME"
pids=()
nginx_pid=""

# nginx first (no new requests), then every replica as Ctrl+C would stop it; one that hangs is killed after 10 s;
# then the PostgreSQL server, if this script started it.
stop() {
	trap - INT TERM EXIT
	if [[ -n $nginx_pid ]]; then kill -TERM "$nginx_pid" 2>/dev/null || true; fi
	for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
	for pid in "${pids[@]}"; do
		for ((tick = 0; tick < 100; tick++)); do
			kill -0 "$pid" 2>/dev/null || break
			sleep 0.1
		done
		kill -KILL "$pid" 2>/dev/null || true
	done
	wait 2>/dev/null || true
	if [[ -n $postgres ]]; then "$repo/deploy/postgres.sh" stop "$postgres" || true; fi
	echo "stopped nginx and ${#pids[@]} replicas${postgres:+ and PostgreSQL}"
}
trap 'stop; exit 0' INT TERM
trap 'stop' EXIT

where="the home's SQLite file"
if [[ -n $postgres ]]; then
	MNIST_DEMO_DATABASE=$("$repo/deploy/postgres.sh" start "$postgres") || exit 1
	export MNIST_DEMO_DATABASE
fi
if [[ ${MNIST_DEMO_DATABASE:-} == postgres* ]]; then
	where="PostgreSQL at ${MNIST_DEMO_DATABASE##*@}"
elif [[ -n ${MNIST_DEMO_DATABASE:-} ]]; then
	where=$MNIST_DEMO_DATABASE
fi

# Every replica at once (each takes a few seconds to start), each with its own log and pid file.
servers=""
for ((i = 0; i < count; i++)); do
	port=$((first + i))
	"$python" "$repo/demo.py" --host "$replica_host" --port "$port" "${flags[@]}" >"$run/replica-$port.log" 2>&1 &
	pids+=($!)
	echo $! >"$run/replica-$port.pid"
	servers+="        server $replica_host:$port max_fails=1 fail_timeout=10s;"$'\n'
done
for upstream in ${MNIST_UPSTREAMS:-}; do # other hosts' replicas, for this host's nginx to share the load with
	servers+="        server $upstream max_fails=1 fail_timeout=10s;"$'\n'
done

# A replica is up when it says where it serves; one that exits first stops the lot, with its log's end.
for ((i = 0; i < count; i++)); do
	port=$((first + i))
	log="$run/replica-$port.log"
	for ((tick = 0; ; tick++)); do
		grep -qs "^serving at" "$log" && break
		if ! kill -0 "${pids[i]}" 2>/dev/null || ((tick > wait_s * 10)); then
			echo "error: the replica on port $port did not start; the end of $log:" >&2
			tail -n 5 "$log" >&2
			exit 1
		fi
		sleep 0.1
	done
done

ports="ports $first–$((first + count - 1)), home $MNIST_DEMO_HOME, drawings in $where; logs in $run"
if [[ $listen == off ]]; then # another host's nginx reaches these replicas: serve until one of them stops
	echo "serving at http://$replica_host:$first/ ($count replica(s) without a proxy here on $ports)"
	wait -n "${pids[@]}" || true
	echo "error: a replica stopped; see $run/replica-*.log" >&2
	exit 1
fi

user="" # nginx runs as whoever runs this; as root its workers would drop to nobody, who cannot reach $run
if [[ $(id -u) == 0 ]]; then user="user $(id -un) $(id -gn);"; fi
conf=$(<"$repo/deploy/nginx.conf.template")
conf=${conf//@RUN@/$run}
conf=${conf//@LISTEN@/$listen}
conf=${conf//@USER@/$user}
conf=${conf//@SERVERS@/${servers%$'\n'}}
printf '%s\n' "$conf" >"$run/nginx.conf"
rm -f "$run/nginx.pid"
# In a session of its own: Ctrl+C in the terminal reaches this script only, which stops nginx first, then the rest.
setsid "$nginx" -p "$run" -c "$run/nginx.conf" -e "$run/error.log" -g 'daemon off;' &
nginx_pid=$!
for ((tick = 0; tick < 100; tick++)); do
	[[ -s $run/nginx.pid ]] && break
	if ! kill -0 "$nginx_pid" 2>/dev/null; then
		echo "error: nginx did not start (is $listen free? MNIST_PROXY=host:port picks another); $run/error.log:" >&2
		tail -n 5 "$run/error.log" >&2
		exit 1
	fi
	sleep 0.1
done

echo "serving at http://$listen/ ($count replica(s) on $ports)"
wait "$nginx_pid" || true
echo "error: nginx stopped; see $run/error.log" >&2
exit 1
