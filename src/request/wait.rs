//! Waiting for a decision: the poll → facts → engine → acknowledge loop.
//!
//! Each change on the thread is fed to the pure engine with the facts of every command
//! author (permission and the team memberships the rule needs), resolved once per login.
//! Commands get 👀 when seen, then 👍 or 👎 as the engine acknowledges them; a refusal
//! gets ONE reply, remembered here across polls (the engine does not remember). Commands
//! made before this request (earlier requests' business) get neither. A status line is
//! printed on every change and at least every `status_every`.

use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant};

use chrono::Utc;

use crate::approval::{
    self, AckVerdict, Author, Decision, Events, Facts, FactsByLogin, Outcome, Refusal, ReviewState,
};
use crate::exit::Failure;
use crate::github::{self, GitHub, PageSource, PollConfig, Poller, ReactionKind, Snapshot};

use super::{Ask, Posted, body, gh_fail};

/// How to wait.
#[derive(Debug, Clone)]
pub(crate) struct WaitOptions {
    /// The idle polling interval cap (`--poll`); default the poller's 0.5–2 s.
    pub poll: Option<Duration>,
    /// Print a status line at least this often.
    pub status_every: Duration,
    /// A spinner instead of lines (`jitaa request --wait` on a terminal).
    pub spinner: bool,
}

impl Default for WaitOptions {
    fn default() -> Self {
        WaitOptions {
            poll: None,
            status_every: Duration::from_secs(30),
            spinner: false,
        }
    }
}

/// How waiting ended.
#[derive(Debug, Clone)]
pub(crate) enum Ended {
    /// The engine decided (approved, denied or expired).
    Decided(Box<Outcome>),
    /// SIGTERM or SIGINT (Ctrl-C or Ctrl-Break on Windows): no decision.
    Cancelled(&'static str),
}

/// The poll configuration for `--poll DUR`: from min(0.5 s, DUR) backing off to DUR.
pub(super) fn poll_config(poll: Option<Duration>) -> PollConfig {
    let mut cfg = PollConfig::default();
    if let Some(p) = poll {
        let p = p.max(Duration::from_millis(20));
        cfg.max = p;
        cfg.min = cfg.min.min(p);
    }
    cfg
}

/// The cancelling signals, installed early (before anything is posted) so a signal that
/// arrives while the request is being set up still cancels cleanly: SIGTERM and SIGINT
/// on Unix, Ctrl-C and Ctrl-Break on Windows. `recv` names the one that arrived.
pub(crate) struct Signals {
    /// None only in unit tests ([`Signals::none`]).
    os: Option<os::Listeners>,
}

impl Signals {
    /// Must run inside the tokio runtime.
    pub(crate) fn install() -> Result<Signals, Failure> {
        let os = os::Listeners::install()
            .map_err(|e| Failure::unreachable(format!("installing signal handlers: {e}")))?;
        Ok(Signals { os: Some(os) })
    }

    /// No signal ever arrives: for unit tests of the wait loop, which must not be
    /// cancelled by the signals another test sends to the test process.
    #[cfg(test)]
    pub(crate) fn none() -> Signals {
        Signals { os: None }
    }

    /// Waits for the next cancelling signal and returns its name (`SIGTERM`, `Ctrl-C`, ...).
    pub(crate) async fn recv(&mut self) -> &'static str {
        match self.os.as_mut() {
            Some(os) => os.recv().await,
            None => std::future::pending().await,
        }
    }
}

#[cfg(unix)]
mod os {
    use tokio::signal::unix::{Signal, SignalKind, signal};

    pub(super) struct Listeners {
        term: Signal,
        int: Signal,
    }

    impl Listeners {
        pub(super) fn install() -> std::io::Result<Listeners> {
            Ok(Listeners {
                term: signal(SignalKind::terminate())?,
                int: signal(SignalKind::interrupt())?,
            })
        }

        pub(super) async fn recv(&mut self) -> &'static str {
            tokio::select! {
                _ = self.term.recv() => "SIGTERM",
                _ = self.int.recv() => "SIGINT",
            }
        }
    }
}

#[cfg(windows)]
mod os {
    use tokio::signal::windows::{CtrlBreak, CtrlC, ctrl_break, ctrl_c};

    pub struct Listeners {
        c: CtrlC,
        brk: CtrlBreak,
    }

    impl Listeners {
        pub fn install() -> std::io::Result<Listeners> {
            Ok(Listeners {
                c: ctrl_c()?,
                brk: ctrl_break()?,
            })
        }

        pub async fn recv(&mut self) -> &'static str {
            tokio::select! {
                _ = self.c.recv() => "Ctrl-C",
                _ = self.brk.recv() => "Ctrl-Break",
            }
        }
    }
}

/// What this process already did on the thread.
#[derive(Default)]
struct Acked {
    eyes: HashSet<u64>,
    /// The reaction given per comment (true = 👍).
    verdict: HashMap<u64, bool>,
    replied: HashSet<u64>,
}

/// Waits until the request is decided, or a signal arrives. Any GitHub failure (after
/// the client's retries) is an error: waiting never turns a failure into a decision.
pub(crate) async fn wait<G: GitHub + PageSource>(
    client: &G,
    ask: &Ask,
    posted: &Posted,
    opts: &WaitOptions,
    signals: &mut Signals,
    say: &dyn crate::progress::Progress,
) -> Result<Ended, Failure> {
    let repo = &ask.repo;
    let n = posted.thread.number;
    let mut poller = Poller::new(client, repo, n)
        .since(repo, n, posted.request.posted_at)
        .with_config(poll_config(opts.poll));
    if posted.thread.is_pr {
        poller = poller.with_reviews(repo, n);
    }
    let progress = Shown::new(opts.spinner, say);
    let mut events = Events::default();
    let mut facts = FactsByLogin::new();
    let mut resolved: HashSet<String> = HashSet::new();
    let mut acked = Acked::default();
    // The first status line, before anything is polled.
    let mut last_line = status_line(&approval::decide(
        &ask.rule,
        &posted.request,
        &events,
        &facts,
        Utc::now(),
    ));
    progress.show(&last_line);
    let mut last_print = Instant::now();
    let mut first = true;

    loop {
        let left = (posted.deadline - Utc::now())
            .to_std()
            .unwrap_or(Duration::ZERO);
        let mut changed = first;
        first = false;
        tokio::select! {
            polled = poller.next() => {
                if let Some(snapshot) = polled.map_err(gh_fail("polling the request thread"))? {
                    events = to_events(&snapshot);
                    resolve_facts(client, ask, posted, &events, &mut facts, &mut resolved).await?;
                    changed = true;
                }
            }
            // Wake at the deadline even when polling slowly.
            () = tokio::time::sleep(left + Duration::from_millis(10)) => {}
            signal = signals.recv() => {
                progress.finish();
                return Ok(Ended::Cancelled(signal));
            }
        }
        let outcome = approval::decide(&ask.rule, &posted.request, &events, &facts, Utc::now());
        if changed {
            acknowledge(client, ask, posted, &outcome, &mut acked, say).await;
        }
        if let Decision::Pending { .. } = outcome.decision {
            let line = status_line(&outcome);
            let same = strip_time(&line) == strip_time(&last_line);
            if !same || last_print.elapsed() >= opts.status_every || progress.is_spinner() {
                progress.show(&line);
                last_print = Instant::now();
                last_line = line;
            }
            continue;
        }
        progress.finish();
        return Ok(Ended::Decided(Box::new(outcome)));
    }
}

/// The engine's view of a poll: edits this poller saw are marked as edits even when
/// GitHub's one-second timestamps did not move.
fn to_events(s: &Snapshot) -> Events {
    let comments = s
        .comments
        .iter()
        .map(|c| {
            let mut e = comment_event(c);
            if s.edited.contains(&c.id) && e.updated_at <= e.created_at {
                e.updated_at = e.created_at + chrono::Duration::seconds(1);
            }
            e
        })
        .collect();
    let reviews = s.reviews.iter().map(review_event).collect();
    Events { comments, reviews }
}

fn author(a: &github::Actor) -> Author {
    Author {
        login: a.login.clone(),
        id: a.id,
        is_bot: a.is_bot(),
    }
}

/// A comment as the engine sees it.
pub(crate) fn comment_event(c: &github::Comment) -> approval::Comment {
    approval::Comment {
        id: c.id,
        author: author(&c.author),
        body: c.body.clone(),
        created_at: c.created_at,
        updated_at: c.updated_at,
        url: c.html_url.clone(),
    }
}

/// A review as the engine sees it.
pub(crate) fn review_event(r: &github::Review) -> approval::Review {
    approval::Review {
        id: r.id,
        author: author(&r.author),
        state: ReviewState::from_api(&r.state),
        commit_id: r.commit_id.clone().unwrap_or_default(),
        submitted_at: r.submitted_at,
        url: r.html_url.clone(),
    }
}

/// GitHub's answer as the engine's permission: a known `role_name`, else the coarse
/// `permission` (a custom role's base); anything else stays unresolved (ineligible).
pub(super) fn to_permission(p: &github::Permission) -> Option<approval::Permission> {
    p.role_name
        .as_deref()
        .and_then(|r| r.parse().ok())
        .or_else(|| p.permission.parse().ok())
}

/// Resolves the facts of every command author not seen before: permission, and the
/// memberships of the teams the rule and the changed paths name.
pub(crate) async fn resolve_facts<G: GitHub>(
    client: &G,
    ask: &Ask,
    posted: &Posted,
    events: &Events,
    facts: &mut FactsByLogin,
    resolved: &mut HashSet<String>,
) -> Result<(), Failure> {
    let teams = approval::eligibility::teams_to_resolve(&ask.rule, &posted.request);
    for login in approval::eligibility::logins_to_resolve(events) {
        if !resolved.insert(login.clone()) {
            continue;
        }
        let p = client
            .permission(&ask.repo, &login)
            .await
            .map_err(gh_fail("reading a commenter's permission"))?;
        let mut f = Facts {
            permission: to_permission(&p),
            teams: Vec::new(),
        };
        for (org, slug) in &teams {
            let member = client
                .team_member(org, slug, &login)
                .await
                .map_err(gh_fail("reading a team membership"))?;
            if member {
                f.teams.push((org.clone(), slug.clone()));
            }
        }
        facts.insert(&login, f);
    }
    Ok(())
}

/// Reactions and replies for the engine's acknowledgements. Best effort: a reaction that
/// fails is logged and does not change the decision.
async fn acknowledge<G: GitHub>(
    client: &G,
    ask: &Ask,
    posted: &Posted,
    outcome: &Outcome,
    acked: &mut Acked,
    say: &dyn crate::progress::Progress,
) {
    for ack in &outcome.acknowledgements {
        let accepted = match &ack.verdict {
            // Commands from before this request answered an earlier one.
            AckVerdict::Refused {
                reason: Refusal::BeforeRequest { .. },
                ..
            } => continue,
            AckVerdict::Accepted => true,
            AckVerdict::Refused { .. } => false,
        };
        let id = ack.comment_id;
        if acked.eyes.insert(id) {
            react(client, ask, id, ReactionKind::Eyes).await;
        }
        if acked.verdict.get(&id) != Some(&accepted) {
            acked.verdict.insert(id, accepted);
            let kind = if accepted {
                ReactionKind::PlusOne
            } else {
                ReactionKind::MinusOne
            };
            react(client, ask, id, kind).await;
        }
        if let AckVerdict::Refused { message, .. } = &ack.verdict
            && acked.replied.insert(id)
        {
            let text = body::refusal_reply(&ack.login, &posted.request.id, message);
            say.say(&format!("refused @{}'s command: {message}", ack.login));
            if let Err(e) = client
                .create_comment(&ask.repo, posted.thread.number, &text)
                .await
            {
                tracing::warn!("could not reply to comment {id}: {e}");
            }
        }
    }
}

pub(crate) async fn react<G: GitHub>(client: &G, ask: &Ask, id: u64, kind: ReactionKind) {
    if let Err(e) = client.add_reaction(&ask.repo, id, kind).await {
        tracing::warn!("could not react {} to comment {id}: {e}", kind.as_str());
    }
}

/// `waiting: approved by @bob; still needed: 1 more (@carol, @dave); 29m 12s left`.
pub(crate) fn status_line(outcome: &Outcome) -> String {
    let Decision::Pending {
        missing,
        uncovered,
        suggest,
        deadline,
    } = &outcome.decision
    else {
        return outcome.explanation.summary.clone();
    };
    let approved = if outcome.explanation.standing.is_empty() {
        "no approvals yet".to_string()
    } else {
        let who: Vec<String> = outcome
            .explanation
            .standing
            .iter()
            .map(|l| format!("@{}", l.trim_start_matches('@')))
            .collect();
        format!("approved by {}", who.join(", "))
    };
    let mut needed = format!("still needed: {missing} more");
    if !suggest.is_empty() {
        needed.push_str(&format!(" (from {})", suggest.join(", ")));
    }
    if !uncovered.is_empty() {
        needed.push_str(&format!(
            "; paths not yet covered: {}",
            uncovered.join(", ")
        ));
    }
    let left = (*deadline - Utc::now()).num_seconds().max(0) as u64;
    format!(
        "waiting: {approved}; {needed}; {} left",
        humantime::format_duration(Duration::from_secs(left))
    )
}

fn strip_time(line: &str) -> &str {
    line.rsplit_once("; ").map_or(line, |(a, _)| a)
}

/// Lines (to the flow's progress sink), or an indicatif spinner on a terminal.
enum Shown<'a> {
    Lines(&'a dyn crate::progress::Progress),
    Spinner(indicatif::ProgressBar),
}

impl<'a> Shown<'a> {
    fn new(spinner: bool, say: &'a dyn crate::progress::Progress) -> Shown<'a> {
        if spinner {
            let bar = indicatif::ProgressBar::new_spinner();
            bar.enable_steady_tick(Duration::from_millis(120));
            Shown::Spinner(bar)
        } else {
            Shown::Lines(say)
        }
    }
    fn is_spinner(&self) -> bool {
        matches!(self, Shown::Spinner(_))
    }
    fn show(&self, line: &str) {
        match self {
            Shown::Lines(say) => say.say(line),
            Shown::Spinner(b) => b.set_message(line.to_string()),
        }
    }
    fn finish(&self) {
        if let Shown::Spinner(b) = self {
            b.finish_and_clear();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn perm(p: &str, role: Option<&str>) -> github::Permission {
        github::Permission {
            permission: p.into(),
            role_name: role.map(String::from),
        }
    }

    #[test]
    fn roles_map_to_permissions_and_unknown_roles_fall_back_to_the_base() {
        use approval::Permission as P;
        assert_eq!(
            to_permission(&perm("write", Some("maintain"))),
            Some(P::Maintain)
        );
        assert_eq!(
            to_permission(&perm("read", Some("triage"))),
            Some(P::Triage)
        );
        assert_eq!(
            to_permission(&perm("write", Some("deployer"))),
            Some(P::Write)
        );
        assert_eq!(to_permission(&perm("read", Some("custom"))), Some(P::Read));
        assert_eq!(to_permission(&perm("weird", Some("custom"))), None);
        assert_eq!(to_permission(&perm("none", None)), Some(P::None));
    }

    #[test]
    fn poll_flag_caps_the_interval() {
        let c = poll_config(Some(Duration::from_millis(100)));
        assert_eq!(c.max, Duration::from_millis(100));
        assert!(c.min <= c.max);
        let d = poll_config(None);
        assert_eq!(d.max, PollConfig::default().max);
    }

    /// The wait loop over the in-memory GitHub: PR 7 of acme/api with jitaa's request
    /// comment, approvable by @bob (write), posted a minute ago by the fake's clock.
    mod over_fake {
        use std::sync::Mutex;

        use super::*;
        use crate::approval::Target;
        use crate::codeowners::Owner;
        use crate::github::RepoName;
        use crate::github::fake::FakeGitHub;
        use crate::policy::{Approvers, Coverage, Rule};
        use crate::request::Thread;

        const ID: &str = "01JDXYZ0ABCDEFGHJKMNPQRSTV";
        const SHA: &str = "86477b67e56d929692bf7a4ff92eeb057b0fb74e";

        #[derive(Default)]
        struct Lines(Mutex<Vec<String>>);

        impl crate::progress::Progress for Lines {
            fn say(&self, line: &str) {
                self.0.lock().unwrap().push(line.to_string());
            }
        }

        fn ask() -> Ask {
            Ask {
                repo: RepoName::parse("acme/api", "test").unwrap(),
                sha: SHA.into(),
                git_ref: Some("refs/heads/main".into()),
                target: Target::Environment("production".into()),
                requester: crate::audit::Actor {
                    login: "alice".into(),
                    id: 1,
                },
                actor: "alice".into(),
                rule: Rule {
                    name: "r".into(),
                    approvals: 1,
                    approvers: Approvers::List(vec![Owner::User("bob".into())]),
                    codeowners: Coverage::Any,
                    self_approval: false,
                    timeout: Duration::from_secs(30 * 60),
                    ttl: Duration::from_secs(15 * 60),
                },
                paths: Vec::new(),
                run_url: Some("https://github.com/acme/api/actions/runs/1".into()),
                review_sha: None,
            }
        }

        /// The fake with the request posted on PR 7, and the request as posted.
        fn posted() -> (FakeGitHub, Ask, Posted) {
            let gh = FakeGitHub::new()
                .starting_at(Utc::now() - chrono::Duration::seconds(60))
                .with_pr(FakeGitHub::pr(7, "alice", SHA))
                .with_permission("bob", "write")
                .with_permission("carol", "write")
                .with_permission("mallory", "read");
            let a = ask();
            let text = body::request_comment(&a, ID, a.rule.timeout, None);
            let id = gh.comment("jitaa[bot]", 7, &text);
            let c = gh.comments(7)[0].clone();
            let posted = Posted {
                request: approval::Request {
                    id: ID.into(),
                    repository: a.repo.to_string(),
                    sha: SHA.into(),
                    target: a.target.clone(),
                    requester: "alice".into(),
                    actor: "alice".into(),
                    posted_at: c.created_at,
                    comment_id: Some(id),
                    paths: Vec::new(),
                },
                thread: Thread {
                    number: 7,
                    is_pr: true,
                    url: "https://github.com/acme/api/pull/7".into(),
                },
                comment_id: id,
                comment_url: c.html_url,
                deadline: c.created_at + chrono::Duration::minutes(30),
            };
            (gh, a, posted)
        }

        /// Waits (polling every 20 ms) while `meanwhile` runs; at most 10 s.
        fn wait_while(
            gh: &FakeGitHub,
            a: &Ask,
            p: &Posted,
            meanwhile: impl std::future::Future<Output = ()>,
        ) -> Ended {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async {
                let mut signals = Signals::none();
                let opts = WaitOptions {
                    poll: Some(Duration::from_millis(20)),
                    ..WaitOptions::default()
                };
                let lines = Lines::default();
                let waiting = wait(gh, a, p, &opts, &mut signals, &lines);
                let (ended, ()) = tokio::time::timeout(Duration::from_secs(10), async {
                    tokio::join!(waiting, meanwhile)
                })
                .await
                .expect("the wait ends");
                ended.expect("no GitHub failure")
            })
        }

        fn approvers(ended: &Ended) -> Vec<String> {
            match ended {
                Ended::Decided(o) => match &o.decision {
                    Decision::Approved { approvals, .. } => {
                        approvals.iter().map(|a| a.login.clone()).collect()
                    }
                    other => panic!("not approved: {other:?}"),
                },
                Ended::Cancelled(s) => panic!("cancelled by {s}"),
            }
        }

        #[test]
        fn an_approvers_comment_ends_the_wait_approved() {
            let (gh, a, p) = posted();
            let bob = gh.comment("bob", 7, "/approve");
            let ended = wait_while(&gh, &a, &p, async {});
            assert_eq!(approvers(&ended), ["bob"]);
            assert_eq!(
                gh.reactions(),
                [(bob, ReactionKind::Eyes), (bob, ReactionKind::PlusOne)]
            );
            assert!(
                gh.calls_to("create_comment").is_empty(),
                "no reply to an accepted command"
            );
        }

        #[test]
        fn a_readers_approve_gets_one_reply_however_many_polls_see_it() {
            let (gh, a, p) = posted();
            let mallory = gh.comment("mallory", 7, "/approve");
            let meanwhile = async {
                tokio::time::sleep(Duration::from_millis(150)).await;
                gh.comment("carol", 7, "still reading");
                tokio::time::sleep(Duration::from_millis(150)).await;
                gh.comment("bob", 7, "/approve");
            };
            let ended = wait_while(&gh, &a, &p, meanwhile);
            assert_eq!(
                approvers(&ended),
                ["bob"],
                "mallory's command never counted"
            );
            let replies: Vec<String> = gh
                .calls_to("create_comment")
                .into_iter()
                .map(|c| c.args[2].clone())
                .collect();
            assert_eq!(replies.len(), 1, "{replies:?}");
            assert!(replies[0].starts_with("@mallory ") && replies[0].contains(ID));
            let on_mallory: Vec<ReactionKind> = gh
                .reactions()
                .into_iter()
                .filter(|(id, _)| *id == mallory)
                .map(|(_, k)| k)
                .collect();
            assert_eq!(on_mallory, [ReactionKind::Eyes, ReactionKind::MinusOne]);
            // Several polls saw her comment (the reply, carol's, bob's each changed the
            // thread), and her permission was read once.
            let fresh = gh.calls_to("get_page").len();
            assert!(fresh >= 4, "{fresh} polls");
            let asked: Vec<String> = gh
                .calls_to("permission")
                .into_iter()
                .map(|c| c.args[1].clone())
                .collect();
            assert_eq!(
                asked.iter().filter(|l| *l == "mallory").count(),
                1,
                "{asked:?}"
            );
        }
    }

    /// The cancel path through the portable interface: a real signal sent to this process
    /// is named by `Signals::recv`, and nothing resolves it before a signal arrives.
    #[cfg(unix)]
    #[test]
    fn a_signal_sent_to_the_process_cancels_with_its_name() {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async {
            let mut signals = Signals::install().unwrap();
            let quiet = tokio::time::timeout(Duration::from_millis(100), signals.recv()).await;
            assert!(quiet.is_err(), "no signal, no cancellation");
            for (flag, name) in [("-TERM", "SIGTERM"), ("-INT", "SIGINT")] {
                let sent = std::process::Command::new("kill")
                    .args([flag, &std::process::id().to_string()])
                    .status()
                    .unwrap();
                assert!(sent.success());
                let got = tokio::time::timeout(Duration::from_secs(10), signals.recv())
                    .await
                    .expect("the signal is seen");
                assert_eq!(got, name);
            }
        });
    }
}
