//! A newcomer's first hour, driven through the real binary: what a person sees on
//! stderr when GitHub is unreachable, and a policy file with many problems reported all
//! at once.

use std::process::{Command, Stdio};

use crate::support::{Done, POLICY, REPO, World, bin, isolated};

/// A loopback port nothing listens on.
fn closed_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    l.local_addr().unwrap().port()
}

/// `jitaa hook pre-push` for a push of `sha` onto `main` (remote tip `remote`), with
/// GitHub at `api`; stderr piped, so no colour is allowed.
fn pre_push(w: &World, api: &str, sha: &str, remote: &str, extra: &[(&str, &str)]) -> Done {
    let mut cmd = Command::new(bin());
    isolated(&mut cmd)
        .current_dir(&w.work)
        .args(["hook", "pre-push", "origin", w.origin.to_str().unwrap()])
        .env("GITHUB_API_URL", api)
        .env("GITHUB_SERVER_URL", api)
        .env("GITHUB_REPOSITORY", REPO)
        .env("GITHUB_TOKEN", &w.tokens["bob"])
        .env_remove("GH_TOKEN")
        .env_remove("GITHUB_ACTIONS")
        .env_remove("JITAA_LOG")
        .env_remove("NO_COLOR")
        .env_remove("RUST_LOG")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (k, v) in extra {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().expect("jitaa runs");
    {
        use std::io::Write;
        let mut stdin = child.stdin.take().unwrap();
        writeln!(stdin, "refs/heads/main {sha} refs/heads/main {remote}").unwrap();
    }
    let out = child.wait_with_output().unwrap();
    Done {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        outputs: Default::default(),
        summary: String::new(),
    }
}

#[test]
fn github_unreachable_says_so_per_retry_and_no_library_line_leaks() {
    let w = World::new(POLICY);
    let sha = w.commit("feature", &[("src/app.rs", "v2\n")]);
    let api = format!("http://127.0.0.1:{}", closed_port());
    let done = pre_push(&w, &api, &sha, &w.main, &[]);
    let err = &done.stderr;
    // The exit code and the final message are those of DESIGN.md: 5, blocked.
    done.assert_code(5);
    assert!(err.contains("GitHub unreachable after 6 tries"), "{err}");
    assert!(err.contains("the push is blocked"), "{err}");
    // jitaa itself says what it is doing, once per retry.
    for n in 2..=6 {
        let notice = format!("jitaa: GitHub unreachable, retrying ({n}/6)…");
        assert_eq!(err.matches(&notice).count(), 1, "`{notice}` once:\n{err}");
    }
    assert!(!err.contains("(1/6)") && !err.contains("(7/6)"), "{err}");
    // No library's log line, no tracing level column, no colour on a pipe.
    for line in err.lines() {
        assert!(
            !line.contains("ERROR")
                && !line.contains("WARN")
                && !line.contains("failed with error"),
            "a log line leaked: {line}\n{err}"
        );
    }
    assert!(!err.contains('\x1b'), "ANSI escapes on a pipe: {err:?}");
}

#[test]
fn with_jitaa_log_the_full_log_has_no_escapes_on_a_pipe_either() {
    let w = World::new(POLICY);
    let sha = w.commit("feature", &[("src/app.rs", "v2\n")]);
    let api = format!("http://127.0.0.1:{}", closed_port());
    let done = pre_push(&w, &api, &sha, &w.main, &[("JITAA_LOG", "info")]);
    done.assert_code(5);
    assert!(!done.stderr.contains('\x1b'), "{:?}", done.stderr);
    assert!(
        done.stderr.contains("GitHub unreachable, retrying (2/6)…"),
        "the notice is a log line too: {}",
        done.stderr
    );
}

/// Ten problems of every kind in one file: unknown keys (with a did-you-mean), wrong
/// types, YAML syntax (an over-indented line, a tab, an unclosed `[`, an unquoted
/// `@user` and `*.md`) and impossible values, all in one run, in file order.
const TEN_PROBLEMS: &str = "version: 1
defaults:
  aprovals: 2
  ttl: 15m
    timeout: 1h
\tself_approval: true
protected_branches: [main, dev
audit:
  singing: ssh
rules:
  - name: a
    approvals: two
    match: {paths: *.md}
  - nme: b
    approvers: @alice
  - name: c
    codeowners: some
";

fn policy_check(dir: &std::path::Path, file: &str, text: &str) -> std::process::Output {
    std::fs::write(dir.join(file), text).unwrap();
    let mut cmd = Command::new(bin());
    isolated(&mut cmd)
        .current_dir(dir)
        .args(["policy", "check", file])
        .env_remove("JITAA_LOG")
        .output()
        .expect("jitaa runs")
}

#[test]
fn policy_check_reports_every_problem_at_once_with_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let out = policy_check(dir.path(), "bad.yml", TEN_PROBLEMS);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(out.stdout.is_empty());
    let want = [
        "bad.yml:3:3: defaults.aprovals: unknown key; did you mean `approvals`?",
        "bad.yml:5:5: defaults.timeout: this line is indented more than the key above it (`ttl`, line 4), which already has a value; indent it 2 spaces like `ttl`",
        "bad.yml:6:1: self_approval: a tab in the indentation: YAML indents with spaces only; replace the tab with spaces",
        "bad.yml:7:21: protected_branches: unclosed `[`: the list opened here has no closing `]`",
        "bad.yml:9:3: audit.singing: unknown key; did you mean `signing`?",
        "bad.yml:12:16: rules[0] (a).approvals: expected a whole number, found `two`",
        "bad.yml:13:20: rules[0].match: `*.md` is read as a YAML alias, and no anchor `&.md` is defined above; quote it if you meant the text (`\"*.md\"`)",
        "bad.yml:14:5: rules[1].nme: unknown key; did you mean `name`?",
        "bad.yml:15:16: rules[1].approvers: `@` cannot start a plain value; quote it (`\"@alice\"`)",
        "bad.yml:17:17: rules[2] (c).codeowners: `some` is not one of `any`, `all`",
    ];
    let lines: Vec<&str> = err.lines().filter(|l| l.starts_with("bad.yml:")).collect();
    assert_eq!(lines.len(), want.len(), "{err}");
    for (got, want) in lines.iter().zip(want) {
        assert!(got.starts_with(want), "want {want}\n got {got}");
    }
}

#[test]
fn policy_check_names_the_dotted_path_and_what_was_found() {
    // The command-line view of two messages that became more precise: the unknown key
    // and the wrong type now carry their dotted path (was `unknown field `aprovers``
    // and `approvals: expected a whole number`).
    let dir = tempfile::tempdir().unwrap();
    for (text, want) in [
        (
            "version: 1\ndefaults:\n  aprovers: codeowners\n",
            "bad.yml:3:3: defaults.aprovers: unknown key; did you mean `approvers`?",
        ),
        (
            "version: 1\ndefaults:\n  approvals: lots\n",
            "bad.yml:3:14: defaults.approvals: expected a whole number, found `lots`",
        ),
        (
            "version: 1\ndefaults:\n  approvals: 1\n    ttl: 15m\n",
            "bad.yml:4:5: defaults.ttl: this line is indented more than the key above it",
        ),
        (
            "version: 1\nprotected_branches: [1, 2\n",
            "bad.yml:2:21: protected_branches: unclosed `[`",
        ),
    ] {
        let out = policy_check(dir.path(), "bad.yml", text);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{err}");
        assert!(err.contains(want), "want {want}\n got {err}");
    }
}
