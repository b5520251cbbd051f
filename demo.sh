#!/usr/bin/env bash
# The self-contained jitaa demo: builds jitaa and the GitHub stand-in, then runs a real
# `jitaa gate` for a pull request, approves it as the code owner, and verifies the
# signed audit record. Needs only cargo and git; no GitHub account, no network.
set -euo pipefail
cd "$(dirname "$0")"
echo "building jitaa and the stand-in (the first build takes a few minutes)..."
cargo build --quiet --locked --bin jitaa -p jitaa --bin jitaa-demo -p fakehub
target_dir=$(cargo metadata --format-version 1 --no-deps --locked | sed -n 's/.*"target_directory":"\([^"]*\)".*/\1/p')
exec "${target_dir:-target}/debug/jitaa-demo" "$@"
