//! Property tests: no input makes `Policy::parse` panic, and every input gives either a
//! policy or at least one diagnostic that names the file and a place inside it.
#![allow(clippy::format_collect, reason = "test inputs built in one expression")]

use proptest::prelude::*;

use super::*;

const VALID: &str = r#"version: 1
oidc: optional
audit:
  branch: jitaa/audit
  signing: [ssh, github-oidc]
defaults:
  approvals: 1
  approvers: codeowners
  timeout: 30m
  ttl: 15m
  self_approval: false
protected_branches: [main, "release/*"]
rules:
  - name: production
    match: { environment: production, branches: [main] }
    approvals: 2
    approvers: ["@acme/sre", "@alice"]
    codeowners: all
  - name: docs-only
    match:
      paths: ["docs/**", "*.md"]
      events: [push]
    approvals: 0
"#;

/// A policy with syntax errors and schema problems on many lines.
const BROKEN: &str = "version: 1
defaults:
  aprovals: 2
  ttl: 15m
    timeout: 1h
\tself_approval: true
protected_branches: [main, dev
audit: &a
  singing: ssh
rules:
  - name: a
    approvals: two
    match: {paths: *.md, branches: *a}
  - nme: b
    approvers: @alice
  - name: 'c
    codeowners: some
";

/// Parses and checks the outcome's shape; the error text is rendered too.
fn check(bytes: &[u8]) -> Result<(), TestCaseError> {
    let Err(e) = Policy::parse("p.yml", bytes) else {
        return Ok(());
    };
    prop_assert!(!e.problems.is_empty(), "an error with no problem");
    let text = std::str::from_utf8(bytes).ok();
    // A line past the end is allowed for an error at the end of the input.
    let lines = text.map_or(0, |t| t.split('\n').count());
    for p in &e.problems {
        prop_assert_eq!(&p.file, "p.yml");
        prop_assert!(!p.message.trim().is_empty(), "an empty message");
        if p.line == 0 {
            // Only whole-file problems have no line.
            prop_assert!(
                text.is_none()
                    || p.message.starts_with("empty")
                    || p.message.starts_with("not a policy")
                    || p.message.contains("bytes;"),
                "no line for: {}",
                p.message
            );
        } else {
            prop_assert!(p.line <= lines + 1, "line {} of {lines}: {}", p.line, p);
            prop_assert!(p.column >= 1, "column 0: {}", p);
        }
    }
    prop_assert!(e.to_string().starts_with("p.yml"));
    Ok(())
}

/// A small edit to a valid policy.
#[derive(Debug, Clone)]
enum Edit {
    Insert(usize, String),
    Delete(usize, usize),
    /// Adds (or with a negative number, removes) leading spaces on a line.
    Indent(usize, i8),
    DuplicateLine(usize),
    SwapLines(usize, usize),
    Tab(usize),
}

fn edit() -> impl Strategy<Value = Edit> {
    let piece = prop::sample::select(vec![
        ":",
        " ",
        "  ",
        "\n",
        "\t",
        "-",
        "- ",
        "[",
        "]",
        "{",
        "}",
        ",",
        "'",
        "\"",
        "#",
        "&a",
        "*a",
        "!",
        "|",
        ">",
        "? ",
        "@",
        "`",
        "%",
        "---",
        "...",
        "<<: ",
        "~",
        "\\",
        "é",
        "\r",
        "x",
        "name: ",
        "approvals: ",
        "match: ",
        "0",
        "-1",
        "1e999",
        "0x",
        ".inf",
    ]);
    prop_oneof![
        (any::<usize>(), piece).prop_map(|(at, s)| Edit::Insert(at, s.to_string())),
        (any::<usize>(), 1usize..8).prop_map(|(at, n)| Edit::Delete(at, n)),
        (any::<usize>(), -4i8..6).prop_map(|(l, d)| Edit::Indent(l, d)),
        any::<usize>().prop_map(Edit::DuplicateLine),
        (any::<usize>(), any::<usize>()).prop_map(|(a, b)| Edit::SwapLines(a, b)),
        any::<usize>().prop_map(Edit::Tab),
    ]
}

fn apply(text: &str, e: &Edit) -> String {
    let mut lines: Vec<String> = text.split('\n').map(str::to_string).collect();
    let n = lines.len();
    match e {
        Edit::Insert(at, s) => {
            let mut t = text.to_string();
            let mut i = at % (t.len() + 1);
            while !t.is_char_boundary(i) {
                i -= 1;
            }
            t.insert_str(i, s);
            return t;
        }
        Edit::Delete(at, len) => {
            let chars: Vec<char> = text.chars().collect();
            let i = at % (chars.len() + 1);
            let j = (i + len).min(chars.len());
            return chars[..i].iter().chain(&chars[j..]).collect();
        }
        Edit::Indent(l, d) => {
            let line = &mut lines[l % n];
            if *d >= 0 {
                line.insert_str(0, &" ".repeat(*d as usize));
            } else {
                let strip = (-*d as usize).min(line.len() - line.trim_start_matches(' ').len());
                line.drain(..strip);
            }
        }
        Edit::DuplicateLine(l) => {
            let line = lines[l % n].clone();
            lines.insert(l % n, line);
        }
        Edit::SwapLines(a, b) => lines.swap(a % n, b % n),
        Edit::Tab(l) => {
            let line = &mut lines[l % n];
            let lead = line.len() - line.trim_start_matches(' ').len();
            line.replace_range(..lead.min(2), "\t");
        }
    }
    lines.join("\n")
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn arbitrary_bytes_never_panic(
        // Mostly text, so that most inputs get past the UTF-8 check into the parser.
        bytes in prop::collection::vec(
            prop_oneof![8 => 0x20u8..0x7f, 2 => Just(b'\n'), 1 => any::<u8>()],
            0..400,
        )
    ) {
        check(&bytes)?;
    }

    #[test]
    fn yaml_like_text_never_panics(
        text in r##"([a-z_]{0,8}|[ \t]{0,4}|[-:\[\]{},'"#&*!|>?@`%~.0-9]|\n|version: 1\n|rules:\n  - name: a\n){0,60}"##
    ) {
        check(text.as_bytes())?;
    }

    #[test]
    fn edited_policies_never_panic(
        seed in prop::sample::select(vec![VALID, BROKEN]),
        edits in prop::collection::vec(edit(), 1..6),
    ) {
        let mut text = seed.to_string();
        for e in &edits {
            text = apply(&text, e);
        }
        check(text.as_bytes())?;
    }
}

#[test]
fn the_unedited_policy_is_valid() {
    Policy::parse("p.yml", VALID.as_bytes()).expect("valid");
}

#[test]
fn inputs_built_to_cost_a_lot_are_refused_quickly() {
    let start = std::time::Instant::now();
    let deep = "[".repeat(100_000);
    let nested: String = (0..1_000)
        .map(|i| format!("{}k{i}:\n", " ".repeat(i)))
        .collect();
    // The billion laughs, with aliases.
    let mut laughs = String::from("a: &a [x, x, x, x, x, x, x, x, x, x]\n");
    for i in 1..12 {
        let prev = (b'a' + i - 1) as char;
        let me = (b'a' + i) as char;
        laughs.push_str(&format!(
            "{me}: &{me} [*{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}]\n"
        ));
    }
    let many_keys: String = (0..40_000).map(|i| format!("k{i}: v\n")).collect();
    let tabs = "\tx: 1\n".repeat(50_000);
    for (text, first) in [
        (deep, "nested more than 20 deep"),
        (nested, "nested more than 20 deep"),
        (
            laughs,
            "aliases (`*name`) repeat more YAML than a policy holds",
        ),
        (many_keys, "k0: unknown key"),
        (tabs, "a tab in the indentation"),
    ] {
        assert!(text.len() <= MAX_BYTES);
        let e = Policy::parse("p.yml", text.as_bytes()).expect_err("refused");
        assert!(e.problems[0].message.contains(first), "{}", e.problems[0]);
    }
    assert!(
        start.elapsed() < std::time::Duration::from_secs(60),
        "{:?}",
        start.elapsed()
    );
}
