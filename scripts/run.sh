#!/usr/bin/env bash
# `make run`: install what is missing, build the page, start the server.
# Extra arguments go to the server: scripts/run.sh --addr 0.0.0.0:8080 --data-dir /srv/bluetick
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-tools.sh
scripts/build-frontend.sh
source scripts/env.sh
cargo build --release --locked -p bluetick-backend --bin bluetick
exec target/release/bluetick --static-dir "$PWD/target/site" "$@"
