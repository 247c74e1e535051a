# Shared settings for scripts/: where builds and caches live. Caches are outside the clone, so CI
# runs on fresh clones reuse them when present, and nothing depends on them being there.
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/ferrokafka/cargo-target}"
export VENV="${VENV:-$PWD/.venv}"
if [ -f "$HOME/.cargo/env" ]; then source "$HOME/.cargo/env"; fi
