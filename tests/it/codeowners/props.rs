//! Property tests: no CODEOWNERS or policy input panics, and matching obeys
//! "the last matching line wins".

use jitaa::codeowners::CodeOwners;
use jitaa::policy::{MatchInput, Policy};
use proptest::prelude::*;

/// Text built from the characters CODEOWNERS syntax cares about.
fn codeowners_text() -> impl Strategy<Value = String> {
    prop::collection::vec(
        prop::string::string_regex(r"[a-z/*?.!#\\\[\]{}@ \t-]{0,24}").unwrap(),
        0..12,
    )
    .prop_map(|lines| lines.join("\n"))
}

fn path() -> impl Strategy<Value = String> {
    prop::string::string_regex(r"/?[a-z.*{}]{0,6}(/[a-z.]{1,6}){0,4}/?").unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn codeowners_never_panics(text in codeowners_text(), any in ".{0,80}", paths in prop::collection::vec(path(), 0..8)) {
        for t in [&text, &any] {
            let co = CodeOwners::parse("CODEOWNERS", t);
            for p in &paths {
                let po = co.owners_of(p);
                // A deciding line is always a usable line of the file.
                if let Some(l) = po.line {
                    prop_assert!(co.pattern_at(l).is_some());
                } else {
                    prop_assert!(po.owners.is_empty());
                }
            }
        }
    }

    #[test]
    fn an_appended_catch_all_always_decides(text in codeowners_text(), p in "[a-z]{1,5}(/[a-z]{1,5}){0,3}") {
        let text = format!("{text}\n* @last");
        let co = CodeOwners::parse("CODEOWNERS", &text);
        let po = co.owners_of(&p);
        prop_assert_eq!(po.line, Some(text.lines().count()));
        prop_assert_eq!(po.owners.len(), 1);
    }

    #[test]
    fn escaped_patterns_never_panic(lines in prop::collection::vec(r"(\\.|\\|[a-z/*?! \[\]#é])*( @[a-z]{1,4})?", 0..8), paths in prop::collection::vec(r"[a-z*?! \\\[\]é]{0,6}(/[a-z*? \\]{1,6}){0,3}", 0..8)) {
        let text = lines.join("\n");
        let co = CodeOwners::parse("CODEOWNERS", &text);
        for p in &paths {
            let po = co.owners_of(p);
            if let Some(l) = po.line {
                prop_assert!(co.pattern_at(l).is_some());
            }
        }
    }

    #[test]
    fn a_fully_escaped_name_owns_exactly_that_name(name in r"[a-z*?! \[\]#{}\\é]{1,8}", other in r"[a-z*?]{1,8}") {
        let escaped: String = name.chars().flat_map(|c| ['\\', c]).collect();
        let text = format!("* @all\n/{escaped} @exact\n");
        let co = CodeOwners::parse("CODEOWNERS", &text);
        prop_assert!(co.problems().is_empty(), "{:?}", co.problems());
        let owner = |p: &str| co.owners_of(p).owners.iter().map(std::string::ToString::to_string).collect::<Vec<_>>();
        prop_assert_eq!(owner(&name), vec!["@exact".to_string()]);
        if other != name {
            prop_assert_eq!(owner(&other), vec!["@all".to_string()]);
        }
    }

    #[test]
    fn policy_parse_never_panics(bytes in prop::collection::vec(any::<u8>(), 0..200), yamlish in r"(version: 1\n)?([a-z_]{1,12}: ?(\[|\{)?[a-z0-9@/*\x22-]{0,10}(\]|\})?\n {0,4}-? ?){0,6}") {
        let _ = Policy::parse("p.yml", &bytes);
        if let Ok(p) = Policy::parse("p.yml", yamlish.as_bytes()) {
            let paths = vec!["a/b".to_string()];
            let m = p.rule_for(&MatchInput { environment: Some("production"), branch: Some("main"), paths: &paths, event: Some("push"), actor: Some("x") });
            prop_assert!(!m.why.is_empty());
        }
    }
}
