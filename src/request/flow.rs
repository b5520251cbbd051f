//! `jitaa request --ref REF [--sha SHA] [--wait] [--timeout DUR]`: a developer asks for
//! approval of a push ahead of time. Rules come from the remote branch's tip
//! (`refs/remotes/origin/REF`, fetched if missing), never from the commit being pushed.
//! Without `--wait`: post the request and print the issue URL. With `--wait`: show
//! progress until approved (a grant record `decision: approved` with subject
//! {sha, ref}, pushed to the audit branch: exit 0), denied (1) or timed out (3).

use chrono::Utc;
use serde_json::json;

use crate::approval::{Conclusion, Target};
use crate::audit::{self, Actor, ContextSource, Draft, Kind, RuleRef, Subject};
use crate::base::{self, Action, AtDefault, GitFiles, Rules};
use crate::exit::{Code, Failure};
use crate::github::{Client, RepoName};
use crate::policy::MatchInput;
use crate::progress::Progress;
use crate::repo::Repo;

use super::{Ask, Ended, WaitOptions, gh_fail, record};

/// What `jitaa request` is asked for.
#[derive(Debug, Clone, Default)]
pub(crate) struct Options {
    /// The repository's directory (default: the current one).
    pub repo: Option<std::path::PathBuf>,
    /// The branch the push goes to (`main` or `refs/heads/main`).
    pub git_ref: String,
    /// The commit to approve (default HEAD); all zeros asks to delete the branch.
    pub sha: Option<String>,
    /// Wait for the decision and record the grant.
    pub wait: bool,
    pub timeout: Option<std::time::Duration>,
    pub poll: Option<std::time::Duration>,
    /// A spinner instead of progress lines while waiting.
    pub spinner: bool,
}

/// `origin/<branch>`'s current tip, fetched first (the last fetched one when offline).
fn remote_tip(repo: &Repo, branch: &str) -> Result<git2::Oid, Failure> {
    let name = format!("refs/remotes/origin/{branch}");
    repo.fetch_branch("origin", branch, false);
    repo.git().refname_to_id(&name).map_err(|e| {
        Failure::usage(format!(
            "--ref {branch}: origin has no branch `{branch}` ({}); the rules come from the remote branch's tip",
            e.message()
        ))
    })
}

/// Posts the request and, with `wait`, waits for the decision and records the grant.
pub(crate) async fn run(args: &Options, say: &dyn Progress) -> Result<Code, Failure> {
    let mut signals = super::Signals::install()?;
    let repo = Repo::discover(args.repo.as_deref())?;
    let name = RepoName::parse(&repo.github_repository("origin")?, "the GitHub repository")
        .map_err(Failure::from)?;
    let branch = args
        .git_ref
        .strip_prefix("refs/heads/")
        .unwrap_or(&args.git_ref)
        .to_string();
    let full_ref = format!("refs/heads/{branch}");
    let tip = remote_tip(&repo, &branch)?;
    // An all-zero --sha asks to delete the branch: the hook lets a deletion of a
    // protected branch through only with a grant for the zero sha.
    let deletion = args
        .sha
        .as_deref()
        .filter(|s| matches!(s.len(), 40 | 64) && s.bytes().all(|b| b == b'0'))
        .map(str::to_string);
    // The rules at the remote branch's tip (the protected base), as the hook reads them.
    let default = AtDefault::load(&repo, "origin")?;
    let tip_sha = tip.to_string();
    let base = base::choose(
        &Action::RemoteTip {
            branch: &branch,
            tip: Some(&tip_sha),
        },
        &default.branch(),
        &repo,
    )?;
    let files = GitFiles::at_base(&repo, &base)?;
    let Rules {
        policy: loaded,
        codeowners,
    } = base::rules(&files, None)?;
    let (sha, paths) = match &deletion {
        // Deleting the branch removes every file on it: their owners decide.
        Some(zero) => (zero.clone(), repo.all_paths(tip)?),
        None => {
            let sha = repo
                .commit_id(args.sha.as_deref().unwrap_or("HEAD"))
                .map_err(|e| crate::exit::for_flag("--sha", e))?;
            let start = repo.merge_base(tip, sha).unwrap_or(tip);
            (sha.to_string(), repo.changed_paths(start, sha)?)
        }
    };

    let client = Client::from_env(None).map_err(Failure::from)?;
    let me = client.me().await.map_err(gh_fail(
        "asking GitHub who the token belongs to (GET /user)",
    ))?;
    let matched = loaded.policy.rule_for(&MatchInput {
        environment: None,
        branch: Some(&branch),
        paths: &paths,
        event: Some("push"),
        actor: Some(&me.login),
    });
    let mut rule = matched.rule;
    if let Some(t) = args.timeout {
        rule.timeout = t;
    }
    if deletion.is_some() && rule.approvals == 0 {
        // Deleting a protected branch always needs an approval.
        rule.approvals = 1;
    }
    if rule.approvals == 0 {
        say.say(&format!(
            "rule `{}` needs no approval for {sha} to {branch}: push away",
            rule.name
        ));
        return Ok(Code::Ok);
    }
    let owners = super::owners_of(codeowners.as_ref(), &paths);
    if let Err(why) = crate::approval::feasible::feasible(&rule, &me.login, &owners) {
        return Err(Failure::usage(format!(
            "rule `{}` can never be approved: {why} (policy {} at {})",
            rule.name,
            loaded.file.as_deref().unwrap_or("(built-in defaults)"),
            base.why
        )));
    }
    // Fail before asking anyone when the grant could not be signed, or would not count.
    let signers = if args.wait {
        let signers = record::developer_signers(&repo)?;
        if let Some(ssh) = &signers.ssh
            && let Err(why) = crate::audit::approvals::would_certify(
                &default.trust,
                &ssh.public_key(),
                ssh.principal(),
                &me.login,
            )
        {
            return Err(Failure::usage(format!(
                "{why}, so the grant `jitaa request --wait` would write could never let the push through. Sign with a certifier key (JITAA_SIGNING_KEY), or get the change approved on its pull request instead"
            )));
        }
        Some(signers)
    } else {
        None
    };
    let requester = Actor {
        login: me.login.clone(),
        id: me.id,
    };
    let ask = Ask {
        repo: name.clone(),
        sha: sha.clone(),
        git_ref: Some(full_ref.clone()),
        target: Target::Ref(full_ref.clone()),
        requester: requester.clone(),
        actor: me.login.clone(),
        rule: rule.clone(),
        paths: owners,
        run_url: None,
        review_sha: None,
    };
    let thread = super::open_issue(&client, &ask).await?;
    let posted = super::post(&client, &ask, thread, rule.timeout).await?;
    say.say(&format!(
        "requested approval of {sha} to {branch}: {} (request {})",
        posted.thread.url, posted.request.id
    ));
    let Some(signers) = signers else {
        return Ok(Code::Ok);
    };
    let opts = WaitOptions {
        poll: args.poll,
        spinner: args.spinner,
        ..WaitOptions::default()
    };
    let ended = super::wait(&client, &ask, &posted, &opts, &mut signals, say).await?;
    let outcome = match ended {
        Ended::Cancelled(signal) => {
            super::show_outcome(&client, &ask, &posted, &format!("cancelled by {signal}")).await;
            eprintln!("cancelled by {signal}; no decision");
            return Ok(Conclusion::Cancelled {
                signal: signal.into(),
            }
            .code());
        }
        Ended::Decided(o) => o,
    };
    let settings = record::settings(&loaded.policy);
    let mut draft = Draft::new(
        Kind::Decision,
        name.to_string(),
        Subject {
            sha: sha.clone(),
            git_ref: Some(full_ref.clone()),
            environment: None,
        },
        requester,
    );
    draft.rule = Some(RuleRef {
        name: rule.name.clone(),
        approvals: rule.approvals,
        policy_digest: loaded.digest.clone(),
    });
    draft.context = json!({
        "source": "jitaa request",
        "requester": me.login,
        "remote_tip": tip.to_string(),
        "request": posted.request.id,
        "thread": posted.thread.url,
    });
    draft.context_source = Some(ContextSource::Git);
    let summary = outcome.explanation.summary.clone();
    let ended = Conclusion::of(&outcome.decision, rule.ttl, Utc::now());
    draft.decision = Some(ended.record());
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
    let w = record::write(repo.git(), &settings, &draft, &signers)?;
    if let Conclusion::Approved { valid_until, .. } = &ended {
        // A grant nobody can see lets no push through: it must be published.
        if let Err(reason) = w.pushed {
            return Err(Failure::unreachable(format!(
                "grant {} written locally but not published: {reason}",
                w.appended.id
            )));
        }
        super::show_outcome(&client, &ask, &posted, &format!("✅ {summary}")).await;
        say.say(&format!(
            "approved: {summary}; grant {} ({}) — push before {}",
            w.appended.id,
            w.appended.digest,
            audit::record::format_time(*valid_until)
        ));
    } else {
        let said = match &ended {
            Conclusion::Lapsed { reason } => reason.clone(),
            _ => summary.clone(),
        };
        let mark = ended.mark();
        super::show_outcome(&client, &ask, &posted, &format!("{mark} {said}")).await;
        eprintln!("{said} (record {})", w.appended.id);
    }
    Ok(ended.code())
}
