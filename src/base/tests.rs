//! The protected-base table, case by case, over a fake commit graph.

use std::collections::HashMap;

use super::*;
use crate::exit::Code;

/// A commit graph given as child -> first parent; ancestry follows first parents.
struct FakeGraph(HashMap<&'static str, &'static str>);

impl Graph for FakeGraph {
    fn is_ancestor(&self, ancestor: &str, descendant: &str) -> Result<bool, Failure> {
        let mut at = descendant;
        loop {
            if at == ancestor {
                return Ok(true);
            }
            match self.0.get(at) {
                Some(p) => at = p,
                None => return Ok(false),
            }
        }
    }
    fn first_parent(&self, sha: &str) -> Result<Option<String>, Failure> {
        Ok(self.0.get(sha).map(std::string::ToString::to_string))
    }
}

/// main: m1 <- m2 (tip); feature: m2 <- f1 <- f2; release: m1 <- r1.
fn graph() -> FakeGraph {
    FakeGraph(HashMap::from([
        ("m2", "m1"),
        ("f1", "m2"),
        ("f2", "f1"),
        ("r1", "m1"),
    ]))
}

fn policy(text: &str) -> Policy {
    Policy::parse("p.yml", text.as_bytes()).expect("valid policy")
}

fn choose_with(action: Action<'_>, protected: &str) -> Result<Base, Failure> {
    let p = policy(protected);
    let d = DefaultBranch {
        name: "main",
        tip: "m2",
        policy: &p,
    };
    choose(&action, &d, &graph())
}

const RELEASES: &str = "version: 1\nprotected_branches: [\"release/*\"]\n";
const NONE: &str = "version: 1\n";

#[test]
fn table() {
    struct Case {
        name: &'static str,
        action: Action<'static>,
        protected: &'static str,
        want: Result<&'static str, Code>,
    }
    let pr = |branch, sha| Action::PullRequest {
        number: 1,
        base_branch: branch,
        base_sha: sha,
    };
    let push = |branch, before, sha| Action::Push {
        branch,
        before,
        sha,
    };
    let cases = [
        Case {
            name: "a PR into the default branch uses its base",
            action: pr("main", "m1"),
            protected: NONE,
            want: Ok("m1"),
        },
        Case {
            name: "a PR into a protected non-default branch uses its base",
            action: pr("release/1", "r1"),
            protected: RELEASES,
            want: Ok("r1"),
        },
        Case {
            name: "the default branch stays protected when protected_branches omits it",
            action: pr("refs/heads/main", "m1"),
            protected: RELEASES,
            want: Ok("m1"),
        },
        Case {
            name: "a PR into an unprotected branch uses the default tip (item 2)",
            action: pr("evil", "f1"),
            protected: NONE,
            want: Ok("m2"),
        },
        Case {
            name: "a push to the default branch uses before",
            action: push("main", Some("m1"), "m2"),
            protected: NONE,
            want: Ok("m1"),
        },
        Case {
            name: "a push to release/x matching protected_branches uses before",
            action: push("release/x", Some("m1"), "r1"),
            protected: RELEASES,
            want: Ok("m1"),
        },
        Case {
            name: "a force-push to a protected branch is refused",
            action: push("main", Some("r1"), "m2"),
            protected: NONE,
            want: Err(Code::Denied),
        },
        Case {
            name: "a push to an unprotected branch uses the default tip (item 3)",
            action: push("evil", Some("f1"), "f2"),
            protected: NONE,
            want: Ok("m2"),
        },
        Case {
            name: "a new protected branch uses the default tip",
            action: push(
                "release/2",
                Some("0000000000000000000000000000000000000000"),
                "r1",
            ),
            protected: RELEASES,
            want: Ok("m2"),
        },
        Case {
            name: "dispatch: the last approved deployment when it is an ancestor",
            action: Action::Deploy {
                sha: "f2",
                branch: Some(("feature", Some("f2"))),
                last_deployment: Some("f1"),
            },
            protected: NONE,
            want: Ok("f1"),
        },
        Case {
            name: "dispatch: a last deployment that is not an ancestor is not the base",
            action: Action::Deploy {
                sha: "f2",
                branch: Some(("feature", Some("f2"))),
                last_deployment: Some("r1"),
            },
            protected: NONE,
            want: Ok("m2"),
        },
        Case {
            name: "dispatch on main without a deployment: the sha's first parent (item 4)",
            action: Action::Deploy {
                sha: "m2",
                branch: Some(("main", Some("m2"))),
                last_deployment: None,
            },
            protected: NONE,
            want: Ok("m1"),
        },
        Case {
            name: "dispatch of the last deployment itself: never the sha, its first parent",
            action: Action::Deploy {
                sha: "m2",
                branch: Some(("main", Some("m2"))),
                last_deployment: Some("m2"),
            },
            protected: NONE,
            want: Ok("m1"),
        },
        Case {
            name: "dispatch from an unprotected branch: the default tip",
            action: Action::Deploy {
                sha: "f2",
                branch: Some(("evil", Some("f2"))),
                last_deployment: None,
            },
            protected: NONE,
            want: Ok("m2"),
        },
        Case {
            name: "dispatch naming main with a sha not on main: the default tip",
            action: Action::Deploy {
                sha: "f2",
                branch: Some(("main", Some("m2"))),
                last_deployment: None,
            },
            protected: NONE,
            want: Ok("m2"),
        },
        Case {
            name: "a dispatch of the default tip from an unprotected ref: still never itself",
            action: Action::Deploy {
                sha: "m2",
                branch: None,
                last_deployment: None,
            },
            protected: NONE,
            want: Ok("m1"),
        },
        Case {
            name: "the hook: the remote branch's tip",
            action: Action::RemoteTip {
                branch: "main",
                tip: Some("m2"),
            },
            protected: NONE,
            want: Ok("m2"),
        },
        Case {
            name: "the hook on a new branch: the default tip",
            action: Action::RemoteTip {
                branch: "release/9",
                tip: None,
            },
            protected: RELEASES,
            want: Ok("m2"),
        },
    ];
    for c in cases {
        let got = choose_with(c.action, c.protected);
        match (&got, c.want) {
            (Ok(b), Ok(sha)) => assert_eq!(b.sha, sha, "{}: {}", c.name, b.why),
            (Err(f), Err(code)) => assert_eq!(f.code, code, "{}: {}", c.name, f.message),
            _ => panic!("{}: got {got:?}, want {:?}", c.name, c.want),
        }
    }
}

#[test]
fn the_root_commit_of_the_default_branch_has_no_base() {
    let p = policy(NONE);
    let d = DefaultBranch {
        name: "main",
        tip: "m1",
        policy: &p,
    };
    let g = graph();
    let e = choose(
        &Action::Deploy {
            sha: "m1",
            branch: Some(("main", Some("m1"))),
            last_deployment: None,
        },
        &d,
        &g,
    )
    .unwrap_err();
    assert_eq!(e.code, Code::Usage);
}

/// Files given in memory, as either source would return them.
struct Mem(HashMap<&'static str, &'static [u8]>);

impl Files for Mem {
    fn get(&self, path: &str, max: usize) -> Result<FileAt, Failure> {
        Ok(match self.0.get(path) {
            Some(b) if b.len() > max => FileAt::TooLarge { size: b.len() },
            Some(b) => FileAt::Found(b.to_vec()),
            None => FileAt::Missing,
        })
    }
    fn at(&self) -> &'static str {
        "memory"
    }
}

#[test]
fn the_first_location_wins_for_policy_and_codeowners() {
    let files = Mem(HashMap::from([
        (
            ".jitaa.yml",
            &b"version: 1\ndefaults:\n  approvals: 0\n"[..],
        ),
        (
            ".github/jitaa.yml",
            &b"version: 1\ndefaults:\n  approvals: 2\n"[..],
        ),
        ("CODEOWNERS", &b"* @root\n"[..]),
        ("docs/CODEOWNERS", &b"* @docs\n"[..]),
    ]));
    let r = rules(&files, None).unwrap();
    assert_eq!(r.policy.file.as_deref(), Some(".github/jitaa.yml"));
    assert_eq!(r.policy.policy.defaults.approvals, 2);
    assert_eq!(r.codeowners.unwrap().location(), "CODEOWNERS");
    // A named policy must exist: no silent fallback to the defaults.
    let e = rules(&files, Some("deploy/policy.yml")).unwrap_err();
    assert_eq!(e.code, Code::Usage);
    assert!(
        e.message.contains("--policy deploy/policy.yml"),
        "{}",
        e.message
    );
    // Nothing committed: the built-in defaults, and no code owners.
    let r = rules(&Mem(HashMap::new()), None).unwrap();
    assert!(r.policy.file.is_none());
    assert!(r.codeowners.is_none());
}

#[test]
fn codeowners_github_would_not_load_owns_nothing() {
    let files = Mem(HashMap::from([(
        ".github/CODEOWNERS",
        &b"* @a\n\xff\n"[..],
    )]));
    let co = rules(&files, None).unwrap().codeowners.unwrap();
    assert!(co.owners_of("x").owners.is_empty());
    assert!(co.problems()[0].message.contains("not UTF-8"));
}

#[test]
fn trusted_keys_missing_trust_nobody_and_invalid_ones_are_errors() {
    let p = policy(NONE);
    let t = trust(&Mem(HashMap::new()), &p, "main").unwrap();
    assert!(t.certifiers.is_none());
    let bad = Mem(HashMap::from([(
        ".github/jitaa-allowed-signers",
        &b"\xff\xfe\n"[..],
    )]));
    let e = trust(&bad, &p, "main").unwrap_err();
    assert_eq!(e.code, Code::Usage);
    assert!(e.message.contains("audit.allowed_signers"), "{}", e.message);
}
