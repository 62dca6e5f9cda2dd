#!/usr/bin/env bash
# Starts the built server on a free port with a fresh data dir, runs the browser tests in
# tests/e2e against it, and stops it again whatever happens. Expects the page in
# target/site and the server in target/debug (scripts/test.sh builds both).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh

work=$(mktemp -d)
server_pid=""
cleanup() {
  if [ -n "$server_pid" ] && kill -0 "$server_pid" 2>/dev/null; then
    kill -TERM "$server_pid" 2>/dev/null || true
    for _ in $(seq 50); do kill -0 "$server_pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$server_pid" 2>/dev/null || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT INT TERM

# The tests sign in to /teach with it (the server reads the same variable).
export BLUETICK_INSTRUCTOR_TOKEN=${BLUETICK_INSTRUCTOR_TOKEN:-e2e-$RANDOM$RANDOM}

# Port 0: the kernel picks a free port, so a stale server elsewhere can never answer.
RUST_LOG=${RUST_LOG:-warn} target/debug/bluetick --addr 127.0.0.1:0 \
  --data-dir "$work/data" --static-dir "$PWD/target/site" >"$work/server.out" 2>"$work/server.err" &
server_pid=$!

url=""
for _ in $(seq 300); do
  url=$(sed -n 's|^bluetick listening on \(http://[^ ]*\).*|\1|p' "$work/server.out")
  [ -n "$url" ] && break
  kill -0 "$server_pid" 2>/dev/null || { cat "$work/server.err" >&2; echo "e2e: server exited" >&2; exit 1; }
  sleep 0.1
done
[ -n "$url" ] || { echo "e2e: server did not report its address" >&2; exit 1; }
echo "e2e: server at $url"

status=0
BLUETICK_URL="$url" node --test --test-concurrency=1 tests/e2e/ || status=$?
if [ "$status" -ne 0 ]; then
  echo "--- server log" >&2
  tail -n 50 "$work/server.err" >&2
fi
exit "$status"
