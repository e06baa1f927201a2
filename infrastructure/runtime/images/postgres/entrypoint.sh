#!/bin/bash
# First start: initdb into an empty PGDATA with POSTGRES_USER/POSTGRES_PASSWORD, create
# POSTGRES_DB, then run the server in the foreground (as PID 1, as the postgres user).
# Later starts find PG_VERSION in PGDATA and only run the server. What the official image
# does for the same variables; POSTGRES_HOST_AUTH_METHOD=trust is the only way to run
# without a password, as there.
set -euo pipefail

if [ "${1:-}" != postgres ]; then
  exec "$@"
fi

if [ "$(id -u)" = 0 ]; then
  mkdir -p "$PGDATA" /var/run/postgresql
  chown postgres:postgres "$PGDATA" /var/run/postgresql
  chmod 700 "$PGDATA"
  exec setpriv --reuid=postgres --regid=postgres --init-groups "$0" "$@"
fi

user=${POSTGRES_USER:-postgres}
db=${POSTGRES_DB:-$user}
auth=${POSTGRES_HOST_AUTH_METHOD:-scram-sha-256}

if [ ! -s "$PGDATA/PG_VERSION" ]; then
  if [ -z "${POSTGRES_PASSWORD:-}" ] && [ "$auth" != trust ]; then
    echo "postgres: POSTGRES_PASSWORD is not set (or set POSTGRES_HOST_AUTH_METHOD=trust)" >&2
    exit 1
  fi
  pwfile=()
  if [ -n "${POSTGRES_PASSWORD:-}" ]; then
    pwfile=(--pwfile="$(mktemp)")
    printf '%s\n' "$POSTGRES_PASSWORD" >"${pwfile[0]#--pwfile=}"
  fi
  initdb --username="$user" "${pwfile[@]}" --auth-local=trust --auth-host="$auth" \
    --encoding=UTF8 --locale=C.UTF-8 -D "$PGDATA" >/dev/null
  [ ${#pwfile[@]} -eq 0 ] || rm -f "${pwfile[0]#--pwfile=}"
  printf 'host all all all %s\n' "$auth" >>"$PGDATA/pg_hba.conf"
  # The setup server listens on no TCP port and on a private socket directory, so a health
  # check (pg_isready on the default socket) cannot call it ready before setup has finished.
  sock=$(mktemp -d)
  pg_ctl -D "$PGDATA" -w -o "-c listen_addresses='' -c unix_socket_directories=$sock" start >/dev/null
  if [ "$db" != postgres ]; then
    psql -X -v ON_ERROR_STOP=1 -h "$sock" -U "$user" -d postgres -q \
      -v db="$db" <<<'CREATE DATABASE :"db";'
  fi
  pg_ctl -D "$PGDATA" -m fast -w stop >/dev/null
  rmdir "$sock"
  echo "postgres: initialised $PGDATA (user $user, database $db)" >&2
fi

exec postgres -c listen_addresses='*' "${@:2}"
