//! The protected base: which commit's rules decide a change, and what is committed there.
//!
//! Every flow (gate, hook, request, `policy explain`) asks this module, so the answer to
//! "whose rules apply" is given in one place. [`choose`] is pure: it takes what the flow
//! learned (from the API where the event file could lie) and a [`Graph`] for ancestry,
//! and returns the base commit and why, per the table in DESIGN.md "Policy":
//!
//! | action | base |
//! |---|---|
//! | PR (event, comment, review) | the PR's base sha when its base branch is protected, else the default branch's tip |
//! | push to a protected branch | `before` (not an ancestor: a force-push, refused) |
//! | push to an unprotected branch, a new branch | the default branch's tip |
//! | dispatch, schedule, other events on S | the last approved deployment that is an ancestor of S; else S's first parent when S is on a protected branch; else the default tip — never S |
//! | hook, `jitaa request` | the remote protected branch's tip (a new branch: the default tip) |
//!
//! "Protected" is decided by the default branch's policy (`protected_branches`), and the
//! default branch is always protected. [`rules`] then reads the policy and CODEOWNERS at
//! the base, and [`trust`] the trusted keys at the default branch, through one [`Files`]
//! source (git objects, or the contents API when the commit is not local) with the same
//! limits and the same "which location wins" order either way. Policy and CODEOWNERS only
//! parse bytes; no other module reads them from a commit.

use std::collections::HashMap;

use git2::Oid;

use crate::audit::AllowedSigners;
use crate::codeowners::{self, CodeOwners};
use crate::exit::Failure;
use crate::github::{GitHub, RepoName};
use crate::policy::{self, LoadedPolicy, Policy};
use crate::repo::{FileAt, Repo};

/// The commit whose rules decide, and why it was chosen (shown to users).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Base {
    pub sha: String,
    pub why: String,
}

/// What is being approved, as the flow knows it (PR and push facts from the API).
#[derive(Debug, Clone, Copy)]
pub enum Action<'a> {
    /// A `pull_request*` event, or a comment or review on a PR.
    PullRequest {
        number: u64,
        base_branch: &'a str,
        base_sha: &'a str,
    },
    /// A push event: `before` is `None` (or all zeros) for a new branch.
    Push {
        branch: &'a str,
        before: Option<&'a str>,
        sha: &'a str,
    },
    /// `workflow_dispatch`, `schedule` or any other event that runs on `sha`; `branch`
    /// when the run's ref is a branch, with that branch's tip on the remote.
    Deploy {
        sha: &'a str,
        branch: Option<(&'a str, Option<&'a str>)>,
        /// The newest approved deployment of the environment that is a strict ancestor
        /// of `sha` (see `audit::approvals::last_deployment`).
        last_deployment: Option<&'a str>,
    },
    /// The pre-push hook or `jitaa request`: the remote branch and its current tip.
    RemoteTip {
        branch: &'a str,
        tip: Option<&'a str>,
    },
}

/// The default branch as the remote has it, with the policy committed at its tip.
#[derive(Debug, Clone, Copy)]
pub struct DefaultBranch<'a> {
    pub name: &'a str,
    pub tip: &'a str,
    pub policy: &'a Policy,
}

impl DefaultBranch<'_> {
    /// The default branch, and whatever its policy's `protected_branches` lists.
    pub fn protects(&self, branch: &str) -> bool {
        self.policy.is_protected(branch, Some(self.name))
    }
}

/// Ancestry questions [`choose`] asks; errors fail closed (no base, no approval).
pub trait Graph {
    /// `ancestor` is `descendant` or one of its ancestors.
    fn is_ancestor(&self, ancestor: &str, descendant: &str) -> Result<bool, Failure>;
    /// The first parent of `sha` (`None` for a root commit).
    fn first_parent(&self, sha: &str) -> Result<Option<String>, Failure>;
}

fn short(sha: &str) -> &str {
    sha.get(..12).unwrap_or(sha)
}

fn is_zero(sha: &str) -> bool {
    !sha.is_empty() && sha.bytes().all(|b| b == b'0')
}

/// The protected base of `action`.
pub fn choose(
    action: &Action<'_>,
    default: &DefaultBranch<'_>,
    graph: &dyn Graph,
) -> Result<Base, Failure> {
    let default_tip = || Base {
        sha: default.tip.to_string(),
        why: format!(
            "the default branch `{}` at {}",
            default.name,
            short(default.tip)
        ),
    };
    match *action {
        Action::PullRequest {
            number,
            base_branch,
            base_sha,
        } => {
            let branch = base_branch
                .strip_prefix("refs/heads/")
                .unwrap_or(base_branch);
            if default.protects(branch) {
                Ok(Base {
                    sha: base_sha.to_string(),
                    why: format!("pull request #{number}'s base {}", short(base_sha)),
                })
            } else {
                let mut b = default_tip();
                b.why = format!(
                    "{} (pull request #{number} targets `{branch}`, which is not protected)",
                    b.why
                );
                Ok(b)
            }
        }
        Action::Push {
            branch,
            before,
            sha,
        } => {
            let before = before.filter(|b| !is_zero(b));
            match before {
                Some(before) if default.protects(branch) => {
                    if !graph.is_ancestor(before, sha)? {
                        return Err(Failure::denied(format!(
                            "the push's `before` {before} is not an ancestor of {sha} (a force-push): there is no protected base to read the policy from, so it cannot be approved"
                        )));
                    }
                    Ok(Base {
                        sha: before.to_string(),
                        why: format!("the push's `before` {}", short(before)),
                    })
                }
                Some(_) => {
                    let mut b = default_tip();
                    b.why = format!("{} (`{branch}` is not protected)", b.why);
                    Ok(b)
                }
                None => {
                    let mut b = default_tip();
                    b.why = format!("{} (`{branch}` is a new branch)", b.why);
                    Ok(b)
                }
            }
        }
        Action::Deploy {
            sha,
            branch,
            last_deployment,
        } => {
            if let Some(last) = last_deployment
                && !last.eq_ignore_ascii_case(sha)
                && graph.is_ancestor(last, sha)?
            {
                return Ok(Base {
                    sha: last.to_string(),
                    why: format!("the last approved deployment {}", short(last)),
                });
            }
            let on_protected = match branch {
                Some((name, Some(tip))) if default.protects(name) => graph.is_ancestor(sha, tip)?,
                _ => false,
            };
            if on_protected && let Some(parent) = graph.first_parent(sha)? {
                return Ok(Base {
                    why: format!("{}'s first parent {}", short(sha), short(&parent)),
                    sha: parent,
                });
            }
            if default.tip.eq_ignore_ascii_case(sha) {
                // The deployed commit is the default tip itself: its own rules never
                // decide; its first parent's do.
                return match graph.first_parent(sha)? {
                    Some(parent) => Ok(Base {
                        why: format!(
                            "{}'s first parent {} (it is the default branch's tip)",
                            short(sha),
                            short(&parent)
                        ),
                        sha: parent,
                    }),
                    None => Err(Failure::usage(format!(
                        "{sha} is the first commit of `{}`: there is no earlier commit whose rules could decide it",
                        default.name
                    ))),
                };
            }
            Ok(default_tip())
        }
        Action::RemoteTip { branch, tip } => {
            if let Some(tip) = tip.filter(|t| !is_zero(t)) {
                Ok(Base {
                    sha: tip.to_string(),
                    why: format!("the remote's `{branch}` at {}", short(tip)),
                })
            } else {
                let mut b = default_tip();
                b.why = format!("{} (`{branch}` is a new branch)", b.why);
                Ok(b)
            }
        }
    }
}

impl Graph for Repo {
    fn is_ancestor(&self, ancestor: &str, descendant: &str) -> Result<bool, Failure> {
        let (a, d) = (self.present(ancestor)?, self.present(descendant)?);
        Ok(a == d
            || self.git().graph_descendant_of(d, a).map_err(|e| {
                Failure::unreachable(format!(
                    "comparing {ancestor} and {descendant}: {}",
                    e.message()
                ))
            })?)
    }

    fn first_parent(&self, sha: &str) -> Result<Option<String>, Failure> {
        let id = self.present(sha)?;
        let commit = self
            .git()
            .find_commit(id)
            .map_err(|e| Failure::unreachable(format!("reading {sha}: {}", e.message())))?;
        let parent = commit.parent_id(0).ok();
        if let Some(p) = parent {
            // A shallow checkout may lack the parent's objects.
            self.present(&p.to_string())?;
        }
        Ok(parent.map(|p| p.to_string()))
    }
}

/// Where files at one commit come from.
pub trait Files {
    /// The file at `path`, refusing (not loading) blobs over `max` bytes.
    fn get(&self, path: &str, max: usize) -> Result<FileAt, Failure>;
    /// The commit, as users read it (`pull request #3's base 0123456789ab`).
    fn at(&self) -> &str;
}

/// Files from git objects.
pub struct GitFiles<'r> {
    repo: &'r Repo,
    commit: Oid,
    at: String,
}

impl<'r> GitFiles<'r> {
    pub fn new(repo: &'r Repo, commit: Oid, at: impl Into<String>) -> Self {
        GitFiles {
            repo,
            commit,
            at: at.into(),
        }
    }

    /// The base's files, fetching the commit when it is not local.
    pub fn at_base(repo: &'r Repo, base: &Base) -> Result<Self, Failure> {
        Ok(GitFiles::new(
            repo,
            repo.present(&base.sha)?,
            base.why.clone(),
        ))
    }
}

impl Files for GitFiles<'_> {
    fn get(&self, path: &str, max: usize) -> Result<FileAt, Failure> {
        Ok(self.repo.read_file(self.commit, path, max)?)
    }
    fn at(&self) -> &str {
        &self.at
    }
}

/// The work tree's files, for `policy check` without `--ref`: the policy and CODEOWNERS as
/// the user has them now, with the same limits and location order as at a commit. Never
/// a protected base: no flow decides anything from the work tree.
pub struct WorkTreeFiles<'a>(&'a std::path::Path);

impl<'a> WorkTreeFiles<'a> {
    pub fn new(root: &'a std::path::Path) -> Self {
        WorkTreeFiles(root)
    }
}

impl Files for WorkTreeFiles<'_> {
    fn get(&self, path: &str, max: usize) -> Result<FileAt, Failure> {
        let full = self.0.join(path);
        let meta = match std::fs::metadata(&full) {
            Ok(m) if m.is_file() => m,
            Ok(_) => return Ok(FileAt::Missing),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(FileAt::Missing),
            Err(e) => return Err(Failure::usage(format!("{}: {e}", full.display()))),
        };
        let size = usize::try_from(meta.len()).unwrap_or(usize::MAX);
        if size > max {
            return Ok(FileAt::TooLarge { size });
        }
        std::fs::read(&full)
            .map(FileAt::Found)
            .map_err(|e| Failure::usage(format!("{}: {e}", full.display())))
    }
    fn at(&self) -> &'static str {
        "the work tree"
    }
}

/// Files through the `git` command line (`git cat-file`), for repositories git2 cannot
/// open (SHA-256 object format): the same limits as [`GitFiles`].
pub struct CliFiles<'d> {
    dir: &'d std::path::Path,
    rev: String,
}

impl<'d> CliFiles<'d> {
    pub fn new(dir: &'d std::path::Path, rev: impl Into<String>) -> Self {
        CliFiles {
            dir,
            rev: rev.into(),
        }
    }

    fn git(&self, args: &[&str]) -> Result<Option<Vec<u8>>, Failure> {
        let out = crate::repo::git_cli(self.dir)
            .args(args)
            .output()
            .map_err(|e| Failure::unreachable(format!("running git: {e}")))?;
        Ok(out.status.success().then_some(out.stdout))
    }
}

impl Files for CliFiles<'_> {
    fn get(&self, path: &str, max: usize) -> Result<FileAt, Failure> {
        let object = format!("{}:{path}", self.rev);
        let Some(kind) = self.git(&["cat-file", "-t", &object])? else {
            return Ok(FileAt::Missing);
        };
        if String::from_utf8_lossy(&kind).trim() != "blob" {
            return Ok(FileAt::Missing);
        }
        let size = self
            .git(&["cat-file", "-s", &object])?
            .and_then(|b| String::from_utf8_lossy(&b).trim().parse::<usize>().ok())
            .ok_or_else(|| Failure::unreachable(format!("git cat-file -s {object} failed")))?;
        if size > max {
            return Ok(FileAt::TooLarge { size });
        }
        self.git(&["cat-file", "blob", &object])?
            .map(FileAt::Found)
            .ok_or_else(|| Failure::unreachable(format!("git cat-file blob {object} failed")))
    }
    fn at(&self) -> &str {
        &self.rev
    }
}

/// Files from the contents API, fetched up front (the loader is synchronous): every
/// candidate location the loader may ask for, so "which location wins" stays the
/// loader's decision.
pub struct ApiFiles {
    files: HashMap<String, Option<Vec<u8>>>,
    at: String,
}

impl ApiFiles {
    pub async fn fetch<G: GitHub>(
        gh: &G,
        repo: &RepoName,
        base: &Base,
        policy_path: Option<&str>,
    ) -> Result<ApiFiles, Failure> {
        let mut paths: Vec<&str> = Vec::new();
        paths.extend(policy_path);
        paths.extend(policy::LOCATIONS);
        paths.extend(codeowners::LOCATIONS);
        let mut files = HashMap::new();
        for p in paths {
            let bytes = gh
                .file_at(repo, p, &base.sha)
                .await
                .map_err(crate::request::gh_fail(
                    "reading the rules at the protected base",
                ))?;
            files.insert(p.to_string(), bytes);
        }
        Ok(ApiFiles {
            files,
            at: base.why.clone(),
        })
    }
}

impl Files for ApiFiles {
    fn get(&self, path: &str, max: usize) -> Result<FileAt, Failure> {
        match self.files.get(path) {
            Some(Some(b)) if b.len() > max => Ok(FileAt::TooLarge { size: b.len() }),
            Some(Some(b)) => Ok(FileAt::Found(b.clone())),
            Some(None) => Ok(FileAt::Missing),
            None => Err(Failure::unreachable(format!(
                "internal: {path} was not fetched from the contents API"
            ))),
        }
    }
    fn at(&self) -> &str {
        &self.at
    }
}

/// Policy and CODEOWNERS as committed at one commit.
#[derive(Debug, Clone)]
pub struct Rules {
    pub policy: LoadedPolicy,
    pub codeowners: Option<CodeOwners>,
}

/// Reads the rules from `files`: the policy at `policy_path` (must exist) or the first of
/// [`policy::LOCATIONS`] (else the built-in defaults), and the first of
/// [`codeowners::LOCATIONS`]. An invalid policy is exit 2; a CODEOWNERS that GitHub would
/// not load (3 MB or more, not UTF-8) owns nothing and says why.
pub fn rules(files: &dyn Files, policy_path: Option<&str>) -> Result<Rules, Failure> {
    Ok(Rules {
        policy: load_policy(files, policy_path)?,
        codeowners: load_codeowners(files)?,
    })
}

fn load_policy(files: &dyn Files, policy_path: Option<&str>) -> Result<LoadedPolicy, Failure> {
    let too_large = |file: &str, size: usize| {
        Failure::usage(format!(
            "invalid policy:\n{file}: {size} bytes; a policy file may be at most {} bytes (1 MiB)",
            policy::MAX_BYTES
        ))
    };
    let named: Vec<&str> = match policy_path {
        Some(p) => vec![p],
        None => policy::LOCATIONS.to_vec(),
    };
    for file in named {
        match files.get(file, policy::MAX_BYTES)? {
            FileAt::Missing => {}
            FileAt::TooLarge { size } => return Err(too_large(file, size)),
            FileAt::Found(bytes) => {
                return Ok(LoadedPolicy {
                    policy: Policy::parse(file, &bytes)?,
                    file: Some(file.to_string()),
                    digest: policy::digest(&bytes),
                });
            }
        }
    }
    if let Some(p) = policy_path {
        return Err(Failure::usage(format!(
            "--policy {p}: no such file at {} (the policy is read at the protected base, not the work tree)",
            files.at()
        )));
    }
    Ok(LoadedPolicy {
        policy: Policy::builtin(),
        file: None,
        digest: policy::digest(b""),
    })
}

fn load_codeowners(files: &dyn Files) -> Result<Option<CodeOwners>, Failure> {
    for location in codeowners::LOCATIONS {
        match files.get(location, codeowners::MAX_BYTES)? {
            FileAt::Missing => {}
            FileAt::TooLarge { size } => {
                return Ok(Some(CodeOwners::not_loaded(
                    location,
                    format!(
                        "{location}: {size} bytes; GitHub does not load CODEOWNERS files of 3 MB or more, so no path has code owners"
                    ),
                )));
            }
            FileAt::Found(bytes) => {
                return Ok(Some(match String::from_utf8(bytes) {
                    Ok(text) => CodeOwners::parse(location, &text),
                    Err(e) => CodeOwners::not_loaded(
                        location,
                        format!(
                            "{location}: not UTF-8 (invalid byte at offset {}); not loaded",
                            e.utf8_error().valid_up_to()
                        ),
                    ),
                }));
            }
        }
    }
    Ok(None)
}

/// Who certifies approvals, as the default branch says: the keys of its
/// `audit.allowed_signers`, and the workflows of its `audit.trusted_workflows` when run
/// on the default branch itself (keyless, by their GitHub-signed OIDC tokens).
#[derive(Debug, Clone, Default)]
pub struct Trust {
    /// `None` when the file is missing: then no `ssh` signature certifies anything.
    pub certifiers: Option<AllowedSigners>,
    /// The file the keys were read from (for messages).
    pub certifiers_file: String,
    /// `None` when the policy lists no trusted workflows: no token certifies anything.
    pub keyless: Option<Keyless>,
}

/// Keyless certification: a record's `github-oidc` token counts when it verifies
/// against the issuer's own keys and names a run of one of `workflows` on
/// `refs/heads/<default_branch>` of the record's repository.
#[derive(Clone)]
pub struct Keyless {
    /// `audit.trusted_workflows` (`.github/workflows/NAME.yml`).
    pub workflows: Vec<String>,
    /// The default branch's name: a run of the same file from any other ref never counts.
    pub default_branch: String,
    /// Where token keys come from: the issuer's JWKS over https, fetched at most once a
    /// run and only when a token needs it (or `--jwks FILE`).
    pub tokens: std::sync::Arc<dyn crate::audit::OidcVerifier + Send + Sync>,
}

impl std::fmt::Debug for Keyless {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Keyless")
            .field("workflows", &self.workflows)
            .field("default_branch", &self.default_branch)
            .field("tokens", &self.tokens.source())
            .finish()
    }
}

impl Keyless {
    /// The `job_workflow_ref` values that certify records of `repository`.
    pub fn accepted_refs(&self, repository: &str) -> Vec<String> {
        self.workflows
            .iter()
            .map(|w| format!("{repository}/{w}@refs/heads/{}", self.default_branch))
            .collect()
    }

    /// Whether `job_workflow_ref` is a run of a trusted workflow of `repository` on the
    /// default branch (the repository compared case-insensitively, as GitHub does; the
    /// file and ref exactly).
    pub fn accepts(&self, repository: &str, job_workflow_ref: &str) -> bool {
        let Some((path, git_ref)) = job_workflow_ref.split_once('@') else {
            return false;
        };
        let Some((repo_part, file)) = path
            .get(..repository.len())
            .zip(path.get(repository.len()..))
        else {
            return false;
        };
        repo_part.eq_ignore_ascii_case(repository)
            && file
                .strip_prefix('/')
                .is_some_and(|f| self.workflows.iter().any(|w| w == f))
            && git_ref
                .strip_prefix("refs/heads/")
                .is_some_and(|b| b == self.default_branch)
    }
}

/// Reads the trusted keys from `files` (the default branch's tip, named
/// `default_branch`) as `policy` (the default branch's) names them, and the trusted
/// workflows with the issuer's JWKS as their key source. A missing keys file trusts no
/// key (with a warning); an unreadable or invalid one is exit 2.
pub fn trust(files: &dyn Files, policy: &Policy, default_branch: &str) -> Result<Trust, Failure> {
    let path = policy.audit.allowed_signers.clone();
    let certifiers = read_keys(files, &path, "audit.allowed_signers", &path)?;
    let workflows = &policy.audit.trusted_workflows;
    if certifiers.is_none() && workflows.is_empty() {
        tracing::warn!(
            "{path} is not on the default branch ({}) and the policy lists no audit.trusted_workflows: no record on the audit branch can certify an approval",
            files.at()
        );
    }
    let keyless = (!workflows.is_empty()).then(|| Keyless {
        workflows: workflows.clone(),
        default_branch: default_branch.to_string(),
        tokens: std::sync::Arc::new(crate::audit::wiring::RecordTokenVerifier::live(
            &crate::oidc::process_env("JITAA_OIDC_ISSUER")
                .unwrap_or_else(|| crate::oidc::DEFAULT_ISSUER.to_string()),
        )),
    });
    Ok(Trust {
        certifiers,
        certifiers_file: path,
        keyless,
    })
}

/// An allowed_signers file at `path`, or `None` when absent; `label` names it in
/// messages (`main:.github/jitaa-allowed-signers:3`), `key` is the policy key.
pub fn read_keys(
    files: &dyn Files,
    path: &str,
    key: &str,
    label: &str,
) -> Result<Option<AllowedSigners>, Failure> {
    match files.get(path, 1 << 20)? {
        FileAt::Missing => Ok(None),
        FileAt::TooLarge { size } => Err(Failure::usage(format!(
            "{key}: {path} is {size} bytes (over 1 MiB)"
        ))),
        FileAt::Found(bytes) => {
            let text = String::from_utf8(bytes)
                .map_err(|_| Failure::usage(format!("{key}: {path} is not UTF-8")))?;
            AllowedSigners::parse(&text, label)
                .map(Some)
                .map_err(|e| Failure::usage(format!("{key}: {}", crate::exit::full_message(&e))))
        }
    }
}

/// The default branch of `origin`: its name and tip, fetched when the checkout lacks it.
pub fn default_branch(repo: &Repo, remote: &str) -> Result<(String, Oid), Failure> {
    let name = repo
        .default_branch(remote)
        .unwrap_or_else(|| "main".to_string());
    let remote_ref = format!("refs/remotes/{remote}/{name}");
    if repo.git().refname_to_id(&remote_ref).is_err() {
        repo.fetch_branch(remote, &name, true);
    }
    let id = repo.git().refname_to_id(&remote_ref).map_err(|e| {
        Failure::unreachable(format!(
            "cannot read the default branch `{name}` from {remote} ({}): the rules come from the protected base",
            e.message()
        ))
    })?;
    Ok((name, id))
}

/// The default branch's rules and trusted keys, read once per run.
pub struct AtDefault {
    pub name: String,
    pub tip: String,
    pub rules: Rules,
    pub trust: Trust,
}

impl AtDefault {
    /// Reads the default branch of `remote` (fetched when missing).
    pub fn load(repo: &Repo, remote: &str) -> Result<AtDefault, Failure> {
        let (name, tip) = default_branch(repo, remote)?;
        AtDefault::at(repo, name, tip)
    }

    /// Reads the default branch `name` at `tip`.
    pub fn at(repo: &Repo, name: String, tip: Oid) -> Result<AtDefault, Failure> {
        let files = GitFiles::new(repo, tip, format!("the default branch `{name}`"));
        let rules = rules(&files, None)?;
        let trust = trust(&files, &rules.policy.policy, &name)?;
        Ok(AtDefault {
            name,
            tip: tip.to_string(),
            rules,
            trust,
        })
    }

    pub fn branch(&self) -> DefaultBranch<'_> {
        DefaultBranch {
            name: &self.name,
            tip: &self.tip,
            policy: &self.rules.policy.policy,
        }
    }
}

#[cfg(test)]
mod tests;
