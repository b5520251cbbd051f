//! The event handling of `jitaa decide` over the in-memory GitHub: which pending request
//! an event concerns (`pending::find`, from verified request records held in memory),
//! and that a run acknowledges only its own event's command (`judge::acknowledge`).
//! Pure and fast: no git, no network, no processes.

use std::sync::Mutex;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use super::event::Trigger;
use super::judge::{self, BUTTON};
use super::pending::{self, Pending, Source};
use crate::approval::{self, Events, Facts, FactsByLogin, Permission, Target};
use crate::audit::approvals::Records;
use crate::audit::testkit::{FakeRun, FakeTokens, TOKEN_SHA};
use crate::audit::{Actor, Decision, Draft, Kind, Record, Signers, Subject};
use crate::codeowners::Owner;
use crate::github::fake::FakeGitHub;
use crate::github::{ReactionKind, RepoName};
use crate::policy::{Approvers, Coverage, Rule};
use crate::progress::Progress;
use crate::request::{self, Ask, LINK, Posted, Thread, body};

const ID: &str = "01JDXYZ0ABCDEFGHJKMNPQRSTV";
const OTHER: &str = "01JDXYZ0ABCDEFGHJKMNPQRSTW";
const SHA: &str = TOKEN_SHA;
const BOT: &str = "jitaa[bot]";

/// The lines a flow says, collected.
#[derive(Default)]
struct Lines(Mutex<Vec<String>>);

impl Progress for Lines {
    fn say(&self, line: &str) {
        self.0.lock().unwrap().push(line.to_string());
    }
}

impl Lines {
    fn text(&self) -> String {
        self.0.lock().unwrap().join("\n")
    }
}

fn repo() -> RepoName {
    RepoName::parse("acme/api", "test").unwrap()
}

fn block<T>(f: impl std::future::Future<Output = T>) -> T {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(f)
}

fn rule() -> Rule {
    Rule {
        name: "r".into(),
        approvals: 1,
        approvers: Approvers::List(vec![Owner::User("bob".into())]),
        codeowners: Coverage::Any,
        self_approval: false,
        timeout: Duration::from_secs(30 * 60),
        ttl: Duration::from_secs(15 * 60),
    }
}

/// A gate's ask (it has a run), or with `run_url: None` a developer's `jitaa request`.
fn ask() -> Ask {
    Ask {
        repo: repo(),
        sha: SHA.into(),
        git_ref: Some("refs/heads/main".into()),
        target: Target::Environment("production".into()),
        requester: Actor {
            login: "alice".into(),
            id: 1,
        },
        actor: "alice".into(),
        rule: rule(),
        paths: Vec::new(),
        run_url: Some("https://github.com/acme/api/actions/runs/1".into()),
        review_sha: None,
    }
}

fn developer_ask() -> Ask {
    Ask {
        target: Target::Ref("refs/heads/main".into()),
        run_url: None,
        ..ask()
    }
}

/// The request comment jitaa posts for request `id`.
fn request_text(ask: &Ask, id: &str) -> String {
    body::request_comment(ask, id, Duration::from_secs(1800), None)
}

/// A record of `kind` for the deployment, with `context.jitaa_request` = `link`, signed
/// as the run of the trusted deploy workflow would sign it with token key `kid`.
fn record(kind: Kind, link: Value, kid: &'static str) -> Record {
    let mut d = Draft::new(
        kind,
        "acme/api",
        Subject {
            sha: SHA.into(),
            git_ref: Some("refs/heads/main".into()),
            environment: Some("production".into()),
        },
        Actor {
            login: "alice".into(),
            id: 1,
        },
    );
    if kind == Kind::Decision {
        d.decision = Some(Decision::Denied);
    }
    d.context = json!({ LINK: link });
    let payload = d.to_payload(crate::audit::record::GENESIS);
    let jcs = payload.jcs().unwrap();
    let digest = crate::audit::record::digest_of(&jcs);
    let signers = Signers {
        ssh: None,
        oidc: Some(Box::new(FakeRun {
            kid,
            repository: "acme/api",
            job_workflow_ref: "acme/api/.github/workflows/deploy.yml@refs/heads/main",
        })),
    };
    let signatures = signers.sign_record(&jcs, &digest).unwrap();
    Record {
        payload,
        digest,
        signatures,
    }
}

/// The request record of a gate run with `--no-wait` (`waits: false`).
fn request_record(id: &str, thread: u64, comment: u64) -> Record {
    record(Kind::Request, link(id, thread, comment, Some(false)), "k1")
}

fn link(id: &str, thread: u64, comment: u64, waits: Option<bool>) -> Value {
    let mut l = json!({"id": id, "thread": thread, "is_pr": true, "comment": comment});
    if let Some(w) = waits {
        l["waits"] = json!(w);
    }
    l
}

/// `pending::find` over the fake, with tokens verified against a JWKS holding `k1`.
fn find<'r>(
    gh: &FakeGitHub,
    trigger: &Trigger,
    records: &'r Records<'_>,
) -> (Vec<Pending<'r>>, String) {
    let lines = Lines::default();
    let tokens = FakeTokens { kids: vec!["k1"] };
    let found = block(pending::find(
        gh,
        &repo(),
        trigger,
        records,
        &tokens,
        &lines,
    ))
    .expect("finding never fails over a reachable GitHub");
    (found, lines.text())
}

fn comment_on(thread: u64, is_pr: bool, comment_id: u64) -> Trigger {
    Trigger::Comment {
        thread,
        is_pr,
        comment_id,
    }
}

/// PR 7 with the request comment of `ID` and bob's `/approve`: (request comment, bob's).
fn pr_thread() -> (FakeGitHub, u64, u64) {
    let gh = FakeGitHub::new().with_pr(FakeGitHub::pr(7, "alice", SHA));
    let req = gh.comment(BOT, 7, &request_text(&ask(), ID));
    let bob = gh.comment("bob", 7, "/approve");
    (gh, req, bob)
}

#[test]
fn a_comment_finds_the_pending_request_of_its_thread_from_its_verified_record() {
    let (gh, req, bob) = pr_thread();
    let records = Records::in_memory(vec![request_record(ID, 7, req)]);
    let (found, said) = find(&gh, &comment_on(7, true, bob), &records);
    assert_eq!(found.len(), 1, "{said}");
    let p = &found[0];
    assert_eq!(p.id, ID);
    assert_eq!(p.comment.id, req, "bound to the request's own comment");
    assert_eq!((p.thread.number, p.thread.is_pr), (7, true));
    assert_eq!(p.thread.url, "https://github.com/acme/api/issues/7");
    let ids: Vec<u64> = p.comments.iter().map(|c| c.id).collect();
    assert_eq!(
        ids,
        [req, bob],
        "every comment of the thread, for the engine"
    );
    let Source::Run { record, claims } = &p.source else {
        panic!("a gate's request")
    };
    assert_eq!(record.payload.kind, Kind::Request);
    // The facts are the token's claims, as GitHub signed them.
    assert_eq!(claims.repository, "acme/api");
    assert_eq!(
        claims.job_workflow_ref,
        "acme/api/.github/workflows/deploy.yml@refs/heads/main"
    );
    // Finding reads the thread and writes nothing.
    assert!(gh.writes().is_empty(), "{:?}", gh.writes());
    // A comment on another thread concerns no request of this one.
    gh.comment("bob", 8, "/approve");
    let (none, _) = find(&gh, &comment_on(8, true, bob + 10), &records);
    assert!(none.is_empty());
}

#[test]
fn a_request_already_decided_is_not_judged_again() {
    let (gh, req, bob) = pr_thread();
    let records = Records::in_memory(vec![
        request_record(ID, 7, req),
        record(Kind::Decision, json!({"id": ID}), "k1"),
    ]);
    let (found, said) = find(&gh, &comment_on(7, true, bob), &records);
    assert!(found.is_empty());
    assert!(said.contains("already decided"), "{said}");
    // A decision of another request does not hide this one.
    let records = Records::in_memory(vec![
        request_record(ID, 7, req),
        record(Kind::Decision, json!({"id": OTHER}), "k1"),
    ]);
    assert_eq!(find(&gh, &comment_on(7, true, bob), &records).0.len(), 1);
}

#[test]
fn a_request_whose_gate_waits_is_left_to_that_gate() {
    let (gh, req, bob) = pr_thread();
    // `waits: true`, and a record that does not say (a waiting gate's, to be safe).
    for waits in [Some(true), None] {
        let records =
            Records::in_memory(vec![record(Kind::Request, link(ID, 7, req, waits), "k1")]);
        let (found, said) = find(&gh, &comment_on(7, true, bob), &records);
        assert!(found.is_empty(), "waits {waits:?}");
        assert!(said.contains("waits for it itself"), "{said}");
    }
}

#[test]
fn a_record_naming_another_thread_or_comment_is_not_judged() {
    let (gh, req, bob) = pr_thread();
    for (thread, comment) in [(8, req), (7, bob), (7, req + 100)] {
        let records = Records::in_memory(vec![request_record(ID, thread, comment)]);
        let (found, said) = find(&gh, &comment_on(7, true, bob), &records);
        assert!(found.is_empty(), "thread {thread} comment {comment}");
        assert!(said.contains("another thread or comment"), "{said}");
    }
}

#[test]
fn a_request_record_that_does_not_verify_is_not_judged() {
    let (gh, req, bob) = pr_thread();
    // Signed with a key the issuer's JWKS does not have.
    let unknown_key = record(Kind::Request, link(ID, 7, req, Some(false)), "k9");
    // Altered after signing: the digest no longer recomputes.
    let mut altered = request_record(ID, 7, req);
    altered.payload.subject.sha = "f".repeat(40);
    for r in [unknown_key, altered] {
        let records = Records::in_memory(vec![r]);
        let (found, said) = find(&gh, &comment_on(7, true, bob), &records);
        assert!(found.is_empty());
        assert!(said.contains("does not verify"), "{said}");
    }
}

fn button(request_id: &str, approve: bool, sender: &str) -> Trigger {
    Trigger::Button {
        check_run_id: 99,
        request_id: request_id.into(),
        head_sha: SHA.into(),
        approve,
        sender: sender.into(),
        sender_id: 5,
    }
}

#[test]
fn a_button_press_finds_its_own_request_by_the_check_runs_external_id() {
    let gh = FakeGitHub::new().with_pr(FakeGitHub::pr(7, "alice", SHA));
    let first = gh.comment(BOT, 7, &request_text(&ask(), ID));
    let second = gh.comment(BOT, 7, &request_text(&ask(), OTHER));
    let records = Records::in_memory(vec![
        request_record(ID, 7, first),
        request_record(OTHER, 7, second),
    ]);
    let (found, said) = find(&gh, &button(OTHER, true, "bob"), &records);
    assert_eq!(found.len(), 1, "{said}");
    assert_eq!(found[0].id, OTHER, "only the pressed run's request");
    assert_eq!(found[0].comment.id, second);
    assert_eq!(found[0].thread.number, 7, "the thread its record names");
    // An id without a request record: nothing is read from GitHub, nothing judged.
    let before = gh.calls().len();
    let (none, said) = find(&gh, &button("01JNORECORD", true, "bob"), &records);
    assert!(none.is_empty());
    assert!(said.contains("no request record"), "{said}");
    assert_eq!(gh.calls().len(), before);
}

#[test]
fn a_developers_request_is_judged_from_its_unedited_comment_on_an_issue_by_a_person() {
    let text = request_text(&developer_ask(), ID);
    assert!(body::developer_ask_of(&text).is_some());
    let issue = |author: &str| {
        let gh = FakeGitHub::new();
        let c = gh.comment(author, 12, &text);
        let bob = gh.comment("bob", 12, "/approve");
        (gh, c, bob)
    };
    let none = Records::in_memory(Vec::new());

    let (gh, c, bob) = issue("alice");
    let (found, said) = find(&gh, &comment_on(12, false, bob), &none);
    assert_eq!(found.len(), 1, "{said}");
    assert_eq!(found[0].comment.id, c);
    let Source::Developer {
        ask: stated,
        author,
    } = &found[0].source
    else {
        panic!("a developer's request")
    };
    assert_eq!(stated.sha, SHA);
    assert_eq!(stated.git_ref, "refs/heads/main");
    // The requester is the comment's author as GitHub says, not anything in the text.
    assert_eq!(author.login, "alice");

    // On a pull request, only gates ask.
    let (gh, _, bob) = issue("alice");
    let (found, said) = find(&gh, &comment_on(12, true, bob), &none);
    assert!(found.is_empty());
    assert!(said.contains("pull request"), "{said}");

    // Posted by a bot.
    let (gh, _, bob) = issue("evil[bot]");
    let (found, said) = find(&gh, &comment_on(12, false, bob), &none);
    assert!(found.is_empty());
    assert!(said.contains("bot"), "{said}");

    // Edited after it was posted, even back to the same text.
    let (gh, c, bob) = issue("alice");
    gh.edit(c, &text);
    let (found, said) = find(&gh, &comment_on(12, false, bob), &none);
    assert!(found.is_empty());
    assert!(said.contains("edited"), "{said}");

    // A gate's request comment (no ask line) without a record is nobody's to judge here.
    let gh = FakeGitHub::new();
    gh.comment(BOT, 12, &request_text(&ask(), ID));
    let bob = gh.comment("bob", 12, "/approve");
    assert!(find(&gh, &comment_on(12, false, bob), &none).0.is_empty());
}

/// A request of `ask()` on PR 7 with, in time order: carol's `/approve` made before the
/// request, the request comment, bob's `/approve` (an approver), mallory's `/approve`
/// (a reader). Returns the fake, the request as posted, and the comment ids.
struct Thread7 {
    gh: FakeGitHub,
    posted: Posted,
    carol: u64,
    bob: u64,
    mallory: u64,
}

fn thread7() -> Thread7 {
    let gh = FakeGitHub::new().with_pr(FakeGitHub::pr(7, "alice", SHA));
    let carol = gh.comment("carol", 7, "/approve");
    let req = gh.comment(BOT, 7, &request_text(&ask(), ID));
    let bob = gh.comment("bob", 7, "/approve");
    let mallory = gh.comment("mallory", 7, "/approve");
    let c = gh.comments(7)[1].clone();
    let a = ask();
    let posted = Posted {
        request: approval::Request {
            id: ID.into(),
            repository: a.repo.to_string(),
            sha: a.sha.clone(),
            target: a.target.clone(),
            requester: "alice".into(),
            actor: "alice".into(),
            posted_at: c.created_at,
            comment_id: Some(req),
            paths: Vec::new(),
        },
        thread: Thread {
            number: 7,
            is_pr: true,
            url: "https://github.com/acme/api/pull/7".into(),
        },
        comment_id: req,
        comment_url: c.html_url,
        deadline: c.created_at + chrono::Duration::minutes(30),
    };
    Thread7 {
        gh,
        posted,
        carol,
        bob,
        mallory,
    }
}

/// The engine's outcome over the thread (plus `extra` events), as decide computes it.
fn outcome(t: &Thread7, extra: Vec<approval::Comment>, now: DateTime<Utc>) -> approval::Outcome {
    let mut events = Events {
        comments: t
            .gh
            .comments(7)
            .iter()
            .map(request::comment_event)
            .collect(),
        reviews: Vec::new(),
    };
    events.comments.extend(extra);
    let mut facts = FactsByLogin::new();
    facts.insert("bob", Facts::new(Permission::Write, &[]));
    facts.insert("carol", Facts::new(Permission::Write, &[]));
    facts.insert("mallory", Facts::new(Permission::Read, &[]));
    facts.insert("dave", Facts::new(Permission::Read, &[]));
    approval::decide(&ask().rule, &t.posted.request, &events, &facts, now)
}

fn acknowledge(t: &Thread7, trigger: &Trigger, o: &approval::Outcome) -> String {
    let lines = Lines::default();
    block(judge::acknowledge(
        &t.gh,
        trigger,
        &ask(),
        &t.posted,
        o,
        &lines,
    ));
    lines.text()
}

fn replies(gh: &FakeGitHub) -> Vec<String> {
    gh.calls_to("create_comment")
        .into_iter()
        .map(|c| c.args[2].clone())
        .collect()
}

#[test]
fn only_the_events_own_comment_is_acknowledged() {
    let t = thread7();
    let now = t.posted.request.posted_at + chrono::Duration::minutes(1);
    let o = outcome(&t, Vec::new(), now);
    // The engine acknowledges all three commands; each run answers only its own.
    assert_eq!(o.acknowledgements.len(), 3, "{:?}", o.acknowledgements);

    // bob's run: 👀 and 👍 on bob's comment, no reply, nothing on the others.
    acknowledge(&t, &comment_on(7, true, t.bob), &o);
    assert_eq!(
        t.gh.reactions(),
        [(t.bob, ReactionKind::Eyes), (t.bob, ReactionKind::PlusOne)]
    );
    assert!(replies(&t.gh).is_empty());

    // mallory's run: 👀 and 👎 on hers, and ONE reply saying why, naming the request.
    let t = thread7();
    let said = acknowledge(&t, &comment_on(7, true, t.mallory), &o);
    assert_eq!(
        t.gh.reactions(),
        [
            (t.mallory, ReactionKind::Eyes),
            (t.mallory, ReactionKind::MinusOne)
        ]
    );
    let r = replies(&t.gh);
    assert_eq!(r.len(), 1, "{r:?}");
    assert!(
        r[0].starts_with("@mallory ") && r[0].contains(ID),
        "{}",
        r[0]
    );
    assert!(said.contains("refused @mallory"), "{said}");
    assert_eq!(
        t.gh.calls_to("create_comment")[0].args[1],
        "7",
        "on the request's thread"
    );

    // carol's command was made before this request: an earlier request's business.
    let t = thread7();
    acknowledge(&t, &comment_on(7, true, t.carol), &o);
    assert!(t.gh.writes().is_empty(), "{:?}", t.gh.writes());

    // A review run acknowledges no comment.
    let t = thread7();
    let review = Trigger::Review {
        pulls: vec![7],
        head_sha: SHA.into(),
    };
    acknowledge(&t, &review, &o);
    assert!(t.gh.writes().is_empty(), "{:?}", t.gh.writes());
}

#[test]
fn a_refused_button_press_gets_one_reply_and_no_reactions() {
    let t = thread7();
    let now = t.posted.request.posted_at + chrono::Duration::minutes(1);
    // The press, as decide adds it: the presser's command under the BUTTON id.
    let press = approval::Comment {
        id: BUTTON,
        author: approval::Author {
            login: "dave".into(),
            id: 5,
            is_bot: false,
        },
        body: format!("/approve {ID}"),
        created_at: now,
        updated_at: now,
        url: "https://github.com/acme/api/runs/99".into(),
    };
    let o = outcome(&t, vec![press], now);
    acknowledge(&t, &button(ID, true, "dave"), &o);
    assert!(
        t.gh.reactions().is_empty(),
        "a check run has no comment to react to"
    );
    let r = replies(&t.gh);
    assert_eq!(r.len(), 1, "{r:?}");
    assert!(
        r[0].starts_with("@dave (the check run's button)"),
        "{}",
        r[0]
    );
    assert_eq!(t.gh.writes().len(), 1, "{:?}", t.gh.writes());
}
