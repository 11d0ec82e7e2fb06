#!/usr/bin/env bash
# Services the web tests need (called by .ci/run before pytest; idempotent, quiet, fast when ready):
#  - PostgreSQL on 127.0.0.1:5432 with user/password coastcast/coastcast and database coastcast_test,
#    i.e. the URL postgresql://coastcast:coastcast@127.0.0.1:5432/coastcast_test that tests/web uses
#    (override with COASTCAST_TEST_DATABASE_URL);
#  - Debian's chromium at /usr/bin/chromium for the Playwright browser tests.
# Exports nothing. Needs root (apt-get); without it, it installs nothing and the tests that need
# a missing service skip with their reason.
set -uo pipefail

log() { echo "services.sh: $*" >&2; }
SUDO=""
if [ "$(id -u)" != "0" ]; then
    if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then SUDO="sudo -n"; else log "not root: installing nothing"; fi
fi

need=()
command -v chromium >/dev/null 2>&1 || need+=(chromium)
ls /usr/lib/postgresql/*/bin/pg_ctl >/dev/null 2>&1 || need+=(postgresql)
if [ ${#need[@]} -gt 0 ] && { [ "$(id -u)" = "0" ] || [ -n "$SUDO" ]; }; then
    log "installing ${need[*]}"
    export DEBIAN_FRONTEND=noninteractive
    $SUDO apt-get update -qq >/dev/null 2>&1 || log "apt-get update failed"
    $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null 2>&1 || log "apt-get install ${need[*]} failed"
fi

if ! ls /usr/lib/postgresql/*/bin/pg_ctl >/dev/null 2>&1; then
    log "PostgreSQL is not installed: PostgreSQL tests will skip"
    exit 0
fi

pg_ready() { pg_isready -q -h 127.0.0.1 -p 5432 >/dev/null 2>&1; }
if ! pg_ready; then
    if command -v pg_lsclusters >/dev/null 2>&1; then
        read -r ver cluster _ < <(pg_lsclusters -h 2>/dev/null | head -1)
        if [ -z "${ver:-}" ]; then
            ver=$(ls /usr/lib/postgresql | sort -n | tail -1); cluster=main
            $SUDO pg_createcluster "$ver" "$cluster" >/dev/null 2>&1 || log "pg_createcluster failed"
        fi
        $SUDO pg_ctlcluster "$ver" "$cluster" start >/dev/null 2>&1 || log "pg_ctlcluster $ver $cluster start failed"
    else
        $SUDO service postgresql start >/dev/null 2>&1 || log "service postgresql start failed"
    fi
    for _ in $(seq 1 30); do pg_ready && break; sleep 0.5; done
fi
if ! pg_ready; then
    log "PostgreSQL does not answer on 127.0.0.1:5432: PostgreSQL tests will skip"
    exit 0
fi

as_pg() { if [ "$(id -u)" = "0" ]; then su postgres -s /bin/sh -c "$1"; else $SUDO -u postgres sh -c "$1"; fi; }
as_pg "psql -qtAc \"SELECT 1 FROM pg_roles WHERE rolname='coastcast'\"" 2>/dev/null | grep -q 1 \
    || as_pg "psql -qc \"CREATE ROLE coastcast LOGIN PASSWORD 'coastcast'\"" >/dev/null 2>&1 || log "could not create role coastcast"
as_pg "psql -qtAc \"SELECT 1 FROM pg_database WHERE datname='coastcast_test'\"" 2>/dev/null | grep -q 1 \
    || as_pg "createdb -O coastcast coastcast_test" >/dev/null 2>&1 || log "could not create database coastcast_test"
exit 0
