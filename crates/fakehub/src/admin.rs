//! The admin API under `/_fakehub/`, so a demo script can seed the stand-in and act as
//! users over HTTP (no auth: it is a loopback test server).
//!
//! - `POST /_fakehub/seed` `{users, repos, permissions, teams, prs, files}` → `{tokens}`
//! - `POST /_fakehub/comment` `{login, repo, issue, body}`
//! - `POST /_fakehub/edit` `{id, body}`
//! - `POST /_fakehub/review` `{login, repo, pr, state, commit_id?}`
//! - `POST /_fakehub/fault` a [`Fault`]
//! - `GET /_fakehub/requests`, `GET /_fakehub/comments?repo=R&issue=N`
//! - `GET /_fakehub/reruns` → `[{repo, run_id, login, at}]`, the accepted workflow re-runs

use std::collections::{BTreeMap, HashMap};

use axum::Router;
use axum::extract::{Query, State as AxState};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::Shared;
use crate::state::{Fault, PrSpec, User};

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct Seed {
    #[serde(default)]
    pub users: Vec<User>,
    #[serde(default)]
    pub repos: Vec<String>,
    #[serde(default)]
    pub permissions: Vec<SeedPermission>,
    #[serde(default)]
    pub teams: Vec<SeedTeam>,
    #[serde(default)]
    pub prs: Vec<SeedPr>,
    #[serde(default)]
    pub files: Vec<SeedFile>,
}

#[derive(Debug, Deserialize)]
pub struct SeedPermission {
    pub repo: String,
    pub login: String,
    pub role: String,
}

#[derive(Debug, Deserialize)]
pub struct SeedTeam {
    pub org: String,
    pub slug: String,
    pub members: Vec<String>,
}

#[derive(Debug, Deserialize)]
pub struct SeedPr {
    pub repo: String,
    #[serde(flatten)]
    pub spec: PrSpec,
}

#[derive(Debug, Deserialize)]
pub struct SeedFile {
    pub repo: String,
    #[serde(rename = "ref")]
    pub git_ref: String,
    pub path: String,
    pub content: String,
}

#[derive(Debug, Deserialize)]
struct Act {
    login: String,
    repo: String,
    #[serde(alias = "pr")]
    issue: u64,
    #[serde(default)]
    body: String,
    #[serde(default)]
    state: Option<String>,
    #[serde(default)]
    commit_id: Option<String>,
}

pub fn router(shared: Shared) -> Router {
    Router::new()
        .route("/_fakehub/seed", post(seed))
        .route("/_fakehub/comment", post(comment))
        .route("/_fakehub/edit", post(edit))
        .route("/_fakehub/review", post(review))
        .route("/_fakehub/fault", post(fault))
        .route("/_fakehub/requests", get(requests))
        .route("/_fakehub/comments", get(comments))
        .route("/_fakehub/reruns", get(reruns))
        .with_state(shared)
}

/// Applies a seed to the world; returns each user's token.
pub fn apply_seed(shared: &Shared, seed: Seed) -> BTreeMap<String, String> {
    let mut st = shared.lock();
    let mut tokens = BTreeMap::new();
    for u in seed.users {
        let t = st.add_user(&u.login, u.id, &u.kind);
        tokens.insert(u.login, t);
    }
    for r in seed.repos {
        st.add_repo(&r);
    }
    for p in seed.permissions {
        if let Some(r) = st.repos.get_mut(&p.repo) {
            r.roles.insert(p.login, p.role);
        }
    }
    for t in seed.teams {
        st.teams.insert((t.org, t.slug), t.members);
    }
    for p in seed.prs {
        st.add_pr(&p.repo, p.spec);
    }
    for f in seed.files {
        if let Some(r) = st.repos.get_mut(&f.repo) {
            r.contents
                .insert((f.git_ref, f.path), f.content.into_bytes());
        }
    }
    tokens
}

fn bad(msg: String) -> Response {
    (
        StatusCode::UNPROCESSABLE_ENTITY,
        axum::Json(json!({"message": msg})),
    )
        .into_response()
}

async fn seed(AxState(s): AxState<Shared>, body: String) -> Response {
    match serde_json::from_str::<Seed>(&body) {
        Ok(seed) => axum::Json(json!({"tokens": apply_seed(&s, seed)})).into_response(),
        Err(e) => bad(format!("seed: {e}")),
    }
}

async fn comment(AxState(s): AxState<Shared>, axum::Json(a): axum::Json<Act>) -> Response {
    let mut st = s.lock();
    match st.add_comment(&a.repo, a.issue, &a.login, &a.body) {
        Some(c) => (
            StatusCode::CREATED,
            axum::Json(st.comment_json(&a.repo, &c)),
        )
            .into_response(),
        None => bad(format!("no issue {}#{}", a.repo, a.issue)),
    }
}

async fn edit(AxState(s): AxState<Shared>, axum::Json(v): axum::Json<Value>) -> Response {
    let (Some(id), Some(body)) = (
        v.get("id").and_then(Value::as_u64),
        v.get("body").and_then(Value::as_str),
    ) else {
        return bad("edit needs {id, body}".into());
    };
    let mut st = s.lock();
    match st.edit_comment(id, body) {
        Some(c) => {
            let repo = st
                .comments
                .get(&id)
                .map(|(r, _)| r.clone())
                .unwrap_or_default();
            axum::Json(st.comment_json(&repo, &c)).into_response()
        }
        None => bad(format!("no comment {id}")),
    }
}

async fn review(AxState(s): AxState<Shared>, axum::Json(a): axum::Json<Act>) -> Response {
    let mut st = s.lock();
    let state = a.state.as_deref().unwrap_or("APPROVED");
    match st.add_review(&a.repo, a.issue, &a.login, state, a.commit_id.as_deref()) {
        Some(r) => (
            StatusCode::CREATED,
            axum::Json(st.review_json(&a.repo, a.issue, &r)),
        )
            .into_response(),
        None => bad(format!("no pull request {}#{}", a.repo, a.issue)),
    }
}

async fn fault(AxState(s): AxState<Shared>, axum::Json(f): axum::Json<Fault>) -> Response {
    s.lock().faults.push(f);
    StatusCode::NO_CONTENT.into_response()
}

async fn requests(AxState(s): AxState<Shared>) -> Response {
    axum::Json(json!(s.lock().requests)).into_response()
}

async fn reruns(AxState(s): AxState<Shared>) -> Response {
    axum::Json(json!(s.lock().reruns)).into_response()
}

async fn comments(
    AxState(s): AxState<Shared>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let (Some(repo), Some(issue)) = (
        q.get("repo"),
        q.get("issue").and_then(|n| n.parse::<u64>().ok()),
    ) else {
        return bad("comments needs ?repo=R&issue=N".into());
    };
    let st = s.lock();
    let list: Vec<Value> = st
        .repos
        .get(repo)
        .and_then(|r| r.issues.get(&issue))
        .map(|i| {
            i.comments
                .iter()
                .filter_map(|id| st.comments.get(id))
                .map(|(_, c)| st.comment_json(repo, c))
                .collect()
        })
        .unwrap_or_default();
    axum::Json(Value::Array(list)).into_response()
}
