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

/// `comment`, edited at minute `minute`.
pub(super) fn edited(comment: Comment, minute: i64) -> Comment {
    Comment {
        updated_at: at(minute, 0),
        ..comment
    }
}

/// `comment`, its author marked as a bot by GitHub.
pub(super) fn from_bot(mut comment: Comment) -> Comment {
    comment.author.is_bot = true;
    comment
}

/// One row of a table test: the rule and request given, the events on the thread, the
/// minute the engine decides at, and what the outcome must show.
pub(super) struct Case<'a> {
    pub name: &'a str,
    pub rule: &'a Rule,
    pub request: &'a Request,
    pub comments: Vec<Comment>,
    pub reviews: Vec<Review>,
    /// Minutes past noon (the request was posted at noon).
    pub now: i64,
    pub expect: Vec<Expect>,
}

/// What a case expects of the engine's [`Outcome`]; minutes are past noon.
pub(super) enum Expect {
    /// Approved; the standing approvals are these logins, in this order.
    Approved(&'static [&'static str]),
    /// Approved by the event at this minute (`approved_at`).
    ApprovedAt(i64),
    /// Approved until this minute (`valid_until`).
    ValidUntil(i64),
    /// Approved, `auto` (no approvals needed) or not.
    Auto(bool),
    /// Approved; the first approval came this way.
    FirstVia(Via),
    /// Pending, this many more approvers needed.
    Missing(u32),
    /// Pending with exactly these paths uncovered.
    Uncovered(&'static [&'static str]),
    /// Pending with this many paths uncovered.
    UncoveredCount(usize),
    /// Pending, suggesting exactly these approvers.
    Suggest(&'static [&'static str]),
    /// Pending, suggesting this approver first.
    FirstSuggest(&'static str),
    /// Exactly `Expired` at this minute's deadline.
    Expired(i64),
    /// Denied by `login` with `reason` at minute `at`.
    Denied {
        login: &'static str,
        reason: Option<&'static str>,
        at: i64,
    },
    /// Denied, by anyone at any time.
    IsDenied,
    /// The decision's exit code.
    ExitCode(crate::exit::Code),
    /// The decision's word in the audit record.
    RecordWord(Option<&'static str>),
    /// The comment with this id is refused for a reason the check accepts, and the
    /// reason says something.
    Refused(u64, fn(&Refusal) -> bool),
    /// The comment with this id is refused, its reason naming each of these.
    RefusalSays(u64, &'static [&'static str]),
    /// The first acknowledgement's verdict.
    FirstAck(AckVerdict),
    /// How many comments get an acknowledgement (one per command-bearing comment id).
    Acks(usize),
    /// How many comments carried no command.
    Ignored(usize),
    /// The status of the explanation's event at this index is one the check accepts.
    Event(usize, fn(&explain::Status) -> bool),
    /// One of the explanation's notes contains this.
    Note(&'static str),
    /// The explanation's summary is this.
    Summary(&'static str),
    /// The explanation's summary starts with this.
    SummaryStarts(&'static str),
    /// The rendered explanation contains each of these.
    Renders(&'static [&'static str]),
    /// The outcome as JSON has this value at this pointer (`/decision/decision`).
    Json(&'static str, serde_json::Value),
    /// The outcome as the flow's error: this code and message.
    Fails(crate::exit::Code, &'static str),
}

/// How the flows end the request for this outcome (`Conclusion`), judged at the moment
/// the decision was reached, so that an approval is still valid.
fn concluded(o: &Outcome) -> crate::approval::Conclusion {
    let now = match &o.decision {
        Decision::Approved { approved_at, .. } => *approved_at,
        _ => chrono::Utc::now(),
    };
    crate::approval::Conclusion::of(&o.decision, std::time::Duration::from_secs(3600), now)
}

fn same<T: PartialEq + std::fmt::Debug + ?Sized>(
    what: &str,
    got: &T,
    want: &T,
) -> Result<(), String> {
    if got == want {
        Ok(())
    } else {
        Err(format!("{what}: got {got:?}, want {want:?}"))
    }
}

fn holds(what: &str, ok: bool, shown: impl std::fmt::Debug) -> Result<(), String> {
    if ok {
        Ok(())
    } else {
        Err(format!("{what}: {shown:?}"))
    }
}

impl Expect {
    fn check(&self, o: &Outcome) -> Result<(), String> {
        let approved = || match &o.decision {
            Decision::Approved {
                approvals,
                approved_at,
                valid_until,
                auto,
            } => Ok((approvals, *approved_at, *valid_until, *auto)),
            d => Err(format!("expected approved, got {d:?}")),
        };
        let pending = || match &o.decision {
            Decision::Pending {
                missing,
                uncovered,
                suggest,
                ..
            } => Ok((*missing, uncovered, suggest)),
            d => Err(format!("expected pending, got {d:?}")),
        };
        let refused = |id: u64| {
            let ack = o
                .acknowledgements
                .iter()
                .find(|a| a.comment_id == id)
                .ok_or(format!("no acknowledgement of comment {id}"))?;
            match &ack.verdict {
                AckVerdict::Refused { reason, .. } => Ok(reason),
                AckVerdict::Accepted => Err(format!("comment {id} was accepted")),
            }
        };
        let json = || serde_json::to_value(o).map_err(|e| format!("serialising: {e}"));
        match self {
            Expect::Approved(logins) => {
                let got: Vec<&str> = approved()?.0.iter().map(|a| a.login.as_str()).collect();
                same("approvers", &got[..], logins)
            }
            Expect::ApprovedAt(m) => same("approved_at", &approved()?.1, &at(*m, 0)),
            Expect::ValidUntil(m) => same("valid_until", &approved()?.2, &at(*m, 0)),
            Expect::Auto(auto) => same("auto", &approved()?.3, auto),
            Expect::FirstVia(via) => {
                let first = approved()?.0.first().map(|a| a.via);
                same("first approval's via", &first, &Some(*via))
            }
            Expect::Missing(n) => same("missing", &pending()?.0, n),
            Expect::Uncovered(paths) => {
                let got: Vec<&str> = pending()?.1.iter().map(String::as_str).collect();
                same("uncovered", &got[..], paths)
            }
            Expect::UncoveredCount(n) => same("uncovered paths", &pending()?.1.len(), n),
            Expect::Suggest(who) => {
                let got: Vec<&str> = pending()?.2.iter().map(String::as_str).collect();
                same("suggest", &got[..], who)
            }
            Expect::FirstSuggest(who) => {
                let first = pending()?.2.first().map(String::as_str);
                same("first suggestion", &first, &Some(*who))
            }
            Expect::Expired(m) => same(
                "decision",
                &o.decision,
                &Decision::Expired {
                    deadline: at(*m, 0),
                },
            ),
            Expect::Denied {
                login,
                reason,
                at: m,
            } => match &o.decision {
                Decision::Denied {
                    login: l,
                    reason: r,
                    at: when,
                    ..
                } => same(
                    "denied (login, reason, at)",
                    &(l.as_str(), r.as_deref(), *when),
                    &(*login, *reason, at(*m, 0)),
                ),
                d => Err(format!("expected denied, got {d:?}")),
            },
            Expect::IsDenied => holds(
                "expected denied",
                matches!(o.decision, Decision::Denied { .. }),
                &o.decision,
            ),
            Expect::ExitCode(code) => same("exit code", &concluded(o).code(), code),
            Expect::RecordWord(word) => {
                let got = match o.decision {
                    Decision::Pending { .. } => None,
                    _ => Some(concluded(o).record().to_string()),
                };
                same("record word", &got.as_deref(), word)
            }
            Expect::Refused(id, is) => {
                let reason = refused(*id)?;
                holds(&format!("comment {id}'s refusal"), is(reason), reason)?;
                holds(
                    &format!("comment {id}'s refusal says why"),
                    !reason.to_string().is_empty(),
                    reason,
                )
            }
            Expect::RefusalSays(id, words) => {
                let text = refused(*id)?.to_string();
                holds(
                    &format!("comment {id}'s refusal names {words:?}"),
                    words.iter().all(|w| text.contains(w)),
                    text,
                )
            }
            Expect::FirstAck(verdict) => same(
                "first acknowledgement",
                &o.acknowledgements.first().map(|a| &a.verdict),
                &Some(verdict),
            ),
            Expect::Acks(n) => same("acknowledgements", &o.acknowledgements.len(), n),
            Expect::Ignored(n) => same("ignored comments", &o.explanation.ignored, n),
            Expect::Event(i, is) => {
                let status = o
                    .explanation
                    .events
                    .get(*i)
                    .map(|e| &e.status)
                    .ok_or(format!("no event {i}"))?;
                holds(&format!("event {i}'s status"), is(status), status)
            }
            Expect::Note(text) => holds(
                &format!("a note containing {text:?}"),
                o.explanation.notes.iter().any(|n| n.contains(text)),
                &o.explanation.notes,
            ),
            Expect::Summary(text) => same("summary", o.explanation.summary.as_str(), text),
            Expect::SummaryStarts(text) => holds(
                &format!("summary starting {text:?}"),
                o.explanation.summary.starts_with(text),
                &o.explanation.summary,
            ),
            Expect::Renders(words) => {
                let text = o.explanation.render();
                holds(
                    &format!("rendered explanation with {words:?}"),
                    words.iter().all(|w| text.contains(w)),
                    text,
                )
            }
            Expect::Json(pointer, want) => {
                let v = json()?;
                same(&format!("JSON {pointer}"), &v.pointer(pointer), &Some(want))
            }
            Expect::Fails(code, message) => {
                let c = concluded(o);
                holds("expected a failure", c.code() != crate::exit::Code::Ok, &c)?;
                same(
                    "failure (code, message)",
                    &(c.code(), o.explanation.summary.as_str()),
                    &(*code, *message),
                )
            }
        }
    }
}

/// Decides every case and checks each expectation; fails once at the end, naming every
/// case and expectation that did not hold.
pub(super) fn check(cases: Vec<Case>) {
    let mut failures = Vec::new();
    for case in cases {
        let o = run(
            case.rule,
            case.request,
            case.comments,
            case.reviews,
            case.now,
        );
        for e in &case.expect {
            if let Err(why) = e.check(&o) {
                failures.push(format!(
                    "case `{}`: {why}\n{}",
                    case.name,
                    o.explanation.render()
                ));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} expectation(s) failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
