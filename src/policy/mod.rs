//! The approval policy (`.github/jitaa.yml`, fallback `.jitaa.yml`): its schema,
//! defaults, and which rule matches an action. Read from a commit, never the work tree.
//!
//! Parsed with serde-saphyr (serde_yaml is deprecated and archived); every value keeps
//! its line and column so a bad policy is reported as `file:line:column: what is wrong`
//! and exits 2. No policy file means [`Policy::builtin`]: DESIGN.md's defaults.

pub mod hosted;
mod raw;
mod syntax;
mod tree;
mod validate;

use std::fmt;
use std::time::Duration;

use globset::GlobSet;
use sha2::{Digest, Sha256};

use crate::codeowners::Owner;

pub use validate::{MAX_APPROVALS, MAX_DURATION};

/// Where the policy is looked for in a commit, in order.
pub const LOCATIONS: [&str; 2] = [".github/jitaa.yml", ".jitaa.yml"];
/// Policy files larger than this are rejected.
pub const MAX_BYTES: usize = 1024 * 1024;

/// Who may approve under a rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Approvers {
    /// The CODEOWNERS owners of the changed paths.
    Codeowners,
    /// A fixed list of users and teams.
    List(Vec<Owner>),
}

/// With `approvers: codeowners`, whether approving owners must cover every changed path.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Coverage {
    /// An eligible approver owns at least one changed path (the default).
    #[default]
    Any,
    /// Every changed path needs one of its owners among the approvers.
    All,
}

/// A rule with the policy's defaults filled in: everything the approval engine needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rule {
    pub name: String,
    pub approvals: u32,
    pub approvers: Approvers,
    pub codeowners: Coverage,
    pub self_approval: bool,
    pub timeout: Duration,
    pub ttl: Duration,
}

impl Rule {
    /// DESIGN.md's defaults: 1 approval from a code owner, 30m timeout, 15m ttl, no self-approval.
    pub fn builtin(name: &str) -> Rule {
        Rule {
            name: name.to_string(),
            approvals: 1,
            approvers: Approvers::Codeowners,
            codeowners: Coverage::Any,
            self_approval: false,
            timeout: Duration::from_secs(30 * 60),
            ttl: Duration::from_secs(15 * 60),
        }
    }

    /// `codeowners` or the list as written (`@acme/sre`, `@alice`).
    pub fn approvers_text(&self) -> Vec<String> {
        match &self.approvers {
            Approvers::Codeowners => vec!["codeowners".to_string()],
            Approvers::List(l) => l.iter().map(Owner::to_string).collect(),
        }
    }
}

/// `oidc:` whether the gate requires an Actions ID token.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum OidcMode {
    #[default]
    Required,
    /// Without id-token permission, the context comes from the environment (recorded as such).
    Optional,
}

/// `audit.signing` entries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SigningMethod {
    Ssh,
    GithubOidc,
}

/// The default of `audit.pusher_signers`.
pub const DEFAULT_PUSHER_SIGNERS: &str = ".github/jitaa-pusher-signers";

/// `audit:` where records go and how they are signed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditSettings {
    /// Default `jitaa/audit`.
    pub branch: String,
    /// Default `[ssh, github-oidc]`.
    pub signing: Vec<SigningMethod>,
    /// Certifiers' keys (CI keys). Default `.github/jitaa-allowed-signers` (read from
    /// the default branch).
    pub allowed_signers: String,
    /// Developers' keys, trusted for the hook's `push` records only (never for an
    /// approval, grant or reusable decision). Default `.github/jitaa-pusher-signers`
    /// (read from the default branch). A key in both files is a certifier.
    pub pusher_signers: String,
    /// Workflow files (`.github/workflows/NAME.yml`) whose runs on the default branch
    /// certify records keyless, by their GitHub-signed OIDC token. Default: none.
    pub trusted_workflows: Vec<String>,
    /// Default `origin`.
    pub remote: String,
}

impl Default for AuditSettings {
    fn default() -> Self {
        AuditSettings {
            branch: "jitaa/audit".into(),
            signing: vec![SigningMethod::Ssh, SigningMethod::GithubOidc],
            allowed_signers: ".github/jitaa-allowed-signers".into(),
            pusher_signers: DEFAULT_PUSHER_SIGNERS.into(),
            trusted_workflows: Vec::new(),
            remote: "origin".into(),
        }
    }
}

/// Compiled globs with their text.
#[derive(Debug, Clone)]
pub struct Globs {
    pub texts: Vec<String>,
    set: GlobSet,
}

impl Globs {
    pub fn is_match(&self, s: &str) -> bool {
        self.set.is_match(s)
    }
}

/// A rule's `match:`; `None` keys are not checked. All present keys must hold.
#[derive(Debug, Clone, Default)]
pub struct RuleMatch {
    pub environment: Option<Vec<String>>,
    pub branches: Option<Globs>,
    pub paths: Option<Globs>,
    pub events: Option<Vec<String>>,
    pub actors: Option<Vec<String>>,
}

#[derive(Debug, Clone)]
struct PolicyRule {
    rule: Rule,
    when: RuleMatch,
    /// Line of the rule in the file.
    line: usize,
}

/// What is being approved, as far as rule matching cares.
#[derive(Debug, Clone, Copy, Default)]
pub struct MatchInput<'a> {
    pub environment: Option<&'a str>,
    /// Branch name without `refs/heads/` (a full ref is accepted too).
    pub branch: Option<&'a str>,
    pub paths: &'a [String],
    /// `push`, `pull_request`, `workflow_dispatch`, ...
    pub event: Option<&'a str>,
    /// The requester's login.
    pub actor: Option<&'a str>,
}

/// The rule that applies, with one line per reason.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Matched {
    pub rule: Rule,
    pub why: Vec<String>,
}

/// A validated policy.
#[derive(Debug, Clone)]
pub struct Policy {
    pub oidc: OidcMode,
    pub audit: AuditSettings,
    /// The implicit rule named `default`, used when no rule matches.
    pub defaults: Rule,
    /// `None`: only the repository's default branch is protected.
    pub protected_branches: Option<Globs>,
    rules: Vec<PolicyRule>,
}

/// A policy as read from a commit.
#[derive(Debug, Clone)]
pub struct LoadedPolicy {
    pub policy: Policy,
    /// The file it came from; `None` for the built-in defaults (no policy file).
    pub file: Option<String>,
    /// `sha256:<hex>` over the file's raw bytes (over no bytes for the built-in defaults).
    pub digest: String,
}

/// One thing wrong with a policy file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub file: String,
    /// 1-based; 0 when the problem is with the whole file.
    pub line: usize,
    pub column: usize,
    pub message: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.line == 0 {
            write!(f, "{}: {}", self.file, self.message)
        } else {
            write!(
                f,
                "{}:{}:{}: {}",
                self.file, self.line, self.column, self.message
            )
        }
    }
}

/// Why a policy file is invalid: every problem found, in file order.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct PolicyError {
    pub problems: Vec<Problem>,
}

/// At most this many problems are shown; the rest are counted.
const SHOWN_PROBLEMS: usize = 100;

impl fmt::Display for PolicyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, p) in self.problems.iter().take(SHOWN_PROBLEMS).enumerate() {
            if i > 0 {
                f.write_str("\n")?;
            }
            write!(f, "{p}")?;
        }
        if self.problems.len() > SHOWN_PROBLEMS {
            write!(
                f,
                "\n… and {} more problems",
                self.problems.len() - SHOWN_PROBLEMS
            )?;
        }
        Ok(())
    }
}

impl PolicyError {
    fn whole(file: &str, message: String) -> PolicyError {
        PolicyError {
            problems: vec![Problem {
                file: file.to_string(),
                line: 0,
                column: 0,
                message,
            }],
        }
    }
}

/// `sha256:<hex>` of `bytes`.
pub fn digest(bytes: &[u8]) -> String {
    format!("sha256:{}", hex::encode(Sha256::digest(bytes)))
}

impl Policy {
    /// DESIGN.md's behaviour without a policy file.
    pub fn builtin() -> Policy {
        Policy {
            oidc: OidcMode::default(),
            audit: AuditSettings::default(),
            defaults: Rule::builtin("default"),
            protected_branches: None,
            rules: Vec::new(),
        }
    }

    /// Parses and validates policy bytes; `file_label` prefixes every problem.
    pub fn parse(file_label: &str, bytes: &[u8]) -> Result<Policy, PolicyError> {
        if bytes.len() > MAX_BYTES {
            return Err(PolicyError::whole(
                file_label,
                format!(
                    "{} bytes; a policy file may be at most {MAX_BYTES} bytes (1 MiB)",
                    bytes.len()
                ),
            ));
        }
        let text = std::str::from_utf8(bytes).map_err(|e| {
            PolicyError::whole(
                file_label,
                format!(
                    "not UTF-8 (invalid byte at offset {}); save the policy as UTF-8",
                    e.valid_up_to()
                ),
            )
        })?;
        if text.trim().is_empty()
            || text.lines().all(|l| {
                let l = l.trim();
                l.is_empty() || l.starts_with('#') || l == "---"
            })
        {
            return Err(PolicyError::whole(
                file_label,
                "empty; a policy needs at least `version: 1`".into(),
            ));
        }
        // YAML syntax first: every broken line, and the tree of the rest.
        let recovered = syntax::parse_recovering(text);
        let mut problems: Vec<Problem> = recovered
            .errors
            .iter()
            .map(|w| Problem {
                file: file_label.to_string(),
                line: w.line,
                column: w.column,
                message: w.message.clone(),
            })
            .collect();
        let syntax_errors = !problems.is_empty();
        let mut policy = None;
        // After syntax errors, a tree that is no mapping is what blanking left behind.
        let readable =
            |t: &tree::S<tree::Node>| !syntax_errors || matches!(t.value, tree::Node::Map(_));
        if let Some(tree) = recovered.tree.as_ref().filter(|t| readable(t)) {
            // Unknown keys and wrong types, then the values.
            let mut read = validate::Checker {
                file: file_label,
                problems: Vec::new(),
            };
            let raw = raw::read(&mut read, &recovered.text, tree);
            let mut checked = validate::Checker {
                file: file_label,
                problems: Vec::new(),
            };
            policy = raw.map(|mut raw| {
                if syntax_errors {
                    // A blanked line may have held `version` or a rule's `name`:
                    // "missing" would blame the writer for the recovery.
                    raw.forgive_missing();
                }
                validate::build(&mut checked, raw, tree.referenced)
            });
            problems.append(&mut read.problems);
            problems.append(&mut checked.problems);
        }
        // Every problem, in file order.
        problems.sort_by_key(|p| (p.line, p.column));
        match policy {
            Some(policy) if problems.is_empty() => Ok(policy),
            _ if problems.is_empty() => Err(PolicyError::whole(
                file_label,
                "not a policy: the top level must be a mapping (`version: 1`)".into(),
            )),
            _ => Err(PolicyError { problems }),
        }
    }

    /// The explicit rules, in file order (not the implicit `default`).
    pub fn rules(&self) -> impl Iterator<Item = &Rule> {
        self.rules.iter().map(|r| &r.rule)
    }

    /// The first rule whose `match` holds, else the implicit `default` rule.
    pub fn rule_for(&self, input: &MatchInput<'_>) -> Matched {
        let mut skipped = Vec::new();
        for r in &self.rules {
            match r.when.check(input) {
                Ok(reasons) => {
                    let mut why = skipped;
                    let head = format!(
                        "rule `{}` (line {}) is the first that matches",
                        r.rule.name, r.line
                    );
                    why.push(head);
                    why.extend(reasons);
                    return Matched {
                        rule: r.rule.clone(),
                        why,
                    };
                }
                Err(reason) => skipped.push(format!(
                    "rule `{}` (line {}) does not match: {reason}",
                    r.rule.name, r.line
                )),
            }
        }
        skipped.push(if self.rules.is_empty() {
            "no rules: the implicit rule `default` (from `defaults`) applies".to_string()
        } else {
            "no rule matches: the implicit rule `default` (from `defaults`) applies".to_string()
        });
        Matched {
            rule: self.defaults.clone(),
            why: skipped,
        }
    }

    /// Whether `branch` is protected: the default branch always is (DESIGN.md's
    /// protected-base table), and so is every branch `protected_branches` lists.
    /// `refs/heads/` is accepted. The one definition the gate, the hook and the
    /// protected-base choice use.
    pub fn is_protected(&self, branch: &str, default_branch: Option<&str>) -> bool {
        let strip = |b: &str| b.strip_prefix("refs/heads/").unwrap_or(b).to_string();
        let branch = strip(branch);
        default_branch.is_some_and(|d| strip(d) == branch)
            || self
                .protected_branches
                .as_ref()
                .is_some_and(|globs| globs.is_match(&branch))
    }
}

impl RuleMatch {
    /// `Ok(reasons it matches)` or `Err(the first reason it does not)`.
    fn check(&self, input: &MatchInput<'_>) -> Result<Vec<String>, String> {
        let mut why = Vec::new();
        if let Some(envs) = &self.environment {
            match input.environment {
                None => {
                    return Err("no environment (it needs one of the listed environments)".into());
                }
                // GitHub environment names are case-insensitive.
                Some(e) if envs.iter().any(|x| x.eq_ignore_ascii_case(e)) => {
                    why.push(format!("environment `{e}` is listed"));
                }
                Some(e) => return Err(format!("environment `{e}` is not one of {}", list(envs))),
            }
        }
        if let Some(globs) = &self.branches {
            match input
                .branch
                .map(|b| b.strip_prefix("refs/heads/").unwrap_or(b))
            {
                None => return Err("no branch".into()),
                Some(b) if globs.is_match(b) => {
                    why.push(format!("branch `{b}` matches {}", list(&globs.texts)));
                }
                Some(b) => {
                    return Err(format!(
                        "branch `{b}` matches none of {}",
                        list(&globs.texts)
                    ));
                }
            }
        }
        if let Some(globs) = &self.paths {
            if input.paths.is_empty() {
                return Err(
                    "no changed paths (a `paths` rule needs every changed path to match)".into(),
                );
            }
            if let Some(p) = input
                .paths
                .iter()
                .find(|p| !globs.is_match(p.trim_start_matches('/')))
            {
                return Err(format!("path `{p}` matches none of {}", list(&globs.texts)));
            }
            why.push(format!(
                "all {} changed paths match {}",
                input.paths.len(),
                list(&globs.texts)
            ));
        }
        if let Some(events) = &self.events {
            match input.event {
                Some(e) if events.iter().any(|x| x == e) => {
                    why.push(format!("event `{e}` is listed"));
                }
                Some(e) => return Err(format!("event `{e}` is not one of {}", list(events))),
                None => return Err("no event".into()),
            }
        }
        if let Some(actors) = &self.actors {
            // GitHub logins are case-insensitive; `@alice` and `alice` both name alice.
            match input.actor {
                Some(a)
                    if actors.iter().any(|x| {
                        x.trim_start_matches('@')
                            .eq_ignore_ascii_case(a.trim_start_matches('@'))
                    }) =>
                {
                    why.push(format!("actor `{a}` is listed"));
                }
                Some(a) => return Err(format!("actor `{a}` is not one of {}", list(actors))),
                None => return Err("no actor".into()),
            }
        }
        if why.is_empty() {
            why.push("it has no `match` conditions, so it matches everything".into());
        }
        Ok(why)
    }
}

fn list(items: &[String]) -> String {
    let quoted: Vec<String> = items.iter().map(|s| format!("`{s}`")).collect();
    format!("[{}]", quoted.join(", "))
}

#[cfg(test)]
mod cases;
#[cfg(test)]
mod props;
#[cfg(test)]
mod tests;
