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
use super::pending::Pending;

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
const BUTTON: u64 = u64::MAX;

/// Judges `p`; on a decision records it once, completes the check run, updates the
/// request comment and, when approved, re-runs the requesting run.
pub(super) async fn one<G: GitHub>(
    ctx: &Ctx<'_, G>,
    p: &Pending<'_>,
    say: &dyn Progress,
) -> Result<(), Failure> {
    let client = ctx.client;
    // The requesting run, from its verified claims; the environment is the record's
    // (the gate's `--environment`), which must agree with a claim that names one.
    let token = Token::Verified {
        context: Box::new(p.claims.clone()),
        jwks: None,
    };
    let mut run = context::run(&token, p.record.payload.subject.environment.as_deref())?;
    let run_id: u64 = p.claims.run_id.parse().unwrap_or(0);
    run.run_url = crate::oidc::process_env("GITHUB_SERVER_URL").map(|s| {
        format!(
            "{}/{}/actions/runs/{run_id}",
            s.trim_end_matches('/'),
            run.repo
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
        return Ok(());
    }
    if !run.sha.eq_ignore_ascii_case(&p.record.payload.subject.sha) {
        say.say(&format!(
            "jitaa decide: request {}: its record is for {} but its run for {}; not judged",
            p.id, p.record.payload.subject.sha, run.sha
        ));
        return Ok(());
    }

    // The protected base, the rules there and the changed paths, as the gate found them.
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
    let branch = run.git_ref.strip_prefix("refs/heads/");
    let mut rule = at
        .policy
        .policy
        .rule_for(&MatchInput {
            environment: run.environment.as_deref(),
            branch,
            paths: &changed,
            event: Some(&run.event),
            actor: Some(&run.actor),
        })
        .rule;
    let posted_at = p.comment.created_at;
    let deadline = p
        .record
        .payload
        .expires_at
        .as_deref()
        .and_then(|t| audit::record::parse_time(t).ok())
        .filter(|d| *d > posted_at)
        .unwrap_or_else(|| {
            posted_at
                + chrono::Duration::from_std(rule.timeout)
                    .unwrap_or_else(|_| chrono::Duration::zero())
        });
    rule.timeout = (deadline - posted_at).to_std().unwrap_or_default();
    let requester = facts::requester(&run, pr.as_ref());
    let target = match &run.environment {
        Some(e) => Target::Environment(e.clone()),
        None => Target::Ref(run.git_ref.clone()),
    };
    let review_sha = facts::review_sha(&run, pr.as_ref(), &none);
    let ask = Ask {
        repo: run.repo.clone(),
        sha: run.sha.clone(),
        git_ref: Some(run.git_ref.clone()),
        target: target.clone(),
        requester: requester.clone(),
        actor: run.actor.clone(),
        rule: rule.clone(),
        paths: owners.clone(),
        run_url: run.run_url.clone(),
        review_sha: review_sha.clone(),
    };
    let posted = Posted {
        request: approval::Request {
            id: p.id.clone(),
            repository: run.repo.to_string(),
            sha: review_sha.unwrap_or_else(|| run.sha.clone()),
            target,
            requester: requester.login.clone(),
            actor: run.actor.clone(),
            posted_at,
            comment_id: Some(p.comment.id),
            paths: owners,
        },
        thread: p.thread.clone(),
        comment_id: p.comment.id,
        comment_url: p.comment.html_url.clone(),
        deadline,
    };

    // The engine, over the thread (and the button press), with each author's facts.
    let now = Utc::now();
    let mut events = Events {
        comments: p.comments.iter().map(request::comment_event).collect(),
        reviews: Vec::new(),
    };
    if p.thread.is_pr {
        events.reviews = client
            .reviews(&run.repo, p.thread.number)
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
                "{}/runs/{check_run_id}",
                run.run_url.clone().unwrap_or_default()
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
    let outcome = approval::decide(&rule, &posted.request, &events, &facts_by_login, now);
    acknowledge(ctx, &ask, &posted, &outcome, say).await;

    if let Decision::Pending { .. } = outcome.decision {
        say.say(&format!(
            "jitaa decide: request {}: {}",
            p.id,
            request::status_line(&outcome)
        ));
        return Ok(());
    }
    let summary = outcome.explanation.summary.clone();
    let ended = Conclusion::of(&outcome.decision, rule.ttl, now);
    if let Some(principal) = ctx.certifier
        && principal_is(principal, &requester.login)
    {
        say.say(&format!(
            "jitaa decide: request {}: decide's key ({principal}) is the requester's own; its record will not count",
            p.id
        ));
    }

    // ONE decision record, however many decide runs race for it.
    let mut draft = Draft::new(
        Kind::Decision,
        run.repo.to_string(),
        Subject {
            sha: run.sha.clone(),
            git_ref: Some(run.git_ref.clone()),
            environment: run.environment.clone(),
        },
        requester,
    );
    draft.decision = Some(ended.record());
    draft.rule = Some(RuleRef {
        name: rule.name.clone(),
        approvals: rule.approvals,
        policy_digest: at.policy.digest.clone(),
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
    complete_checks(client, &run.repo, &run.sha, &p.id, conclusion, title, &msg).await;
    request::show_outcome(client, &ask, &posted, &format!("{} {msg}", ended.mark())).await;
    if matches!(ended, Conclusion::Approved { .. }) {
        match client.rerun(&run.repo, run_id).await {
            Ok(()) => say.say(&format!(
                "jitaa decide: re-running {} (its gate reuses the approval)",
                run.run_url.as_deref().unwrap_or("the requesting run")
            )),
            Err(e) => crate::actions::warning(&format!(
                "jitaa decide: could not re-run {} ({e}); the approval stands: re-run that workflow run by hand (the workflow needs `actions: write`)",
                run.run_url.as_deref().unwrap_or("the requesting run")
            )),
        }
    }
    Ok(())
}

/// Reactions and the one reply, for the event's own command only.
async fn acknowledge<G: GitHub>(
    ctx: &Ctx<'_, G>,
    ask: &Ask,
    posted: &Posted,
    outcome: &approval::Outcome,
    say: &dyn Progress,
) {
    let own = match ctx.trigger {
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
            request::react(ctx.client, ask, own, ReactionKind::Eyes).await;
            let kind = if accepted {
                ReactionKind::PlusOne
            } else {
                ReactionKind::MinusOne
            };
            request::react(ctx.client, ask, own, kind).await;
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
            if let Err(e) = ctx
                .client
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

/// A key principal that names `login` (`alice`, `alice@host`).
fn principal_is(principal: &str, login: &str) -> bool {
    principal.eq_ignore_ascii_case(login)
        || principal
            .split_once('@')
            .is_some_and(|(l, _)| l.eq_ignore_ascii_case(login))
}
