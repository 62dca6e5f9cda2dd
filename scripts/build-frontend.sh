#!/usr/bin/env bash
# Builds the lesson page in release mode into target/site, which the backend serves.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh
# trunk builds offline (Trunk.toml), so dependencies must already be downloaded.
cargo fetch --locked >/dev/null
trunk build --release --dist "$PWD/target/site"
