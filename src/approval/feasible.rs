//! Whether anyone could ever approve a request: a request that nobody can approve fails
//! at once, naming the rule and why, instead of waiting out its timeout. Pure: it looks
//! only at the rule, the requester and the changed paths' owners. Teams count as any
//! number of people (their members are not listed here), so only a request that is
//! impossible whatever the teams hold is refused.

use std::collections::BTreeSet;

use crate::codeowners::{Owner, PathOwners};
use crate::policy::{Approvers, Coverage, Rule};

/// `Err(why)` when no set of eligible people could reach the rule's approvals.
pub(crate) fn feasible(rule: &Rule, requester: &str, paths: &[PathOwners]) -> Result<(), String> {
    if rule.approvals == 0 {
        return Ok(());
    }
    let allowed = |o: &Owner| match o {
        Owner::User(login) => rule.self_approval || !login.eq_ignore_ascii_case(requester),
        _ => true,
    };
    let candidates: Vec<&Owner> = match &rule.approvers {
        Approvers::List(list) => list.iter().collect(),
        Approvers::Codeowners => {
            if rule.codeowners == Coverage::All
                && let Some(p) = paths.iter().find(|p| !p.owners.iter().any(allowed))
            {
                return Err(if p.owners.is_empty() {
                    format!(
                        "`{}` has no code owner, and with `codeowners: all` every changed path needs one of its owners",
                        p.path
                    )
                } else {
                    format!(
                        "`{}` is owned only by {requester}, the requester, who may not approve (self_approval: false)",
                        p.path
                    )
                });
            }
            paths.iter().flat_map(|p| p.owners.iter()).collect()
        }
    };
    let mut people = BTreeSet::new();
    for o in candidates.iter().copied().filter(|o| allowed(o)) {
        match o {
            // A team may hold any number of people.
            Owner::Team { .. } => return Ok(()),
            Owner::User(l) => people.insert(l.to_ascii_lowercase()),
            Owner::Email(e) => people.insert(e.to_ascii_lowercase()),
        };
    }
    let need = rule.approvals as usize;
    if people.len() >= need {
        return Ok(());
    }
    let source = match &rule.approvers {
        Approvers::List(_) => "the rule's approvers",
        Approvers::Codeowners if paths.iter().all(|p| p.owners.is_empty()) => {
            return Err("no changed path has a code owner, so no code owner can approve".into());
        }
        Approvers::Codeowners => "the changed paths' code owners",
    };
    let excluded = candidates.iter().any(|o| !allowed(o));
    Err(format!(
        "it needs {need} distinct approver{} but {source} {} only {}{}",
        if need == 1 { "" } else { "s" },
        if people.len() == 1 { "is" } else { "are" },
        if people.is_empty() {
            "nobody".to_string()
        } else {
            people.iter().cloned().collect::<Vec<_>>().join(", ")
        },
        if excluded {
            format!(" (the requester {requester} may not approve: self_approval: false)")
        } else {
            String::new()
        }
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn owners(path: &str, list: &[&str]) -> PathOwners {
        PathOwners {
            path: path.into(),
            owners: list.iter().filter_map(|o| Owner::parse(o)).collect(),
            line: Some(1),
        }
    }

    fn rule(approvals: u32, approvers: Approvers, coverage: Coverage) -> Rule {
        let mut r = Rule::builtin("r");
        r.approvals = approvals;
        r.approvers = approvers;
        r.codeowners = coverage;
        r
    }

    #[test]
    fn table() {
        let list = |l: &[&str]| Approvers::List(l.iter().filter_map(|o| Owner::parse(o)).collect());
        let co = Approvers::Codeowners;
        let cases: Vec<(&str, Rule, Vec<PathOwners>, bool)> = vec![
            (
                "no approvals needed",
                rule(0, co.clone(), Coverage::Any),
                vec![],
                true,
            ),
            (
                "an owner who is not the requester",
                rule(1, co.clone(), Coverage::Any),
                vec![owners("a", &["@bob"])],
                true,
            ),
            (
                "no changed path has an owner",
                rule(1, co.clone(), Coverage::Any),
                vec![owners("a", &[])],
                false,
            ),
            (
                "no changed path at all",
                rule(1, co.clone(), Coverage::Any),
                vec![],
                false,
            ),
            (
                "the only owner is the requester",
                rule(1, co.clone(), Coverage::Any),
                vec![owners("a", &["@alice"])],
                false,
            ),
            (
                "two approvals, one possible owner",
                rule(2, co.clone(), Coverage::Any),
                vec![owners("a", &["@bob", "@alice"])],
                false,
            ),
            (
                "a team owner may hold enough people",
                rule(5, co.clone(), Coverage::Any),
                vec![owners("a", &["@acme/sre"])],
                true,
            ),
            (
                "codeowners: all with an unowned path",
                rule(1, co.clone(), Coverage::All),
                vec![owners("a", &["@bob"]), owners("b", &[])],
                false,
            ),
            (
                "a list of only the requester",
                rule(1, list(&["@alice"]), Coverage::Any),
                vec![],
                false,
            ),
            (
                "a list naming someone else",
                rule(1, list(&["@alice", "@bob"]), Coverage::Any),
                vec![],
                true,
            ),
        ];
        for (name, r, paths, ok) in cases {
            let got = feasible(&r, "alice", &paths);
            assert_eq!(got.is_ok(), ok, "{name}: {got:?}");
        }
        // Self-approval lets the requester count.
        let mut r = rule(1, co, Coverage::Any);
        r.self_approval = true;
        assert!(feasible(&r, "alice", &[owners("a", &["@alice"])]).is_ok());
    }

    #[test]
    fn the_reason_names_what_is_missing() {
        let r = rule(2, Approvers::Codeowners, Coverage::Any);
        let e = feasible(&r, "alice", &[owners("a", &["@bob", "@Alice"])]).unwrap_err();
        assert!(e.contains("needs 2 distinct approvers"), "{e}");
        assert!(e.contains("bob"), "{e}");
        assert!(e.contains("self_approval: false"), "{e}");
    }
}
