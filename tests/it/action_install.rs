//! action.yml's installer (scripts/install-action-binary.sh), run for real against a
//! stand-in of the release server on the loopback interface. What a user of
//! `uses: OWNER/jitaa@v1` relies on:
//! - the version and the checksums come from the action's own tree (dist/VERSION,
//!   dist/SHA256SUMS), never from the release being checked;
//! - the asset is the one for RUNNER_OS/RUNNER_ARCH; an unsupported runner gets a clear
//!   `::error::`;
//! - a first download that fails is retried; a tampered binary is refused (exit 4) and
//!   never installed; plain http is refused except on 127.0.0.1;
//! - a release other than the action's own needs its build-provenance attestation;
//! - cargo builds from source only when no release asset exists, and says so.
//!
//! The scripts run with a PATH of the few tools they need plus fakes of `cargo` and `gh`,
//! so a real toolchain or a real `gh` (present on GitHub's runners) never runs here.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::{Arc, Mutex};

use sha2::{Digest, Sha256};

const VERSION: &str = "v1.4.2";
const BASE: &str = "/acme/jitaa/releases/download/v1.4.2";

/// Every target the release builds, with the runner that gets it.
const TARGETS: [(&str, &str, &str); 5] = [
    ("Linux", "X64", "jitaa-x86_64-unknown-linux-musl"),
    ("Linux", "ARM64", "jitaa-aarch64-unknown-linux-musl"),
    ("macOS", "ARM64", "jitaa-aarch64-apple-darwin"),
    ("macOS", "X64", "jitaa-x86_64-apple-darwin"),
    ("Windows", "X64", "jitaa-x86_64-pc-windows-msvc.exe"),
];

/// One answer of the stand-in: a status and a body.
type Reply = (u16, Vec<u8>);

/// The release stand-in: per path a list of replies (the last one repeats), and how
/// often each path was asked for.
struct Server {
    url: String,
    hits: Arc<Mutex<HashMap<String, usize>>>,
}

impl Server {
    fn start(routes: Vec<(String, Vec<Reply>)>) -> Server {
        Server::start_on("127.0.0.1", routes)
    }

    fn start_on(host: &str, routes: Vec<(String, Vec<Reply>)>) -> Server {
        let listener = TcpListener::bind((host, 0)).unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let hits: Arc<Mutex<HashMap<String, usize>>> = Arc::default();
        let seen = hits.clone();
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
                let n = {
                    let mut hits = seen.lock().unwrap();
                    let n = hits.entry(path.clone()).or_insert(0);
                    *n += 1;
                    *n
                };
                let (status, body) = routes
                    .iter()
                    .find(|(p, _)| *p == path)
                    .map_or((404, Vec::new()), |(_, replies)| {
                        replies[(n - 1).min(replies.len() - 1)].clone()
                    });
                let mut out = &stream;
                let _ = write!(
                    out,
                    "HTTP/1.0 {status} X\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                    body.len()
                );
                let _ = out.write_all(&body);
            }
        });
        Server { url, hits }
    }

    fn hits(&self, path: &str) -> usize {
        self.hits.lock().unwrap().get(path).copied().unwrap_or(0)
    }
}

fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

fn sums(entries: &[(&str, &[u8])]) -> String {
    entries
        .iter()
        .map(|(name, body)| format!("{}  {name}\n", sha256_hex(body)))
        .collect()
}

/// A fake build of one target: distinct bytes per asset.
fn build_of(asset: &str) -> Vec<u8> {
    format!("#!/bin/sh\necho {asset}\n").into_bytes()
}

/// One run of the installer: the action's tree, the runner's temp dir, and the fakes.
struct Run {
    action: tempfile::TempDir,
    temp: tempfile::TempDir,
    tools: tempfile::TempDir,
    env: Vec<(String, String)>,
}

impl Run {
    /// An action tree as a release commits it: dist/VERSION and dist/SHA256SUMS.
    fn released(sums_text: &str) -> Run {
        let run = Run::unreleased();
        std::fs::create_dir_all(run.action.path().join("dist")).unwrap();
        std::fs::write(
            run.action.path().join("dist/VERSION"),
            format!("{VERSION}\n"),
        )
        .unwrap();
        std::fs::write(run.action.path().join("dist/SHA256SUMS"), sums_text).unwrap();
        run
    }

    /// An action tree with no dist/ (a branch such as @main).
    fn unreleased() -> Run {
        let run = Run {
            action: tempfile::tempdir().unwrap(),
            temp: tempfile::tempdir().unwrap(),
            tools: tempfile::tempdir().unwrap(),
            // Retry after 1 s, not curl's growing backoff, to keep the tests short.
            env: vec![("JITAA_INSTALL_RETRY_DELAY".to_string(), "1".to_string())],
        };
        // The tools the script uses, and nothing else (no real cargo or gh).
        for tool in [
            "bash",
            "sh",
            "curl",
            "awk",
            "sha256sum",
            "shasum",
            "cut",
            "tr",
            "cat",
            "rm",
            "mv",
            "cp",
            "chmod",
            "mkdir",
            "date",
            "dirname",
            "uname",
            "env",
        ] {
            if let Some(path) = which(tool) {
                symlink(&path, &run.tools.path().join(tool));
            }
        }
        // A fake cargo that "builds" by writing target/release/jitaa and logs its call.
        let log = run.temp.path().join("cargo.log");
        fake(
            run.tools.path(),
            "cargo",
            &format!(
                "echo \"$@\" >> '{}'\nmanifest=''\nprev=''\nfor a in \"$@\"; do [ \"$prev\" = --manifest-path ] && manifest=$a; prev=$a; done\n\
mkdir -p \"$(dirname \"$manifest\")/target/release\"\nprintf 'built from source' > \"$(dirname \"$manifest\")/target/release/jitaa\"\n",
                log.display()
            ),
        );
        run
    }

    fn env(mut self, key: &str, value: &str) -> Run {
        self.env.push((key.to_string(), value.to_string()));
        self
    }

    /// Puts a fake `gh` on PATH that exits with `code` and logs its arguments.
    fn gh(self, code: i32) -> Run {
        let log = self.temp.path().join("gh.log");
        fake(
            self.tools.path(),
            "gh",
            &format!("echo \"$@\" >> '{}'\nexit {code}\n", log.display()),
        );
        self
    }

    fn install(&self, server: &str, os: &str, arch: &str) -> Installed {
        let output = self.temp.path().join("github_output");
        let mut cmd = Command::new(self.tools.path().join("bash"));
        cmd.arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/install-action-binary.sh"))
            .env_clear()
            .env("PATH", self.tools.path())
            .env("HOME", self.temp.path())
            .env("RUNNER_OS", os)
            .env("RUNNER_ARCH", arch)
            .env("RUNNER_TEMP", self.temp.path())
            .env("GITHUB_SERVER_URL", server)
            .env("ACTION_REPO", "acme/jitaa")
            .env("ACTION_PATH", self.action.path())
            .env("GITHUB_OUTPUT", &output);
        for (k, v) in &self.env {
            cmd.env(k, v);
        }
        let out = cmd.output().expect("bash runs");
        let outputs = std::fs::read_to_string(output).unwrap_or_default();
        let bin = outputs
            .trim()
            .strip_prefix("bin=")
            .map(|b| std::fs::read(b).expect("the installed binary"));
        Installed {
            out,
            bin,
            cargo: std::fs::read_to_string(self.temp.path().join("cargo.log")).ok(),
            gh: std::fs::read_to_string(self.temp.path().join("gh.log")).ok(),
            leftovers: std::fs::read_dir(self.temp.path().join("jitaa-bin"))
                .map(|d| {
                    d.flatten()
                        .map(|e| e.file_name().to_string_lossy().into_owned())
                        .filter(|n| n.starts_with("jitaa"))
                        .collect()
                })
                .unwrap_or_default(),
        }
    }
}

struct Installed {
    out: Output,
    /// The bytes of the binary named by `bin=` in GITHUB_OUTPUT.
    bin: Option<Vec<u8>>,
    /// The fake cargo's calls, if any.
    cargo: Option<String>,
    /// The fake gh's calls, if any.
    gh: Option<String>,
    /// Files named jitaa* left in the install directory.
    leftovers: Vec<String>,
}

impl Installed {
    fn code(&self) -> Option<i32> {
        self.out.status.code()
    }
    fn stdout(&self) -> String {
        String::from_utf8_lossy(&self.out.stdout).into_owned()
    }
    fn says(&self) -> String {
        format!(
            "{}{}",
            self.stdout(),
            String::from_utf8_lossy(&self.out.stderr)
        )
    }
}

fn which(tool: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|d| d.join(tool))
        .find(|p| p.is_file())
}

#[cfg(unix)]
fn symlink(from: &Path, to: &Path) {
    std::os::unix::fs::symlink(from, to).unwrap();
}

#[cfg(not(unix))]
fn symlink(from: &Path, to: &Path) {
    std::fs::copy(from, to).unwrap();
}

fn fake(dir: &Path, name: &str, body: &str) {
    let path = dir.join(name);
    std::fs::write(&path, format!("#!/bin/sh\n{body}")).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
}

/// A release with every target, its SHA256SUMS agreeing with the builds.
fn full_release() -> (Vec<(String, Vec<Reply>)>, String) {
    let mut routes = Vec::new();
    let mut listed = Vec::new();
    for (_, _, asset) in TARGETS {
        routes.push((format!("{BASE}/{asset}"), vec![(200, build_of(asset))]));
        listed.push((asset, build_of(asset)));
    }
    let text = listed
        .iter()
        .map(|(a, b)| format!("{}  {a}\n", sha256_hex(b)))
        .collect::<String>();
    routes.push((
        format!("{BASE}/SHA256SUMS"),
        vec![(200, text.clone().into())],
    ));
    (routes, text)
}

#[test]
fn each_runner_gets_its_own_asset_checked_against_the_actions_tree() {
    let (routes, text) = full_release();
    let server = Server::start(routes);
    for (os, arch, asset) in TARGETS {
        let run = Run::released(&text);
        let r = run.install(&server.url, os, arch);
        assert_eq!(r.code(), Some(0), "{os}/{arch}: {}", r.says());
        assert_eq!(r.bin.as_deref(), Some(&build_of(asset)[..]), "{os}/{arch}");
        assert!(r.stdout().contains("matches the action's dist/SHA256SUMS"));
        assert!(r.cargo.is_none(), "no source build when the asset exists");
        let exe = if os == "Windows" {
            "jitaa.exe"
        } else {
            "jitaa"
        };
        assert_eq!(r.leftovers, vec![exe.to_string()], "{os}/{arch}");
    }
    // The release's own SHA256SUMS is never needed when the tree has the checksums.
    assert_eq!(server.hits(&format!("{BASE}/SHA256SUMS")), 0);
}

#[test]
fn an_unsupported_runner_gets_a_clear_error_and_no_download() {
    let (routes, text) = full_release();
    let server = Server::start(routes);
    for (os, arch) in [("Windows", "ARM64"), ("Linux", "ARM"), ("FreeBSD", "X64")] {
        let r = Run::released(&text).install(&server.url, os, arch);
        assert_eq!(r.code(), Some(2), "{os}/{arch}: {}", r.says());
        assert!(
            r.stdout().contains(&format!(
                "::error::jitaa has no build for this runner ({os}/{arch})"
            )),
            "{}",
            r.says()
        );
        assert!(r.bin.is_none() && r.cargo.is_none());
    }
    assert!(server.hits.lock().unwrap().is_empty());
}

#[test]
fn a_failing_first_download_is_retried() {
    let asset = "jitaa-x86_64-unknown-linux-musl";
    let body = build_of(asset);
    let path = format!("{BASE}/{asset}");
    let server = Server::start(vec![(
        path.clone(),
        vec![(503, b"busy".to_vec()), (200, body.clone())],
    )]);
    let r = Run::released(&sums(&[(asset, &body)])).install(&server.url, "Linux", "X64");
    assert_eq!(r.code(), Some(0), "{}", r.says());
    assert_eq!(r.bin.as_deref(), Some(&body[..]));
    assert_eq!(server.hits(&path), 2);
}

#[test]
fn a_tampered_binary_is_refused_and_never_installed() {
    let asset = "jitaa-x86_64-unknown-linux-musl";
    // The release's asset and its SHA256SUMS agree with each other (whoever can upload
    // assets can rewrite both), but not with the checksum committed in the action.
    let evil = b"#!/bin/sh\necho evil\n".to_vec();
    let server = Server::start(vec![
        (format!("{BASE}/{asset}"), vec![(200, evil.clone())]),
        (
            format!("{BASE}/SHA256SUMS"),
            vec![(200, sums(&[(asset, &evil)]).into())],
        ),
    ]);
    let r = Run::released(&sums(&[(asset, &build_of(asset))])).install(&server.url, "Linux", "X64");
    assert_eq!(r.code(), Some(4), "{}", r.says());
    assert!(
        r.stdout().contains("::error::checksum mismatch"),
        "{}",
        r.says()
    );
    assert!(r.bin.is_none());
    assert!(r.leftovers.is_empty(), "{:?}", r.leftovers);
    assert!(
        r.cargo.is_none(),
        "a refused binary is not replaced by a source build"
    );
}

#[test]
fn a_failing_attestation_refuses_even_a_matching_checksum() {
    let asset = "jitaa-aarch64-apple-darwin";
    let body = build_of(asset);
    let server = Server::start(vec![(format!("{BASE}/{asset}"), vec![(200, body.clone())])]);
    let text = sums(&[(asset, &body)]);

    let r = Run::released(&text)
        .gh(1)
        .install(&server.url, "macOS", "ARM64");
    assert_eq!(r.code(), Some(4), "{}", r.says());
    assert!(r.stdout().contains("attestation"), "{}", r.says());
    assert!(r.bin.is_none() && r.leftovers.is_empty());

    let r = Run::released(&text)
        .gh(0)
        .install(&server.url, "macOS", "ARM64");
    assert_eq!(r.code(), Some(0), "{}", r.says());
    let gh = r.gh.clone().unwrap();
    assert!(gh.starts_with("attestation verify "), "{gh}");
    assert!(gh.contains("--repo acme/jitaa"), "{gh}");
    assert!(
        gh.contains("--signer-workflow acme/jitaa/.github/workflows/release.yml"),
        "{gh}"
    );
    assert!(r.stdout().contains("build provenance attested"));
}

#[test]
fn another_release_than_the_actions_own_needs_its_attestation() {
    let (routes, text) = full_release();
    let other = "/acme/jitaa/releases/download/v1.3.0";
    let moved: Vec<(String, Vec<Reply>)> = routes
        .into_iter()
        .map(|(p, r)| (p.replace(BASE, other), r))
        .collect();
    let server = Server::start(moved);

    // No gh: the release's own SHA256SUMS is not enough.
    let r =
        Run::released(&text)
            .env("JITAA_VERSION", "v1.3.0")
            .install(&server.url, "Linux", "X64");
    assert_eq!(r.code(), Some(4), "{}", r.says());
    assert!(r.bin.is_none() && r.cargo.is_none());

    // With gh verifying the attestation, the release's SHA256SUMS is used.
    let r = Run::released(&text)
        .env("JITAA_VERSION", "v1.3.0")
        .gh(0)
        .install(&server.url, "Linux", "X64");
    assert_eq!(r.code(), Some(0), "{}", r.says());
    assert_eq!(
        r.bin.as_deref(),
        Some(&build_of("jitaa-x86_64-unknown-linux-musl")[..])
    );
    assert!(r.stdout().contains("matches the release's SHA256SUMS"));
    assert_eq!(server.hits(&format!("{other}/SHA256SUMS")), 1);

    // A version that is no tag is refused before anything is fetched.
    let r = Run::released(&text)
        .env("JITAA_VERSION", "v1/../../evil")
        .gh(0)
        .install(&server.url, "Linux", "X64");
    assert_eq!(r.code(), Some(2), "{}", r.says());
}

#[test]
fn source_build_only_when_no_release_asset_exists() {
    // The action's tree names no release (used at a branch): build, loudly.
    let server = Server::start(Vec::new());
    let r = Run::unreleased().install(&server.url, "Linux", "X64");
    assert_eq!(r.code(), Some(0), "{}", r.says());
    assert!(r.stdout().contains("::warning::Building jitaa from source"));
    assert!(r.stdout().contains("no dist/VERSION"), "{}", r.says());
    assert_eq!(r.bin.as_deref(), Some(&b"built from source"[..]));
    let cargo = r.cargo.expect("cargo ran");
    assert!(
        cargo.contains("build --release --locked --manifest-path"),
        "{cargo}"
    );
    assert!(
        server.hits.lock().unwrap().is_empty(),
        "nothing to download"
    );

    // The release was built without this target (its SHA256SUMS lists none).
    let r = Run::released(&sums(&[("jitaa-x86_64-unknown-linux-musl", b"x")])).install(
        &server.url,
        "macOS",
        "X64",
    );
    assert_eq!(r.code(), Some(0), "{}", r.says());
    assert!(r.stdout().contains("has no jitaa-x86_64-apple-darwin"));
    assert!(r.cargo.is_some());

    // A version chosen by input whose release has no such asset (404).
    let r = Run::released("")
        .env("JITAA_VERSION", "v0.9.0")
        .gh(0)
        .install(&server.url, "Linux", "ARM64");
    assert_eq!(r.code(), Some(0), "{}", r.says());
    assert!(
        r.stdout()
            .contains("has no asset jitaa-aarch64-unknown-linux-musl")
    );
    assert!(r.cargo.is_some());
    assert_eq!(
        server.hits("/acme/jitaa/releases/download/v0.9.0/jitaa-aarch64-unknown-linux-musl"),
        1,
        "a 404 is not retried"
    );
}

#[test]
fn a_server_error_is_not_turned_into_a_source_build() {
    let asset = "jitaa-x86_64-unknown-linux-musl";
    let path = format!("{BASE}/{asset}");
    let server = Server::start(vec![(path.clone(), vec![(500, Vec::new())])]);
    let r = Run::released(&sums(&[(asset, &build_of(asset))])).install(&server.url, "Linux", "X64");
    assert_eq!(r.code(), Some(5), "{}", r.says());
    assert!(r.stdout().contains("failed after retries"), "{}", r.says());
    assert!(r.cargo.is_none() && r.bin.is_none());
    assert!(server.hits(&path) > 1, "retried");
}

#[test]
fn plain_http_is_refused_unless_the_server_is_127_0_0_1() {
    let asset = "jitaa-x86_64-unknown-linux-musl";
    let body = build_of(asset);
    let path = format!("{BASE}/{asset}");
    // Still the loopback interface, but not an address the script accepts plain http for.
    let server = Server::start_on("127.0.0.2", vec![(path.clone(), vec![(200, body.clone())])]);
    let r = Run::released(&sums(&[(asset, &body)])).install(&server.url, "Linux", "X64");
    assert_eq!(r.code(), Some(5), "{}", r.says());
    assert!(r.bin.is_none() && r.cargo.is_none());
    assert_eq!(server.hits(&path), 0, "curl never spoke plain http");
}

#[test]
fn action_yml_runs_the_installer_with_the_actions_own_version() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(root.join("action.yml")).unwrap();
    let action: serde_json::Value = serde_saphyr::from_str(&text).expect("action.yml is YAML");
    let install = &action["runs"]["steps"][0];
    assert_eq!(install["id"], "install");
    assert!(
        install["run"]
            .as_str()
            .unwrap()
            .contains("scripts/install-action-binary.sh")
    );
    // The version is the input or dist/VERSION: never github.action_ref, which composite
    // actions do not promise.
    assert_eq!(install["env"]["JITAA_VERSION"], "${{ inputs.version }}");
    assert!(!text.contains("action_ref"));
    let syntax = Command::new("bash")
        .arg("-n")
        .arg(root.join("scripts/install-action-binary.sh"))
        .status()
        .unwrap();
    assert!(syntax.success(), "the installer parses");
}

#[test]
fn action_inputs_mirror_the_gate_flags_and_outputs_match_the_contract() {
    let text =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("action.yml")).unwrap();
    let action: serde_json::Value = serde_saphyr::from_str(&text).expect("action.yml is YAML");
    let help = crate::support::jitaa()
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

#[test]
fn the_readmes_event_driven_workflows_are_the_checked_files_in_docs_workflows() {
    // .ci/run runs actionlint on docs/workflows; the README must show exactly them.
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let readme = std::fs::read_to_string(root.join("README.md")).unwrap();
    for name in ["deploy.yml", "jitaa.yml", "jitaa-review.yml"] {
        let file = std::fs::read_to_string(root.join("docs/workflows").join(name)).unwrap();
        let body: String = file
            .lines()
            .skip_while(|l| l.starts_with('#'))
            .map(|l| format!("{l}\n"))
            .collect();
        assert!(
            readme.contains(&format!("```yaml\n{body}```")),
            "README differs from docs/workflows/{name}"
        );
    }
}
