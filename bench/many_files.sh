#!/usr/bin/env bash
# Coffer's peak memory on a tree of many small files (default 140,000): full backup,
# incremental after touching 1% of the files, deep verify and restore, one run each.
# Memory grows with the number of files, not with their bytes; this is the check for that.
# Public tools only: bash, python3, GNU time (Debian package `time`), jq, diff.
set -uo pipefail
export LC_ALL=C

usage() {
    cat <<'EOF'
Usage: bench/many_files.sh [--no-check] [--keep]

  --no-check   skip the untimed check that the restored trees equal the source tree
  --keep       keep the work dir (tree, store, restored copies) afterwards

Environment:
  FILES=140000   number of files (projects × 20 modules × 50 files, rounded up)
  BENCH_DIR      work dir (default: bench/work/many-files)
  COFFER=path    coffer binary (default: target/release/coffer of this repository)
  LEVEL=6        compression level
EOF
}

SCRIPT_DIR=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd -P)
REPO_DIR=$(cd -- "$SCRIPT_DIR/.." && pwd -P)
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$SCRIPT_DIR/lib.sh"

CHECK=1 KEEP=0
for arg in "$@"; do
    case "$arg" in
        --no-check) CHECK=0 ;;
        --keep) KEEP=1 ;;
        -h | --help) usage; exit 0 ;;
        *) usage >&2; die "unknown argument: $arg" ;;
    esac
done

FILES=${FILES:-140000}
LEVEL=${LEVEL:-6}
COFFER=${COFFER:-$REPO_DIR/target/release/coffer}
for v in FILES LEVEL; do
    [[ "${!v}" =~ ^[0-9]+$ ]] || die "$v must be a whole number (got '${!v}')"
done
[ "$FILES" -ge 1000 ] || die "FILES must be at least 1000"
[ -x "$COFFER" ] || die "coffer binary not found at $COFFER (build it with 'cargo build --release' or set COFFER=...)"
for t in /usr/bin/time python3 jq diff; do
    command -v "$t" >/dev/null 2>&1 || die "missing tool: $t (Debian packages: time python3 jq diffutils)"
done

BENCH_DIR=$(abspath "${BENCH_DIR:-$SCRIPT_DIR/work/many-files}") || die "cannot create the work dir"
case "$BENCH_DIR" in / | /usr | /usr/* | /etc | /etc/* | "$HOME") die "BENCH_DIR=$BENCH_DIR is not a sensible work dir" ;; esac
export BENCH_DIR
export TMPDIR="$BENCH_DIR/tmp"
# coffer reads COFFER_* overrides (data dir, database, storage); none may point it elsewhere.
while IFS= read -r v; do unset "$v"; done < <(compgen -e | grep '^COFFER_')
TREE="$BENCH_DIR/tree"
STATE="$BENCH_DIR/coffer"
SAMPLES="$BENCH_DIR/samples.tsv"
fresh_dir "$BENCH_DIR/logs"
fresh_dir "$TMPDIR"
: >"$SAMPLES"

cleanup() {
    [ "$KEEP" -eq 1 ] && return 0
    safe_rm "$TREE" "$STATE" "$BENCH_DIR/restore-full" "$BENCH_DIR/restore-incr" "$TMPDIR"
}
trap cleanup EXIT

# project-XXX/module_directory_YY/nested/source_file_number_ZZZ.txt, a few hundred bytes each.
build_tree() {
    log "building a tree of $FILES files in $TREE"
    fresh_dir "$TREE"
    python3 - "$TREE" "$FILES" <<'PY' || die "building the tree failed"
import os, random, sys
root, files = sys.argv[1], int(sys.argv[2])
modules, per_module = 20, 50
projects = -(-files // (modules * per_module))
rng = random.Random(140000)
words = ("fn let match struct impl return self value error result option buffer "
         "manifest archive source entry path size mode checksum digest").split()
made = 0
for p in range(projects):
    for m in range(modules):
        folder = os.path.join(root, f"project-{p:03d}", f"module_directory_{m:02d}", "nested")
        os.makedirs(folder)
        for f in range(per_module):
            if made == files:
                break
            n = rng.randrange(200, 600)
            text = f"// file {made}\n" + " ".join(rng.choice(words) for _ in range(n // 6))
            with open(os.path.join(folder, f"source_file_number_{f:03d}.txt"), "w") as out:
                out.write(text[:n] + "\n")
            made += 1
PY
}

# Every 100th file gets a line appended (so a new size and mtime).
touch_one_percent() {
    local changed
    changed=$(cd "$TREE" && find . -type f -name '*.txt' | sort | awk 'NR % 100 == 50' |
        while IFS= read -r f; do printf 'changed for the incremental\n' >>"$f"; echo; done | wc -l)
    log "changed $changed files (1%) for the incremental"
}

write_config() {
    fresh_dir "$STATE"
    mkdir -p "$STATE/data" "$STATE/backups"
    cat >"$STATE/coffer.toml" <<EOF
data_dir = "$STATE/data"

[storage]
path = "$STATE/backups"

[archive]
compression_level = $LEVEL
threads = 0
encryption = true

[[sources]]
name = "tree"
service = "bench"
kind = "directory"
path = "$TREE"
EOF
}

# coffer_run NAME ARGS...: one timed run; its stdout is kept in logs/NAME.out.
coffer_run() {
    local name=$1
    shift
    local cmd="'$COFFER' --config '$STATE/coffer.toml'"
    local a
    for a in "$@"; do cmd+=" '$a'"; done
    run_timed "$name" coffer 1 "$cmd" || die "coffer $* failed, see $BENCH_DIR/logs/$name-coffer-1.err"
}

backup_id() { jq -r '.id // empty' "$BENCH_DIR/logs/$1-coffer-1.out" | tail -n 1; }

restore_and_check() {
    local name=$1 id=$2 target="$BENCH_DIR/$1"
    fresh_dir "$target"
    coffer_run "$name" restore "$id" --target "$target" --yes
    if [ "$CHECK" -eq 1 ]; then
        diff -rq --no-dereference "$TREE" "$target/tree" >"$BENCH_DIR/logs/$name.diff" 2>&1 ||
            die "the $name tree differs from the source tree: $(head -n 3 "$BENCH_DIR/logs/$name.diff")"
        log "  check: $name is identical to the tree"
    fi
    # Kept until the end: creating many files right after deleting as many is slow on ext4.
}

# Full backup, its verify and restore while the tree is as backed up; then the 1% change,
# the incremental, and its verify and restore (both read the whole chain of two archives).
build_tree
write_config
coffer_run full backup --kind full --json
FULL_ID=$(backup_id full)
[ -n "$FULL_ID" ] || die "coffer backup --json printed no id"
coffer_run verify-full verify "$FULL_ID" --deep --json
restore_and_check restore-full "$FULL_ID"
touch_one_percent
coffer_run incremental backup --kind incremental --json
INCR_ID=$(backup_id incremental)
[ -n "$INCR_ID" ] || die "coffer backup --json printed no id"
coffer_run verify-incr verify "$INCR_ID" --deep --json
restore_and_check restore-incr "$INCR_ID"
for name in verify-full verify-incr; do
    passed=$(jq -r 'if type == "array" then .[].passed else .passed end' "$BENCH_DIR/logs/$name-coffer-1.out" | sort -u | tr '\n' ' ')
    passed=${passed% }
    [ "$passed" = "true" ] || die "$name did not pass: $(tail -c 300 "$BENCH_DIR/logs/$name-coffer-1.out")"
done

printf '\nPeak RSS for %s files (one run each, level %s, encryption on)\n' "$FILES" "$LEVEL"
printf '%-14s %10s %10s\n' step "wall s" "MiB"
awk -F'\t' '{ printf "%-14s %10.2f %10.1f\n", $1, $4, $5 / 1024 }' "$SAMPLES"
