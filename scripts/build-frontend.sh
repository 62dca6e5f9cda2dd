#!/usr/bin/env bash
# Builds the lesson page in release mode into target/site, which the backend serves:
# cargo builds the wasm, wasm-bindgen writes its JS glue, wasm-opt shrinks it, and
# scripts/page-assets.mjs names the files by content hash, writes index.html and
# precompresses everything. No trunk: trunk is only for `trunk serve` while authoring.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh

out="$PWD/target/site"
target_dir=${CARGO_TARGET_DIR:-$PWD/target}
bindgen="$target_dir/page-bindgen"

cargo build --locked --target wasm32-unknown-unknown --profile wasm-release \
  -p bluetick-frontend --bin bluetick-frontend
rm -rf "$bindgen"
wasm-bindgen --target web --no-typescript --out-dir "$bindgen" --out-name bluetick-frontend \
  "$target_dir/wasm32-unknown-unknown/wasm-release/bluetick-frontend.wasm"
# binaryen 132 from npm (Debian's 108 produces a module Chromium refuses).
wasm-opt -Oz --enable-bulk-memory --enable-nontrapping-float-to-int --enable-sign-ext \
  --enable-reference-types --enable-multivalue --enable-mutable-globals \
  "$bindgen/bluetick-frontend_bg.wasm" -o "$bindgen/bluetick-frontend_bg.wasm"
node scripts/page-assets.mjs "$bindgen" "$out"
