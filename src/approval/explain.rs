//! The explanation of a decision: which events counted and why each other did not, who
//! covers which changed path, and notes the rule implies. It serialises (for `--format
//! json`, PR comments and job summaries) and renders as compact text ([`Explanation::render`]).

use std::collections::BTreeMap;
use std::fmt::Write as _;

use chrono::{DateTime, SecondsFormat, Utc};
use serde::Serialize;

use super::eligibility::{Refusal, Standing};
use super::{Approval, Decision, Request, Target, Via};
use crate::codeowners::Owner;
use crate::policy::{Approvers, Coverage, Rule};

/// What became of one event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum Status {
    /// An approval that stood when it was made.
    Counted,
    /// The deny that decided the request.
    Denied,
    /// Withdrew the person's standing approval.
    Withdrew,
    /// A withdrawal with no standing approval to withdraw.
    NothingToWithdraw,
    /// Counts for nothing (a COMMENTED review, say).
    NoEffect { why: String },
    /// Refused, with the reason replied.
    Refused { reason: Refusal, message: String },
    /// Valid, but the request was already decided.
    AfterDecision,
}

/// One event the engine looked at.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EventNote {
    pub via: Via,
    pub id: u64,
    pub login: String,
    pub at: DateTime<Utc>,
    pub url: String,
    /// `/approve`, `/deny`, `review APPROVED`, ...
    pub what: String,
    #[serde(flatten)]
    pub status: Status,
}

/// One changed path, its owners and who covers it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PathNote {
    pub path: String,
    pub owners: Vec<String>,
    pub line: Option<usize>,
    /// Standing approvers covering it (owners; for an unowned path, quorum approvers).
    pub covered_by: Vec<String>,
}

/// Why the engine decided what it did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Explanation {
    pub rule: String,
    pub approvals: u32,
    /// `codeowners`, or the listed approvers.
    pub approvers: Vec<String>,
    /// `any` or `all`.
    pub codeowners: &'static str,
    pub self_approval: bool,
    pub request: String,
    pub sha: String,
    pub target: Target,
    pub requester: String,
    pub posted_at: DateTime<Utc>,
    pub deadline: DateTime<Utc>,
    /// One line: the decision in words.
    pub summary: String,
    /// Command-bearing comments and submitted reviews, in time order.
    pub events: Vec<EventNote>,
    /// Comments with no command and pending reviews: not commands, not listed.
    pub ignored: usize,
    /// Approvers standing at the end (or when the decision was made), in time order.
    pub standing: Vec<String>,
    pub paths: Vec<PathNote>,
    pub notes: Vec<String>,
}

fn time(t: &DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// The decision in one line.
pub(crate) fn summary(decision: &Decision) -> String {
    match decision {
        Decision::Approved { auto: true, .. } => "approved automatically (approvals: 0)".into(),
        Decision::Approved {
            approvals,
            valid_until,
            ..
        } => {
            let who: Vec<String> = approvals.iter().map(|a| format!("@{}", a.login)).collect();
            format!(
                "approved by {}; valid until {}",
                who.join(", "),
                time(valid_until)
            )
        }
        Decision::Denied { login, reason, .. } => match reason {
            Some(r) => format!("denied by @{login}: {r}"),
            None => format!("denied by @{login}"),
        },
        Decision::Pending {
            missing,
            uncovered,
            suggest,
            deadline,
        } => {
            let mut parts = Vec::new();
            if *missing > 0 {
                let s = if *missing == 1 { "" } else { "s" };
                parts.push(format!("{missing} more approver{s} needed"));
            }
            if !uncovered.is_empty() {
                parts.push(format!("not yet covered: {}", uncovered.join(", ")));
            }
            if !suggest.is_empty() {
                parts.push(format!("ask {}", suggest.join(", ")));
            }
            format!("pending until {}: {}", time(deadline), parts.join("; "))
        }
        Decision::Expired { deadline } => format!("expired at {} with no decision", time(deadline)),
    }
}

#[allow(clippy::too_many_arguments)]
pub(crate) fn build(
    rule: &Rule,
    request: &Request,
    deadline: DateTime<Utc>,
    decision: &Decision,
    events: Vec<EventNote>,
    ignored: usize,
    standing: &BTreeMap<String, (Approval, Standing)>,
    coverage: &[Vec<String>],
) -> Explanation {
    let mut st: Vec<&Approval> = standing.values().map(|(a, _)| a).collect();
    st.sort_by(|a, b| (a.at, &a.login).cmp(&(b.at, &b.login)));
    let paths = request
        .paths
        .iter()
        .enumerate()
        .map(|(i, p)| PathNote {
            path: p.path.clone(),
            owners: p
                .owners
                .iter()
                .map(std::string::ToString::to_string)
                .collect(),
            line: p.line,
            covered_by: coverage.get(i).cloned().unwrap_or_default(),
        })
        .collect();
    Explanation {
        rule: rule.name.clone(),
        approvals: rule.approvals,
        approvers: match &rule.approvers {
            Approvers::Codeowners => vec!["codeowners".into()],
            Approvers::List(l) => l.iter().map(std::string::ToString::to_string).collect(),
        },
        codeowners: match rule.codeowners {
            Coverage::Any => "any",
            Coverage::All => "all",
        },
        self_approval: rule.self_approval,
        request: request.id.clone(),
        sha: request.sha.clone(),
        target: request.target.clone(),
        requester: request.requester.clone(),
        posted_at: request.posted_at,
        deadline,
        summary: summary(decision),
        events,
        ignored,
        standing: st.iter().map(|a| a.login.clone()).collect(),
        paths,
        notes: notes(rule, request),
    }
}

/// What the rule and the CODEOWNERS data imply, said once.
fn notes(rule: &Rule, request: &Request) -> Vec<String> {
    let mut notes = Vec::new();
    let has_email = |owners: &[Owner]| owners.iter().any(|o| matches!(o, Owner::Email(_)));
    let listed_email = matches!(&rule.approvers, Approvers::List(l) if has_email(l));
    if listed_email || request.paths.iter().any(|p| has_email(&p.owners)) {
        notes.push(
            "email owners cannot be matched to GitHub logins: they make no one eligible".into(),
        );
    }
    let only_email = |owners: &[Owner]| {
        !owners.is_empty() && owners.iter().all(|o| matches!(o, Owner::Email(_)))
    };
    if rule.codeowners == Coverage::All {
        for p in request.paths.iter().filter(|p| only_email(&p.owners)) {
            notes.push(format!(
                "{} is owned only by email addresses, so codeowners: all can never be met",
                p.path
            ));
        }
        if request.paths.iter().any(|p| p.owners.is_empty()) {
            notes.push("unowned paths are covered by any counted approver of the rule".into());
        }
    }
    if rule.approvers == Approvers::Codeowners
        && rule.approvals > 0
        && request
            .paths
            .iter()
            .all(|p| p.owners.iter().all(|o| matches!(o, Owner::Email(_))))
    {
        notes.push(
            "approvers: codeowners, but no changed path has a user or team owner: nobody can approve"
                .into(),
        );
    }
    if !rule.self_approval {
        notes.push(format!(
            "self-approval is off: @{} (requester) and @{} (actor) cannot approve",
            request.requester, request.actor
        ));
    }
    notes
}

impl Explanation {
    /// A compact human rendering (plain text, one event per line).
    pub fn render(&self) -> String {
        let mut out = String::new();
        let who = if self.approvers == ["codeowners"] {
            "code owners of the changed paths".to_string()
        } else {
            self.approvers.join(", ")
        };
        let target = match &self.target {
            Target::Environment(e) => format!("environment {e}"),
            Target::Ref(r) => format!("ref {r}"),
        };
        let _ = writeln!(out, "{}", self.summary);
        let _ = writeln!(
            out,
            "rule {}: {} approval(s) from {who}; codeowners: {}; self-approval {}",
            self.rule,
            self.approvals,
            self.codeowners,
            if self.self_approval { "on" } else { "off" }
        );
        let sha: String = self.sha.chars().take(12).collect();
        let _ = writeln!(
            out,
            "request {} for {target} at {sha} by @{}, posted {}, deadline {}",
            self.request,
            self.requester,
            time(&self.posted_at),
            time(&self.deadline)
        );
        for e in &self.events {
            let kind = match e.via {
                Via::Comment => "comment",
                Via::Review => "review",
            };
            let status = match &e.status {
                Status::Counted => "counted".to_string(),
                Status::Denied => "denied the request".to_string(),
                Status::Withdrew => "withdrew the approval".to_string(),
                Status::NothingToWithdraw => "nothing to withdraw".to_string(),
                Status::NoEffect { why } => format!("no effect: {why}"),
                Status::Refused { message, .. } => format!("not counted: {message}"),
                Status::AfterDecision => "after the decision".to_string(),
            };
            let _ = writeln!(
                out,
                "  {} @{} {} ({kind} {}): {status}",
                time(&e.at),
                e.login,
                e.what,
                e.id
            );
        }
        if self.ignored > 0 {
            let _ = writeln!(
                out,
                "  ({} comment(s) without a command ignored)",
                self.ignored
            );
        }
        for p in &self.paths {
            let owners = if p.owners.is_empty() {
                "unowned".to_string()
            } else {
                p.owners.join(" ")
            };
            let by = if p.covered_by.is_empty() {
                "not covered".to_string()
            } else {
                let v: Vec<String> = p.covered_by.iter().map(|l| format!("@{l}")).collect();
                format!("covered by {}", v.join(", "))
            };
            let _ = writeln!(out, "  path {} ({owners}): {by}", p.path);
        }
        for n in &self.notes {
            let _ = writeln!(out, "note: {n}");
        }
        out
    }
}
