#!/usr/bin/env bash
# `make test`: install what is missing, then every test bluetick has:
#   1. native tests of every crate (real sockets on port 0, real SQLite files);
#   2. the frontend's wasm-bindgen-tests in headless Chromium;
#   3. browser end-to-end tests against a server this script starts on a free port.
# Exits non-zero on the first failure; stops every process it started.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-tools.sh --browser
source scripts/env.sh

step() { printf '\n=== %s\n' "$*"; }

step "native tests"
# Default members: every crate but the frontend, whose tests run in the browser below.
cargo test --locked

step "wasm-bindgen-tests in headless Chromium"
# The runner finds chromedriver on PATH; -q would break it (it rejects --quiet).
CHROMEDRIVER=$(command -v chromedriver) \
  cargo test --locked -p bluetick-frontend --target wasm32-unknown-unknown

step "browser end-to-end tests"
scripts/build-frontend.sh
cargo build --locked -p bluetick-backend --bin bluetick
scripts/e2e.sh
