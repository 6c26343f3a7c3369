#!/usr/bin/env bash
# Makes the seed corpora in seeds/TARGET/ from real archives: a scratch Coffer install
# backs up a small tree (a file, a folder, a link, an incremental, then a plain backup)
# with the fuzzing key of src/lib.rs, and each target gets the layer it reads:
#   decrypt  — the encrypted archives and manifests as stored
#   gzip     — the plain archives (Coffer's parallel gzip) and a standard gzip, each behind
#              a thread-selector byte
#   tar_walk — the tar streams inside the plain archives
#   manifest — the plain manifests
#
#   fuzz/make-seeds.sh [PATH/TO/coffer]     (default: $CARGO_TARGET_DIR or target, debug/coffer)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
bin=${1:-${CARGO_TARGET_DIR:-$here/../target}/debug/coffer}
[ -x "$bin" ] || { echo "no coffer binary at $bin (build it, or pass its path)" >&2; exit 1; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

key_id=$(sed -n 's/^pub const KEY_ID: &str = "\(.*\)";/\1/p' "$here/src/lib.rs")
key_hex=$(sed -n 's/^pub const KEY_HEX: &str = "\(.*\)";/\1/p' "$here/src/lib.rs")
mkdir -p "$work/data/keys" "$work/files/sub"
chmod 700 "$work/data/keys"
(umask 077 && printf '%s\n' "$key_hex" >"$work/data/keys/$key_id.key" && printf '%s\n' "$key_id" >"$work/data/keys/active")

printf 'hello\n' >"$work/files/a.txt"
seq 1 400 >"$work/files/sub/numbers.txt"
ln -s a.txt "$work/files/link"
chmod 750 "$work/files/sub"

config() {
    cat >"$work/coffer.toml" <<TOML
data_dir = "$work/data"
database_url = "$work/coffer.db"
[storage]
path = "$work/backups"
[archive]
threads = 2
encryption = $1
[[sources]]
name = "files"
service = "app"
kind = "directory"
path = "$work/files"
TOML
}
coffer() { COFFER_LOG=warn "$bin" --config "$work/coffer.toml" "$@" >/dev/null; }

config true
coffer backup --json
printf 'changed\n' >>"$work/files/a.txt"
coffer backup --kind incremental --json
config false
coffer backup --json
rm "$work/files/link"
printf 'more\n' >"$work/files/sub/more.txt"
coffer backup --kind incremental --json

for t in decrypt gzip tar_walk manifest; do rm -rf "${here:?}/seeds/$t"; mkdir -p "$here/seeds/$t"; done
n=0
while IFS= read -r -d '' f; do
    n=$((n + 1))
    case "$f" in
    *.enc) cp "$f" "$here/seeds/decrypt/real-$n" ;;
    *.tar.gz)
        { printf '\0'; cat "$f"; } >"$here/seeds/gzip/parallel-1-$n"
        { printf '\1'; cat "$f"; } >"$here/seeds/gzip/parallel-2-$n"
        gzip -dc "$f" >"$here/seeds/tar_walk/real-$n"
        ;;
    *.manifest.json) cp "$f" "$here/seeds/manifest/real-$n" ;;
    esac
done < <(find "$work/backups" -type f -print0 | sort -z)
{ printf '\0'; gzip -9c "$work/files/sub/numbers.txt"; } >"$here/seeds/gzip/standard"
for t in decrypt gzip tar_walk manifest; do
    echo "seeds/$t: $(ls "$here/seeds/$t" | wc -l) file(s), $(du -sh "$here/seeds/$t" | cut -f1)"
done
