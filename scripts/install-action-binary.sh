#!/usr/bin/env bash
# Installs the jitaa binary for this runner: the release asset for RUNNER_OS/RUNNER_ARCH,
# checked against a sha256 before it runs; builds from source only when no release
# binary can be had. Used by action.yml; prints `bin=<path>` to GITHUB_OUTPUT.
set -euo pipefail

case "${RUNNER_OS:-$(uname -s)}/${RUNNER_ARCH:-$(uname -m)}" in
  Linux/X64|Linux/x86_64)     target=x86_64-unknown-linux-musl ;;
  Linux/ARM64|Linux/aarch64)  target=aarch64-unknown-linux-musl ;;
  macOS/ARM64|Darwin/arm64)   target=aarch64-apple-darwin ;;
  macOS/X64|Darwin/x86_64)    target=x86_64-apple-darwin ;;
  Windows/X64)                target=x86_64-pc-windows-msvc ;;
  *) target="" ;;
esac
exe=""; [ "${RUNNER_OS:-}" = Windows ] && exe=".exe"
dest="${RUNNER_TEMP:-${TMPDIR:-/tmp}}/jitaa-bin"
mkdir -p "$dest"
bin="$dest/jitaa$exe"
asset="jitaa-$target$exe"
api="${GITHUB_API_URL:-https://api.github.com}"
server="${GITHUB_SERVER_URL:-https://github.com}"
version="${JITAA_VERSION:-}"

sha256() {
  if command -v sha256sum >/dev/null 2>&1; then sha256sum "$1" | cut -d' ' -f1
  else shasum -a 256 "$1" | cut -d' ' -f1; fi
}

# The expected checksum comes from the action's own tree when the tag ships one
# (dist/SHA256SUMS, committed by the release), else from the release's SHA256SUMS asset.
expected=""
if [ -n "$target" ] && [ -f "${ACTION_PATH:-.}/dist/SHA256SUMS" ]; then
  expected=$(awk -v a="$asset" '$2==a || $2=="*"a {print $1}' "${ACTION_PATH:-.}/dist/SHA256SUMS")
fi

installed=""
if [ -n "$target" ] && [ -n "$version" ] && [ -n "${ACTION_REPO:-}" ]; then
  base="$server/$ACTION_REPO/releases/download/$version"
  auth=()
  [ -n "${GH_TOKEN:-}" ] && auth=(-H "Authorization: Bearer $GH_TOKEN")
  if curl -fsSL "${auth[@]}" -o "$bin.download" "$base/$asset"; then
    if [ -z "$expected" ] && curl -fsSL "${auth[@]}" -o "$dest/SHA256SUMS" "$base/SHA256SUMS"; then
      expected=$(awk -v a="$asset" '$2==a || $2=="*"a {print $1}' "$dest/SHA256SUMS")
    fi
    actual=$(sha256 "$bin.download")
    if [ -n "$expected" ] && [ "$actual" = "$expected" ]; then
      mv "$bin.download" "$bin"; chmod +x "$bin"; installed=release
      echo "jitaa $version ($asset) installed, sha256 $actual verified"
    else
      echo "::error::checksum mismatch for $asset: expected '${expected:-none}', got $actual; not running it"
      rm -f "$bin.download"
      exit 4
    fi
  else
    echo "::warning::no release binary $asset for $version; building from source"
  fi
fi

if [ -z "$installed" ]; then
  command -v cargo >/dev/null 2>&1 || { echo "::error::no release binary and no cargo to build jitaa"; exit 5; }
  cargo build --release --locked --manifest-path "${ACTION_PATH:-.}/Cargo.toml" --bin jitaa
  cp "${ACTION_PATH:-.}/target/release/jitaa$exe" "$bin"
  installed=source
fi
echo "bin=$bin" >> "${GITHUB_OUTPUT:-/dev/null}"
