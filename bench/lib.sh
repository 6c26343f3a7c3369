# shellcheck shell=bash
# Shared helpers for the Coffer benchmark scripts (sourced, not run).
# Everything written goes under $BENCH_DIR; callers set it before sourcing.

log() { printf '[bench %(%H:%M:%S)T] %s\n' -1 "$*" >&2; }
die() { printf 'bench: error: %s\n' "$*" >&2; exit 1; }

# Absolute path of a directory that may not exist yet.
abspath() { (mkdir -p -- "$1" && cd -- "$1" && pwd -P); }

# Refuse to touch a path that is not inside $BENCH_DIR: every rm -rf goes through this.
inside_bench_dir() {
    local p
    p=$(realpath -m -- "$1")
    case "$p" in
        "$BENCH_DIR"/?*) return 0 ;;
        *) return 1 ;;
    esac
}

safe_rm() {
    local p
    for p in "$@"; do
        inside_bench_dir "$p" || die "refusing to delete $p (outside $BENCH_DIR)"
        rm -rf -- "$p"
    done
}

# Fresh empty directory inside the work dir.
fresh_dir() {
    safe_rm "$1"
    mkdir -p -- "$1"
}

# Median of numbers given one per line on stdin (mean of the two middle ones for even counts).
median() {
    sort -g | awk '{v[NR]=$1} END {
        if (NR == 0) { print "null"; exit }
        if (NR % 2) printf "%.3f\n", v[(NR+1)/2]
        else printf "%.3f\n", (v[NR/2] + v[NR/2+1]) / 2 }'
}

# Largest number on stdin.
maximum() { sort -g | tail -n 1; }

# a / b with 3 decimals, or null when either side is missing or b is zero.
ratio() {
    awk -v a="$1" -v b="$2" 'BEGIN {
        if (a == "" || b == "" || a == "null" || b == "null" || b + 0 == 0) print "null"
        else printf "%.3f\n", a / b }'
}

# PASS when value <= limit (or < limit when $3 is "lt"), FAIL otherwise, n/a when unknown.
verdict() {
    awk -v v="$1" -v l="$2" -v op="${3:-le}" 'BEGIN {
        if (v == "" || v == "null") { print "n/a"; exit }
        ok = (op == "lt") ? (v + 0 < l + 0) : (v + 0 <= l + 0)
        print ok ? "PASS" : "FAIL" }'
}

mib() { awk -v b="$1" 'BEGIN { if (b == "" || b == "null") print "null"; else printf "%.1f\n", b / 1048576 }'; }

# Percent of CPU time the whole machine spent busy over SECONDS (default 1), from /proc/stat.
cpu_busy_pct() {
    local a b
    a=$(awk '/^cpu / {print $2 + $3 + $4 + $7 + $8 + $9, $5 + $6}' /proc/stat)
    sleep "${1:-1}"
    b=$(awk '/^cpu / {print $2 + $3 + $4 + $7 + $8 + $9, $5 + $6}' /proc/stat)
    awk -v a="$a" -v b="$b" 'BEGIN { split(a, x, " "); split(b, y, " ")
        busy = y[1] - x[1]; all = busy + y[2] - x[2]; printf "%d\n", (all > 0) ? 100 * busy / all : 0 }'
}

# Other work on the machine skews timings. Wait (up to QUIET_WAIT seconds, default 0) until
# less than QUIET_PCT percent (default 20) of the CPU is busy; print the last busy reading.
wait_for_quiet() {
    local waited=0 busy
    busy=$(cpu_busy_pct 1)
    while [ "$busy" -ge "${QUIET_PCT:-20}" ] && [ "$waited" -lt "${QUIET_WAIT:-0}" ]; do
        busy=$(cpu_busy_pct 2)
        waited=$((waited + 2))
    done
    printf '%s' "$busy"
}

# Optional CPU-bound competitor (run.sh --contended): COMPETITOR is a command line (word-split,
# no quoting) started right before each timed command and killed right after it, so that only
# the timed commands share the CPU with it. It runs in its own process group so that killing
# the group takes its worker processes too; callers also call competitor_stop on exit.
COMPETITOR_PID=""
competitor_start() {
    [ -n "${COMPETITOR:-}" ] || return 0
    # shellcheck disable=SC2086 # COMPETITOR is a plain word list by design
    setsid $COMPETITOR </dev/null >/dev/null 2>&1 &
    COMPETITOR_PID=$!
    # Let it fork its workers and get going before the clock starts.
    sleep 0.5
    kill -0 "$COMPETITOR_PID" 2>/dev/null || die "the competitor ($COMPETITOR) did not start"
}

competitor_stop() {
    [ -n "$COMPETITOR_PID" ] || return 0
    kill -TERM -- "-$COMPETITOR_PID" 2>/dev/null || kill -TERM "$COMPETITOR_PID" 2>/dev/null
    wait "$COMPETITOR_PID" 2>/dev/null
    COMPETITOR_PID=""
    return 0
}

# run_timed GROUP TOOL REP COMMAND
# Runs COMMAND (a bash string, pipefail on) under GNU time -v, after a sync so that
# writeback left by the previous command is not billed to this one. Appends one line to
# $SAMPLES: group tool rep wall_s maxrss_kib user_s sys_s exit_code busy_pct_before.
# The command's stderr goes to $LOG_DIR/GROUP-TOOL-REP.err (LOG_DIR: $BENCH_DIR/logs unless
# set). With COMPETITOR set, the competitor runs exactly while COMMAND does. Returns its exit code.
run_timed() {
    local group=$1 tool=$2 rep=$3 cmd=$4 logs=${LOG_DIR:-$BENCH_DIR/logs}
    local tfile="$logs/$group-$tool-$rep.time" efile="$logs/$group-$tool-$rep.err"
    local t0 t1 rc wall rss usr sys busy
    sync
    # measured before the competitor starts: it records the other sessions' load, not ours
    busy=$(wait_for_quiet)
    competitor_start
    t0=$(date +%s%N)
    # timeout: a runaway command (it has happened) must not fill the disk or hang the run.
    /usr/bin/time -v -o "$tfile" timeout --kill-after=10 "${CMD_TIMEOUT:-3600}" \
        bash -o pipefail -c "$cmd" >"${efile%.err}.out" 2>"$efile"
    rc=$?
    t1=$(date +%s%N)
    competitor_stop
    wall=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", (b - a) / 1e9 }')
    rss=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$tfile")
    usr=$(awk -F': ' '/User time \(seconds\)/ {print $2}' "$tfile")
    sys=$(awk -F': ' '/System time \(seconds\)/ {print $2}' "$tfile")
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$group" "$tool" "$rep" "$wall" "${rss:-0}" "${usr:-0}" "${sys:-0}" "$rc" "$busy" >>"$SAMPLES"
    if [ "$rc" -eq 0 ]; then
        log "  $group/$tool run $rep: ${wall} s, max RSS $(awk -v k="${rss:-0}" 'BEGIN{printf "%.1f", k/1024}') MiB (machine busy before: ${busy}%)"
    else
        [ "$rc" -eq 124 ] && printf 'timed out after %s s (CMD_TIMEOUT)\n' "${CMD_TIMEOUT:-3600}" >>"$efile"
        log "  $group/$tool run $rep: FAILED (exit $rc), see $efile"
        tail -n 5 "$efile" >&2
    fi
    return "$rc"
}

# Column of successful timed samples (rep > 0; rep 0 is the warm-up) for GROUP/TOOL.
# sample_values GROUP TOOL COLUMN   (4 = wall seconds, 5 = max RSS KiB)
sample_values() {
    awk -F'\t' -v g="$1" -v t="$2" -v c="$3" '$1 == g && $2 == t && $3 > 0 && $8 == 0 {print $c}' "$SAMPLES"
}

sample_median() { sample_values "$1" "$2" 4 | median; }

# Largest max RSS (KiB) over all runs of GROUP/TOOL, warm-up included.
sample_peak_rss() {
    awk -F'\t' -v g="$1" -v t="$2" '$1 == g && $2 == t && $8 == 0 {print $5}' "$SAMPLES" | maximum
}

sample_failures() {
    awk -F'\t' -v g="$1" -v t="$2" '$1 == g && $2 == t && $8 != 0' "$SAMPLES" | wc -l
}

file_size() { stat -c %s -- "$1"; }
