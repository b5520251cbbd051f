//! Every command's `--help` shows an example, and the command tree is the one of the
//! design contract (a command appears only when it works: none says "not implemented").
//! The shell conventions: completions, the man page, `--version` naming the commit, and
//! colours only on a terminal with `NO_COLOR` honoured.

use std::process::Command;

use crate::support::bin;

const COMMANDS: &[&[&str]] = &[
    &[],
    &["gate"],
    &["request"],
    &["hook"],
    &["hook", "pre-push"],
    &["hook", "install"],
    &["audit"],
    &["audit", "log"],
    &["audit", "show"],
    &["audit", "export"],
    &["audit", "verify"],
    &["policy"],
    &["policy", "check"],
    &["policy", "explain"],
    &["oidc"],
    &["oidc", "verify"],
    &["keygen"],
    &["completions"],
    &["man"],
];

#[test]
fn every_command_has_help_with_an_example() {
    for words in COMMANDS {
        let out = crate::support::jitaa()
            .args(*words)
            .arg("--help")
            .output()
            .expect("jitaa runs");
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(out.status.success(), "jitaa {words:?} --help failed");
        assert!(
            text.contains("Example"),
            "jitaa {words:?} --help has no example:\n{text}"
        );
        assert!(!text.to_lowercase().contains("not implemented"));
        for flag in ["--repo", "--format", "--verbose"] {
            assert!(text.contains(flag), "jitaa {words:?} --help lacks {flag}");
        }
    }
}

#[test]
fn an_unknown_flag_is_a_usage_error_with_exit_2() {
    let out = crate::support::jitaa()
        .args(["audit", "log", "--no-such-flag"])
        .output()
        .expect("jitaa runs");
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--no-such-flag"));
}

/// `jitaa ARGS`, `NO_COLOR` unset.
fn jitaa(args: &[&str]) -> std::process::Output {
    crate::support::jitaa()
        .args(args)
        .env_remove("NO_COLOR")
        .output()
        .expect("jitaa runs")
}

#[test]
fn bash_loads_the_completion_script_and_completes_subcommands() {
    let out = jitaa(&["completions", "bash"]);
    assert!(out.status.success());
    let script = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(script.path(), &out.stdout).unwrap();
    // Source it, then ask bash's completion for `jitaa au<TAB>` as readline would.
    let probe = format!(
        "source '{}' && complete -p jitaa && COMP_WORDS=(jitaa au) COMP_CWORD=1 COMP_LINE='jitaa au' \
COMP_POINT=8 && _jitaa jitaa au jitaa && printf '%s\\n' \"${{COMPREPLY[@]}}\"",
        script.path().display()
    );
    let run = Command::new("bash")
        .args(["--norc", "-c", &probe])
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&run.stdout);
    assert!(
        run.status.success(),
        "{said}{}",
        String::from_utf8_lossy(&run.stderr)
    );
    assert!(said.contains("-F _jitaa jitaa"), "{said}");
    assert!(said.lines().any(|l| l == "audit"), "{said}");
}

#[test]
fn completions_exist_for_zsh_fish_and_powershell() {
    for (shell, marker) in [
        ("zsh", "#compdef jitaa"),
        ("fish", "complete -c jitaa"),
        ("powershell", "Register-ArgumentCompleter"),
    ] {
        let out = jitaa(&["completions", shell]);
        assert!(out.status.success(), "{shell}");
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(text.contains(marker), "{shell}: {marker}");
        for word in ["gate", "audit", "verify", "environment", "allowed-signers"] {
            assert!(text.contains(word), "{shell} completes {word}");
        }
    }
    assert_eq!(jitaa(&["completions", "tcsh"]).status.code(), Some(2));
}

#[test]
fn the_man_page_is_roff_and_one_page_per_command_can_be_written() {
    let out = jitaa(&["man"]);
    assert!(out.status.success());
    let page = String::from_utf8_lossy(&out.stdout);
    assert!(
        page.starts_with(".ie") || page.contains(".TH jitaa 1"),
        "{page}"
    );
    assert!(page.contains(".TH jitaa 1"));
    for command in ["gate", "hook", "audit", "policy", "request"] {
        assert!(page.contains(command), "the page lists {command}");
    }
    let dir = tempfile::tempdir().unwrap();
    let out = jitaa(&["man", "--out-dir", dir.path().to_str().unwrap()]);
    assert!(out.status.success());
    for file in [
        "jitaa.1",
        "jitaa-gate.1",
        "jitaa-audit-verify.1",
        "jitaa-hook-install.1",
    ] {
        let text = std::fs::read_to_string(dir.path().join(file)).expect(file);
        assert!(text.contains(".TH"), "{file} is a man page");
    }
}

#[test]
fn version_names_the_commit_it_was_built_from() {
    let out = jitaa(&["--version"]);
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout).trim().to_string();
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    // The project's own repository, read with the caller's git configuration (as the
    // build script does): not an isolated git.
    let git = |args: &[&str]| {
        Command::new("git")
            .args(args)
            .current_dir(root)
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
    };
    let ours = git(&["rev-parse", "--show-toplevel"])
        .and_then(|t| std::path::Path::new(&t).canonicalize().ok())
        == root.canonicalize().ok();
    let commit = if ours {
        git(&["rev-parse", "--short=12", "HEAD"]).unwrap()
    } else {
        "commit unknown".to_string()
    };
    let want = format!("jitaa {} ({commit})", env!("CARGO_PKG_VERSION"));
    assert_eq!(text, want);
    // Every subcommand says the same.
    let sub = jitaa(&["gate", "--version"]);
    let sub = String::from_utf8_lossy(&sub.stdout).trim().to_string();
    assert_eq!(sub, want.replacen("jitaa", "jitaa-gate", 1));
}

#[test]
fn colours_only_on_a_terminal_and_never_with_no_color() {
    // Piped: no escape codes in an error, even though it would be red on a terminal.
    let piped = jitaa(&["audit", "log", "--no-such-flag"]);
    assert!(!String::from_utf8_lossy(&piped.stderr).contains('\x1b'));

    // On a terminal (a pty from util-linux `script`): colours, unless NO_COLOR is set.
    let on_tty = |no_color: Option<&str>| {
        let mut cmd = Command::new("script");
        cmd.args(["-qec"])
            .arg(format!("'{}' audit log --no-such-flag", bin()))
            .arg("/dev/null")
            .env_remove("NO_COLOR")
            .env("TERM", "xterm");
        if let Some(v) = no_color {
            cmd.env("NO_COLOR", v);
        }
        let out = cmd.output().expect("script(1) from util-linux runs");
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let coloured = on_tty(None);
    assert!(coloured.contains("--no-such-flag"), "{coloured}");
    assert!(
        coloured.contains('\x1b'),
        "a terminal gets colours: {coloured:?}"
    );
    let plain = on_tty(Some("1"));
    assert!(plain.contains("--no-such-flag"), "{plain}");
    assert!(!plain.contains('\x1b'), "NO_COLOR=1: {plain:?}");
}
