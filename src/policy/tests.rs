//! Unit tests: the schema, its errors with positions, defaults and rule matching.

use super::*;

const DESIGN_EXAMPLE: &str = r#"version: 1
oidc: required                   # or optional
audit:
  branch: jitaa/audit
  signing: [ssh, github-oidc]
  allowed_signers: .github/jitaa-allowed-signers
defaults:
  approvals: 1
  approvers: codeowners
  timeout: 30m
  ttl: 15m
  self_approval: false
protected_branches: [main, "release/*"]
rules:
  - name: production
    match: { environment: production }
    approvals: 2
    approvers: ["@acme/sre"]
    codeowners: all
  - name: docs-only
    match: { paths: ["docs/**", "*.md"] }
    approvals: 0
"#;

fn parse(text: &str) -> Result<Policy, PolicyError> {
    Policy::parse(".github/jitaa.yml", text.as_bytes())
}

/// The single problem's `line:column: message`.
fn err(text: &str) -> (usize, usize, String) {
    let e = parse(text).expect_err("should be rejected");
    let p = &e.problems[0];
    (p.line, p.column, p.message.clone())
}

fn paths(list: &[&str]) -> Vec<String> {
    list.iter().map(std::string::ToString::to_string).collect()
}

#[test]
fn design_example_parses_with_its_values() {
    let p = parse(DESIGN_EXAMPLE).unwrap();
    assert_eq!(p.oidc, OidcMode::Required);
    assert_eq!(
        p.audit.signing,
        [SigningMethod::Ssh, SigningMethod::GithubOidc]
    );
    assert_eq!(p.audit.remote, "origin");
    let rules: Vec<&Rule> = p.rules().collect();
    assert_eq!(rules.len(), 2);
    assert_eq!(rules[0].approvals, 2);
    assert_eq!(
        rules[0].approvers,
        Approvers::List(vec![Owner::Team {
            org: "acme".into(),
            slug: "sre".into()
        }])
    );
    assert_eq!(rules[0].codeowners, Coverage::All);
    // Defaults fill what a rule leaves out.
    assert_eq!(rules[0].timeout, Duration::from_secs(1800));
    assert_eq!(rules[1].approvals, 0);
    assert_eq!(rules[1].approvers, Approvers::Codeowners);
}

#[test]
fn defaults_fill_rules_and_first_match_wins() {
    let p = parse(
        "version: 1\ndefaults: {approvals: 3, ttl: 1h, self_approval: true}\nrules:\n  - name: a\n    match: {environment: [staging, production]}\n  - name: b\n    match: {environment: production}\n    approvals: 5\n",
    )
    .unwrap();
    let m = p.rule_for(&MatchInput {
        environment: Some("production"),
        ..Default::default()
    });
    assert_eq!(m.rule.name, "a");
    assert_eq!(m.rule.approvals, 3);
    assert_eq!(m.rule.ttl, Duration::from_secs(3600));
    assert!(m.rule.self_approval);
    assert!(
        m.why
            .iter()
            .any(|w| w.contains("environment `production` is listed")),
        "{:?}",
        m.why
    );
    let m = p.rule_for(&MatchInput {
        environment: Some("dev"),
        ..Default::default()
    });
    assert_eq!(m.rule.name, "default");
    assert_eq!(m.rule.approvals, 3);
}

#[test]
fn paths_match_only_when_every_path_matches_and_never_on_none() {
    let p = parse(DESIGN_EXAMPLE).unwrap();
    let docs = paths(&["docs/a/b.md", "README.md"]);
    let m = p.rule_for(&MatchInput {
        paths: &docs,
        ..Default::default()
    });
    assert_eq!(m.rule.name, "docs-only");
    let mixed = paths(&["docs/a.md", "src/lib.rs"]);
    let m = p.rule_for(&MatchInput {
        paths: &mixed,
        ..Default::default()
    });
    assert_eq!(m.rule.name, "default");
    assert!(
        m.why.iter().any(|w| w.contains("src/lib.rs")),
        "{:?}",
        m.why
    );
    let m = p.rule_for(&MatchInput {
        paths: &[],
        ..Default::default()
    });
    assert_eq!(
        m.rule.name, "default",
        "an empty change never auto-approves via paths"
    );
    // `*` does not cross `/`.
    let nested = paths(&["src/NOTES.md"]);
    assert_eq!(
        p.rule_for(&MatchInput {
            paths: &nested,
            ..Default::default()
        })
        .rule
        .name,
        "default"
    );
}

#[test]
fn branches_events_and_actors() {
    let p = parse("version: 1\nrules:\n  - name: rel\n    match: {branches: ['release/*'], events: [push], actors: ['@Bot']}\n").unwrap();
    let hit = MatchInput {
        branch: Some("refs/heads/release/1.2"),
        event: Some("push"),
        actor: Some("bot"),
        ..Default::default()
    };
    assert_eq!(p.rule_for(&hit).rule.name, "rel");
    for miss in [
        MatchInput {
            branch: Some("release/1/x"),
            ..hit
        },
        MatchInput {
            event: Some("pull_request"),
            ..hit
        },
        MatchInput {
            actor: Some("alice"),
            ..hit
        },
        MatchInput {
            branch: None,
            ..hit
        },
    ] {
        assert_eq!(p.rule_for(&miss).rule.name, "default", "{miss:?}");
    }
}

#[test]
fn no_policy_means_design_defaults() {
    let p = Policy::builtin();
    let m = p.rule_for(&MatchInput::default());
    assert_eq!(m.rule, Rule::builtin("default"));
    assert_eq!((m.rule.approvals, m.rule.self_approval), (1, false));
    assert_eq!(
        humantime::format_duration(m.rule.timeout).to_string(),
        "30m"
    );
    assert_eq!(humantime::format_duration(m.rule.ttl).to_string(), "15m");
    assert!(p.is_protected("main", Some("main")));
    assert!(p.is_protected("refs/heads/main", Some("main")));
    assert!(!p.is_protected("dev", Some("main")));
    assert!(
        !p.is_protected("main", None),
        "unknown default branch: nothing matches by name"
    );
}

#[test]
fn protected_branch_globs() {
    let p = parse(DESIGN_EXAMPLE).unwrap();
    assert!(p.is_protected("release/2.0", Some("trunk")));
    assert!(p.is_protected("main", Some("trunk")));
    // DESIGN.md's protected-base table: "listed in protected_branches, or the default
    // branch". The hook and the gate must agree: a list that omits the default branch
    // does not unprotect it (the gate would call such pushes violations).
    assert!(p.is_protected("trunk", Some("trunk")));
    assert!(!p.is_protected("dev", Some("trunk")));
}

#[test]
fn unknown_keys_are_errors_with_their_position() {
    let (l, c, m) = err("version: 1\ndefaults:\n  approvals: 1\n  aprovers: codeowners\n");
    assert_eq!((l, c), (4, 3), "{m}");
    assert!(m.contains("aprovers"), "{m}");
    let (l, _, m) = err("version: 1\nrules:\n  - name: x\n    match: {enviroment: prod}\n");
    assert_eq!(l, 4, "{m}");
    assert!(m.contains("enviroment"), "{m}");
}

#[test]
fn wrong_types_are_errors_with_their_position() {
    let (l, c, m) = err("version: 1\ndefaults:\n  approvals: two\n");
    assert_eq!((l, c), (3, 14), "{m}");
    let (l, _, m) = err("version: 1\ndefaults:\n  self_approval: maybe\n");
    assert_eq!(l, 3, "{m}");
}

#[test]
fn impossible_values_name_the_key_and_position() {
    for (text, line, col, needle) in [
        ("version: 2\n", 1, 10, "version"),
        (
            "version: 1\ndefaults:\n  approvals: 101\n",
            3,
            14,
            "approvals",
        ),
        (
            "version: 1\ndefaults:\n  approvals: -1\n",
            3,
            14,
            "approvals",
        ),
        ("version: 1\ndefaults:\n  ttl: 0s\n", 3, 8, "ttl"),
        ("version: 1\ndefaults:\n  timeout: 0m\n", 3, 12, "timeout"),
        (
            "version: 1\ndefaults:\n  timeout: soon\n",
            3,
            12,
            "not a duration",
        ),
        (
            "version: 1\ndefaults:\n  approvers: []\n",
            3,
            14,
            "empty list",
        ),
        (
            "version: 1\ndefaults:\n  approvers: [\"@ok\", \"nobody\"]\n",
            3,
            22,
            "nobody",
        ),
        (
            "version: 1\ndefaults:\n  codeowners: most\n",
            3,
            15,
            "codeowners",
        ),
        ("version: 1\noidc: sometimes\n", 2, 7, "oidc"),
        ("version: 1\naudit:\n  signing: [gpg]\n", 3, 13, "gpg"),
        (
            "version: 1\nprotected_branches: [\"release/[\"]\n",
            2,
            22,
            "not a valid glob",
        ),
        (
            "version: 1\nrules:\n  - name: a\n  - name: a\n",
            4,
            11,
            "duplicate",
        ),
        ("version: 1\nrules:\n  - approvals: 1\n", 3, 5, "name"),
        (
            "version: 1\nrules:\n  - name: x\n    match: {paths: []}\n",
            4,
            20,
            "empty list",
        ),
        ("oidc: required\n", 1, 1, "version"),
    ] {
        let (l, c, m) = err(text);
        assert_eq!((l, c), (line, col), "{text:?}: {m}");
        assert!(m.contains(needle), "{text:?}: {m}");
    }
}

#[test]
fn several_problems_are_all_reported_in_order() {
    let e = parse("version: 1\ndefaults:\n  approvals: 500\n  ttl: never\n").unwrap_err();
    let lines: Vec<usize> = e.problems.iter().map(|p| p.line).collect();
    assert_eq!(lines, [3, 4]);
    let text = e.to_string();
    assert!(text.starts_with(".github/jitaa.yml:3:14: "), "{text}");
}

#[test]
fn files_that_are_not_policies() {
    for (bytes, needle) in [
        (&b""[..], "empty"),
        (&b"# only a comment\n\n"[..], "empty"),
        (&b"version: 1\nx: \xff\xfe\n"[..], "UTF-8"),
        (&b"[1, 2]\n"[..], ""),
        (&b"version: 1\nversion: 1\n"[..], ""),
        (&b"version: [1\n"[..], ""),
    ] {
        let e = Policy::parse("p.yml", bytes).expect_err("rejected");
        assert!(e.to_string().starts_with("p.yml:"), "{e}");
        assert!(e.to_string().contains(needle), "{e}");
    }
    let huge = vec![b'#'; MAX_BYTES + 1];
    assert!(
        Policy::parse("p.yml", &huge)
            .unwrap_err()
            .to_string()
            .contains("1 MiB")
    );
}

#[test]
fn digest_is_sha256_of_the_raw_bytes() {
    assert_eq!(
        digest(b""),
        "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    );
}

#[test]
fn single_approver_string_and_durations_with_units() {
    let p = parse("version: 1\ndefaults:\n  approvers: \"@alice\"\n  timeout: 1h 30m\n").unwrap();
    assert_eq!(
        p.defaults.approvers,
        Approvers::List(vec![Owner::User("alice".into())])
    );
    assert_eq!(
        humantime::format_duration(p.defaults.timeout).to_string(),
        "1h 30m"
    );
}

#[test]
fn yaml_level_errors_name_the_key() {
    let (_, _, m) = err("version: 1\ndefaults:\n  approvals: two\n");
    // The dotted path now (was `approvals: `), and what was found.
    assert!(
        m.starts_with("defaults.approvals: ") && m.contains("whole number"),
        "{m}"
    );
    let (_, _, m) = err("version: 1\ndefaults:\n  self_approval: maybe\n");
    assert!(m.starts_with("defaults.self_approval: "), "{m}");
    let (l, _, m) = err("version: 1\nversion: 1\n");
    assert_eq!(l, 2);
    assert!(m.contains("duplicate") && !m.contains("Options"), "{m}");
}

#[test]
fn audit_pusher_signers_has_a_default_a_value_and_positioned_errors() {
    let p = parse("version: 1\n").unwrap();
    assert_eq!(p.audit.pusher_signers, ".github/jitaa-pusher-signers");
    let p = parse("version: 1\naudit:\n  pusher_signers: keys/developers\n").unwrap();
    assert_eq!(p.audit.pusher_signers, "keys/developers");
    assert_eq!(p.audit.allowed_signers, ".github/jitaa-allowed-signers");
    for (text, line, col, needle) in [
        (
            "version: 1\naudit:\n  pusher_signers: \"  \"\n",
            3,
            19,
            "audit.pusher_signers: empty",
        ),
        (
            "version: 1\naudit:\n  allowed_signers: keys/all\n  pusher_signers: keys/all\n",
            4,
            19,
            "separate files",
        ),
        (
            "version: 1\naudit:\n  pusher_signers: .github/jitaa-allowed-signers\n",
            3,
            19,
            "also audit.allowed_signers",
        ),
    ] {
        let (l, c, m) = err(text);
        assert_eq!((l, c), (line, col), "{text:?}: {m}");
        assert!(m.contains(needle), "{text:?}: {m}");
    }
}

#[test]
fn audit_trusted_workflows_lists_workflow_files_with_positioned_errors() {
    assert!(
        parse("version: 1\n")
            .unwrap()
            .audit
            .trusted_workflows
            .is_empty()
    );
    let p = parse(
        "version: 1\naudit:\n  trusted_workflows: [.github/workflows/jitaa.yml, .github/workflows/deploy.yaml, .github/workflows/jitaa.yml]\n",
    )
    .unwrap();
    assert_eq!(
        p.audit.trusted_workflows,
        [
            ".github/workflows/jitaa.yml",
            ".github/workflows/deploy.yaml"
        ]
    );
    let p =
        parse("version: 1\naudit:\n  trusted_workflows: .github/workflows/jitaa.yml\n").unwrap();
    assert_eq!(p.audit.trusted_workflows, [".github/workflows/jitaa.yml"]);
    for (text, line, needle) in [
        (
            "version: 1\naudit:\n  trusted_workflows: [jitaa.yml]\n",
            3,
            "is not under `.github/workflows/`",
        ),
        (
            "version: 1\naudit:\n  trusted_workflows:\n    - .github/workflows/jitaa.yml@refs/heads/main\n",
            4,
            "names a ref",
        ),
        (
            "version: 1\naudit:\n  trusted_workflows: [.github/workflows/sub/x.yml]\n",
            3,
            "directly in `.github/workflows/`",
        ),
        (
            "version: 1\naudit:\n  trusted_workflows: [.github/workflows/x.json]\n",
            3,
            "`.yml` or `.yaml`",
        ),
        (
            "version: 1\naudit:\n  trusted_workflows: [\"\"]\n",
            3,
            "audit.trusted_workflows: empty",
        ),
    ] {
        let (l, _, m) = err(text);
        assert_eq!(l, line, "{text:?}: {m}");
        assert!(m.starts_with("audit.trusted_workflows"), "{text:?}: {m}");
        assert!(m.contains(needle), "{text:?}: {m}");
    }
}
