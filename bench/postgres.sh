#!/usr/bin/env bash
# PostgreSQL benchmark: Coffer's backup and restore of a ~1 GiB database (pgbench -i -s 70)
# against plain `pg_dump -Fc` and `pg_restore -j N` (same N) of the same database, in the
# same run, with public tools only.
#
#   cargo build --release && bench/postgres.sh
#
# Environment: PGHOST (127.0.0.1), PGPORT (5432), PGUSER (postgres) must reach a server
# where that user may create databases; SCALE=70 (pgbench scale); BENCH_DIR (a scratch
# folder, default /tmp/coffer-bench-pg); COFFER (default target/release/coffer);
# REUSE_DB=1 keeps an existing coffer_bench_src (made by an earlier pgbench -i) instead of
# building it again.
# Creates and drops databases named coffer_bench_*.
set -euo pipefail
export LC_ALL=C
REPO_DIR=$(cd -- "$(dirname -- "$0")/.." && pwd -P)
export BENCH_DIR=${BENCH_DIR:-/tmp/coffer-bench-pg}
mkdir -p -- "$BENCH_DIR"
BENCH_DIR=$(cd -- "$BENCH_DIR" && pwd -P)
# shellcheck source=bench/lib.sh
. "$REPO_DIR/bench/lib.sh"

export PGHOST=${PGHOST:-127.0.0.1} PGPORT=${PGPORT:-5432} PGUSER=${PGUSER:-postgres}
SCALE=${SCALE:-70}
COFFER=${COFFER:-$REPO_DIR/target/release/coffer}
JOBS=$(nproc)
DB=coffer_bench_src
for tool in pgbench pg_dump pg_restore psql "$COFFER"; do
    command -v "$tool" >/dev/null || die "$tool not found (pgbench: Debian's postgresql-contrib)"
done

sql() { psql -X -q -At -v ON_ERROR_STOP=1 -d postgres -c "$1"; }
drop_all() {
    local db keep=${1:-}
    for db in $(sql "SELECT datname FROM pg_database WHERE datname LIKE 'coffer_bench_%'"); do
        [ "$db" = "$keep" ] && continue
        sql "DROP DATABASE \"$db\" WITH (FORCE)"
    done
}
trap drop_all EXIT
# Seconds (with decimals) that "$@" took.
timed() { local t0 t1; t0=$(date +%s.%N); "$@" >/dev/null; t1=$(date +%s.%N); echo "$t1 - $t0" | bc; }
ratio() { echo "scale=2; $1 / $2" | bc; }

safe_rm "$BENCH_DIR/state"
mkdir -p "$BENCH_DIR/state"
if [ "${REUSE_DB:-0}" = 1 ] && [ -n "$(sql "SELECT 1 FROM pg_database WHERE datname = '$DB'")" ]; then
    drop_all "$DB"
    log "reusing $DB"
else
    drop_all
    log "creating $DB with pgbench -i -s $SCALE"
    sql "CREATE DATABASE $DB"
    pgbench -q -i -s "$SCALE" "$DB" >/dev/null 2>&1
    psql -X -q -d "$DB" -c "VACUUM ANALYZE" >/dev/null
fi
size=$(sql "SELECT pg_size_pretty(pg_database_size('$DB'))")
log "database size: $size; $JOBS cores"

cat >"$BENCH_DIR/state/coffer.toml" <<TOML
data_dir = "$BENCH_DIR/state/data"
database_url = "sqlite://$BENCH_DIR/state/meta.db"
[storage]
path = "$BENCH_DIR/state/backups"
[[sources]]
name = "pg"
service = "bench"
kind = "postgres"
url = "postgres://$PGUSER@$PGHOST:$PGPORT/$DB"
TOML
coffer() { env -u COFFER_DATA_DIR -u COFFER_DATABASE_URL -u COFFER_STORAGE_PATH COFFER_LOG=warn \
    "$COFFER" --config "$BENCH_DIR/state/coffer.toml" "$@"; }
coffer sources check >/dev/null   # also creates the key outside the timing

log "plain pg_dump -Fc"
plain_dump=$(timed pg_dump -Fc -f "$BENCH_DIR/state/plain.pgdump" "$DB")
log "coffer backup"
coffer_backup=$(timed coffer backup)
id=$(coffer list --json | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["id"])')
archive=$(du -b "$BENCH_DIR"/state/backups -s | cut -f1)

log "plain pg_restore -j $JOBS into a new database"
sql "CREATE DATABASE coffer_bench_plain TEMPLATE template0"
plain_restore=$(timed pg_restore -j "$JOBS" --exit-on-error -d coffer_bench_plain "$BENCH_DIR/state/plain.pgdump")
log "coffer restore (pg_restore -j $JOBS into staging, validate, rename)"
coffer_restore=$(timed coffer restore "$id" --sources pg --target coffer_bench_restored --yes)
[ "$(psql -X -At -d coffer_bench_restored -c 'SELECT count(*) FROM pgbench_accounts')" = \
  "$(psql -X -At -d "$DB" -c 'SELECT count(*) FROM pgbench_accounts')" ] || die "restored copy differs"

printf '\nPostgreSQL %s, pgbench -s %s (%s), %s cores\n' "$(sql 'SHOW server_version')" "$SCALE" "$size" "$JOBS"
printf '%-34s %10s %10s %7s\n' "" "coffer s" "plain s" "ratio"
printf '%-34s %10.2f %10.2f %7s\n' "backup vs pg_dump -Fc" "$coffer_backup" "$plain_dump" "$(ratio "$coffer_backup" "$plain_dump")"
printf '%-34s %10.2f %10.2f %7s\n' "restore vs pg_restore -j $JOBS" "$coffer_restore" "$plain_restore" "$(ratio "$coffer_restore" "$plain_restore")"
printf 'sizes: coffer archive %s MiB, pg_dump -Fc %s MiB\n' "$((archive / 1048576))" "$(( $(stat -c %s "$BENCH_DIR/state/plain.pgdump") / 1048576 ))"
safe_rm "$BENCH_DIR/state"
