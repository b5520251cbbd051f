//! `jitaa gate`: hold a GitHub Actions step until the change is approved.
//!
//! Top to bottom, as [`run`] reads:
//! 1. the run's context from the VERIFIED OIDC token (env variables only with
//!    `oidc: optional` and no token);
//! 2. the protected base (PR base, push `before`, last approved deployment, default
//!    branch) and, read there, the policy, CODEOWNERS and trusted keys;
//! 3. a push to a protected branch needs an approval on the audit branch, else `violation`;
//! 4. the changed paths and the matching rule;
//! 5. a trusted, unexpired approval of the same (repository, sha, environment) is reused;
//! 6. `approvals: 0` is approved at once (`decision: auto`);
//! 7. otherwise ONE request on the PR (or request issue), a `request` record, a check run;
//! 8. wait (see [`crate::request`]) and record the decision: approved 0, denied 1,
//!    timed out 3, cancelled by SIGTERM/SIGINT 1 (not a decision; recorded `cancelled`).
//!
//! Any infrastructure failure is exit 5 and never approves.

mod base;
pub mod context;
mod push;
mod report;

use chrono::Utc;

use crate::actions;
use crate::approval::{Decision, Target};
use crate::audit::{self, Actor, Kind, RuleRef};
use crate::cli::{GateArgs, Global};
use crate::exit::{Code, Failure};
use crate::github::{Client, GitHub, PullRequest};
use crate::policy::MatchInput;
use crate::repo::Repo;
use crate::request::{self, Ask, Ended, WaitOptions, gh_fail, record};

use base::Base;
use context::Run;
use report::{Reporter, outputs, summary};

/// The `gate` subcommand.
pub fn cmd(global: &Global, args: &GateArgs) -> Result<Code, Failure> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Failure::unreachable(format!("starting the async runtime: {e}")))?;
    rt.block_on(run(global, args))
}

/// The gate, top to bottom.
pub async fn run(global: &Global, args: &GateArgs) -> Result<Code, Failure> {
    let mut signals = request::Signals::install()?;
    let repo = Repo::discover(global.repo.as_deref())?;
    // 1. Context.
    let token = context::fetch_token().await?;
    let run = context::run(&token, args.environment.as_deref())?;
    let client = Client::from_env(None).map_err(Failure::from)?;

    // 2. Protected base, and what is committed there.
    let pulls = client
        .pulls_for_commit(&run.repo, &run.sha)
        .await
        .map_err(gh_fail("finding the pull request of the commit"))?;
    let pr = find_pr(&client, &run, &pulls).await?;
    let base = protected_base(&repo, &run, pr.as_ref()).await?;
    let policy_path = args
        .policy
        .as_ref()
        .map(|p| p.to_string_lossy().trim_start_matches("./").to_string());
    let at = base::files_at(&repo, &client, &run.repo, &base, policy_path.as_deref()).await?;
    let policy = &at.policy.policy;
    println!(
        "jitaa: policy {} and CODEOWNERS read at {} (the protected base)",
        at.policy.file.as_deref().unwrap_or("(built-in defaults)"),
        base.why
    );
    let record_context = context::for_record(&token, &run, policy)?;
    let requester = match &pr {
        Some(p) => Actor {
            login: p.author.login.clone(),
            id: p.author.id,
        },
        None => Actor {
            login: run.actor.clone(),
            id: run.actor_id,
        },
    };
    let mut reporter = Reporter {
        repo: &repo,
        client: &client,
        run: &run,
        settings: record::settings(policy),
        signers: record::gate_signers(policy)?,
        context: record_context,
        requester: requester.clone(),
        rule: None,
        check: None,
    };

    // 3. A push to a protected branch needs an approval already.
    let branch = run.git_ref.strip_prefix("refs/heads/");
    if run.event == "push"
        && let Some(branch) = branch
    {
        let default = repo.default_branch("origin");
        if policy.is_protected(branch, default.as_deref()) {
            let records = record::records(repo.git(), &reporter.settings)?;
            let ok = push::approved(
                &records,
                &run.repo.to_string(),
                &run.git_ref,
                &run.sha,
                at.trusted.as_ref(),
                Utc::now(),
            );
            if !ok {
                return violation(&reporter, branch);
            }
            println!("jitaa: the push of {} to {branch} was approved", run.sha);
        }
    }

    // 4. Changed paths and the rule.
    let paths =
        base::changed_paths(&repo, &client, &run.repo, pr.as_ref(), &base, &run.sha).await?;
    let matched = policy.rule_for(&MatchInput {
        environment: run.environment.as_deref(),
        branch,
        paths: &paths,
        event: Some(&run.event),
        actor: Some(&run.actor),
    });
    let mut rule = matched.rule;
    if let Some(t) = args.timeout {
        rule.timeout = t;
    }
    reporter.rule = Some(RuleRef {
        name: rule.name.clone(),
        approvals: rule.approvals,
        policy_digest: at.policy.digest.clone(),
    });
    println!(
        "jitaa: rule `{}`: {} approval(s) from {}",
        rule.name,
        rule.approvals,
        rule.approvers_text().join(", ")
    );

    // 5. Reuse an unexpired approval of this (repository, sha, environment).
    let records = record::records(repo.git(), &reporter.settings)?;
    if let Some(r) = record::reusable(
        &records,
        &run.repo.to_string(),
        &run.sha,
        run.environment.as_deref(),
        at.trusted.as_ref(),
        Utc::now(),
    ) {
        return reuse(&mut reporter, r).await;
    }

    // 6. Auto-approval.
    let owners = request::owners_of(at.codeowners.as_ref(), &paths);
    let target = match &run.environment {
        Some(e) => Target::Environment(e.clone()),
        None => Target::Ref(run.git_ref.clone()),
    };
    if rule.approvals == 0 {
        return auto(&mut reporter, rule.ttl).await;
    }

    if let Some(w) = crate::policy::hosted::timeout_warning(&rule) {
        actions::warning(&w);
    }

    // 7. Ask: one request comment, a request record, a check run in progress.
    let ask = Ask {
        repo: run.repo.clone(),
        sha: run.sha.clone(),
        git_ref: Some(run.git_ref.clone()),
        target,
        requester,
        actor: run.actor.clone(),
        rule: rule.clone(),
        paths: owners,
        run_url: run.run_url.clone(),
        review_sha: review_sha(&run, pr.as_ref()),
    };
    let thread = match &pr {
        Some(p) => request::Thread {
            number: p.number,
            is_pr: true,
            url: p.html_url.clone(),
        },
        None => request::open_issue(&client, &ask).await?,
    };
    let posted = request::post(&client, &ask, thread, rule.timeout).await?;
    println!(
        "jitaa: request {} posted on {} (deadline {})",
        posted.request.id,
        posted.thread.url,
        audit::record::format_time(posted.deadline)
    );
    let mut draft = reporter.draft(Kind::Request, None);
    draft.reason = Some(format!(
        "request {} on {}",
        posted.request.id, posted.comment_url
    ));
    reporter.write(&draft, false)?;
    reporter
        .check(
            None,
            "Waiting for approval",
            &format!("Request {} on {}", posted.request.id, posted.thread.url),
        )
        .await;

    // 8. Wait, then record the decision.
    let opts = WaitOptions {
        poll: args.poll,
        ..WaitOptions::default()
    };
    let ended = request::wait(&client, &ask, &posted, &opts, &mut signals).await?;
    decided(&mut reporter, &ask, &posted, ended).await
}

/// The PR for the sha (API), or for a `pull_request*` event the payload's PR.
async fn find_pr(
    client: &Client,
    run: &Run,
    pulls: &[PullRequest],
) -> Result<Option<PullRequest>, Failure> {
    if let Some(p) = request::pick_pr(pulls, &run.sha) {
        return Ok(Some(p.clone()));
    }
    if run.event.starts_with("pull_request")
        && let Some((n, _)) = context::event_pr()
    {
        let p = client
            .pull_request(&run.repo, n)
            .await
            .map_err(gh_fail("reading the event's pull request"))?;
        return Ok(Some(p));
    }
    Ok(None)
}

/// On `pull_request*` events GitHub runs on the PR's merge commit while reviews are of
/// its head: reviews of the PR's head count for the merge commit. The head is GitHub's
/// (the API), never the event file alone, which an earlier step could rewrite; when the
/// event names another head (the PR moved since this run started), no review counts.
fn review_sha(run: &Run, pr: Option<&PullRequest>) -> Option<String> {
    if !run.event.starts_with("pull_request") {
        return None;
    }
    let head = pr.map(|p| p.head_sha.clone())?;
    if let Some(named) = context::event_pr().and_then(|(_, h)| h)
        && !named.eq_ignore_ascii_case(&head)
    {
        return None;
    }
    (!head.eq_ignore_ascii_case(&run.sha)).then_some(head)
}

/// Where the rules come from (never the sha under approval).
async fn protected_base(repo: &Repo, run: &Run, pr: Option<&PullRequest>) -> Result<Base, Failure> {
    match run.event.as_str() {
        "push" => {
            if let Some(before) = context::push_before()? {
                return base::push_base(repo, &before, &run.sha);
            }
        }
        "workflow_dispatch" | "schedule" => {
            if let Some(b) = last_deployment(repo, run)? {
                return Ok(b);
            }
        }
        _ => {
            if let Some(p) = pr {
                return Ok(base::pr_base(p));
            }
        }
    }
    let (name, tip) = base::default_branch_tip(repo)?;
    Ok(Base {
        sha: tip.clone(),
        why: format!(
            "the default branch `{name}` at {}",
            &tip[..tip.len().min(12)]
        ),
    })
}

/// The sha of the environment's last trusted approved deployment, read with the
/// default branch's policy and keys.
fn last_deployment(repo: &Repo, run: &Run) -> Result<Option<Base>, Failure> {
    let Some(env) = &run.environment else {
        return Ok(None);
    };
    let (_, tip) = base::default_branch_tip(repo)?;
    let tip_oid = git2::Oid::from_str(&tip)
        .map_err(|e| Failure::unreachable(format!("default branch tip {tip}: {e}")))?;
    let policy = crate::policy::Policy::load_at(repo, tip_oid)?.policy;
    let trusted = record::trusted_at(repo, tip_oid, &policy);
    let records = record::records(repo.git(), &record::settings(&policy))?;
    let found = records.iter().rev().find(|r| {
        record::is_approval(r)
            && r.payload
                .repository
                .eq_ignore_ascii_case(&run.repo.to_string())
            && r.payload.subject.environment.as_deref() == Some(env.as_str())
            && record::is_trusted(r, trusted.as_ref())
    });
    Ok(found.and_then(|r| {
        let sha = r.payload.subject.sha.clone();
        base::ensure_commit(repo, &sha).then(|| Base {
            why: format!(
                "the last approved deployment to `{env}` ({})",
                &sha[..sha.len().min(12)]
            ),
            sha,
        })
    }))
}

fn violation(reporter: &Reporter<'_>, branch: &str) -> Result<Code, Failure> {
    let run = reporter.run;
    let reason = format!(
        "{} was pushed to the protected branch {branch} without a valid approval on the audit branch",
        run.sha
    );
    let mut draft = reporter.draft(Kind::Violation, None);
    draft.reason = Some(reason.clone());
    let rec = reporter.write(&draft, false)?;
    actions::error(&format!("jitaa: {reason} (violation record {})", rec.id));
    outputs("violation", &[], Some(&rec), None)?;
    summary(
        "push violation",
        &[
            ("commit", run.sha.clone()),
            ("branch", branch.into()),
            ("record", rec.id.clone()),
        ],
        &reason,
    );
    Ok(Code::Denied)
}

async fn reuse(reporter: &mut Reporter<'_>, r: &audit::Record) -> Result<Code, Failure> {
    let p = &r.payload;
    let approvers: Vec<String> = p.approvals.iter().map(|a| a.login.clone()).collect();
    let expires = p.expires_at.clone().unwrap_or_default();
    let msg = format!(
        "reusing approval record {} (approved by {}; valid until {expires}) instead of asking again",
        p.id,
        if approvers.is_empty() {
            "policy (auto)".into()
        } else {
            approvers.join(", ")
        }
    );
    println!("jitaa: {msg}");
    actions::notice(&msg);
    let rec = report::Recorded {
        id: p.id.clone(),
        digest: r.digest.clone(),
    };
    let exp = audit::record::parse_time(&expires).ok();
    outputs("approved", &approvers, Some(&rec), exp)?;
    summary(
        "approved (reused)",
        &[
            ("record", p.id.clone()),
            ("approvers", approvers.join(", ")),
            ("expires at", expires),
        ],
        &msg,
    );
    reporter
        .check(Some("success"), "Approved (reused)", &msg)
        .await;
    Ok(Code::Ok)
}

async fn auto(reporter: &mut Reporter<'_>, ttl: std::time::Duration) -> Result<Code, Failure> {
    let now = Utc::now();
    let ttl = chrono::Duration::from_std(ttl).unwrap_or_else(|_| chrono::Duration::zero());
    let mut draft = reporter.draft(Kind::Decision, Some(audit::Decision::Auto));
    draft.expires_at = Some(now + ttl);
    let rec = reporter.write(&draft, true)?;
    let msg = "approved automatically: the rule needs no approvals (approvals: 0)";
    println!("jitaa: {msg}; record {}", rec.id);
    outputs("auto", &[], Some(&rec), draft.expires_at)?;
    summary("approved automatically", &[("record", rec.id.clone())], msg);
    reporter
        .check(Some("success"), "Approved automatically", msg)
        .await;
    Ok(Code::Ok)
}

/// Records and reports how the wait ended.
async fn decided(
    reporter: &mut Reporter<'_>,
    ask: &Ask,
    posted: &request::Posted,
    ended: Ended,
) -> Result<Code, Failure> {
    let client = reporter.client;
    let outcome = match ended {
        Ended::Cancelled(signal) => {
            let mut draft = reporter.draft(Kind::Decision, Some(audit::Decision::Cancelled));
            draft.reason = Some(format!("cancelled by {signal} while waiting"));
            let rec = reporter.write(&draft, false)?;
            let msg = format!("cancelled by {signal}; no decision (record {})", rec.id);
            request::show_outcome(client, ask, posted, &msg).await;
            reporter.check(Some("cancelled"), "Cancelled", &msg).await;
            outputs("cancelled", &[], Some(&rec), None)?;
            eprintln!("jitaa: {msg}");
            return Ok(Code::Denied);
        }
        Ended::Decided(o) => o,
    };
    let text = outcome.explanation.render();
    match &outcome.decision {
        Decision::Approved {
            approvals,
            valid_until,
            ..
        } => {
            if *valid_until <= Utc::now() {
                // The engine does not compare valid_until with now: an approval whose
                // ttl ran out before it was seen is no approval (fail closed).
                let reason = format!(
                    "the approval lapsed at {} (ttl {}) before it could be used",
                    audit::record::format_time(*valid_until),
                    humantime::format_duration(ask.rule.ttl)
                );
                let mut draft = reporter.draft(Kind::Decision, Some(audit::Decision::Expired));
                draft.reason = Some(reason.clone());
                let rec = reporter.write(&draft, false)?;
                reporter
                    .check(Some("timed_out"), "Approval lapsed", &reason)
                    .await;
                outputs("expired", &[], Some(&rec), None)?;
                actions::error(&format!("jitaa: {reason}"));
                return Ok(Code::TimedOut);
            }
            let mut draft = reporter.draft(Kind::Decision, Some(audit::Decision::Approved));
            draft.approvals = record::approvals(approvals);
            draft.expires_at = Some(*valid_until);
            let rec = reporter.write(&draft, true)?;
            let who: Vec<String> = approvals.iter().map(|a| a.login.clone()).collect();
            let msg = format!("{} (record {})", outcome.explanation.summary, rec.id);
            println!("jitaa: {msg}");
            request::show_outcome(client, ask, posted, &format!("✅ {msg}")).await;
            reporter.check(Some("success"), "Approved", &text).await;
            outputs("approved", &who, Some(&rec), Some(*valid_until))?;
            summary(
                "approved",
                &[
                    ("approved by", who.join(", ")),
                    ("record", rec.id.clone()),
                    ("expires at", audit::record::format_time(*valid_until)),
                ],
                &text,
            );
            Ok(Code::Ok)
        }
        Decision::Denied { reason, .. } => {
            let mut draft = reporter.draft(Kind::Decision, Some(audit::Decision::Denied));
            draft.reason = reason
                .clone()
                .or_else(|| Some(outcome.explanation.summary.clone()));
            let rec = reporter.write(&draft, false)?;
            let msg = format!("{} (record {})", outcome.explanation.summary, rec.id);
            request::show_outcome(client, ask, posted, &format!("❌ {msg}")).await;
            reporter.check(Some("failure"), "Denied", &text).await;
            outputs("denied", &[], Some(&rec), None)?;
            summary("denied", &[("record", rec.id.clone())], &text);
            actions::error(&format!("jitaa: {msg}"));
            Ok(Code::Denied)
        }
        Decision::Expired { .. } | Decision::Pending { .. } => {
            let mut draft = reporter.draft(Kind::Decision, Some(audit::Decision::Expired));
            draft.reason = Some(outcome.explanation.summary.clone());
            let rec = reporter.write(&draft, false)?;
            let msg = format!("{} (record {})", outcome.explanation.summary, rec.id);
            request::show_outcome(client, ask, posted, &format!("⌛ {msg}")).await;
            reporter.check(Some("timed_out"), "Timed out", &text).await;
            outputs("expired", &[], Some(&rec), None)?;
            summary("timed out", &[("record", rec.id.clone())], &text);
            actions::error(&format!("jitaa: {msg}"));
            Ok(Code::TimedOut)
        }
    }
}
