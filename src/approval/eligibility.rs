//! Who may approve or deny under a rule, and the reasons a command is refused.
//!
//! Eligible = not a bot, not the requester or triggering actor (unless `self_approval`),
//! facts resolved, at least write permission, and a required approver:
//! - `approvers: [list]`: the login is listed, or is a member of a listed team. These
//!   approvers form the quorum. With `codeowners: all`, an owner of a changed path who is not
//!   listed may approve too, but only to cover their paths; they do not count toward `approvals`.
//! - `approvers: codeowners`: the login owns at least one changed path (as a user, or as a
//!   member of an owning team); every such owner counts toward the quorum.
//!
//! Email owners cannot be matched to GitHub logins: they make no one eligible, and a path
//! owned only by emails can never be covered under `codeowners: all` (fail closed).

use std::fmt;

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::{Author, Facts, FactsByLogin, Permission, Request};
use crate::codeowners::Owner;
use crate::policy::{Approvers, Coverage, Rule};

/// Why the requester's own word does not count.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SelfRole {
    /// The requester (PR author or pusher).
    Requester,
    /// The actor who triggered the run.
    Actor,
}

impl fmt::Display for SelfRole {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            SelfRole::Requester => "made this request",
            SelfRole::Actor => "triggered this run",
        })
    }
}

/// Why a command or review was not counted: what the gate replies with.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, thiserror::Error)]
#[serde(tag = "refusal", rename_all = "snake_case")]
pub enum Refusal {
    #[error("made at {made} before request {request} was posted at {posted}; comment again")]
    BeforeRequest {
        request: String,
        made: DateTime<Utc>,
        posted: DateTime<Utc>,
    },
    #[error("made at {made}, after request {request} timed out at {deadline}")]
    AfterDeadline {
        request: String,
        made: DateTime<Utc>,
        deadline: DateTime<Utc>,
    },
    #[error(
        "the comment was edited at {updated} after it was made at {created}; an edited approval does not count, post a new comment"
    )]
    Edited {
        created: DateTime<Utc>,
        updated: DateTime<Utc>,
    },
    #[error("addressed to request {addressed}, not to request {request}")]
    OtherRequest { addressed: String, request: String },
    #[error("a review of commit {commit}, not of the requested commit {sha}")]
    OtherCommit { commit: String, sha: String },
    #[error("@{login} is a bot account; bots cannot approve or deny")]
    Bot { login: String },
    #[error("@{login} {role}, and the rule does not allow self-approval")]
    SelfApproval { login: String, role: SelfRole },
    #[error(
        "@{login}'s repository permission could not be resolved, so it does not count (fail closed)"
    )]
    Unresolved { login: String },
    #[error("@{login} has {permission} permission on the repository; write or higher is needed")]
    Permission {
        login: String,
        permission: Permission,
    },
    #[error("@{login} is not a required approver: {detail}")]
    NotApprover { login: String, detail: String },
}

/// An eligible person's standing under the rule.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct Standing {
    /// Counts toward `approvals`.
    pub quorum: bool,
    /// Indices into `request.paths` of the changed paths this person owns.
    pub owns: Vec<usize>,
}

/// Whether `login` (with `facts`) is `owner`. Emails never match.
pub(crate) fn is_owner(owner: &Owner, login: &str, facts: &Facts) -> bool {
    match owner {
        Owner::User(user) => user.eq_ignore_ascii_case(login),
        Owner::Team { org, slug } => facts.in_team(org, slug),
        Owner::Email(_) => false,
    }
}

pub(crate) fn is_bot(author: &Author) -> bool {
    author.is_bot || author.login.to_ascii_lowercase().ends_with("[bot]")
}

/// The person checks every approve and deny passes: self, facts, permission, approver.
/// (Bots and timing are checked per event by the caller.)
pub(crate) fn check_person(
    rule: &Rule,
    request: &Request,
    author: &Author,
    facts: &FactsByLogin,
) -> Result<Standing, Refusal> {
    let login = author.login.as_str();
    if !rule.self_approval {
        let role = if login.eq_ignore_ascii_case(&request.requester) {
            Some(SelfRole::Requester)
        } else if login.eq_ignore_ascii_case(&request.actor) {
            Some(SelfRole::Actor)
        } else {
            None
        };
        if let Some(role) = role {
            return Err(Refusal::SelfApproval {
                login: login.into(),
                role,
            });
        }
    }
    let (facts, permission) = match facts.get(login) {
        Some(f) => match f.permission {
            Some(p) => (f, p),
            None => {
                return Err(Refusal::Unresolved {
                    login: login.into(),
                });
            }
        },
        None => {
            return Err(Refusal::Unresolved {
                login: login.into(),
            });
        }
    };
    if permission < Permission::Write {
        return Err(Refusal::Permission {
            login: login.into(),
            permission,
        });
    }
    let owns: Vec<usize> = request
        .paths
        .iter()
        .enumerate()
        .filter(|(_, p)| p.owners.iter().any(|o| is_owner(o, login, facts)))
        .map(|(i, _)| i)
        .collect();
    let quorum = match &rule.approvers {
        Approvers::List(list) => list.iter().any(|o| is_owner(o, login, facts)),
        Approvers::Codeowners => !owns.is_empty(),
    };
    let coverage_owner = rule.codeowners == Coverage::All && !owns.is_empty();
    if quorum || coverage_owner {
        Ok(Standing { quorum, owns })
    } else {
        Err(Refusal::NotApprover {
            login: login.into(),
            detail: not_approver_detail(rule, request),
        })
    }
}

fn join(owners: &[&Owner]) -> String {
    owners
        .iter()
        .map(std::string::ToString::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

/// Who the rule would accept, for a refusal reply.
fn not_approver_detail(rule: &Rule, request: &Request) -> String {
    let path_owners = crate::codeowners::distinct_owners(&request.paths);
    let emails = if path_owners.iter().any(|o| matches!(o, Owner::Email(_))) {
        "; email owners in CODEOWNERS cannot be matched to GitHub logins"
    } else {
        ""
    };
    let owners_text = if path_owners.is_empty() {
        "none of the changed paths has an owner".to_string()
    } else {
        format!("the changed paths' owners are {}", join(&path_owners))
    };
    match &rule.approvers {
        Approvers::List(list) => {
            let listed: Vec<&Owner> = list.iter().collect();
            let mut s = format!("rule {} needs one of {}", rule.name, join(&listed));
            if rule.codeowners == Coverage::All {
                s.push_str(&format!(", or an owner of a changed path ({owners_text})"));
            }
            s + emails
        }
        Approvers::Codeowners => format!(
            "rule {} needs an owner of a changed path, and {owners_text}{emails}",
            rule.name
        ),
    }
}

/// The logins whose [`Facts`] the flow must resolve before calling
/// [`decide`](super::decide()): authors of command-bearing comments and of submitted
/// APPROVED or CHANGES_REQUESTED reviews (bots excluded), lower-cased and sorted.
pub(crate) fn logins_to_resolve(events: &super::Events) -> Vec<String> {
    use super::ReviewState;
    let commenters = events
        .comments
        .iter()
        .filter(|c| !super::command::parse(&c.body).is_empty())
        .map(|c| &c.author);
    let reviewers = events
        .reviews
        .iter()
        .filter(|r| {
            r.submitted_at.is_some()
                && matches!(
                    r.state,
                    ReviewState::Approved | ReviewState::ChangesRequested
                )
        })
        .map(|r| &r.author);
    let mut logins: Vec<String> = commenters
        .chain(reviewers)
        .filter(|a| !is_bot(a))
        .map(|a| a.login.to_ascii_lowercase())
        .collect();
    logins.sort();
    logins.dedup();
    logins
}

/// The teams whose membership matters under `rule` for `request`: listed approver teams
/// and owning teams of changed paths, as `(org, slug)`, sorted and de-duplicated.
pub(crate) fn teams_to_resolve(rule: &Rule, request: &Request) -> Vec<(String, String)> {
    let listed = match &rule.approvers {
        Approvers::List(list) => list.as_slice(),
        Approvers::Codeowners => &[],
    };
    let mut teams: Vec<(String, String)> = listed
        .iter()
        .chain(request.paths.iter().flat_map(|p| &p.owners))
        .filter_map(|o| match o {
            Owner::Team { org, slug } => {
                Some((org.to_ascii_lowercase(), slug.to_ascii_lowercase()))
            }
            _ => None,
        })
        .collect();
    teams.sort();
    teams.dedup();
    teams
}
