//! Turning the file as written ([`super::raw`]) into a [`Policy`]: every value is
//! checked, and every problem names `file:line:column` and the key.

use std::collections::HashSet;
use std::time::Duration;

use globset::{GlobBuilder, GlobSet, GlobSetBuilder};
use serde_saphyr::Location;

use super::raw::{OneOrMany, RawMatch, RawPolicy, RawSettingsRef, S};
use super::{
    Approvers, AuditSettings, Coverage, Globs, OidcMode, Policy, PolicyRule, Problem, Rule,
    RuleMatch, SigningMethod,
};
use crate::codeowners::Owner;

/// The most approvals a rule may ask for.
pub const MAX_APPROVALS: i64 = 100;
/// The longest `timeout` or `ttl` accepted.
pub const MAX_DURATION: Duration = Duration::from_secs(30 * 24 * 3600);

pub(super) struct Checker<'a> {
    pub file: &'a str,
    pub problems: Vec<Problem>,
}

impl Checker<'_> {
    pub(super) fn at(&mut self, loc: &Location, message: impl Into<String>) {
        self.problems.push(Problem {
            file: self.file.to_string(),
            line: loc.line() as usize,
            column: loc.column() as usize,
            message: message.into(),
        });
    }
}

pub(super) fn build(c: &mut Checker<'_>, raw: RawPolicy, top: Location) -> Policy {
    let mut policy = Policy::builtin();
    match &raw.version {
        None if raw.version_invalid => {}
        None => c.at(&top, "version: missing; write `version: 1` at the top"),
        Some(v) if v.value != 1 => c.at(
            &v.referenced,
            format!(
                "version: {} is not supported; this jitaa reads version 1",
                v.value
            ),
        ),
        Some(_) => {}
    }
    if let Some(o) = &raw.oidc {
        match o.value.as_str() {
            "required" => policy.oidc = OidcMode::Required,
            "optional" => policy.oidc = OidcMode::Optional,
            other => c.at(
                &o.referenced,
                format!("oidc: `{other}` is not one of `required`, `optional`"),
            ),
        }
    }
    if let Some(a) = &raw.audit {
        policy.audit = audit(c, &a.value);
    }
    if let Some(d) = &raw.defaults {
        policy.defaults = settings(c, "defaults", d.value.settings(), &Rule::builtin("default"));
    }
    if let Some(pb) = &raw.protected_branches {
        let list = strings(c, "protected_branches", pb);
        policy.protected_branches = Some(globs(c, "protected_branches", &list));
    }
    let mut names = HashSet::new();
    if let Some(rules) = &raw.rules {
        for r in &rules.value {
            let i = r.value.index;
            let what = format!("rules[{i}]");
            let name = match &r.value.name {
                None if r.value.name_invalid => format!("rule-{}", i + 1),
                None => {
                    c.at(
                        &r.referenced,
                        format!("{what}.name: missing; every rule needs a name"),
                    );
                    format!("rule-{}", i + 1)
                }
                Some(n) if n.value.trim().is_empty() => {
                    c.at(&n.referenced, format!("{what}.name: empty"));
                    n.value.clone()
                }
                Some(n) => {
                    if n.value == "default" {
                        c.at(&n.referenced, format!("{what}.name: `default` is reserved for the implicit rule built from `defaults`"));
                    }
                    if !names.insert(n.value.clone()) {
                        c.at(
                            &n.referenced,
                            format!("{what}.name: duplicate rule name `{}`", n.value),
                        );
                    }
                    n.value.clone()
                }
            };
            let what = format!("rules[{i}] ({name})");
            let mut rule = settings(c, &what, r.value.settings(), &policy.defaults);
            rule.name = name;
            let when = match &r.value.matches {
                Some(m) => matcher(c, &what, &m.value),
                None => RuleMatch::default(),
            };
            policy.rules.push(PolicyRule {
                rule,
                when,
                line: r.referenced.line() as usize,
            });
        }
    }
    policy
}

fn audit(c: &mut Checker<'_>, a: &super::raw::RawAudit) -> AuditSettings {
    let mut out = AuditSettings::default();
    let text = |c: &mut Checker<'_>, key: &str, v: &Option<S<String>>, slot: &mut String| {
        if let Some(v) = v {
            if v.value.trim().is_empty() {
                c.at(&v.referenced, format!("audit.{key}: empty"));
            } else {
                *slot = v.value.clone();
            }
        }
    };
    text(c, "branch", &a.branch, &mut out.branch);
    text(
        c,
        "allowed_signers",
        &a.allowed_signers,
        &mut out.allowed_signers,
    );
    text(
        c,
        "pusher_signers",
        &a.pusher_signers,
        &mut out.pusher_signers,
    );
    text(c, "remote", &a.remote, &mut out.remote);
    if let Some(list) = &a.trusted_workflows {
        for item in strings(c, "audit.trusted_workflows", list) {
            match workflow_path_problem(&item.value) {
                Some(why) => c.at(
                    &item.referenced,
                    format!("audit.trusted_workflows: `{}` {why}", item.value),
                ),
                None if !out.trusted_workflows.contains(&item.value) => {
                    out.trusted_workflows.push(item.value.clone());
                }
                None => {}
            }
        }
    }
    // The two roles must not share a file: a developer's key would then certify.
    if let Some(p) = &a.pusher_signers
        && p.value.trim() == out.allowed_signers.trim()
    {
        c.at(
            &p.referenced,
            format!(
                "audit.pusher_signers: `{}` is also audit.allowed_signers; developers' keys (push records only) and certifiers' keys need separate files",
                p.value
            ),
        );
    }
    if let Some(b) = &a.branch
        && (b.value.starts_with("refs/") || b.value.contains(' ') || b.value.contains(".."))
    {
        c.at(
            &b.referenced,
            format!(
                "audit.branch: `{}` is not a branch name (write it without refs/heads/)",
                b.value
            ),
        );
    }
    if let Some(s) = &a.signing {
        let mut methods = Vec::new();
        for item in strings(c, "audit.signing", s) {
            match item.value.as_str() {
                "ssh" => methods.push(SigningMethod::Ssh),
                "github-oidc" => methods.push(SigningMethod::GithubOidc),
                other => c.at(
                    &item.referenced,
                    format!("audit.signing: `{other}` is not one of `ssh`, `github-oidc`"),
                ),
            }
        }
        if methods.is_empty() && c.problems.is_empty() {
            c.at(&s.referenced, "audit.signing: empty; records need at least one signature (`ssh` or `github-oidc`)");
        }
        methods.dedup();
        out.signing = methods;
    }
    out
}

#[allow(
    clippy::case_sensitive_file_extension_comparisons,
    reason = "GitHub compares job_workflow_ref exactly, and runs only .yml and .yaml files"
)]
/// Why `path` cannot name a workflow file as a token's `job_workflow_ref` does
/// (`.github/workflows/NAME.yml`, with no ref: the default branch is implied).
fn workflow_path_problem(path: &str) -> Option<&'static str> {
    let Some(name) = path.strip_prefix(".github/workflows/") else {
        return Some(
            "is not under `.github/workflows/` (write the path as the repository has it, e.g. `.github/workflows/jitaa.yml`)",
        );
    };
    if path.contains('@') {
        Some(
            "names a ref; list the file only (`.github/workflows/NAME.yml`): only its runs on the default branch certify",
        )
    } else if name.is_empty() || name.contains(['/', '\\']) || name.starts_with('.') {
        Some("is not a workflow file directly in `.github/workflows/`")
    } else if !(name.ends_with(".yml") || name.ends_with(".yaml")) {
        Some("is not a workflow file (`.yml` or `.yaml`)")
    } else {
        None
    }
}

/// Settings over `base`: what `raw` leaves out comes from `base`.
fn settings(c: &mut Checker<'_>, what: &str, raw: RawSettingsRef<'_>, base: &Rule) -> Rule {
    let mut rule = base.clone();
    if let Some(a) = raw.approvals {
        if (0..=MAX_APPROVALS).contains(&a.value) {
            rule.approvals = a.value as u32;
        } else {
            c.at(
                &a.referenced,
                format!(
                    "{what}.approvals: {} is not between 0 and {MAX_APPROVALS}",
                    a.value
                ),
            );
        }
    }
    if let Some(a) = raw.approvers {
        match &a.value {
            OneOrMany::Single(s) if s == "codeowners" => rule.approvers = Approvers::Codeowners,
            OneOrMany::Single(s) => match Owner::parse(s) {
                Some(Owner::Email(_)) | None => c.at(&a.referenced, format!("{what}.approvers: `{s}` is neither `codeowners` nor a list of @user / @org/team")),
                Some(o) => rule.approvers = Approvers::List(vec![o]),
            },
            OneOrMany::Many(list) if list.is_empty() => {
                c.at(&a.referenced, format!("{what}.approvers: empty list; nobody could approve (use `codeowners` or name @users / @org/teams)"));
            }
            OneOrMany::Many(list) => {
                let mut owners = Vec::new();
                for item in list {
                    match Owner::parse(&item.value) {
                        Some(Owner::Email(_)) | None => c.at(&item.referenced, format!("{what}.approvers: `{}` is not @user or @org/team", item.value)),
                        Some(o) if owners.contains(&o) => c.at(&item.referenced, format!("{what}.approvers: `{}` is listed twice", item.value)),
                        Some(o) => owners.push(o),
                    }
                }
                rule.approvers = Approvers::List(owners);
            }
        }
    }
    if let Some(v) = raw.codeowners {
        match v.value.as_str() {
            "any" => rule.codeowners = Coverage::Any,
            "all" => rule.codeowners = Coverage::All,
            other => c.at(
                &v.referenced,
                format!("{what}.codeowners: `{other}` is not one of `any`, `all`"),
            ),
        }
    }
    if let Some(t) = raw.timeout {
        rule.timeout = duration(c, &format!("{what}.timeout"), t).unwrap_or(rule.timeout);
    }
    if let Some(t) = raw.ttl {
        rule.ttl = duration(c, &format!("{what}.ttl"), t).unwrap_or(rule.ttl);
    }
    if let Some(s) = raw.self_approval {
        rule.self_approval = s.value;
    }
    rule
}

fn duration(c: &mut Checker<'_>, key: &str, v: &S<String>) -> Option<Duration> {
    match humantime::parse_duration(v.value.trim()) {
        Err(e) => {
            c.at(
                &v.referenced,
                format!(
                    "{key}: `{}` is not a duration like 90s, 30m or 1h ({e})",
                    v.value
                ),
            );
            None
        }
        Ok(d) if d.is_zero() => {
            c.at(&v.referenced, format!("{key}: must be more than zero"));
            None
        }
        Ok(d) if d > MAX_DURATION => {
            c.at(
                &v.referenced,
                format!("{key}: `{}` is longer than the 30 days allowed", v.value),
            );
            None
        }
        Ok(d) => Some(d),
    }
}

fn matcher(c: &mut Checker<'_>, what: &str, m: &RawMatch) -> RuleMatch {
    let mut out = RuleMatch::default();
    let list = |c: &mut Checker<'_>,
                key: &str,
                v: &Option<S<OneOrMany>>|
     -> Option<Vec<S<String>>> {
        let v = v.as_ref()?;
        let items = strings(c, &format!("{what}.match.{key}"), v);
        if items.is_empty() {
            c.at(&v.referenced, format!("{what}.match.{key}: empty list; it could never match (leave the key out instead)"));
        }
        Some(items)
    };
    let plain =
        |items: Option<Vec<S<String>>>| items.map(|v| v.into_iter().map(|s| s.value).collect());
    out.environment = plain(list(c, "environment", &m.environment));
    out.events = plain(list(c, "events", &m.events));
    out.actors = plain(list(c, "actors", &m.actors));
    if let Some(b) = list(c, "branches", &m.branches) {
        out.branches = Some(globs(c, &format!("{what}.match.branches"), &b));
    }
    if let Some(p) = list(c, "paths", &m.paths) {
        out.paths = Some(globs(c, &format!("{what}.match.paths"), &p));
    }
    out
}

fn strings(c: &mut Checker<'_>, key: &str, v: &S<OneOrMany>) -> Vec<S<String>> {
    let items = match &v.value {
        OneOrMany::Single(s) => vec![S::new(s.clone(), v.referenced, v.defined)],
        OneOrMany::Many(list) => list.clone(),
    };
    items
        .into_iter()
        .filter(|s| {
            let ok = !s.value.trim().is_empty();
            if !ok {
                c.at(&s.referenced, format!("{key}: empty string"));
            }
            ok
        })
        .collect()
}

/// Compiles GitHub-Actions-style filter globs: `*` stays within a path segment, `**` crosses.
fn globs(c: &mut Checker<'_>, key: &str, items: &[S<String>]) -> Globs {
    let mut set = GlobSetBuilder::new();
    let mut texts = Vec::new();
    for item in items {
        match GlobBuilder::new(&item.value)
            .literal_separator(true)
            .backslash_escape(true)
            .build()
        {
            Ok(g) => {
                set.add(g);
                texts.push(item.value.clone());
            }
            Err(e) => c.at(
                &item.referenced,
                format!("{key}: `{}` is not a valid glob: {}", item.value, e.kind()),
            ),
        }
    }
    let set = match set.build() {
        Ok(set) => set,
        Err(e) => {
            if let Some(first) = items.first() {
                c.at(
                    &first.referenced,
                    format!("{key}: the globs could not be compiled together: {e}"),
                );
            }
            GlobSet::empty()
        }
    };
    Globs { texts, set }
}
