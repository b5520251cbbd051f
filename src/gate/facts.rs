//! What GitHub and git say about the change, for the gate and for `decide` alike: its
//! pull request, the protected base (`crate::base::choose` fed with the API's facts,
//! never the event file alone), the rules read there, and who the requester is. `decide`
//! judges a request made by another run, so the requesting run's event file is not at
//! hand: [`EventFacts`] is what the gate read from its own (`EventFacts::from_env`), and
//! nothing for `decide`, which then relies on the API alone.

use crate::actions;
use crate::audit::Actor;
use crate::audit::approvals::Records;
use crate::base::{self, Action, ApiFiles, AtDefault, Base, GitFiles, Rules};
use crate::exit::Failure;
use crate::github::{GitHub, PullRequest};
use crate::repo::Repo;
use crate::request::{self, gh_fail};

use super::context::{self, Run};

/// What a run's own event file says (an earlier step could have rewritten it: the API
/// wins wherever both speak).
#[derive(Debug, Clone, Default)]
pub(crate) struct EventFacts {
    /// A `pull_request*` payload's PR number and head sha.
    pub pr: Option<(u64, Option<String>)>,
    /// A push's `before`.
    pub before: Option<String>,
}

impl EventFacts {
    /// The gate's own event file (`GITHUB_EVENT_PATH`).
    pub(crate) fn from_env() -> Result<EventFacts, Failure> {
        Ok(EventFacts {
            pr: context::event_pr(),
            before: context::push_before()?,
        })
    }
}

/// Who asks: the PR's author when there is a PR, else the run's actor.
pub(crate) fn requester(run: &Run, pr: Option<&PullRequest>) -> Actor {
    match pr {
        Some(p) => Actor {
            login: p.author.login.clone(),
            id: p.author.id,
        },
        None => Actor {
            login: run.actor.clone(),
            id: run.actor_id,
        },
    }
}

/// The PR for the sha (API), or for a `pull_request*` event the payload's PR.
pub(crate) async fn find_pr<G: GitHub>(
    client: &G,
    run: &Run,
    pulls: &[PullRequest],
    event: &EventFacts,
) -> Result<Option<PullRequest>, Failure> {
    if let Some(p) = request::pick_pr(pulls, &run.sha) {
        return Ok(Some(p.clone()));
    }
    if run.event.starts_with("pull_request")
        && let Some((n, _)) = event.pr
    {
        let p = client
            .pull_request(&run.repo, n)
            .await
            .map_err(gh_fail("reading the event's pull request"))?;
        return Ok(Some(p));
    }
    Ok(None)
}

/// On `pull_request*` events GitHub runs on the PR's merge commit while reviews are of
/// its head: reviews of the PR's head count for the merge commit. The head is GitHub's
/// (the API), never the event file alone, which an earlier step could rewrite; when the
/// event names another head (the PR moved since this run started), no review counts.
pub(crate) fn review_sha(
    run: &Run,
    pr: Option<&PullRequest>,
    event: &EventFacts,
) -> Option<String> {
    if !run.event.starts_with("pull_request") {
        return None;
    }
    let head = pr.map(|p| p.head_sha.clone())?;
    if let Some(named) = event.pr.as_ref().and_then(|(_, h)| h.as_ref())
        && !named.eq_ignore_ascii_case(&head)
    {
        return None;
    }
    (!head.eq_ignore_ascii_case(&run.sha)).then_some(head)
}

/// Where the rules come from (never the sha under approval), from the API's facts:
/// the PR's base and the push's `before` as GitHub has them, not as the event file says.
pub(crate) async fn protected_base<G: GitHub>(
    repo: &Repo,
    client: &G,
    run: &Run,
    pr: Option<&PullRequest>,
    default: &AtDefault,
    records: &Records<'_>,
    event: &EventFacts,
) -> Result<Base, Failure> {
    let branch = run.git_ref.strip_prefix("refs/heads/");
    let is_pr_event = run.event.starts_with("pull_request")
        || matches!(run.event.as_str(), "issue_comment" | "pull_request_review");
    let action = match (run.event.as_str(), pr) {
        (_, Some(p)) if is_pr_event => Action::PullRequest {
            number: p.number,
            base_branch: &p.base_ref,
            base_sha: &p.base_sha,
        },
        ("push", _) => {
            let branch = branch.unwrap_or(&run.git_ref);
            let before = push_before(client, run, event).await?;
            let action = Action::Push {
                branch,
                before: before.as_deref(),
                sha: &run.sha,
            };
            return base::choose(&action, &default.branch(), repo);
        }
        _ => {
            let last = match &run.environment {
                Some(env) => records
                    .last_deployment(&run.repo.to_string(), env, &default.trust, &|s| {
                        !s.eq_ignore_ascii_case(&run.sha)
                            && base::Graph::is_ancestor(repo, s, &run.sha).unwrap_or(false)
                    })
                    .map(|r| r.payload.subject.sha.clone()),
                None => None,
            };
            let tip = branch.and_then(|b| branch_tip(repo, b));
            let action = Action::Deploy {
                sha: &run.sha,
                branch: branch.map(|b| (b, tip.as_deref())),
                last_deployment: last.as_deref(),
            };
            return base::choose(&action, &default.branch(), repo);
        }
    };
    base::choose(&action, &default.branch(), repo)
}

/// A push's `before`: GitHub's (the activity API) where it lists the push, else the
/// event file's. Where they disagree GitHub wins: an earlier step can rewrite the file.
async fn push_before<G: GitHub>(
    client: &G,
    run: &Run,
    event: &EventFacts,
) -> Result<Option<String>, Failure> {
    let from_event = event.before.clone();
    let branch = run
        .git_ref
        .strip_prefix("refs/heads/")
        .unwrap_or(&run.git_ref);
    let listed = client.branch_activity(&run.repo, branch).await.map(|all| {
        all.into_iter()
            .find(|a| a.git_ref == run.git_ref && a.after.eq_ignore_ascii_case(&run.sha))
    });
    match listed {
        Ok(Some(a)) => {
            let api = Some(a.before.clone()).filter(|b| b.bytes().any(|c| c != b'0'));
            if let (Some(e), Some(g)) = (&from_event, &api)
                && !e.eq_ignore_ascii_case(g)
            {
                let msg = format!(
                    "the event file says the push's `before` is {e}, GitHub says {g}: using GitHub's"
                );
                actions::warning(&msg);
            }
            Ok(api)
        }
        Ok(None) => Ok(from_event),
        Err(e) if e.status() == Some(404) => {
            tracing::info!("the activity API is not available ({e}); using the event's `before`");
            Ok(from_event)
        }
        Err(e) => Err(gh_fail("reading the push from GitHub's activity API")(e)),
    }
}

/// `origin/<branch>`'s tip, fetched when the checkout lacks it.
fn branch_tip(repo: &Repo, branch: &str) -> Option<String> {
    let name = format!("refs/remotes/origin/{branch}");
    if repo.git().refname_to_id(&name).is_err() {
        repo.fetch_branch("origin", branch, true);
    }
    repo.git().refname_to_id(&name).ok().map(|o| o.to_string())
}

/// Policy and CODEOWNERS at the base: through git when the commit is (or can be
/// fetched) local, else through the contents API.
pub(crate) async fn rules_at<G: GitHub>(
    repo: &Repo,
    client: &G,
    run: &Run,
    base: &Base,
    policy_path: Option<&str>,
) -> Result<Rules, Failure> {
    match GitFiles::at_base(repo, base) {
        Ok(files) => base::rules(&files, policy_path),
        Err(e) => {
            tracing::info!(
                "{}: reading the base through the GitHub contents API",
                e.message
            );
            let files = ApiFiles::fetch(client, &run.repo, base, policy_path).await?;
            base::rules(&files, policy_path)
        }
    }
}
