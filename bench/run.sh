#!/usr/bin/env bash
# Coffer benchmark: coffer backup / incremental / restore / deep verify against tar | pigz,
# tar -czf | openssl | sha256sum, tar -xzf and restic (backup, second snapshot, restore,
# check --read-data), on a corpus of real files, optionally beside a CPU-bound competitor
# (--contended). See bench/README.md.
set -uo pipefail
export LC_ALL=C

usage() {
    cat <<'EOF'
Usage: bench/run.sh [--install] [--contended] [--big] [--peers-only] [--rebuild-corpus] [--keep] [--no-check]

  --install         install missing Debian packages (pigz, time, jq, openssl, restic, and
                    stress-ng with --contended) with apt-get
  --contended       run every timed command beside one CPU-bound competitor (stress-ng --cpu 1,
                    started before and killed after each timed command); results go to
                    results-contended.* and are put side by side with a quiet run's results.json
                    of the same corpus and coffer binary when there is one (run without, then with)
  --big             after the main run, measure coffer's peak memory on a BIG_MB corpus (4096)
  --peers-only      time only the peers: tar|pigz, the naive pipeline, tar -xzf and restic
                    (no coffer binary needed)
  --rebuild-corpus  rebuild the corpus even if the existing one is intact
  --keep            keep the last tar.gz and coffer store (data dir + archives) in the work dir
  --no-check        skip the untimed correctness checks (restored tree == corpus, export readable)

Environment:
  CORPUS_MB=1024    corpus size in MiB          RUNS=5      timed repetitions (median), plus 1 warm-up
  BIG_MB=4096       corpus size for --big       BENCH_DIR   work dir (default: bench/work)
  COFFER=path       coffer binary (default: target/release/coffer of this repository)
  LEVEL=6           compression level for coffer and pigz
  QUIET_WAIT=0      before each timed run wait up to this many seconds for the CPU to be
  QUIET_PCT=20      less than QUIET_PCT% busy (other builds skew the figures; each run records it)
  CMD_TIMEOUT=3600  seconds after which one timed command is killed and counted as failed
  RESTORE_FS=auto   loop: restore into a fresh ext4 image (inside the work dir) each run;
                    tmpfs: into a fresh tmpfs (RAM; needs root and ~1.3 x the corpus free),
                    so the file system's own cost does not hide the tools' cost;
                    dir: into a plain directory; auto: loop when root and loop devices work
EOF
}

SCRIPT_DIR=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd -P)
REPO_DIR=$(cd -- "$SCRIPT_DIR/.." && pwd -P)
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$SCRIPT_DIR/lib.sh"

INSTALL=0 BIG=0 PEERS_ONLY=0 REBUILD=0 KEEP=0 CHECK=1 CONTENDED=0
for arg in "$@"; do
    case "$arg" in
        --install) INSTALL=1 ;;
        --contended) CONTENDED=1 ;;
        --big) BIG=1 ;;
        --peers-only) PEERS_ONLY=1 ;;
        --rebuild-corpus) REBUILD=1 ;;
        --keep) KEEP=1 ;;
        --no-check) CHECK=0 ;;
        -h | --help) usage; exit 0 ;;
        *) usage >&2; die "unknown argument: $arg" ;;
    esac
done

CORPUS_MB=${CORPUS_MB:-1024}
BIG_MB=${BIG_MB:-4096}
RUNS=${RUNS:-5}
LEVEL=${LEVEL:-6}
COFFER=${COFFER:-$REPO_DIR/target/release/coffer}
NPROC=$(nproc)
for v in CORPUS_MB BIG_MB RUNS LEVEL; do
    [[ "${!v}" =~ ^[0-9]+$ ]] || die "$v must be a whole number (got '${!v}')"
done
[ "$RUNS" -ge 1 ] || die "RUNS must be at least 1"
[ "$CORPUS_MB" -ge 8 ] || die "CORPUS_MB must be at least 8"

BENCH_DIR=$(abspath "${BENCH_DIR:-$SCRIPT_DIR/work}") || die "cannot create the work dir"
case "$BENCH_DIR" in / | /usr | /usr/* | /etc | /etc/* | "$HOME") die "BENCH_DIR=$BENCH_DIR is not a sensible work dir" ;; esac
export BENCH_DIR
export TMPDIR="$BENCH_DIR/tmp"
# coffer reads COFFER_* overrides (data dir, database, storage) and restic RESTIC_* ones
# (repository, password, cache); none may point them elsewhere.
while IFS= read -r v; do unset "$v"; done < <(compgen -e | grep -E '^(COFFER|RESTIC)_')
CORPUS="$BENCH_DIR/corpus"
ARCH="$BENCH_DIR/archives"
RESTORE_DIR="$BENCH_DIR/restore"
RESTORE_TARGET="$RESTORE_DIR/target"
RESTORE_IMG="$BENCH_DIR/restore.img"
CSTATE="$BENCH_DIR/coffer"
RSTATE="$BENCH_DIR/restic"
# A quiet and a contended run share the corpus but keep their own samples, logs and results,
# so that the second can put its ratios beside the first's.
if [ "$CONTENDED" -eq 1 ]; then
    MODE=contended OTHER_MODE=quiet SUFFIX=-contended
    # one CPU-bound worker; --timeout so that it ends even if this script is killed with -9
    COMPETITOR="stress-ng --cpu 1 --quiet --timeout $((${CMD_TIMEOUT:-3600} + 60))s"
else
    MODE=quiet OTHER_MODE=contended SUFFIX="" COMPETITOR=""
fi
export COMPETITOR
SAMPLES="$BENCH_DIR/samples$SUFFIX.tsv"
LOG_DIR="$BENCH_DIR/logs$SUFFIX"
RESULTS="$BENCH_DIR/results$SUFFIX"
OTHER_RESULTS="$BENCH_DIR/results$([ "$CONTENDED" -eq 1 ] || echo -contended).json"
mkdir -p "$TMPDIR" "$LOG_DIR" "$ARCH"

# ---------------------------------------------------------------------------------------
# Tools
# ---------------------------------------------------------------------------------------
check_tools() {
    local missing=() pkgs=() t
    declare -A pkg_of=([pigz]=pigz [/usr/bin/time]=time [jq]=jq [openssl]=openssl [tar]=tar [restic]=restic
        [gzip]=gzip [sha256sum]=coreutils [awk]=gawk [find]=findutils [xargs]=findutils [dd]=coreutils [diff]=diffutils
        [setsid]=util-linux [mountpoint]=util-linux)
    [ "$CONTENDED" -eq 1 ] && pkg_of[stress-ng]=stress-ng
    for t in "${!pkg_of[@]}"; do
        if ! command -v "$t" >/dev/null 2>&1; then
            missing+=("$t")
            pkgs+=("${pkg_of[$t]}")
        fi
    done
    [ "${#missing[@]}" -eq 0 ] && return 0
    if [ "$INSTALL" -eq 1 ]; then
        log "installing: ${pkgs[*]}"
        apt-get install -y "${pkgs[@]}" >/dev/null 2>&1 ||
            { apt-get update -qq && apt-get install -y "${pkgs[@]}"; } || die "apt-get install ${pkgs[*]} failed"
        return 0
    fi
    die "missing tools: ${missing[*]} (Debian packages: ${pkgs[*]}). Install them with 'apt-get install -y ${pkgs[*]}' or rerun with --install."
}

check_coffer() {
    [ "$PEERS_ONLY" -eq 1 ] && return 0
    [ -x "$COFFER" ] || die "coffer binary not found at $COFFER (build it with 'cargo build --release', set COFFER=..., or use --peers-only)"
}

# ---------------------------------------------------------------------------------------
# Corpus
# ---------------------------------------------------------------------------------------
corpus_fingerprint() {
    (cd "$CORPUS" && find . -type f -print0 | sort -z | xargs -0 -r sha256sum | sha256sum | cut -d' ' -f1)
}

# ensure_corpus SIZE_MB: reuse the corpus when it was built for this size and is byte-identical
# to what was built (an interrupted run may have left it modified), else build it again.
ensure_corpus() {
    local mb=$1 stamp="$BENCH_DIR/corpus.stamp" fp
    if [ "$REBUILD" -eq 0 ] && [ -f "$stamp" ] && [ -d "$CORPUS" ] && grep -qx "size_mb=$mb" "$stamp"; then
        log "checking the existing $mb MiB corpus"
        fp=$(corpus_fingerprint)
        if grep -qx "fingerprint=$fp" "$stamp"; then
            log "corpus intact (fingerprint ${fp:0:16}), reusing it"
            return 0
        fi
        log "corpus differs from the one built, rebuilding"
    fi
    safe_rm "$CORPUS" "$stamp"
    log "building a $mb MiB corpus from files on this machine"
    "$SCRIPT_DIR/corpus.sh" "$CORPUS" "$mb" || die "corpus build failed"
    fp=$(corpus_fingerprint)
    printf 'size_mb=%s\nfingerprint=%s\n' "$mb" "$fp" >"$stamp"
}

# Composition table from corpus.files: category / pool, files, MiB, share of bytes.
print_composition() {
    awk -F'\t' '
        { split($2, p, "/"); cat = p[1]; pool = (p[2] ~ /^copy-/) ? p[3] : p[2]
          cs[cat] += $1; cn[cat]++; ps[cat "/" pool] += $1; pn[cat "/" pool]++; tot += $1; n++
          if (p[2] ~ /^copy-/) { rs += $1; rn++ } }
        END {
            printf "Corpus: %d files, %.1f MiB (repeated copies: %d files, %.1f MiB)\n", n, tot / 1048576, rn, rs / 1048576
            printf "  %-28s %8s %10s %7s\n", "category/pool", "files", "MiB", "bytes%"
            for (c in cs) {
                printf "  %-28s %8d %10.1f %6.1f%%\n", c, cn[c], cs[c] / 1048576, 100 * cs[c] / tot
                for (k in ps) if (index(k, c "/") == 1)
                    printf "    %-26s %8d %10.1f %6.1f%%\n", substr(k, length(c) + 2), pn[k], ps[k] / 1048576, 100 * ps[k] / tot
            }
        }' "$CORPUS.files"
}

composition_json() {
    awk -F'\t' '{ split($2, p, "/"); s[p[1]] += $1; n[p[1]]++ } END { for (c in s) printf "%s\t%d\t%d\n", c, n[c], s[c] }' "$CORPUS.files" |
        jq -R -s 'split("\n") | map(select(length > 0) | split("\t") | {key: .[0], value: {files: (.[1] | tonumber), bytes: (.[2] | tonumber)}}) | from_entries'
}

# ---------------------------------------------------------------------------------------
# The 1% change used by the incremental backup
# ---------------------------------------------------------------------------------------
CHANGED="$BENCH_DIR/changed.list"
ORIG="$BENCH_DIR/orig"
DIRTY="$BENCH_DIR/corpus.dirty"

# Every 100th file in path order (at least one), and a copy of it to put back afterwards.
prepare_change_set() {
    awk -F'\t' 'NR % 100 == 50 {print $2} END {if (NR < 50) print last} {last = $2}' "$CORPUS.files" >"$CHANGED"
    fresh_dir "$ORIG"
    (cd "$CORPUS" && tr '\n' '\0' <"$CHANGED" | xargs -0 -r cp -p --parents -t "$ORIG") || die "cannot save the files to change"
    CHANGED_FILES=$(wc -l <"$CHANGED")
    CHANGED_BYTES=$( (cd "$CORPUS" && tr '\n' '\0' <"$CHANGED" | xargs -0 -r stat -c %s) | awk '{s += $1} END {print s + 0}')
    log "incremental change set: $CHANGED_FILES files ($(mib "$CHANGED_BYTES") MiB) get 24 bytes rewritten in the middle and a new mtime"
}

# Overwrite 24 bytes in the middle of each file (size unchanged) and set mtime to now.
apply_change() {
    local f size
    : >"$DIRTY"
    while IFS= read -r f; do
        f="$CORPUS/$f"
        size=$(stat -c %s -- "$f")
        if [ "$size" -ge 48 ]; then
            printf 'coffer-bench change %04d' $((size % 10000)) | dd of="$f" bs=1 seek=$((size / 2)) conv=notrunc status=none
        else
            printf 'coffer-bench change\n' >>"$f"
        fi
        touch -- "$f"
    done <"$CHANGED"
}

revert_change() {
    (cd "$ORIG" && find . -type f -print0 | xargs -0 -r cp -p --parents -t "$CORPUS") || die "cannot put the changed files back"
    rm -f -- "$DIRTY"
}

# ---------------------------------------------------------------------------------------
# Coffer state: one fresh data dir + store per full backup, the same keys every time
# ---------------------------------------------------------------------------------------
# new_coffer_state DIR: data/, backups/, coffer.toml; copies the saved keys in when there are some.
new_coffer_state() {
    local dir=$1
    fresh_dir "$dir"
    mkdir -p "$dir/data" "$dir/backups"
    [ -d "$CSTATE/keys" ] && cp -a "$CSTATE/keys" "$dir/data/keys"
    cat >"$dir/coffer.toml" <<EOF
data_dir = "$dir/data"

[storage]
path = "$dir/backups"

[archive]
compression_level = $LEVEL
threads = 0
encryption = true

[[sources]]
name = "corpus"
service = "bench"
kind = "directory"
path = "$CORPUS"
EOF
}

save_coffer_keys() {
    local dir=$1
    [ -d "$CSTATE/keys" ] && return 0
    [ -d "$dir/data/keys" ] || { log "note: no keys dir at $dir/data/keys after the first backup"; return 0; }
    cp -a "$dir/data/keys" "$CSTATE/keys"
}

# json_field FILE FILTER: a field of coffer's --json output (the last JSON object printed).
json_field() {
    local v
    v=$(jq -r "$2 // empty" "$1" 2>/dev/null | tail -n 1)
    [ -n "$v" ] || v=$(grep '^{' "$1" | tail -n 1 | jq -r "$2 // empty" 2>/dev/null)
    printf '%s' "$v"
}

# Stored size of a backup: the object in the store, else the size coffer reports.
archive_size() {
    local dir=$1 json=$2 key size
    key=$(json_field "$json" .storage_key)
    if [ -n "$key" ] && [ -f "$dir/backups/$key" ]; then
        file_size "$dir/backups/$key"
    else
        size=$(json_field "$json" .size)
        printf '%s' "${size:-null}"
    fi
}

NOTES=()
note_odd() { NOTES+=("$*"); log "NOTE: $*"; }

# compare_trees A B LABEL: untimed check that a restore gave back the corpus exactly.
compare_trees() {
    local a=$1 b=$2 label=$3 out
    if out=$(diff -rq --no-dereference "$a" "$b" 2>&1); then
        log "  check: $label is identical to the corpus"
    else
        note_odd "$label differs from the corpus: $(printf '%s' "$out" | head -n 5 | tr '\n' ';') ($(printf '%s\n' "$out" | wc -l) differences)"
    fi
}

disk_peak=0
track_disk() {
    local used
    # allocated bytes (a sparse image counts what it holds); -x: not the mounted image twice
    used=$(du -sx -B1 "$BENCH_DIR" 2>/dev/null | cut -f1)
    [ "${used:-0}" -gt "$disk_peak" ] && disk_peak=$used
}

# ---------------------------------------------------------------------------------------
# Restore targets. On ext4, creating ~30k files right after deleting ~30k others gets several
# times slower (the inode allocator steps over recently deleted inodes), so repeated restores
# into one directory drift from 9 s to 35 s of mostly kernel time. With RESTORE_FS=loop (the
# default when we are root and loop devices work) every restore gets a freshly made ext4,
# from an image file inside the work dir, so each run starts from the same state.
# RESTORE_FS=tmpfs mounts a fresh tmpfs instead: no disk and no journal, so what is left is
# the tools' own cost (decompression, decryption, syscalls) rather than the file system's.
# ---------------------------------------------------------------------------------------
RESTORE_FS=${RESTORE_FS:-auto}
choose_restore_fs() {
    case "$RESTORE_FS" in
        dir) ;;
        tmpfs)
            [ "$(id -u)" -eq 0 ] || die "RESTORE_FS=tmpfs needs root (it mounts a tmpfs under $RESTORE_DIR)"
            make_restore_tmpfs 64 || die "cannot mount a tmpfs at $RESTORE_DIR"
            unmount_restore_fs
            ;;
        loop | auto)
            if [ "$(id -u)" -eq 0 ] && command -v mkfs.ext4 >/dev/null && make_restore_fs 64; then
                unmount_restore_fs
                RESTORE_FS=loop
            elif [ "$RESTORE_FS" = loop ]; then
                die "RESTORE_FS=loop needs root, mkfs.ext4 and a free loop device"
            else
                RESTORE_FS=dir
                note_odd "restore targets are plain directories (no loop mount possible): on ext4 repeated restores drift slower; compare tools within the same run only"
            fi
            ;;
        *) die "RESTORE_FS must be auto, loop, tmpfs or dir" ;;
    esac
    log "restore targets: $RESTORE_FS"
}

# make_restore_fs SIZE_MB: a fresh ext4 image mounted at RESTORE_DIR.
make_restore_fs() {
    unmount_restore_fs
    safe_rm "$RESTORE_IMG"
    fresh_dir "$RESTORE_DIR"
    truncate -s "${1}M" "$RESTORE_IMG" &&
        mkfs.ext4 -q -F -i 8192 -E lazy_itable_init=0,lazy_journal_init=0 "$RESTORE_IMG" >/dev/null 2>&1 &&
        mount -o loop "$RESTORE_IMG" "$RESTORE_DIR" 2>/dev/null
}

# make_restore_tmpfs SIZE_MB: a fresh tmpfs mounted at RESTORE_DIR.
make_restore_tmpfs() {
    unmount_restore_fs
    fresh_dir "$RESTORE_DIR"
    mount -t tmpfs -o "size=${1}m,mode=0755" coffer-bench-restore "$RESTORE_DIR"
}

unmount_restore_fs() {
    if mountpoint -q "$RESTORE_DIR" 2>/dev/null; then
        umount "$RESTORE_DIR" || umount -l "$RESTORE_DIR"
    fi
    return 0
}

fresh_restore_target() {
    local mb
    mb=$(awk -F'\t' '{s += $1} END {printf "%d", s * 1.3 / 1048576 + 512}' "$CORPUS.files")
    if [ "$RESTORE_FS" = loop ]; then
        make_restore_fs "$mb" || die "cannot make the restore filesystem"
        mkdir -p "$RESTORE_TARGET"
    elif [ "$RESTORE_FS" = tmpfs ]; then
        make_restore_tmpfs "$mb" || die "cannot mount the restore tmpfs"
        mkdir -p "$RESTORE_TARGET"
    else
        fresh_dir "$RESTORE_TARGET"
    fi
    sync
}

drop_restore_target() {
    unmount_restore_fs
    safe_rm "$RESTORE_DIR" "$RESTORE_IMG"
}

# ---------------------------------------------------------------------------------------
# Phases (rep 0 is the untimed-in-results warm-up)
# ---------------------------------------------------------------------------------------
PIGZ_SIZE=null
peer_backup_rep() {
    local rep=$1
    run_timed full pigz "$rep" "tar -C '$BENCH_DIR' -cf - corpus | pigz -$LEVEL -p $NPROC > '$ARCH/out.tgz'" ||
        die "tar | pigz failed"
    PIGZ_SIZE=$(file_size "$ARCH/out.tgz")
    run_timed full naive "$rep" "tar -C '$BENCH_DIR' -czf - corpus | openssl enc -aes-256-cbc -pbkdf2 -pass pass:x | sha256sum" ||
        die "the naive pipeline failed"
}

COFFER_SIZE=null COFFER_STORED=null INCR_SIZE=null FULL_ID="" INCR_ID="" RUN_DIR=""
# coffer_backup_rep GROUP_FULL GROUP_INCR REP FIRST: a full backup in a fresh data dir and store,
# then the 1% change, the incremental, and the change undone. The state of the last rep is kept
# (in RUN_DIR) for restore and verify. FIRST=1 adds the untimed checks.
coffer_backup_rep() {
    local group_full=$1 group_incr=$2 rep=$3 first=$4 dir="$CSTATE/run"
    new_coffer_state "$dir"
    RUN_DIR=$dir
    if ! run_timed "$group_full" coffer "$rep" "'$COFFER' --config '$dir/coffer.toml' backup --kind full --json > '$dir/full.json'"; then
        note_odd "coffer backup --kind full failed (run $rep): $(tail -n 3 "$LOG_DIR/$group_full-coffer-$rep.err" | tr '\n' ' ')"
        return 1
    fi
    save_coffer_keys "$dir"
    FULL_ID=$(json_field "$dir/full.json" .id)
    [ -n "$FULL_ID" ] || { note_odd "coffer backup --json printed no id: $(head -c 300 "$dir/full.json")"; return 1; }
    COFFER_SIZE=$(archive_size "$dir" "$dir/full.json")
    # everything the full backup put in the store (the archive and the manifest copy beside it)
    COFFER_STORED=$(find "$dir/backups" -type f -printf '%s\n' | awk '{s += $1} END {print s + 0}')
    [ "$first" -eq 1 ] && check_backup_json "$dir/full.json" full

    apply_change
    if run_timed "$group_incr" coffer "$rep" "'$COFFER' --config '$dir/coffer.toml' backup --kind incremental --json > '$dir/incr.json'"; then
        INCR_ID=$(json_field "$dir/incr.json" .id)
        INCR_SIZE=$(archive_size "$dir" "$dir/incr.json")
        if [ "$first" -eq 1 ]; then
            check_backup_json "$dir/incr.json" incremental
            [ "$CHECK" -eq 1 ] && check_incremental_restore "$dir"
        fi
    else
        note_odd "coffer backup --kind incremental failed (run $rep): $(tail -n 3 "$LOG_DIR/$group_incr-coffer-$rep.err" | tr '\n' ' ')"
    fi
    revert_change
    return 0
}

# All full backups, interleaved (pigz, naive, coffer in each rep) so that drift in the
# machine's state hits every tool alike. Rep 0 is the warm-up.
phase_backups() {
    local rep what=""
    [ "$COFFER_OK" -eq 1 ] && what=", coffer backup (+ incremental after the 1% change)"
    log "full backups: tar | pigz -$LEVEL -p $NPROC, tar -czf | openssl enc | sha256sum$what, restic backup (+ second snapshot)"
    for rep in $(seq 0 "$RUNS"); do
        peer_backup_rep "$rep"
        if [ "$COFFER_OK" -eq 1 ]; then
            coffer_backup_rep full incr "$rep" $((rep == 0 ? 1 : 0)) || COFFER_OK=0
        fi
        if [ "$RESTIC_OK" -eq 1 ]; then
            restic_backup_rep full incr "$rep" $((rep == 0 ? 1 : 0)) || RESTIC_OK=0
        fi
        track_disk
    done
    log "  tar | pigz archive: $(mib "$PIGZ_SIZE") MiB"
    [ "$COFFER_OK" -eq 1 ] && log "  coffer full archive: $(mib "$COFFER_SIZE") MiB, incremental: $(mib "$INCR_SIZE") MiB"
    [ "$RESTIC_OK" -eq 1 ] && log "  restic repository after the full: $(mib "$RESTIC_SIZE") MiB, second snapshot added: $(mib "$RESTIC_INCR_SIZE") MiB"
    return 0
}

peer_restore_rep() {
    local rep=$1
    fresh_restore_target
    run_timed restore tar "$rep" "tar -xzf '$ARCH/out.tgz' -C '$RESTORE_TARGET'" || die "tar -xzf failed"
    if [ "$rep" -eq 0 ]; then
        track_disk
        [ "$CHECK" -eq 1 ] && compare_trees "$CORPUS" "$RESTORE_TARGET/corpus" "tar -xzf output"
    fi
    drop_restore_target
}

coffer_restore_rep() {
    local group=$1 rep=$2 first=$3
    fresh_restore_target
    if ! run_timed "$group" coffer "$rep" "'$COFFER' --config '$RUN_DIR/coffer.toml' restore '$FULL_ID' --target '$RESTORE_TARGET' --yes > /dev/null"; then
        note_odd "coffer restore failed (run $rep): $(tail -n 3 "$LOG_DIR/$group-coffer-$rep.err" | tr '\n' ' ')"
        drop_restore_target
        return 1
    fi
    if [ "$first" -eq 1 ]; then
        track_disk
        [ "$CHECK" -eq 1 ] && compare_trees "$CORPUS" "$RESTORE_TARGET/corpus" "coffer restore output"
    fi
    drop_restore_target
}

# Restores rotate which tool goes first: on ext4, creating files gets slower as recently
# deleted inodes pile up, and rotating spreads that drift evenly over the tools.
phase_restores() {
    local rep i n tools=(tar) what="" first coffer_ok=$COFFER_OK restic_ok=$RESTIC_OK
    [ "$coffer_ok" -eq 1 ] && tools+=(coffer) && what+=", coffer restore $FULL_ID"
    [ "$restic_ok" -eq 1 ] && tools+=(restic) && what+=", restic restore $RESTIC_FULL_ID"
    log "restore: tar -xzf out.tgz$what, a fresh target each run"
    n=${#tools[@]}
    for rep in $(seq 0 "$RUNS"); do
        first=$((rep == 0 ? 1 : 0))
        for i in $(seq 0 $((n - 1))); do
            case "${tools[$(((i + rep) % n))]}" in
                tar) peer_restore_rep "$rep" ;;
                coffer) [ "$coffer_ok" -eq 1 ] && { coffer_restore_rep restore "$rep" "$first" || coffer_ok=0; } ;;
                restic) [ "$restic_ok" -eq 1 ] && { restic_restore_rep restore "$rep" "$first" || restic_ok=0; } ;;
            esac
        done
    done
    [ "$KEEP" -eq 1 ] || safe_rm "$ARCH/out.tgz"
}

# ---------------------------------------------------------------------------------------
# restic, the peer that does what coffer does (deduplicating, encrypted snapshots): a fresh
# repository per full backup like coffer's fresh store, the password from a file (never argv),
# its cache inside the run dir. restic's defaults are kept: since 0.14 `init` makes a
# repository v2 and `--compression` defaults to auto (zstd, fast level); restic_info says
# which one this restic made.
# ---------------------------------------------------------------------------------------
RESTIC_OK=1 RESTIC_SIZE=null RESTIC_INCR_SIZE=null RESTIC_FULL_ID="" RESTIC_REPO="" RESTIC_INFO=""
restic_setup() {
    mkdir -p "$RSTATE"
    if [ ! -s "$RSTATE/password" ]; then
        (umask 077 && head -c 24 /dev/urandom | base64 >"$RSTATE/password") || die "cannot write $RSTATE/password"
    fi
    export RESTIC_PASSWORD_FILE="$RSTATE/password" RESTIC_CACHE_DIR="$RSTATE/run/cache"
}

dir_bytes() { find "$1" -type f -printf '%s\n' | awk '{s += $1} END {print s + 0}'; }

# restic's summary line of a `backup --json` run: FIELD of it, or empty.
restic_summary() {
    jq -r "select(.message_type == \"summary\") | .$2 // empty" "$1" 2>/dev/null | tail -n 1
}

# What restic made: version, repository format and compression (for the report header).
restic_info() {
    local ver rv
    ver=$(restic version 2>/dev/null | awk '{print $1 " " $2; exit}')
    rv=$(restic -r "$RESTIC_REPO" cat config 2>/dev/null | jq -r '.version // empty')
    case "$rv" in
        1) RESTIC_INFO="$ver, repository v1 (no compression)" ;;
        "") RESTIC_INFO="$ver, repository version unknown" ;;
        *) RESTIC_INFO="$ver, repository v$rv, compression auto (its default)" ;;
    esac
    log "  restic: $RESTIC_INFO"
}

# restic_backup_rep GROUP_FULL GROUP_INCR REP FIRST: init (untimed, like coffer's saved keys)
# and a first snapshot into a fresh repository, then the same 1% change coffer's incremental
# sees, a second snapshot (restic finds the first as its parent), and the change undone.
restic_backup_rep() {
    local group_full=$1 group_incr=$2 rep=$3 first=$4 dir="$RSTATE/run" changed new
    fresh_dir "$dir"
    RESTIC_REPO="$dir/repo"
    if ! restic -r "$RESTIC_REPO" init >"$LOG_DIR/restic-init-$rep.out" 2>&1; then
        note_odd "restic init failed: $(tail -n 3 "$LOG_DIR/restic-init-$rep.out" | tr '\n' ' ')"
        return 1
    fi
    # a relative path, so that the snapshot (and a restore of it) holds corpus/ like the tar
    if ! run_timed "$group_full" restic "$rep" "cd '$BENCH_DIR' && restic -r '$RESTIC_REPO' backup --json corpus > '$dir/full.json'"; then
        note_odd "restic backup failed (run $rep): $(tail -n 3 "$LOG_DIR/$group_full-restic-$rep.err" | tr '\n' ' ')"
        return 1
    fi
    RESTIC_FULL_ID=$(restic_summary "$dir/full.json" snapshot_id)
    [ -n "$RESTIC_FULL_ID" ] || { note_odd "restic backup --json printed no snapshot id"; return 1; }
    RESTIC_SIZE=$(dir_bytes "$RESTIC_REPO")
    [ "$first" -eq 1 ] && restic_info

    apply_change
    if run_timed "$group_incr" restic "$rep" "cd '$BENCH_DIR' && restic -r '$RESTIC_REPO' backup --json corpus > '$dir/incr.json'"; then
        RESTIC_INCR_SIZE=$(($(dir_bytes "$RESTIC_REPO") - RESTIC_SIZE))
        if [ "$first" -eq 1 ]; then
            changed=$(restic_summary "$dir/incr.json" files_changed)
            new=$(restic_summary "$dir/incr.json" files_new)
            log "  restic second snapshot: files_changed=$changed files_new=$new (changed: $CHANGED_FILES)"
            if [ "${changed:-0}" != "$CHANGED_FILES" ] || [ "${new:-0}" != 0 ]; then
                note_odd "restic's second snapshot saw $changed changed and $new new files, $CHANGED_FILES were changed"
            fi
        fi
    else
        note_odd "restic second snapshot failed (run $rep): $(tail -n 3 "$LOG_DIR/$group_incr-restic-$rep.err" | tr '\n' ' ')"
    fi
    revert_change
    return 0
}

# Restores the first (full) snapshot by id, the one coffer restores too: the second holds the
# changed corpus, which is what the corpus no longer is once the change is undone.
restic_restore_rep() {
    local group=$1 rep=$2 first=$3
    fresh_restore_target
    if ! run_timed "$group" restic "$rep" "restic -r '$RESTIC_REPO' restore '$RESTIC_FULL_ID' --target '$RESTORE_TARGET' > /dev/null"; then
        note_odd "restic restore failed (run $rep): $(tail -n 3 "$LOG_DIR/$group-restic-$rep.err" | tr '\n' ' ')"
        drop_restore_target
        return 1
    fi
    if [ "$first" -eq 1 ]; then
        track_disk
        [ "$CHECK" -eq 1 ] && compare_trees "$CORPUS" "$RESTORE_TARGET/corpus" "restic restore output"
    fi
    drop_restore_target
}

# restic check --read-data reads and decrypts every pack of the repository (both snapshots).
restic_verify_rep() {
    local group=$1 rep=$2
    run_timed "$group" restic "$rep" "restic -r '$RESTIC_REPO' check --read-data > '$LOG_DIR/$group-restic-check-$rep.out'" && return 0
    note_odd "restic check --read-data failed (run $rep): $(tail -n 3 "$LOG_DIR/$group-restic-$rep.err" | tr '\n' ' ')"
    return 1
}

cleanup_restic_state() {
    [ "$KEEP" -eq 1 ] || safe_rm "$RSTATE/run"
}

# Sanity of what coffer reports about a backup it just made.
check_backup_json() {
    local json=$1 kind=$2 status files rkind
    status=$(json_field "$json" .status)
    rkind=$(json_field "$json" .kind)
    files=$(json_field "$json" .files)
    [ "$status" = success ] || note_odd "$kind backup reported status '$status' (expected success)"
    [ "$rkind" = "$kind" ] || note_odd "$kind backup reported kind '$rkind'"
    if [ "$kind" = full ] && [ -n "$files" ] && [ "$files" != "$(wc -l <"$CORPUS.files")" ]; then
        note_odd "full backup reported $files files, the corpus has $(wc -l <"$CORPUS.files")"
    fi
    if [ "$kind" = incremental ] && [ -n "$files" ]; then
        log "  incremental backup reported files=$files (changed: $CHANGED_FILES)"
    fi
}

# Restoring the incremental must give the changed corpus back (needs its parent full).
check_incremental_restore() {
    local dir=$1
    fresh_restore_target
    if "$COFFER" --config "$dir/coffer.toml" restore "$INCR_ID" --target "$RESTORE_TARGET" --yes \
        >"$LOG_DIR/check-incr-restore.out" 2>&1; then
        compare_trees "$CORPUS" "$RESTORE_TARGET/corpus" "restore of the incremental backup"
    else
        note_odd "restore of the incremental backup failed: $(tail -n 3 "$LOG_DIR/check-incr-restore.out" | tr '\n' ' ')"
    fi
    drop_restore_target
}

coffer_verify_rep() {
    local group=$1 rep=$2 cfg="$RUN_DIR/coffer.toml"
    run_timed "$group" coffer "$rep" "'$COFFER' --config '$cfg' verify '$FULL_ID' --deep --json > '$LOG_DIR/$group-verify-$rep.json'" && return 0
    note_odd "coffer verify --deep failed (run $rep): $(tail -n 3 "$LOG_DIR/$group-coffer-$rep.err" | tr '\n' ' ')"
    return 1
}

phase_coffer_verify() {
    local group=$1 first=$2 last=$3 rep
    log "coffer verify $FULL_ID --deep"
    for rep in $(seq "$first" "$last"); do
        coffer_verify_rep "$group" "$rep" || break
    done
}

# coffer verify --deep and restic check --read-data, interleaved like the backups.
phase_verify() {
    local rep coffer_ok=$COFFER_OK restic_ok=$RESTIC_OK what=()
    [ "$coffer_ok" -eq 1 ] && what+=("coffer verify $FULL_ID --deep")
    [ "$restic_ok" -eq 1 ] && what+=("restic check --read-data")
    [ "${#what[@]}" -gt 0 ] || return 0
    log "verify: $(printf '%s, ' "${what[@]}" | sed 's/, $//')"
    for rep in $(seq 0 "$RUNS"); do
        [ "$coffer_ok" -eq 1 ] && { coffer_verify_rep verify "$rep" || coffer_ok=0; }
        [ "$restic_ok" -eq 1 ] && { restic_verify_rep verify "$rep" || restic_ok=0; }
    done
    return 0
}

# Untimed: the export must be a plain .tar.gz that gzip -t and tar -tzf accept, with every file.
check_export() {
    local cfg="$RUN_DIR/coffer.toml" out="$ARCH/export.tar.gz" n
    if ! "$COFFER" --config "$cfg" export "$FULL_ID" -o "$out" >"$LOG_DIR/check-export.out" 2>&1; then
        note_odd "coffer export failed: $(tail -n 3 "$LOG_DIR/check-export.out" | tr '\n' ' ')"
        return
    fi
    gzip -t "$out" 2>/dev/null || note_odd "gzip -t rejects the exported archive"
    # regular files only (directory entries may be listed without a trailing slash)
    n=$(tar -tvzf "$out" 2>/dev/null | awk '$1 ~ /^-/ && $6 ~ /^corpus\//' | wc -l)
    [ "$n" = "$(wc -l <"$CORPUS.files")" ] || note_odd "exported archive lists $n files under corpus/, the corpus has $(wc -l <"$CORPUS.files")"
    log "  check: export is a valid .tar.gz with $n corpus files ($(mib "$(file_size "$out")") MiB)"
    safe_rm "$out"
}

cleanup_coffer_state() {
    [ "$KEEP" -eq 1 ] || safe_rm "$CSTATE/run"
}

# ---------------------------------------------------------------------------------------
# Report
# ---------------------------------------------------------------------------------------
fmt_s() { [ "$1" = null ] && printf -- '-' || printf '%.2f s' "$1"; }
fmt_mib() { [ "$1" = null ] && printf -- '-' || printf '%s MiB' "$(mib "$1")"; }
fmt_x() { [ "$1" = null ] && printf -- '-' || printf '%.3f' "$1"; }
kib_to_bytes() { [ -z "$1" ] || [ "$1" = null ] && printf null || printf '%d' $(($1 * 1024)); }

# Peak RSS (bytes) of a set of groups for coffer, or null.
peak_rss() {
    local g v best=null
    for g in "$@"; do
        v=$(sample_peak_rss "$g" coffer)
        [ -n "$v" ] || continue
        if [ "$best" = null ] || [ "$v" -gt "$best" ]; then best=$v; fi
    done
    kib_to_bytes "$best"
}

# Median wall seconds of every GROUP/TOOL measured in this run, as a JSON object.
medians_json() {
    local k
    awk -F'\t' '$3 > 0 && $8 == 0 && !seen[$1 "/" $2]++ {print $1 "/" $2}' "$SAMPLES" | while IFS= read -r k; do
        printf '%s\t%s\n' "$k" "$(sample_median "${k%%/*}" "${k#*/}")"
    done | jq -R -s 'split("\n") | map(select(length > 0) | split("\t") | {key: .[0], value: (.[1] | tonumber)}) | from_entries'
}

# The other mode's results (quiet beside contended), when they are of the same corpus, coffer
# binary and level: sets OTHER_OK and fills OTHER_RATIO[key].
declare -A OTHER_RATIO=()
OTHER_OK=0
load_other_results() {
    local k v
    [ -f "$OTHER_RESULTS" ] || return 0
    if ! jq -e --arg fp "$CORPUS_MAIN_FP" --arg sha "$COFFER_SHA" --argjson level "$LEVEL" \
        '.corpus.fingerprint == $fp and .coffer_binary_sha256_16 == $sha and .settings.level == $level and (.ratios | type) == "object"' \
        "$OTHER_RESULTS" >/dev/null 2>&1; then
        NOTES+=("$(basename "$OTHER_RESULTS") is of another corpus, coffer binary or level (or older): not put beside these figures")
        return 0
    fi
    OTHER_OK=1
    while IFS=$'\t' read -r k v; do OTHER_RATIO[$k]=$v; done < <(jq -r '.ratios | to_entries[] | "\(.key)\t\(.value)"' "$OTHER_RESULTS")
}

# Quiet and contended medians of every command both runs timed, and the slow-down.
print_slowdown() {
    local mine=$1 q c
    [ "$OTHER_OK" -eq 1 ] || return 0
    if [ "$MODE" = quiet ]; then q=$mine c=$(jq -c '.medians_s' "$OTHER_RESULTS"); else q=$(jq -c '.medians_s' "$OTHER_RESULTS") c=$mine; fi
    echo
    echo "Median wall per command (s), quiet vs contended run (slow-down = contended / quiet):"
    jq -n -r --argjson q "$q" --argjson c "$c" '
        ($q | keys_unsorted) as $ks
        | ["command", "quiet", "contended", "slow-down"], ($ks[] | select($c[.] != null) | [., $q[.], $c[.], ($c[.] / $q[.] * 1000 | round / 1000)])
        | map(tostring) | @tsv' | awk -F'\t' '
            NR == 1 { printf "  %-16s %10s %10s %10s\n", $1, $2, $3, $4; next }
            { printf "  %-16s %10.2f %10.2f %10.2f\n", $1, $2, $3, $4 }'
}

report() {
    local m_full m_pigz m_naive m_incr m_rt m_rc m_ver m_sfull m_sincr m_srest m_sver
    m_full=$(sample_median full coffer); m_pigz=$(sample_median full pigz); m_naive=$(sample_median full naive)
    m_incr=$(sample_median incr coffer); m_rt=$(sample_median restore tar); m_rc=$(sample_median restore coffer)
    m_ver=$(sample_median verify coffer)
    m_sfull=$(sample_median full restic); m_sincr=$(sample_median incr restic)
    m_srest=$(sample_median restore restic); m_sver=$(sample_median verify restic)
    local r_full r_size r_naive r_incr r_rest r_ver r_stored r_sfull r_sstored r_sincr r_srest r_sver
    r_full=$(ratio "$m_full" "$m_pigz"); r_size=$(ratio "$COFFER_SIZE" "$PIGZ_SIZE"); r_naive=$(ratio "$m_full" "$m_naive")
    r_stored=$(ratio "$COFFER_STORED" "$PIGZ_SIZE")
    r_incr=$(ratio "$m_incr" "$m_full"); r_rest=$(ratio "$m_rc" "$m_rt"); r_ver=$(ratio "$m_ver" "$m_full")
    r_sfull=$(ratio "$m_full" "$m_sfull"); r_sstored=$(ratio "$COFFER_STORED" "$RESTIC_SIZE")
    r_sincr=$(ratio "$m_incr" "$m_sincr"); r_srest=$(ratio "$m_rc" "$m_srest"); r_sver=$(ratio "$m_ver" "$m_sver")
    local rss_b rss_r rss_v big_b big_r big_v limit=$((150 * 1048576))
    rss_b=$(peak_rss full incr); rss_r=$(peak_rss restore); rss_v=$(peak_rss verify)
    big_b=$(peak_rss big-full big-incr); big_r=$(peak_rss big-restore); big_v=$(peak_rss big-verify)
    local corpus_bytes corpus_files
    corpus_bytes=$(awk -F'\t' '{s += $1} END {print s + 0}' "$CORPUS_MAIN_FILES")
    corpus_files=$(wc -l <"$CORPUS_MAIN_FILES")
    load_other_results

    # key|name|coffer|peer|ratio|target|verdict; the key names the ratio in results.json
    # (.ratios) and matches it with the other mode's.
    local rows=() ratios_tsv=""
    row() {
        rows+=("$1|$2|$3|$4|$(fmt_x "$5")|$6|$7")
        ratios_tsv+="$1"$'\t'"$5"$'\n'
    }
    row full_vs_pigz "Full backup wall (median)" "$(fmt_s "$m_full")" "tar\\|pigz -$LEVEL: $(fmt_s "$m_pigz")" "$r_full" "≤ 0.70" "$(verdict "$r_full" 0.7)"
    row full_vs_naive "  vs naive tar -czf\\|openssl\\|sha256sum" "$(fmt_s "$m_full")" "$(fmt_s "$m_naive")" "$r_naive" - info
    row full_vs_restic "  vs restic backup (fresh repo)" "$(fmt_s "$m_full")" "restic: $(fmt_s "$m_sfull")" "$r_sfull" - info
    row size_vs_pigz "Archive size" "$(fmt_mib "$COFFER_SIZE")" "pigz: $(fmt_mib "$PIGZ_SIZE")" "$r_size" "≤ 1.05" "$(verdict "$r_size" 1.05)"
    row stored_vs_pigz "  stored in all (+ manifest copy)" "$(fmt_mib "$COFFER_STORED")" "pigz: $(fmt_mib "$PIGZ_SIZE")" "$r_stored" - info
    row stored_vs_restic "  stored in all vs restic repo" "$(fmt_mib "$COFFER_STORED")" "restic: $(fmt_mib "$RESTIC_SIZE")" "$r_sstored" - info
    row incr_vs_full "Incremental (1% changed) wall" "$(fmt_s "$m_incr")" "coffer full: $(fmt_s "$m_full")" "$r_incr" "≤ 0.10" "$(verdict "$r_incr" 0.10)"
    row incr_vs_restic "  vs restic second snapshot" "$(fmt_s "$m_incr")" "restic: $(fmt_s "$m_sincr")" "$r_sincr" - info
    row restore_vs_tar "Restore wall" "$(fmt_s "$m_rc")" "tar -xzf: $(fmt_s "$m_rt")" "$r_rest" "≤ 1.00" "$(verdict "$r_rest" 1.0)"
    row restore_vs_restic "  vs restic restore" "$(fmt_s "$m_rc")" "restic: $(fmt_s "$m_srest")" "$r_srest" - info
    row verify_vs_full "Deep verify wall" "$(fmt_s "$m_ver")" "coffer full: $(fmt_s "$m_full")" "$r_ver" "≤ 0.50" "$(verdict "$r_ver" 0.5)"
    row verify_vs_restic "  vs restic check --read-data" "$(fmt_s "$m_ver")" "restic: $(fmt_s "$m_sver")" "$r_sver" - info
    row rss_backup "Peak RSS backup ($CORPUS_MAIN_MB MiB)" "$(fmt_mib "$rss_b")" - null "< 150 MiB" "$(verdict "$rss_b" "$limit" lt)"
    row rss_restore "Peak RSS restore ($CORPUS_MAIN_MB MiB)" "$(fmt_mib "$rss_r")" - null "< 150 MiB" "$(verdict "$rss_r" "$limit" lt)"
    row rss_verify "Peak RSS deep verify ($CORPUS_MAIN_MB MiB)" "$(fmt_mib "$rss_v")" - null "< 150 MiB" "$(verdict "$rss_v" "$limit" lt)"
    if [ "$BIG" -eq 1 ]; then
        row rss_backup_big "Peak RSS backup ($BIG_MB MiB)" "$(fmt_mib "$big_b")" - null "< 150 MiB" "$(verdict "$big_b" "$limit" lt)"
        row rss_restore_big "Peak RSS restore ($BIG_MB MiB)" "$(fmt_mib "$big_r")" - null "< 150 MiB" "$(verdict "$big_r" "$limit" lt)"
        row rss_verify_big "Peak RSS deep verify ($BIG_MB MiB)" "$(fmt_mib "$big_v")" - null "< 150 MiB" "$(verdict "$big_v" "$limit" lt)"
    fi
    local ratios_json
    ratios_json=$(printf '%s' "$ratios_tsv" | jq -R -s 'split("\n") | map(select(length > 0) | split("\t")
        | select(.[1] != "null") | {key: .[0], value: (.[1] | tonumber)}) | from_entries')

    # The other mode's ratio of each row ('-' when it did not measure it), as a column.
    local lines=() r k other_col=""
    for r in "${rows[@]}"; do
        k=${r%%|*}
        if [ "$OTHER_OK" -eq 1 ]; then lines+=("${r#*|}|$(fmt_x "${OTHER_RATIO[$k]:-null}")"); else lines+=("${r#*|}|"); fi
    done
    [ "$OTHER_OK" -eq 1 ] && other_col=$OTHER_MODE

    local header header2 cpu busy_med busy_max
    cpu=$(awk -F': ' '/model name/ {print $2; exit}' /proc/cpuinfo)
    busy_med=$(awk -F'\t' '$3 > 0 {print $9}' "$SAMPLES" | median | awk '{printf "%.0f", $1}')
    busy_max=$(awk -F'\t' '$3 > 0 {print $9}' "$SAMPLES" | maximum)
    if [ -n "$busy_max" ] && [ "$busy_max" -ge "${QUIET_PCT:-20}" ]; then
        NOTES+=("other work kept the machine busy before some timed runs (CPU busy in the second before a run: median ${busy_med}%, max ${busy_max}%); figures are noisy, rerun on an idle machine or set QUIET_WAIT=300")
    fi
    header="Corpus $(mib "$corpus_bytes") MiB in $corpus_files files; median of $RUNS runs after 1 warm-up; $NPROC cores ($cpu); level $LEVEL, coffer encryption on"
    header2="Run: $MODE$([ "$CONTENDED" -eq 1 ] && printf ' (%s beside every timed command)' "${COMPETITOR%% --timeout*}"); restores into $RESTORE_FS; restic: ${RESTIC_INFO:-not measured}"
    [ "$OTHER_OK" -eq 1 ] && header2+="; column '$OTHER_MODE': the ratio in $(basename "$OTHER_RESULTS") ($(jq -r .generated "$OTHER_RESULTS"))"

    local medians
    medians=$(medians_json)
    {
        echo
        echo "$header"
        echo "$header2"
        printf '%s\n' "${lines[@]}" | sed 's/\\|/\x01/g; s/≤/<=/g' | awk -F'|' -v oc="$other_col" '
            function line(a, b, c, d, e, f, g) {
                if (oc == "") printf "%-40s %-14s %-28s %-7s %-10s %s\n", a, b, c, d, f, g
                else printf "%-40s %-14s %-28s %-7s %-9s %-10s %s\n", a, b, c, d, e, f, g }
            BEGIN { line("check", "coffer", "compared with", "ratio", oc, "target", "result")
                    printf "%s\n", "----------------------------------------------------------------------------------------------------------------------" }
            { for (i = 1; i <= NF; i++) gsub(/\x01/, "|", $i)
              line($1, $2, $3, $4, $7, $5, $6) }'
        print_slowdown "$medians"
        local n
        for n in "${NOTES[@]+"${NOTES[@]}"}"; do echo "NOTE: $n"; done
    } | tee "$RESULTS.txt"

    {
        echo "_${header}._"
        echo
        echo "_${header2}._"
        echo
        if [ -n "$other_col" ]; then
            echo "| Check | Coffer | Compared with | Ratio | Ratio $other_col | Target | Result |"
            echo "|---|---|---|---|---|---|---|"
        else
            echo "| Check | Coffer | Compared with | Ratio | Target | Result |"
            echo "|---|---|---|---|---|---|"
        fi
        printf '%s\n' "${lines[@]}" | sed 's/\\|/\x01/g; s/^  /↳ /' | awk -F'|' -v oc="$other_col" '
            { n = (oc == "") ? 6 : 7; line = "|"
              for (i = 1; i <= n; i++) { j = (oc == "" || i < 5) ? i : (i == 5 ? 7 : i - 1); line = line " " $j " |" }
              gsub(/\x01/, "\\|", line); print line }'
    } >"$RESULTS.md"

    local samples_json notes_json
    samples_json=$(jq -R -s 'split("\n") | map(select(length > 0) | split("\t")
        | {group: .[0], tool: .[1], run: (.[2] | tonumber), warmup: (.[2] == "0"), wall_s: (.[3] | tonumber),
           max_rss_kib: (.[4] | tonumber), user_s: (.[5] | tonumber), sys_s: (.[6] | tonumber), exit: (.[7] | tonumber),
           machine_busy_pct_before: (.[8] | tonumber)})' "$SAMPLES")
    notes_json=$(printf '%s\n' "${NOTES[@]+"${NOTES[@]}"}" | jq -R -s 'split("\n") | map(select(length > 0))')
    jq -n \
        --arg generated "$(date -u +%Y-%m-%dT%H:%M:%SZ)" --arg cpu "$cpu" --argjson nproc "$NPROC" \
        --argjson busy_med "${busy_med:-null}" --argjson busy_max "${busy_max:-null}" \
        --arg commit "$(git -C "$REPO_DIR" rev-parse --short HEAD 2>/dev/null || echo unknown)" \
        --arg mode "$MODE" --arg competitor "$COMPETITOR" --arg restore_fs "$RESTORE_FS" --arg restic "$RESTIC_INFO" \
        --arg coffer_version "$COFFER_VERSION" --arg coffer_sha "$COFFER_SHA" --argjson runs "$RUNS" --argjson level "$LEVEL" \
        --argjson corpus_mb "$CORPUS_MAIN_MB" --argjson corpus_bytes "$corpus_bytes" --argjson corpus_files "$corpus_files" \
        --arg fingerprint "$CORPUS_MAIN_FP" --argjson composition "$CORPUS_MAIN_COMP" \
        --argjson changed_files "${CHANGED_FILES:-null}" --argjson changed_bytes "${CHANGED_BYTES:-null}" \
        --argjson m_full "$m_full" --argjson m_pigz "$m_pigz" --argjson m_naive "$m_naive" --argjson m_incr "$m_incr" \
        --argjson m_rt "$m_rt" --argjson m_rc "$m_rc" --argjson m_ver "$m_ver" \
        --argjson m_sfull "$m_sfull" --argjson m_sincr "$m_sincr" --argjson m_srest "$m_srest" --argjson m_sver "$m_sver" \
        --argjson s_coffer "$COFFER_SIZE" --argjson s_stored "$COFFER_STORED" --argjson r_stored "$r_stored" --argjson s_pigz "$PIGZ_SIZE" --argjson s_incr "$INCR_SIZE" \
        --argjson s_restic "$RESTIC_SIZE" --argjson s_sincr "$RESTIC_INCR_SIZE" \
        --argjson r_full "$r_full" --argjson r_size "$r_size" --argjson r_naive "$r_naive" --argjson r_incr "$r_incr" \
        --argjson r_rest "$r_rest" --argjson r_ver "$r_ver" \
        --argjson rss_b "$rss_b" --argjson rss_r "$rss_r" --argjson rss_v "$rss_v" \
        --argjson big "$BIG" --argjson big_mb "$BIG_MB" --argjson big_b "$big_b" --argjson big_r "$big_r" --argjson big_v "$big_v" \
        --argjson ratios "$ratios_json" --argjson medians "$medians" \
        --argjson other_ok "$OTHER_OK" --arg other_mode "$OTHER_MODE" --arg other_file "$(basename "$OTHER_RESULTS")" \
        --argjson disk_peak "$disk_peak" --argjson samples "$samples_json" --argjson notes "$notes_json" '
        def check(v; lim; op): if v == null then null elif op == "lt" then v < lim else v <= lim end;
        {
          generated: $generated, git_commit: $commit, coffer_version: $coffer_version, coffer_binary_sha256_16: $coffer_sha,
          mode: $mode, competitor: (if $competitor == "" then null else $competitor end), restore_fs: $restore_fs,
          restic: (if $restic == "" then null else $restic end),
          compared_with: (if $other_ok == 1 then {mode: $other_mode, file: $other_file} else null end),
          machine: {cpu: $cpu, cores: $nproc, busy_pct_before_runs: {median: $busy_med, max: $busy_max}},
          settings: {runs: $runs, warmup_runs: 1, statistic: "median", level: $level, encryption: true},
          corpus: {size_mb: $corpus_mb, bytes: $corpus_bytes, files: $corpus_files, fingerprint: $fingerprint,
                   composition: $composition, incremental_change: {files: $changed_files, bytes: $changed_bytes}},
          wall_s: {coffer_full: $m_full, pigz_full: $m_pigz, naive_full: $m_naive, coffer_incremental: $m_incr,
                   coffer_restore: $m_rc, tar_restore: $m_rt, coffer_verify_deep: $m_ver,
                   restic_full: $m_sfull, restic_second_snapshot: $m_sincr, restic_restore: $m_srest,
                   restic_check_read_data: $m_sver},
          medians_s: $medians,
          archive_bytes: {coffer_full: $s_coffer, coffer_full_stored_total: $s_stored, pigz: $s_pigz, coffer_incremental: $s_incr,
                          restic_repo_after_full: $s_restic, restic_second_snapshot_added: $s_sincr},
          peak_rss_bytes: ({backup: $rss_b, restore: $rss_r, verify_deep: $rss_v}
                           + (if $big == 1 then {big_corpus_mb: $big_mb, big_backup: $big_b, big_restore: $big_r, big_verify_deep: $big_v} else {} end)),
          checks: ([
            {name: "full_vs_pigz_wall", ratio: $r_full, target: 0.7, pass: check($r_full; 0.7; "le")},
            {name: "archive_vs_pigz_size", ratio: $r_size, target: 1.05, pass: check($r_size; 1.05; "le")},
            {name: "incremental_vs_full_wall", ratio: $r_incr, target: 0.10, pass: check($r_incr; 0.10; "le")},
            {name: "restore_vs_tar_xzf_wall", ratio: $r_rest, target: 1.0, pass: check($r_rest; 1.0; "le")},
            {name: "verify_deep_vs_full_wall", ratio: $r_ver, target: 0.5, pass: check($r_ver; 0.5; "le")},
            {name: "peak_rss_backup", bytes: $rss_b, target_bytes: 157286400, pass: check($rss_b; 157286400; "lt")},
            {name: "peak_rss_restore", bytes: $rss_r, target_bytes: 157286400, pass: check($rss_r; 157286400; "lt")},
            {name: "peak_rss_verify_deep", bytes: $rss_v, target_bytes: 157286400, pass: check($rss_v; 157286400; "lt")}
          ] + (if $big == 1 then [
            {name: "peak_rss_backup_big", bytes: $big_b, target_bytes: 157286400, pass: check($big_b; 157286400; "lt")},
            {name: "peak_rss_restore_big", bytes: $big_r, target_bytes: 157286400, pass: check($big_r; 157286400; "lt")},
            {name: "peak_rss_verify_deep_big", bytes: $big_v, target_bytes: 157286400, pass: check($big_v; 157286400; "lt")}
          ] else [] end)),
          ratios_info: {coffer_full_vs_naive_wall: $r_naive, coffer_stored_total_vs_pigz_size: $r_stored},
          ratios: $ratios,
          work_dir_peak_bytes: $disk_peak,
          notes: $notes,
          samples: $samples
        }' >"$RESULTS.json" || die "could not write $RESULTS.json"
    log "wrote $RESULTS.txt, $(basename "$RESULTS").json and $(basename "$RESULTS").md"
}

# ---------------------------------------------------------------------------------------
# Main
# ---------------------------------------------------------------------------------------
check_tools
check_coffer
COFFER_VERSION=none COFFER_SHA=none
if [ "$PEERS_ONLY" -eq 0 ]; then
    # Run a private copy: a rebuild of target/release during the run must not mix two binaries.
    mkdir -p "$BENCH_DIR/bin"
    cp -- "$COFFER" "$BENCH_DIR/bin/coffer" || die "cannot copy $COFFER"
    COFFER="$BENCH_DIR/bin/coffer"
    COFFER_VERSION=$("$COFFER" --version 2>/dev/null | head -n 1)
    COFFER_SHA=$(sha256sum "$COFFER" | cut -c1-16)
    log "coffer: ${COFFER_VERSION:-unknown version}, binary sha256 $COFFER_SHA"
fi
: "${COFFER_VERSION:=unknown}"
: >"$SAMPLES"
unmount_restore_fs
safe_rm "$RESTORE_DIR" "$RESTORE_IMG" "$CSTATE" "$RSTATE/run" "$ARCH"/* "$DIRTY"
# The competitor and the restore mount must never outlive the script, however it ends.
on_exit() {
    competitor_stop
    unmount_restore_fs
}
trap on_exit EXIT
trap 'exit 130' INT TERM
choose_restore_fs
mkdir -p "$CSTATE"
restic_setup
[ "$CONTENDED" -eq 1 ] && log "contended: every timed command runs beside '$COMPETITOR'"

ensure_corpus "$CORPUS_MB"
print_composition | tee "$BENCH_DIR/corpus.txt"
CORPUS_MAIN_MB=$CORPUS_MB
CORPUS_MAIN_FP=$(sed -n 's/^fingerprint=//p' "$BENCH_DIR/corpus.stamp")
CORPUS_MAIN_COMP=$(composition_json)
cp "$CORPUS.files" "$BENCH_DIR/corpus-main.files"
CORPUS_MAIN_FILES="$BENCH_DIR/corpus-main.files"
prepare_change_set
track_disk

COFFER_OK=$((1 - PEERS_ONLY))
phase_backups
phase_restores
phase_verify
[ "$COFFER_OK" -eq 1 ] && [ "$CHECK" -eq 1 ] && check_export
cleanup_coffer_state
cleanup_restic_state

if [ "$BIG" -eq 1 ] && [ "$PEERS_ONLY" -eq 0 ]; then
    log "memory check on a $BIG_MB MiB corpus (one run each, no warm-up)"
    ensure_corpus "$BIG_MB"
    print_composition | tee "$BENCH_DIR/corpus-big.txt"
    prepare_change_set
    saved_sizes=("$COFFER_SIZE" "$INCR_SIZE" "$CHANGED_FILES" "$CHANGED_BYTES" "$COFFER_STORED")
    if coffer_backup_rep big-full big-incr 1 0; then
        coffer_restore_rep big-restore 1 0
        phase_coffer_verify big-verify 1 1
    fi
    log "  $BIG_MB MiB: full $(sample_median big-full coffer) s, incremental $(sample_median big-incr coffer) s, restore $(sample_median big-restore coffer) s, verify $(sample_median big-verify coffer) s"
    COFFER_SIZE=${saved_sizes[0]} INCR_SIZE=${saved_sizes[1]}
    CHANGED_FILES=${saved_sizes[2]} CHANGED_BYTES=${saved_sizes[3]} COFFER_STORED=${saved_sizes[4]}
    cleanup_coffer_state
fi

safe_rm "$ORIG" "$TMPDIR"
report
