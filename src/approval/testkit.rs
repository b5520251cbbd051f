//! Test fixtures shared by the table and property tests of the approval engine.

use std::time::Duration;

use chrono::{DateTime, TimeZone, Utc};

use super::*;
use crate::codeowners::{Owner, PathOwners};
use crate::policy::{Approvers, Coverage, Rule};

pub(super) const ID: &str = "01JDXYZ0ABCDEFGHJKMNPQRSTV";
pub(super) const OTHER_ID: &str = "01JDXYZ0ABCDEFGHJKMNPQRSTW";
pub(super) const SHA: &str = "86477b67e56d929692bf7a4ff92eeb057b0fb74e";

/// 2026-11-25 at minute `m` past noon (negative: before noon), second `s`.
pub(super) fn at(m: i64, s: i64) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 25, 12, 0, 0)
        .single()
        .expect("valid")
        + chrono::Duration::seconds(m * 60 + s)
}

pub(super) fn owner(s: &str) -> Owner {
    match s.strip_prefix('@') {
        Some(rest) => match rest.split_once('/') {
            Some((org, slug)) => Owner::Team {
                org: org.into(),
                slug: slug.into(),
            },
            None => Owner::User(rest.into()),
        },
        None => Owner::Email(s.into()),
    }
}

pub(super) fn rule(approvals: u32, approvers: &[&str], coverage: Coverage) -> Rule {
    Rule {
        name: "r".into(),
        approvals,
        approvers: if approvers.is_empty() {
            Approvers::Codeowners
        } else {
            Approvers::List(approvers.iter().map(|s| owner(s)).collect())
        },
        codeowners: coverage,
        self_approval: false,
        timeout: Duration::from_secs(30 * 60),
        ttl: Duration::from_secs(15 * 60),
    }
}

/// A request by alice (actor: ci-runner) posted at noon on `paths` (path, owners).
pub(super) fn request(paths: &[(&str, &[&str])]) -> Request {
    Request {
        id: ID.into(),
        repository: "acme/api".into(),
        sha: SHA.into(),
        target: Target::Environment("production".into()),
        requester: "alice".into(),
        actor: "ci-runner".into(),
        posted_at: at(0, 0),
        comment_id: None,
        paths: paths
            .iter()
            .map(|(p, o)| PathOwners {
                path: p.to_string(),
                owners: o.iter().map(|s| owner(s)).collect(),
                line: (!o.is_empty()).then_some(1),
            })
            .collect(),
    }
}

pub(super) fn author(login: &str) -> Author {
    Author {
        login: login.into(),
        id: login.bytes().map(u64::from).sum(),
        is_bot: false,
    }
}

pub(super) fn comment(id: u64, login: &str, body: &str, minute: i64) -> Comment {
    Comment {
        id,
        author: author(login),
        body: body.into(),
        created_at: at(minute, 0),
        updated_at: at(minute, 0),
        url: format!("https://github.com/acme/api/pull/1#issuecomment-{id}"),
    }
}

pub(super) fn review(id: u64, login: &str, state: &str, sha: &str, minute: i64) -> Review {
    Review {
        id,
        author: author(login),
        state: ReviewState::from_api(state),
        commit_id: sha.into(),
        submitted_at: Some(at(minute, 0)),
        url: format!("https://github.com/acme/api/pull/1#pullrequestreview-{id}"),
    }
}

/// bob, carol, dave, sre1, sre2: write; eve: read; alice (requester): admin;
/// sre1/sre2 in acme/sre, carol in acme/docs; mallory: no facts.
pub(super) fn facts() -> FactsByLogin {
    [
        ("bob", Facts::new(Permission::Write, &[])),
        (
            "carol",
            Facts::new(Permission::Maintain, &[("acme", "docs")]),
        ),
        ("dave", Facts::new(Permission::Admin, &[])),
        ("sre1", Facts::new(Permission::Write, &[("Acme", "SRE")])),
        ("sre2", Facts::new(Permission::Write, &[("acme", "sre")])),
        ("eve", Facts::new(Permission::Read, &[("acme", "sre")])),
        ("alice", Facts::new(Permission::Admin, &[("acme", "sre")])),
        (
            "ci-runner",
            Facts::new(Permission::Admin, &[("acme", "sre")]),
        ),
        ("ghost", Facts::default()),
    ]
    .into_iter()
    .collect()
}

pub(super) fn run(
    rule: &Rule,
    req: &Request,
    comments: Vec<Comment>,
    reviews: Vec<Review>,
    now: i64,
) -> Outcome {
    let events = Events { comments, reviews };
    decide(rule, req, &events, &facts(), at(now, 0))
}

pub(super) const SRC: (&str, &[&str]) = ("src/lib.rs", &["@bob"]);
pub(super) const DOCS: (&str, &[&str]) = ("docs/a.md", &["@acme/docs"]);

pub(super) fn approved_by(o: &Outcome) -> Vec<String> {
    match &o.decision {
        Decision::Approved { approvals, .. } => approvals.iter().map(|a| a.login.clone()).collect(),
        d => panic!("expected approved, got {d:?}\n{}", o.explanation.render()),
    }
}

pub(super) fn missing_of(o: &Outcome) -> u32 {
    match &o.decision {
        Decision::Pending { missing, .. } => *missing,
        d => panic!("expected pending, got {d:?}"),
    }
}

pub(super) fn refusal(o: &Outcome, comment_id: u64) -> Refusal {
    let ack = o
        .acknowledgements
        .iter()
        .find(|a| a.comment_id == comment_id)
        .expect("an ack for the comment");
    match &ack.verdict {
        AckVerdict::Refused { reason, .. } => reason.clone(),
        AckVerdict::Accepted => panic!("comment {comment_id} was accepted"),
    }
}
