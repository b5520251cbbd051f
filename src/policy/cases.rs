//! Case table: a policy file and every diagnostic it must give, in order, each as
//! (line, column, text the message contains). Unknown keys with their did-you-mean,
//! wrong types at each level, YAML syntax worded for a person, and files with many
//! problems reported in one run.

use super::*;

/// (what the case shows, the file, the diagnostics: line, column, message contains).
type Case = (
    &'static str,
    &'static str,
    &'static [(usize, usize, &'static str)],
);

const CASES: &[Case] = &[
    // ── many problems, one run ──
    (
        "ten schema problems, all reported in file order",
        "version: 1
oidc: sometimes
audit:
  singing: [ssh]
defaults:
  aprovals: 2
  ttl: forever
  self_approval: maybe
protected_branches: {main: true}
rules:
  - name: production
    match: {enviroment: production}
    approvers: \"nobody\"
  - name: production
    approvals: 101
",
        &[
            (
                2,
                7,
                "oidc: `sometimes` is not one of `required`, `optional`",
            ),
            (4, 3, "audit.singing: unknown key; did you mean `signing`?"),
            (
                6,
                3,
                "defaults.aprovals: unknown key; did you mean `approvals`?",
            ),
            (7, 8, "defaults.ttl: `forever` is not a duration"),
            (
                8,
                18,
                "defaults.self_approval: expected true or false, found `maybe`",
            ),
            (
                9,
                21,
                "protected_branches: expected a string or a list of strings, found a mapping",
            ),
            (
                12,
                13,
                "rules[0] (production).match.enviroment: unknown key; did you mean `environment`?",
            ),
            (
                13,
                16,
                "rules[0] (production).approvers: `nobody` is neither",
            ),
            (14, 11, "rules[1].name: duplicate rule name `production`"),
            (
                15,
                16,
                "rules[1] (production).approvals: 101 is not between 0 and 100",
            ),
        ],
    ),
    (
        "ten problems mixing YAML syntax errors and schema problems",
        "version: 1
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
",
        &[
            (
                3,
                3,
                "defaults.aprovals: unknown key; did you mean `approvals`?",
            ),
            (
                5,
                5,
                "defaults.timeout: this line is indented more than the key above it (`ttl`, line 4)",
            ),
            (
                6,
                1,
                "a tab in the indentation: YAML indents with spaces only",
            ),
            (7, 21, "protected_branches: unclosed `[`"),
            (9, 3, "audit.singing: unknown key; did you mean `signing`?"),
            (
                12,
                16,
                "rules[0] (a).approvals: expected a whole number, found `two`",
            ),
            (13, 20, "`*.md` is read as a YAML alias"),
            (14, 5, "rules[1].nme: unknown key; did you mean `name`?"),
            (
                15,
                16,
                "rules[1].approvers: `@` cannot start a plain value; quote it (`\"@alice\"`)",
            ),
            (
                17,
                17,
                "rules[2] (c).codeowners: `some` is not one of `any`, `all`",
            ),
        ],
    ),
    // ── unknown keys, with did-you-mean, at every level ──
    (
        "unknown key at the root",
        "version: 1\nprotected_branch: [main]\n",
        &[(
            2,
            1,
            "protected_branch: unknown key; did you mean `protected_branches`?",
        )],
    ),
    (
        "a misspelt version is also a missing one",
        "verison: 1\n",
        &[
            (1, 1, "verison: unknown key; did you mean `version`?"),
            (1, 1, "version: missing"),
        ],
    ),
    (
        "a settings key at the root belongs under defaults",
        "version: 1\napprovals: 2\n",
        &[(
            2,
            1,
            "approvals: unknown key; `approvals` belongs under `defaults:` or in a rule",
        )],
    ),
    (
        "unknown key in defaults",
        "version: 1\ndefaults:\n  approvals: 1\n  aprovers: codeowners\n",
        &[(
            4,
            3,
            "defaults.aprovers: unknown key; did you mean `approvers`?",
        )],
    ),
    (
        "case and dashes are typos too",
        "version: 1\ndefaults:\n  Approvals: 1\n  self-approval: true\n",
        &[
            (
                3,
                3,
                "defaults.Approvals: unknown key; did you mean `approvals`?",
            ),
            (
                4,
                3,
                "defaults.self-approval: unknown key; did you mean `self_approval`?",
            ),
        ],
    ),
    (
        "unknown key in a rule",
        "version: 1\nrules:\n  - name: a\n    aprovers: [\"@a\"]\n",
        &[(
            4,
            5,
            "rules[0] (a).aprovers: unknown key; did you mean `approvers`?",
        )],
    ),
    (
        "a match key written in the rule itself",
        "version: 1\nrules:\n  - name: a\n    environment: production\n",
        &[(
            4,
            5,
            "rules[0] (a).environment: unknown key; `environment` belongs under the rule's `match:`",
        )],
    ),
    (
        "unknown keys in match",
        "version: 1\nrules:\n  - name: a\n    match:\n      path: [x]\n      enviroment: [y]\n",
        &[
            (
                5,
                7,
                "rules[0] (a).match.path: unknown key; did you mean `paths`?",
            ),
            (
                6,
                7,
                "rules[0] (a).match.enviroment: unknown key; did you mean `environment`?",
            ),
        ],
    ),
    (
        "a setting written under match",
        "version: 1\nrules:\n  - name: a\n    match: {paths: [x], approvals: 0}\n",
        &[(
            4,
            25,
            "rules[0] (a).match.approvals: unknown key; `approvals` belongs in the rule itself",
        )],
    ),
    (
        "a key nothing resembles lists the keys there",
        "version: 1\naudit:\n  colour: red\n",
        &[(
            3,
            3,
            "audit.colour: unknown key; the keys here are `branch`, `signing`, `allowed_signers`, `pusher_signers`, `trusted_workflows`, `remote`",
        )],
    ),
    // ── wrong types at each level ──
    (
        "the document is not a mapping",
        "[1, 2]\n",
        &[(
            1,
            1,
            "not a policy: expected a mapping of keys (`version: 1`",
        )],
    ),
    (
        "wrong types at the root",
        "version: one\noidc: [x]\naudit: 3\ndefaults: [1]\nprotected_branches: {a: 1}\nrules: {name: x}\n",
        &[
            (1, 10, "version: expected a whole number, found `one`"),
            (2, 7, "oidc: expected a string, found a list"),
            (3, 8, "audit: expected a mapping"),
            (4, 11, "defaults: expected a mapping"),
            (
                5,
                21,
                "protected_branches: expected a string or a list of strings, found a mapping",
            ),
            (
                6,
                8,
                "rules: expected a list of rules (`- name: …`, one per item), found a mapping",
            ),
        ],
    ),
    (
        "wrong types in audit",
        "version: 1\naudit:\n  signing: {a: 1}\n  branch: [x]\n",
        &[
            (
                3,
                12,
                "audit.signing: expected a string or a list of strings, found a mapping",
            ),
            (4, 11, "audit.branch: expected a string, found a list"),
        ],
    ),
    (
        "wrong types in defaults",
        "version: 1\ndefaults:\n  approvals: 1.5\n  self_approval: maybe\n  approvers: {a: b}\n  ttl: [1h]\n",
        &[
            (
                3,
                14,
                "defaults.approvals: expected a whole number, found `1.5`",
            ),
            (
                4,
                18,
                "defaults.self_approval: expected true or false, found `maybe`",
            ),
            (
                5,
                14,
                "defaults.approvers: expected a string or a list of strings, found a mapping",
            ),
            (6, 8, "defaults.ttl: expected a string, found a list"),
        ],
    ),
    (
        "wrong types in rules",
        "version: 1\nrules:\n  - production\n  - name: [x]\n    approvals: true\n  - ~\n",
        &[
            (
                3,
                5,
                "rules[0]: expected a rule: a mapping with `name:` and its settings",
            ),
            (4, 11, "rules[1].name: expected a string, found a list"),
            (
                5,
                16,
                "rules[1].approvals: expected a whole number, found `true`",
            ),
            (6, 5, "rules[2]: expected a rule"),
        ],
    ),
    (
        "wrong types in match",
        "version: 1\nrules:\n  - name: a\n    match: [x]\n  - name: b\n    match:\n      paths: {a: 1}\n      environment: [[x], prod]\n",
        &[
            (
                4,
                12,
                "rules[0] (a).match: expected a mapping of conditions",
            ),
            (
                7,
                14,
                "rules[1] (b).match.paths: expected a string or a list of strings, found a mapping",
            ),
            (
                8,
                21,
                "rules[1] (b).match.environment[0]: expected a string, found a list",
            ),
        ],
    ),
    (
        "a list of nothing but wrong items is reported once",
        "version: 1\ndefaults:\n  approvers: [[x]]\n",
        &[(
            3,
            15,
            "defaults.approvers[0]: expected a string, found a list",
        )],
    ),
    (
        "a key that is not a word",
        "version: 1\n[a]: b\n",
        &[(2, 1, "the policy: a key must be a plain word")],
    ),
    // ── YAML syntax, worded for a person ──
    (
        "a line indented more than the key above it",
        "version: 1\ndefaults:\n  approvals: 1\n    ttl: 15m\n",
        &[(
            4,
            5,
            "defaults.ttl: this line is indented more than the key above it (`approvals`, line 3), which already has a value; indent it 2 spaces like `approvals`",
        )],
    ),
    (
        "over-indented in a rule",
        "version: 1\nrules:\n  - name: a\n      approvals: 1\n",
        &[(
            4,
            7,
            "rules[0].approvals: this line is indented more than the key above it (`name`, line 3)",
        )],
    ),
    (
        "over-indented in match, with the block under it",
        "version: 1\nrules:\n  - name: prod\n    match:\n      environment: production\n        approvals: 2\n",
        &[(
            6,
            9,
            "rules[0].match.approvals: this line is indented more than the key above it (`environment`, line 5)",
        )],
    ),
    (
        "a line that lines up with no key above it",
        "version: 1\ndefaults:\n    approvals: 1\n  ttl: 15m\n",
        &[(
            4,
            3,
            "ttl: this line is indented 2 spaces, which lines up with no key above it (`approvals` at 4, `defaults` at 0)",
        )],
    ),
    (
        "a key where a list item must come",
        "version: 1\nprotected_branches:\n  - main\n  rules: []\n",
        &[(4, 3, "expected a `- ` list item here, like line 3")],
    ),
    (
        "unclosed `[`, with keys after it",
        "version: 1\nprotected_branches: [main, 2\nrules: []\n",
        &[(
            2,
            21,
            "protected_branches: unclosed `[`: the list opened here has no closing `]`",
        )],
    ),
    (
        "unclosed `[` at the end of the file",
        "version: [1, 2\n",
        &[(1, 10, "version: unclosed `[`")],
    ),
    (
        "unclosed `{`",
        "version: 1\ndefaults: {approvals: 1\n",
        &[(
            2,
            11,
            "defaults: unclosed `{`: the mapping opened here has no closing `}`",
        )],
    ),
    (
        "`[` closed by `}`",
        "version: 1\nrules:\n  - name: a\n    match: {paths: [\"docs/**\"}\n",
        &[(
            4,
            20,
            "unclosed `[`: what opens here is closed by `}`; add `]` before the `}`",
        )],
    ),
    (
        "unclosed quote",
        "version: 1\noidc: 'required\n",
        &[(
            2,
            7,
            "oidc: unclosed `'`: the string that starts here has no closing `'`",
        )],
    ),
    (
        "a tab in the indentation",
        "version: 1\ndefaults:\n\tapprovals: 1\n",
        &[(
            3,
            1,
            "a tab in the indentation: YAML indents with spaces only; replace the tab with spaces",
        )],
    ),
    (
        "every tab-indented line, and no missing version blamed on them",
        "defaults:\n\tapprovals: 1\n\tttl: 1h\n",
        &[
            (2, 1, "a tab in the indentation"),
            (3, 1, "a tab in the indentation"),
        ],
    ),
    (
        "a second `: ` on a line",
        "version: 1\noidc: b: c\n",
        &[(2, 8, "oidc: a second `: ` on this line; quote a value")],
    ),
    (
        "an unquoted @user",
        "version: 1\ndefaults:\n  approvers: @alice\n",
        &[(
            3,
            14,
            "defaults.approvers: `@` cannot start a plain value; quote it (`\"@alice\"`)",
        )],
    ),
    (
        "an unquoted glob starting with `*`",
        "version: 1\nrules:\n  - name: a\n    match: {paths: *.md}\n",
        &[(
            4,
            20,
            "`*.md` is read as a YAML alias, and no anchor `&.md` is defined above; quote it",
        )],
    ),
    (
        "two documents",
        "version: 1\n---\nversion: 1\n",
        &[(3, 1, "a second YAML document starts here (`---`)")],
    ),
    // ── duplicate keys ──
    (
        "duplicate keys at each level",
        "version: 1\nversion: 1\ndefaults:\n  ttl: 1h\n  ttl: 2h\nrules:\n  - name: a\n    match: {paths: [x], paths: [y]}\n",
        &[
            (
                2,
                1,
                "version: duplicate key (first written on line 1); keep one",
            ),
            (
                5,
                3,
                "defaults.ttl: duplicate key (first written on line 4)",
            ),
            (
                8,
                25,
                "rules[0] (a).match.paths: duplicate key (first written earlier on this line)",
            ),
        ],
    ),
    // ── files that hold no policy ──
    (
        "an empty file",
        "",
        &[(0, 0, "empty; a policy needs at least `version: 1`")],
    ),
    (
        "only comments and a document marker",
        "# policy\n---\n\n",
        &[(0, 0, "empty")],
    ),
];

#[test]
fn every_case_gives_exactly_its_diagnostics() {
    let mut failures = Vec::new();
    for (what, text, want) in CASES {
        let got = match Policy::parse(".github/jitaa.yml", text.as_bytes()) {
            Ok(_) => Vec::new(),
            Err(e) => e.problems,
        };
        let same = got.len() == want.len()
            && got
                .iter()
                .zip(want.iter())
                .all(|(g, (l, c, m))| g.line == *l && g.column == *c && g.message.contains(m));
        if !same {
            let got: Vec<String> = got.iter().map(std::string::ToString::to_string).collect();
            failures.push(format!(
                "{what}:\n  want {want:?}\n  got\n    {}",
                got.join("\n    ")
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

#[test]
fn valid_yaml_that_looks_unusual_still_parses() {
    for text in [
        // A tab after the colon is allowed; so are quoted numbers and YAML 1.1 booleans.
        "version: 1\ndefaults:\n  approvals:\t1\n",
        "version: '1'\ndefaults:\n  self_approval: yes\n  approvals: 0x2\n",
        // Anchors, aliases and merge keys.
        "version: 1\ndefaults: &d {approvals: 2}\nrules:\n  - name: a\n    <<: *d\n",
        // An empty value is as if the key were left out.
        "version: 1\ndefaults:\n  approvers:\n",
    ] {
        let r = Policy::parse("p.yml", text.as_bytes());
        assert!(r.is_ok(), "{text:?}: {}", r.unwrap_err());
    }
    let p = Policy::parse(
        "p.yml",
        b"version: 1\ndefaults: &d {approvals: 2}\nrules:\n  - name: a\n    <<: *d\n",
    )
    .unwrap();
    assert_eq!(p.rules().next().map(|r| r.approvals), Some(2));
}

#[test]
fn many_problems_are_shown_up_to_a_hundred_then_counted() {
    let mut text = String::from("version: 1\n");
    for i in 0..150 {
        text.push_str(&format!("unknown{i}: x\n"));
    }
    let e = Policy::parse("p.yml", text.as_bytes()).unwrap_err();
    assert_eq!(e.problems.len(), 150);
    let shown = e.to_string();
    assert_eq!(shown.lines().count(), 101, "{shown}");
    assert!(shown.ends_with("… and 50 more problems"), "{shown}");
}
