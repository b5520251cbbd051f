//! `jitaa gate`: hold a GitHub Actions step until the change is approved.
//!
//! Top to bottom, as [`run`] reads:
//! 1. the run's context from the VERIFIED OIDC token (env variables only with
//!    `oidc: optional` and no token);
//! 2. the default branch (what is protected, the certifier keys) and the audit records,
//!    read once; the protected base (`crate::base::choose`, from the API's facts) and,
//!    read there, the policy and CODEOWNERS; the changed paths;
//! 3. a push to a protected branch is approved as a push (a PR GitHub merged, an
//!    approved PR head, a trusted grant: `push.rs`), else it is a `violation`;
//! 4. the matching rule;
//! 5. a certified, unexpired approval of the same subject, rule, policy and requester is
//!    reused (`crate::audit::approvals`);
//! 6. `approvals: 0` is approved at once (`decision: auto`); a rule nobody could ever
//!    approve fails now (exit 2);
//! 7. otherwise ONE request on the PR (or request issue), a `request` record, a check run;
//! 8. wait (see [`crate::request`]) and record the decision: approved 0, denied 1,
//!    timed out 3, cancelled by SIGTERM/SIGINT 1 (not a decision; recorded `cancelled`).
//!
//! Any infrastructure failure is exit 5 and never approves.

pub(crate) mod context;
pub(crate) mod facts;
pub(crate) mod paths;
mod push;
mod report;

use chrono::Utc;

use crate::actions;
use crate::approval::{Conclusion, Target};
use crate::audit::approvals::{Purpose, Query, Records};
use crate::audit::{self, Kind, RuleRef};
use crate::base::AtDefault;
use crate::exit::{Code, Failure};
use crate::github::{Client, GitHub, PullRequest};
use crate::policy::MatchInput;
use crate::progress::Progress;
use crate::repo::Repo;
use crate::request::{self, Ask, Ended, WaitOptions, gh_fail, record};

use context::Run;
use facts::{EventFacts, find_pr, protected_base, review_sha, rules_at};
use report::{Reporter, outputs, summary};

/// What the gate is asked to do (the command line's `jitaa gate` options).
#[derive(Debug, Clone, Default)]
pub(crate) struct Options {
    /// The repository's directory (default: the current one).
    pub repo: Option<std::path::PathBuf>,
    /// The deployment environment (default: the OIDC token's).
    pub environment: Option<String>,
    /// How long to wait (default: the rule's timeout).
    pub timeout: Option<std::time::Duration>,
    /// The longest pause between polls while idle.
    pub poll: Option<std::time::Duration>,
    /// A policy file path inside the repository, read at the protected base.
    pub policy: Option<String>,
    /// Post the request and exit 0 with `decision=pending` (`jitaa decide` decides).
    pub no_wait: bool,
}

/// The gate, top to bottom.
pub(crate) async fn run(args: &Options, say: &dyn Progress) -> Result<Code, Failure> {
    if args.no_wait && args.policy.is_some() {
        return Err(Failure::usage(
            "--no-wait with --policy: `jitaa decide` judges the request with the policy at its usual place (.github/jitaa.yml, else .jitaa.yml) on the protected base, so a gate that does not wait must use it too",
        ));
    }
    let mut signals = request::Signals::install()?;
    let repo = Repo::discover(args.repo.as_deref())?;
    // 1. Context.
    let token = context::fetch_token().await?;
    let run = context::run(&token, args.environment.as_deref())?;
    let client = Client::from_env(None).map_err(Failure::from)?;

    // 2. The default branch (what is protected, the trusted keys, the audit branch), the
    //    records on the audit branch (read once), the protected base and its rules.
    let default = AtDefault::load(&repo, "origin")?;
    let settings = record::settings(&default.rules.policy.policy);
    let records = Records::load(repo.git(), &settings)?;
    let pulls = client
        .pulls_for_commit(&run.repo, &run.sha)
        .await
        .map_err(gh_fail("finding the pull request of the commit"))?;
    let event = EventFacts::from_env()?;
    let pr = find_pr(&client, &run, &pulls, &event).await?;
    let base = match protected_base(
        &repo,
        &client,
        &run,
        pr.as_ref(),
        &default,
        &records,
        &event,
    )
    .await
    {
        Ok(b) => b,
        // A force-push to a protected branch: no protected base, recorded as a violation.
        Err(f) if f.code == Code::Denied && run.event == "push" => {
            let branch = run
                .git_ref
                .strip_prefix("refs/heads/")
                .unwrap_or(&run.git_ref);
            let policy = &default.rules.policy.policy;
            let ctx = context::for_record(&token, &run, policy)?;
            let reporter = reporter(&repo, &client, &run, &settings, policy, ctx, pr.as_ref())?;
            return violation(&reporter, branch, Some(f.message));
        }
        Err(f) => return Err(f),
    };
    let at = rules_at(&repo, &client, &run, &base, args.policy.as_deref()).await?;
    let policy = &at.policy.policy;
    say.say(&format!(
        "jitaa: policy {} and CODEOWNERS read at {} (the protected base)",
        at.policy.file.as_deref().unwrap_or("(built-in defaults)"),
        base.why
    ));
    let record_context = context::for_record(&token, &run, policy)?;
    let branch = run.git_ref.strip_prefix("refs/heads/");
    let paths = paths::changed_paths(
        &repo,
        &client,
        &run.repo,
        pr.as_ref()
            .filter(|p| p.base_sha.eq_ignore_ascii_case(&base.sha)),
        &base,
        &run.sha,
    )
    .await?;
    let owners = request::owners_of(at.codeowners.as_ref(), &paths);

    // 3. A push to a protected branch is approved as a push (merged PR, approved PR
    //    head, trusted grant) or it is a violation.
    let mut evidence = None;
    if run.event == "push"
        && let Some(branch) = branch
        && default.branch().protects(branch)
    {
        let push_rule = policy
            .rule_for(&MatchInput {
                environment: None,
                branch: Some(branch),
                paths: &paths,
                event: Some("push"),
                actor: Some(&run.actor),
            })
            .rule;
        let q = push::PushQuery {
            repo: &run.repo,
            branch,
            sha: &run.sha,
            pulls: &pulls,
            rule: &push_rule,
            paths: &owners,
            now: Utc::now(),
        };
        if let Some(e) = push::check(&client, &q, &records, &default.trust).await? {
            say.say(&format!(
                "jitaa: the push of {} to {branch}: {}",
                run.sha, e.how
            ));
            evidence = Some(e);
        } else {
            let reporter = reporter(
                &repo,
                &client,
                &run,
                &settings,
                policy,
                record_context,
                pr.as_ref(),
            )?;
            return violation(&reporter, branch, None);
        }
    }
    // A merged PR is the deployment's thread (its author the requester).
    let pr = pr.or_else(|| evidence.as_ref().and_then(|e| e.pr.clone()));

    // 4. The rule.
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
    let mut reporter = reporter(
        &repo,
        &client,
        &run,
        &settings,
        policy,
        record_context,
        pr.as_ref(),
    )?;
    reporter.rule = Some(RuleRef {
        name: rule.name.clone(),
        approvals: rule.approvals,
        policy_digest: at.policy.digest.clone(),
    });
    if let Some(e) = evidence {
        let how = e.how.clone();
        let approvers: Vec<String> = e.approvals.iter().map(|a| a.login.clone()).collect();
        let rec = record_push(&reporter, e)?;
        if run.environment.is_none() {
            // No deployment environment: the approved push is what this run gates.
            let msg = format!("the push was approved: {how} (push record {})", rec.id);
            say.say(&format!("jitaa: {msg}"));
            outputs("approved", &approvers, Some(&rec), None)?;
            summary("approved (push)", &[("record", rec.id.clone())], &msg);
            reporter.check(Some("success"), "Approved push", &msg).await;
            return Ok(Code::Ok);
        }
    }
    say.say(&format!(
        "jitaa: rule `{}`: {} from {}",
        rule.name,
        approvals_text(rule.approvals),
        rule.approvers_text().join(", ")
    ));

    // 5. Reuse an unexpired approval of this deployment, rule and requester.
    let search = records.find(
        &Query {
            repository: &run.repo.to_string(),
            sha: &run.sha,
            purpose: Purpose::Reuse {
                environment: run.environment.as_deref(),
                git_ref: &run.git_ref,
                rule: &rule.name,
                policy_digest: &at.policy.digest,
                requester: &reporter.requester.login,
            },
        },
        &default.trust,
        Utc::now(),
    );
    if let Some(found) = search.found {
        return reuse(&mut reporter, found.record, say).await;
    }

    // 6. Auto-approval; a request nobody could approve fails now, not at its timeout.
    let target = match &run.environment {
        Some(e) => Target::Environment(e.clone()),
        None => Target::Ref(run.git_ref.clone()),
    };
    if rule.approvals == 0 {
        return auto(&mut reporter, rule.ttl, say).await;
    }
    if let Err(why) = crate::approval::feasible::feasible(&rule, &reporter.requester.login, &owners)
    {
        let msg = format!(
            "rule `{}` can never be approved: {why} (policy {} at {})",
            rule.name,
            at.policy.file.as_deref().unwrap_or("(built-in defaults)"),
            base.why
        );
        actions::error(&format!("jitaa: {msg}"));
        return Err(Failure::usage(msg));
    }
    let requester = reporter.requester.clone();

    if let Some(w) = crate::policy::hosted::timeout_warning(&rule) {
        actions::warning(&w);
    }

    // 7. Ask: one request comment, a request record, a check run in progress.
    if args.no_wait && reporter.signers.oidc.is_none() {
        // `decide` takes the request's facts from the request record's GitHub-signed
        // token only: without one nobody could ever decide it.
        return Err(Failure::usage(format!(
            "--no-wait needs the request record signed by GitHub: add `github-oidc` to the policy's audit.signing and give the job `id-token: write` ({})",
            crate::oidc::PERMISSIONS_HINT
        )));
    }
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
        review_sha: review_sha(&run, pr.as_ref(), &event),
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
    say.say(&format!(
        "jitaa: request {} posted on {} (deadline {})",
        posted.request.id,
        posted.thread.url,
        audit::record::format_time(posted.deadline)
    ));
    let mut draft = reporter.draft(Kind::Request, None);
    draft.reason = Some(format!(
        "request {} on {}",
        posted.request.id, posted.comment_url
    ));
    draft.expires_at = Some(posted.deadline);
    link_request(&mut draft.context, &posted, Some(!args.no_wait));
    let request_url = posted.comment_url.clone();
    request_outputs(&posted.request.id, &request_url)?;
    if args.no_wait {
        // `decide` reads this record (its OIDC token) to judge the request: it must be
        // on the remote.
        let rec = reporter.write(&draft, true)?;
        let msg = format!(
            "request {} is pending on {}: approve with `/approve` there or the check run's Approve button; `jitaa decide` records the decision and re-runs this workflow run",
            posted.request.id, posted.thread.url
        );
        reporter
            .check_with(None, "Waiting for approval", &msg, Some(&posted.request.id))
            .await;
        say.say(&format!("jitaa: {msg}"));
        outputs("pending", &[], Some(&rec), None)?;
        summary(
            "pending",
            &[
                ("request", posted.request.id.clone()),
                ("where", posted.thread.url.clone()),
                ("record", rec.id.clone()),
            ],
            &msg,
        );
        return Ok(Code::Ok);
    }
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
    let ended = request::wait(&client, &ask, &posted, &opts, &mut signals, say).await?;
    decided(&mut reporter, &ask, &posted, ended, say).await
}

/// Names the request in a record's context (`jitaa_request`), so `decide` finds the
/// request record of a request id and sees when a request already has its decision.
/// The request record also says where the request lives.
/// `waits`: for the request record, whether this gate waits for the decision itself
/// (`decide` leaves those alone); `None` for the decision record.
pub(crate) fn link_request(
    context: &mut serde_json::Value,
    posted: &request::Posted,
    waits: Option<bool>,
) {
    let link = match waits {
        Some(waits) => serde_json::json!({
            "id": posted.request.id,
            "thread": posted.thread.number,
            "is_pr": posted.thread.is_pr,
            "comment": posted.comment_id,
            "waits": waits,
        }),
        None => serde_json::json!({ "id": posted.request.id }),
    };
    match context {
        serde_json::Value::Object(m) => {
            m.insert(request::LINK.into(), link);
        }
        other => *other = serde_json::json!({ request::LINK: link }),
    }
}

/// The `request-id` and `request-url` step outputs.
fn request_outputs(id: &str, url: &str) -> Result<(), Failure> {
    actions::set_outputs(&[
        ("request-id", id.to_string()),
        ("request-url", url.to_string()),
    ])
    .map_err(|e| Failure::unreachable(format!("writing GITHUB_OUTPUT: {e}")))
}

/// `1 approval`, `2 approvals`.
fn approvals_text(n: u32) -> String {
    format!("{n} approval{}", if n == 1 { "" } else { "s" })
}

fn reporter<'a>(
    repo: &'a Repo,
    client: &'a Client,
    run: &'a Run,
    settings: &audit::Settings,
    policy: &crate::policy::Policy,
    context: context::RecordContext,
    pr: Option<&PullRequest>,
) -> Result<Reporter<'a>, Failure> {
    let requester = facts::requester(run, pr);
    Ok(Reporter {
        repo,
        client,
        run,
        settings: settings.clone(),
        signers: record::gate_signers(policy)?,
        context,
        requester,
        rule: None,
        check: None,
    })
}

/// The `push` record of an approved push: how it was approved, with the evidence.
fn record_push(reporter: &Reporter<'_>, e: push::Evidence) -> Result<report::Recorded, Failure> {
    let mut draft = reporter.draft(Kind::Push, Some(audit::Decision::Approved));
    draft.subject.environment = None;
    draft.approvals = e.approvals;
    draft.reason = Some(e.how);
    if let serde_json::Value::Object(m) = &mut draft.context {
        m.insert("via".into(), e.via);
    }
    reporter.write(&draft, false)
}

/// A push to a protected branch that nothing approves; `why` overrides the usual reason.
fn violation(reporter: &Reporter<'_>, branch: &str, why: Option<String>) -> Result<Code, Failure> {
    let run = reporter.run;
    let reason = why.unwrap_or_else(|| format!(
        "{} was pushed to the protected branch {branch} without an approval: GitHub did not merge it from a pull request, no approved pull request has it as its head, and no trusted grant on the audit branch covers it",
        run.sha
    ));
    let mut draft = reporter.draft(Kind::Violation, None);
    draft.reason = Some(reason.clone());
    let rec = reporter.write(&draft, false)?;
    actions::error(&format!(
        "jitaa: {reason} (violation record {}). To ask for approval after the fact: jitaa request --ref {branch} --sha {} --wait, then re-run this job",
        rec.id, run.sha
    ));
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

async fn reuse(
    reporter: &mut Reporter<'_>,
    r: &audit::Record,
    say: &dyn Progress,
) -> Result<Code, Failure> {
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
    say.say(&format!("jitaa: {msg}"));
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

async fn auto(
    reporter: &mut Reporter<'_>,
    ttl: std::time::Duration,
    say: &dyn Progress,
) -> Result<Code, Failure> {
    let now = Utc::now();
    let ttl = chrono::Duration::from_std(ttl).unwrap_or_else(|_| chrono::Duration::zero());
    let mut draft = reporter.draft(Kind::Decision, Some(audit::Decision::Auto));
    draft.expires_at = Some(now + ttl);
    let rec = reporter.write(&draft, true)?;
    let msg = "approved automatically: the rule needs no approvals (approvals: 0)";
    say.say(&format!("jitaa: {msg}; record {}", rec.id));
    outputs("auto", &[], Some(&rec), draft.expires_at)?;
    summary("approved automatically", &[("record", rec.id.clone())], msg);
    reporter
        .check(Some("success"), "Approved automatically", msg)
        .await;
    Ok(Code::Ok)
}

/// Records and reports how the wait ended, as [`Conclusion`] says.
async fn decided(
    reporter: &mut Reporter<'_>,
    ask: &Ask,
    posted: &request::Posted,
    ended: Ended,
    say: &dyn Progress,
) -> Result<Code, Failure> {
    let client = reporter.client;
    let (ended, said, text) = match ended {
        Ended::Cancelled(signal) => (
            Conclusion::Cancelled {
                signal: signal.into(),
            },
            String::new(),
            None,
        ),
        Ended::Decided(o) => (
            Conclusion::of(&o.decision, ask.rule.ttl, Utc::now()),
            o.explanation.summary.clone(),
            Some(o.explanation.render()),
        ),
    };
    let mut draft = reporter.draft(Kind::Decision, Some(ended.record()));
    draft.reason = ended.reason(&said);
    link_request(&mut draft.context, posted, None);
    let mut valid_until = None;
    let mut who = Vec::new();
    if let Conclusion::Approved {
        approvals,
        valid_until: until,
        ..
    } = &ended
    {
        draft.approvals = record::approvals(approvals);
        draft.expires_at = Some(*until);
        valid_until = Some(*until);
        who = approvals.iter().map(|a| a.login.clone()).collect();
    }
    // An approval nobody can see later must not deploy: it must be published.
    let rec = reporter.write(&draft, matches!(ended, Conclusion::Approved { .. }))?;
    let msg = match &ended {
        Conclusion::Cancelled { signal } => {
            format!("cancelled by {signal}; no decision (record {})", rec.id)
        }
        Conclusion::Lapsed { reason } => reason.clone(),
        _ => format!("{said} (record {})", rec.id),
    };
    if !matches!(ended, Conclusion::Lapsed { .. }) {
        let shown = match ended {
            Conclusion::Cancelled { .. } => msg.clone(),
            _ => format!("{} {msg}", ended.mark()),
        };
        request::show_outcome(client, ask, posted, &shown).await;
    }
    let (conclusion, title) = ended.check();
    let body = match (&ended, &text) {
        (Conclusion::Lapsed { .. } | Conclusion::Cancelled { .. }, _) | (_, None) => &msg,
        (_, Some(t)) => t,
    };
    reporter.check(Some(conclusion), title, body).await;
    outputs(ended.output(), &who, Some(&rec), valid_until)?;
    let text = text.unwrap_or_else(|| msg.clone());
    match &ended {
        Conclusion::Approved { valid_until, .. } => {
            say.say(&format!("jitaa: {msg}"));
            summary(
                "approved",
                &[
                    ("approved by", who.join(", ")),
                    ("record", rec.id.clone()),
                    ("expires at", audit::record::format_time(*valid_until)),
                ],
                &text,
            );
        }
        Conclusion::Cancelled { .. } => eprintln!("jitaa: {msg}"),
        Conclusion::Lapsed { .. } => actions::error(&format!("jitaa: {msg}")),
        Conclusion::Denied { .. } | Conclusion::TimedOut => {
            let word = if ended.code() == Code::Denied {
                "denied"
            } else {
                "timed out"
            };
            summary(word, &[("record", rec.id.clone())], &text);
            actions::error(&format!("jitaa: {msg}"));
        }
    }
    Ok(ended.code())
}
