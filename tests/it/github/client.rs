//! The octocrab client against the fakehub stand-in over real HTTP on 127.0.0.1:
//! authenticated pagination, no duplicate writes, ETags/304s, faults and rate limits,
//! and the operations the flows call.

use std::time::Duration;

use fakehub::{FakeHub, Fault, PrSpec};
use jitaa::exit::Code;
use jitaa::github::*;

const REPO: &str = "acme/api";

fn repo() -> RepoName {
    RepoName::parse(REPO, "test").unwrap()
}

fn fast() -> RetryPolicy {
    RetryPolicy {
        max_tries: 6,
        base_backoff: Duration::from_millis(5),
        max_backoff: Duration::from_millis(50),
        max_rate_wait: Duration::from_secs(5),
        timeout: Duration::from_secs(10),
    }
}

struct World {
    hub: FakeHub,
    bot: Client,
}

async fn world() -> World {
    let hub = FakeHub::start().await;
    hub.add_repo(REPO);
    let token = hub.add_bot("github-actions[bot]", 41898282);
    for (login, id) in [("alice", 1), ("bob", 2), ("carol", 3)] {
        hub.add_user(login, id);
    }
    let bot = Client::new(hub.url(), Token::new(token), fast()).unwrap();
    World { hub, bot }
}

fn pr_spec(files: Vec<String>) -> PrSpec {
    PrSpec {
        author: "alice".into(),
        head_sha: "a".repeat(40),
        base_sha: "b".repeat(40),
        files,
        ..PrSpec::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pagination_sends_the_token_on_every_page() {
    let w = world().await;
    let issue = w.hub.open_issue("alice", REPO, "req", "");
    for i in 0..250 {
        w.hub
            .comment_as("bob", REPO, issue, &format!("comment {i}"));
    }
    w.hub.clear_requests();
    let all = w.bot.issue_comments(&repo(), issue, None).await.unwrap();
    assert_eq!(all.len(), 250);
    assert_eq!(all[0].body, "comment 0");
    assert_eq!(all[249].body, "comment 249");
    let reqs = w.hub.requests();
    assert_eq!(reqs.len(), 3, "100 + 100 + 50");
    for r in &reqs {
        assert_eq!(r.status, 200, "{r:?}");
        assert!(
            r.header("authorization")
                .is_some_and(|a| a.starts_with("Bearer "))
        );
    }
    assert_eq!(
        reqs[2].query.as_deref().map(|q| q.contains("page=3")),
        Some(true)
    );

    // The stand-in really refuses pages without the token (what octocrab's own
    // absolute-URL following would send to a non-github.com host).
    let page2 = format!(
        "{}/repos/{REPO}/issues/{issue}/comments?page=2&per_page=100",
        w.hub.url()
    );
    let status = reqwest::get(&page2).await.unwrap().status();
    assert_eq!(status.as_u16(), 401);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_comment_post_answered_with_5xx_is_never_resent() {
    let w = world().await;
    let issue = w.hub.open_issue("alice", REPO, "req", "");
    // The comment lands, but the answer is lost as a 502.
    w.hub.inject(Fault {
        method: Some("POST".into()),
        path_contains: Some("/comments".into()),
        status: 502,
        after_apply: true,
        ..Fault::default()
    });
    let c = w
        .bot
        .create_comment(&repo(), issue, "request jitaa-1")
        .await
        .unwrap();
    assert_eq!(c.body, "request jitaa-1");
    assert_eq!(w.hub.comments(REPO, issue).len(), 1);
    let posts = |hub: &FakeHub| hub.requests().iter().filter(|r| r.method == "POST").count();
    assert_eq!(
        posts(&w.hub),
        1,
        "the POST was sent once; the client looked, not re-sent"
    );

    // Not applied and answered 503: an error (exit 5), still exactly one POST.
    w.hub.clear_requests();
    w.hub.inject(Fault {
        method: Some("POST".into()),
        path_contains: Some("/comments".into()),
        status: 503,
        ..Fault::default()
    });
    let err = w
        .bot
        .create_comment(&repo(), issue, "request jitaa-2")
        .await
        .unwrap_err();
    assert!(matches!(err, GitHubError::WriteUncertain { .. }), "{err:?}");
    assert_eq!(err.code(), Code::Unreachable);
    assert_eq!(posts(&w.hub), 1);
    assert_eq!(w.hub.comments(REPO, issue).len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn polling_reuses_etags_and_304s_are_not_charged() {
    let w = world().await;
    let pr = w.hub.add_pr(REPO, pr_spec(vec!["src/lib.rs".into()]));
    w.hub.comment_as("alice", REPO, pr, "please deploy");
    let mut p = Poller::new(&w.bot, &repo(), pr).with_reviews(&repo(), pr);
    let first = p
        .poll_once()
        .await
        .unwrap()
        .expect("first poll reports the thread");
    assert_eq!(first.comments.len(), 1);
    let charged = w.hub.rate_used();
    w.hub.clear_requests();
    for _ in 0..5 {
        assert_eq!(p.poll_once().await.unwrap(), None);
    }
    let reqs = w.hub.requests();
    assert_eq!(reqs.len(), 10);
    assert!(
        reqs.iter()
            .all(|r| r.status == 304 && r.header("if-none-match").is_some()),
        "{reqs:?}"
    );
    assert_eq!(w.hub.rate_used(), charged, "304s cost nothing");
    assert!(
        p.interval() > PollConfig::default().min,
        "idle polls back off"
    );

    w.hub.comment_as("bob", REPO, pr, "/approve");
    let snap = p
        .poll_once()
        .await
        .unwrap()
        .expect("a new comment is a change");
    assert_eq!(snap.comments.last().unwrap().body, "/approve");
    assert_eq!(p.interval(), PollConfig::default().min);

    w.hub.review_as("carol", REPO, pr, "APPROVED", None);
    let snap = p
        .poll_once()
        .await
        .unwrap()
        .expect("a new review is a change");
    assert_eq!(snap.reviews[0].state, "APPROVED");
    assert_eq!(
        snap.reviews[0].commit_id.as_deref(),
        Some("a".repeat(40).as_str())
    );

    // An edit is a change too, and marked edited even within the same second
    // (when GitHub's updated_at cannot show it).
    let id = snap.comments.last().unwrap().id;
    assert!(snap.edited.is_empty());
    w.hub.edit_comment(id, "/deny no");
    let snap = p.poll_once().await.unwrap().expect("an edit is a change");
    assert_eq!(snap.comments.last().unwrap().body, "/deny no");
    assert!(snap.edited.contains(&id));
    w.hub.edit_comment(id, "/approve");
    let snap = p
        .poll_once()
        .await
        .unwrap()
        .expect("an edit back is a change");
    assert!(snap.edited.contains(&id), "edited stays edited");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn faults_and_a_secondary_limit_still_yield_the_right_data() {
    let w = world().await;
    let issue = w.hub.open_issue("alice", REPO, "req", "");
    for i in 0..250 {
        w.hub.comment_as("bob", REPO, issue, &format!("c{i}"));
    }
    let pr = w
        .hub
        .add_pr(REPO, pr_spec((0..120).map(|i| format!("f{i}")).collect()));
    w.hub.set_permission(REPO, "bob", "maintain");
    w.hub.set_error_rate(0.2);
    w.hub.inject(Fault {
        method: Some("GET".into()),
        status: 403,
        retry_after: Some(1),
        ..Fault::default()
    });
    // Beside the random ones, two 502s for certain (a 20 % rate over a few dozen
    // requests misses now and then).
    w.hub.inject(Fault {
        method: Some("GET".into()),
        path_contains: Some("/files".into()),
        status: 502,
        times: 2,
        ..Fault::default()
    });
    let started = std::time::Instant::now();
    let comments = w.bot.issue_comments(&repo(), issue, None).await.unwrap();
    assert_eq!(comments.len(), 250);
    assert_eq!(
        comments.iter().map(|c| c.body.clone()).collect::<Vec<_>>()[249],
        "c249"
    );
    let PrFiles::Complete(files) = w.bot.pull_files(&repo(), pr).await.unwrap() else {
        panic!("120 files is complete");
    };
    assert_eq!(files.len(), 120);
    for _ in 0..10 {
        assert!(w.bot.permission(&repo(), "bob").await.unwrap().can_write());
    }
    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "Retry-After was honoured"
    );
    let reqs = w.hub.requests();
    assert_eq!(reqs.iter().filter(|r| r.status == 403).count(), 1);
    assert!(reqs.iter().any(|r| r.status == 502), "faults were injected");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_spent_rate_limit_is_waited_out_until_its_reset() {
    let w = world().await;
    w.hub.set_permission(REPO, "bob", "write");
    w.hub.set_rate_limit(3, Duration::from_secs(2));
    let started = std::time::Instant::now();
    for _ in 0..5 {
        assert!(w.bot.permission(&repo(), "bob").await.unwrap().can_write());
    }
    let limited: Vec<_> = w
        .hub
        .requests()
        .into_iter()
        .filter(|r| r.status == 403)
        .collect();
    assert!(!limited.is_empty(), "the limit was hit");
    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "waited for x-ratelimit-reset"
    );

    // A reset further away than the policy allows: unreachable at once, not a hang.
    w.hub.set_rate_limit(1, Duration::from_secs(3600));
    w.bot.permission(&repo(), "bob").await.unwrap();
    let err = w.bot.permission(&repo(), "bob").await.unwrap_err();
    assert_eq!(err.code(), Code::Unreachable);
    assert!(err.to_string().contains("rate limit"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_answers_time_out_and_are_retried_a_bounded_number_of_times() {
    let w = world().await;
    w.hub.set_delay(Duration::from_millis(400));
    let c = Client::new(
        w.hub.url(),
        Token::new(w.hub.add_user("dave", 4)),
        RetryPolicy {
            max_tries: 3,
            timeout: Duration::from_millis(100),
            ..fast()
        },
    )
    .unwrap();
    let err = c.pull_request(&repo(), 1).await.unwrap_err();
    assert!(
        matches!(err, GitHubError::Unreachable { tries: 3, .. }),
        "{err:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unreachable_and_bad_config_have_their_exit_codes() {
    let w = world().await;
    w.hub.set_error_rate(1.0);
    let err = w.bot.pull_request(&repo(), 1).await.unwrap_err();
    assert!(
        matches!(err, GitHubError::Unreachable { tries: 6, .. }),
        "{err:?}"
    );
    assert_eq!(err.code(), Code::Unreachable);
    assert_eq!(w.hub.requests().len(), 6, "bounded tries");

    let bad = Client::new(w.hub.url(), Token::new("wrong"), fast()).unwrap();
    w.hub.set_error_rate(0.0);
    let err = bad.pull_request(&repo(), 1).await.unwrap_err();
    assert_eq!(err.code(), Code::Usage);
    assert!(
        !err.to_string().contains("wrong"),
        "the token is never printed: {err}"
    );

    // A closed port: transport errors, retried, then unreachable.
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let c = Client::new(
        &format!("http://127.0.0.1:{closed}"),
        Token::new("t"),
        fast(),
    )
    .unwrap();
    assert_eq!(
        c.pull_request(&repo(), 1).await.unwrap_err().code(),
        Code::Unreachable
    );

    let err = Client::new("http://github.example.com", Token::new("t"), fast()).unwrap_err();
    assert_eq!(err.code(), Code::Usage);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pull_requests_files_and_the_3000_file_cap() {
    let w = world().await;
    let small = w
        .hub
        .add_pr(REPO, pr_spec(vec!["docs/a b.md".into(), "src/x.rs".into()]));
    let prs = w
        .bot
        .pulls_for_commit(&repo(), &"a".repeat(40))
        .await
        .unwrap();
    assert_eq!(prs.len(), 1);
    let pr = w.bot.pull_request(&repo(), small).await.unwrap();
    assert_eq!((pr.number, pr.author.login.as_str()), (small, "alice"));
    assert_eq!(
        (pr.base_ref.as_str(), pr.base_sha.clone()),
        ("main", "b".repeat(40))
    );
    assert_eq!(
        w.bot.pull_files(&repo(), small).await.unwrap(),
        PrFiles::Complete(vec![
            PrFile {
                filename: "docs/a b.md".into(),
                status: "modified".into(),
                previous_filename: None
            },
            PrFile {
                filename: "src/x.rs".into(),
                status: "modified".into(),
                previous_filename: None
            },
        ])
    );
    let big = w
        .hub
        .add_pr(REPO, pr_spec((0..3500).map(|i| format!("f/{i}")).collect()));
    match w.bot.pull_files(&repo(), big).await.unwrap() {
        PrFiles::Truncated(f) => assert_eq!(f.len(), 3000),
        other => panic!(
            "expected the cap marker, got {} files",
            match other {
                PrFiles::Complete(f) | PrFiles::Truncated(f) => f.len(),
            }
        ),
    }
    assert!(
        w.bot
            .pulls_for_commit(&repo(), &"c".repeat(40))
            .await
            .unwrap()
            .is_empty()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn writes_reactions_issues_checks_permissions_teams_files() {
    let w = world().await;
    let r = repo();
    // request issue: found again on re-run by its marker
    let i1 = w
        .bot
        .find_or_open_issue(
            &r,
            "<!-- jitaa:req-1 -->",
            "Approve deploy",
            "body <!-- jitaa:req-1 -->",
            &["jitaa"],
        )
        .await
        .unwrap();
    let i2 = w
        .bot
        .find_or_open_issue(
            &r,
            "<!-- jitaa:req-1 -->",
            "Approve deploy",
            "body <!-- jitaa:req-1 -->",
            &["jitaa"],
        )
        .await
        .unwrap();
    assert_eq!(i1.number, i2.number);
    assert_eq!(w.hub.issues(REPO).len(), 1);
    let i3 = w
        .bot
        .find_or_open_issue(&r, "<!-- jitaa:req-2 -->", "t", "<!-- jitaa:req-2 -->", &[])
        .await
        .unwrap();
    assert_ne!(i3.number, i1.number);

    // comment, edit, reactions
    let c = w
        .bot
        .create_comment(&r, i1.number, "waiting")
        .await
        .unwrap();
    assert!(c.author.is_bot());
    let e = w.bot.edit_comment(&r, c.id, "approved").await.unwrap();
    assert_eq!(e.body, "approved");
    let bob = w
        .hub
        .comment_as("bob", REPO, i1.number, "/approve")
        .unwrap();
    w.bot
        .add_reaction(&r, bob.id, ReactionKind::Eyes)
        .await
        .unwrap();
    w.bot
        .add_reaction(&r, bob.id, ReactionKind::Eyes)
        .await
        .unwrap();
    w.bot
        .add_reaction(&r, bob.id, ReactionKind::PlusOne)
        .await
        .unwrap();
    let kinds: Vec<String> = w
        .hub
        .reactions(bob.id)
        .into_iter()
        .map(|x| x.content)
        .collect();
    assert_eq!(kinds, vec!["eyes", "+1"]);
    let since = w
        .bot
        .issue_comments(&r, i1.number, Some(bob.created_at.parse().unwrap()))
        .await
        .unwrap();
    assert!(since.iter().all(|x| {
        x.updated_at
            >= bob
                .created_at
                .parse::<chrono::DateTime<chrono::Utc>>()
                .unwrap()
    }));

    // check run, then updated
    let sha = "d".repeat(40);
    let mut spec = CheckSpec {
        name: "jitaa".into(),
        head_sha: sha.clone(),
        title: "waiting".into(),
        ..CheckSpec::default()
    };
    let h = w.bot.publish_check(&r, &spec, None).await.unwrap();
    assert!(matches!(h, CheckHandle::CheckRun { .. }));
    spec.conclusion = Some("success".into());
    let h2 = w.bot.publish_check(&r, &spec, Some(&h)).await.unwrap();
    assert_eq!(h, h2);
    let runs = w.hub.check_runs(REPO, &sha);
    assert_eq!(runs.len(), 1);
    assert_eq!(runs[0].conclusion.as_deref(), Some("success"));

    // no checks:write → a commit status instead
    w.hub.deny_checks_write("github-actions[bot]");
    let sha2 = "e".repeat(40);
    let spec2 = CheckSpec {
        name: "jitaa".into(),
        head_sha: sha2.clone(),
        title: "waiting".into(),
        ..CheckSpec::default()
    };
    let h = w.bot.publish_check(&r, &spec2, None).await.unwrap();
    assert_eq!(
        h,
        CheckHandle::Status {
            sha: sha2.clone(),
            context: "jitaa".into()
        }
    );
    let h = w
        .bot
        .publish_check(
            &r,
            &CheckSpec {
                conclusion: Some("failure".into()),
                ..spec2
            },
            Some(&h),
        )
        .await
        .unwrap();
    assert!(matches!(h, CheckHandle::Status { .. }));
    let states: Vec<String> = w
        .hub
        .statuses(REPO, &sha2)
        .into_iter()
        .map(|s| s.state)
        .collect();
    assert_eq!(states, vec!["pending", "failure"]);
    assert!(w.hub.check_runs(REPO, &sha2).is_empty());

    // permissions: role_name decides; unknown users have none
    for (login, role, write) in [
        ("alice", "write", true),
        ("bob", "triage", false),
        ("carol", "admin", true),
    ] {
        w.hub.set_permission(REPO, login, role);
        let p = w.bot.permission(&r, login).await.unwrap();
        assert_eq!(p.role_name.as_deref(), Some(role));
        assert_eq!(p.can_write(), write, "{login}");
    }
    assert!(!w.bot.permission(&r, "mallory").await.unwrap().can_write());

    // teams: 404 = not a member
    w.hub.add_team("acme", "sre", &["bob"]);
    assert!(w.bot.team_member("acme", "sre", "bob").await.unwrap());
    assert!(!w.bot.team_member("acme", "sre", "alice").await.unwrap());
    assert!(!w.bot.team_member("acme", "nope", "bob").await.unwrap());

    // files at a ref
    let text = "version: 1\n".repeat(40);
    w.hub
        .set_file(REPO, &"b".repeat(40), ".github/jitaa.yml", text.as_bytes());
    let got = w
        .bot
        .file_at(&r, ".github/jitaa.yml", &"b".repeat(40))
        .await
        .unwrap();
    assert_eq!(got.as_deref(), Some(text.as_bytes()));
    assert_eq!(
        w.bot
            .file_at(&r, ".github/jitaa.yml", "main")
            .await
            .unwrap(),
        None
    );

    // An issue someone else opened with the marker pasted in is not reused.
    let decoy = w.hub.open_issue("carol", REPO, "x", "<!-- jitaa:req-9 -->");
    let mine = w
        .bot
        .find_or_open_issue(&r, "<!-- jitaa:req-9 -->", "t", "<!-- jitaa:req-9 -->", &[])
        .await
        .unwrap();
    assert_ne!(mine.number, decoy);

    // me: an app token may not read /user (403), a user token may
    assert_eq!(w.bot.me().await.unwrap_err().status(), Some(403));
    let alice = Client::new(w.hub.url(), Token::new(w.hub.add_user("alice", 1)), fast()).unwrap();
    assert_eq!(alice.me().await.unwrap().login, "alice");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn branch_activity_names_each_head_change_with_githubs_time_newest_first() {
    let w = world().await;
    let pr = w.hub.add_pr(REPO, pr_spec(vec!["src/a.rs".into()]));
    let second = "c".repeat(40);
    w.hub.set_pr_head(REPO, pr, &second);
    let got = w.bot.pull_request(&repo(), pr).await.unwrap();
    assert_eq!(got.head_repo.as_deref(), Some(REPO));
    let branch = got.head_ref.clone();
    let changes = w.bot.branch_activity(&repo(), &branch).await.unwrap();
    assert_eq!(changes.len(), 2, "{changes:?}");
    assert_eq!(changes[0].after, second);
    assert_eq!(changes[0].before, "a".repeat(40));
    assert_eq!(changes[0].activity_type, "push");
    assert_eq!(changes[0].git_ref, format!("refs/heads/{branch}"));
    assert!(changes[0].timestamp.is_some());
    assert_eq!(changes[1].after, "a".repeat(40));
    assert_eq!(changes[1].activity_type, "branch_creation");
    assert!(changes[0].timestamp >= changes[1].timestamp);
    // Another branch has no changes; the request named the ref in full.
    assert!(
        w.bot
            .branch_activity(&repo(), "other")
            .await
            .unwrap()
            .is_empty()
    );
    let asked = w
        .hub
        .requests()
        .into_iter()
        .filter(|r| r.path == "/repos/acme/api/activity")
        .count();
    assert_eq!(asked, 2);
}
