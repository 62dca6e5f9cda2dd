# Sourced by the other scripts: the PATH and settings every build step shares.
export PATH="$PWD/node_modules/.bin:$HOME/.cargo/bin:$PATH"
# trunk: never look for a newer trunk online.
export TRUNK_SKIP_VERSION_CHECK=true
