//! `jitaa-demo`: the self-contained run of DESIGN.md "Local stand-in and demo", on a
//! machine with no GitHub account. It starts the stand-in (GitHub API and OIDC issuer
//! on 127.0.0.1), makes a repository with a policy and CODEOWNERS and a bare `origin`,
//! runs a real `jitaa gate` process for a pull request, has the code owner comment
//! `/approve`, and ends with `jitaa audit verify` on the record — printing each step.
//!
//! Run it through `./demo.sh`, which builds jitaa first. `JITAA_BIN` overrides where the
//! jitaa binary is looked for (default: next to this program).

use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitCode, Stdio};
use std::time::{Duration, Instant};

use fakehub::{FakeHub, PrSpec};

const REPO: &str = "acme/api";

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("\ndemo failed: {e}");
            ExitCode::FAILURE
        }
    }
}

fn step(n: u32, text: &str) {
    println!("\n\x1b[1m[{n}] {text}\x1b[0m");
}

fn run() -> Result<(), String> {
    let jitaa = jitaa_bin()?;
    let work = std::env::temp_dir().join(format!("jitaa-demo-{}", std::process::id()));
    std::fs::create_dir_all(&work).map_err(|e| format!("{}: {e}", work.display()))?;
    println!("jitaa demo — everything happens under {}", work.display());

    step(
        1,
        "Start the GitHub stand-in and its OIDC issuer on 127.0.0.1",
    );
    let hub = FakeHub::start_blocking();
    println!("    GitHub API and OIDC issuer: {}", hub.url());
    hub.add_repo(REPO);
    let bot_token = hub.add_bot("github-actions[bot]", 41898282);
    hub.add_user("alice", 1001);
    hub.add_user("bob", 1002);
    hub.set_permission(REPO, "alice", "write");
    hub.set_permission(REPO, "bob", "write");
    println!("    users: alice (code owner of src/), bob (opens the pull request)");

    step(2, "Make a signing key for audit records (jitaa keygen)");
    let keys = work.join("keys");
    run_ok(
        Command::new(&jitaa)
            .args(["keygen", "--principal", "jitaa@acme", "--out"])
            .arg(&keys),
    )?;
    let allowed = std::fs::read_to_string(keys.join("allowed_signers"))
        .map_err(|e| format!("reading allowed_signers: {e}"))?;

    step(
        3,
        "Create the repository: policy, CODEOWNERS, a bare origin",
    );
    let origin = work.join("origin.git");
    let repo = work.join("checkout");
    git(
        &work,
        &["init", "-q", "--bare", "-b", "main", path(&origin)?],
    )?;
    git(&work, &["init", "-q", "-b", "main", path(&repo)?])?;
    git(&repo, &["remote", "add", "origin", path(&origin)?])?;
    write(
        &repo.join(".github/jitaa.yml"),
        "version: 1\n\
audit:\n  signing: [ssh, github-oidc]\n  allowed_signers: .github/jitaa-allowed-signers\n\
defaults:\n  approvals: 1\n  approvers: codeowners\n  timeout: 5m\n  ttl: 15m\n\
rules:\n  - name: production\n    match: { environment: production }\n    approvals: 1\n",
    )?;
    write(&repo.join(".github/CODEOWNERS"), "*       @alice\n")?;
    write(&repo.join(".github/jitaa-allowed-signers"), &allowed)?;
    write(&repo.join("src/app.txt"), "version 1\n")?;
    git(&repo, &["add", "-A"])?;
    git(
        &repo,
        &["commit", "-q", "-m", "initial: policy and CODEOWNERS"],
    )?;
    git(&repo, &["push", "-q", "origin", "main"])?;
    let base = git(&repo, &["rev-parse", "HEAD"])?;
    println!("    main at {base}: .github/jitaa.yml, .github/CODEOWNERS (* @alice)");

    step(4, "bob opens a pull request that changes src/app.txt");
    git(&repo, &["checkout", "-q", "-b", "feature"])?;
    write(&repo.join("src/app.txt"), "version 2\n")?;
    git(&repo, &["commit", "-q", "-am", "bump the app to version 2"])?;
    git(&repo, &["push", "-q", "origin", "feature"])?;
    let head = git(&repo, &["rev-parse", "HEAD"])?;
    let pr = hub.add_pr(
        REPO,
        PrSpec {
            title: "Bump the app to version 2".into(),
            author: "bob".into(),
            head_sha: head.clone(),
            head_ref: "feature".into(),
            base_sha: base.clone(),
            base_ref: "main".into(),
            files: vec!["src/app.txt".into()],
            ..PrSpec::default()
        },
    );
    println!("    pull request #{pr}: feature ({head}) into main");

    step(
        5,
        "Run `jitaa gate --environment production` as the Actions step would",
    );
    let run_id = "4242";
    hub.oidc().set_claims(serde_json::json!({
        "repository": REPO, "repository_owner": "acme",
        "sha": head, "ref": "refs/pull/1/merge", "ref_type": "branch",
        "event_name": "pull_request", "environment": "production",
        "actor": "bob", "actor_id": "1002", "run_id": run_id, "run_attempt": "1",
        "head_ref": "feature", "base_ref": "main",
        "sub": format!("repo:{REPO}:environment:production"),
    }));
    let outputs = work.join("github_output");
    let summary = work.join("step_summary");
    let key = std::fs::read_to_string(keys.join("jitaa_ed25519"))
        .map_err(|e| format!("reading the key: {e}"))?;
    let mut gate = Command::new(&jitaa);
    gate.args(["gate", "--environment", "production"])
        .current_dir(&repo)
        .envs(hub.env())
        .envs(isolated_git_env())
        .env("GITHUB_ACTIONS", "true")
        .env("GITHUB_SERVER_URL", "https://github.example")
        .env("GITHUB_REPOSITORY", REPO)
        .env("GITHUB_SHA", &head)
        .env("GITHUB_REF", "refs/pull/1/merge")
        .env("GITHUB_EVENT_NAME", "pull_request")
        .env("GITHUB_RUN_ID", run_id)
        .env("GITHUB_RUN_ATTEMPT", "1")
        .env("GITHUB_ACTOR", "bob")
        .env("GITHUB_TOKEN", &bot_token)
        .env("GITHUB_OUTPUT", &outputs)
        .env("GITHUB_STEP_SUMMARY", &summary)
        .env("JITAA_SIGNING_KEY", key.trim())
        .env_remove("GH_TOKEN")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = gate
        .spawn()
        .map_err(|e| format!("starting jitaa gate: {e}"))?;
    let echo = [
        child.stdout.take().map(|o| echo_lines(o, "gate")),
        child.stderr.take().map(|e| echo_lines(e, "gate")),
    ];

    step(6, "Wait for the request comment on the pull request");
    let request = wait_for(&mut child, Duration::from_secs(60), || {
        hub.comments(REPO, pr)
            .into_iter()
            .find(|c| c.user == "github-actions[bot]")
    })?;
    println!("    the gate asked on PR #{pr}:");
    for line in request.body.lines().take(12) {
        println!("    | {line}");
    }

    step(7, "alice, the code owner, comments /approve");
    let approve = hub
        .comment_as("alice", REPO, pr, "Looks good.\n/approve")
        .ok_or("could not comment as alice")?;
    let started = Instant::now();
    let status = wait_exit(&mut child, Duration::from_secs(60))?;
    println!(
        "    jitaa gate exited {} {:.1} s after the comment",
        status.code().unwrap_or(-1),
        started.elapsed().as_secs_f64()
    );
    let reactions: Vec<String> = hub
        .reactions(approve.id)
        .into_iter()
        .map(|r| r.content)
        .collect();
    println!("    reactions on alice's comment: {}", reactions.join(" "));
    if !status.success() {
        return Err(format!("the gate did not approve (exit {status})"));
    }
    for handle in echo.into_iter().flatten() {
        let _ = handle.join();
    }
    println!("    step outputs (GITHUB_OUTPUT):");
    let text = std::fs::read_to_string(&outputs).unwrap_or_default();
    let mut lines = text.lines();
    while let Some(line) = lines.next() {
        if let Some((name, delimiter)) = line.split_once("<<") {
            let value: Vec<&str> = lines.by_ref().take_while(|l| *l != delimiter).collect();
            println!("    | {name} = {}", value.join(" "));
        }
    }

    step(
        8,
        "An auditor clones the audit branch and verifies it with jitaa",
    );
    let auditor = work.join("auditor");
    let signers_file = keys.join("allowed_signers");
    git(
        &work,
        &[
            "clone",
            "-q",
            "--branch",
            "jitaa/audit",
            path(&origin)?,
            path(&auditor)?,
        ],
    )?;
    run_ok(
        Command::new(&jitaa)
            .arg("--repo")
            .arg(&auditor)
            .args(["audit", "log"])
            .envs(hub.env()),
    )?;
    run_ok(
        Command::new(&jitaa)
            .arg("--repo")
            .arg(&auditor)
            .args(["audit", "verify", "--allowed-signers"])
            .arg(keys.join("allowed_signers"))
            .envs(hub.env()),
    )?;
    // The stand-in's issuer is gone when the demo ends: keep its keys, and show a verify
    // command that still passes when pasted (offline: --jwks and --issuer, no variables).
    let jwks = work.join("issuer-jwks.json");
    std::fs::write(&jwks, hub.oidc().jwks().to_string())
        .map_err(|e| format!("writing {}: {e}", jwks.display()))?;
    let again = [
        path(&jitaa)?,
        "--repo",
        path(&auditor)?,
        "audit",
        "verify",
        "--allowed-signers",
        path(&signers_file)?,
        "--jwks",
        path(&jwks)?,
        "--issuer",
        hub.url(),
    ];
    run_ok(
        Command::new(again[0])
            .args(&again[1..])
            .env_remove("JITAA_OIDC_ISSUER")
            .env_remove("GITHUB_API_URL"),
    )?;
    let shown: Vec<String> = again.iter().map(|a| shell_quote(a)).collect();
    println!("    to verify it again yourself, offline (the issuer's keys were saved):");
    println!("    $ {}", shown.join(" "));

    println!("    ...and with stock git: every audit commit carries an SSH signature");
    let signers = signers_file;
    let allowed_cfg = format!("gpg.ssh.allowedSignersFile={}", path(&signers)?);
    let verified = Command::new("git")
        .current_dir(&auditor)
        .envs(isolated_git_env())
        .args([
            "-c",
            "gpg.format=ssh",
            "-c",
            &allowed_cfg,
            "verify-commit",
            "HEAD",
        ])
        .output()
        .map_err(|e| format!("running git verify-commit: {e}"))?;
    let said = String::from_utf8_lossy(&verified.stderr);
    for line in said.lines() {
        println!("    git> {line}");
    }
    if !verified.status.success() {
        return Err("git verify-commit refused the audit commit".into());
    }

    println!("\nDone: approved by a code owner, recorded, signed and verified.");
    println!("Look around in {}", work.display());
    Ok(())
}

/// Prints a child's output lines indented, with `::add-mask::` secrets left out.
fn echo_lines(
    stream: impl std::io::Read + Send + 'static,
    label: &'static str,
) -> std::thread::JoinHandle<()> {
    std::thread::spawn(move || {
        use std::io::BufRead;
        for line in std::io::BufReader::new(stream)
            .lines()
            .map_while(Result::ok)
        {
            if line.starts_with("::add-mask::") {
                println!("    {label}> ::add-mask::*** (the OIDC token, masked in Actions logs)");
            } else {
                println!("    {label}> {line}");
            }
        }
    })
}

fn jitaa_bin() -> Result<PathBuf, String> {
    if let Ok(p) = std::env::var("JITAA_BIN") {
        return Ok(PathBuf::from(p));
    }
    let me = std::env::current_exe().map_err(|e| e.to_string())?;
    let candidate = me.with_file_name(format!("jitaa{}", std::env::consts::EXE_SUFFIX));
    if candidate.exists() {
        Ok(candidate)
    } else {
        Err(format!(
            "{} not found: build it first (./demo.sh does), or set JITAA_BIN",
            candidate.display()
        ))
    }
}

fn isolated_git_env() -> Vec<(&'static str, &'static str)> {
    vec![
        ("GIT_CONFIG_GLOBAL", "/dev/null"),
        ("GIT_CONFIG_NOSYSTEM", "1"),
        ("GIT_AUTHOR_NAME", "bob"),
        ("GIT_AUTHOR_EMAIL", "bob@example.com"),
        ("GIT_COMMITTER_NAME", "bob"),
        ("GIT_COMMITTER_EMAIL", "bob@example.com"),
    ]
}

fn path(p: &Path) -> Result<&str, String> {
    p.to_str()
        .ok_or_else(|| format!("{} is not UTF-8", p.display()))
}

fn write(path: &Path, text: &str) -> Result<(), String> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    }
    std::fs::write(path, text).map_err(|e| format!("{}: {e}", path.display()))
}

fn git(dir: &Path, args: &[&str]) -> Result<String, String> {
    let out = Command::new("git")
        .current_dir(dir)
        .args(args)
        .envs(isolated_git_env())
        .output()
        .map_err(|e| format!("running git: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "git {} failed: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
}

fn run_ok(cmd: &mut Command) -> Result<(), String> {
    let status = cmd
        .envs(isolated_git_env())
        .status()
        .map_err(|e| format!("running {:?}: {e}", cmd.get_program()))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!(
            "{:?} exited {status}",
            cmd.get_args().collect::<Vec<_>>()
        ))
    }
}

fn wait_for<T>(
    child: &mut Child,
    limit: Duration,
    mut found: impl FnMut() -> Option<T>,
) -> Result<T, String> {
    let start = Instant::now();
    loop {
        if let Some(t) = found() {
            return Ok(t);
        }
        if let Ok(Some(status)) = child.try_wait() {
            return Err(format!("jitaa gate exited early ({status})"));
        }
        if start.elapsed() > limit {
            let _ = child.kill();
            return Err("timed out waiting for the gate".into());
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn wait_exit(child: &mut Child, limit: Duration) -> Result<std::process::ExitStatus, String> {
    let start = Instant::now();
    loop {
        if let Some(status) = child.try_wait().map_err(|e| e.to_string())? {
            return Ok(status);
        }
        if start.elapsed() > limit {
            let _ = child.kill();
            return Err("the gate did not finish in time".into());
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// `arg` as a POSIX shell reads it back: bare when it is plainly safe, else single-quoted.
fn shell_quote(arg: &str) -> String {
    let safe = |c: char| c.is_ascii_alphanumeric() || "/._-:=@%+,".contains(c);
    if !arg.is_empty() && arg.chars().all(safe) {
        arg.to_string()
    } else {
        format!("'{}'", arg.replace('\'', "'\\''"))
    }
}
