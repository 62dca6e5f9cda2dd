#!/usr/bin/env bash
# Installs what bluetick needs to build (and, with --browser, to test), and only what is
# missing: running it twice does nothing the second time. Versions are pinned here and
# nowhere else on the machine.
#
#   scripts/install-tools.sh            # wasm32 target, wasm-bindgen-cli, npm tools
#   scripts/install-tools.sh --browser  # also Debian's chromium + chromium-driver
#   scripts/install-tools.sh --trunk    # also trunk, for `trunk serve` while authoring
#   scripts/install-tools.sh --target   # only the wasm32 target (scripts/test.sh starts
#                                       # with it, then installs the rest while compiling)
#   scripts/install-tools.sh --mosquitto  # only Debian's mosquitto, for scripts/bench.sh's
#                                         # mqtt-baseline (never part of `make test`)
set -euo pipefail
cd "$(dirname "$0")/.."

TRUNK_VERSION=0.21.14
# wasm-bindgen-cli must match the wasm-bindgen crate in Cargo.lock byte for byte.
WASM_BINDGEN_VERSION=$(awk '/^name = "wasm-bindgen"$/ { getline; gsub(/version = |"/, ""); print; exit }' Cargo.lock)
[ -n "$WASM_BINDGEN_VERSION" ] || { echo "install-tools: no wasm-bindgen in Cargo.lock" >&2; exit 1; }

browser=no trunk=no target_only=no mosquitto_only=no
for arg in "$@"; do
  case "$arg" in
    --browser) browser=yes ;;
    --trunk) trunk=yes ;;
    --target) target_only=yes ;;
    --mosquitto) mosquitto_only=yes ;;
    *) echo "install-tools: unknown option $arg (use --browser, --trunk, --target or --mosquitto)" >&2; exit 2 ;;
  esac
done

export PATH="$HOME/.cargo/bin:$PATH"
say() { printf 'install-tools: %s\n' "$*"; }
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"

if [ "$mosquitto_only" = yes ]; then
  # Debian puts the broker in /usr/sbin, which is not on every user's PATH.
  if ! command -v mosquitto >/dev/null && [ ! -x /usr/sbin/mosquitto ]; then
    say "installing Debian's mosquitto (the broker mqtt-baseline compares against)"
    $SUDO apt-get update
    # Only the executable is used: the load generator starts it with its own config on
    # a port of its own (the package's service, if systemd starts it, is left alone).
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y --no-install-recommends mosquitto
  fi
  exit 0
fi

if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
  say "adding the wasm32-unknown-unknown target"
  rustup target add wasm32-unknown-unknown
fi
[ "$target_only" = yes ] && exit 0

if [ "$browser" = yes ]; then
  if ! command -v chromium >/dev/null || ! command -v chromedriver >/dev/null; then
    say "installing Debian's chromium and chromium-driver"
    $SUDO apt-get update
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y --no-install-recommends chromium chromium-driver
  fi
fi

# npm tools (wasm-opt from binaryen 132, playwright-core), exactly as package-lock.json
# says. Re-run `npm ci` only when the lockfile changed since the last install.
if ! cmp -s package-lock.json node_modules/.bluetick-installed-lock 2>/dev/null; then
  say "installing npm tools (npm ci)"
  npm ci --no-audit --no-fund
  cp package-lock.json node_modules/.bluetick-installed-lock
fi

if ! wasm-bindgen --version 2>/dev/null | grep -qx "wasm-bindgen $WASM_BINDGEN_VERSION" \
   || ! command -v wasm-bindgen-test-runner >/dev/null; then
  say "installing wasm-bindgen-cli $WASM_BINDGEN_VERSION (about 5 minutes)"
  # Not --locked: its lockfile pins a crate version the registry no longer serves.
  cargo install wasm-bindgen-cli --version "$WASM_BINDGEN_VERSION" --force
fi

if [ "$trunk" = yes ] && ! trunk --version 2>/dev/null | grep -qx "trunk $TRUNK_VERSION"; then
  say "installing trunk $TRUNK_VERSION (about 14 minutes on 2 cores)"
  cargo install trunk --locked --version "$TRUNK_VERSION"
fi
