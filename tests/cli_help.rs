//! Every command's `--help` shows an example, and the command tree is the one of the
//! design contract (a command appears only when it works: none says "not implemented").

use std::process::Command;

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
];

#[test]
fn every_command_has_help_with_an_example() {
    for words in COMMANDS {
        let out = Command::new(env!("CARGO_BIN_EXE_jitaa"))
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
    let out = Command::new(env!("CARGO_BIN_EXE_jitaa"))
        .args(["audit", "log", "--no-such-flag"])
        .output()
        .expect("jitaa runs");
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--no-such-flag"));
}
