#!/usr/bin/env bash
# A private PostgreSQL server for the test run: Debian's packages, one cluster under /tmp that
# only this machine's Unix socket reaches (trust auth, no TCP), a database for the tests.
#
#   eval "$(.ci/postgres.sh)"        install if needed, start, print `export HOTCAST_TEST_PG=...`
#   .ci/postgres.sh stop             stop the cluster (its files stay for the next start)
#   .ci/postgres.sh status           exit 0 when it runs
#
# Idempotent and fast: a second call finds the cluster running and only prints the line
# (about 0.1 s); a first call on a machine that has the packages takes about 3 s (initdb).
# The tests that need PostgreSQL read $HOTCAST_TEST_PG (a libpq URL) and skip, naming the
# variable, when it is unset or nothing answers there.
#
# Environment: HOTCAST_PG_DIR (default /tmp/hotcast-pg) holds data/, the socket and log;
# HOTCAST_PG_PORT (default 54329) names the socket (.s.PGSQL.PORT), not a TCP port;
# HOTCAST_PG_FAST=1 turns fsync off (tests only: the benchmark wants a durable server, as a
# center runs one). Run as root, the server runs as the `postgres` user the package makes
# (PostgreSQL refuses to run as root); run as anyone else, as that user.
set -euo pipefail

PGROOT=${HOTCAST_PG_DIR:-/tmp/hotcast-pg}
PORT=${HOTCAST_PG_PORT:-54329}
DB=hotcast_test
SUPERUSER=postgres

log() { echo "postgres.sh: $*" >&2; }

find_bindir() {
    # Newest installed major version: /usr/lib/postgresql/15/bin on Debian 12.
    ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1
}

BINDIR=$(find_bindir)
if [ -z "$BINDIR" ] || [ ! -x "$BINDIR/initdb" ]; then
    if [ "${1:-start}" != start ]; then
        log "PostgreSQL is not installed"; exit 1
    fi
    if [ "$(id -u)" != 0 ]; then
        log "PostgreSQL is not installed: run as root, or apt-get install postgresql"; exit 1
    fi
    log "installing PostgreSQL from Debian's packages"
    # No default cluster on port 5432: this script makes its own.
    mkdir -p /etc/postgresql-common/createcluster.d
    echo "create_main_cluster = false" > /etc/postgresql-common/createcluster.d/hotcast-ci.conf
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >&2
    apt-get install -y -qq --no-install-recommends postgresql >&2
    BINDIR=$(find_bindir)
fi

if [ "$(id -u)" = 0 ]; then
    as_owner() { runuser -u postgres -- "$@"; }
    OWNER=postgres
else
    as_owner() { "$@"; }
    OWNER=$(id -un)
fi
PGCTL=("$BINDIR/pg_ctl" -D "$PGROOT/data")

running() { as_owner "${PGCTL[@]}" status >/dev/null 2>&1; }

case "${1:-start}" in
    stop)
        if [ -d "$PGROOT/data" ] && running; then
            as_owner "${PGCTL[@]}" stop -m fast -w >&2
        fi
        exit 0 ;;
    status)
        running; exit $? ;;
    start) ;;
    *) log "usage: $0 [start|stop|status]"; exit 2 ;;
esac

if [ ! -f "$PGROOT/data/PG_VERSION" ]; then
    log "making a cluster in $PGROOT/data"
    mkdir -p "$PGROOT"
    chown "$OWNER" "$PGROOT"
    chmod 0700 "$PGROOT"
    as_owner "$BINDIR/initdb" -D "$PGROOT/data" -U "$SUPERUSER" -A trust -E UTF8 --no-locale \
        --no-sync >/dev/null
fi

if ! running; then
    extra=()
    if [ "${HOTCAST_PG_FAST:-0}" = 1 ]; then
        extra=(-c fsync=off -c synchronous_commit=off -c full_page_writes=off)
    fi
    # listen_addresses='': the Unix socket in $PGROOT only (nothing on the network);
    # 100 connections: 8 concurrent writers per test, pytest-xdist workers, the benchmark.
    opts="-c listen_addresses= -k $PGROOT -p $PORT -c max_connections=100 ${extra[*]}"
    as_owner "${PGCTL[@]}" start -w -t 60 -l "$PGROOT/server.log" -o "$opts" >/dev/null
    log "started (socket $PGROOT/.s.PGSQL.$PORT, log $PGROOT/server.log)"
fi

psql_admin() { "$BINDIR/psql" -X -q -h "$PGROOT" -p "$PORT" -U "$SUPERUSER" -d postgres "$@"; }
if [ "$(psql_admin -tAc "SELECT 1 FROM pg_database WHERE datname = '$DB'")" != 1 ]; then
    psql_admin -c "CREATE DATABASE $DB" >/dev/null
fi

echo "export HOTCAST_TEST_PG='postgresql://$SUPERUSER@/$DB?host=$PGROOT&port=$PORT'"
