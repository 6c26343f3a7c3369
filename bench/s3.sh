#!/usr/bin/env bash
# S3 benchmark: Coffer's full backup of the ~1 GiB corpus (bench/corpus.sh) into an
# S3-compatible server on loopback against the same backup into a local folder, alternating
# in the same run; peak memory of the S3 runs. Public tools only.
#
#   cargo build --release && bench/s3.sh
#
# Environment: CORPUS_MB=1024, RUNS=3 (timed pairs, plus one warm-up pair), BENCH_DIR (default
# bench/work-s3; the corpus is reused when bench/work/corpus exists), COFFER (default
# target/release/coffer), S3_SERVER=moto (moto_server, from PyPI's moto[server]) or s3s-fs (a
# file-system-backed S3 server in Rust: `cargo install s3s-fs --features binary`; S3S_FS names
# the binary). The server runs on the same 2 cores as Coffer, so its own CPU cost is part of
# what is measured: moto (Python) costs far more per byte than s3s-fs.
# Each round backs up to the local folder and then to S3 in two ways: `unsigned_payload =
# true`, the default over https:// (TLS guards the bytes; no SHA-256 of every part for
# request signing on either end), which is how a production install talks to its store, and
# signed payloads, the default over plain http:// (this loopback server has no TLS).
# Targets (issue 6): S3 wall time <= 1.2 x local, peak RSS < 200 MiB.
set -euo pipefail
export LC_ALL=C
SCRIPT_DIR=$(cd -- "$(dirname -- "$0")" && pwd -P)
REPO_DIR=$(dirname -- "$SCRIPT_DIR")
BENCH_DIR=${BENCH_DIR:-$SCRIPT_DIR/work-s3}
mkdir -p -- "$BENCH_DIR"
BENCH_DIR=$(cd -- "$BENCH_DIR" && pwd -P)
export BENCH_DIR
# shellcheck source=bench/lib.sh
. "$SCRIPT_DIR/lib.sh"
while IFS= read -r v; do unset "$v"; done < <(compgen -e | grep '^COFFER_')

CORPUS_MB=${CORPUS_MB:-1024}
RUNS=${RUNS:-3}
COFFER=${COFFER:-$REPO_DIR/target/release/coffer}
[ -x "$COFFER" ] || die "coffer not found at $COFFER (cargo build --release)"
S3_SERVER=${S3_SERVER:-moto}
S3S_FS=${S3S_FS:-s3s-fs}
case "$S3_SERVER" in
    moto) command -v moto_server >/dev/null || die "moto_server not found (python3 -m pip install 'moto[server]')" ;;
    s3s-fs) command -v "$S3S_FS" >/dev/null || die "s3s-fs not found (cargo install s3s-fs --features binary; or set S3S_FS)" ;;
    *) die "S3_SERVER must be moto or s3s-fs" ;;
esac
[ -x /usr/bin/time ] || die "/usr/bin/time not found (Debian package: time)"
command -v curl >/dev/null || die "curl not found"

# The corpus: bench/run.sh's when it exists at this size, else built here.
CORPUS="$BENCH_DIR/corpus"
if [ -d "$SCRIPT_DIR/work/corpus" ] && grep -qx "size_mb=$CORPUS_MB" "$SCRIPT_DIR/work/corpus.stamp" 2>/dev/null; then
    CORPUS="$SCRIPT_DIR/work/corpus"
elif [ ! -d "$CORPUS" ]; then
    log "building a $CORPUS_MB MiB corpus"
    "$SCRIPT_DIR/corpus.sh" "$CORPUS" "$CORPUS_MB" >/dev/null
fi
log "corpus: $CORPUS ($(du -sm "$CORPUS" | cut -f1) MiB)"

# The S3 server on a free loopback port.
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
ENDPOINT="http://127.0.0.1:$PORT"
if [ "$S3_SERVER" = moto ]; then
    moto_server -H 127.0.0.1 -p "$PORT" >"$BENCH_DIR/s3-server.log" 2>&1 &
else
    fresh_dir "$BENCH_DIR/s3-data"
    mkdir "$BENCH_DIR/s3-data/coffer-bench" # a bucket of s3s-fs is a folder
    "$S3S_FS" --host 127.0.0.1 --port "$PORT" --access-key bench --secret-key bench \
        "$BENCH_DIR/s3-data" >"$BENCH_DIR/s3-server.log" 2>&1 &
fi
SERVER_PID=$!
trap 'kill "$SERVER_PID" 2>/dev/null || true' EXIT
for _ in $(seq 1 300); do curl -s -o /dev/null "$ENDPOINT/" && break; sleep 0.1; done
if [ "$S3_SERVER" = moto ]; then
    curl -fs -o /dev/null -X PUT "$ENDPOINT/coffer-bench" || die "cannot create the bucket"
fi
log "S3 server: $S3_SERVER at $ENDPOINT"

# Two installs that differ only in their storage target.
setup() { # NAME STORAGE_TOML
    local dir="$BENCH_DIR/$1"
    fresh_dir "$dir"
    cat >"$dir/coffer.toml" <<TOML
data_dir = "$dir/data"
[storage]
$2
[archive]
compression_level = 6
[[sources]]
name = "corpus"
kind = "directory"
path = "$CORPUS"
TOML
    # One untimed backup creates the database and the key.
    "$COFFER" --config "$dir/coffer.toml" backup >/dev/null
}
setup local "path = \"$BENCH_DIR/local/archives\""
for payload in unsigned signed; do
    setup "s3-$payload" "kind = \"s3\"
endpoint = \"$ENDPOINT\"
bucket = \"coffer-bench\"
prefix = \"$payload\"
path_style = true
access_key_id = \"bench\"
secret_access_key = \"bench\"
unsigned_payload = $([ "$payload" = unsigned ] && echo true || echo false)"
done

# Seconds and peak RSS (KiB) of one full backup: "SECONDS KIB".
run_backup() {
    /usr/bin/time -f '%e %M' -o "$BENCH_DIR/time.out" \
        "$COFFER" --config "$BENCH_DIR/$1/coffer.toml" backup >/dev/null
    cat "$BENCH_DIR/time.out"
}

log "load before: $(cut -d' ' -f1-3 /proc/loadavg)"
: >"$BENCH_DIR/samples"
for i in $(seq 0 "$RUNS"); do
    l=$(run_backup local)
    u=$(run_backup s3-unsigned)
    g=$(run_backup s3-signed)
    log "round $i: local ${l% *} s (${l#* } KiB), s3 unsigned ${u% *} s (${u#* } KiB), s3 signed ${g% *} s (${g#* } KiB)"
    [ "$i" -eq 0 ] && continue # warm-up
    echo "${l% *} ${u% *} ${u#* } $(ratio "${u% *}" "${l% *}") ${g% *} ${g#* } $(ratio "${g% *}" "${l% *}")" >>"$BENCH_DIR/samples"
done
log "load after: $(cut -d' ' -f1-3 /proc/loadavg)"

column() { cut -d' ' -f"$1" "$BENCH_DIR/samples"; }
local_s=$(column 1 | median)
unsigned_s=$(column 2 | median)
unsigned_ratio=$(column 4 | median)
signed_s=$(column 5 | median)
signed_ratio=$(column 7 | median)
peak_mib=$( (column 3; column 6) | maximum | awk '{printf "%.0f", $1 / 1024}')
printf '\n| Check | Coffer to S3 | Coffer to a local folder | Ratio (median of %s rounds) | Target |\n' "$RUNS"
printf '|---|---|---|---|---|\n'
printf '| Full backup, unsigned payload (default over https) | %s s | %s s | %s (%s) | <= 1.2 |\n' "$unsigned_s" "$local_s" "$unsigned_ratio" "$(verdict "$unsigned_ratio" 1.2)"
printf '| Full backup, signed payload (default over http) | %s s | %s s | %s | - |\n' "$signed_s" "$local_s" "$signed_ratio"
printf '| Peak RSS of the S3 backups | %s MiB | - | - | < 200 MiB (%s) |\n' "$peak_mib" "$(verdict "$peak_mib" 200 lt)"
