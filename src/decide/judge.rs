//! Judging one pending request as the waiting gate would, and acting on the decision.
//!
//! The requesting run's facts are its verified claims; from them the protected base,
//! the rules there, the changed paths and the requester are found with the gate's own
//! functions (`gate::facts`, `gate::paths`), and the pure engine decides over the
//! thread's comments and reviews (plus a button press, as the presser's command). Only
//! the event's own comment is acknowledged, so a run never answers a command twice.

use chrono::Utc;

use crate::approval::{
    self, AckVerdict, Conclusion, Decision, Events, FactsByLogin, Refusal, Target,
};
use crate::audit::approvals::Records;
use crate::audit::once::{Once, append_once};
use crate::audit::{self, Draft, Kind, RuleRef, Signers, Subject};
use crate::base::AtDefault;
use crate::exit::Failure;
use crate::gate::context::{self, RecordContext, Token};
use crate::gate::facts::{self, EventFacts};
use crate::gate::paths;
use crate::github::{CheckHandle, CheckSpec, GitHub, ReactionKind, RepoName};
use crate::policy::MatchInput;
use crate::progress::Progress;
use crate::repo::Repo;
use crate::request::{self, Ask, LINK, Posted, body, gh_fail, record};

use super::event::Trigger;
use super::pending::{Pending, Source};

/// What every judgement of this run shares.
pub(super) struct Ctx<'a, G: GitHub> {
    pub repo: &'a Repo,
    pub client: &'a G,
    pub name: &'a RepoName,
    pub default: &'a AtDefault,
    pub records: &'a Records<'a>,
    pub settings: &'a audit::Settings,
    pub signers: &'a Signers,
    /// decide's certifier principal when it certifies with a key.
    pub certifier: Option<&'a str>,
    pub own: &'a RecordContext,
    pub trigger: &'a Trigger,
}

/// The comment id a button press stands in for (never a real comment's).
pub(super) const BUTTON: u64 = u64::MAX;

/// A request made ready for the engine: what the waiting gate (or `jitaa request`)
/// would have had.
struct Judged {
    ask: Ask,
    posted: Posted,
    policy_digest: String,
    /// The requesting workflow run, re-run once approved (none for a developer's ask).
    run_id: Option<u64>,
    /// A gate's request has check runs to complete; a developer's has none.
    has_checks: bool,
}

/// Judges `p`; on a decision records it once, completes the check run, updates the
/// request comment and, when approved, re-runs the requesting run.
pub(super) async fn one<G: GitHub>(
    ctx: &Ctx<'_, G>,
    p: &Pending<'_>,
    say: &dyn Progress,
) -> Result<(), Failure> {
    let judged = match &p.source {
        Source::Run { record, claims } => from_run(ctx, p, record, claims, say).await?,
        Source::Developer { ask, author } => from_developer(ctx, p, ask, author, say)?,
    };
    match judged {
        Some(j) => decide(ctx, p, j, say).await,
        None => Ok(()),
    }
}

/// A gate's request: the run's facts from its verified claims, then the protected
/// base, rules and changed paths with the gate's own functions.
async fn from_run<G: GitHub>(
    ctx: &Ctx<'_, G>,
    p: &Pending<'_>,
    record: &audit::Record,
    claims: &crate::oidc::Context,
    say: &dyn Progress,
) -> Result<Option<Judged>, Failure> {
    let client = ctx.client;
    // The environment is the record's (the gate's `--environment`), which must agree
    // with a claim that names one.
    let token = Token::Verified {
        context: Box::new(claims.clone()),
        jwks: None,
    };
    let mut run = context::run(&token, record.payload.subject.environment.as_deref())?;
    let run_id: Option<u64> = claims.run_id.parse().ok();
    run.run_url = crate::oidc::process_env("GITHUB_SERVER_URL").map(|s| {
        format!(
            "{}/{}/actions/runs/{}",
            s.trim_end_matches('/'),
            run.repo,
            claims.run_id
        )
    });
    if !run
        .repo
        .to_string()
        .eq_ignore_ascii_case(&ctx.name.to_string())
    {
        say.say(&format!(
            "jitaa decide: request {}: its run is of {}, not {}; not judged",
            p.id, run.repo, ctx.name
        ));
        return Ok(None);
    }
    if !run.sha.eq_ignore_ascii_case(&record.payload.subject.sha) {
        say.say(&format!(
            "jitaa decide: request {}: its record is for {} but its run for {}; not judged",
            p.id, record.payload.subject.sha, run.sha
        ));
        return Ok(None);
    }
    // A press counts only on the request's own check run, on the request's commit: any
    // workflow with `checks: write` can make a check run elsewhere that names the id.
    if let Trigger::Button {
        check_run_id,
        sender,
        ..
    } = ctx.trigger
    {
        let own = client
            .check_runs_for(&run.repo, &run.sha)
            .await
            .map_err(gh_fail("reading the request's check runs"))?
            .iter()
            .any(|c| c.id == *check_run_id && c.external_id.as_deref() == Some(p.id.as_str()));
        if !own {
            let text = body::refusal_reply(
                &format!("{sender} (the check run's button)"),
                &p.id,
                &format!(
                    "check run {check_run_id} is not this request's: it is not on {} or does not name the request",
                    run.sha
                ),
            );
            say.say(&format!("jitaa decide: {text}"));
            if let Err(e) = client
                .create_comment(&run.repo, p.thread.number, &text)
                .await
            {
                tracing::warn!("could not reply on the thread: {e}");
            }
            return Ok(None);
        }
    }
    let none = EventFacts::default();
    let pr = if p.thread.is_pr {
        Some(
            client
                .pull_request(&run.repo, p.thread.number)
                .await
                .map_err(gh_fail("reading the request's pull request"))?,
        )
    } else {
        None
    };
    let base = facts::protected_base(
        ctx.repo,
        client,
        &run,
        pr.as_ref(),
        ctx.default,
        ctx.records,
        &none,
    )
    .await?;
    let at = facts::rules_at(ctx.repo, client, &run, &base, None).await?;
    let changed = paths::changed_paths(
        ctx.repo,
        client,
        &run.repo,
        pr.as_ref()
            .filter(|x| x.base_sha.eq_ignore_ascii_case(&base.sha)),
        &base,
        &run.sha,
    )
    .await?;
    let owners = request::owners_of(at.codeowners.as_ref(), &changed);
    let mut rule = at
        .policy
        .policy
        .rule_for(&MatchInput {
            environment: run.environment.as_deref(),
            branch: run.git_ref.strip_prefix("refs/heads/"),
            paths: &changed,
            event: Some(&run.event),
            actor: Some(&run.actor),
        })
        .rule;
    let posted_at = p.comment.created_at;
    let deadline = record
        .payload
        .expires_at
        .as_deref()
        .and_then(|t| audit::record::parse_time(t).ok())
        .filter(|d| *d > posted_at)
        .unwrap_or_else(|| posted_at + to_chrono(rule.timeout));
    rule.timeout = (deadline - posted_at).to_std().unwrap_or_default();
    let target = match &run.environment {
        Some(e) => Target::Environment(e.clone()),
        None => Target::Ref(run.git_ref.clone()),
    };
    let ask = Ask {
        repo: run.repo.clone(),
        sha: run.sha.clone(),
        git_ref: Some(run.git_ref.clone()),
        target,
        requester: facts::requester(&run, pr.as_ref()),
        actor: run.actor.clone(),
        rule,
        paths: owners,
        run_url: run.run_url.clone(),
        review_sha: facts::review_sha(&run, pr.as_ref(), &none),
    };
    Ok(Some(Judged {
        posted: posted(p, &ask, deadline),
        ask,
        policy_digest: at.policy.digest,
        run_id,
        has_checks: true,
    }))
}

/// A developer's `jitaa request`: the rules at the remote branch's current tip (as the
/// hook will read them), over the paths the request states.
fn from_developer<G: GitHub>(
    ctx: &Ctx<'_, G>,
    p: &Pending<'_>,
    stated: &body::DeveloperAsk,
    author: &audit::Actor,
    say: &dyn Progress,
) -> Result<Option<Judged>, Failure> {
    let Some(branch) = stated.git_ref.strip_prefix("refs/heads/") else {
        say.say(&format!(
            "jitaa decide: request {}: `{}` is not a branch; not judged",
            p.id, stated.git_ref
        ));
        return Ok(None);
    };
    if !stated.complete {
        say.say(&format!(
            "jitaa decide: request {}: it changes more than {} paths, more than a request comment can state; push a branch and approve its pull request instead",
            p.id,
            body::MAX_ASK_PATHS
        ));
        return Ok(None);
    }
    let repo = ctx.repo;
    repo.fetch_branch("origin", branch, false);
    let tip = repo
        .git()
        .refname_to_id(&format!("refs/remotes/origin/{branch}"))
        .ok()
        .map(|t| t.to_string());
    let (_, at) = request::rules_at_remote_tip(repo, ctx.default, branch, tip.as_deref())?;
    let owners = request::owners_of(at.codeowners.as_ref(), &stated.paths);
    let deletion = stated.sha.bytes().all(|b| b == b'0');
    let mut rule = request::push_rule(
        &at.policy.policy,
        branch,
        &stated.paths,
        &author.login,
        deletion,
    );
    if rule.approvals == 0 {
        // `jitaa request` never asks then (the push needs no approval).
        say.say(&format!(
            "jitaa decide: request {}: rule `{}` needs no approval for that push; nothing to decide",
            p.id, rule.name
        ));
        return Ok(None);
    }
    rule.timeout = std::time::Duration::from_secs(stated.timeout_secs);
    let ask = Ask {
        repo: ctx.name.clone(),
        sha: stated.sha.clone(),
        git_ref: Some(stated.git_ref.clone()),
        target: Target::Ref(stated.git_ref.clone()),
        requester: author.clone(),
        actor: author.login.clone(),
        rule,
        paths: owners,
        run_url: None,
        review_sha: None,
    };
    let deadline = p.comment.created_at + to_chrono(ask.rule.timeout);
    Ok(Some(Judged {
        posted: posted(p, &ask, deadline),
        ask,
        policy_digest: at.policy.digest,
        run_id: None,
        has_checks: false,
    }))
}

fn to_chrono(d: std::time::Duration) -> chrono::Duration {
    chrono::Duration::from_std(d).unwrap_or_else(|_| chrono::Duration::zero())
}

/// The request as posted: bound to its comment's `created_at` and id.
fn posted(p: &Pending<'_>, ask: &Ask, deadline: chrono::DateTime<Utc>) -> Posted {
    Posted {
        request: approval::Request {
            id: p.id.clone(),
            repository: ask.repo.to_string(),
            sha: ask.review_sha.clone().unwrap_or_else(|| ask.sha.clone()),
            target: ask.target.clone(),
            requester: ask.requester.login.clone(),
            actor: ask.actor.clone(),
            posted_at: p.comment.created_at,
            comment_id: Some(p.comment.id),
            paths: ask.paths.clone(),
        },
        thread: p.thread.clone(),
        comment_id: p.comment.id,
        comment_url: p.comment.html_url.clone(),
        deadline,
    }
}

/// The engine over the thread; on a decision, the record, the check run, the comment
/// and the re-run.
async fn decide<G: GitHub>(
    ctx: &Ctx<'_, G>,
    p: &Pending<'_>,
    judged: Judged,
    say: &dyn Progress,
) -> Result<(), Failure> {
    let client = ctx.client;
    let Judged {
        ask,
        posted,
        policy_digest,
        run_id,
        has_checks,
    } = judged;
    let rule = &ask.rule;
    let requester = ask.requester.clone();
    let run_url = ask.run_url.clone();
    // The engine, over the thread (and the button press), with each author's facts.
    let now = Utc::now();
    let mut events = Events {
        comments: p.comments.iter().map(request::comment_event).collect(),
        reviews: Vec::new(),
    };
    if p.thread.is_pr {
        events.reviews = client
            .reviews(&ask.repo, p.thread.number)
            .await
            .map_err(gh_fail("reading the pull request's reviews"))?
            .iter()
            .map(request::review_event)
            .collect();
    }
    if let Trigger::Button {
        approve,
        sender,
        sender_id,
        check_run_id,
        ..
    } = ctx.trigger
    {
        events.comments.push(approval::Comment {
            id: BUTTON,
            author: approval::Author {
                login: sender.clone(),
                id: *sender_id,
                is_bot: false,
            },
            body: if *approve {
                format!("/approve {}", p.id)
            } else {
                "/deny pressed Deny on the check run".to_string()
            },
            created_at: now,
            updated_at: now,
            url: format!(
                "{}/{}/runs/{check_run_id}",
                crate::oidc::process_env("GITHUB_SERVER_URL")
                    .unwrap_or_else(|| "https://github.com".into())
                    .trim_end_matches('/'),
                ask.repo
            ),
        });
    }
    let mut facts_by_login = FactsByLogin::new();
    let mut resolved = std::collections::HashSet::new();
    request::resolve_facts(
        client,
        &ask,
        &posted,
        &events,
        &mut facts_by_login,
        &mut resolved,
    )
    .await?;
    let outcome = approval::decide(rule, &posted.request, &events, &facts_by_login, now);
    acknowledge(client, ctx.trigger, &ask, &posted, &outcome, say).await;

    if let Decision::Pending { .. } = outcome.decision {
        let line = request::status_line(&outcome);
        say.say(&format!("jitaa decide: request {}: {line}", p.id));
        // A press leaves nothing on the thread: a later run would not see it.
        if let Trigger::Button {
            approve: true,
            sender,
            ..
        } = ctx.trigger
            && outcome
                .acknowledgements
                .iter()
                .any(|a| a.comment_id == BUTTON && matches!(a.verdict, AckVerdict::Accepted))
        {
            let text = format!(
                "@{sender} your Approve press counted, but request `{}` still needs more: {line}. A press is not kept for later; comment `/approve` to be counted when the others approve.",
                p.id
            );
            if let Err(e) = client
                .create_comment(&ask.repo, p.thread.number, &text)
                .await
            {
                tracing::warn!("could not reply on the thread: {e}");
            }
        }
        return Ok(());
    }
    let summary = outcome.explanation.summary.clone();
    let ended = Conclusion::of(&outcome.decision, rule.ttl, now);
    if let Some(principal) = ctx.certifier
        && crate::audit::approvals::is_requester(principal, &requester.login)
    {
        say.say(&format!(
            "jitaa decide: request {}: decide's key ({principal}) is the requester's own; its record will not count",
            p.id
        ));
    }

    // ONE decision record, however many decide runs race for it.
    let mut draft = Draft::new(
        Kind::Decision,
        ask.repo.to_string(),
        Subject {
            sha: ask.sha.clone(),
            git_ref: ask.git_ref.clone(),
            environment: match &ask.target {
                Target::Environment(e) => Some(e.clone()),
                Target::Ref(_) => None,
            },
        },
        requester.clone(),
    );
    draft.decision = Some(ended.record());
    draft.rule = Some(RuleRef {
        name: rule.name.clone(),
        approvals: rule.approvals,
        policy_digest,
    });
    draft.reason = ended.reason(&summary);
    if let Conclusion::Approved {
        approvals,
        valid_until,
        ..
    } = &ended
    {
        draft.approvals = record::approvals(approvals);
        draft.expires_at = Some(*valid_until);
    }
    draft.context = ctx.own.value.clone();
    if let serde_json::Value::Object(m) = &mut draft.context {
        m.insert(LINK.into(), serde_json::json!({ "id": p.id }));
    }
    draft.context_source = Some(ctx.own.source);
    draft.jwks = ctx.own.jwks.clone();
    let id = p.id.clone();
    let written = append_once(
        ctx.repo.git(),
        ctx.settings,
        &draft,
        ctx.signers,
        &|r: &Records<'_>| r.decision_of(&id).map(|d| d.payload.id.clone()),
    )
    .map_err(Failure::from)?;
    let rec = match written {
        Once::Written(a) => a,
        Once::Exists(other) => {
            say.say(&format!(
                "jitaa decide: request {} was decided meanwhile by another run (record {other})",
                p.id
            ));
            return Ok(());
        }
    };
    let msg = match &ended {
        Conclusion::Lapsed { reason } => reason.clone(),
        _ => format!("{summary} (record {})", rec.id),
    };
    say.say(&format!("jitaa decide: request {}: {msg}", p.id));

    // Report: the check run, the request comment; restart an approved deployment.
    let (conclusion, title) = ended.check();
    if has_checks {
        complete_checks(client, &ask.repo, &ask.sha, &p.id, conclusion, title, &msg).await;
    }
    request::show_outcome(client, &ask, &posted, &format!("{} {msg}", ended.mark())).await;
    if let (Conclusion::Approved { .. }, Some(run_id)) = (&ended, run_id) {
        let what = run_url.as_deref().unwrap_or("the requesting run");
        match client.rerun(&ask.repo, run_id).await {
            Ok(()) => say.say(&format!(
                "jitaa decide: re-running {what} (its gate reuses the approval)"
            )),
            Err(e) => crate::actions::warning(&format!(
                "jitaa decide: could not re-run {what} ({e}); the approval stands: re-run that workflow run by hand (the workflow needs `actions: write`)"
            )),
        }
    }
    Ok(())
}

/// Reactions and the one reply, for the event's own command only (`trigger`'s comment,
/// or its button press).
pub(super) async fn acknowledge<G: GitHub>(
    client: &G,
    trigger: &Trigger,
    ask: &Ask,
    posted: &Posted,
    outcome: &approval::Outcome,
    say: &dyn Progress,
) {
    let own = match trigger {
        Trigger::Comment { comment_id, .. } => *comment_id,
        Trigger::Button { .. } => BUTTON,
        Trigger::Review { .. } => return,
    };
    for ack in outcome
        .acknowledgements
        .iter()
        .filter(|a| a.comment_id == own)
    {
        let accepted = match &ack.verdict {
            AckVerdict::Refused {
                reason: Refusal::BeforeRequest { .. },
                ..
            } => continue,
            AckVerdict::Accepted => true,
            AckVerdict::Refused { .. } => false,
        };
        if own != BUTTON {
            request::react(client, ask, own, ReactionKind::Eyes).await;
            let kind = if accepted {
                ReactionKind::PlusOne
            } else {
                ReactionKind::MinusOne
            };
            request::react(client, ask, own, kind).await;
        }
        if let AckVerdict::Refused { message, .. } = &ack.verdict {
            let what = if own == BUTTON {
                format!("{} (the check run's button)", ack.login)
            } else {
                ack.login.clone()
            };
            let text = body::refusal_reply(&what, &posted.request.id, message);
            say.say(&format!(
                "jitaa decide: refused @{what}'s command: {message}"
            ));
            if let Err(e) = client
                .create_comment(&ask.repo, posted.thread.number, &text)
                .await
            {
                tracing::warn!("could not reply on the thread: {e}");
            }
        }
    }
}

/// Completes the request's check runs (their buttons removed). Best effort.
async fn complete_checks<G: GitHub>(
    client: &G,
    repo: &RepoName,
    sha: &str,
    request_id: &str,
    conclusion: &str,
    title: &str,
    summary: &str,
) {
    let runs = match client.check_runs_for(repo, sha).await {
        Ok(r) => r,
        Err(e) => {
            tracing::warn!("could not list the check runs of {sha}: {e}");
            return;
        }
    };
    for cr in runs
        .into_iter()
        .filter(|c| c.external_id.as_deref() == Some(request_id))
    {
        let spec = CheckSpec {
            name: cr.name.clone(),
            head_sha: sha.to_string(),
            conclusion: Some(conclusion.to_string()),
            title: title.to_string(),
            summary: summary.to_string(),
            details_url: None,
            external_id: Some(request_id.to_string()),
            actions: Vec::new(),
        };
        if let Err(e) = client
            .publish_check(repo, &spec, Some(&CheckHandle::CheckRun { id: cr.id }))
            .await
        {
            tracing::warn!("could not complete check run {}: {e}", cr.id);
        }
    }
}
