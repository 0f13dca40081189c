#!/usr/bin/env bash
# A throwaway PostgreSQL 15 server for the tests: a fresh cluster (initdb) in a temporary
# directory, owned by a non-root system user, listening on 127.0.0.1 on a free port.
#
#   tests/postgres.sh run CMD...   start a server, run CMD with TIDELOG_TEST_POSTGRES set, stop it;
#                                  exits with CMD's status
#   tests/postgres.sh start [--tls] start a server; prints `export ...` lines to eval
#                                  (--tls, or TIDELOG_PG_TLS=1 for `run`: TLS on, and only TLS
#                                  connections accepted, with a CA and server certificate
#                                  made by the openssl CLI in the cluster's directory)
#   tests/postgres.sh stop DIR     stop the server in DIR and remove DIR
#   tests/postgres.sh restart DIR  restart it (fault tests), same port and data
#
# Exported to CMD (and printed by `start`):
#   TIDELOG_TEST_POSTGRES      postgresql://tidelog:PASSWORD@127.0.0.1:PORT/tidelog
#   TIDELOG_TEST_POSTGRES_DIR  the cluster's directory (for `restart`/`stop`)
#   TIDELOG_TEST_POSTGRES_CTL  this script
#   TIDELOG_TEST_POSTGRES_CA, TIDELOG_TEST_POSTGRES_OTHER_CA (TLS only): the CA that signed the
#                              server's certificate (for 127.0.0.1 and localhost), and an
#                              unrelated CA (a wrong sslrootcert)
# The password is random per server; the server is stopped and removed when CMD ends.
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
self="$here/postgres.sh"
pg_user="${TIDELOG_PG_SYSTEM_USER:-tidelog-pg}"

log() { printf 'postgres.sh: %s\n' "$*" >&2; }

bindir() {
  local dir
  for dir in /usr/lib/postgresql/15/bin /usr/lib/postgresql/*/bin; do
    [ -x "$dir/initdb" ] && { echo "$dir"; return; }
  done
  return 1
}

ensure_installed() {
  bindir >/dev/null 2>&1 && return
  log "installing Debian's postgresql"
  if [ "$(id -u)" -eq 0 ]; then
    apt-get update -qq >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >&2
  else
    sudo apt-get update -qq >&2 && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >&2
  fi
  bindir >/dev/null
}

# initdb refuses to run as root: the cluster belongs to a system user of its own.
ensure_user() {
  if [ "$(id -u)" -ne 0 ]; then
    pg_user="$(id -un)"
    return
  fi
  id "$pg_user" >/dev/null 2>&1 || useradd --system --no-create-home --shell /usr/sbin/nologin "$pg_user"
}

as_pg() {
  if [ "$(id -u)" -eq 0 ]; then
    runuser -u "$pg_user" -- "$@"
  else
    "$@"
  fi
}

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

# A CA, a server certificate it signs (for 127.0.0.1 and localhost) and an unrelated CA.
make_certificates() {
  local dir="$1"
  command -v openssl >/dev/null || { log "TLS mode needs the openssl CLI"; return 1; }
  (
    cd "$dir"
    openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=tidelog test CA" \
      -keyout ca.key -out ca.crt 2>/dev/null
    openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=unrelated test CA" \
      -keyout other-ca.key -out other-ca.crt 2>/dev/null
    openssl req -newkey rsa:2048 -nodes -subj "/CN=127.0.0.1" -keyout server.key -out server.csr 2>/dev/null
    printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\n' >server.ext
    openssl x509 -req -in server.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 2 \
      -extfile server.ext -out server.crt 2>/dev/null
    rm -f server.csr server.ext ca.srl ca.key other-ca.key
    chmod 600 server.key
    chmod 644 ca.crt other-ca.crt server.crt
    chown "$pg_user" server.key server.crt 2>/dev/null || true
  )
}

cmd_start() {
  ensure_installed
  ensure_user
  local bin dir port password tls=0
  [ "${1:-}" = --tls ] && tls=1
  bin="$(bindir)"
  dir="$(mktemp -d /tmp/tidelog-pg.XXXXXX)"
  chown "$pg_user" "$dir" 2>/dev/null || true
  chmod 700 "$dir"
  password="$(python3 -c 'import secrets; print(secrets.token_hex(12))')"
  port="$(free_port)"
  printf '%s\n' "$password" >"$dir/pwfile"
  chown "$pg_user" "$dir/pwfile" 2>/dev/null || true
  as_pg "$bin/initdb" -D "$dir/data" -U tidelog --pwfile="$dir/pwfile" --auth=scram-sha-256 -E UTF8 --no-sync >"$dir/initdb.log" 2>&1 \
    || { cat "$dir/initdb.log" >&2; return 1; }
  rm -f "$dir/pwfile"
  cat >>"$dir/data/postgresql.conf" <<EOF
listen_addresses = '127.0.0.1'
port = $port
unix_socket_directories = '$dir'
max_connections = 200
synchronous_commit = on
fsync = on
log_min_messages = warning
EOF
  if [ "$tls" = 1 ]; then
    make_certificates "$dir"
    cat >>"$dir/data/postgresql.conf" <<EOF
ssl = on
ssl_cert_file = '$dir/server.crt'
ssl_key_file = '$dir/server.key'
EOF
    # TCP connections only over TLS: a test that connects has used it.
    sed -i -E 's/^host(\s)/hostssl\1/' "$dir/data/pg_hba.conf"
  fi
  echo "$port" >"$dir/port"
  as_pg "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 start >/dev/null
  PGSSLMODE=prefer PGPASSWORD="$password" "$bin/psql" -q -h 127.0.0.1 -p "$port" -U tidelog -d postgres -c 'CREATE DATABASE tidelog' >/dev/null
  echo "export TIDELOG_TEST_POSTGRES=postgresql://tidelog:$password@127.0.0.1:$port/tidelog"
  echo "export TIDELOG_TEST_POSTGRES_DIR=$dir"
  echo "export TIDELOG_TEST_POSTGRES_CTL=$self"
  if [ "$tls" = 1 ]; then
    echo "export TIDELOG_TEST_POSTGRES_CA=$dir/ca.crt"
    echo "export TIDELOG_TEST_POSTGRES_OTHER_CA=$dir/other-ca.crt"
  fi
  log "PostgreSQL on 127.0.0.1:$port, cluster in $dir"
}

owner_of() { stat -c %U "$1"; }

cmd_stop() {
  local dir="${1:?usage: postgres.sh stop DIR}" bin
  bin="$(bindir)"
  [ -d "$dir/data" ] || { log "no cluster in $dir"; return 0; }
  pg_user="$(owner_of "$dir/data")"
  as_pg "$bin/pg_ctl" -D "$dir/data" -m immediate -w stop >/dev/null 2>&1 || true
  rm -rf "$dir"
}

cmd_restart() {
  local dir="${1:?usage: postgres.sh restart DIR}" bin
  bin="$(bindir)"
  pg_user="$(owner_of "$dir/data")"
  # Immediate: the server stops like a crash (no checkpoint), as a fault should.
  as_pg "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -m "${TIDELOG_PG_STOP_MODE:-immediate}" -w -t 60 restart >/dev/null
}

cmd_run() {
  [ $# -gt 0 ] || { echo "usage: postgres.sh run CMD..." >&2; return 2; }
  local env status=0
  if [ "${TIDELOG_PG_TLS:-0}" = 1 ]; then env="$(cmd_start --tls)"; else env="$(cmd_start)"; fi
  eval "$env"
  # shellcheck disable=SC2064
  trap "'$self' stop '$TIDELOG_TEST_POSTGRES_DIR'" EXIT
  "$@" || status=$?
  return "$status"
}

case "${1:-}" in
  start) shift; cmd_start "$@" ;;
  stop) shift; cmd_stop "$@" ;;
  restart) shift; cmd_restart "$@" ;;
  run) shift; cmd_run "$@" ;;
  *) sed -n '2,22p' "$0" >&2; exit 2 ;;
esac
