#!/usr/bin/env bash
# Installs the jitaa binary for this runner and prints `bin=<path>` to GITHUB_OUTPUT.
# Used by action.yml. What runs is decided by the action's own commit, not by the release
# it downloads:
#   - the version is dist/VERSION of the action's tree (the release workflow commits it
#     to the tagged tree, so `@v1`, `@v1.2.3` and a SHA pin all name one release);
#   - the release asset for RUNNER_OS/RUNNER_ARCH must match dist/SHA256SUMS of the same
#     tree, else it is refused (exit 4) and never run;
#   - where `gh` is present, the asset's build-provenance attestation must verify too;
#   - downloads are https only (http only for a loopback test server), TLS 1.2+, retried.
# A source build (cargo) happens only when the action's tree names no release (no
# dist/VERSION, e.g. `@main`) or the release has no asset for this target; it is slow
# and says so. The `version` input picks another release: its checksum then comes from
# that release's SHA256SUMS, trusted only after `gh attestation verify`.
# Exit codes: 2 unsupported runner or unusable input, 4 verification failed, 5 download
# or build failed.
set -euo pipefail

log() { echo "jitaa-install: $*"; }
fail() { # code message
  echo "::error::$2"
  exit "$1"
}

action="${ACTION_PATH:-$(cd "$(dirname "$0")/.." && pwd)}"
os="${RUNNER_OS:-$(uname -s)}"
arch="${RUNNER_ARCH:-$(uname -m)}"
case "$os/$arch" in
  Linux/X64 | Linux/x86_64) target=x86_64-unknown-linux-musl ;;
  Linux/ARM64 | Linux/aarch64) target=aarch64-unknown-linux-musl ;;
  macOS/ARM64 | Darwin/arm64) target=aarch64-apple-darwin ;;
  macOS/X64 | Darwin/x86_64) target=x86_64-apple-darwin ;;
  Windows/X64) target=x86_64-pc-windows-msvc ;;
  *)
    fail 2 "jitaa has no build for this runner ($os/$arch). Supported: Linux X64 and ARM64, macOS ARM64 and X64, Windows X64."
    ;;
esac
exe=""
[ "$os" = Windows ] && exe=".exe"
asset="jitaa-$target$exe"
dest="${RUNNER_TEMP:-${TMPDIR:-/tmp}}/jitaa-bin"
mkdir -p "$dest"
bin="$dest/jitaa$exe"
server="${GITHUB_SERVER_URL:-https://github.com}"
server="${server%/}"

# https only; plain http only for a test server on the loopback interface.
proto='=https'
if [[ "$server" =~ ^http://(127\.0\.0\.1|localhost|\[::1\])(:[0-9]+)?$ ]]; then
  proto='=http,https'
fi

sha256() {
  if command -v sha256sum >/dev/null 2>&1; then
    sha256sum "$1" | cut -d' ' -f1
  else
    shasum -a 256 "$1" | cut -d' ' -f1
  fi
}

# The sha256 listed for the asset in a SHA256SUMS file ("<hex>  <name>" or "<hex> *<name>").
sum_of() {
  awk -v a="$asset" '$2==a || $2=="*"a {print $1; exit}' "$1"
}

# download URL FILE: curl's exit status; the HTTP status is left in $status.
# Retries: 4, on timeouts, refused connections and 408/429/5xx (not on 404), with curl's
# backoff (1, 2, 4, 8 s) unless JITAA_INSTALL_RETRY_DELAY sets a fixed delay.
retry=(--retry 4 --retry-connrefused --retry-max-time 120)
[ -n "${JITAA_INSTALL_RETRY_DELAY:-}" ] && retry+=(--retry-delay "$JITAA_INSTALL_RETRY_DELAY")
download() {
  local rc=0
  curl --proto "$proto" --proto-redir '=https' --tlsv1.2 -fsSL "${retry[@]}" --connect-timeout 20 \
    -w '%{http_code}' -o "$2" "$1" >"$dest/.http-status" || rc=$?
  status=$(cat "$dest/.http-status" 2>/dev/null || true)
  return "$rc"
}

# The repository the action comes from: the action context, else the runner's layout
# (<work>/_actions/OWNER/REPO/REF).
repo="${ACTION_REPO:-}"
if [ -z "$repo" ] && [[ "$action" =~ _actions/([^/]+)/([^/]+)/[^/]+/?$ ]]; then
  repo="${BASH_REMATCH[1]}/${BASH_REMATCH[2]}"
fi

pinned=""
[ -f "$action/dist/VERSION" ] && pinned=$(tr -d ' \r\n' <"$action/dist/VERSION")
version="${JITAA_VERSION:-$pinned}"
expected=""
from_tree=false
if [ -n "$version" ] && [ "$version" = "$pinned" ] && [ -f "$action/dist/SHA256SUMS" ]; then
  expected=$(sum_of "$action/dist/SHA256SUMS")
  from_tree=true
fi
if [ -n "$version" ] && ! [[ "$version" =~ ^v?[0-9A-Za-z._-]+$ ]]; then
  fail 2 "the jitaa version '$version' is not a release tag"
fi

build_reason=""
if [ -z "$version" ]; then
  build_reason="this action's commit names no jitaa release (no dist/VERSION: a branch such as @main, not a release tag or a release commit)"
elif [ -z "$repo" ]; then
  fail 2 "cannot tell which repository this action comes from (no github.action_repository); pin it by a release tag or SHA"
elif $from_tree && [ -z "$expected" ]; then
  build_reason="release $version has no $asset (dist/SHA256SUMS lists none)"
fi

installed=""
if [ -z "$build_reason" ]; then
  base="$server/$repo/releases/download/$version"
  log "downloading $asset of jitaa $version from $base"
  got=0
  download "$base/$asset" "$bin.download" || got=$?
  if [ "$got" != 0 ] && [ "$status" = 404 ]; then
    rm -f "$bin.download"
    $from_tree && fail 5 "release $version of $repo has no asset $asset although dist/SHA256SUMS lists it"
    build_reason="release $version of $repo has no asset $asset"
  elif [ "$got" != 0 ]; then
    rm -f "$bin.download"
    fail 5 "downloading $base/$asset failed after retries (curl exit $got, HTTP ${status:-none}); not building from source instead"
  fi
fi

if [ -z "$build_reason" ]; then
  attested=false
  if ! $from_tree; then
    # Another release than the action's own: its SHA256SUMS is only as good as its
    # attestation, so gh must be here to check it.
    command -v gh >/dev/null 2>&1 ||
      fail 4 "version $version is not this action's release ($pinned); without gh its checksum cannot be verified independently. Pin the action to that release instead."
    download "$base/SHA256SUMS" "$dest/SHA256SUMS" ||
      fail 5 "downloading $base/SHA256SUMS failed (HTTP ${status:-none})"
    expected=$(sum_of "$dest/SHA256SUMS")
  fi
  actual=$(sha256 "$bin.download")
  if [ -z "$expected" ] || [ "$actual" != "$expected" ]; then
    rm -f "$bin.download"
    fail 4 "checksum mismatch for $asset of jitaa $version: expected '${expected:-none}', got $actual; not running it"
  fi
  if command -v gh >/dev/null 2>&1; then
    if gh attestation verify "$bin.download" --repo "$repo" \
      --signer-workflow "$repo/.github/workflows/release.yml" >"$dest/attestation.log" 2>&1; then
      attested=true
    else
      rm -f "$bin.download"
      cat "$dest/attestation.log" >&2 || true
      fail 4 "the build-provenance attestation of $asset did not verify (gh attestation verify); not running it"
    fi
  fi
  mv "$bin.download" "$bin"
  chmod +x "$bin"
  installed=release
  how="sha256 $actual matches $($from_tree && echo "the action's dist/SHA256SUMS" || echo "the release's SHA256SUMS")"
  $attested && how="$how; build provenance attested by $repo/.github/workflows/release.yml"
  log "jitaa $version ($asset) installed: $how"
fi

if [ -z "$installed" ]; then
  echo "::warning::Building jitaa from source: $build_reason. This takes minutes (a fat-LTO release build); pin the action to a release (uses: OWNER/jitaa@v1) for a verified prebuilt binary."
  command -v cargo >/dev/null 2>&1 || fail 5 "no release binary and no cargo to build jitaa from source"
  started=$(date +%s)
  cargo build --release --locked --manifest-path "$action/Cargo.toml" --bin jitaa ||
    fail 5 "building jitaa from source failed"
  cp "$action/target/release/jitaa$exe" "$bin"
  log "built jitaa from source in $(($(date +%s) - started))s"
fi
echo "bin=$bin" >>"${GITHUB_OUTPUT:-/dev/null}"
