//! Webhook payloads shaped like GitHub's, for the event file a workflow step reads at
//! `GITHUB_EVENT_PATH`. Each starts from a real payload (src/events/*.json, see
//! SOURCES.md there), keeps its full shape and overwrites the fields that matter; the
//! `workflow_run` payload is built from GitHub's documented shape.
//!
//! URLs are GitHub's own (`https://github.com`, `https://api.github.com`), as in a real
//! event file: a consumer reaches the stand-in through `GITHUB_API_URL`. What a
//! function is not told keeps the template's value (e.g. `issue.user` in
//! [`issue_comment`], repository ids); the `FakeHub::*_event` methods fill those from the
//! stand-in's world.

use std::path::Path;

use serde_json::{Value, json};

use crate::state::{CheckRun, Comment, PrSpec, Review, User};

const ISSUE_COMMENT: &str = include_str!("events/issue_comment.created.json");
const CHECK_RUN_REQUESTED_ACTION: &str = include_str!("events/check_run.requested_action.json");
const PULL_REQUEST_REVIEW_SUBMITTED: &str =
    include_str!("events/pull_request_review.submitted.json");

/// The repository the octokit templates name (issue_comment, pull_request_review).
const TEMPLATE_REPO: &str = "Codertocat/Hello-World";
/// The repository the check_run template names.
const CHECK_RUN_TEMPLATE_REPO: &str = "electron/electron";

const WEB: &str = "https://github.com";
const API: &str = "https://api.github.com";

/// The app the stand-in's check runs belong to (as `check_run_json` answers).
const APP_ID: u64 = 1;
const APP_SLUG: &str = "fakehub";

/// A template with every mention of `from` (`owner/name`) turned into `repo`.
fn template(text: &str, from: &str, repo: &str) -> Value {
    // The templates are constants of this crate: a parse failure is a build defect.
    serde_json::from_str(&text.replace(from, repo)).expect("bundled event template parses")
}

fn split(repo: &str) -> (&str, &str) {
    repo.split_once('/').unwrap_or((repo, repo))
}

fn node_id(prefix: &str, id: u64) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(format!("{prefix}{id}"))
}

/// A user object as webhook payloads carry it (`sender`, `comment.user`, …).
pub fn user(login: &str, id: u64, kind: &str) -> Value {
    let u = format!("{API}/users/{login}");
    json!({
        "login": login, "id": id, "node_id": node_id("04:User", id),
        "avatar_url": format!("https://avatars.githubusercontent.com/u/{id}?v=4"),
        "gravatar_id": "", "url": u, "html_url": format!("{WEB}/{login}"),
        "followers_url": format!("{u}/followers"),
        "following_url": format!("{u}/following{{/other_user}}"),
        "gists_url": format!("{u}/gists{{/gist_id}}"),
        "starred_url": format!("{u}/starred{{/owner}}{{/repo}}"),
        "subscriptions_url": format!("{u}/subscriptions"),
        "organizations_url": format!("{u}/orgs"),
        "repos_url": format!("{u}/repos"),
        "events_url": format!("{u}/events{{/privacy}}"),
        "received_events_url": format!("{u}/received_events"),
        "type": kind, "site_admin": false,
    })
}

/// The full `repository` object of a payload, for `owner/name` (default branch `main`,
/// the template's id).
pub fn repository(repo: &str) -> Value {
    let mut v = template(ISSUE_COMMENT, TEMPLATE_REPO, repo)["repository"].take();
    let (owner, name) = split(repo);
    let owner_id = v["owner"]["id"].as_u64().unwrap_or(0);
    v["name"] = json!(name);
    v["full_name"] = json!(repo);
    v["owner"] = user(owner, owner_id, "User");
    v["default_branch"] = json!("main");
    v
}

/// One entry of `pull_requests` in check_run and workflow_run payloads.
pub(crate) fn pull_ref(
    repo: &str,
    repo_id: u64,
    number: u64,
    head: (&str, &str),
    base: (&str, &str),
) -> Value {
    let (_, name) = split(repo);
    let r = json!({"id": repo_id, "url": format!("{API}/repos/{repo}"), "name": name});
    json!({
        "url": format!("{API}/repos/{repo}/pulls/{number}"),
        "id": number, "number": number,
        "head": {"ref": head.1, "sha": head.0, "repo": r},
        "base": {"ref": base.1, "sha": base.0, "repo": r},
    })
}

/// `issue_comment` with action `created`: `comment` (from the stand-in's [`Comment`],
/// written by `commenter`) on issue `issue_number`, a pull request's conversation when
/// `is_pr` (then `issue.pull_request` is set, else absent). `sender` is the commenter.
pub fn issue_comment(
    repo: &str,
    issue_number: u64,
    is_pr: bool,
    comment: &Comment,
    commenter: &User,
) -> Value {
    let mut v = template(ISSUE_COMMENT, TEMPLATE_REPO, repo);
    v["action"] = json!("created");
    v["repository"] = repository(repo);
    let n = issue_number;
    let issue_api = format!("{API}/repos/{repo}/issues/{n}");
    let html = if is_pr {
        format!("{WEB}/{repo}/pull/{n}")
    } else {
        format!("{WEB}/{repo}/issues/{n}")
    };
    let i = &mut v["issue"];
    i["number"] = json!(n);
    i["url"] = json!(issue_api);
    i["repository_url"] = json!(format!("{API}/repos/{repo}"));
    i["labels_url"] = json!(format!("{issue_api}/labels{{/name}}"));
    i["comments_url"] = json!(format!("{issue_api}/comments"));
    i["events_url"] = json!(format!("{issue_api}/events"));
    i["html_url"] = json!(html);
    // The template's labels, assignee and milestone are not this issue's.
    i["labels"] = json!([]);
    i["assignee"] = Value::Null;
    i["assignees"] = json!([]);
    i["milestone"] = Value::Null;
    if let Some(obj) = i.as_object_mut() {
        if is_pr {
            obj.insert(
                "pull_request".into(),
                json!({
                    "url": format!("{API}/repos/{repo}/pulls/{n}"),
                    "html_url": format!("{WEB}/{repo}/pull/{n}"),
                    "diff_url": format!("{WEB}/{repo}/pull/{n}.diff"),
                    "patch_url": format!("{WEB}/{repo}/pull/{n}.patch"),
                    "merged_at": null,
                }),
            );
        } else {
            obj.remove("pull_request");
        }
    }
    let c = &mut v["comment"];
    c["id"] = json!(comment.id);
    c["node_id"] = json!(node_id("012:IssueComment", comment.id));
    c["url"] = json!(format!("{API}/repos/{repo}/issues/comments/{}", comment.id));
    c["html_url"] = json!(format!("{html}#issuecomment-{}", comment.id));
    c["issue_url"] = json!(issue_api);
    c["body"] = json!(comment.body);
    c["user"] = user(&commenter.login, commenter.id, &commenter.kind);
    c["created_at"] = json!(comment.created_at);
    c["updated_at"] = json!(comment.updated_at);
    v["sender"] = user(&commenter.login, commenter.id, &commenter.kind);
    v
}

fn app() -> Value {
    let mut a = serde_json::from_str::<Value>(CHECK_RUN_REQUESTED_ACTION)
        .expect("bundled event template parses")["check_run"]["app"]
        .take();
    a["id"] = json!(APP_ID);
    a["slug"] = json!(APP_SLUG);
    a["name"] = json!(APP_SLUG);
    a["node_id"] = json!(node_id("03:App", APP_ID));
    a["html_url"] = json!(format!("{WEB}/apps/{APP_SLUG}"));
    a["external_url"] = json!(format!("{WEB}/apps/{APP_SLUG}"));
    a["owner"] = user(APP_SLUG, APP_ID, "Organization");
    a
}

/// `check_run` with action `requested_action`: `sender` clicked the action
/// `identifier` of `check` (the stand-in's [`CheckRun`]). `check_run.app` is the
/// stand-in's app (id 1, slug `fakehub`, as the checks API answers);
/// `check_run.pull_requests` is empty (see `FakeHub::check_run_requested_action_event`
/// for the PRs whose head is the run's sha); `external_id` is `""` when the run has none.
pub fn check_run_requested_action(
    repo: &str,
    check: &CheckRun,
    identifier: &str,
    sender_login: &str,
    sender_id: u64,
) -> Value {
    let mut v = template(CHECK_RUN_REQUESTED_ACTION, CHECK_RUN_TEMPLATE_REPO, repo);
    let (owner, _) = split(repo);
    v["action"] = json!("requested_action");
    v["repository"] = repository(repo);
    if let Some(org) = v["organization"].as_object_mut() {
        org.insert("login".into(), json!(owner));
        for (k, val) in org.iter_mut() {
            if k.ends_with("url")
                && let Some(s) = val.as_str()
            {
                *val = json!(s.replace("/orgs/electron", &format!("/orgs/{owner}")));
            }
        }
    }
    let id = check.id;
    let completed = check.status == "completed";
    let cr = &mut v["check_run"];
    cr["id"] = json!(id);
    cr["node_id"] = json!(node_id("08:CheckRun", id));
    cr["head_sha"] = json!(check.head_sha);
    cr["external_id"] = json!(check.external_id.clone().unwrap_or_default());
    cr["url"] = json!(format!("{API}/repos/{repo}/check-runs/{id}"));
    cr["html_url"] = json!(format!("{WEB}/{repo}/runs/{id}"));
    cr["details_url"] = json!(check.details_url);
    cr["name"] = json!(check.name);
    cr["status"] = json!(check.status);
    cr["conclusion"] = json!(check.conclusion);
    cr["started_at"] = json!(crate::state::now());
    cr["completed_at"] = if completed {
        json!(crate::state::now())
    } else {
        Value::Null
    };
    cr["output"]["title"] = json!(check.title);
    cr["output"]["summary"] = json!(check.summary);
    cr["output"]["annotations_url"] =
        json!(format!("{API}/repos/{repo}/check-runs/{id}/annotations"));
    cr["app"] = app();
    cr["pull_requests"] = json!([]);
    let suite = &mut cr["check_suite"];
    suite["head_sha"] = json!(check.head_sha);
    suite["after"] = json!(check.head_sha);
    suite["head_branch"] = Value::Null;
    suite["status"] = json!(check.status);
    suite["conclusion"] = json!(check.conclusion);
    suite["app"] = app();
    suite["pull_requests"] = json!([]);
    v["requested_action"] = json!({"identifier": identifier});
    v["sender"] = user(sender_login, sender_id, "User");
    v
}

/// `pull_request_review` with action `submitted`: `review` (the stand-in's
/// [`Review`], by `reviewer`) on pull request `pr_number`, whose author, title, head and
/// base come from `pr`. `review.state` is lower-case, as in GitHub's payloads
/// (`approved`, `changes_requested`, `commented`); the REST API's is upper-case.
pub fn pull_request_review_submitted(
    repo: &str,
    pr_number: u64,
    review: &Review,
    reviewer: &User,
    pr: &PrSpec,
) -> Value {
    let mut v = template(PULL_REQUEST_REVIEW_SUBMITTED, TEMPLATE_REPO, repo);
    let (owner, _) = split(repo);
    let n = pr_number;
    let repo_json = repository(repo);
    v["action"] = json!("submitted");
    v["repository"] = repo_json.clone();
    let pr_api = format!("{API}/repos/{repo}/pulls/{n}");
    let pr_html = format!("{WEB}/{repo}/pull/{n}");
    let r = &mut v["review"];
    r["id"] = json!(review.id);
    r["node_id"] = json!(node_id("017:PullRequestReview", review.id));
    r["user"] = user(&reviewer.login, reviewer.id, &reviewer.kind);
    r["body"] = if review.body.is_empty() {
        Value::Null
    } else {
        json!(review.body)
    };
    r["commit_id"] = json!(review.commit_id);
    r["submitted_at"] = json!(review.submitted_at);
    r["state"] = json!(review.state.to_ascii_lowercase());
    r["html_url"] = json!(format!("{pr_html}#pullrequestreview-{}", review.id));
    r["pull_request_url"] = json!(pr_api);
    r["_links"] = json!({
        "html": {"href": format!("{pr_html}#pullrequestreview-{}", review.id)},
        "pull_request": {"href": pr_api},
    });
    let p = &mut v["pull_request"];
    p["number"] = json!(n);
    p["url"] = json!(pr_api);
    p["html_url"] = json!(pr_html);
    p["diff_url"] = json!(format!("{pr_html}.diff"));
    p["patch_url"] = json!(format!("{pr_html}.patch"));
    p["issue_url"] = json!(format!("{API}/repos/{repo}/issues/{n}"));
    p["commits_url"] = json!(format!("{pr_api}/commits"));
    p["review_comments_url"] = json!(format!("{pr_api}/comments"));
    p["comments_url"] = json!(format!("{API}/repos/{repo}/issues/{n}/comments"));
    p["statuses_url"] = json!(format!("{API}/repos/{repo}/statuses/{}", pr.head_sha));
    if !pr.title.is_empty() {
        p["title"] = json!(pr.title);
    }
    // The template's people and labels are not this PR's.
    p["labels"] = json!([]);
    p["assignee"] = Value::Null;
    p["assignees"] = json!([]);
    p["requested_reviewers"] = json!([]);
    p["requested_teams"] = json!([]);
    p["milestone"] = Value::Null;
    p["merge_commit_sha"] = Value::Null;
    let author_id = p["user"]["id"].as_u64().unwrap_or(0);
    p["user"] = user(&pr.author, author_id, "User");
    for (side, sha, git_ref) in [
        ("head", &pr.head_sha, &pr.head_ref),
        ("base", &pr.base_sha, &pr.base_ref),
    ] {
        let b = &mut p[side];
        b["sha"] = json!(sha);
        b["ref"] = json!(git_ref);
        b["label"] = json!(format!("{owner}:{git_ref}"));
        b["user"] = repo_json["owner"].clone();
        b["repo"] = repo_json.clone();
    }
    if let Some(links) = p["_links"].as_object_mut() {
        links.insert("self".into(), json!({"href": pr_api}));
        links.insert("html".into(), json!({"href": pr_html}));
        links.insert(
            "issue".into(),
            json!({"href": format!("{API}/repos/{repo}/issues/{n}")}),
        );
        links.insert(
            "comments".into(),
            json!({"href": format!("{API}/repos/{repo}/issues/{n}/comments")}),
        );
        links.insert(
            "review_comments".into(),
            json!({"href": format!("{pr_api}/comments")}),
        );
        links.insert(
            "commits".into(),
            json!({"href": format!("{pr_api}/commits")}),
        );
        links.insert(
            "statuses".into(),
            json!({"href": format!("{API}/repos/{repo}/statuses/{}", pr.head_sha)}),
        );
    }
    v["sender"] = user(&reviewer.login, reviewer.id, &reviewer.kind);
    v
}

/// `workflow_run` with action `completed` (conclusion `success`), built from GitHub's
/// documented payload: run `run_id` of the workflow `workflow_name` at
/// `workflow_path` (`.github/workflows/x.yml`), triggered by `event` on `head_sha` of
/// `head_branch`; `pull_requests` are (number, head sha, base ref), each with head ref
/// `head_branch`. The actor and `sender` are `octocat` (583231), like the OIDC
/// issuer's default claims.
#[allow(
    clippy::too_many_arguments,
    reason = "the payload's fields, as the tests name them"
)]
pub fn workflow_run_completed(
    repo: &str,
    run_id: u64,
    workflow_name: &str,
    workflow_path: &str,
    event: &str,
    head_sha: &str,
    head_branch: &str,
    pull_requests: &[(u64, &str, &str)],
) -> Value {
    let repo_json = repository(repo);
    let repo_id = repo_json["id"].as_u64().unwrap_or(0);
    let actor = user("octocat", 583231, "User");
    let workflow_id = 1_000 + run_id % 1_000_000;
    let run_api = format!("{API}/repos/{repo}/actions/runs/{run_id}");
    let file = workflow_path.rsplit('/').next().unwrap_or(workflow_path);
    let now = crate::state::now();
    let prs: Vec<Value> = pull_requests
        .iter()
        // The base's sha is not given: "" keeps the documented shape.
        .map(|(n, sha, base_ref)| pull_ref(repo, repo_id, *n, (sha, head_branch), ("", base_ref)))
        .collect();
    let mut run = json!({
        "id": run_id,
        "name": workflow_name,
        "node_id": node_id("011:WorkflowRun", run_id),
        "head_branch": head_branch,
        "head_sha": head_sha,
        "path": workflow_path,
        "display_title": workflow_name,
        "run_number": 1,
        "run_attempt": 1,
        "event": event,
        "status": "completed",
        "conclusion": "success",
        "workflow_id": workflow_id,
        "check_suite_id": run_id + 1,
        "check_suite_node_id": node_id("010:CheckSuite", run_id + 1),
        "url": run_api,
        "html_url": format!("{WEB}/{repo}/actions/runs/{run_id}"),
        "pull_requests": prs,
        "created_at": now,
        "updated_at": now,
        "run_started_at": now,
        "referenced_workflows": [],
        "previous_attempt_url": null,
    });
    let urls = json!({
        "jobs_url": format!("{run_api}/jobs"),
        "logs_url": format!("{run_api}/logs"),
        "check_suite_url": format!("{API}/repos/{repo}/check-suites/{}", run_id + 1),
        "artifacts_url": format!("{run_api}/artifacts"),
        "cancel_url": format!("{run_api}/cancel"),
        "rerun_url": format!("{run_api}/rerun"),
        "workflow_url": format!("{API}/repos/{repo}/actions/workflows/{workflow_id}"),
    });
    let head_commit = json!({
        "id": head_sha, "tree_id": head_sha, "message": "A change",
        "timestamp": now,
        "author": {"name": "The Octocat", "email": "octocat@github.com"},
        "committer": {"name": "GitHub", "email": "noreply@github.com"},
    });
    if let (Some(obj), Value::Object(more)) = (run.as_object_mut(), urls) {
        obj.extend(more);
        obj.insert("actor".into(), actor.clone());
        obj.insert("triggering_actor".into(), actor.clone());
        obj.insert("head_commit".into(), head_commit);
        obj.insert("repository".into(), repo_json.clone());
        obj.insert("head_repository".into(), repo_json.clone());
    }
    let workflow = json!({
        "id": workflow_id,
        "node_id": node_id("08:Workflow", workflow_id),
        "name": workflow_name,
        "path": workflow_path,
        "state": "active",
        "created_at": now,
        "updated_at": now,
        "url": format!("{API}/repos/{repo}/actions/workflows/{workflow_id}"),
        "html_url": format!("{WEB}/{repo}/blob/main/{workflow_path}"),
        "badge_url": format!("{WEB}/{repo}/workflows/{file}/badge.svg"),
    });
    json!({
        "action": "completed",
        "workflow_run": run,
        "workflow": workflow,
        "repository": repo_json,
        "sender": actor,
    })
}

/// Writes `value` as the JSON event file at `path` (what `GITHUB_EVENT_PATH` names).
pub fn write(path: &Path, value: &Value) -> std::io::Result<()> {
    let text = serde_json::to_vec_pretty(value).map_err(std::io::Error::other)?;
    std::fs::write(path, text)
}
