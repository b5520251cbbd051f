//! action.yml's installer (scripts/install-action-binary.sh) runs a release binary only
//! after its sha256 matches: a tampered asset is refused (exit 4) and never installed, and
//! a checksum pinned in the action's own tree wins over the release's SHA256SUMS (which
//! whoever can upload assets could rewrite). The "release" is served on 127.0.0.1.

use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::path::Path;
use std::process::{Command, Output};

use sha2::{Digest, Sha256};

const ASSET: &str = "jitaa-x86_64-unknown-linux-musl";

/// Serves `files` (path → body) over HTTP/1.0 on 127.0.0.1; 404 for anything else.
fn serve(files: Vec<(String, Vec<u8>)>) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let mut reader = BufReader::new(&stream);
            let mut first = String::new();
            if reader.read_line(&mut first).is_err() {
                continue;
            }
            let mut line = String::new();
            while reader.read_line(&mut line).is_ok_and(|n| n > 2) {
                line.clear();
            }
            let path = first.split_whitespace().nth(1).unwrap_or("").to_string();
            let mut out = &stream;
            match files.iter().find(|(p, _)| *p == path) {
                Some((_, body)) => {
                    let _ = write!(
                        out,
                        "HTTP/1.0 200 OK\r\nContent-Length: {}\r\n\r\n",
                        body.len()
                    );
                    let _ = out.write_all(body);
                }
                None => {
                    let _ = write!(out, "HTTP/1.0 404 Not Found\r\nContent-Length: 0\r\n\r\n");
                }
            }
        }
    });
    url
}

fn hex_sha256(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

fn install(server: &str, action_path: &Path, temp: &Path) -> (Output, String) {
    let output = temp.join("github_output");
    let out = Command::new("bash")
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/install-action-binary.sh"))
        .env("RUNNER_OS", "Linux")
        .env("RUNNER_ARCH", "X64")
        .env("RUNNER_TEMP", temp)
        .env("GITHUB_SERVER_URL", server)
        .env("ACTION_REPO", "acme/jitaa")
        .env("JITAA_VERSION", "v1.0.0")
        .env("ACTION_PATH", action_path)
        .env("GITHUB_OUTPUT", &output)
        .env_remove("GH_TOKEN")
        .output()
        .expect("bash runs");
    (out, std::fs::read_to_string(output).unwrap_or_default())
}

fn release(binary: &[u8], sums: &str) -> Vec<(String, Vec<u8>)> {
    let base = "/acme/jitaa/releases/download/v1.0.0";
    vec![
        (format!("{base}/{ASSET}"), binary.to_vec()),
        (format!("{base}/SHA256SUMS"), sums.as_bytes().to_vec()),
    ]
}

#[test]
fn a_release_binary_with_the_right_checksum_is_installed() {
    let binary = b"#!/bin/sh\necho jitaa\n";
    let server = serve(release(
        binary,
        &format!("{}  {ASSET}\n", hex_sha256(binary)),
    ));
    let temp = tempfile::tempdir().unwrap();
    let action = tempfile::tempdir().unwrap();
    let (out, outputs) = install(&server, action.path(), temp.path());
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let bin = outputs.trim().strip_prefix("bin=").expect("bin= output");
    assert_eq!(std::fs::read(bin).unwrap(), binary);
}

#[test]
fn a_tampered_binary_is_refused_and_never_installed() {
    let binary = b"#!/bin/sh\necho evil\n";
    let server = serve(release(binary, &format!("{}  {ASSET}\n", "0".repeat(64))));
    let temp = tempfile::tempdir().unwrap();
    let action = tempfile::tempdir().unwrap();
    let (out, outputs) = install(&server, action.path(), temp.path());
    assert_eq!(
        out.status.code(),
        Some(4),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("checksum mismatch"));
    assert!(outputs.is_empty());
    assert!(!temp.path().join("jitaa-bin/jitaa").exists());
}

#[test]
fn a_checksum_pinned_in_the_action_wins_over_a_rewritten_release() {
    // The release's asset and SHA256SUMS agree with each other, but not with the pin.
    let binary = b"#!/bin/sh\necho swapped\n";
    let server = serve(release(
        binary,
        &format!("{}  {ASSET}\n", hex_sha256(binary)),
    ));
    let temp = tempfile::tempdir().unwrap();
    let action = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(action.path().join("dist")).unwrap();
    std::fs::write(
        action.path().join("dist/SHA256SUMS"),
        format!("{}  {ASSET}\n", hex_sha256(b"the real build")),
    )
    .unwrap();
    let (out, _) = install(&server, action.path(), temp.path());
    assert_eq!(out.status.code(), Some(4));
    assert!(!temp.path().join("jitaa-bin/jitaa").exists());
}

#[test]
fn action_inputs_mirror_the_gate_flags_and_outputs_match_the_contract() {
    let text =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("action.yml")).unwrap();
    let action: serde_json::Value = serde_saphyr::from_str(&text).expect("action.yml is YAML");
    let help = Command::new(env!("CARGO_BIN_EXE_jitaa"))
        .args(["gate", "--help"])
        .output()
        .unwrap();
    let help = String::from_utf8_lossy(&help.stdout);
    for flag in ["environment", "timeout", "poll", "policy"] {
        assert!(help.contains(&format!("--{flag}")), "gate has --{flag}");
        assert!(action["inputs"][flag].is_object(), "action input {flag}");
    }
    assert!(action["inputs"]["token"].is_object());
    for output in [
        "decision",
        "approvers",
        "record-id",
        "record-digest",
        "expires-at",
    ] {
        assert!(
            action["outputs"][output].is_object(),
            "action output {output}"
        );
    }
    assert_eq!(action["runs"]["using"], "composite");
}
