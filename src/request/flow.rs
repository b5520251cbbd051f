//! `jitaa request --ref REF [--sha SHA] [--wait] [--timeout DUR]`: a developer asks for
//! approval of a push ahead of time. Rules come from the remote branch's tip
//! (`refs/remotes/origin/REF`, fetched if missing), never from the commit being pushed.
//! Without `--wait`: post the request and print the issue URL. With `--wait`: show
//! progress until the grant (a record `decision: approved` with subject {sha, ref},
//! certified as the hook will check it) appears on the audit branch: exit 0; denied 1;
//! timed out 3.
//!
//! The requester never certifies their own grant: this process only asks and watches.
//! `jitaa decide` (a workflow of the default branch, on the code owner's comment)
//! judges the request and writes the grant.

use chrono::Utc;

use std::time::Duration;

use crate::approval::{Conclusion, Target};
use crate::audit::approvals::{Purpose, Query, Records};
use crate::audit::{self, Actor};
use crate::base::{AtDefault, Rules};
use crate::exit::{Code, Failure};
use crate::github::{Client, RepoName};
use crate::progress::Progress;
use crate::repo::Repo;

use super::{Ask, gh_fail, record};

/// What `jitaa request` is asked for.
#[derive(Debug, Clone, Default)]
pub(crate) struct Options {
    /// The repository's directory (default: the current one).
    pub repo: Option<std::path::PathBuf>,
    /// The branch the push goes to (`main` or `refs/heads/main`).
    pub git_ref: String,
    /// The commit to approve (default HEAD); all zeros asks to delete the branch.
    pub sha: Option<String>,
    /// Wait until the grant (written by `jitaa decide`) is on the audit branch.
    pub wait: bool,
    pub timeout: Option<std::time::Duration>,
    pub poll: Option<std::time::Duration>,
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
    let (base, rules) = super::rules_at_remote_tip(&repo, &default, &branch, Some(&tip_sha))?;
    let Rules {
        policy: loaded,
        codeowners,
    } = rules;
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
    let mut rule = super::push_rule(
        &loaded.policy,
        &branch,
        &paths,
        &me.login,
        deletion.is_some(),
    );
    if let Some(t) = args.timeout {
        rule.timeout = t;
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
    if !args.wait {
        say.say(&format!(
            "a code owner approves with `/approve` there; `jitaa decide` (the default branch's workflow) then writes the grant. Wait for it: jitaa request --ref {branch} --sha {sha} --wait"
        ));
        return Ok(Code::Ok);
    }
    let settings = record::settings(&default.rules.policy.policy);
    let watch = Watch {
        repo: &repo,
        settings: &settings,
        trust: &default.trust,
        repository: name.to_string(),
        sha: &sha,
        git_ref: &full_ref,
        request_id: &posted.request.id,
        deadline: posted.deadline,
        poll: args.poll.unwrap_or(Duration::from_secs(2)),
    };
    watch.until_decided(&mut signals, say).await
}

/// Watching the audit branch for the decision of one request.
struct Watch<'a> {
    repo: &'a Repo,
    settings: &'a audit::Settings,
    trust: &'a crate::base::Trust,
    repository: String,
    sha: &'a str,
    git_ref: &'a str,
    request_id: &'a str,
    deadline: chrono::DateTime<Utc>,
    poll: Duration,
}

impl Watch<'_> {
    /// Polls until the request's decision is on the audit branch: approved and
    /// certified as the hook will check it (0), denied (1), expired or past the
    /// deadline (3); a signal cancels (1).
    async fn until_decided(
        &self,
        signals: &mut super::Signals,
        say: &dyn Progress,
    ) -> Result<Code, Failure> {
        let mut last_line: Option<std::time::Instant> = None;
        loop {
            if let Some(code) = self.look(say)? {
                return Ok(code);
            }
            let now = Utc::now();
            if now >= self.deadline {
                eprintln!(
                    "timed out: no decision for request {} by {}",
                    self.request_id,
                    audit::record::format_time(self.deadline)
                );
                return Ok(Code::TimedOut);
            }
            if last_line.is_none_or(|t| t.elapsed() >= Duration::from_secs(30)) {
                let left = (self.deadline - now).num_seconds().max(0) as u64;
                say.say(&format!(
                    "waiting for the grant of request {} (decide writes it on a code owner's /approve); {} left",
                    self.request_id,
                    humantime::format_duration(Duration::from_secs(left))
                ));
                last_line = Some(std::time::Instant::now());
            }
            let left = (self.deadline - now).to_std().unwrap_or_default();
            tokio::select! {
                () = tokio::time::sleep(self.poll.min(left + Duration::from_millis(10))) => {}
                signal = signals.recv() => {
                    eprintln!("cancelled by {signal}; no decision");
                    return Ok(Conclusion::Cancelled { signal: signal.into() }.code());
                }
            }
        }
    }

    /// One look at the audit branch (fetched): the exit code once decided.
    fn look(&self, say: &dyn Progress) -> Result<Option<Code>, Failure> {
        let records = Records::load(self.repo.git(), self.settings).map_err(Failure::from)?;
        let Some(decision) = records.decision_of(self.request_id) else {
            return Ok(None);
        };
        let id = decision.payload.id.clone();
        match decision.payload.decision {
            Some(audit::Decision::Approved) => {
                let search = records.find(
                    &Query {
                        repository: &self.repository,
                        sha: self.sha,
                        purpose: Purpose::Grant {
                            git_ref: self.git_ref,
                        },
                    },
                    self.trust,
                    Utc::now(),
                );
                match search.found {
                    Some(f) => {
                        say.say(&format!(
                            "approved: grant {} ({}) — push before {}",
                            f.record.payload.id,
                            f.digest,
                            audit::record::format_time(f.expires_at)
                        ));
                        Ok(Some(Code::Ok))
                    }
                    None => {
                        eprintln!(
                            "request {} was approved (record {id}), but the grant does not count: {}",
                            self.request_id,
                            search.rejected.join("; ")
                        );
                        Ok(Some(Code::Denied))
                    }
                }
            }
            Some(audit::Decision::Denied) => {
                eprintln!(
                    "denied: {} (record {id})",
                    decision
                        .payload
                        .reason
                        .as_deref()
                        .unwrap_or("no reason given")
                );
                Ok(Some(Code::Denied))
            }
            other => {
                eprintln!(
                    "request {} ended without approval ({}; record {id})",
                    self.request_id,
                    other.map_or_else(|| "no decision".to_string(), |d| d.to_string())
                );
                Ok(Some(Code::TimedOut))
            }
        }
    }
}
