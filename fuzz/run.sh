#!/usr/bin/env bash
# Fuzzes every reader of storage bytes for SECONDS each (default 60) and prints, per target,
# the executions and crashes. Not part of .ci/run: it needs the nightly toolchain and
# cargo-fuzz (`cargo install cargo-fuzz`), and takes as long as you let it.
#
#   fuzz/run.sh [SECONDS] [TARGET...]      targets: decrypt gzip tar_walk manifest
#
# Before fuzzing, every file in regressions/TARGET/ (inputs that once crashed) is replayed.
# New inputs go to corpus/TARGET/ (not committed); the committed seeds in seeds/TARGET/ are
# read as well. Crashes are kept in artifacts/TARGET/; copy them into regressions/TARGET/
# once fixed. CARGO_TARGET_DIR is honoured (default fuzz/target). FUZZ_MODE holds the
# cargo-fuzz build options (default `-a`: release, AddressSanitizer, debug assertions; on a
# slow machine `--dev -s none` builds in a fraction of the time and runs slower).
set -euo pipefail
cd "$(dirname "$0")"
seconds=${1:-60}
shift || true
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(decrypt gzip tar_walk manifest)

# With debug assertions, so an arithmetic overflow on hostile input is a finding too.
read -r -a mode <<<"${FUZZ_MODE:--a}"
cargo +nightly fuzz build "${mode[@]}"
findings() { find "artifacts/$1" -type f \( -name 'crash-*' -o -name 'oom-*' -o -name 'timeout-*' -o -name 'leak-*' \) | wc -l; }
summary=()
status=0
for target in "${targets[@]}"; do
    mkdir -p "corpus/$target" "artifacts/$target" "regressions/$target"
    if compgen -G "regressions/$target/*" >/dev/null; then
        cargo +nightly fuzz run "${mode[@]}" "$target" regressions/"$target"/* -- -runs=1 \
            || { echo "regression of $target crashes again" >&2; status=1; }
    fi
    before=$(findings "$target")
    log=$(mktemp)
    # -fork keeps fuzzing past a crash (each is kept), so one run reports them all.
    cargo +nightly fuzz run "${mode[@]}" "$target" "corpus/$target" "seeds/$target" -- \
        -max_total_time="$seconds" -max_len=16384 -print_final_stats=1 -timeout=20 -rss_limit_mb=2048 \
        -fork=1 -ignore_crashes=1 -ignore_timeouts=1 -ignore_ooms=1 >"$log" 2>&1 || true
    # Fork mode's status lines count every child's executions: the last one is the total.
    execs=$({ grep -oE '^#[0-9]+' "$log" || true; } | tail -1 | tr -d '#')
    if [ -z "$execs" ]; then
        execs=$({ grep -o 'stat::number_of_executed_units: [0-9]*' "$log" || true; } | awk '{s+=$2} END {print s+0}')
    fi
    after=$(findings "$target")
    crashes=$((after - before))
    [ "$crashes" -eq 0 ] || status=1
    cp "$log" "artifacts/$target/last-run.log"
    grep -E '^==[0-9]+==|panicked at' "$log" | sort | uniq -c | head -5 || true
    summary+=("$(printf '%-10s %8ss %14s executions %4s crashes' "$target" "$seconds" "${execs:-?}" "$crashes")")
    rm -f "$log"
done
printf '%s\n' "${summary[@]}"
exit $status
