//! The command line of DESIGN.md, as clap derive types. Parsing only: `main.rs`
//! dispatches each command to the flow that owns it.

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// jitaa — Just-In-Time Action Approval.
///
/// Holds a deployment (as a GitHub Actions step) or a push (as a git pre-push hook)
/// until a code owner approves, and writes every decision as a signed, hash-chained
/// record on an audit branch.
#[derive(Debug, Parser)]
#[command(name = "jitaa", version, propagate_version = true)]
#[command(
    after_help = "Example:\n  jitaa policy explain --environment production\n\n\
Exit codes: 0 approved/allowed/verified, 1 denied or blocked, 2 usage or invalid policy,\n\
3 timed out, 4 integrity failure, 5 GitHub or git unreachable."
)]
pub struct Cli {
    #[command(flatten)]
    pub global: Global,
    #[command(subcommand)]
    pub command: Command,
}

/// Options every command takes.
#[derive(Debug, Clone, Args)]
pub struct Global {
    /// The git repository to work in (default: the current repository).
    #[arg(long, global = true, value_name = "DIR")]
    pub repo: Option<PathBuf>,
    /// Output format, where a command prints something a program may read.
    #[arg(long, global = true, value_enum, default_value_t = Format::Table)]
    pub format: Format,
    /// More logging (-v info, -vv debug, -vvv trace); JITAA_LOG overrides.
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Table,
    Json,
    Csv,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// The git pre-push hook: gate pushes to protected branches.
    #[command(subcommand)]
    #[command(
        after_help = "Examples:\n  jitaa hook install\n  echo \"refs/heads/main $NEW refs/heads/main $OLD\" | jitaa hook pre-push origin git@github.com:acme/api.git"
    )]
    Hook(HookCmd),
    /// Write an Ed25519 OpenSSH key pair and its allowed_signers line.
    #[command(after_help = "Example:\n  jitaa keygen --out .jitaa-keys --principal jitaa@acme")]
    Keygen(KeygenArgs),
    /// List, show, export and verify the signed audit records.
    #[command(
        after_help = "Examples:\n  jitaa audit log --since 7d --environment production\n  \
jitaa audit export --since 2026-01-01 --format csv > sample.csv\n  \
jitaa audit verify --allowed-signers trusted_signers --expect-head sha256:<digest>"
    )]
    Audit(AuditArgs),
    /// Check a policy file, or explain which rule applies and who may approve.
    #[command(subcommand)]
    #[command(
        after_help = "Examples:\n  jitaa policy check .github/jitaa.yml\n  jitaa policy explain --environment production"
    )]
    Policy(PolicyCmd),
    /// Work with GitHub Actions OIDC tokens.
    #[command(subcommand)]
    #[command(after_help = "Example:\n  echo \"$TOKEN\" | jitaa oidc verify - --format json")]
    Oidc(OidcCmd),
    /// Hold a GitHub Actions step until a code owner approves (exit 0 approved, 1 denied
    /// or cancelled, 3 timed out).
    #[command(after_help = "Example (a workflow step with id-token: write):\n  \
jitaa gate --environment production --timeout 30m")]
    Gate(GateArgs),
    /// Ask for approval of a push ahead of time (posts a request issue).
    #[command(after_help = "Example:\n  jitaa request --ref main --wait   # then git push")]
    Request(RequestArgs),
    /// Print a shell completion script (bash, zsh, fish, powershell, elvish) to stdout.
    #[command(
        after_help = "Examples:\n  jitaa completions bash > ~/.local/share/bash-completion/completions/jitaa\n  \
jitaa completions zsh > \"${fpath[1]}/_jitaa\"\n  jitaa completions fish > ~/.config/fish/completions/jitaa.fish\n  \
jitaa completions powershell >> $PROFILE"
    )]
    Completions(CompletionsArgs),
    /// Print the man page (roff) to stdout, or write one page per command to a directory.
    #[command(
        after_help = "Examples:\n  jitaa man | man -l -\n  jitaa man --out-dir /usr/local/share/man/man1"
    )]
    Man(ManArgs),
}

#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell to complete for.
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}

#[derive(Debug, Args)]
pub struct ManArgs {
    /// Write jitaa.1 and a page per subcommand (jitaa-gate.1, ...) here instead.
    #[arg(long, value_name = "DIR")]
    pub out_dir: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct GateArgs {
    /// The deployment environment (default: the OIDC token's `environment`).
    #[arg(long, value_name = "ENV")]
    pub environment: Option<String>,
    /// How long to wait for a decision (default: the rule's timeout).
    #[arg(long, value_name = "DUR", value_parser = parse_duration)]
    pub timeout: Option<Duration>,
    /// The longest pause between polls while idle (default 2s).
    #[arg(long, value_name = "DUR", value_parser = parse_duration)]
    pub poll: Option<Duration>,
    /// A policy file path inside the repository (default .github/jitaa.yml, else
    /// .jitaa.yml). Read at the protected base like the default, never the work tree.
    #[arg(long, value_name = "PATH")]
    pub policy: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct RequestArgs {
    /// The branch the push goes to (`main`).
    #[arg(long = "ref", value_name = "REF")]
    pub git_ref: String,
    /// The commit to approve (default HEAD).
    #[arg(long, value_name = "SHA")]
    pub sha: Option<String>,
    /// Wait for the decision and record the grant.
    #[arg(long)]
    pub wait: bool,
    /// How long to wait (default: the rule's timeout).
    #[arg(long, value_name = "DUR", value_parser = parse_duration)]
    pub timeout: Option<Duration>,
    /// The longest pause between polls while idle (default 2s).
    #[arg(long, value_name = "DUR", value_parser = parse_duration)]
    pub poll: Option<Duration>,
}

#[derive(Debug, Subcommand)]
pub enum OidcCmd {
    /// Verify an Actions OIDC token (RS256 against the issuer's keys, iss, aud, times,
    /// and the run's GITHUB_* variables) and print its context. Exit 4 when invalid.
    #[command(after_help = "Examples:\n  \
jitaa oidc verify                 # in a job with `permissions: id-token: write`: fetch one\n  \
echo \"$TOKEN\" | jitaa oidc verify - --format json\n  \
JITAA_OIDC_ISSUER=https://ghes.example.com/_services/token jitaa oidc verify -")]
    Verify(OidcVerifyArgs),
}

#[derive(Debug, Args)]
pub struct OidcVerifyArgs {
    /// The token, or `-` to read it from stdin (safer: argv is visible to other
    /// processes). Default: request one from the runner (needs id-token: write).
    #[arg(value_name = "TOKEN|-")]
    pub token: Option<String>,
    /// The audience the token must carry.
    #[arg(long, env = "JITAA_OIDC_AUDIENCE", default_value = "jitaa")]
    pub audience: String,
    /// The issuer the token must come from (https; http only on loopback).
    #[arg(
        long,
        env = "JITAA_OIDC_ISSUER",
        default_value = "https://token.actions.githubusercontent.com"
    )]
    pub issuer: String,
}

#[derive(Debug, Subcommand)]
pub enum HookCmd {
    /// Install the pre-push hook into the hooks directory git uses (core.hooksPath aware).
    #[command(
        after_help = "Example:\n  jitaa hook install\n  jitaa hook install --force   # keep and chain an existing pre-push hook"
    )]
    Install(HookInstallArgs),
    /// git's pre-push hook: let a push to a protected branch through only with a valid,
    /// unexpired approval (exit 1 when blocked). Reads git's ref lines on stdin.
    #[command(
        name = "pre-push",
        after_help = "Example (what the installed hook runs):\n  \
echo \"refs/heads/main $(git rev-parse HEAD) refs/heads/main $(git rev-parse origin/main)\" | jitaa hook pre-push origin \"$(git remote get-url origin)\""
    )]
    PrePush(HookPrePushArgs),
}

#[derive(Debug, Args)]
pub struct HookPrePushArgs {
    /// The remote's name as git passes it (default: PRE_COMMIT_REMOTE_NAME).
    #[arg(value_name = "REMOTE", env = "PRE_COMMIT_REMOTE_NAME")]
    pub remote: Option<String>,
    /// The remote's URL as git passes it (default: PRE_COMMIT_REMOTE_URL).
    #[arg(
        value_name = "URL",
        env = "PRE_COMMIT_REMOTE_URL",
        hide_env_values = true
    )]
    pub url: Option<String>,
}

#[derive(Debug, Args)]
pub struct HookInstallArgs {
    /// Keep an existing foreign pre-push hook as pre-push.local and chain it.
    #[arg(long)]
    pub force: bool,
}

#[derive(Debug, Args)]
pub struct AuditArgs {
    /// The audit branch (default: the policy's audit.branch, else jitaa/audit).
    #[arg(long, global = true, value_name = "BRANCH")]
    pub branch: Option<String>,
    /// Read this ref instead of the local branch or origin/BRANCH.
    #[arg(long = "ref", global = true, value_name = "REF")]
    pub git_ref: Option<String>,
    #[command(subcommand)]
    pub command: AuditCmd,
}

#[derive(Debug, Subcommand)]
pub enum AuditCmd {
    /// List records (table, json or csv via --format).
    #[command(
        after_help = "Example:\n  jitaa audit log --since 2026-11-01 --actor alice --decision approved --format json"
    )]
    Log(AuditLogArgs),
    /// Print one record (by id or digest) with its commit.
    #[command(after_help = "Example:\n  jitaa audit show 01JD0000000000000000000000")]
    Show(AuditShowArgs),
    /// One row per decision, for an auditor's sample (csv or json).
    #[command(
        after_help = "Example:\n  jitaa audit export --since 2026-10-01 --until 2026-12-31 --format csv"
    )]
    Export(AuditExportArgs),
    /// Recompute digests, walk the chain, check every signature (exit 4 when broken).
    #[command(
        after_help = "Examples:\n  jitaa audit verify --allowed-signers .github/jitaa-allowed-signers --expect-head sha256:<digest>\n  jitaa audit verify --allowed-signers certifiers --pusher-signers developers --jwks github-jwks.json"
    )]
    Verify(AuditVerifyArgs),
}

#[derive(Debug, Args)]
pub struct AuditLogArgs {
    /// Only records at or after T (RFC 3339, 2026-11-25, or a duration ago like 7d).
    #[arg(long, value_name = "T")]
    pub since: Option<String>,
    /// Only records at or before T.
    #[arg(long, value_name = "T")]
    pub until: Option<String>,
    /// Only records where LOGIN requested or approved.
    #[arg(long, value_name = "LOGIN")]
    pub actor: Option<String>,
    /// Only records for this environment.
    #[arg(long, value_name = "ENV")]
    pub environment: Option<String>,
    /// Only this decision: approved, denied, expired, cancelled, auto.
    #[arg(long, value_name = "D")]
    pub decision: Option<String>,
}

#[derive(Debug, Args)]
pub struct AuditShowArgs {
    /// The record id (ULID) or its digest.
    pub id: String,
}

#[derive(Debug, Args)]
pub struct AuditExportArgs {
    /// Only decisions at or after T.
    #[arg(long, value_name = "T")]
    pub since: Option<String>,
    /// Only decisions at or before T.
    #[arg(long, value_name = "T")]
    pub until: Option<String>,
}

#[derive(Debug, Args)]
pub struct AuditVerifyArgs {
    /// A digest you saw earlier: fails unless it is still in the chain.
    #[arg(long, value_name = "DIGEST")]
    pub expect_head: Option<String>,
    /// Certifiers' keys: trusted for every record (default: the policy's
    /// audit.allowed_signers on the default branch).
    #[arg(long, value_name = "FILE")]
    pub allowed_signers: Option<PathBuf>,
    /// Developers' keys, trusted for `push` records only (default: the policy's
    /// audit.pusher_signers on the default branch; when --allowed-signers is given
    /// without --pusher-signers, no pusher key is trusted).
    #[arg(long, value_name = "FILE")]
    pub pusher_signers: Option<PathBuf>,
    /// The issuer's keys for `github-oidc` signatures, as a JWKS document (repeatable;
    /// no network then). Default: the issuer's live JWKS, fetched when a record needs
    /// it. A key archived only in the branch's jwks/ is never trusted on its own.
    #[arg(long, value_name = "FILE")]
    pub jwks: Vec<PathBuf>,
    /// The OIDC issuer tokens must name (default: JITAA_OIDC_ISSUER, else GitHub's).
    #[arg(long, value_name = "URL")]
    pub issuer: Option<String>,
}

#[derive(Debug, Args)]
pub struct KeygenArgs {
    /// Where to write jitaa_ed25519, jitaa_ed25519.pub and allowed_signers.
    #[arg(long, value_name = "DIR", default_value = ".")]
    pub out: PathBuf,
    /// The principal (key comment) records are signed as.
    #[arg(long, default_value = crate::keys::DEFAULT_PRINCIPAL)]
    pub principal: String,
}

#[derive(Debug, Subcommand)]
pub enum PolicyCmd {
    /// Validate a policy file; errors name file:line:column.
    #[command(after_help = "Example:\n  jitaa policy check .github/jitaa.yml")]
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
    /// The policy file (default: .github/jitaa.yml, else .jitaa.yml, at HEAD).
    pub path: Option<PathBuf>,
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

/// Parses a humantime duration (`90s`, `30m`, `1h`) for clap.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    humantime::parse_duration(s)
        .map_err(|e| format!("`{s}` is not a duration like 90s, 30m or 1h: {e}"))
}
