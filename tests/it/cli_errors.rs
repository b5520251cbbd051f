//! Errors name the flag the user passed and end with DESIGN.md's exit code: a newcomer's
//! typo is a usage error (2) that says which argument to fix.

use crate::support::records::Fixture;
use crate::support::{POLICY, World, jitaa, stderr};

#[test]
fn a_bad_sha_names_sha_not_ref() {
    let w = World::new(POLICY);
    let out = w
        .request("alice", &["--ref", "main", "--sha", "nothex"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(err.contains("--sha `nothex`"), "{err}");
    assert!(!err.contains("--ref nothex"), "{err}");
}

#[test]
fn a_repo_that_is_not_a_repository_names_repo_once_and_gives_no_advice_to_pass_it() {
    let out = jitaa()
        .args(["--repo", "/nonexistent/jitaa-test", "audit", "log"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains("--repo /nonexistent/jitaa-test: not a git repository"),
        "{err}"
    );
    assert!(!err.contains("pass --repo"), "{err}");
}

#[test]
fn outside_a_repository_the_advice_is_to_pass_repo() {
    let dir = tempfile::TempDir::new().unwrap();
    let out = jitaa()
        .current_dir(dir.path())
        .env("GIT_CEILING_DIRECTORIES", dir.path())
        .args(["audit", "log"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("or pass --repo DIR"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn an_expected_head_that_is_not_a_digest_is_a_usage_error_not_an_integrity_failure() {
    let f = Fixture::new();
    f.append(2);
    let out = f.verify(&["--expect-head", "nonsense"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("--expect-head `nonsense` is not a sha256:<64 hex> digest"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn a_bad_issuer_flag_is_named_as_the_flag() {
    let out = jitaa()
        .env_remove("JITAA_OIDC_ISSUER")
        .args(["oidc", "verify", "x.y.z", "--issuer", "ftp://nowhere"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(err.contains("--issuer"), "{err}");
    assert!(!err.contains("JITAA_OIDC_ISSUER"), "{err}");
}

#[test]
fn each_command_refuses_a_format_it_does_not_print() {
    for (args, says) in [
        (
            &["audit", "show", "x", "--format", "csv"][..],
            "`jitaa audit show` prints json only",
        ),
        (
            &["audit", "export", "--format", "table"][..],
            "`jitaa audit export` prints csv or json",
        ),
        (
            &["gate", "--format", "json"][..],
            "`jitaa gate` prints table only",
        ),
    ] {
        let out = jitaa().args(args).output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", stderr(&out));
        assert!(stderr(&out).contains(says), "{args:?}: {}", stderr(&out));
    }
}
