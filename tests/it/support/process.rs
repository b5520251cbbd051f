//! `git` and the real `jitaa` binary as child processes that never read the caller's git
//! configuration or its GitHub, Actions, jitaa or pre-commit variables, and the helpers
//! to read how they ended.

use std::io::Write;
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

/// The `jitaa` binary under test.
pub fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_jitaa")
}

/// Prefixes of the caller's variables a child never sees: a test sets what it needs.
const AMBIENT: [&str; 5] = ["GITHUB_", "ACTIONS_", "JITAA_", "PRE_COMMIT_", "RUNNER_"];

/// Child git (and jitaa's git) reads no user or system configuration and commits as a
/// fixed identity; nothing of the caller's GitHub, Actions, jitaa or pre-commit
/// variables, `GH_TOKEN`, or a hook's `GIT_DIR`/`GIT_WORK_TREE` reaches it.
pub fn isolated(cmd: &mut Command) -> &mut Command {
    for (k, _) in std::env::vars_os() {
        let k = k.to_string_lossy();
        if AMBIENT.iter().any(|p| k.starts_with(p)) {
            cmd.env_remove(&*k);
        }
    }
    cmd.env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_AUTHOR_NAME", "Test")
        .env("GIT_AUTHOR_EMAIL", "test@example.com")
        .env("GIT_COMMITTER_NAME", "Test")
        .env("GIT_COMMITTER_EMAIL", "test@example.com")
        .env_remove("GH_TOKEN")
        .env_remove("GIT_DIR")
        .env_remove("GIT_WORK_TREE")
        .env_remove("GIT_INDEX_FILE")
}

/// An isolated `git` in `dir`.
pub fn git_cmd(dir: &Path) -> Command {
    let mut cmd = Command::new("git");
    isolated(&mut cmd).current_dir(dir);
    cmd
}

/// `git ARGS` in `dir`, however it ends.
pub fn git_raw(dir: &Path, args: &[&str]) -> Output {
    git_cmd(dir).args(args).output().expect("git runs")
}

/// `git ARGS` in `dir`; asserts it succeeds and returns its trimmed stdout.
pub fn git(dir: &Path, args: &[&str]) -> String {
    let out = git_raw(dir, args);
    assert!(
        out.status.success(),
        "git {args:?} in {}: {}",
        dir.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// An isolated `jitaa` command (no arguments yet).
pub fn jitaa() -> Command {
    let mut cmd = Command::new(bin());
    isolated(&mut cmd);
    cmd
}

/// Runs `cmd` to completion with `stdin` piped in (or no stdin at all).
pub fn run_with_stdin(cmd: &mut Command, stdin: Option<&str>) -> Output {
    match stdin {
        None => cmd.stdin(Stdio::null()).output().expect("the command runs"),
        Some(input) => {
            let mut child = cmd
                .stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .expect("the command runs");
            child
                .stdin
                .take()
                .unwrap()
                .write_all(input.as_bytes())
                .unwrap();
            child.wait_with_output().unwrap()
        }
    }
}

/// Waits up to `limit` for `child` to exit (killing it after that), then its output.
pub fn wait_for_exit(mut child: Child, limit: Duration) -> Output {
    let start = Instant::now();
    loop {
        if let Ok(Some(_)) = child.try_wait() {
            break;
        }
        if start.elapsed() > limit {
            let _ = child.kill();
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    child.wait_with_output().expect("output")
}

/// stdout then stderr, as one text.
pub fn text(o: &Output) -> String {
    format!("{}{}", stdout(o), stderr(o))
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Writes `content` to `dir/rel`, creating its folders.
pub fn write(dir: &Path, rel: &str, content: &str) {
    let p = dir.join(rel);
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(p, content).unwrap();
}

/// The name the test harness knows the test `name` of `module` (`module_path!()`) by:
/// without the crate, `it::audit::x` runs as `audit::x`.
pub fn test_name(module: &str, name: &str) -> String {
    match module.split_once("::") {
        Some((_, m)) => format!("{m}::{name}"),
        None => name.to_string(),
    }
}

/// The variable that marks the child process [`in_child`] starts, naming its test.
const CHILD: &str = "JITAA_IT_CHILD";

/// For a test whose in-process library code starts git or ssh-keygen (which inherit
/// this process's environment), or that must set a variable process-wide: runs the
/// test `name` of `module` (pass `module_path!()`) again, alone, in a child process of
/// this test binary whose whole environment is [`isolated`]. In that child: `true`,
/// run the body. Here: waits for it, asserts that the one test ran and passed, `false`.
pub fn in_child(module: &str, name: &str) -> bool {
    let test = test_name(module, name);
    if std::env::var_os(CHILD).is_some_and(|t| t == test.as_str()) {
        return true;
    }
    let mut cmd = Command::new(std::env::current_exe().expect("the test binary"));
    isolated(&mut cmd)
        .args(["--exact", &test, "--nocapture", "--test-threads=1"])
        .env(CHILD, &test);
    let out = cmd.output().expect("the test binary runs");
    assert!(
        out.status.success() && stdout(&out).contains("test result: ok. 1 passed"),
        "{test} in a child process:\n{}",
        text(&out)
    );
    false
}
