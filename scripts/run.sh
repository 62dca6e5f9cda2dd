#!/usr/bin/env bash
# `make run`: install what is missing, build the page and the server, start the server.
# Extra arguments go to the server: scripts/run.sh --addr 0.0.0.0:8080 --data-dir /srv/bluetick
#
# On a fresh machine the tools install in the background while cargo compiles the page
# and the server, so the two overlap instead of queueing.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-tools.sh --target
source scripts/env.sh

install_log=$(mktemp)
install_pid=""
cleanup() {
  [ -n "$install_pid" ] && kill "$install_pid" 2>/dev/null || true
  rm -f "$install_log"
}
trap cleanup EXIT
scripts/install-tools.sh >"$install_log" 2>&1 &
install_pid=$!

cargo build --locked --target wasm32-unknown-unknown --profile wasm-release \
  -p bluetick-frontend --bin bluetick-frontend
cargo build --release --locked -p bluetick-backend --bin bluetick

status=0
wait "$install_pid" || status=$?
install_pid=""
cat "$install_log"
[ "$status" -eq 0 ] || { echo "run: installing the tools failed (exit $status)" >&2; exit "$status"; }
scripts/build-frontend.sh
rm -f "$install_log"
trap - EXIT
exec target/release/bluetick --static-dir "$PWD/target/site" "$@"
