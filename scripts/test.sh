#!/usr/bin/env bash
# `make test`: install what is missing, then every test bluetick has:
#   1. native tests of every crate (real sockets on port 0, real SQLite files);
#   2. the frontend's wasm-bindgen-tests in headless Chromium;
#   3. browser end-to-end tests against a server this script starts on a free port.
# Exits non-zero on the first failure; stops every process it started.
#
# On a fresh machine the tools (Chromium from Debian, npm packages, wasm-bindgen-cli)
# install in the background while cargo compiles everything the tests need. Tests run
# only once both are done, so no test runs while the machine is busy building.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-tools.sh --target
source scripts/env.sh

step() { printf '\n=== %s (%s)\n' "$*" "$(date +%T)"; }

tools_install_start --browser

step "building the native tests"
# Default members: every crate but the frontend, whose tests run in the browser below.
cargo test --locked --no-run
step "building the wasm-bindgen-tests and the page"
cargo test --locked --no-run -p bluetick-frontend --target wasm32-unknown-unknown
cargo build --locked --target wasm32-unknown-unknown --profile wasm-release \
  -p bluetick-frontend --bin bluetick-frontend
cargo build --locked -p bluetick-backend --bin bluetick

step "waiting for the tools"
tools_install_wait

step "native tests"
cargo test --locked

step "wasm-bindgen-tests in headless Chromium"
# The runner finds chromedriver on PATH; -q would break it (it rejects --quiet).
CHROMEDRIVER=$(command -v chromedriver) \
  cargo test --locked -p bluetick-frontend --target wasm32-unknown-unknown

step "browser end-to-end tests"
scripts/build-frontend.sh
scripts/e2e.sh
