#!/usr/bin/env bash
# Build the benchmark corpus: real files copied from this machine, about SIZE_MB MiB in all,
# ~40% small text files, ~35% binaries, ~25% already-compressed files.
#
#   bench/corpus.sh OUT_DIR SIZE_MB
#
# Deterministic on a given machine: every pool is listed once per inode in a fixed pseudo-random
# order (sort -R with a constant seed), and the pools of a category share its byte budget by
# weight (a file larger than what is left of the budget is skipped). When the pools run dry the
# same files are taken again under copy-N/ to reach the size. Installing or removing system packages changes the
# pools and therefore the corpus; the fingerprint printed at the end tells two corpora apart.
#
# Writes OUT_DIR/{text,binary,compressed}/ and, beside OUT_DIR, OUT_DIR.files (size and path of
# every file) and OUT_DIR.plan (what was selected).
set -euo pipefail
export LC_ALL=C

out=${1:?usage: corpus.sh OUT_DIR SIZE_MB}
size_mb=${2:?usage: corpus.sh OUT_DIR SIZE_MB}
[[ "$size_mb" =~ ^[0-9]+$ && "$size_mb" -ge 8 ]] || { echo "corpus.sh: SIZE_MB must be an integer >= 8" >&2; exit 1; }

out=$(realpath -m -- "$out")
work="$out.lists"
rm -rf -- "$out" "$work"
mkdir -p -- "$out" "$work"
# Fixed bytes for sort -R: the same shuffle on every run.
seed="$work/seed"
printf "coffer-bench-corpus %05d\n" $(seq 1 4000) >"$seed"

total=$((size_mb * 1048576))
budget_text=$((total * 40 / 100))
budget_binary=$((total * 35 / 100))
budget_compressed=$((total - budget_text - budget_binary))

note() { printf '[corpus] %s\n' "$*" >&2; }

# Existing directories among the arguments, so missing pools are skipped, not errors.
existing() { local d; for d in "$@"; do if [ -d "$d" ]; then printf "%s\0" "$d"; fi; done; }

# list_files POOL FIND-ARGS... : "size<TAB>relpath" (relative to /) of regular files.
# The roots come NUL-separated on stdin.
list_files() {
    local pool=$1; shift
    local roots=()
    mapfile -d '' -t roots
    [ "${#roots[@]}" -gt 0 ] || { : >"$work/$pool.list"; return; }
    # One entry per inode (hard links are one file), then a fixed pseudo-random order so that a
    # pool's share is spread over the whole tree instead of its alphabetical head.
    find "${roots[@]}" -type f "$@" -printf '%i:%D\t%s\t%p\n' 2>/dev/null | sort -t $'\t' -k3,3 \
        | awk -F'\t' '!seen[$1]++ {sub(/^\//, "", $3); print $2 "\t" $3}' OFS='\t' \
        | sort -t $'\t' -k2,2 -R --random-source="$seed" >"$work/$pool.list" || true
}

# Keep only the lines of a list whose file is text (grep -I decides, as it does for humans).
only_text() {
    local pool=$1
    cut -f2 "$work/$pool.list" | (cd / || exit 1; tr '\n' '\0' | xargs -0 -r grep -IlZ '' 2>/dev/null || true) \
        | tr '\0' '\n' >"$work/$pool.text"
    awk -F'\t' 'NR == FNR {keep[$0] = 1; next} ($2 in keep)' "$work/$pool.text" "$work/$pool.list" >"$work/$pool.tmp"
    mv "$work/$pool.tmp" "$work/$pool.list"
}

# Keep only ELF files (first four bytes 0x7f 'E' 'L' 'F').
only_elf() {
    local pool=$1 size path magic
    while IFS=$'\t' read -r size path; do
        IFS= read -r -n 4 magic <"/$path" 2>/dev/null || true
        [ "$magic" = $'\x7fELF' ] && printf '%s\t%s\n' "$size" "$path"
    done <"$work/$pool.list" >"$work/$pool.tmp"
    mv "$work/$pool.tmp" "$work/$pool.list"
}

home=${HOME:-/root}
note "listing pools"

# --- small text files -------------------------------------------------------------------
existing /usr/share/doc | list_files doc -size -1024k -size +1k ! -name '*.gz'
only_text doc
existing /usr/include | list_files include -size -1024k -size +1k
only_text include
existing "$home/.cargo/registry/src" | list_files rust-src -size -1024k -size +1k
only_text rust-src
existing /usr/share/perl /usr/share/perl5 | list_files perl -size -1024k -size +1k
only_text perl
existing /usr/lib/python3 /usr/lib/python3.* "$home"/.pyenv/versions/*/lib/python* | list_files python -size -1024k -size +1k
only_text python
# man pages are stored gzipped; they enter the corpus decompressed, sized by their real length.
existing /usr/share/man | list_files man-gz -name '*.gz' -size -1024k
: >"$work/man.list"
if [ -s "$work/man-gz.list" ]; then
    # gzip -l prints "compressed uncompressed ratio name-without-.gz" per readable file.
    cut -f2 "$work/man-gz.list" | (cd / || exit 1; tr '\n' '\0' | xargs -0 -r gzip -lq 2>/dev/null || true) \
        | awk '{ name = $0; sub(/^ *[0-9]+ +[0-9]+ +[-0-9.]+% +/, "", name); sub(/^\//, "", name);
                 if ($2 > 0) printf "%s\t%s.gz\n", $2, name }' \
        >"$work/man.sized"
    # back to the shuffled order of man-gz.list
    awk -F'\t' 'NR == FNR {sz[$2] = $1; next} ($2 in sz) {print sz[$2] "\t" $2}' "$work/man.sized" "$work/man-gz.list" >"$work/man.list"
fi

# --- binaries ---------------------------------------------------------------------------
existing /usr/lib/x86_64-linux-gnu /usr/lib/aarch64-linux-gnu | list_files shared-libs -size +64k -name '*.so*'
only_elf shared-libs
existing /usr/bin /usr/sbin | list_files executables -size +64k
only_elf executables
existing "$home"/.rustup/toolchains | list_files toolchain -size +1024k
only_elf toolchain

# --- already compressed -----------------------------------------------------------------
croots=(/usr/lib /usr/share /opt /var/cache/apt/archives "$home/.cargo/registry/cache" "$home/.pyenv")
existing "${croots[@]}" | list_files zip -size +8k \( -name '*.jar' -o -name '*.zip' -o -name '*.whl' -o -name '*.jmod' -o -name '*.egg' \)
existing "${croots[@]}" | list_files gzip -size +8k \( -name '*.gz' -o -name '*.tgz' -o -name '*.crate' \) ! -path '/usr/share/man/*'
existing "${croots[@]}" | list_files images -size +4k \( -name '*.png' -o -name '*.jpg' -o -name '*.jpeg' -o -name '*.gif' -o -name '*.webp' \)
existing "${croots[@]}" | list_files packed -size +8k \( -name '*.xz' -o -name '*.bz2' -o -name '*.zst' -o -name '*.deb' -o -name '*.7z' -o -name '*.lz4' \)

# select CATEGORY BUDGET POOL:WEIGHT... : always take the next file of the pool that has so far
# contributed the fewest bytes for its weight (so every pool gets its share of the bytes), a file
# that no longer fits the budget is passed over; when every pool is used up, start again with
# copies (round 1, 2, ...) until the budget is met.
select_files() {
    local cat=$1 budget=$2; shift 2
    local args=() names=() weights=() pw
    for pw in "$@"; do
        names+=("${pw%%:*}"); weights+=("${pw##*:}")
        args+=("$work/${pw%%:*}.list")
    done
    awk -F'\t' -v cat="$cat" -v budget="$budget" -v pools="${names[*]}" -v ws="${weights[*]}" '
        BEGIN { np = split(pools, pname, " "); split(ws, w, " ") }
        FNR == 1 { pi++ }
        { n[pi]++; size[pi, n[pi]] = $1; path[pi, n[pi]] = $2 }
        END {
            left = budget
            for (round = 0; left > 0; round++) {
                added = 0
                for (p = 1; p <= np; p++) next_i[p] = 1
                while (left > 0) {
                    best = 0
                    for (p = 1; p <= np; p++)
                        if (next_i[p] <= n[p] && (best == 0 || taken[p] / w[p] < taken[best] / w[best])) best = p
                    if (best == 0) break
                    i = next_i[best]++
                    s = size[best, i]
                    if (s > 0 && s <= left) {
                        printf "%s\t%s\t%d\t%s\t%s\n", cat, pname[best], round, s, path[best, i]
                        left -= s; taken[best] += s; added++
                    }
                }
                if (!added) break
            }
        }' "${args[@]}"
}

{
    select_files text "$budget_text" doc:1 man:0.25 include:1 rust-src:1 perl:0.5 python:1
    select_files binary "$budget_binary" shared-libs:1 executables:1 toolchain:1
    select_files compressed "$budget_compressed" zip:1 gzip:1 images:1 packed:1
} >"$out.plan"

if [ -n "${PLAN_ONLY:-}" ]; then
    awk -F'\t' '{k = $1 "/" $2; s[k] += $4; n[k]++} END {for (k in s) printf "%-24s %6d files %8.1f MiB\n", k, n[k], s[k] / 1048576}' "$out.plan" | sort
    exit 0
fi

[ -s "$out.plan" ] || { echo "corpus.sh: no source files found on this machine" >&2; exit 1; }

note "copying $(wc -l <"$out.plan") files"
# One cp per (category, pool, round): the destination keeps the source path under it.
cut -f1-3 "$out.plan" | sort -u | while IFS=$'\t' read -r cat pool round; do
    dest="$out/$cat/$pool"
    [ "$round" -gt 0 ] && dest="$out/$cat/copy-$round/$pool"
    mkdir -p -- "$dest"
    awk -F'\t' -v c="$cat" -v p="$pool" -v r="$round" '$1 == c && $2 == p && $3 == r {printf "%s%c", $5, 0}' "$out.plan" \
        | (cd / && xargs -0 -r cp --parents --preserve=timestamps -t "$dest") \
        || note "warning: some files of $cat/$pool could not be copied"
    if [ "$pool" = man ]; then
        find "$dest" -type f -name '*.gz' -print0 | xargs -0 -r gzip -dq 2>/dev/null \
            || note "warning: some man pages could not be decompressed (kept gzipped)"
    fi
done
# No set-id bits and writable by us, whatever the sources had.
chmod -R u+rwX,go-w,ug-s -- "$out"

(cd "$out" && find . -type f -printf '%s\t%P\n' | sort -t $'\t' -k2,2) >"$out.files"
rm -rf -- "$work"
note "done: $(wc -l <"$out.files") files, $(awk -F'\t' '{s += $1} END {printf "%.1f", s / 1048576}' "$out.files") MiB"
