# Sourced by the other scripts: the PATH and settings every build step shares.
export PATH="$PWD/node_modules/.bin:$HOME/.cargo/bin:$PATH"
# trunk: never look for a newer trunk online.
export TRUNK_SKIP_VERSION_CHECK=true

# Installs what is missing (scripts/install-tools.sh "$@") in the background, so a script
# can compile meanwhile; its output is shown by tools_install_wait. On a fresh machine the
# downloads and the install's own build fill the cores a compile leaves idle.
tools_install_start() {
  tools_log=$(mktemp)
  scripts/install-tools.sh "$@" >"$tools_log" 2>&1 &
  tools_pid=$!
  trap 'kill "$tools_pid" 2>/dev/null; rm -f "$tools_log"' EXIT
}

# Waits for tools_install_start's install, prints what it said, and stops the calling
# script if it failed.
tools_install_wait() {
  local status=0
  wait "$tools_pid" || status=$?
  cat "$tools_log"
  rm -f "$tools_log"
  trap - EXIT
  if [ "$status" -ne 0 ]; then
    echo "installing the tools failed (exit $status)" >&2
    exit "$status"
  fi
}
