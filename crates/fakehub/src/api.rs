//! The GitHub REST routes the stand-in serves, with GitHub's status codes, JSON shapes
//! and `Link` pagination (per_page default 30, max 100; absolute URLs like GitHub's).

use std::collections::HashMap;

use axum::Router;
use axum::extract::{Extension, Path, Query, State as AxState};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::{Value, json};

use crate::state::{
    CheckAction, CheckRun, CommitStatus, Issue, MAX_PR_FILES, Reaction, Rerun, now,
};
use crate::{Caller, Shared};

type Q = Query<HashMap<String, String>>;

pub fn router(shared: Shared) -> Router {
    Router::new()
        .route("/user", get(me))
        .route("/repos/{o}/{r}", get(repo_info))
        .route("/repos/{o}/{r}/commits/{sha}/pulls", get(pulls_for_commit))
        .route("/repos/{o}/{r}/pulls/{n}", get(pull))
        .route("/repos/{o}/{r}/pulls/{n}/files", get(pull_files))
        .route("/repos/{o}/{r}/pulls/{n}/reviews", get(pull_reviews))
        .route("/repos/{o}/{r}/activity", get(repo_activity))
        .route("/repos/{o}/{r}/issues", get(list_issues).post(create_issue))
        .route("/repos/{o}/{r}/issues/{n}", get(issue))
        .route(
            "/repos/{o}/{r}/issues/{n}/comments",
            get(list_comments).post(create_comment),
        )
        .route(
            "/repos/{o}/{r}/issues/comments/{id}",
            get(get_comment).patch(edit_comment),
        )
        .route(
            "/repos/{o}/{r}/issues/comments/{id}/reactions",
            post(create_reaction),
        )
        .route("/repos/{o}/{r}/check-runs", post(create_check_run))
        .route(
            "/repos/{o}/{r}/check-runs/{id}",
            get(get_check_run).patch(update_check_run),
        )
        .route(
            "/repos/{o}/{r}/commits/{sha}/check-runs",
            get(list_check_runs),
        )
        .route(
            "/repos/{o}/{r}/actions/runs/{run_id}/rerun",
            post(rerun_workflow),
        )
        .route("/repos/{o}/{r}/statuses/{sha}", post(create_status))
        .route(
            "/repos/{o}/{r}/collaborators/{u}/permission",
            get(permission),
        )
        .route("/orgs/{org}/teams/{slug}/memberships/{u}", get(membership))
        .route("/repos/{o}/{r}/contents/{*path}", get(contents))
        .with_state(shared)
}

pub fn error(status: StatusCode, message: &str) -> Response {
    let body = json!({"message": message,
        "documentation_url": "https://docs.github.com/rest", "status": status.as_u16().to_string()});
    (status, axum::Json(body)).into_response()
}

fn not_found() -> Response {
    error(StatusCode::NOT_FOUND, "Not Found")
}

fn created(v: Value) -> Response {
    (StatusCode::CREATED, axum::Json(v)).into_response()
}

/// One page of `items` with GitHub's `Link` header.
fn paged(base_url: &str, path: &str, q: &HashMap<String, String>, items: Vec<Value>) -> Response {
    let (body, link) = page_of(base_url, path, q, items);
    let mut resp = axum::Json(Value::Array(body)).into_response();
    if let Some(v) = link {
        resp.headers_mut().insert(header::LINK, v);
    }
    resp
}

/// The `page` of `items` that `per_page` and `page` in `q` ask for (default 30 per
/// page, at most 100), and the `Link` header that goes with it (none on a single page).
fn page_of(
    base_url: &str,
    path: &str,
    q: &HashMap<String, String>,
    items: Vec<Value>,
) -> (Vec<Value>, Option<HeaderValue>) {
    let per_page = q
        .get("per_page")
        .and_then(|p| p.parse::<usize>().ok())
        .unwrap_or(30)
        .clamp(1, 100);
    let page = q
        .get("page")
        .and_then(|p| p.parse::<usize>().ok())
        .unwrap_or(1)
        .max(1);
    let last = items.len().div_ceil(per_page).max(1);
    let start = (page - 1).saturating_mul(per_page).min(items.len());
    let end = (start + per_page).min(items.len());
    let body: Vec<Value> = items[start..end].to_vec();
    let link_to = |p: usize| {
        let mut pairs: Vec<(String, String)> = q
            .iter()
            .filter(|(k, _)| k.as_str() != "page")
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        pairs.sort();
        pairs.push(("page".into(), p.to_string()));
        let qs: Vec<String> = pairs.iter().map(|(k, v)| format!("{k}={v}")).collect();
        format!("{base_url}{path}?{}", qs.join("&"))
    };
    let mut links = Vec::new();
    if page < last {
        links.push(format!("<{}>; rel=\"next\"", link_to(page + 1)));
        links.push(format!("<{}>; rel=\"last\"", link_to(last)));
    }
    if page > 1 {
        links.push(format!("<{}>; rel=\"first\"", link_to(1)));
        links.push(format!("<{}>; rel=\"prev\"", link_to(page - 1)));
    }
    let link = if links.is_empty() {
        None
    } else {
        HeaderValue::from_str(&links.join(", ")).ok()
    };
    (body, link)
}

fn full(o: &str, r: &str) -> String {
    format!("{o}/{r}")
}

async fn me(AxState(s): AxState<Shared>, Extension(c): Extension<Caller>) -> Response {
    let st = s.lock();
    // Like GitHub: app installation tokens (GITHUB_TOKEN) may not read /user.
    if st.users.get(&c.0).is_some_and(|u| u.kind == "Bot") {
        return error(
            StatusCode::FORBIDDEN,
            "Resource not accessible by integration",
        );
    }
    axum::Json(st.user_json(&c.0)).into_response()
}

async fn repo_info(AxState(s): AxState<Shared>, Path((o, r)): Path<(String, String)>) -> Response {
    let st = s.lock();
    let name = full(&o, &r);
    let Some(repo) = st.repos.get(&name) else {
        return not_found();
    };
    let b = &st.base_url;
    axum::Json(json!({"id": repo.id, "name": repo.name, "full_name": name,
        "owner": st.user_json(&repo.owner), "private": false,
        "html_url": format!("{b}/{name}"), "url": format!("{b}/repos/{name}"),
        "default_branch": repo.default_branch}))
    .into_response()
}

async fn pulls_for_commit(
    AxState(s): AxState<Shared>,
    Path((o, r, sha)): Path<(String, String, String)>,
    q: Q,
) -> Response {
    let st = s.lock();
    let name = full(&o, &r);
    let Some(repo) = st.repos.get(&name) else {
        return not_found();
    };
    let items = repo
        .issues
        .values()
        .filter_map(|i| i.pr.as_ref().map(|p| (i, p)))
        // GitHub lists the merged PR that introduced the commit (its head or its merge
        // commit), else the open PRs whose head it is.
        .filter(|(_, p)| p.head_sha == sha || p.merged.as_ref().is_some_and(|(m, _)| *m == sha))
        .map(|(i, p)| st.pr_json(&name, i, p))
        .collect();
    paged(
        &st.base_url,
        &format!("/repos/{name}/commits/{sha}/pulls"),
        &q,
        items,
    )
}

fn with_pr<T>(
    st: &crate::state::State,
    name: &str,
    n: u64,
    f: impl FnOnce(&Issue, &crate::state::Pr) -> T,
) -> Option<T> {
    let i = st.repos.get(name)?.issues.get(&n)?;
    let p = i.pr.as_ref()?;
    Some(f(i, p))
}

async fn pull(
    AxState(s): AxState<Shared>,
    Path((o, r, n)): Path<(String, String, u64)>,
) -> Response {
    let st = s.lock();
    let name = full(&o, &r);
    match with_pr(&st, &name, n, |i, p| st.pr_json(&name, i, p)) {
        Some(v) => axum::Json(v).into_response(),
        None => not_found(),
    }
}

async fn pull_files(
    AxState(s): AxState<Shared>,
    Path((o, r, n)): Path<(String, String, u64)>,
    q: Q,
) -> Response {
    let st = s.lock();
    let name = full(&o, &r);
    let items = with_pr(&st, &name, n, |_, p| {
        p.files
            .iter()
            .take(MAX_PR_FILES)
            .map(|f| st.file_json(&name, p, f))
            .collect::<Vec<_>>()
    });
    match items {
        Some(items) => paged(
            &st.base_url,
            &format!("/repos/{name}/pulls/{n}/files"),
            &q,
            items,
        ),
        None => not_found(),
    }
}

async fn pull_reviews(
    AxState(s): AxState<Shared>,
    Path((o, r, n)): Path<(String, String, u64)>,
    q: Q,
) -> Response {
    let st = s.lock();
    let name = full(&o, &r);
    let items = with_pr(&st, &name, n, |_, p| {
        p.reviews
            .iter()
            .map(|rv| st.review_json(&name, n, rv))
            .collect::<Vec<_>>()
    });
    match items {
        Some(items) => paged(
            &st.base_url,
            &format!("/repos/{name}/pulls/{n}/reviews"),
            &q,
            items,
        ),
        None => not_found(),
    }
}

/// `GET /repos/{o}/{r}/activity`: newest first unless `direction=asc`; `ref` as
/// `refs/heads/BRANCH` or `BRANCH`; `activity_type`; at most `per_page` (default 30, max 100).
/// (GitHub pages this list with `before`/`after` cursors; the stand-in returns one page.)
async fn repo_activity(
    AxState(s): AxState<Shared>,
    Path((o, r)): Path<(String, String)>,
    q: Q,
) -> Response {
    let st = s.lock();
    let Some(repo) = st.repos.get(&full(&o, &r)) else {
        return not_found();
    };
    let want_ref = q.get("ref").map(|r| {
        if r.starts_with("refs/") {
            r.clone()
        } else {
            format!("refs/heads/{r}")
        }
    });
    let per_page = q
        .get("per_page")
        .and_then(|p| p.parse::<usize>().ok())
        .unwrap_or(30)
        .clamp(1, 100);
    let mut items: Vec<&crate::state::Activity> = repo
        .activity
        .iter()
        .filter(|a| want_ref.as_ref().is_none_or(|w| *w == a.git_ref))
        .filter(|a| q.get("activity_type").is_none_or(|t| *t == a.activity_type))
        .collect();
    if q.get("direction").map(String::as_str) != Some("asc") {
        items.reverse();
    }
    let out: Vec<Value> = items
        .into_iter()
        .take(per_page)
        .map(|a| st.activity_json(a))
        .collect();
    axum::Json(out).into_response()
}

async fn list_issues(
    AxState(s): AxState<Shared>,
    Path((o, r)): Path<(String, String)>,
    q: Q,
) -> Response {
    let st = s.lock();
    let name = full(&o, &r);
    let Some(repo) = st.repos.get(&name) else {
        return not_found();
    };
    let state = q.get("state").map(String::as_str).unwrap_or("open");
    let labels: Vec<&str> = q
        .get("labels")
        .map(|l| l.split(',').filter(|x| !x.is_empty()).collect())
        .unwrap_or_default();
    let creator = q.get("creator");
    // Newest first, like GitHub's default sort.
    let items = repo
        .issues
        .values()
        .rev()
        .filter(|i| state == "all" || i.state == state)
        .filter(|i| labels.iter().all(|l| i.labels.iter().any(|x| x == l)))
        .filter(|i| creator.is_none_or(|c| &i.user == c))
        .map(|i| st.issue_json(&name, i))
        .collect();
    paged(&st.base_url, &format!("/repos/{name}/issues"), &q, items)
}

async fn create_issue(
    AxState(s): AxState<Shared>,
    Extension(c): Extension<Caller>,
    Path((o, r)): Path<(String, String)>,
    axum::Json(body): axum::Json<Value>,
) -> Response {
    let Some(title) = body.get("title").and_then(Value::as_str) else {
        return error(StatusCode::UNPROCESSABLE_ENTITY, "Validation Failed: title");
    };
    let text = body.get("body").and_then(Value::as_str).unwrap_or("");
    let labels: Vec<String> = body
        .get("labels")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|l| l.as_str().map(String::from))
                .collect()
        })
        .unwrap_or_default();
    let mut st = s.lock();
    let name = full(&o, &r);
    match st.open_issue(&name, &c.0, title, text, labels, None) {
        Some(n) => {
            let v = st
                .repos
                .get(&name)
                .and_then(|r| r.issues.get(&n))
                .map(|i| st.issue_json(&name, i));
            created(v.unwrap_or(Value::Null))
        }
        None => not_found(),
    }
}

async fn issue(
    AxState(s): AxState<Shared>,
    Path((o, r, n)): Path<(String, String, u64)>,
) -> Response {
    let st = s.lock();
    let name = full(&o, &r);
    match st.repos.get(&name).and_then(|r| r.issues.get(&n)) {
        Some(i) => axum::Json(st.issue_json(&name, i)).into_response(),
        None => not_found(),
    }
}

async fn list_comments(
    AxState(s): AxState<Shared>,
    Path((o, r, n)): Path<(String, String, u64)>,
    q: Q,
) -> Response {
    let st = s.lock();
    let name = full(&o, &r);
    let Some(i) = st.repos.get(&name).and_then(|r| r.issues.get(&n)) else {
        return not_found();
    };
    let since = q.get("since").cloned();
    let items = i
        .comments
        .iter()
        .filter_map(|id| st.comments.get(id))
        .map(|(_, c)| c)
        .filter(|c| since.as_deref().is_none_or(|s| c.updated_at.as_str() >= s))
        .map(|c| st.comment_json(&name, c))
        .collect();
    paged(
        &st.base_url,
        &format!("/repos/{name}/issues/{n}/comments"),
        &q,
        items,
    )
}

async fn create_comment(
    AxState(s): AxState<Shared>,
    Extension(c): Extension<Caller>,
    Path((o, r, n)): Path<(String, String, u64)>,
    axum::Json(body): axum::Json<Value>,
) -> Response {
    let Some(text) = body.get("body").and_then(Value::as_str) else {
        return error(StatusCode::UNPROCESSABLE_ENTITY, "Validation Failed: body");
    };
    let mut st = s.lock();
    let name = full(&o, &r);
    match st.add_comment(&name, n, &c.0, text) {
        Some(cm) => created(st.comment_json(&name, &cm)),
        None => not_found(),
    }
}

async fn get_comment(
    AxState(s): AxState<Shared>,
    Path((o, r, id)): Path<(String, String, u64)>,
) -> Response {
    let st = s.lock();
    let name = full(&o, &r);
    match st.comments.get(&id) {
        Some((repo, c)) if *repo == name => axum::Json(st.comment_json(&name, c)).into_response(),
        _ => not_found(),
    }
}

async fn edit_comment(
    AxState(s): AxState<Shared>,
    Extension(c): Extension<Caller>,
    Path((o, r, id)): Path<(String, String, u64)>,
    axum::Json(body): axum::Json<Value>,
) -> Response {
    let Some(text) = body.get("body").and_then(Value::as_str) else {
        return error(StatusCode::UNPROCESSABLE_ENTITY, "Validation Failed: body");
    };
    let mut st = s.lock();
    let name = full(&o, &r);
    match st.comments.get(&id) {
        Some((repo, cm)) if *repo == name && cm.user == c.0 => {}
        Some((repo, _)) if *repo == name => {
            return error(StatusCode::FORBIDDEN, "Must be the author");
        }
        _ => return not_found(),
    }
    match st.edit_comment(id, text) {
        Some(cm) => axum::Json(st.comment_json(&name, &cm)).into_response(),
        None => not_found(),
    }
}

async fn create_reaction(
    AxState(s): AxState<Shared>,
    Extension(c): Extension<Caller>,
    Path((o, r, id)): Path<(String, String, u64)>,
    axum::Json(body): axum::Json<Value>,
) -> Response {
    const ALLOWED: [&str; 8] = [
        "+1", "-1", "laugh", "confused", "heart", "hooray", "rocket", "eyes",
    ];
    let Some(content) = body
        .get("content")
        .and_then(Value::as_str)
        .filter(|c| ALLOWED.contains(c))
    else {
        return error(
            StatusCode::UNPROCESSABLE_ENTITY,
            "Validation Failed: content",
        );
    };
    let mut st = s.lock();
    let name = full(&o, &r);
    if !matches!(st.comments.get(&id), Some((repo, _)) if *repo == name) {
        return not_found();
    }
    let existing = st.reactions.get(&id).and_then(|rs| {
        rs.iter()
            .find(|x| x.user == c.0 && x.content == content)
            .cloned()
    });
    let (status, reaction) = match existing {
        Some(x) => (StatusCode::OK, x),
        None => {
            let x = Reaction {
                id: st.id(),
                user: c.0.clone(),
                content: content.into(),
            };
            st.reactions.entry(id).or_default().push(x.clone());
            (StatusCode::CREATED, x)
        }
    };
    let v = json!({"id": reaction.id, "node_id": format!("REA_{}", reaction.id),
        "user": st.user_json(&reaction.user), "content": reaction.content, "created_at": now()});
    (status, axum::Json(v)).into_response()
}

async fn create_check_run(
    AxState(s): AxState<Shared>,
    Extension(c): Extension<Caller>,
    Path((o, r)): Path<(String, String)>,
    axum::Json(body): axum::Json<Value>,
) -> Response {
    let mut st = s.lock();
    if st.no_checks_write.contains(&c.0) {
        return error(
            StatusCode::FORBIDDEN,
            "Resource not accessible by integration",
        );
    }
    let (Some(name), Some(sha)) = (
        body.get("name").and_then(Value::as_str),
        body.get("head_sha").and_then(Value::as_str),
    ) else {
        return error(
            StatusCode::UNPROCESSABLE_ENTITY,
            "Validation Failed: name, head_sha",
        );
    };
    let actions = match check_actions(&body) {
        Ok(a) => a,
        Err(e) => return validation_failed(e),
    };
    let repo_name = full(&o, &r);
    let id = st.id();
    let mut run = CheckRun {
        id,
        name: name.into(),
        head_sha: sha.into(),
        status: "queued".into(),
        ..CheckRun::default_with(id)
    };
    apply_check_fields(&mut run, &body, actions);
    let Some(repo) = st.repos.get_mut(&repo_name) else {
        return not_found();
    };
    repo.check_runs.push(run.clone());
    created(st.check_run_json(&repo_name, &run))
}

impl CheckRun {
    fn default_with(id: u64) -> CheckRun {
        CheckRun {
            id,
            name: String::new(),
            head_sha: String::new(),
            status: "queued".into(),
            conclusion: None,
            title: None,
            summary: None,
            details_url: None,
            external_id: None,
            actions: Vec::new(),
        }
    }
}

/// GitHub's limits on a check run's `actions`.
const MAX_ACTIONS: usize = 3;
const MAX_ACTION_LABEL: usize = 20;
const MAX_ACTION_DESCRIPTION: usize = 40;
const MAX_ACTION_IDENTIFIER: usize = 20;

/// A 422 to answer: the field and GitHub's message for it.
struct Invalid(String, String);

fn invalid(field: &str, message: &str) -> Invalid {
    Invalid(field.into(), message.into())
}

fn validation_failed(Invalid(field, message): Invalid) -> Response {
    let body = json!({
        "message": "Validation Failed",
        "errors": [{"resource": "CheckRun", "code": "invalid", "field": field, "message": message}],
        "documentation_url": "https://docs.github.com/rest/checks/runs",
        "status": "422",
    });
    (StatusCode::UNPROCESSABLE_ENTITY, axum::Json(body)).into_response()
}

/// The `actions` of a check-run write: None when the body has none (an update keeps
/// the run's), else every action, or a 422 for GitHub's limits (at most 3; label ≤ 20,
/// description ≤ 40, identifier ≤ 20 characters; all three required).
fn check_actions(body: &Value) -> Result<Option<Vec<CheckAction>>, Invalid> {
    let Some(raw) = body.get("actions") else {
        return Ok(None);
    };
    let Some(list) = raw.as_array() else {
        return Err(invalid("actions", "actions is not an array"));
    };
    if list.len() > MAX_ACTIONS {
        return Err(invalid(
            "actions",
            "Only 3 actions may be specified per check run",
        ));
    }
    let mut out = Vec::with_capacity(list.len());
    for a in list {
        let field = |k: &str, max: usize| -> Result<String, Invalid> {
            match a.get(k).and_then(Value::as_str) {
                Some(v) if v.chars().count() <= max => Ok(v.to_string()),
                Some(_) => Err(invalid(
                    &format!("actions.{k}"),
                    &format!("{k} is too long (maximum is {max} characters)"),
                )),
                None => Err(invalid(
                    &format!("actions.{k}"),
                    &format!("{k} wasn't supplied"),
                )),
            }
        };
        out.push(CheckAction {
            label: field("label", MAX_ACTION_LABEL)?,
            description: field("description", MAX_ACTION_DESCRIPTION)?,
            identifier: field("identifier", MAX_ACTION_IDENTIFIER)?,
        });
    }
    Ok(Some(out))
}

fn apply_check_fields(run: &mut CheckRun, body: &Value, actions: Option<Vec<CheckAction>>) {
    if let Some(a) = actions {
        run.actions = a;
    }
    let s = |k: &str| body.get(k).and_then(Value::as_str).map(String::from);
    if let Some(v) = s("status") {
        run.status = v;
    }
    if let Some(v) = s("conclusion") {
        run.conclusion = Some(v);
        run.status = "completed".into();
    }
    if let Some(v) = s("details_url") {
        run.details_url = Some(v);
    }
    if let Some(v) = s("external_id") {
        run.external_id = Some(v);
    }
    if let Some(out) = body.get("output") {
        if let Some(v) = out.get("title").and_then(Value::as_str) {
            run.title = Some(v.into());
        }
        if let Some(v) = out.get("summary").and_then(Value::as_str) {
            run.summary = Some(v.into());
        }
    }
}

async fn update_check_run(
    AxState(s): AxState<Shared>,
    Extension(c): Extension<Caller>,
    Path((o, r, id)): Path<(String, String, u64)>,
    axum::Json(body): axum::Json<Value>,
) -> Response {
    let mut st = s.lock();
    if st.no_checks_write.contains(&c.0) {
        return error(
            StatusCode::FORBIDDEN,
            "Resource not accessible by integration",
        );
    }
    let actions = match check_actions(&body) {
        Ok(a) => a,
        Err(e) => return validation_failed(e),
    };
    let repo_name = full(&o, &r);
    let Some(run) = st
        .repos
        .get_mut(&repo_name)
        .and_then(|r| r.check_runs.iter_mut().find(|x| x.id == id))
    else {
        return not_found();
    };
    apply_check_fields(run, &body, actions);
    let run = run.clone();
    axum::Json(st.check_run_json(&repo_name, &run)).into_response()
}

async fn get_check_run(
    AxState(s): AxState<Shared>,
    Path((o, r, id)): Path<(String, String, u64)>,
) -> Response {
    let st = s.lock();
    let name = full(&o, &r);
    match st
        .repos
        .get(&name)
        .and_then(|r| r.check_runs.iter().find(|x| x.id == id))
    {
        Some(run) => axum::Json(st.check_run_json(&name, run)).into_response(),
        None => not_found(),
    }
}

/// `GET /repos/{o}/{r}/commits/{ref}/check-runs` (`ref` a full sha): `{total_count,
/// check_runs}`, newest first, with `check_name`, `status` and `filter` (`latest`, the
/// default, keeps the newest run of each name; `all` keeps every one) and
/// `per_page`/`page` with a `Link` header.
async fn list_check_runs(
    AxState(s): AxState<Shared>,
    Path((o, r, sha)): Path<(String, String, String)>,
    q: Q,
) -> Response {
    let st = s.lock();
    let name = full(&o, &r);
    let Some(repo) = st.repos.get(&name) else {
        return not_found();
    };
    let all = q.get("filter").map(String::as_str) == Some("all");
    let mut seen: Vec<&str> = Vec::new();
    let mut items = Vec::new();
    for run in repo.check_runs.iter().rev().filter(|c| c.head_sha == sha) {
        if !all {
            if seen.contains(&run.name.as_str()) {
                continue;
            }
            seen.push(&run.name);
        }
        if q.get("check_name").is_some_and(|n| *n != run.name)
            || q.get("status").is_some_and(|x| *x != run.status)
        {
            continue;
        }
        items.push(st.check_run_json(&name, run));
    }
    let total = items.len();
    let (page, link) = page_of(
        &st.base_url,
        &format!("/repos/{name}/commits/{sha}/check-runs"),
        &q,
        items,
    );
    let mut resp = axum::Json(json!({"total_count": total, "check_runs": page})).into_response();
    if let Some(v) = link {
        resp.headers_mut().insert(header::LINK, v);
    }
    resp
}

/// `POST /repos/{o}/{r}/actions/runs/{run_id}/rerun`: 201 `{}`, recorded; 403 for a
/// token without `actions: write`; 404 for an unknown repository. (Any run id of a
/// known repository is accepted: the stand-in keeps no workflow runs.)
async fn rerun_workflow(
    AxState(s): AxState<Shared>,
    Extension(c): Extension<Caller>,
    Path((o, r, run_id)): Path<(String, String, u64)>,
) -> Response {
    let mut st = s.lock();
    let repo = full(&o, &r);
    if !st.repos.contains_key(&repo) {
        return not_found();
    }
    if st.no_actions_write.contains(&c.0) {
        return error(
            StatusCode::FORBIDDEN,
            "Resource not accessible by integration",
        );
    }
    st.reruns.push(Rerun {
        repo,
        run_id,
        login: c.0.clone(),
        at: now(),
    });
    created(json!({}))
}

async fn create_status(
    AxState(s): AxState<Shared>,
    Extension(c): Extension<Caller>,
    Path((o, r, sha)): Path<(String, String, String)>,
    axum::Json(body): axum::Json<Value>,
) -> Response {
    let state = body.get("state").and_then(Value::as_str).unwrap_or("");
    if !["error", "failure", "pending", "success"].contains(&state) {
        return error(StatusCode::UNPROCESSABLE_ENTITY, "Validation Failed: state");
    }
    let s_ = |k: &str| body.get(k).and_then(Value::as_str).map(String::from);
    let mut st = s.lock();
    let repo_name = full(&o, &r);
    let status = CommitStatus {
        id: st.id(),
        sha,
        state: state.into(),
        context: s_("context").unwrap_or_else(|| "default".into()),
        description: s_("description"),
        target_url: s_("target_url"),
        creator: c.0.clone(),
    };
    let Some(repo) = st.repos.get_mut(&repo_name) else {
        return not_found();
    };
    repo.statuses.push(status.clone());
    created(st.status_json(&repo_name, &status))
}

async fn permission(
    AxState(s): AxState<Shared>,
    Path((o, r, u)): Path<(String, String, String)>,
) -> Response {
    let st = s.lock();
    let name = full(&o, &r);
    if !st.repos.contains_key(&name) || !st.users.contains_key(&u) {
        return not_found();
    }
    let (permission, role) = st.permission_of(&name, &u);
    axum::Json(json!({"permission": permission, "role_name": role, "user": st.user_json(&u)}))
        .into_response()
}

async fn membership(
    AxState(s): AxState<Shared>,
    Path((org, slug, u)): Path<(String, String, String)>,
) -> Response {
    let st = s.lock();
    match st.teams.get(&(org.clone(), slug.clone())) {
        Some(members) if members.contains(&u) => {
            let b = &st.base_url;
            axum::Json(json!({"state": "active", "role": "member",
                "url": format!("{b}/orgs/{org}/teams/{slug}/memberships/{u}")}))
            .into_response()
        }
        _ => not_found(),
    }
}

async fn contents(
    AxState(s): AxState<Shared>,
    Path((o, r, path)): Path<(String, String, String)>,
    q: Q,
) -> Response {
    let st = s.lock();
    let name = full(&o, &r);
    let Some(repo) = st.repos.get(&name) else {
        return not_found();
    };
    let git_ref = q
        .get("ref")
        .cloned()
        .unwrap_or_else(|| repo.default_branch.clone());
    match repo.contents.get(&(git_ref.clone(), path.clone())) {
        Some(bytes) => axum::Json(st.content_json(&name, &git_ref, &path, bytes)).into_response(),
        None => not_found(),
    }
}
