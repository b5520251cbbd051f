//! The approval engine: a **pure** decision core. It owns the command grammar
//! ([`command`]), who may approve ([`eligibility`]), the decision itself ([`decide`]) and
//! its explanation ([`explain`]). No I/O, no clock reads (`now` is passed in), no async:
//! the flows fetch the thread, resolve each author's [`Facts`] and call [`decide()`].
//!
//! Semantics in one place (DESIGN.md "Approval semantics", made precise):
//! - Events are replayed in time order (`created_at`/`submitted_at`, then comments before
//!   reviews, then id), so the outcome never depends on the order they were fetched in;
//!   duplicates (same comment or review id) count once.
//! - A person's latest command wins: `/approve` and an APPROVED review on the request's sha
//!   grant; `/approve cancel` and a CHANGES_REQUESTED review on that sha withdraw. A deny
//!   from an eligible approver ends the request at once (`Denied`); events after the first
//!   decision do not change it.
//! - `Approved` once the distinct eligible approvers in the quorum reach `approvals` and,
//!   with `codeowners: all`, every changed path is covered (see [`decide`]).
//! - Events at or after `posted_at + timeout` never count; with no decision by then and
//!   `now` past it, the request is `Expired`.

pub(crate) mod command;
mod conclude;
mod decide;
pub(crate) mod eligibility;
pub(crate) mod explain;
pub(crate) mod feasible;
#[cfg(test)]
mod props;
#[cfg(test)]
mod testkit;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_decisions;

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::codeowners::PathOwners;

pub(crate) use conclude::Conclusion;
pub(crate) use decide::decide;
pub(crate) use eligibility::Refusal;
pub(crate) use explain::Explanation;

/// What is being approved: a deployment to an environment or a push to a ref.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Target {
    Environment(String),
    Ref(String),
}

/// One approval request, bound to (repository, sha, target).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Request {
    /// The request id (a ULID), as written in `/approve <id>`.
    pub id: String,
    /// `owner/name`.
    pub repository: String,
    pub sha: String,
    pub target: Target,
    /// Who asked (the PR author or pusher).
    pub requester: String,
    /// Who triggered the run (`GITHUB_ACTOR`); often the requester.
    pub actor: String,
    /// GitHub's `created_at` of the request's own comment (GitHub's clock, not ours).
    pub posted_at: DateTime<Utc>,
    /// The id of the request's own comment when there is one: a comment in the same second
    /// as `posted_at` counts only when its id is greater. Without it, the same second counts.
    pub comment_id: Option<u64>,
    /// The changed paths and their CODEOWNERS owners (read from the protected base).
    pub paths: Vec<PathOwners>,
}

/// The author of a comment or review.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Author {
    pub login: String,
    pub id: u64,
    /// `user.type == "Bot"` (a `[bot]` login suffix counts as a bot too).
    pub is_bot: bool,
}

/// An issue or PR conversation comment.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Comment {
    pub id: u64,
    pub author: Author,
    pub body: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub url: String,
}

/// A pull request review's state; the REST API says `APPROVED`, webhooks `approved`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ReviewState {
    Approved,
    ChangesRequested,
    Commented,
    Dismissed,
    Pending,
    /// Anything else GitHub may add; counts for nothing.
    Other(String),
}

impl ReviewState {
    /// Either spelling GitHub uses (`APPROVED`, `approved`, `changes_requested`, ...).
    pub fn from_api(state: &str) -> ReviewState {
        match state.to_ascii_uppercase().as_str() {
            "APPROVED" => ReviewState::Approved,
            "CHANGES_REQUESTED" => ReviewState::ChangesRequested,
            "COMMENTED" => ReviewState::Commented,
            "DISMISSED" => ReviewState::Dismissed,
            "PENDING" => ReviewState::Pending,
            _ => ReviewState::Other(state.to_string()),
        }
    }
}

/// A pull request review.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Review {
    pub id: u64,
    pub author: Author,
    pub state: ReviewState,
    /// The sha the review was made on.
    pub commit_id: String,
    /// `None` while the review is pending (not submitted): it counts for nothing.
    pub submitted_at: Option<DateTime<Utc>>,
    pub url: String,
}

/// Everything on the request's thread.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Events {
    pub comments: Vec<Comment>,
    pub reviews: Vec<Review>,
}

/// A repository permission, lowest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Permission {
    None,
    Read,
    Triage,
    Write,
    Maintain,
    Admin,
}

impl Permission {
    pub fn as_str(self) -> &'static str {
        match self {
            Permission::None => "none",
            Permission::Read => "read",
            Permission::Triage => "triage",
            Permission::Write => "write",
            Permission::Maintain => "maintain",
            Permission::Admin => "admin",
        }
    }
}

impl fmt::Display for Permission {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A permission name GitHub answered that jitaa does not know (a custom role, say).
/// The flow should map the role's base permission instead; unknown never means write.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "unknown repository permission {0:?} (expected none, read, triage, write, maintain or admin)"
)]
pub struct UnknownPermission(pub String);

impl FromStr for Permission {
    type Err = UnknownPermission;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(match s.to_ascii_lowercase().as_str() {
            "none" => Permission::None,
            "read" | "pull" => Permission::Read,
            "triage" => Permission::Triage,
            "write" | "push" => Permission::Write,
            "maintain" => Permission::Maintain,
            "admin" => Permission::Admin,
            _ => return Err(UnknownPermission(s.to_string())),
        })
    }
}

/// What the flow resolved about one author through the API.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct Facts {
    pub permission: Option<Permission>,
    /// Team memberships as `(org, slug)`; compared case-insensitively.
    pub teams: Vec<(String, String)>,
}

impl Facts {
    #[cfg(test)]
    pub(crate) fn new(permission: Permission, teams: &[(&str, &str)]) -> Facts {
        Facts {
            permission: Some(permission),
            teams: teams
                .iter()
                .map(|(o, s)| (o.to_string(), s.to_string()))
                .collect(),
        }
    }

    pub(crate) fn in_team(&self, org: &str, slug: &str) -> bool {
        self.teams
            .iter()
            .any(|(o, s)| o.eq_ignore_ascii_case(org) && s.eq_ignore_ascii_case(slug))
    }
}

/// Facts per login (logins compare case-insensitively). A login with no entry, or with no
/// permission resolved, is ineligible: fail closed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct FactsByLogin(BTreeMap<String, Facts>);

impl FactsByLogin {
    pub(crate) fn new() -> Self {
        Self::default()
    }
    pub(crate) fn insert(&mut self, login: &str, facts: Facts) {
        self.0.insert(login.to_ascii_lowercase(), facts);
    }
    pub(crate) fn get(&self, login: &str) -> Option<&Facts> {
        self.0.get(&login.to_ascii_lowercase())
    }
}

impl<S: AsRef<str>> FromIterator<(S, Facts)> for FactsByLogin {
    fn from_iter<I: IntoIterator<Item = (S, Facts)>>(iter: I) -> Self {
        let mut map = FactsByLogin::new();
        for (login, facts) in iter {
            map.insert(login.as_ref(), facts);
        }
        map
    }
}

/// How an approval was given.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Via {
    Comment,
    Review,
}

/// One counted approval, in the shape of the audit record's `approvals` entries.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Approval {
    pub login: String,
    pub id: u64,
    pub via: Via,
    pub url: String,
    pub at: DateTime<Utc>,
}

/// The engine's answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "decision", rename_all = "snake_case")]
pub enum Decision {
    Approved {
        /// `approvals: 0`: approved without anyone (recorded as `auto`).
        auto: bool,
        /// The standing approvals when the quorum was completed, in time order.
        approvals: Vec<Approval>,
        /// The time of the event that completed the quorum (`posted_at` when auto).
        approved_at: DateTime<Utc>,
        /// `approved_at + ttl`.
        valid_until: DateTime<Utc>,
    },
    Denied {
        login: String,
        id: u64,
        reason: Option<String>,
        url: String,
        at: DateTime<Utc>,
    },
    Pending {
        /// How many more distinct eligible approvers the quorum needs.
        missing: u32,
        /// With `codeowners: all`: the changed paths no approving owner covers yet.
        uncovered: Vec<String>,
        /// A short list of who could still approve (owners of uncovered paths first).
        suggest: Vec<String>,
        deadline: DateTime<Utc>,
    },
    Expired {
        deadline: DateTime<Utc>,
    },
}

/// How to acknowledge one command-bearing comment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "ack", rename_all = "snake_case")]
pub enum AckVerdict {
    /// React +1.
    Accepted,
    /// React -1 and reply once with the reason.
    Refused {
        reason: Refusal,
        /// The reply text (the reason's Display).
        message: String,
    },
}

/// The acknowledgement of one comment that carries a command.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Ack {
    pub comment_id: u64,
    pub login: String,
    pub url: String,
    #[serde(flatten)]
    pub verdict: AckVerdict,
}

/// The decision, why, and what to acknowledge.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Outcome {
    pub decision: Decision,
    pub explanation: Explanation,
    /// One per command-bearing comment, in time order.
    pub acknowledgements: Vec<Ack>,
}
