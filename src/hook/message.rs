//! What a developer reads when a push is blocked: what is missing, who can approve
//! (the owners of which paths, or the rule's approvers), what was found instead, and the
//! one command that asks for approval.

use std::fmt::Write as _;

use crate::approval::explain::Status;
use crate::audit::approvals::Search;
use crate::codeowners::PathOwners;
use crate::hook::pr::PrVerdict;
use crate::policy::{Approvers, Coverage, Rule};

/// At most this many changed paths are listed.
const MAX_PATHS: usize = 15;

/// Everything the message says about one blocked update.
pub struct Blocked<'a> {
    pub branch: &'a str,
    pub sha: &'a str,
    pub delete: bool,
    pub rule: &'a Rule,
    /// Where the rule came from: `.github/jitaa.yml at origin/main 1a2b3c4d5e6f`.
    pub source: String,
    pub paths: &'a [PathOwners],
    pub audit_branch: &'a str,
    pub grants: &'a Search<'a>,
    /// `None` when GitHub was not asked (deletions, or GitHub could not be asked).
    pub pr: Option<&'a PrVerdict>,
    /// Why GitHub could not be asked about the pull request (no token, unreachable).
    pub github: Option<&'a crate::github::GitHubError>,
}

fn short(sha: &str) -> &str {
    sha.get(..12).unwrap_or(sha)
}

/// The one command that asks for approval of this push.
pub fn ask_command(branch: &str, delete_sha: Option<&str>) -> String {
    match delete_sha {
        Some(zero) => format!("jitaa request --ref {branch} --sha {zero} --wait"),
        None => format!("jitaa request --ref {branch} --wait"),
    }
}

fn approvers_text(rule: &Rule) -> String {
    let n = rule.approvals;
    let s = if n == 1 { "" } else { "s" };
    match &rule.approvers {
        Approvers::Codeowners => {
            let all = if rule.codeowners == Coverage::All {
                ", covering every changed path"
            } else {
                ""
            };
            format!("{n} approval{s} from the code owners of the changed paths{all}")
        }
        Approvers::List(list) => {
            let names: Vec<String> = list.iter().map(ToString::to_string).collect();
            format!("{n} approval{s} from {}", names.join(", "))
        }
    }
}

/// The message for one blocked update.
pub fn render(b: &Blocked<'_>) -> String {
    let mut m = String::new();
    if b.delete {
        let _ = writeln!(
            m,
            "deleting protected branch `{}` is blocked: it needs a grant for sha {} on refs/heads/{}.",
            b.branch, b.sha, b.branch
        );
    } else {
        let _ = writeln!(
            m,
            "push to protected branch `{}` is blocked: commit {} has no valid approval.",
            b.branch,
            short(b.sha)
        );
    }
    let _ = writeln!(
        m,
        "  rule `{}` ({}): {}",
        b.rule.name,
        b.source,
        approvers_text(b.rule)
    );
    if !b.delete {
        who_can_approve(&mut m, b);
    }
    if b.grants.found.is_none() {
        let _ = writeln!(
            m,
            "  audit branch {}: no valid grant for {} on refs/heads/{}",
            b.audit_branch,
            short(b.sha),
            b.branch
        );
    }
    for r in &b.grants.rejected {
        let _ = writeln!(m, "    {r}");
    }
    match b.pr {
        None => {}
        Some(PrVerdict::NoPr) => {
            let _ = writeln!(
                m,
                "  pull request: none open into {} with head {}",
                b.branch,
                short(b.sha)
            );
        }
        Some(PrVerdict::NotApproved {
            pr,
            outcome,
            lapsed_at,
            unplaced_commands,
        }) => {
            let _ = writeln!(
                m,
                "  pull request #{} {}: {}",
                pr.number, pr.html_url, outcome.explanation.summary
            );
            if let Some(t) = lapsed_at {
                let _ = writeln!(
                    m,
                    "    the approval lapsed at {} (ttl {}); approve again",
                    crate::audit::record::format_time(*t),
                    humantime::format_duration(b.rule.ttl)
                );
            }
            if *unplaced_commands > 0 {
                let _ = writeln!(
                    m,
                    "    {unplaced_commands} comment(s) with a command not counted: GitHub does not say when the PR's head became {} (no change of its head branch to it in the repository's activity), so only an APPROVED review on exactly that sha counts",
                    short(b.sha)
                );
            }
            for e in &outcome.explanation.events {
                if let Status::Refused { message, .. } = &e.status {
                    let _ = writeln!(m, "    @{} {}: not counted: {message}", e.login, e.what);
                }
            }
        }
        Some(PrVerdict::Approved { .. }) => {}
    }
    if let Some(e) = b.github {
        let _ = writeln!(
            m,
            "  pull request: not checked: GitHub could not be asked ({})",
            e.to_string().lines().next().unwrap_or_default()
        );
        let _ = writeln!(
            m,
            "  So that jitaa can read the pull request's approvals: `gh auth login`, or set GITHUB_TOKEN (a token that can read the repository), and push again."
        );
    }
    let zero = b.delete.then_some(b.sha);
    let _ = writeln!(m, "  Ask for approval, then push again:");
    let _ = write!(m, "    {}", ask_command(b.branch, zero));
    m
}

fn who_can_approve(m: &mut String, b: &Blocked<'_>) {
    let list_paths =
        matches!(b.rule.approvers, Approvers::Codeowners) || b.rule.codeowners == Coverage::All;
    if let Approvers::List(list) = &b.rule.approvers {
        let names: Vec<String> = list.iter().map(ToString::to_string).collect();
        let _ = writeln!(m, "  who can approve: {}", names.join(", "));
    }
    if !list_paths {
        return;
    }
    let _ = writeln!(m, "  changed paths and their code owners:");
    for p in b.paths.iter().take(MAX_PATHS) {
        let owners: Vec<String> = p.owners.iter().map(ToString::to_string).collect();
        match p.line {
            Some(line) if !owners.is_empty() => {
                let _ = writeln!(
                    m,
                    "    {}: {} (CODEOWNERS line {line})",
                    p.path,
                    owners.join(" ")
                );
            }
            _ => {
                let _ = writeln!(m, "    {}: no code owner", p.path);
            }
        }
    }
    if b.paths.len() > MAX_PATHS {
        let _ = writeln!(m, "    ... and {} more", b.paths.len() - MAX_PATHS);
    }
}
