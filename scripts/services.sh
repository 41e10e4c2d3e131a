#!/usr/bin/env bash
# Installs what the integration tests need when it is missing (Debian
# packages, as root): curl and python3, which the HTTP tests run as real
# clients, and the servers the patch tests talk to, which it then starts:
#
#   Redis       127.0.0.1:6379                  (VERDE_TEST_REDIS)
#   PostgreSQL  127.0.0.1:5432, role and        (VERDE_TEST_POSTGRES)
#               database "verde", trust
#               authentication from 127.0.0.1,
#               max_connections 200
#
# scripts/test.sh runs this, then hands the tests these addresses in the
# environment variables named above.
#
# Idempotent: on a machine where everything is installed and running it only
# checks, in well under a second.
set -euo pipefail

log() { printf 'services: %s\n' "$*"; }

missing=()
command -v curl >/dev/null 2>&1 || missing+=(curl)
command -v python3 >/dev/null 2>&1 || missing+=(python3)
command -v redis-server >/dev/null 2>&1 || missing+=(redis-server)
command -v pg_ctlcluster >/dev/null 2>&1 && compgen -G '/usr/lib/postgresql/*/bin/postgres' >/dev/null ||
    missing+=(postgresql)
if ((${#missing[@]})); then
    log "installing ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq "${missing[@]}" >/dev/null
fi

# Redis: a throwaway instance with no persistence.
if ! redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1; then
    log "starting redis-server on 127.0.0.1:6379"
    redis-server --bind 127.0.0.1 --port 6379 --daemonize yes --save '' --appendonly no \
        --logfile /tmp/verde-redis.log
    for _ in $(seq 50); do
        redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1 && break
        sleep 0.1
    done
fi
redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null

# PostgreSQL: Debian's cluster of the newest installed version.
version=$(ls /usr/lib/postgresql | sort -V | tail -n 1)
if ! pg_lsclusters -h | awk '{print $1, $2}' | grep -qx "$version main"; then
    log "creating PostgreSQL $version cluster main"
    pg_createcluster "$version" main >/dev/null
fi
hba="/etc/postgresql/$version/main/pg_hba.conf"
marker='# verde tests: trust local TCP'
if ! grep -qF "$marker" "$hba"; then
    log "allowing trust authentication from 127.0.0.1 in $hba"
    sed -i "1i host all all 127.0.0.1/32 trust $marker" "$hba"
    if pg_lsclusters -h | awk '{print $1, $2, $4}' | grep -qx "$version main online"; then
        pg_ctlcluster "$version" main reload
    fi
fi
if ! pg_lsclusters -h | awk '{print $1, $2, $4}' | grep -qx "$version main online"; then
    log "starting PostgreSQL $version"
    pg_ctlcluster "$version" main start
fi
psql_admin() { runuser -u postgres -- psql -p 5432 -v ON_ERROR_STOP=1 -qtAc "$1"; }
wait_for_postgres() {
    for _ in $(seq 100); do
        psql_admin 'SELECT 1' >/dev/null 2>&1 && return
        sleep 0.1
    done
}
wait_for_postgres
# The tests open 100 connections at once; Debian's default allows 100 in all.
if [ "$(psql_admin 'SHOW max_connections')" -lt 200 ]; then
    log "raising max_connections to 200 and restarting PostgreSQL"
    psql_admin 'ALTER SYSTEM SET max_connections = 200' >/dev/null
    pg_ctlcluster "$version" main restart
    wait_for_postgres
fi
if [ "$(psql_admin "SELECT 1 FROM pg_roles WHERE rolname = 'verde'")" != 1 ]; then
    log "creating role verde"
    psql_admin 'CREATE ROLE verde LOGIN SUPERUSER'
fi
if [ "$(psql_admin "SELECT 1 FROM pg_database WHERE datname = 'verde'")" != 1 ]; then
    log "creating database verde"
    psql_admin 'CREATE DATABASE verde OWNER verde'
fi
psql -h 127.0.0.1 -p 5432 -U verde -d verde -qtAc 'SELECT 1' >/dev/null
log "redis 127.0.0.1:6379 and postgresql 127.0.0.1:5432 ready"
