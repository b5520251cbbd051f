//! `jitaa policy check [PATH]` and `jitaa policy explain`: validating a policy file, and
//! showing which rule applies, who may approve and each changed path's code owners,
//! all read from a commit through git (never the work tree).

use std::path::{Path, PathBuf};

use git2::Oid;
use serde_json::json;

use clap::{Args, Subcommand};

use super::{Format, Global};
use crate::codeowners::{CodeOwners, Owner, PathOwners};
use crate::exit::{Code, Failure};
use crate::policy::{Approvers, Coverage, LoadedPolicy, MAX_BYTES, MatchInput, Matched, Policy};
use crate::repo::Repo;

#[derive(Debug, Subcommand)]
pub enum PolicyCmd {
    /// Validate the policy and CODEOWNERS (the work tree's, by default); errors name
    /// file:line:column.
    #[command(
        after_help = "Examples:\n  jitaa policy check                 # the work tree's policy and CODEOWNERS\n  jitaa policy check --ref origin/main\n  jitaa policy check .github/jitaa.yml"
    )]
    Check(PolicyCheckArgs),
    /// Show which rule matches, who may approve, and each path's owners.
    #[command(
        after_help = "Example:\n  jitaa policy explain --ref origin/main --environment production --path src/lib.rs\n  \
jitaa policy explain --format json"
    )]
    Explain(PolicyExplainArgs),
}

#[derive(Debug, Args)]
pub struct PolicyCheckArgs {
    /// A policy file to check (default: the work tree's .github/jitaa.yml, else
    /// .jitaa.yml, with its CODEOWNERS).
    pub path: Option<PathBuf>,
    /// Check the committed policy and CODEOWNERS at REF instead of the work tree.
    #[arg(long = "ref", value_name = "REF", conflicts_with = "path")]
    pub git_ref: Option<String>,
}

#[derive(Debug, Args)]
pub struct PolicyExplainArgs {
    /// The commit to read policy and CODEOWNERS from (not the work tree).
    #[arg(long = "ref", value_name = "REF", default_value = "HEAD")]
    pub git_ref: String,
    /// The deployment environment to match rules against.
    #[arg(long)]
    pub environment: Option<String>,
    /// A changed path to explain (repeatable). Default: the paths changed between
    /// REF and its merge-base with the default branch.
    #[arg(long = "path", value_name = "P")]
    pub paths: Vec<String>,
}

pub(super) fn run(global: &Global, cmd: PolicyCmd) -> Result<Code, Failure> {
    match cmd {
        PolicyCmd::Check(args) => check(global, &args),
        PolicyCmd::Explain(args) => explain(global, &args),
    }
}

/// `jitaa policy check [PATH]`: exit 0 with `ok: <file>: N rules`, or exit 2 with
/// every problem as `file:line:column: what is wrong`.
fn check(global: &Global, args: &PolicyCheckArgs) -> Result<Code, Failure> {
    let format = global.format("jitaa policy check", &[Format::Table, Format::Json])?;
    let (label, policy, digest, codeowners) = match (&args.path, &args.git_ref) {
        (Some(path), _) => {
            let bytes = read_disk(path)?;
            let label = path.display().to_string();
            let policy = Policy::parse(&label, &bytes)?;
            (label, policy, crate::policy::digest(&bytes), None)
        }
        (None, git_ref) => {
            let repo = Repo::discover(global.repo.as_deref())?;
            // What the user just edited, by default; the committed files with --ref.
            let (rules, at) = if let Some(r) = git_ref {
                let commit = repo
                    .commit_id(r)
                    .map_err(|e| crate::exit::for_flag("--ref", e))?;
                let at = format!("{r} ({})", short_id(commit));
                let files = crate::base::GitFiles::new(&repo, commit, at.clone());
                (crate::base::rules(&files, None)?, format!(" at {at}"))
            } else {
                let root = repo.git().workdir().ok_or_else(|| {
                    Failure::usage("the repository has no work tree (bare); pass --ref REF")
                })?;
                (
                    crate::base::rules(&crate::base::WorkTreeFiles::new(root), None)?,
                    String::new(),
                )
            };
            let label = match &rules.policy.file {
                Some(f) => format!("{f}{at}"),
                None => format!("no policy file{at} (built-in defaults)"),
            };
            (
                label,
                rules.policy.policy,
                rules.policy.digest,
                rules.codeowners,
            )
        }
    };
    // CODEOWNERS lines GitHub would ignore leave paths unowned: each is an error here.
    if let Some(co) = &codeowners
        && !co.problems().is_empty()
    {
        let lines: Vec<String> = co
            .problems()
            .iter()
            .map(|p| {
                if p.line == 0 {
                    format!("{}: {p}", co.location())
                } else {
                    format!("{}:{p}", co.location())
                }
            })
            .collect();
        return Err(Failure::usage(format!(
            "invalid CODEOWNERS (GitHub ignores these lines, so their paths have no owners):\n{}",
            lines.join("\n")
        )));
    }
    let n = policy.rules().count();
    // In JSON the warnings are a field (stdout stays one JSON document).
    let warnings = crate::policy::hosted::timeout_warnings(&policy);
    if format != Format::Json {
        for w in &warnings {
            crate::actions::warning(w);
        }
    }
    let codeowners = codeowners.as_ref().map(|c| c.location().to_string());
    if format == Format::Json {
        println!(
            "{}",
            json!({"ok": true, "file": label, "rules": n, "digest": digest, "warnings": warnings, "codeowners": codeowners})
        );
    } else {
        println!("ok: {label}: {n} rule{}", if n == 1 { "" } else { "s" });
    }
    Ok(Code::Ok)
}

/// Reads a policy file from disk, refusing huge ones before reading them.
fn read_disk(path: &Path) -> Result<Vec<u8>, Failure> {
    let shown = path.display();
    let meta = std::fs::metadata(path).map_err(|e| Failure::usage(format!("{shown}: {e}")))?;
    if !meta.is_file() {
        return Err(Failure::usage(format!("{shown}: not a file")));
    }
    if meta.len() > MAX_BYTES as u64 {
        return Err(Failure::usage(format!(
            "invalid policy:\n{shown}: {} bytes; a policy file may be at most {MAX_BYTES} bytes (1 MiB)",
            meta.len()
        )));
    }
    std::fs::read(path).map_err(|e| Failure::usage(format!("{shown}: {e}")))
}

/// Everything `explain` found, before printing.
struct Explained {
    git_ref: String,
    commit: Oid,
    branch: Option<String>,
    loaded: LoadedPolicy,
    codeowners: Option<CodeOwners>,
    matched: Matched,
    paths: Vec<PathOwners>,
    paths_from: String,
}

/// `jitaa policy explain`: which rule matches and why, who may approve, and each path's
/// owners with the deciding CODEOWNERS line.
fn explain(global: &Global, args: &PolicyExplainArgs) -> Result<Code, Failure> {
    let format = global.format("jitaa policy explain", &[Format::Table, Format::Json])?;
    let repo = Repo::discover(global.repo.as_deref())?;
    let commit = repo
        .commit_id(&args.git_ref)
        .map_err(|e| crate::exit::for_flag("--ref", e))?;
    // `--ref` as given (DESIGN.md: explain reads the ref, through git), read by the
    // same loader the flows use at their protected base.
    let files = crate::base::GitFiles::new(&repo, commit, args.git_ref.clone());
    let crate::base::Rules {
        policy: loaded,
        codeowners,
    } = crate::base::rules(&files, None)?;
    let (changed, paths_from) = if args.paths.is_empty() {
        changed_paths(&repo, commit)?
    } else {
        (args.paths.clone(), "--path".to_string())
    };
    let branch = branch_of(&repo, &args.git_ref);
    let matched = loaded.policy.rule_for(&MatchInput {
        environment: args.environment.as_deref(),
        branch: branch.as_deref(),
        paths: &changed,
        event: None,
        actor: None,
    });
    let paths = changed
        .iter()
        .map(|p| match &codeowners {
            Some(co) => co.owners_of(p),
            None => PathOwners {
                path: p.clone(),
                owners: Vec::new(),
                line: None,
            },
        })
        .collect();
    let ex = Explained {
        git_ref: args.git_ref.clone(),
        commit,
        branch,
        loaded,
        codeowners,
        matched,
        paths,
        paths_from,
    };
    if let Some(co) = &ex.codeowners {
        for p in co.problems() {
            if p.line == 0 {
                eprintln!("warning: {p}");
            } else {
                eprintln!("warning: {}:{p}", co.location());
            }
        }
    }
    if format == Format::Json {
        println!("{}", to_json(&ex));
    } else {
        print!("{}", to_text(&ex));
    }
    Ok(Code::Ok)
}

/// The paths changed between `commit` and its merge-base with the default branch
/// (remote-tracking `origin/<default>` first, else the local branch).
fn changed_paths(repo: &Repo, commit: Oid) -> Result<(Vec<String>, String), Failure> {
    let default = repo.default_branch("origin").ok_or_else(|| {
        Failure::usage(
            "cannot tell the default branch (no origin/HEAD, main or master); pass --path P",
        )
    })?;
    let base_ref = [
        format!("refs/remotes/origin/{default}"),
        format!("refs/heads/{default}"),
    ]
    .into_iter()
    .find(|r| repo.git().find_reference(r).is_ok())
    .ok_or_else(|| {
        Failure::usage(format!(
            "default branch `{default}` not found locally or as origin/{default}; pass --path P"
        ))
    })?;
    let base = repo.commit_id(&base_ref)?;
    let mb = repo.merge_base(commit, base).ok_or_else(|| {
        Failure::usage(format!(
            "no merge-base between --ref and {base_ref}; pass --path P"
        ))
    })?;
    let paths = repo.changed_paths(mb, commit)?;
    let short = base_ref
        .strip_prefix("refs/remotes/")
        .or_else(|| base_ref.strip_prefix("refs/heads/"))
        .unwrap_or(&base_ref);
    Ok((
        paths,
        format!(
            "changed since the merge-base with {short} ({})",
            short_id(mb)
        ),
    ))
}

/// The branch `git_ref` names, for `match.branches` (`HEAD` → the checked-out branch).
fn branch_of(repo: &Repo, git_ref: &str) -> Option<String> {
    let git = repo.git();
    if git_ref == "HEAD" {
        let head = git.head().ok()?;
        if !head.is_branch() {
            return None;
        }
        return head.shorthand().ok().map(str::to_string);
    }
    if let Some(b) = git_ref.strip_prefix("refs/heads/") {
        return Some(b.to_string());
    }
    if git.find_reference(&format!("refs/heads/{git_ref}")).is_ok() {
        return Some(git_ref.to_string());
    }
    let remote = git_ref.strip_prefix("refs/remotes/").unwrap_or(git_ref);
    if git
        .find_reference(&format!("refs/remotes/{remote}"))
        .is_ok()
    {
        return remote.split_once('/').map(|(_, b)| b.to_string());
    }
    None
}

fn short_id(id: Oid) -> String {
    id.to_string().chars().take(12).collect()
}

fn dur(d: std::time::Duration) -> String {
    humantime::format_duration(d).to_string()
}

/// Who may approve: the listed owners, or the distinct code owners of the paths.
fn who(ex: &Explained) -> Vec<String> {
    match &ex.matched.rule.approvers {
        Approvers::List(l) => l.iter().map(Owner::to_string).collect(),
        Approvers::Codeowners => crate::codeowners::distinct_owners(&ex.paths)
            .into_iter()
            .map(Owner::to_string)
            .collect(),
    }
}

fn to_json(ex: &Explained) -> serde_json::Value {
    let rule = &ex.matched.rule;
    json!({
        "rule": rule.name,
        "approvals": rule.approvals,
        "approvers": who(ex),
        "approvers_from": match rule.approvers { Approvers::Codeowners => "codeowners", Approvers::List(_) => "list" },
        "codeowners_coverage": match rule.codeowners { Coverage::Any => "any", Coverage::All => "all" },
        "self_approval": rule.self_approval,
        "ttl": dur(rule.ttl),
        "timeout": dur(rule.timeout),
        "paths": ex.paths.iter().map(|p| json!({
            "path": p.path,
            "owners": p.owners.iter().map(Owner::to_string).collect::<Vec<_>>(),
            "line": p.line,
        })).collect::<Vec<_>>(),
        "why": ex.matched.why,
        "ref": ex.git_ref,
        "commit": ex.commit.to_string(),
        "branch": ex.branch,
        "policy": ex.loaded.file,
        "policy_digest": ex.loaded.digest,
        "codeowners": ex.codeowners.as_ref().map(|c| c.location().to_string()),
    })
}

fn to_text(ex: &Explained) -> String {
    use std::fmt::Write;
    let rule = &ex.matched.rule;
    let mut s = String::new();
    let policy = ex
        .loaded
        .file
        .as_deref()
        .unwrap_or("no policy file (built-in defaults)");
    let _ = writeln!(
        s,
        "policy:      {policy} at {} ({}) {}",
        ex.git_ref,
        short_id(ex.commit),
        ex.loaded.digest
    );
    let _ = writeln!(s, "rule:        {}", rule.name);
    for w in &ex.matched.why {
        let _ = writeln!(s, "  - {w}");
    }
    let whom = who(ex);
    let from = match (&rule.approvers, whom.is_empty()) {
        (Approvers::List(_), _) => whom.join(", "),
        (Approvers::Codeowners, false) => {
            format!("code owners of the changed paths: {}", whom.join(", "))
        }
        (Approvers::Codeowners, true) => {
            "code owners of the changed paths (none own these paths)".to_string()
        }
    };
    let _ = writeln!(s, "approvals:   {} from {from}", rule.approvals);
    if rule.approvers == Approvers::Codeowners && rule.codeowners == Coverage::All {
        let _ = writeln!(
            s,
            "coverage:    every changed path needs one of its owners among the approvers"
        );
    }
    let _ = writeln!(
        s,
        "self-approval: {}",
        if rule.self_approval {
            "allowed"
        } else {
            "not allowed"
        }
    );
    let _ = writeln!(
        s,
        "timeout:     {}   ttl: {}",
        dur(rule.timeout),
        dur(rule.ttl)
    );
    let co = ex.codeowners.as_ref().map_or(
        "none (no .github/CODEOWNERS, CODEOWNERS or docs/CODEOWNERS)",
        |c| c.location(),
    );
    let _ = writeln!(s, "codeowners:  {co}");
    let _ = writeln!(s, "paths ({}, {}):", ex.paths.len(), ex.paths_from);
    for p in &ex.paths {
        let owners: Vec<String> = p.owners.iter().map(Owner::to_string).collect();
        let decided = match (p.line, ex.codeowners.as_ref()) {
            (Some(l), Some(c)) => format!("line {l}: `{}`", c.pattern_at(l).unwrap_or("?")),
            _ => "no line matches".to_string(),
        };
        let owners = if owners.is_empty() {
            "unowned".to_string()
        } else {
            owners.join(" ")
        };
        let _ = writeln!(s, "  {}  {owners}  ({decided})", p.path);
    }
    s
}
