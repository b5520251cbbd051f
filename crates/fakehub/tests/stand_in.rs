//! The stand-in behaves like GitHub where jitaa depends on it: auth, JSON shapes,
//! ETags and 304s, Link pagination, rate-limit headers, faults, and the admin API.

use std::io::{Read, Write};

use fakehub::{FakeHub, Fault, PrSpec};
use serde_json::{Value, json};

async fn get(
    hub: &FakeHub,
    token: Option<&str>,
    path: &str,
    etag: Option<&str>,
) -> reqwest::Response {
    let mut rq = reqwest::Client::new().get(format!("{}{path}", hub.url()));
    if let Some(t) = token {
        rq = rq.header("authorization", format!("token {t}"));
    }
    if let Some(e) = etag {
        rq = rq.header("if-none-match", e);
    }
    rq.send().await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn auth_shapes_etags_links_and_rate_headers() {
    let hub = FakeHub::start().await;
    hub.add_repo("acme/api");
    let t = hub.add_user("alice", 7);
    let pr = hub.add_pr(
        "acme/api",
        PrSpec {
            author: "alice".into(),
            head_sha: "a".repeat(40),
            base_sha: "b".repeat(40),
            ..PrSpec::default()
        },
    );
    for i in 0..5 {
        hub.comment_as("alice", "acme/api", pr, &format!("c{i}"));
    }
    assert_eq!(
        get(&hub, None, "/repos/acme/api/pulls/1", None)
            .await
            .status(),
        401
    );
    assert_eq!(
        get(&hub, Some("nope"), "/repos/acme/api/pulls/1", None)
            .await
            .status(),
        401
    );

    let r = get(&hub, Some(&t), "/repos/acme/api/pulls/1", None).await;
    assert_eq!(r.status(), 200);
    let strong = r.headers()["etag"].to_str().unwrap().to_string();
    assert!(
        strong.starts_with('"'),
        "single objects get strong ETags: {strong}"
    );
    assert_eq!(r.headers()["x-ratelimit-remaining"], "4999");
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["head"]["sha"], "a".repeat(40));
    assert_eq!(v["base"]["ref"], "main");
    assert_eq!(v["user"]["login"], "alice");
    assert_eq!(v["user"]["id"], 7);

    let r = get(&hub, Some(&t), "/repos/acme/api/pulls/1", Some(&strong)).await;
    assert_eq!(r.status(), 304);
    assert_eq!(
        r.headers()["x-ratelimit-remaining"],
        "4999",
        "304s are free"
    );

    let r = get(
        &hub,
        Some(&t),
        &format!("/repos/acme/api/issues/{pr}/comments?per_page=2"),
        None,
    )
    .await;
    let weak = r.headers()["etag"].to_str().unwrap().to_string();
    assert!(weak.starts_with("W/\""), "lists get weak ETags: {weak}");
    let link = r.headers()["link"].to_str().unwrap().to_string();
    assert!(
        link.contains("page=2>; rel=\"next\"") && link.contains("page=3>; rel=\"last\""),
        "{link}"
    );
    assert!(link.contains(hub.url()), "absolute URLs, like GitHub");
    let page: Vec<Value> = r.json().await.unwrap();
    assert_eq!(page.len(), 2);
    assert_eq!(page[0]["body"], "c0");
    assert_eq!(page[0]["user"]["type"], "User");
    let r = get(
        &hub,
        Some(&t),
        &format!("/repos/acme/api/issues/{pr}/comments?per_page=2&page=3"),
        None,
    )
    .await;
    let link = r.headers()["link"].to_str().unwrap().to_string();
    assert!(
        !link.contains("rel=\"next\"") && link.contains("rel=\"prev\""),
        "{link}"
    );

    // a new comment changes the list's ETag
    hub.comment_as("alice", "acme/api", pr, "c5");
    let r = get(
        &hub,
        Some(&t),
        &format!("/repos/acme/api/issues/{pr}/comments?per_page=2"),
        Some(&weak),
    )
    .await;
    assert_eq!(r.status(), 304, "page 1 did not change");
    let r = get(
        &hub,
        Some(&t),
        &format!("/repos/acme/api/issues/{pr}/comments?per_page=2&page=3"),
        None,
    )
    .await;
    assert_eq!(r.json::<Vec<Value>>().await.unwrap()[1]["body"], "c5");

    let log = hub.requests();
    assert_eq!(log[0].status, 401);
    assert!(
        log.iter()
            .any(|r| r.status == 304 && r.header("if-none-match").is_some())
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn faults_fire_the_scheduled_number_of_times() {
    let hub = FakeHub::start().await;
    hub.add_repo("acme/api");
    let t = hub.add_user("alice", 1);
    hub.inject(Fault {
        status: 403,
        retry_after: Some(9),
        times: 2,
        ..Fault::default()
    });
    for _ in 0..2 {
        let r = get(&hub, Some(&t), "/repos/acme/api", None).await;
        assert_eq!(r.status(), 403);
        assert_eq!(r.headers()["retry-after"], "9");
        let v: Value = r.json().await.unwrap();
        assert!(
            v["message"]
                .as_str()
                .unwrap()
                .contains("secondary rate limit")
        );
    }
    assert_eq!(
        get(&hub, Some(&t), "/repos/acme/api", None).await.status(),
        200
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_admin_api_seeds_and_acts() {
    let hub = FakeHub::start().await;
    let http = reqwest::Client::new();
    let seed = json!({
        "users": [{"login": "alice", "id": 1}, {"login": "bob", "id": 2}],
        "repos": ["acme/api"],
        "permissions": [{"repo": "acme/api", "login": "bob", "role": "maintain"}],
        "teams": [{"org": "acme", "slug": "sre", "members": ["bob"]}],
        "prs": [{"repo": "acme/api", "author": "alice", "head_sha": "h", "base_sha": "b", "files": ["x"]}],
        "files": [{"repo": "acme/api", "ref": "main", "path": "CODEOWNERS", "content": "* @bob\n"}]
    });
    let r = http
        .post(format!("{}/_fakehub/seed", hub.url()))
        .json(&seed)
        .send()
        .await
        .unwrap();
    let tokens: Value = r.json().await.unwrap();
    let bob = tokens["tokens"]["bob"].as_str().unwrap().to_string();
    let r = http
        .post(format!("{}/_fakehub/comment", hub.url()))
        .json(&json!({"login": "bob", "repo": "acme/api", "issue": 1, "body": "/approve"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    assert_eq!(hub.comments("acme/api", 1)[0].body, "/approve");
    let r = http
        .post(format!("{}/_fakehub/review", hub.url()))
        .json(&json!({"login": "bob", "repo": "acme/api", "pr": 1, "state": "APPROVED"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let v: Value = get(
        &hub,
        Some(&bob),
        "/repos/acme/api/collaborators/bob/permission",
        None,
    )
    .await
    .json()
    .await
    .unwrap();
    assert_eq!(
        (v["permission"].as_str(), v["role_name"].as_str()),
        (Some("write"), Some("maintain"))
    );
    assert_eq!(
        get(
            &hub,
            Some(&bob),
            "/orgs/acme/teams/sre/memberships/bob",
            None
        )
        .await
        .status(),
        200
    );
    assert_eq!(
        get(
            &hub,
            Some(&bob),
            "/orgs/acme/teams/sre/memberships/alice",
            None
        )
        .await
        .status(),
        404
    );
    let v: Value = get(&hub, Some(&bob), "/repos/acme/api/pulls/1/reviews", None)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(v[0]["commit_id"], "h");
    let bad = http
        .post(format!("{}/_fakehub/seed", hub.url()))
        .body("{\"nope\": 1}")
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), 422);
    let env = hub.env();
    assert!(
        env.iter()
            .any(|(k, v)| k == "GITHUB_API_URL" && v == hub.url())
    );
    assert!(env.iter().any(|(k, v)| k == "ACTIONS_ID_TOKEN_REQUEST_URL"
        && v.ends_with("/_actions/token?api-version=2.0")));
}

#[test]
fn a_blocking_start_serves_from_its_own_thread() {
    let hub = FakeHub::start_blocking();
    hub.add_repo("acme/api");
    let t = hub.add_user("alice", 1);
    let addr = hub.url().trim_start_matches("http://").to_string();
    let mut s = std::net::TcpStream::connect(&addr).unwrap();
    write!(s, "GET /repos/acme/api HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {t}\r\nConnection: close\r\n\r\n").unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    assert!(out.starts_with("HTTP/1.1 200"), "{out}");
    assert!(out.contains("\"default_branch\":\"main\""), "{out}");
    drop(hub);
}

async fn send(
    hub: &FakeHub,
    method: reqwest::Method,
    token: &str,
    path: &str,
    body: Option<Value>,
) -> (u16, Value, reqwest::header::HeaderMap) {
    let mut rq = reqwest::Client::new()
        .request(method, format!("{}{path}", hub.url()))
        .header("authorization", format!("Bearer {token}"));
    if let Some(b) = body {
        rq = rq.json(&b);
    }
    let r = rq.send().await.unwrap();
    let status = r.status().as_u16();
    let headers = r.headers().clone();
    let text = r.text().await.unwrap();
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::Null),
        headers,
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reruns_are_recorded_refused_and_listed() {
    let hub = FakeHub::start().await;
    hub.add_repo("acme/api");
    let bot = hub.add_bot("github-actions[bot]", 41898282);
    let bob = hub.add_user("bob", 2);
    hub.deny_actions_write("bob");
    let post = reqwest::Method::POST;

    // no body at all, as octocrab and curl send it
    let (status, body, _) = send(
        &hub,
        post.clone(),
        &bot,
        "/repos/acme/api/actions/runs/42/rerun",
        None,
    )
    .await;
    assert_eq!((status, body), (201, json!({})));
    let (status, _, _) = send(
        &hub,
        post.clone(),
        &bot,
        "/repos/acme/api/actions/runs/43/rerun",
        Some(json!({"enable_debug_logging": false})),
    )
    .await;
    assert_eq!(status, 201);

    let (status, body, _) = send(
        &hub,
        post.clone(),
        &bob,
        "/repos/acme/api/actions/runs/44/rerun",
        None,
    )
    .await;
    assert_eq!(status, 403);
    assert_eq!(body["message"], "Resource not accessible by integration");
    let (status, _, _) = send(
        &hub,
        post.clone(),
        &bot,
        "/repos/acme/nope/actions/runs/45/rerun",
        None,
    )
    .await;
    assert_eq!(status, 404);

    assert_eq!(hub.reruns("acme/api"), vec![42, 43]);
    assert!(hub.reruns("acme/nope").is_empty());
    let log: Value = reqwest::get(format!("{}/_fakehub/reruns", hub.url()))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let log = log.as_array().unwrap();
    assert_eq!(log.len(), 2);
    assert_eq!(log[0]["repo"], "acme/api");
    assert_eq!(log[0]["run_id"], 42);
    assert_eq!(log[0]["login"], "github-actions[bot]");
    assert!(log[0]["at"].as_str().unwrap().ends_with('Z'));
    assert_eq!(hub.rerun_log()[1].run_id, 43);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn check_runs_carry_actions_and_can_be_looked_up() {
    let hub = FakeHub::start().await;
    hub.add_repo("acme/api");
    let t = hub.add_bot("github-actions[bot]", 41898282);
    let sha = "a".repeat(40);
    let other_sha = "b".repeat(40);
    let (post, patch, get_) = (
        reqwest::Method::POST,
        reqwest::Method::PATCH,
        reqwest::Method::GET,
    );
    let approve = json!({"label": "Approve", "description": "Approve this deployment", "identifier": "approve"});
    let deny = json!({"label": "Deny", "description": "Deny it", "identifier": "deny"});

    let (status, run, _) = send(
        &hub,
        post.clone(),
        &t,
        "/repos/acme/api/check-runs",
        Some(
            json!({"name": "jitaa", "head_sha": sha, "status": "in_progress",
            "external_id": "req-7", "actions": [approve, deny]}),
        ),
    )
    .await;
    assert_eq!(status, 201);
    assert_eq!(run["actions"], json!([approve, deny]));
    assert_eq!(run["external_id"], "req-7");
    let id = run["id"].as_u64().unwrap();
    let stored = &hub.check_runs("acme/api", &sha)[0];
    assert_eq!(stored.actions.len(), 2);
    assert_eq!(stored.actions[1].identifier, "deny");

    // GitHub's limits: at most 3 actions; label ≤ 20, description ≤ 40, identifier ≤ 20.
    let too_many = json!([approve, deny, approve, deny]);
    let long = |k: &str, n: usize| {
        let mut a = approve.clone();
        a[k] = json!("x".repeat(n));
        json!([a])
    };
    for bad in [
        too_many,
        long("label", 21),
        long("description", 41),
        long("identifier", 21),
        json!([{"label": "Approve", "description": "d"}]),
        json!("approve"),
    ] {
        let (status, body, _) = send(
            &hub,
            post.clone(),
            &t,
            "/repos/acme/api/check-runs",
            Some(json!({"name": "jitaa", "head_sha": other_sha, "actions": bad})),
        )
        .await;
        assert_eq!(status, 422, "{bad}");
        assert_eq!(body["message"], "Validation Failed");
        let (status, _, _) = send(
            &hub,
            patch.clone(),
            &t,
            &format!("/repos/acme/api/check-runs/{id}"),
            Some(json!({"actions": bad, "conclusion": "success"})),
        )
        .await;
        assert_eq!(status, 422, "{bad}");
    }
    // the limits themselves are fine
    let (status, _, _) = send(
        &hub,
        post.clone(),
        &t,
        "/repos/acme/api/check-runs",
        Some(json!({"name": "limits", "head_sha": other_sha, "actions": [
            long("label", 20)[0], long("description", 40)[0], long("identifier", 20)[0]]})),
    )
    .await;
    assert_eq!(status, 201);
    assert!(
        hub.check_runs("acme/api", &other_sha).len() == 1,
        "422s store nothing"
    );
    let unchanged = &hub.check_runs("acme/api", &sha)[0];
    assert_eq!(
        (unchanged.status.as_str(), unchanged.actions.len()),
        ("in_progress", 2)
    );

    // a PATCH without actions keeps them; one with actions replaces them
    let (status, run, _) = send(
        &hub,
        patch.clone(),
        &t,
        &format!("/repos/acme/api/check-runs/{id}"),
        Some(json!({"output": {"title": "Waiting", "summary": "s"}})),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(run["actions"], json!([approve, deny]));
    let (_, run, _) = send(
        &hub,
        patch.clone(),
        &t,
        &format!("/repos/acme/api/check-runs/{id}"),
        Some(json!({"actions": [], "conclusion": "success"})),
    )
    .await;
    assert_eq!(run["actions"], json!([]));
    assert_eq!(run["status"], "completed");
    assert_eq!(run["conclusion"], "success");

    let (status, run, headers) = send(
        &hub,
        get_.clone(),
        &t,
        &format!("/repos/acme/api/check-runs/{id}"),
        None,
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(run["id"], id);
    assert_eq!(run["external_id"], "req-7");
    assert_eq!(run["output"]["title"], "Waiting");
    assert!(headers["etag"].to_str().unwrap().starts_with('"'));
    let (status, _, _) = send(&hub, get_.clone(), &t, "/repos/acme/api/check-runs/1", None).await;
    assert_eq!(status, 404);
    let (status, _, _) = send(
        &hub,
        get_.clone(),
        &t,
        &format!("/repos/acme/nope/check-runs/{id}"),
        None,
    )
    .await;
    assert_eq!(status, 404);

    // list for a commit: newest first, the latest run of each name unless filter=all
    let mut second = 0;
    for name in ["jitaa", "lint"] {
        let (_, run, _) = send(
            &hub,
            post.clone(),
            &t,
            "/repos/acme/api/check-runs",
            Some(json!({"name": name, "head_sha": sha})),
        )
        .await;
        if name == "jitaa" {
            second = run["id"].as_u64().unwrap();
        }
    }
    let list = |q: &'static str| {
        let hub = &hub;
        let t = &t;
        let sha = &sha;
        let get_ = get_.clone();
        async move {
            send(
                hub,
                get_,
                t,
                &format!("/repos/acme/api/commits/{sha}/check-runs{q}"),
                None,
            )
            .await
        }
    };
    let (status, v, _) = list("").await;
    assert_eq!(status, 200);
    assert_eq!(v["total_count"], 2);
    let names: Vec<&str> = v["check_runs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["lint", "jitaa"]);
    assert_eq!(v["check_runs"][1]["id"], second, "the newest jitaa run");
    let (_, v, _) = list("?filter=all").await;
    assert_eq!(v["total_count"], 3);
    let (_, v, _) = list("?check_name=jitaa&filter=all").await;
    assert_eq!(v["total_count"], 2);
    assert_eq!(v["check_runs"][1]["id"], id);
    assert_eq!(v["check_runs"][1]["actions"], json!([]));
    let (_, v, _) = list("?check_name=nope").await;
    assert_eq!(v, json!({"total_count": 0, "check_runs": []}));
    let (_, v, headers) = list("?filter=all&per_page=2").await;
    assert_eq!(v["total_count"], 3, "total_count counts every page");
    assert_eq!(v["check_runs"].as_array().unwrap().len(), 2);
    let link = headers["link"].to_str().unwrap();
    assert!(
        link.contains(&format!(
            "{}/repos/acme/api/commits/{sha}/check-runs?filter=all&per_page=2&page=2>; rel=\"next\"",
            hub.url()
        )),
        "{link}"
    );
    let (_, v, headers) = list("?filter=all&per_page=2&page=2").await;
    assert_eq!(v["check_runs"].as_array().unwrap().len(), 1);
    assert!(headers["link"].to_str().unwrap().contains("rel=\"prev\""));
    let (status, _, _) = send(
        &hub,
        get_.clone(),
        &t,
        &format!("/repos/acme/nope/commits/{sha}/check-runs"),
        None,
    )
    .await;
    assert_eq!(status, 404);
}

/// Every key of `fixture` is in `made`, recursively (arrays: their first elements).
fn assert_shape(fixture: &Value, made: &Value, path: &str) {
    match (fixture, made) {
        (Value::Object(f), Value::Object(m)) => {
            for (k, v) in f {
                let Some(mv) = m.get(k) else {
                    panic!("{path}.{k} is missing");
                };
                if !v.is_null() && !mv.is_null() {
                    assert_shape(v, mv, &format!("{path}.{k}"));
                }
            }
        }
        (Value::Array(f), Value::Array(m)) => {
            if let (Some(f), Some(m)) = (f.first(), m.first()) {
                assert_shape(f, m, &format!("{path}[0]"));
            }
        }
        (f, m) => assert_eq!(
            std::mem::discriminant(f),
            std::mem::discriminant(m),
            "{path}: {f} vs {m}"
        ),
    }
}

const ISSUE_COMMENT_FIXTURE: &str = include_str!("../src/events/issue_comment.created.json");
const CHECK_RUN_FIXTURE: &str = include_str!("../src/events/check_run.requested_action.json");
const REVIEW_FIXTURE: &str = include_str!("../src/events/pull_request_review.submitted.json");

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn event_payloads_have_githubs_shape() {
    use fakehub::{User, events};
    let hub = FakeHub::start().await;
    hub.add_repo("acme/api");
    hub.add_user("alice", 7);
    hub.add_user("bob", 8);
    hub.set_permission("acme/api", "bob", "write");
    let head = "a".repeat(40);
    let pr = hub.add_pr(
        "acme/api",
        PrSpec {
            author: "alice".into(),
            title: "Ship it".into(),
            head_sha: head.clone(),
            base_sha: "b".repeat(40),
            ..PrSpec::default()
        },
    );
    let issue = hub.open_issue("alice", "acme/api", "Deploy?", "please");
    let on_pr = hub.comment_as("bob", "acme/api", pr, "/approve").unwrap();
    let on_issue = hub.comment_as("bob", "acme/api", issue, "/deny").unwrap();
    let fixture: Value = serde_json::from_str(ISSUE_COMMENT_FIXTURE).unwrap();

    let v = hub.issue_comment_event("acme/api", &on_pr).unwrap();
    assert_shape(&fixture, &v, "issue_comment");
    assert_eq!(v["action"], "created");
    assert_eq!(v["issue"]["number"], pr);
    assert_eq!(
        v["issue"]["pull_request"]["url"],
        format!("https://api.github.com/repos/acme/api/pulls/{pr}")
    );
    assert_eq!(v["issue"]["user"]["login"], "alice");
    assert_eq!(v["issue"]["user"]["id"], 7);
    assert_eq!(v["issue"]["title"], "Ship it");
    assert_eq!(v["comment"]["id"], on_pr.id);
    assert_eq!(v["comment"]["body"], "/approve");
    assert_eq!(v["comment"]["user"], json!(v["sender"]));
    assert_eq!(
        (
            &v["sender"]["login"],
            &v["sender"]["id"],
            &v["sender"]["type"]
        ),
        (&json!("bob"), &json!(8), &json!("User"))
    );
    assert_eq!(v["comment"]["created_at"], on_pr.created_at);
    assert_eq!(v["comment"]["updated_at"], on_pr.updated_at);
    assert_eq!(v["comment"]["author_association"], "COLLABORATOR");
    assert!(
        v["comment"]["html_url"]
            .as_str()
            .unwrap()
            .ends_with(&format!("/acme/api/pull/{pr}#issuecomment-{}", on_pr.id))
    );
    assert_eq!(v["repository"]["full_name"], "acme/api");
    assert_eq!(v["repository"]["name"], "api");
    assert_eq!(v["repository"]["owner"]["login"], "acme");
    assert!(!v.to_string().contains("Codertocat/Hello-World"));

    let v = hub.issue_comment_event("acme/api", &on_issue).unwrap();
    assert!(v["issue"].get("pull_request").is_none());
    assert_eq!(v["issue"]["number"], issue);
    // the plain function, for a comment the stand-in never saw
    let alice = User {
        login: "alice".into(),
        id: 7,
        kind: "User".into(),
    };
    let v = events::issue_comment("acme/api", 5, true, &on_issue, &alice);
    assert_shape(&fixture, &v, "issue_comment");
    assert_eq!(v["issue"]["number"], 5);
    assert!(v["issue"]["pull_request"]["url"].is_string());
    assert_eq!(v["sender"]["login"], "alice");

    // check_run.requested_action
    let t = hub.add_bot("github-actions[bot]", 41898282);
    let (_, run, _) = send(
        &hub,
        reqwest::Method::POST,
        &t,
        "/repos/acme/api/check-runs",
        Some(
            json!({"name": "jitaa", "head_sha": head, "status": "in_progress",
            "external_id": "req-1",
            "actions": [{"label": "Approve", "description": "d", "identifier": "approve"}]}),
        ),
    )
    .await;
    let id = run["id"].as_u64().unwrap();
    let fixture: Value = serde_json::from_str(CHECK_RUN_FIXTURE).unwrap();
    let v = hub
        .check_run_requested_action_event("acme/api", id, "approve", "bob")
        .unwrap();
    assert_shape(&fixture, &v, "check_run");
    assert_eq!(v["action"], "requested_action");
    assert_eq!(v["requested_action"], json!({"identifier": "approve"}));
    let cr = &v["check_run"];
    assert_eq!(cr["id"], id);
    assert_eq!(cr["head_sha"], head);
    assert_eq!(cr["external_id"], "req-1");
    assert_eq!(cr["name"], "jitaa");
    assert_eq!(cr["status"], "in_progress");
    assert_eq!(cr["conclusion"], Value::Null);
    assert_eq!(cr["app"]["id"], run["app"]["id"], "the checks API's app");
    assert_eq!(cr["app"]["slug"], run["app"]["slug"]);
    assert_eq!(cr["pull_requests"][0]["number"], pr);
    assert_eq!(cr["pull_requests"][0]["head"]["sha"], head);
    assert_eq!(cr["pull_requests"][0]["base"]["ref"], "main");
    assert_eq!(
        (&v["sender"]["login"], &v["sender"]["id"]),
        (&json!("bob"), &json!(8))
    );
    assert_eq!(v["repository"]["full_name"], "acme/api");
    assert_eq!(v["organization"]["login"], "acme");
    assert!(
        hub.check_run_requested_action_event("acme/api", 1, "x", "bob")
            .is_none()
    );
    let check = &hub.check_runs("acme/api", &head)[0];
    let v = events::check_run_requested_action("acme/api", check, "deny", "carol", 9);
    assert_eq!(v["requested_action"]["identifier"], "deny");
    assert_eq!(v["check_run"]["pull_requests"], json!([]));
    assert_eq!(v["sender"]["id"], 9);

    // pull_request_review.submitted
    let review = hub
        .review_as("bob", "acme/api", pr, "APPROVED", None)
        .unwrap();
    let fixture: Value = serde_json::from_str(REVIEW_FIXTURE).unwrap();
    let v = hub
        .pull_request_review_event("acme/api", pr, &review)
        .unwrap();
    assert_shape(&fixture, &v, "pull_request_review");
    assert_eq!(v["action"], "submitted");
    assert_eq!(v["review"]["id"], review.id);
    assert_eq!(v["review"]["state"], "approved");
    assert_eq!(v["review"]["commit_id"], head);
    assert_eq!(v["review"]["user"]["login"], "bob");
    assert_eq!(v["pull_request"]["number"], pr);
    assert_eq!(v["pull_request"]["head"]["sha"], head);
    assert_eq!(v["pull_request"]["head"]["ref"], "feature");
    assert_eq!(v["pull_request"]["base"]["sha"], "b".repeat(40));
    assert_eq!(v["pull_request"]["base"]["ref"], "main");
    assert_eq!(v["pull_request"]["user"]["login"], "alice");
    assert_eq!(v["sender"]["login"], "bob");

    // workflow_run.completed (no template: GitHub's documented shape)
    let v = events::workflow_run_completed(
        "acme/api",
        777,
        "Deploy",
        ".github/workflows/deploy.yml",
        "pull_request",
        &head,
        "feature",
        &[(pr, &head, "main")],
    );
    assert_eq!(v["action"], "completed");
    let wr = &v["workflow_run"];
    assert_eq!(wr["id"], 777);
    assert_eq!(wr["name"], "Deploy");
    assert_eq!(wr["path"], ".github/workflows/deploy.yml");
    assert_eq!(wr["event"], "pull_request");
    assert_eq!(
        (&wr["status"], &wr["conclusion"]),
        (&json!("completed"), &json!("success"))
    );
    assert_eq!(wr["head_sha"], head);
    assert_eq!(wr["head_branch"], "feature");
    assert_eq!(wr["pull_requests"][0]["number"], pr);
    assert_eq!(
        wr["pull_requests"][0]["head"],
        json!({"sha": head, "ref": "feature",
        "repo": wr["pull_requests"][0]["head"]["repo"]})
    );
    assert_eq!(wr["pull_requests"][0]["base"]["ref"], "main");
    assert_eq!(wr["repository"]["full_name"], "acme/api");
    assert_eq!(v["workflow"]["path"], ".github/workflows/deploy.yml");
    assert_eq!(v["workflow"]["name"], "Deploy");
    assert_eq!(v["repository"]["full_name"], "acme/api");

    // an event file for GITHUB_EVENT_PATH
    let path = std::env::temp_dir().join(format!("fakehub-event-{}.json", std::process::id()));
    FakeHub::write_event(&path, &v).unwrap();
    let back: Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    std::fs::remove_file(&path).unwrap();
    assert_eq!(back, v);
}

fn claims_of(jwt: &str) -> Value {
    use base64::Engine;
    let part = jwt.split('.').nth(1).unwrap();
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(part)
        .unwrap();
    serde_json::from_slice(&bytes).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_run_request_token_mints_its_own_claims() {
    let hub = FakeHub::start().await;
    let deploy = hub.env_for_run(json!({
        "run_id": "1001", "event_name": "push", "workflow": "Deploy"}));
    let decide = hub.env_for_run(json!({
        "run_id": "2002", "event_name": "issue_comment", "workflow": "Decide",
        "workflow_ref": "acme/api/.github/workflows/decide.yml@refs/heads/main",
        "repository_owner": "acme-two", "ref_protected": null}));
    let var = |env: &[(String, String)], k: &str| {
        env.iter()
            .find(|(n, _)| n == k)
            .map(|(_, v)| v.clone())
            .unwrap()
    };
    let shared = hub.env();
    for k in [
        "GITHUB_API_URL",
        "JITAA_OIDC_ISSUER",
        "ACTIONS_ID_TOKEN_REQUEST_URL",
    ] {
        assert_eq!(var(&deploy, k), var(&shared, k));
    }
    let tokens: Vec<String> = [&deploy, &decide, &shared]
        .iter()
        .map(|e| var(e, "ACTIONS_ID_TOKEN_REQUEST_TOKEN"))
        .collect();
    assert_ne!(tokens[0], tokens[1]);
    assert_ne!(tokens[0], tokens[2]);
    assert_eq!(tokens[2], hub.oidc().request_token());

    // claims set for everyone still apply beneath a run's own
    hub.oidc()
        .set_claims(json!({"environment": "production", "workflow": "Global"}));
    let http = reqwest::Client::new();
    let mint = |token: String, audience: Option<&'static str>| {
        let http = http.clone();
        let url = var(&shared, "ACTIONS_ID_TOKEN_REQUEST_URL");
        async move {
            let url = match audience {
                Some(a) => format!("{url}&audience={a}"),
                None => url,
            };
            let r = http
                .get(url)
                .header("authorization", format!("Bearer {token}"))
                .send()
                .await
                .unwrap();
            let status = r.status().as_u16();
            let v: Value = r.json().await.unwrap();
            (status, v)
        }
    };
    // interleaved, as two processes running at once would ask
    let (a, b, c) = tokio::join!(
        mint(tokens[0].clone(), Some("jitaa")),
        mint(tokens[1].clone(), None),
        mint(tokens[2].clone(), Some("jitaa")),
    );
    for (status, _) in [&a, &b, &c] {
        assert_eq!(*status, 200);
    }
    let (a, b, c) = (
        claims_of(a.1["value"].as_str().unwrap()),
        claims_of(b.1["value"].as_str().unwrap()),
        claims_of(c.1["value"].as_str().unwrap()),
    );
    assert_eq!(
        (a["run_id"].as_str(), a["workflow"].as_str()),
        (Some("1001"), Some("Deploy"))
    );
    assert_eq!(
        (b["run_id"].as_str(), b["workflow"].as_str()),
        (Some("2002"), Some("Decide"))
    );
    assert_eq!(b["event_name"], "issue_comment");
    assert!(b.get("ref_protected").is_none(), "null removes a claim");
    assert_eq!(
        b["aud"], "https://github.com/acme-two",
        "the run's owner is the default audience"
    );
    assert_eq!(a["aud"], "jitaa");
    assert_eq!(
        c["run_id"], "10685993555",
        "the shared token keeps the template"
    );
    assert_eq!(c["workflow"], "Global");
    for x in [&a, &b, &c] {
        assert_eq!(x["environment"], "production");
        assert_eq!(x["iss"], hub.url());
    }
    assert_ne!(a["jti"], b["jti"]);
    let (status, _) = mint("not-a-request-token".into(), None).await;
    assert_eq!(status, 401);
    // the issuer's own API mints with the template, as before
    assert_eq!(
        claims_of(&hub.oidc().mint("jitaa"))["run_id"],
        "10685993555"
    );
}
