#!/usr/bin/env python3
"""The declared minimum Rust version (Cargo.toml `rust-version`) holds for the lock file.

Without the toolchain of that version (`cargo +<rust-version> check`, run by ci.yml on
GitHub), this is the part that can be checked offline: every package in the resolved graph
(`cargo metadata --locked`: all targets, all workspace members, dev-dependencies too)
declares a `rust-version` no newer than ours. Our own code's use of newer std APIs is
caught by clippy's `incompatible_msrv` lint, which reads the same `rust-version` (in the
`suspicious` group, denied by `-D warnings` in .ci/run). Exit 1 names each offender.
"""

import json
import subprocess
import sys


def version(text):
    parts = [int(p) for p in text.split(".")]
    return tuple(parts + [0] * (3 - len(parts)))


def main():
    meta = json.loads(
        subprocess.run(
            ["cargo", "metadata", "--locked", "--format-version", "1"],
            check=True,
            capture_output=True,
            text=True,
        ).stdout
    )
    packages = {p["id"]: p for p in meta["packages"]}
    root = packages[meta["resolve"]["root"]] if meta["resolve"].get("root") else None
    members = [packages[i] for i in meta["workspace_members"]]
    ours = (root or members[0]).get("rust_version")
    if not ours:
        print("check-msrv: Cargo.toml declares no rust-version", file=sys.stderr)
        return 1
    resolved = [packages[n["id"]] for n in meta["resolve"]["nodes"]]
    newer = [
        (p["name"], p["version"], p["rust_version"])
        for p in resolved
        if p.get("rust_version") and version(p["rust_version"]) > version(ours)
    ]
    for m in members:
        if m.get("rust_version") and m["rust_version"] != ours:
            newer.append((m["name"], m["version"], m["rust_version"] + " (workspace member)"))
    if newer:
        for name, ver, rv in sorted(newer):
            print(f"check-msrv: {name} {ver} needs Rust {rv}, above rust-version {ours}", file=sys.stderr)
        return 1
    top = max(
        (version(p["rust_version"]), p["name"]) for p in resolved if p.get("rust_version")
    )
    print(
        f"check-msrv: rust-version {ours} holds for {len(resolved)} locked packages "
        f"(highest: {top[1]} at {'.'.join(map(str, top[0]))})"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
