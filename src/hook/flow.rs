//! The pre-push flow: scope the push (local, no network), and for each gated update
//! read the rules from the protected base, look for an auto-approving rule, a grant on
//! the audit branch, or an approved PR; block with what is missing, or record the push.
//! Any error while checking blocks the push.

use chrono::{DateTime, Utc};
use git2::Oid;
use serde_json::json;

use crate::audit::approvals::{Purpose, Query, Records};
use crate::audit::{self, RuleRef};
use crate::base::{self as protected, Action, AtDefault, GitFiles, Trust};
use crate::github::{Client, RepoName};
use crate::hook::base;
use crate::hook::error::HookError;
use crate::hook::message::{self, Blocked};
use crate::hook::pr::{self, PrQuery, PrVerdict};
use crate::hook::protocol::RefUpdate;
use crate::hook::record;
use crate::hook::scope::{self, Scope};
use crate::policy::{LoadedPolicy, MatchInput};
use crate::repo::Repo;

/// One push as git describes it to the hook.
#[derive(Debug, Clone, Copy)]
pub struct Push<'a> {
    pub remote: &'a str,
    pub url: &'a str,
    pub updates: &'a [RefUpdate],
}

/// How a gated update was let through.
#[derive(Debug, Clone)]
pub struct AllowedRef {
    pub update: RefUpdate,
    pub branch: String,
    /// `grant 01J...`, `PR #3`, `rule docs-only (approvals: 0)`.
    pub how: String,
    /// `None` when the pusher has no SSH signing key: the push goes through unrecorded.
    pub record: Option<audit::Appended>,
    pub published: Option<audit::Outcome>,
}

/// What the hook decided for a push that was not blocked.
#[derive(Debug)]
pub enum Summary {
    /// No update of a protected branch: allowed with no network use.
    NothingGated,
    Allowed(Vec<AllowedRef>),
}

/// An allowed update before it is recorded.
struct Pass {
    allowed: AllowedRef,
    decision: audit::Decision,
    approvals: Vec<audit::Approval>,
    rule: RuleRef,
    expires_at: Option<DateTime<Utc>>,
    requester: Option<audit::Actor>,
    via: serde_json::Value,
}

enum Check {
    Pass(Box<Pass>),
    Blocked(String),
}

/// GitHub, created on first use (most pushes never need it).
struct Hub {
    client: Client,
}

fn hub(slot: &mut Option<Hub>) -> Result<&Hub, HookError> {
    if slot.is_none() {
        let client = Client::from_env(None).map_err(HookError::GitHub)?;
        *slot = Some(Hub { client });
    }
    slot.as_ref()
        .ok_or(HookError::Internal("GitHub client unavailable"))
}

/// Everything shared by the updates of one push.
struct Ctx<'a> {
    repo: &'a Repo,
    push: Push<'a>,
    scope: &'a Scope,
    repository: String,
    records: Records<'a>,
    trust: Trust,
    now: DateTime<Utc>,
}

/// Runs the hook for one push. `Err` with exit 1 when blocked.
pub fn run(repo: &Repo, push: Push<'_>) -> Result<Summary, HookError> {
    let mut scope = scope::scope(repo, push.remote, push.updates)?;
    if scope.is_empty() {
        return Ok(Summary::NothingGated);
    }
    if repo.git().find_remote(push.remote).is_err() {
        return Err(HookError::NotARemote(push.remote.to_string()));
    }
    if !scope.known {
        let d = scope
            .default_branch
            .clone()
            .ok_or_else(|| HookError::NoDefaultBranch(push.remote.to_string()))?;
        let tip = base::fetch_branch(repo, push.remote, &d)?;
        scope.default_tip = tip;
        if let Some(tip) = tip {
            let files = GitFiles::new(repo, tip, format!("{}/{d}", push.remote));
            scope.policy = protected::rules(&files, None)?.policy;
        }
        scope.known = true;
        scope.gated = scope::protected(&scope.policy.policy, Some(&d), push.updates);
        if scope.gated.is_empty() {
            return Ok(Summary::NothingGated);
        }
    }
    let repository = repo.github_repository(push.remote)?;
    let settings = audit::Settings {
        branch: scope.policy.policy.audit.branch.clone(),
        remote: push.remote.to_string(),
        allowed_signers: Some(scope.policy.policy.audit.allowed_signers.clone()),
    };
    let audit_tip = audit::Publisher::new(repo.git(), &settings)?.fetch()?;
    let records = Records::at(repo.git(), audit_tip)?;
    let trust = match (&scope.default_branch, scope.default_tip) {
        (Some(name), Some(tip)) => AtDefault::at(repo, name.clone(), tip)?.trust,
        _ => Trust::default(),
    };
    if trust.certifiers.is_none() {
        eprintln!(
            "jitaa: warning: {} is not on the default branch: no grant can be trusted (only pull-request approvals can let this push through)",
            scope.policy.policy.audit.allowed_signers
        );
    }
    let ctx = Ctx {
        repo,
        push,
        scope: &scope,
        repository,
        records,
        trust,
        now: Utc::now(),
    };
    let mut gh = None;
    let mut passes = Vec::new();
    let mut blocked = Vec::new();
    for u in &scope.gated {
        match evaluate(&ctx, u, &mut gh)? {
            Check::Pass(p) => passes.push(*p),
            Check::Blocked(m) => blocked.push(m),
        }
    }
    if !blocked.is_empty() {
        return Err(HookError::Blocked(blocked));
    }
    let Some(signers) = record::signers(repo.git())? else {
        // The approval is already on GitHub or the audit branch; the hook's own record
        // is evidence of the local check, not a certification, so it is not required.
        eprintln!(
            "jitaa: note: no SSH signing key (git config gpg.format ssh + user.signingkey, or JITAA_SIGNING_KEY): the hook wrote no push record"
        );
        return Ok(Summary::Allowed(
            passes.into_iter().map(|p| p.allowed).collect(),
        ));
    };
    let mut out = Vec::new();
    for p in passes {
        out.push(write_record(&ctx, &settings, &signers, p)?);
    }
    Ok(Summary::Allowed(out))
}

fn source(policy: &LoadedPolicy, remote: &str, branch: &str, base: Option<Oid>) -> String {
    let file = policy.file.as_deref().unwrap_or("built-in defaults");
    match base {
        Some(b) => format!("{file} at {remote}/{branch} {}", &b.to_string()[..12]),
        None => format!("{file}; {remote} has no {branch} yet"),
    }
}

fn evaluate(ctx: &Ctx<'_>, u: &RefUpdate, gh: &mut Option<Hub>) -> Result<Check, HookError> {
    let Some(branch) = u.remote_branch() else {
        return Err(HookError::Internal(
            "internal: a gated update is not a branch",
        ));
    };
    let remote = ctx.push.remote;
    let git_ref = u.remote_ref.as_str();
    let delete = u.is_delete();
    let remote_tip = if u.is_new() {
        None
    } else {
        Some(base::ensure_commit(ctx.repo, remote, branch, &u.remote_sha)?.to_string())
    };
    let default_tip = ctx.scope.default_tip.map(|t| t.to_string());
    let base = match (&ctx.scope.default_branch, &default_tip) {
        (Some(name), Some(tip)) => {
            let d = protected::DefaultBranch {
                name,
                tip,
                policy: &ctx.scope.policy.policy,
            };
            let b = protected::choose(
                &Action::RemoteTip {
                    branch,
                    tip: remote_tip.as_deref(),
                },
                &d,
                ctx.repo,
            )?;
            Some(ctx.repo.present(&b.sha)?)
        }
        // The remote has no default branch yet (its first push): the pushed branch's
        // own tip if it has one, else the built-in defaults.
        _ => remote_tip
            .as_deref()
            .map(|t| ctx.repo.present(t))
            .transpose()?,
    };
    let base_branch = if u.is_new() {
        ctx.scope.default_branch.as_deref().unwrap_or(branch)
    } else {
        branch
    };
    let (policy, codeowners) = match base {
        Some(b) => {
            let r = protected::rules(
                &GitFiles::new(ctx.repo, b, format!("{remote}/{base_branch}")),
                None,
            )?;
            (r.policy, r.codeowners)
        }
        None => (scope::builtin(), None),
    };
    let (paths, owners) = if delete {
        (Vec::new(), Vec::new())
    } else {
        let head = Oid::from_str(&u.local_sha)
            .ok()
            .filter(|id| ctx.repo.git().find_commit(*id).is_ok())
            .ok_or_else(|| HookError::PushedCommitMissing(u.local_sha.clone()))?;
        let paths = base::changed_paths(ctx.repo, base, head)?;
        let owners = base::owners(codeowners.as_ref(), &paths);
        (paths, owners)
    };
    let matched = policy.policy.rule_for(&MatchInput {
        environment: None,
        branch: Some(branch),
        paths: &paths,
        event: Some("push"),
        actor: None,
    });
    let rule = matched.rule;
    let rule_ref = RuleRef {
        name: rule.name.clone(),
        approvals: rule.approvals,
        policy_digest: policy.digest.clone(),
    };
    let pass = |how: String, decision, via| Pass {
        allowed: AllowedRef {
            update: u.clone(),
            branch: branch.to_string(),
            how,
            record: None,
            published: None,
        },
        decision,
        approvals: Vec::new(),
        rule: rule_ref.clone(),
        expires_at: None,
        requester: None,
        via,
    };
    if rule.approvals == 0 && !delete {
        let how = format!("rule `{}` needs no approval", rule.name);
        return Ok(Check::Pass(Box::new(pass(
            how,
            audit::Decision::Auto,
            json!({"kind": "rule"}),
        ))));
    }
    let grants = ctx.records.find(
        &Query {
            repository: &ctx.repository,
            sha: &u.local_sha,
            purpose: Purpose::Grant { git_ref },
        },
        &ctx.trust,
        ctx.now,
    );
    if let Some(g) = &grants.found {
        let payload = &g.record.payload;
        let mut p = pass(
            format!(
                "grant {} (valid until {})",
                payload.id,
                audit::record::format_time(g.expires_at)
            ),
            audit::Decision::Approved,
            json!({"kind": "grant", "id": payload.id, "digest": g.digest}),
        );
        p.approvals = payload.approvals.clone();
        p.expires_at = Some(g.expires_at);
        p.requester = Some(payload.requester.clone());
        return Ok(Check::Pass(Box::new(p)));
    }
    let verdict = if delete {
        None
    } else {
        let repo_name = RepoName::parse(&ctx.repository, "the GitHub repository")
            .map_err(HookError::RepositoryName)?;
        let q = PrQuery {
            repo: &repo_name,
            sha: &u.local_sha,
            branch,
            rule: &rule,
            paths: &owners,
            now: ctx.now,
        };
        let asked = match hub(gh) {
            Ok(hub) => crate::runtime::block_on(|| pr::check(&hub.client, &q))
                .map_err(HookError::Runtime)?
                .map_err(HookError::GitHub),
            Err(e) => Err(e),
        };
        let v = match asked {
            Ok(v) => v,
            // Without GitHub, say all the rest: the rule, who can approve, what to run.
            Err(HookError::GitHub(e)) => {
                let blocked = message::render(&Blocked {
                    branch,
                    sha: &u.local_sha,
                    delete,
                    rule: &rule,
                    source: source(&policy, remote, base_branch, base),
                    paths: &owners,
                    audit_branch: &ctx.scope.policy.policy.audit.branch,
                    grants: &grants,
                    pr: None,
                    github: Some(&e),
                });
                return Err(HookError::GitHubUnavailable { github: e, blocked });
            }
            Err(e) => return Err(e),
        };
        if let PrVerdict::Approved {
            pr,
            pusher,
            outcome,
            valid_until,
        } = &v
        {
            let mut p = pass(
                format!("PR #{} approved", pr.number),
                audit::Decision::Approved,
                json!({"kind": "pull_request", "number": pr.number, "url": pr.html_url}),
            );
            if let crate::approval::Decision::Approved { approvals, .. } = &outcome.decision {
                p.approvals = approvals.iter().map(audit::Approval::from).collect();
            }
            p.expires_at = Some(*valid_until);
            p.requester = Some(audit::Actor {
                login: pusher.login.clone(),
                id: pusher.id,
            });
            return Ok(Check::Pass(Box::new(p)));
        }
        Some(v)
    };
    Ok(Check::Blocked(message::render(&Blocked {
        branch,
        sha: &u.local_sha,
        delete,
        rule: &rule,
        source: source(&policy, remote, base_branch, base),
        paths: &owners,
        audit_branch: &ctx.scope.policy.policy.audit.branch,
        grants: &grants,
        pr: verdict.as_ref(),
        github: None,
    })))
}

fn write_record(
    ctx: &Ctx<'_>,
    settings: &audit::Settings,
    signers: &audit::Signers,
    p: Pass,
) -> Result<AllowedRef, HookError> {
    let git = ctx.repo.git();
    let requester = p.requester.clone().unwrap_or_else(|| audit::Actor {
        login: git
            .config()
            .ok()
            .and_then(|c| c.get_string("user.name").ok())
            .unwrap_or_else(|| "unknown".into()),
        id: 0,
    });
    let mut draft = record::draft(&ctx.repository, &p.allowed.update, requester);
    draft.time = Utc::now();
    draft.decision = Some(p.decision);
    draft.approvals = p.approvals;
    draft.rule = Some(p.rule);
    draft.expires_at = p.expires_at;
    draft.context = record::context(git, ctx.push.remote, ctx.push.url, &p.allowed.update, p.via);
    draft.context_source = Some(audit::ContextSource::Git);
    let (appended, outcome) = audit::append_and_publish(git, settings, &draft, signers)?;
    let mut allowed = p.allowed;
    allowed.record = Some(appended);
    allowed.published = Some(outcome);
    Ok(allowed)
}
