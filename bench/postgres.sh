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
# building it again, and leaves it in place at the end; RUNS=3 (pairs of Coffer and the
# plain tool; the verdict is the median of the per-run ratios).
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
if [ "${REUSE_DB:-0}" = 1 ]; then trap 'drop_all "$DB"' EXIT; else trap drop_all EXIT; fi
# Seconds (with decimals) that "$@" took.
timed() { local t0 t1; t0=$(date +%s.%N); "$@" >/dev/null; t1=$(date +%s.%N); echo "$t1 - $t0" | bc; }

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

# Each run pairs Coffer with the plain tool, back to back, so both see the same machine; the
# verdict is the median of the per-run ratios (RUNS, default 3).
RUNS=${RUNS:-3}
backup_ratios=() restore_ratios=() z1_ratios=()
printf '%-4s %-34s %10s %10s %7s\n' run "" "coffer s" "plain s" ratio >"$BENCH_DIR/state/table"
for run in $(seq 1 "$RUNS"); do
    log "run $run/$RUNS: load average $(cut -d' ' -f1-3 /proc/loadavg)"
    rm -f -- "$BENCH_DIR/state/plain.pgdump" "$BENCH_DIR/state/plain-z1.pgdump"
    log "plain pg_dump -Fc"
    plain_dump=$(timed pg_dump -Fc -f "$BENCH_DIR/state/plain.pgdump" "$DB")
    log "coffer backup"
    coffer_backup=$(timed coffer backup)
    # Coffer has pg_dump compress at level 1: the same plain dump at that level, for reference.
    log "plain pg_dump -Fc -Z1 (reference)"
    plain_z1=$(timed pg_dump -Fc -Z1 -f "$BENCH_DIR/state/plain-z1.pgdump" "$DB")
    id=$(coffer list --json | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["id"])')
    archive=$(stat -c %s "$(find "$BENCH_DIR/state/backups" -name "$id.tar.gz*" ! -name '*.manifest*')")

    log "plain pg_restore -j $JOBS into a new database"
    sql "CREATE DATABASE coffer_bench_plain TEMPLATE template0"
    plain_restore=$(timed pg_restore -j "$JOBS" --exit-on-error -d coffer_bench_plain "$BENCH_DIR/state/plain.pgdump")
    log "coffer restore (pg_restore -j $JOBS into staging, validate, rename)"
    coffer_restore=$(timed coffer restore "$id" --sources pg --target coffer_bench_restored --yes)
    [ "$(psql -X -At -d coffer_bench_restored -c 'SELECT count(*) FROM pgbench_accounts')" = \
      "$(psql -X -At -d "$DB" -c 'SELECT count(*) FROM pgbench_accounts')" ] || die "restored copy differs"
    drop_all "$DB"

    backup_ratios+=("$(ratio "$coffer_backup" "$plain_dump")")
    restore_ratios+=("$(ratio "$coffer_restore" "$plain_restore")")
    z1_ratios+=("$(ratio "$coffer_backup" "$plain_z1")")
    {
        printf '%-4s %-34s %10.2f %10.2f %7s\n' "$run" "backup vs pg_dump -Fc" "$coffer_backup" "$plain_dump" "${backup_ratios[-1]}"
        printf '%-4s %-34s %10.2f %10.2f %7s\n' "$run" "backup vs pg_dump -Fc -Z1" "$coffer_backup" "$plain_z1" "${z1_ratios[-1]}"
        printf '%-4s %-34s %10.2f %10.2f %7s\n' "$run" "restore vs pg_restore -j $JOBS" "$coffer_restore" "$plain_restore" "${restore_ratios[-1]}"
    } >>"$BENCH_DIR/state/table"
done

printf '\nPostgreSQL %s, pgbench -s %s (%s), %s cores, load average after: %s\n' \
    "$(sql 'SHOW server_version')" "$SCALE" "$size" "$JOBS" "$(cut -d' ' -f1-3 /proc/loadavg)"
cat "$BENCH_DIR/state/table"
med() { printf '%s\n' "$@" | median; }
printf 'median ratios: backup %s (target <= 1.15), restore %s (target <= 1.15), backup vs -Z1 %s\n' \
    "$(med "${backup_ratios[@]}")" "$(med "${restore_ratios[@]}")" "$(med "${z1_ratios[@]}")"
printf 'sizes: coffer archive %s MiB, pg_dump -Fc %s MiB, pg_dump -Fc -Z1 %s MiB\n' "$(mib "$archive")" \
    "$(mib "$(stat -c %s "$BENCH_DIR/state/plain.pgdump")")" "$(mib "$(stat -c %s "$BENCH_DIR/state/plain-z1.pgdump")")"
safe_rm "$BENCH_DIR/state"
