#!/usr/bin/env bash
# Property-based run of schemathesis against /api/v1 of a running console: generated requests
# (valid and invalid) for every operation of /api/v1/openapi.json, each answer checked for
# 5xx and against the document (status, content type, headers, body schema).
#
#   cargo build --release && bench/schemathesis.sh [--max-examples N] [--max-time S]
#
# COFFER=path/to/coffer picks another binary (a debug build works too). Installs schemathesis
# with pip when `st` is missing. Needs curl and python3. Everything goes under
# bench/work/schemathesis; the run's reports (JUnit, NDJSON) too. The console runs on a free
# loopback port with a throwaway config, and the API token never appears in a command line
# (it goes to schemathesis through the environment and its config file).
#
# Restores are left out of the generated run: the console runs as root here, and a restore
# to a generated absolute `target` would write wherever the generator points. Their answers
# are checked against the document by tests/it/web/api_document.rs instead.
set -euo pipefail
cd "$(dirname "$0")/.."
REPO=$(pwd -P)
BENCH_DIR="$REPO/bench/work"
# shellcheck source=bench/lib.sh
source bench/lib.sh

MAX_EXAMPLES=20
MAX_TIME=""
while [ $# -gt 0 ]; do
    case "$1" in
        --max-examples) MAX_EXAMPLES=$2; shift 2 ;;
        --max-time) MAX_TIME=$2; shift 2 ;;
        *) die "unknown option $1" ;;
    esac
done
for tool in curl python3; do
    command -v "$tool" >/dev/null || die "$tool is needed (apt-get install $tool)"
done
if ! command -v st >/dev/null; then
    log "installing schemathesis (pip)"
    python3 -m pip install --quiet schemathesis || die "pip install schemathesis failed"
    command -v st >/dev/null || die "schemathesis installed, but \`st\` is not on PATH"
fi
COFFER=${COFFER:-$REPO/target/release/coffer}
[ -x "$COFFER" ] || die "build first (cargo build --release) or set COFFER=path/to/coffer"

W="$BENCH_DIR/schemathesis"
fresh_dir "$W"
mkdir -p "$W/files/sub"
printf 'hello from coffer\n' >"$W/files/hello.txt"
head -c 65536 /dev/urandom >"$W/files/sub/data.bin"
PORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
BASE="http://127.0.0.1:$PORT"
umask 077
PASSWORD="st-$(head -c 18 /dev/urandom | base64 | tr -d '/+=')"
cat >"$W/coffer.toml" <<TOML
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

SERVER_PID=
stop_server() { [ -n "$SERVER_PID" ] && kill "$SERVER_PID" 2>/dev/null && wait "$SERVER_PID" 2>/dev/null; SERVER_PID=; }
trap stop_server EXIT
COFFER_ADMIN_PASSWORD="$PASSWORD" COFFER_LOG=warn "$COFFER" --config "$W/coffer.toml" serve \
    >"$W/serve.log" 2>&1 &
SERVER_PID=$!
for _ in $(seq 1 150); do
    curl -sf "$BASE/health" >/dev/null && break
    sleep 0.2
done
curl -sf "$BASE/health" >/dev/null || { cat "$W/serve.log" >&2; die "the console did not start"; }

# Sign in as the first admin, as a browser does. Secrets go to curl in files (printf is a
# shell builtin, so they are in no process's arguments).
JAR="$W/cookies"
field() { grep -o "name=\"$1\" value=\"[^\"]*\"" | head -n 1 | sed 's/.*value="\([^"]*\)"/\1/'; }
urlencode() { python3 -c 'import sys, urllib.parse; print(urllib.parse.quote(sys.stdin.read().rstrip("\n"), safe=""))'; }
LOGIN_CSRF=$(curl -sf -c "$JAR" -b "$JAR" "$BASE/login" | field csrf_token)
printf 'username=admin&password=%s&csrf_token=%s' "$(printf '%s' "$PASSWORD" | urlencode)" \
    "$LOGIN_CSRF" >"$W/login.form"
curl -sf -o /dev/null -c "$JAR" -b "$JAR" --data-binary "@$W/login.form" "$BASE/login"
USERS=$(curl -sf -b "$JAR" "$BASE/users") || die "could not sign in (see $W/serve.log)"
ADMIN_ID=$(grep -o 'href="/users/[0-9a-f-]*"' <<<"$USERS" | head -n 1 | sed 's/.*users\/\([^"]*\)"/\1/')
[ -n "$ADMIN_ID" ] || die "no user id on /users"
CSRF=$(curl -sf -b "$JAR" "$BASE/users/$ADMIN_ID" | field csrf_token)
printf 'name=schemathesis&csrf_token=%s' "$CSRF" >"$W/token.form"
COFFER_API_TOKEN=$(curl -sf -b "$JAR" --data-binary "@$W/token.form" "$BASE/users/$ADMIN_ID/tokens" \
    | grep -o '<code id="new-token">[0-9a-f]*</code>' | grep -o '[0-9a-f]\{64\}')
[ -n "$COFFER_API_TOKEN" ] || die "could not issue an API token"
export COFFER_API_TOKEN
printf 'Authorization: Bearer %s\n' "$COFFER_API_TOKEN" >"$W/auth.header"

# Something to find: one finished backup and one schedule.
curl -sf -o /dev/null -H "@$W/auth.header" -H 'Content-Type: application/json' \
    --data '{"scope": "all", "kind": "full", "name": "seed"}' "$BASE/api/v1/backups" \
    || die "could not queue the seed backup"
for _ in $(seq 1 100); do
    curl -sf -H "@$W/auth.header" "$BASE/api/v1/backups?status=success" | grep -q '"total":1' && break
    sleep 0.2
done

cat >"$W/schemathesis.toml" <<'TOML'
headers = { Authorization = "Bearer ${COFFER_API_TOKEN}" }
TOML
CHECKS=not_a_server_error,status_code_conformance,content_type_conformance,response_headers_conformance,response_schema_conformance
ARGS=(--checks "$CHECKS" --max-examples "$MAX_EXAMPLES" --workers 1 --seed 16
      --exclude-path-regex '/restore$'
      --report junit,ndjson --report-dir "$W/report")
[ -n "$MAX_TIME" ] && ARGS+=(--max-time "$MAX_TIME")
log "schemathesis $(st --version | awk '{print $NF}') against $BASE/api/v1/openapi.json (checks: $CHECKS)"
set +e
st --config-file "$W/schemathesis.toml" --no-color run "$BASE/api/v1/openapi.json" "${ARGS[@]}" \
    >"$W/st.out" 2>&1
RC=$?
set -e
cat "$W/st.out"
# Every answer's status, from the NDJSON event log.
STATUSES=$(grep -o '"status_code": *[0-9]*' "$W/report/"*.ndjson | grep -o '[0-9]*$' | sort | uniq -c \
    | awk '{printf "%s%s: %s", sep, $2, $1; sep = ", "}')
FIVE_XX=$({ grep -o '"status_code": *5[0-9][0-9]' "$W/report/"*.ndjson || true; } | wc -l)
echo
echo "| figure | value |"
echo "| --- | --- |"
echo "| schemathesis exit code | $RC |"
echo "| operations | $(grep -o 'tests=\"[0-9]*\"' "$W/report/"*.xml 2>/dev/null | head -n 1 | grep -o '[0-9]*') |"
echo "| failing operations | $(grep -o 'failures=\"[0-9]*\"' "$W/report/"*.xml 2>/dev/null | head -n 1 | grep -o '[0-9]*') |"
echo "| test cases | $(grep -o '[0-9]* generated, [0-9]* passed' "$W/st.out" | tail -n 1) |"
echo "| answers by status | $STATUSES |"
echo "| 5xx answers seen | $FIVE_XX |"
# Coffer's own error lines ("request failed"); actix's own parse errors for the malformed
# requests schemathesis probes with (a NUL byte in a header) are not answers of the API.
echo "| errors in Coffer's log | $(grep -c 'ERROR coffer' "$W/serve.log" || true) |"
exit "$RC"
