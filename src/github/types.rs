//! Typed results of the GitHub layer, parsed from GitHub's JSON (REST responses and
//! webhook payloads) with only the fields the flows need. Parsing is tolerant of extra
//! fields and strict about the ones used: a missing id or login is an error, not a guess.

use chrono::{DateTime, Utc};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use super::error::GitHubError;

/// `owner/name`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RepoName {
    pub owner: String,
    pub name: String,
}

impl RepoName {
    /// Parses `owner/name`; `what` names the source (e.g. `GITHUB_REPOSITORY`) in errors.
    pub fn parse(s: &str, what: &str) -> Result<RepoName, GitHubError> {
        let ok = |p: &str| {
            !p.is_empty()
                && p.chars()
                    .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
        };
        match s.split_once('/') {
            Some((o, n)) if ok(o) && ok(n) && n != "." && n != ".." => Ok(RepoName {
                owner: o.into(),
                name: n.into(),
            }),
            _ => Err(GitHubError::BadRepository {
                what: what.into(),
                value: s.into(),
            }),
        }
    }
}

impl std::fmt::Display for RepoName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.owner, self.name)
    }
}

/// A GitHub account as it appears on comments, reviews and PRs.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Actor {
    pub login: String,
    pub id: u64,
    /// `User`, `Bot` or `Organization`.
    #[serde(rename = "type", default = "user_type")]
    pub kind: String,
}

fn user_type() -> String {
    "User".into()
}

impl Actor {
    pub fn is_bot(&self) -> bool {
        self.kind == "Bot"
    }
}

/// An issue or PR comment.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Comment {
    pub id: u64,
    #[serde(rename = "user")]
    pub author: Actor,
    #[serde(default)]
    pub body: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    #[serde(default)]
    pub html_url: String,
}

impl Comment {
    /// Edited after it was posted (GitHub bumps `updated_at`).
    pub fn edited(&self) -> bool {
        self.updated_at != self.created_at
    }
}

/// A pull-request review. `state` is upper-case as in the REST API (`APPROVED`, ...).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Review {
    pub id: u64,
    pub author: Actor,
    pub state: String,
    pub commit_id: Option<String>,
    /// None when absent or unreadable (pending reviews; mangled recordings).
    pub submitted_at: Option<DateTime<Utc>>,
    pub html_url: String,
    pub body: String,
}

#[derive(Deserialize)]
struct WireReview {
    id: u64,
    user: Actor,
    state: String,
    #[serde(default)]
    commit_id: Option<String>,
    #[serde(default)]
    submitted_at: Option<String>,
    #[serde(default)]
    html_url: String,
    #[serde(default)]
    body: Option<String>,
}

impl<'de> Deserialize<'de> for Review {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let w = WireReview::deserialize(d)?;
        Ok(Review {
            id: w.id,
            author: w.user,
            // Webhook payloads use lower case; the REST API upper case.
            state: w.state.to_ascii_uppercase(),
            commit_id: w.commit_id,
            // An unreadable time is None: such a review cannot prove it came after a
            // request, so it never counts.
            submitted_at: w
                .submitted_at
                .and_then(|t| DateTime::parse_from_rfc3339(&t).ok())
                .map(|t| t.with_timezone(&Utc)),
            html_url: w.html_url,
            body: w.body.unwrap_or_default(),
        })
    }
}

/// The parts of a pull request the flows need.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PullRequest {
    pub number: u64,
    pub title: String,
    pub state: String,
    pub author: Actor,
    pub head_sha: String,
    pub head_ref: String,
    /// `owner/name` of the repository the head branch lives in (a fork's for a PR from a
    /// fork); `None` when GitHub names none (a deleted fork).
    pub head_repo: Option<String>,
    pub base_sha: String,
    pub base_ref: String,
    pub html_url: String,
    /// When GitHub merged it (`merged_at`); `None` while open or closed unmerged.
    pub merged_at: Option<DateTime<Utc>>,
    /// The merge commit GitHub made (meaningful only once `merged_at` is set).
    pub merge_commit_sha: Option<String>,
}

impl PullRequest {
    /// Merged by GitHub, with `sha` as its merge commit.
    pub fn merged_as(&self, sha: &str) -> bool {
        self.merged_at.is_some()
            && self
                .merge_commit_sha
                .as_deref()
                .is_some_and(|m| m.eq_ignore_ascii_case(sha))
    }
}

#[derive(Deserialize)]
struct WireBranch {
    #[serde(rename = "ref")]
    git_ref: String,
    sha: String,
    #[serde(default)]
    repo: Option<WireRepoName>,
}

#[derive(Deserialize)]
struct WireRepoName {
    full_name: String,
}

/// One change of a branch as GitHub recorded it (`GET /repos/{o}/{r}/activity`): the
/// server's time when the ref moved from `before` to `after`, which no committer sets.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Activity {
    #[serde(default)]
    pub id: u64,
    pub before: String,
    pub after: String,
    #[serde(rename = "ref")]
    pub git_ref: String,
    /// `push`, `force_push`, `branch_creation`, `branch_deletion`, `pr_merge`, `merge_queue_merge`.
    pub activity_type: String,
    /// `None` when unreadable: such an entry bounds nothing.
    #[serde(deserialize_with = "lenient_time")]
    pub timestamp: Option<DateTime<Utc>>,
}

fn lenient_time<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<DateTime<Utc>>, D::Error> {
    let s: Option<String> = Option::deserialize(d)?;
    Ok(s.and_then(|t| DateTime::parse_from_rfc3339(&t).ok())
        .map(|t| t.with_timezone(&Utc)))
}

#[derive(Deserialize)]
struct WirePr {
    number: u64,
    #[serde(default)]
    title: String,
    #[serde(default)]
    state: String,
    user: Actor,
    head: WireBranch,
    base: WireBranch,
    #[serde(default)]
    html_url: String,
    #[serde(default)]
    merged_at: Option<DateTime<Utc>>,
    #[serde(default)]
    merge_commit_sha: Option<String>,
}

impl<'de> Deserialize<'de> for PullRequest {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let w = WirePr::deserialize(d)?;
        Ok(PullRequest {
            number: w.number,
            title: w.title,
            state: w.state,
            author: w.user,
            head_sha: w.head.sha,
            head_ref: w.head.git_ref,
            head_repo: w.head.repo.map(|r| r.full_name),
            base_sha: w.base.sha,
            base_ref: w.base.git_ref,
            html_url: w.html_url,
            merged_at: w.merged_at,
            merge_commit_sha: w.merge_commit_sha,
        })
    }
}

/// A changed file of a PR (`filename`, and `previous_filename` for renames).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct PrFile {
    pub filename: String,
    #[serde(default)]
    pub status: String,
    #[serde(default)]
    pub previous_filename: Option<String>,
}

/// A PR's changed paths, or a marker that GitHub's 3,000-file cap was hit: the caller
/// must then diff the checkout itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PrFiles {
    Complete(Vec<PrFile>),
    /// GitHub returned its maximum; the list is incomplete.
    Truncated(Vec<PrFile>),
}

/// An issue (the request issue when there is no PR).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Issue {
    pub number: u64,
    #[serde(default)]
    pub title: String,
    #[serde(default)]
    pub body: Option<String>,
    #[serde(default)]
    pub state: String,
    #[serde(rename = "user")]
    pub author: Actor,
    #[serde(default)]
    pub html_url: String,
}

/// A collaborator's permission: `permission` is admin/write/read/none; `role_name` (newer
/// API) is admin/maintain/write/triage/read or a custom role.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Permission {
    pub permission: String,
    #[serde(default)]
    pub role_name: Option<String>,
}

impl Permission {
    /// At least write access (admin, maintain or write). Unknown custom roles fall back
    /// to the coarse `permission` field.
    pub fn can_write(&self) -> bool {
        match self.role_name.as_deref() {
            Some("admin" | "maintain" | "write") => true,
            Some("triage" | "read" | "none") => false,
            _ => matches!(self.permission.as_str(), "admin" | "write"),
        }
    }
}

/// Team membership as GitHub answers it (`{state, role, url}`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Membership {
    pub state: String,
    #[serde(default)]
    pub role: String,
}

/// The reactions jitaa uses to acknowledge commands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReactionKind {
    Eyes,
    PlusOne,
    MinusOne,
}

impl ReactionKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ReactionKind::Eyes => "eyes",
            ReactionKind::PlusOne => "+1",
            ReactionKind::MinusOne => "-1",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct ReactionAck {
    pub id: u64,
    pub content: String,
}

/// What a check run (or, without `checks: write`, a commit status) shows.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CheckSpec {
    pub name: String,
    pub head_sha: String,
    /// None = in progress; Some(`success`, `failure`, `neutral`, `cancelled`, `timed_out`, `action_required`).
    pub conclusion: Option<String>,
    pub title: String,
    pub summary: String,
    pub details_url: Option<String>,
    /// The request id, so a button press (`check_run.external_id`) names its request.
    pub external_id: Option<String>,
    /// Buttons on the check run (at most 3). Sent on every update: an empty list
    /// removes them once the request is decided.
    pub actions: Vec<CheckAction>,
}

/// A check run button: GitHub sends `check_run` `requested_action` with `identifier`
/// to the app that created the run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CheckAction {
    /// At most 20 characters.
    pub label: String,
    /// At most 40 characters.
    pub description: String,
    /// At most 20 characters.
    pub identifier: String,
}

impl CheckAction {
    /// The Approve and Deny buttons of a pending request.
    pub fn approve_deny() -> Vec<CheckAction> {
        vec![
            CheckAction {
                label: "Approve".into(),
                description: "Approve this deployment".into(),
                identifier: "approve".into(),
            },
            CheckAction {
                label: "Deny".into(),
                description: "Deny this deployment".into(),
                identifier: "deny".into(),
            },
        ]
    }
}

/// A check run as listed for a commit.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct CheckRunInfo {
    pub id: u64,
    pub name: String,
    #[serde(default)]
    pub external_id: Option<String>,
    pub status: String,
    #[serde(default)]
    pub conclusion: Option<String>,
}

/// `GET /repos/{o}/{r}/commits/{sha}/check-runs`.
#[derive(Debug, Clone, Deserialize)]
pub struct CheckRunList {
    pub check_runs: Vec<CheckRunInfo>,
}

/// Where a check was published.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CheckHandle {
    CheckRun {
        id: u64,
    },
    /// The token lacks checks:write (403): a commit status with this context instead.
    Status {
        sha: String,
        context: String,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct CheckRunAck {
    pub id: u64,
    pub head_sha: String,
    pub status: String,
    #[serde(default)]
    pub conclusion: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct StatusAck {
    pub id: u64,
    pub state: String,
    #[serde(default)]
    pub context: Option<String>,
}

/// A file from the contents API.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct ContentFile {
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default)]
    pub encoding: String,
    #[serde(default)]
    pub content: String,
    pub path: String,
}

impl ContentFile {
    /// Decodes GitHub's line-wrapped base64.
    pub fn bytes(&self) -> Result<Vec<u8>, GitHubError> {
        use base64::Engine;
        if self.kind != "file" || self.encoding != "base64" {
            return Err(GitHubError::Decode {
                what: format!("contents {}", self.path),
                detail: format!(
                    "type `{}` encoding `{}`, want a base64 file",
                    self.kind, self.encoding
                ),
            });
        }
        let compact: String = self
            .content
            .chars()
            .filter(|c| !c.is_whitespace())
            .collect();
        base64::engine::general_purpose::STANDARD
            .decode(compact)
            .map_err(|e| GitHubError::Decode {
                what: format!("contents {}", self.path),
                detail: format!("base64: {e}"),
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repository_names_are_owner_slash_name() {
        let r = RepoName::parse("acme/api.rs", "GITHUB_REPOSITORY").unwrap();
        assert_eq!(r.to_string(), "acme/api.rs");
        for bad in ["acme", "acme/", "/api", "a/b/c", "acme/..", "ac me/api"] {
            let e = RepoName::parse(bad, "GITHUB_REPOSITORY").unwrap_err();
            assert_eq!(e.code(), crate::exit::Code::Usage);
            assert!(e.to_string().contains("GITHUB_REPOSITORY"), "{e}");
        }
    }

    #[test]
    fn permission_prefers_role_name() {
        let p = |perm: &str, role: Option<&str>| Permission {
            permission: perm.into(),
            role_name: role.map(String::from),
        };
        assert!(p("write", Some("maintain")).can_write());
        assert!(!p("read", Some("triage")).can_write());
        assert!(p("write", Some("custom-deployer")).can_write());
        assert!(!p("read", Some("custom-viewer")).can_write());
        assert!(!p("none", None).can_write());
    }
}

/// Parses a JSON body as `T`; `what` names the request in the error.
pub fn parse<T: DeserializeOwned>(what: &str, body: &str) -> Result<T, GitHubError> {
    serde_json::from_str(body).map_err(|e| GitHubError::Decode {
        what: what.into(),
        detail: format!("line {} column {}: {e}", e.line(), e.column()),
    })
}

/// The webhook event a workflow runs for (`GITHUB_EVENT_NAME` + the `GITHUB_EVENT_PATH` JSON).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    IssueComment {
        action: String,
        issue_number: u64,
        /// The comment is on a pull request (`issue.pull_request` is present).
        on_pull_request: bool,
        comment: Comment,
    },
    PullRequest {
        action: String,
        pull_request: PullRequest,
    },
    PullRequestReview {
        action: String,
        review: Review,
        pull_request: PullRequest,
    },
    Push {
        git_ref: String,
        before: String,
        after: String,
        created: bool,
    },
    WorkflowDispatch {
        git_ref: String,
    },
    /// Any other event: nothing jitaa reads from it.
    Other(String),
}

#[derive(Deserialize)]
struct WireIssueRef {
    number: u64,
    #[serde(default)]
    pull_request: Option<serde_json::Value>,
}

#[derive(Deserialize)]
struct WireIssueComment {
    action: String,
    issue: WireIssueRef,
    comment: Comment,
}

#[derive(Deserialize)]
struct WirePrEvent {
    action: String,
    pull_request: PullRequest,
}

#[derive(Deserialize)]
struct WireReviewEvent {
    action: String,
    review: Review,
    pull_request: PullRequest,
}

#[derive(Deserialize)]
struct WirePush {
    #[serde(rename = "ref")]
    git_ref: String,
    before: String,
    after: String,
    #[serde(default)]
    created: bool,
}

#[derive(Deserialize)]
struct WireDispatch {
    #[serde(rename = "ref")]
    git_ref: String,
}

impl Event {
    /// Parses an event payload; `path` names the file in errors.
    pub fn parse(event_name: &str, path: &str, json: &str) -> Result<Event, GitHubError> {
        let what = format!("{path} ({event_name} event)");
        Ok(match event_name {
            "issue_comment" => {
                let w: WireIssueComment = parse(&what, json)?;
                Event::IssueComment {
                    action: w.action,
                    issue_number: w.issue.number,
                    on_pull_request: w.issue.pull_request.is_some_and(|v| !v.is_null()),
                    comment: w.comment,
                }
            }
            "pull_request" | "pull_request_target" => {
                let w: WirePrEvent = parse(&what, json)?;
                Event::PullRequest {
                    action: w.action,
                    pull_request: w.pull_request,
                }
            }
            "pull_request_review" => {
                let w: WireReviewEvent = parse(&what, json)?;
                Event::PullRequestReview {
                    action: w.action,
                    review: w.review,
                    pull_request: w.pull_request,
                }
            }
            "push" => {
                let w: WirePush = parse(&what, json)?;
                Event::Push {
                    git_ref: w.git_ref,
                    before: w.before,
                    after: w.after,
                    created: w.created,
                }
            }
            "workflow_dispatch" => {
                let w: WireDispatch = parse(&what, json)?;
                Event::WorkflowDispatch { git_ref: w.git_ref }
            }
            other => {
                parse::<serde_json::Value>(&what, json)?;
                Event::Other(other.into())
            }
        })
    }
}
