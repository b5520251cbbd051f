//! The GitHub layer parses every relevant recorded response and webhook payload in
//! tests/data/github, a copy of ../shared/fixtures/github (REST extracts, VCR cassettes,
//! octokit fixtures, webhooks; sources in its SOURCES.md),
//! and rejects the two invalid check-run bodies cleanly.

use std::path::PathBuf;

use base64::Engine;
use jitaa::exit::Code;
use jitaa::github::types::parse;
use jitaa::github::*;
use serde_json::Value;

fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data/github")
}

fn read(rel: &str) -> String {
    let p = fixtures().join(rel);
    std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

/// (body text, raw) of a rest/ extract: the JSON body, or `body_raw` when it was invalid.
fn rest_body(name: &str) -> (Option<String>, Option<String>) {
    let v: Value = serde_json::from_str(&read(&format!("rest/{name}.json"))).unwrap();
    let r = &v["response"];
    let body = (!r["body"].is_null()).then(|| r["body"].to_string());
    (body, r["body_raw"].as_str().map(String::from))
}

/// The response body of the cassette interaction whose URI ends with `suffix`.
fn cassette_body(name: &str, method: &str, suffix: &str) -> String {
    let v: Value =
        serde_json::from_str(&read(&format!("vcr-octokit-rb/{name}.cassette.json"))).unwrap();
    let it = v["http_interactions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| {
            i["request"]["method"] == method
                && i["request"]["uri"].as_str().unwrap().ends_with(suffix)
        })
        .unwrap_or_else(|| panic!("{name}: no {method} …{suffix}"));
    let b = &it["response"]["body"];
    if let Some(s) = b["string"].as_str() {
        return s.to_string();
    }
    let raw = base64::engine::general_purpose::STANDARD
        .decode(b["base64_string"].as_str().unwrap().replace('\n', ""))
        .unwrap();
    String::from_utf8(raw).unwrap()
}

#[test]
fn rest_extracts_and_cassettes_parse_into_the_typed_results() {
    for body in [
        rest_body("issues.list-comments").0.unwrap(),
        cassette_body("issues.list-comments", "get", "/issues/25/comments"),
    ] {
        let comments: Vec<Comment> = parse("list comments", &body).unwrap();
        assert!(comments.len() > 1);
        assert_eq!(comments[0].id, 1194549);
        assert_eq!(comments[0].author.login, "catsby");
        assert!(!comments[0].author.is_bot());
        assert!(comments[0].html_url.ends_with("#issuecomment-1194549"));
        assert!(!comments[0].edited());
    }
    for body in [
        rest_body("issues.create-comment").0.unwrap(),
        cassette_body("issues.create-comment", "post", "/issues/1/comments"),
    ] {
        let c: Comment = parse("create comment", &body).unwrap();
        assert_eq!((c.id, c.body.as_str()), (255559959, "A test comment"));
    }
    for body in [
        rest_body("pulls.list-reviews").0.unwrap(),
        cassette_body("pulls.list-reviews", "get", "/pulls/841/reviews"),
    ] {
        let reviews: Vec<Review> = parse("reviews", &body).unwrap();
        assert_eq!(reviews[0].id, 10591920);
        assert_eq!(reviews[0].state, "APPROVED");
        assert!(reviews[0].html_url.contains("pullrequestreview-10591920"));
        // the placeholder inside commit_id survives as text
        assert!(
            reviews[0]
                .commit_id
                .as_deref()
                .unwrap()
                .starts_with("86477b67")
        );
        // a placeholder mangled the first timestamp: unreadable means None, never a guess
        assert_eq!(reviews[0].submitted_at, None);
        assert_eq!(
            reviews[1].submitted_at.unwrap().to_rfc3339(),
            "2016-11-29T18:03:07+00:00"
        );
    }
    for body in [
        rest_body("pulls.list-files").0.unwrap(),
        cassette_body("pulls.list-files", "get", "/pulls/67/files"),
    ] {
        let files: Vec<PrFile> = parse("files", &body).unwrap();
        assert_eq!(files[0].filename, "lib/octokit/configuration.rb");
    }
    for body in [
        rest_body("repos.list-pulls-for-commit").0.unwrap(),
        cassette_body("repos.list-pulls-for-commit", "get", "/pulls"),
    ] {
        let prs: Vec<PullRequest> = parse("pulls for commit", &body).unwrap();
        assert_eq!(prs[0].number, 3207);
        assert_eq!(prs[0].author.login, "bodrovis");
        assert_eq!(prs[0].head_sha.len(), 40);
        assert!(!prs[0].base_ref.is_empty());
    }
    for body in [
        rest_body("reactions.create-for-issue-comment").0.unwrap(),
        cassette_body("reactions.create-for-issue-comment", "post", "/reactions"),
    ] {
        let r: ReactionAck = parse("reaction", &body).unwrap();
        assert_eq!(r.content, "+1");
    }
    for body in [
        rest_body("repos.collaborator-permission").0.unwrap(),
        cassette_body("repos.collaborator-permission", "get", "/permission"),
    ] {
        let p: Permission = parse("permission", &body).unwrap();
        assert_eq!(p.permission, "read");
        assert_eq!(p.role_name, None, "old recordings have no role_name");
        assert!(!p.can_write());
    }
    for body in [
        rest_body("repos.create-commit-status").0.unwrap(),
        cassette_body(
            "repos.create-commit-status",
            "post",
            "/statuses/71516564edc3f5b4535bcc027bd4894beb8ec5b5",
        ),
    ] {
        let s: StatusAck = parse("status", &body).unwrap();
        assert_eq!((s.id, s.state.as_str()), (44849766, "success"));
    }
    for body in [
        rest_body("repos.get-content-file").0.unwrap(),
        cassette_body("repos.get-content-file", "get", "/contents/lib/octokit.rb"),
    ] {
        let f: ContentFile = parse("contents", &body).unwrap();
        let bytes = f.bytes().unwrap();
        assert!(
            bytes.starts_with(b"require 'netrc'"),
            "{:?}",
            String::from_utf8_lossy(&bytes[..20])
        );
    }
    for body in [
        rest_body("teams.membership-legacy-route").0.unwrap(),
        cassette_body(
            "teams.membership-legacy-route",
            "get",
            "/memberships/<GITHUB_LOGIN>",
        ),
    ] {
        let m: Membership = parse("membership", &body).unwrap();
        assert_eq!(m.state, "active");
    }
}

#[test]
fn invalid_check_run_bodies_are_rejected_with_a_located_error() {
    for (name, suffix, method) in [
        ("checks.create", "/check-runs", "post"),
        ("checks.update", "/check-runs/51295429", "patch"),
    ] {
        let (body, raw) = rest_body(name);
        assert!(body.is_none());
        for text in [raw.unwrap(), cassette_body(name, method, suffix)] {
            let err = parse::<CheckRunAck>(name, &text).unwrap_err();
            assert!(matches!(err, GitHubError::Decode { .. }), "{err:?}");
            let msg = err.to_string();
            assert!(msg.contains(name) && msg.contains("line 1 column"), "{msg}");
            assert_eq!(err.code(), Code::Unreachable);
        }
    }
}

#[test]
fn octokit_fixtures_parse() {
    let pages: Value = serde_json::from_str(&read(
        "octokit-fixtures/paginate-issues.normalized-fixture.json",
    ))
    .unwrap();
    let mut total = 0;
    for page in pages.as_array().unwrap() {
        let issues: Vec<Issue> = parse("issues page", &page["response"].to_string()).unwrap();
        total += issues.len();
        assert!(
            issues
                .iter()
                .all(|i| i.number > 0 && !i.author.login.is_empty())
        );
    }
    assert!(total >= 13, "{total}");
    let status: Value = serde_json::from_str(&read(
        "octokit-fixtures/create-status.normalized-fixture.json",
    ))
    .unwrap();
    let created = status
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["method"] == "post")
        .unwrap();
    let ack: StatusAck = parse("status", &created["response"].to_string()).unwrap();
    assert!(!ack.state.is_empty());
    let content: Value = serde_json::from_str(&read(
        "octokit-fixtures/get-content.normalized-fixture.json",
    ))
    .unwrap();
    let listing = &content.as_array().unwrap()[0]["response"];
    let entries: Vec<ContentFile> = parse("content listing", &listing.to_string()).unwrap();
    assert_eq!(entries[0].path, "README.md");
    // a listing entry carries no content: decoding it is an error, not empty bytes
    assert!(entries[0].bytes().is_err());
    // the raw-media-type answer is not JSON: rejected cleanly
    let raw = &content.as_array().unwrap()[1]["response"];
    assert!(parse::<ContentFile>("raw content", raw.as_str().unwrap()).is_err());
}

#[test]
fn webhook_payloads_parse_into_events() {
    let ev = |name: &str, file: &str| {
        let path = format!("webhooks/{file}");
        Event::parse(name, &path, &read(&path)).unwrap_or_else(|e| panic!("{file}: {e}"))
    };
    match ev(
        "issue_comment",
        "octokit-webhooks.issue_comment.created.payload.json",
    ) {
        Event::IssueComment {
            action,
            on_pull_request,
            comment,
            ..
        } => {
            assert_eq!(action, "created");
            assert!(!on_pull_request, "octokit examples comment on issues");
            assert!(comment.id > 0 && !comment.author.login.is_empty());
        }
        other => panic!("{other:?}"),
    }
    match ev(
        "issue_comment",
        "pipelines-as-code.issue_comment_ok-to-test.json",
    ) {
        Event::IssueComment {
            on_pull_request,
            comment,
            issue_number,
            ..
        } => {
            assert!(on_pull_request);
            assert_eq!(issue_number, 1);
            assert!(
                comment.body.contains("\r\n/ok-to-test\r\n"),
                "CRLF kept: {:?}",
                comment.body
            );
            assert!(
                comment
                    .body
                    .lines()
                    .any(|l| l.trim_end_matches('\r') == "/ok-to-test")
            );
        }
        other => panic!("{other:?}"),
    }
    match ev(
        "issue_comment",
        "pipelines-as-code.issue_comment-retest.json",
    ) {
        Event::IssueComment { comment, .. } => assert_eq!(comment.body.trim(), "/retest"),
        other => panic!("{other:?}"),
    }
    let non_owner_path = "webhooks/pipelines-as-code.pr-as-non-owner.json";
    let raw: Value = serde_json::from_str(&read(non_owner_path)).unwrap();
    match ev("issue_comment", "pipelines-as-code.pr-as-non-owner.json") {
        Event::IssueComment { comment, .. } => {
            assert_ne!(
                comment.author.login,
                raw["issue"]["user"]["login"].as_str().unwrap()
            );
        }
        other => panic!("{other:?}"),
    }
    for file in [
        "octokit-webhooks.pull_request.opened.payload.json",
        "octokit-webhooks.pull_request.synchronize.payload.json",
    ] {
        match ev("pull_request", file) {
            Event::PullRequest { pull_request, .. } => {
                assert!(pull_request.number > 0);
                assert_eq!(pull_request.head_sha.len(), 40);
                assert_eq!(pull_request.base_sha.len(), 40);
            }
            other => panic!("{other:?}"),
        }
    }
    match ev(
        "pull_request_review",
        "octokit-webhooks.pull_request_review.submitted.payload.json",
    ) {
        Event::PullRequestReview { review, .. } => {
            assert_eq!(review.state, "COMMENTED", "webhook lower case normalised");
        }
        other => panic!("{other:?}"),
    }
    match ev("push", "octokit-webhooks.push.with-new-branch.payload.json") {
        Event::Push {
            before, created, ..
        } => {
            assert_eq!(before, "0".repeat(40));
            assert!(created);
        }
        other => panic!("{other:?}"),
    }
    assert!(matches!(
        ev("push", "octokit-webhooks.push.payload.json"),
        Event::Push { created: false, .. }
    ));
    assert!(matches!(
        ev(
            "workflow_dispatch",
            "octokit-webhooks.workflow_dispatch.payload.json"
        ),
        Event::WorkflowDispatch { .. }
    ));
    assert!(matches!(
        ev(
            "check_run",
            "octokit-webhooks.check_run.requested_action.payload.json"
        ),
        Event::Other(_)
    ));
    let err = Event::parse("push", "event.json", "{\"ref\": 3}").unwrap_err();
    assert!(err.to_string().contains("event.json"), "{err}");
}
