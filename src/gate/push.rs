//! Pushes to protected branches, as the gate sees them on a `push` event (DESIGN.md
//! "Pushes to a protected branch, as the gate sees them"). The push is approved when it
//! is (a) GitHub merging a PR: a merged PR into the branch whose merge commit is the sha,
//! with that PR's approving reviews as the evidence; (b) the head of a PR into the
//! branch that the approval engine approves, as the hook judges it; or (c) covered by a
//! trusted grant on the audit branch (`audit::approvals`). A pre-push hook's `push`
//! record is evidence of a local check, never a certification. Anything else is a
//! violation.

use chrono::{DateTime, Utc};

use crate::audit::approvals::{Purpose, Query, Records};
use crate::audit::{self, Approval};
use crate::base::Trust;
use crate::codeowners::PathOwners;
use crate::exit::Failure;
use crate::github::{Client, GitHub, PullRequest, RepoName};
use crate::hook::pr::{self, PrQuery, PrVerdict};
use crate::policy::Rule;
use crate::request::gh_fail;

/// How a push to a protected branch was approved.
#[derive(Debug, Clone)]
pub(super) struct Evidence {
    /// `GitHub merged pull request #3`, `pull request #3 approved`, `grant 01J…`.
    pub how: String,
    pub approvals: Vec<Approval>,
    /// The merged or approved PR, when there is one (the deployment's thread).
    pub pr: Option<PullRequest>,
    /// `{"kind": "pull_request_merge", "number": 3, …}` for the record's context.
    pub via: serde_json::Value,
}

/// What the push check needs.
pub(super) struct PushQuery<'a> {
    pub repo: &'a RepoName,
    pub branch: &'a str,
    pub sha: &'a str,
    /// PRs GitHub lists for the sha (`commits/{sha}/pulls`).
    pub pulls: &'a [PullRequest],
    /// The rule for the push itself (no environment), read at the protected base.
    pub rule: &'a Rule,
    pub paths: &'a [PathOwners],
    pub now: DateTime<Utc>,
}

/// The evidence that approves the push, or `None` (a violation).
pub(super) async fn check(
    client: &Client,
    q: &PushQuery<'_>,
    records: &Records<'_>,
    trust: &Trust,
) -> Result<Option<Evidence>, Failure> {
    let into_branch = |p: &PullRequest| {
        p.base_ref
            .strip_prefix("refs/heads/")
            .unwrap_or(&p.base_ref)
            == q.branch
    };
    // (a) GitHub merged a PR: its merge commit is the pushed sha.
    if let Some(merged) = q
        .pulls
        .iter()
        .find(|p| p.merged_as(q.sha) && into_branch(p))
    {
        let reviews = client
            .reviews(q.repo, merged.number)
            .await
            .map_err(gh_fail("reading the merged pull request's reviews"))?;
        let approvals = reviews
            .iter()
            .filter(|r| {
                r.state.eq_ignore_ascii_case("APPROVED")
                    && r.commit_id
                        .as_deref()
                        .is_some_and(|c| c.eq_ignore_ascii_case(&merged.head_sha))
            })
            .map(|r| Approval {
                login: r.author.login.clone(),
                id: r.author.id,
                via: "review".into(),
                url: r.html_url.clone(),
                at: r
                    .submitted_at
                    .map(audit::record::format_time)
                    .unwrap_or_default(),
            })
            .collect();
        return Ok(Some(Evidence {
            how: format!("GitHub merged pull request #{}", merged.number),
            approvals,
            pr: Some(merged.clone()),
            via: serde_json::json!({
                "kind": "pull_request_merge",
                "number": merged.number,
                "url": merged.html_url,
                "head": merged.head_sha,
            }),
        }));
    }
    // (c) A trusted grant (checked before (b): no API calls).
    let git_ref = format!("refs/heads/{}", q.branch);
    let search = records.find(
        &Query {
            repository: &q.repo.to_string(),
            sha: q.sha,
            purpose: Purpose::Grant { git_ref: &git_ref },
        },
        trust,
        q.now,
    );
    if let Some(g) = search.found {
        return Ok(Some(Evidence {
            how: format!(
                "grant {} (valid until {})",
                g.record.payload.id,
                audit::record::format_time(g.expires_at)
            ),
            approvals: g.record.payload.approvals.clone(),
            pr: None,
            via: serde_json::json!({"kind": "grant", "id": g.record.payload.id, "digest": g.digest}),
        }));
    }
    for r in &search.rejected {
        tracing::info!("{r}");
    }
    // (b) The head of a PR the approval engine approves.
    if q.rule.approvals > 0 {
        let verdict = pr::check(
            client,
            &PrQuery {
                repo: q.repo,
                sha: q.sha,
                branch: q.branch,
                rule: q.rule,
                paths: q.paths,
                now: q.now,
            },
        )
        .await
        .map_err(gh_fail("checking the pull request of the pushed commit"))?;
        if let PrVerdict::Approved { pr, outcome, .. } = verdict {
            let approvals = match &outcome.decision {
                crate::approval::Decision::Approved { approvals, .. } => {
                    approvals.iter().map(Approval::from).collect()
                }
                _ => Vec::new(),
            };
            return Ok(Some(Evidence {
                how: format!("pull request #{} approved", pr.number),
                approvals,
                via: serde_json::json!({"kind": "pull_request", "number": pr.number, "url": pr.html_url}),
                pr: Some(pr),
            }));
        }
    }
    Ok(None)
}
