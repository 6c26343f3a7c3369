#!/usr/bin/env bash
# Coffer benchmark: coffer backup / incremental / restore / deep verify against tar | pigz,
# tar -czf | openssl | sha256sum and tar -xzf, on a corpus of real files. See bench/README.md.
set -uo pipefail
export LC_ALL=C

usage() {
    cat <<'EOF'
Usage: bench/run.sh [--install] [--big] [--peers-only] [--rebuild-corpus] [--keep] [--no-check]

  --install         install missing Debian packages (pigz, time, jq, openssl) with apt-get
  --big             after the main run, measure coffer's peak memory on a BIG_MB corpus (4096)
  --peers-only      time only tar|pigz, the naive pipeline and tar -xzf (no coffer binary needed)
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
                    dir: into a plain directory; auto: loop when root and loop devices work
EOF
}

SCRIPT_DIR=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd -P)
REPO_DIR=$(cd -- "$SCRIPT_DIR/.." && pwd -P)
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$SCRIPT_DIR/lib.sh"

INSTALL=0 BIG=0 PEERS_ONLY=0 REBUILD=0 KEEP=0 CHECK=1
for arg in "$@"; do
    case "$arg" in
        --install) INSTALL=1 ;;
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
# coffer reads COFFER_* overrides (data dir, database, storage); none may point it elsewhere.
while IFS= read -r v; do unset "$v"; done < <(compgen -e | grep '^COFFER_')
CORPUS="$BENCH_DIR/corpus"
SAMPLES="$BENCH_DIR/samples.tsv"
ARCH="$BENCH_DIR/archives"
RESTORE_DIR="$BENCH_DIR/restore"
RESTORE_TARGET="$RESTORE_DIR/target"
RESTORE_IMG="$BENCH_DIR/restore.img"
CSTATE="$BENCH_DIR/coffer"
mkdir -p "$TMPDIR" "$BENCH_DIR/logs" "$ARCH"

# ---------------------------------------------------------------------------------------
# Tools
# ---------------------------------------------------------------------------------------
check_tools() {
    local missing=() pkgs=() t
    declare -A pkg_of=([pigz]=pigz [/usr/bin/time]=time [jq]=jq [openssl]=openssl [tar]=tar
        [gzip]=gzip [sha256sum]=coreutils [awk]=gawk [find]=findutils [xargs]=findutils [dd]=coreutils [diff]=diffutils)
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
# ---------------------------------------------------------------------------------------
RESTORE_FS=${RESTORE_FS:-auto}
choose_restore_fs() {
    case "$RESTORE_FS" in
        dir) ;;
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
        *) die "RESTORE_FS must be auto, loop or dir" ;;
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

unmount_restore_fs() {
    if mountpoint -q "$RESTORE_DIR" 2>/dev/null; then
        umount "$RESTORE_DIR" || umount -l "$RESTORE_DIR"
    fi
    return 0
}

fresh_restore_target() {
    if [ "$RESTORE_FS" = loop ]; then
        local mb
        mb=$(awk -F'\t' '{s += $1} END {printf "%d", s * 1.3 / 1048576 + 512}' "$CORPUS.files")
        make_restore_fs "$mb" || die "cannot make the restore filesystem"
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
        note_odd "coffer backup --kind full failed (run $rep): $(tail -n 3 "$BENCH_DIR/logs/$group_full-coffer-$rep.err" | tr '\n' ' ')"
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
        note_odd "coffer backup --kind incremental failed (run $rep): $(tail -n 3 "$BENCH_DIR/logs/$group_incr-coffer-$rep.err" | tr '\n' ' ')"
    fi
    revert_change
    return 0
}

# All full backups, interleaved (pigz, naive, coffer in each rep) so that drift in the
# machine's state hits every tool alike. Rep 0 is the warm-up.
phase_backups() {
    local rep what=""
    [ "$COFFER_OK" -eq 1 ] && what=", coffer backup (+ incremental after the 1% change)"
    log "full backups: tar | pigz -$LEVEL -p $NPROC, tar -czf | openssl enc | sha256sum$what"
    for rep in $(seq 0 "$RUNS"); do
        peer_backup_rep "$rep"
        if [ "$COFFER_OK" -eq 1 ]; then
            coffer_backup_rep full incr "$rep" $((rep == 0 ? 1 : 0)) || COFFER_OK=0
        fi
        track_disk
    done
    log "  tar | pigz archive: $(mib "$PIGZ_SIZE") MiB"
    [ "$COFFER_OK" -eq 1 ] && log "  coffer full archive: $(mib "$COFFER_SIZE") MiB, incremental: $(mib "$INCR_SIZE") MiB"
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
        note_odd "coffer restore failed (run $rep): $(tail -n 3 "$BENCH_DIR/logs/$group-coffer-$rep.err" | tr '\n' ' ')"
        drop_restore_target
        return 1
    fi
    if [ "$first" -eq 1 ]; then
        track_disk
        [ "$CHECK" -eq 1 ] && compare_trees "$CORPUS" "$RESTORE_TARGET/corpus" "coffer restore output"
    fi
    drop_restore_target
}

# Restores alternate which tool goes first: on ext4, creating files gets slower as recently
# deleted inodes pile up, and alternating spreads that drift evenly over both tools.
phase_restores() {
    local rep coffer_ok=$COFFER_OK what=""
    [ "$coffer_ok" -eq 1 ] && what=" and coffer restore $FULL_ID"
    log "restore: tar -xzf out.tgz$what, a fresh target each run"
    for rep in $(seq 0 "$RUNS"); do
        if [ $((rep % 2)) -eq 0 ]; then
            peer_restore_rep "$rep"
            if [ "$coffer_ok" -eq 1 ]; then coffer_restore_rep restore "$rep" $((rep == 0 ? 1 : 0)) || coffer_ok=0; fi
        else
            if [ "$coffer_ok" -eq 1 ]; then coffer_restore_rep restore "$rep" 0 || coffer_ok=0; fi
            peer_restore_rep "$rep"
        fi
    done
    [ "$KEEP" -eq 1 ] || safe_rm "$ARCH/out.tgz"
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
        >"$BENCH_DIR/logs/check-incr-restore.out" 2>&1; then
        compare_trees "$CORPUS" "$RESTORE_TARGET/corpus" "restore of the incremental backup"
    else
        note_odd "restore of the incremental backup failed: $(tail -n 3 "$BENCH_DIR/logs/check-incr-restore.out" | tr '\n' ' ')"
    fi
    drop_restore_target
}

phase_coffer_verify() {
    local group=$1 first=$2 last=$3 rep cfg="$RUN_DIR/coffer.toml"
    log "coffer verify $FULL_ID --deep"
    for rep in $(seq "$first" "$last"); do
        if ! run_timed "$group" coffer "$rep" "'$COFFER' --config '$cfg' verify '$FULL_ID' --deep --json > '$BENCH_DIR/logs/$group-verify-$rep.json'"; then
            note_odd "coffer verify --deep failed (run $rep): $(tail -n 3 "$BENCH_DIR/logs/$group-coffer-$rep.err" | tr '\n' ' ')"
            break
        fi
    done
}

# Untimed: the export must be a plain .tar.gz that gzip -t and tar -tzf accept, with every file.
check_export() {
    local cfg="$RUN_DIR/coffer.toml" out="$ARCH/export.tar.gz" n
    if ! "$COFFER" --config "$cfg" export "$FULL_ID" -o "$out" >"$BENCH_DIR/logs/check-export.out" 2>&1; then
        note_odd "coffer export failed: $(tail -n 3 "$BENCH_DIR/logs/check-export.out" | tr '\n' ' ')"
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

report() {
    local m_full m_pigz m_naive m_incr m_rt m_rc m_ver
    m_full=$(sample_median full coffer); m_pigz=$(sample_median full pigz); m_naive=$(sample_median full naive)
    m_incr=$(sample_median incr coffer); m_rt=$(sample_median restore tar); m_rc=$(sample_median restore coffer)
    m_ver=$(sample_median verify coffer)
    local r_full r_size r_naive r_incr r_rest r_ver
    r_full=$(ratio "$m_full" "$m_pigz"); r_size=$(ratio "$COFFER_SIZE" "$PIGZ_SIZE"); r_naive=$(ratio "$m_full" "$m_naive")
    local r_stored
    r_stored=$(ratio "$COFFER_STORED" "$PIGZ_SIZE")
    r_incr=$(ratio "$m_incr" "$m_full"); r_rest=$(ratio "$m_rc" "$m_rt"); r_ver=$(ratio "$m_ver" "$m_full")
    local rss_b rss_r rss_v big_b big_r big_v limit=$((150 * 1048576))
    rss_b=$(peak_rss full incr); rss_r=$(peak_rss restore); rss_v=$(peak_rss verify)
    big_b=$(peak_rss big-full big-incr); big_r=$(peak_rss big-restore); big_v=$(peak_rss big-verify)
    local corpus_bytes corpus_files
    corpus_bytes=$(awk -F'\t' '{s += $1} END {print s + 0}' "$CORPUS_MAIN_FILES")
    corpus_files=$(wc -l <"$CORPUS_MAIN_FILES")

    # name|coffer|peer|ratio|target|verdict
    local rows=()
    rows+=("Full backup wall (median)|$(fmt_s "$m_full")|tar\\|pigz -$LEVEL: $(fmt_s "$m_pigz")|$(fmt_x "$r_full")|≤ 0.70|$(verdict "$r_full" 0.7)")
    rows+=("  vs naive tar -czf\\|openssl\\|sha256sum|$(fmt_s "$m_full")|$(fmt_s "$m_naive")|$(fmt_x "$r_naive")|-|info")
    rows+=("Archive size|$(fmt_mib "$COFFER_SIZE")|pigz: $(fmt_mib "$PIGZ_SIZE")|$(fmt_x "$r_size")|≤ 1.05|$(verdict "$r_size" 1.05)")
    rows+=("  stored in all (+ manifest copy)|$(fmt_mib "$COFFER_STORED")|pigz: $(fmt_mib "$PIGZ_SIZE")|$(fmt_x "$r_stored")|-|info")
    rows+=("Incremental (1% changed) wall|$(fmt_s "$m_incr")|coffer full: $(fmt_s "$m_full")|$(fmt_x "$r_incr")|≤ 0.10|$(verdict "$r_incr" 0.10)")
    rows+=("Restore wall|$(fmt_s "$m_rc")|tar -xzf: $(fmt_s "$m_rt")|$(fmt_x "$r_rest")|≤ 1.00|$(verdict "$r_rest" 1.0)")
    rows+=("Deep verify wall|$(fmt_s "$m_ver")|coffer full: $(fmt_s "$m_full")|$(fmt_x "$r_ver")|≤ 0.50|$(verdict "$r_ver" 0.5)")
    rows+=("Peak RSS backup ($CORPUS_MAIN_MB MiB)|$(fmt_mib "$rss_b")|-|-|< 150 MiB|$(verdict "$rss_b" "$limit" lt)")
    rows+=("Peak RSS restore ($CORPUS_MAIN_MB MiB)|$(fmt_mib "$rss_r")|-|-|< 150 MiB|$(verdict "$rss_r" "$limit" lt)")
    rows+=("Peak RSS deep verify ($CORPUS_MAIN_MB MiB)|$(fmt_mib "$rss_v")|-|-|< 150 MiB|$(verdict "$rss_v" "$limit" lt)")
    if [ "$BIG" -eq 1 ]; then
        rows+=("Peak RSS backup ($BIG_MB MiB)|$(fmt_mib "$big_b")|-|-|< 150 MiB|$(verdict "$big_b" "$limit" lt)")
        rows+=("Peak RSS restore ($BIG_MB MiB)|$(fmt_mib "$big_r")|-|-|< 150 MiB|$(verdict "$big_r" "$limit" lt)")
        rows+=("Peak RSS deep verify ($BIG_MB MiB)|$(fmt_mib "$big_v")|-|-|< 150 MiB|$(verdict "$big_v" "$limit" lt)")
    fi

    local header cpu busy_med busy_max
    cpu=$(awk -F': ' '/model name/ {print $2; exit}' /proc/cpuinfo)
    busy_med=$(awk -F'\t' '$3 > 0 {print $9}' "$SAMPLES" | median | awk '{printf "%.0f", $1}')
    busy_max=$(awk -F'\t' '$3 > 0 {print $9}' "$SAMPLES" | maximum)
    if [ -n "$busy_max" ] && [ "$busy_max" -ge "${QUIET_PCT:-20}" ]; then
        NOTES+=("other work kept the machine busy before some timed runs (CPU busy in the second before a run: median ${busy_med}%, max ${busy_max}%); figures are noisy, rerun on an idle machine or set QUIET_WAIT=300")
    fi
    header="Corpus $(mib "$corpus_bytes") MiB in $corpus_files files; median of $RUNS runs after 1 warm-up; $NPROC cores ($cpu); level $LEVEL, coffer encryption on"

    {
        echo
        echo "$header"
        printf '%s\n' "${rows[@]}" | sed 's/\\|/\x01/g; s/≤/<=/g' | awk -F'|' '
            BEGIN { printf "%-40s %-14s %-28s %-7s %-10s %s\n", "check", "coffer", "compared with", "ratio", "target", "result"
                    printf "%s\n", "------------------------------------------------------------------------------------------------------------" }
            { for (i = 1; i <= NF; i++) gsub(/\x01/, "|", $i)
              printf "%-40s %-14s %-28s %-7s %-10s %s\n", $1, $2, $3, $4, $5, $6 }'
        local n
        for n in "${NOTES[@]+"${NOTES[@]}"}"; do echo "NOTE: $n"; done
    } | tee "$BENCH_DIR/results.txt"

    {
        echo "_${header}._"
        echo
        echo "| Check | Coffer | Compared with | Ratio | Target | Result |"
        echo "|---|---|---|---|---|---|"
        printf '%s\n' "${rows[@]}" | sed 's/\\|/\x01/g; s/^  /↳ /' | awk -F'|' '
            { line = "|"; for (i = 1; i <= NF; i++) line = line " " $i " |"; gsub(/\x01/, "\\|", line); print line }'
    } >"$BENCH_DIR/results.md"

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
        --arg coffer_version "$COFFER_VERSION" --arg coffer_sha "$COFFER_SHA" --argjson runs "$RUNS" --argjson level "$LEVEL" \
        --argjson corpus_mb "$CORPUS_MAIN_MB" --argjson corpus_bytes "$corpus_bytes" --argjson corpus_files "$corpus_files" \
        --arg fingerprint "$CORPUS_MAIN_FP" --argjson composition "$CORPUS_MAIN_COMP" \
        --argjson changed_files "${CHANGED_FILES:-null}" --argjson changed_bytes "${CHANGED_BYTES:-null}" \
        --argjson m_full "$m_full" --argjson m_pigz "$m_pigz" --argjson m_naive "$m_naive" --argjson m_incr "$m_incr" \
        --argjson m_rt "$m_rt" --argjson m_rc "$m_rc" --argjson m_ver "$m_ver" \
        --argjson s_coffer "$COFFER_SIZE" --argjson s_stored "$COFFER_STORED" --argjson r_stored "$r_stored" --argjson s_pigz "$PIGZ_SIZE" --argjson s_incr "$INCR_SIZE" \
        --argjson r_full "$r_full" --argjson r_size "$r_size" --argjson r_naive "$r_naive" --argjson r_incr "$r_incr" \
        --argjson r_rest "$r_rest" --argjson r_ver "$r_ver" \
        --argjson rss_b "$rss_b" --argjson rss_r "$rss_r" --argjson rss_v "$rss_v" \
        --argjson big "$BIG" --argjson big_mb "$BIG_MB" --argjson big_b "$big_b" --argjson big_r "$big_r" --argjson big_v "$big_v" \
        --argjson disk_peak "$disk_peak" --argjson samples "$samples_json" --argjson notes "$notes_json" '
        def check(v; lim; op): if v == null then null elif op == "lt" then v < lim else v <= lim end;
        {
          generated: $generated, git_commit: $commit, coffer_version: $coffer_version, coffer_binary_sha256_16: $coffer_sha,
          machine: {cpu: $cpu, cores: $nproc, busy_pct_before_runs: {median: $busy_med, max: $busy_max}},
          settings: {runs: $runs, warmup_runs: 1, statistic: "median", level: $level, encryption: true},
          corpus: {size_mb: $corpus_mb, bytes: $corpus_bytes, files: $corpus_files, fingerprint: $fingerprint,
                   composition: $composition, incremental_change: {files: $changed_files, bytes: $changed_bytes}},
          wall_s: {coffer_full: $m_full, pigz_full: $m_pigz, naive_full: $m_naive, coffer_incremental: $m_incr,
                   coffer_restore: $m_rc, tar_restore: $m_rt, coffer_verify_deep: $m_ver},
          archive_bytes: {coffer_full: $s_coffer, coffer_full_stored_total: $s_stored, pigz: $s_pigz, coffer_incremental: $s_incr},
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
          work_dir_peak_bytes: $disk_peak,
          notes: $notes,
          samples: $samples
        }' >"$BENCH_DIR/results.json" || die "could not write results.json"
    log "wrote $BENCH_DIR/results.txt, results.json and results.md"
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
safe_rm "$RESTORE_DIR" "$RESTORE_IMG" "$CSTATE" "$ARCH"/* "$DIRTY"
trap unmount_restore_fs EXIT
trap 'exit 130' INT TERM
choose_restore_fs
mkdir -p "$CSTATE"

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
if [ "$COFFER_OK" -eq 1 ]; then
    phase_coffer_verify verify 0 "$RUNS"
    [ "$CHECK" -eq 1 ] && check_export
fi
cleanup_coffer_state

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
