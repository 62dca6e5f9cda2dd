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

tools_install_start

cargo build --locked --target wasm32-unknown-unknown --profile wasm-release \
  -p bluetick-frontend --bin bluetick-frontend
cargo build --release --locked -p bluetick-backend --bin bluetick

tools_install_wait
scripts/build-frontend.sh
exec target/release/bluetick --static-dir "$PWD/target/site" "$@"
