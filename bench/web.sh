#!/usr/bin/env bash
# Console benchmark: the backup list page and the stats JSON with 100,000 records under
# 50 concurrent connections (wrk), and what 200 live SSE subscribers to a running backup cost
# that backup (wall time with and without them, alternating, medians).
#
#   cargo build --release && bench/web.sh [--runs N] [--records N]
#
# Needs wrk, sqlite3, curl and python3. Everything goes under bench/work/web.
set -euo pipefail
cd "$(dirname "$0")/.."
REPO=$(pwd -P)
BENCH_DIR="$REPO/bench/work"
# shellcheck source=bench/lib.sh
source bench/lib.sh

RUNS=5
RECORDS=100000
while [ $# -gt 0 ]; do
    case "$1" in
        --runs) RUNS=$2; shift 2 ;;
        --records) RECORDS=$2; shift 2 ;;
        *) die "unknown option $1" ;;
    esac
done
for tool in wrk sqlite3 curl python3; do
    command -v "$tool" >/dev/null || die "$tool is needed (apt-get install $tool)"
done
COFFER="$REPO/target/release/coffer"
[ -x "$COFFER" ] || die "build first: cargo build --release"

W="$BENCH_DIR/web"
fresh_dir "$W"
mkdir -p "$W/files"
PORT=$((20000 + RANDOM % 20000))
PASSWORD="bench-password-$RANDOM$RANDOM"
cat > "$W/coffer.toml" <<TOML
data_dir = "$W/data"
[storage]
path = "$W/backups"
[web]
bind = "127.0.0.1:$PORT"
[workers]
concurrency = 1
[[sources]]
name = "files"
service = "main_service"
kind = "directory"
path = "$W/files"
TOML

log "making ~300 MiB of files for the SSE run"
python3 - "$W/files" <<'PY'
import os, random, sys
root = sys.argv[1]
rng = random.Random(7)
words = b"backup restore archive verify coffer data safe the of and ".split()
for d in range(30):
    os.makedirs(f"{root}/d{d:02}", exist_ok=True)
    for f in range(100):
        with open(f"{root}/d{d:02}/f{f:03}.txt", "wb") as out:
            out.write(b" ".join(rng.choice(words) for _ in range(8000)))
    with open(f"{root}/d{d:02}/blob.bin", "wb") as out:
        out.write(os.urandom(8 * 1024 * 1024))
PY

SERVER_PID=
stop_server() { [ -n "$SERVER_PID" ] && kill "$SERVER_PID" 2>/dev/null && wait "$SERVER_PID" 2>/dev/null; SERVER_PID=; }
trap stop_server EXIT
start_server() {
    COFFER_ADMIN_PASSWORD="$PASSWORD" COFFER_LOG=warn "$COFFER" --config "$W/coffer.toml" serve \
        >"$W/serve.log" 2>&1 &
    SERVER_PID=$!
    for _ in $(seq 1 100); do
        curl -sf "http://127.0.0.1:$PORT/health" >/dev/null && return 0
        sleep 0.1
    done
    cat "$W/serve.log" >&2
    die "the console did not start"
}

start_server
stop_server
log "seeding $RECORDS backup records"
sqlite3 "$W/data/coffer.db" >/dev/null <<SQL
PRAGMA journal_mode = WAL;
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < $RECORDS)
INSERT INTO backup_records (id, name, kind, parent_id, status, scope, sources, storage_key,
    size_bytes, sha256, file_count, created_by, automatic, description, verify_state,
    created_at, started_at, finished_at)
SELECT printf('00000000-0000-7000-8000-%012d', i),
       printf('backup %d', i),
       CASE WHEN i % 4 = 0 THEN 'incremental' ELSE 'full' END,
       CASE WHEN i % 4 = 0 THEN printf('00000000-0000-7000-8000-%012d', i - 1) END,
       CASE WHEN i % 10 = 0 THEN 'failed' WHEN i % 97 = 0 THEN 'cancelled' ELSE 'success' END,
       CASE WHEN i % 3 = 0 THEN 'service:main_service' ELSE 'all' END,
       '["files"]',
       printf('2025/01/00000000-0000-7000-8000-%012d.tar.gz.enc', i),
       (i * 7919) % 500000000, printf('%064d', i), i % 5000, 'admin', i % 2,
       printf('nightly run number %d', i), 'unverified',
       datetime('2024-01-01', printf('+%d minutes', i * 5)),
       datetime('2024-01-01', printf('+%d minutes', i * 5)),
       datetime('2024-01-01', printf('+%d minutes', i * 5 + 3))
FROM n;
SQL
start_server

# A signed-in session, as a browser gets it.
JAR="$W/cookies"
FORM=$(curl -s -c "$JAR" -b "$JAR" "http://127.0.0.1:$PORT/login")
LOGIN_TOKEN=$(grep -o 'name="csrf_token" value="[0-9a-f]*"' <<<"$FORM" | grep -o '[0-9a-f]\{64\}')
curl -s -o /dev/null -c "$JAR" -b "$JAR" --data-urlencode "username=admin" \
    --data-urlencode "password=$PASSWORD" --data-urlencode "csrf_token=$LOGIN_TOKEN" \
    "http://127.0.0.1:$PORT/login"
SESSION=$(awk '$6 == "coffer_session" {print $7}' "$JAR")
[ -n "$SESSION" ] || die "could not sign in"
COOKIE="coffer_session=$SESSION"

# wrk's "50%"/"99%" latency lines in milliseconds.
percentile_ms() {
    awk -v p="$1%" '$1 == p {
        v = $2; unit = v; sub(/[0-9.]+/, "", unit); sub(/[a-z]+$/, "", v)
        if (unit == "us") v /= 1000; else if (unit == "s") v *= 1000
        printf "%.2f\n", v }'
}

load() {
    local name=$1 path=$2 out="$W/wrk-$1.txt"
    curl -sf -o /dev/null -H "Cookie: $COOKIE" "http://127.0.0.1:$PORT$path" \
        || die "$path does not answer 200"
    wrk -t2 -c50 -d15s --latency -H "Cookie: $COOKIE" "http://127.0.0.1:$PORT$path" >"$out"
    local p50 p99 rps
    p50=$(percentile_ms 50 <"$out")
    p99=$(percentile_ms 99 <"$out")
    rps=$(awk '/Requests\/sec/ {print $2}' "$out")
    sleep 3 # let requests still queued from this URL drain before the next one is measured
    printf '| %s `%s` | %s ms (%s) | %s ms (%s) | %s |\n' "$name" "$path" \
        "$p50" "$(verdict "$p50" 20 lt)" "$p99" "$(verdict "$p99" 100 lt)" "$rps"
}

log "load: 50 connections, 15 s per URL"
echo "| Page | median (< 20 ms) | p99 (< 100 ms) | requests/s |"
echo "|---|---|---|---|"
load "list" "/backups"
# A page deep in the filtered list: the keyset cursor of record 40,000 (created_at in µs.id).
DEEP_AT=$(( $(date -ud '2024-01-01 00:00:00' +%s) + 40000 * 5 * 60 ))
DEEP_CURSOR="${DEEP_AT}000000.$(printf '00000000-0000-7000-8000-%012d' 40000)"
load "list, filtered by status and kind, deep page" "/backups?status=success&kind=full&before=$DEEP_CURSOR"
load "stats JSON" "/backups/stats"
load "list, text search (few matches)" "/backups?q=number+4242"

# One backup through the console's queue; prints its task's wall time in seconds.
CSRF=$(curl -s -H "Cookie: $COOKIE" "http://127.0.0.1:$PORT/backups/new" \
    | grep -o 'name="csrf_token" value="[0-9a-f]*"' | head -1 | grep -o '[0-9a-f]\{64\}')
timed_backup() {
    local subscribers=$1 location task_id final
    location=$(curl -s -o /dev/null -w '%{redirect_url}' -H "Cookie: $COOKIE" \
        --data-urlencode "csrf_token=$CSRF" --data-urlencode "scope=all" \
        --data-urlencode "kind=full" "http://127.0.0.1:$PORT/backups")
    local backup_id=${location##*/}
    task_id=$(sqlite3 "$W/data/coffer.db" \
        "SELECT id FROM backup_tasks WHERE backup_id = '$backup_id' ORDER BY created_at LIMIT 1")
    [ -n "$task_id" ] || die "no task for the backup (redirect: $location)"
    if [ "$subscribers" -gt 0 ]; then
        final=$(python3 bench/sse_clients.py "http://127.0.0.1:$PORT/tasks/$task_id/events" \
            "$subscribers" "$COOKIE")
        [ "${final%% *}" = "$subscribers" ] || log "only ${final%% *} of $subscribers streams saw the final event"
    fi
    while [ "$(sqlite3 "$W/data/coffer.db" "SELECT status FROM backup_tasks WHERE id = '$task_id'")" \
        != success ]; do sleep 0.2; done
    sqlite3 "$W/data/coffer.db" "SELECT (julianday(finished_at) - julianday(started_at)) * 86400
        FROM backup_tasks WHERE id = '$task_id'"
}

log "SSE: $RUNS backups without and with 200 subscribers, alternating"
timed_backup 0 >/dev/null  # warm-up
: >"$W/plain.txt"; : >"$W/watched.txt"
for _ in $(seq 1 "$RUNS"); do
    timed_backup 0 >>"$W/plain.txt"
    timed_backup 200 >>"$W/watched.txt"
done
PLAIN=$(median <"$W/plain.txt")
WATCHED=$(median <"$W/watched.txt")
EXTRA=$(awk -v a="$WATCHED" -v b="$PLAIN" 'BEGIN { printf "%.1f\n", (a / b - 1) * 100 }')
echo
echo "| Backup wall time (median of $RUNS) | no subscribers | 200 SSE subscribers | extra (< 5%) |"
echo "|---|---|---|---|"
printf '| %s files, %s | %s s | %s s | %s %% (%s) |\n' "$(find "$W/files" -type f | wc -l)" \
    "$(du -sh "$W/files" | cut -f1)" "$PLAIN" "$WATCHED" "$EXTRA" "$(verdict "$EXTRA" 5 lt)"
