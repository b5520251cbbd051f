//! A newcomer's first hour (issue 15), driven through the real binary: what a person
//! sees on stderr when GitHub is unreachable, and a policy file with many problems
//! reported all at once.

mod support;

use std::process::{Command, Stdio};

use support::*;

/// A loopback port nothing listens on.
fn closed_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    l.local_addr().unwrap().port()
}

/// `jitaa hook pre-push` for a push of `sha` onto `main` (remote tip `remote`), with
/// GitHub at `api`; stderr piped, so no colour is allowed.
fn pre_push(w: &World, api: &str, sha: &str, remote: &str, extra: &[(&str, &str)]) -> Done {
    let mut cmd = Command::new(bin());
    git_env(&mut cmd)
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
