//! The git2 store: appends a record as one signed commit on the audit branch without a
//! work tree, rewriting only the trees on `records/YYYY/MM/DD/<bucket>/` (each at most
//! about a thousand entries, however many records a day brings), and moves the branch by
//! compare-and-swap. The first commit also lays out the branch root (README.md,
//! allowed_signers, jwks/).

use git2::{Commit, ErrorCode, FileMode, Oid, Repository, Tree};

use super::AuditError;
use super::record::{Draft, Layout, Payload, Record};
use super::sign::Signers;

/// The hand-verification guide written at the branch root.
pub const BRANCH_README: &str = include_str!("branch_readme.md");
const JWKS_README: &str = "GitHub's OIDC signing keys (JWK JSON, one file per `kid`), archived when first seen.\nFiles here never change once added; `jitaa audit verify` fails if one does.\n";
/// The author and committer of every audit commit.
pub const AUTHOR: (&str, &str) = ("jitaa", "jitaa@audit.invalid");
/// Local compare-and-swap retries when another process moves the branch between read and write.
const LOCAL_ATTEMPTS: usize = 50;

/// A record that was written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Appended {
    pub id: String,
    pub digest: String,
    pub path: String,
    pub commit: Oid,
}

/// The audit branch of one repository.
pub struct Store<'r> {
    repo: &'r Repository,
    branch: String,
    layout: Layout,
    /// The commits' time; `None`: now (see [`Store::with_commit_time`]).
    time: Option<git2::Time>,
}

impl<'r> Store<'r> {
    /// `branch` is a branch name (`jitaa/audit`), not a full ref.
    pub fn new(repo: &'r Repository, branch: &str) -> Result<Store<'r>, AuditError> {
        let name = format!("refs/heads/{branch}");
        if branch.is_empty() || !git2::Reference::is_valid_name(&name) {
            return Err(AuditError::BranchName(branch.to_string()));
        }
        Ok(Store {
            repo,
            branch: branch.to_string(),
            layout: Layout::Bucketed,
            time: None,
        })
    }

    /// Writes new records in `layout`. jitaa writes [`Layout::Bucketed`] (the default);
    /// [`Layout::Flat`] reproduces a branch written before the bucket level, for tests
    /// and benchmarks. A flat record on a branch whose tip is bucketed is refused (a
    /// branch switches layouts once, never back).
    pub fn with_layout(mut self, layout: Layout) -> Self {
        self.layout = layout;
        self
    }

    /// Dates every commit `time` instead of now: for tests and benchmarks that compare
    /// what two writers make, byte for byte.
    pub fn with_commit_time(mut self, time: git2::Time) -> Self {
        self.time = Some(time);
        self
    }

    pub fn layout(&self) -> Layout {
        self.layout
    }

    pub fn repo(&self) -> &'r Repository {
        self.repo
    }

    pub fn branch(&self) -> &str {
        &self.branch
    }

    pub fn ref_name(&self) -> String {
        format!("refs/heads/{}", self.branch)
    }

    /// The local branch tip, if the branch exists.
    pub fn tip(&self) -> Result<Option<Oid>, AuditError> {
        match self.repo.refname_to_id(&self.ref_name()) {
            Ok(id) => Ok(Some(id)),
            Err(e) if e.code() == ErrorCode::NotFound => Ok(None),
            Err(e) => Err(git_err(&format!("reading {}", self.ref_name()), e)),
        }
    }

    /// Appends one record: chained to the tip's record, signed, committed, and the
    /// branch moved by compare-and-swap (retried if another writer moved it first).
    pub fn append(&self, draft: &Draft, signers: &Signers) -> Result<Appended, AuditError> {
        let mut payload = draft.to_payload(super::record::GENESIS);
        let extra = jwks_files(draft.jwks.as_deref())?;
        for _ in 0..LOCAL_ATTEMPTS {
            let tip = self.tip()?;
            let parent = tip
                .map(|t| self.repo.find_commit(t))
                .transpose()
                .map_err(|e| git_err("reading the audit tip", e))?;
            payload.prev = match &parent {
                Some(c) => record_of(self.repo, c)?.1.digest,
                None => super::record::GENESIS.to_string(),
            };
            let appended = self.commit_record(parent.as_ref(), payload.clone(), signers, &extra)?;
            if self.move_branch(tip, appended.commit, "jitaa: append audit record")? {
                return Ok(appended);
            }
        }
        Err(AuditError::KeptMoving {
            ref_name: self.ref_name(),
            attempts: LOCAL_ATTEMPTS,
        })
    }

    /// Compare-and-swap of the branch from `expected` to `new`. `Ok(false)` when it moved.
    pub fn move_branch(
        &self,
        expected: Option<Oid>,
        new: Oid,
        msg: &str,
    ) -> Result<bool, AuditError> {
        let name = self.ref_name();
        let res = match expected {
            Some(old) => self.repo.reference_matching(&name, new, true, old, msg),
            None => self.repo.reference(&name, new, false, msg),
        };
        match res {
            Ok(_) => Ok(true),
            Err(e)
                if matches!(
                    e.code(),
                    ErrorCode::Modified | ErrorCode::Exists | ErrorCode::Locked
                ) || e.message().contains("lock") =>
            {
                Ok(false)
            }
            Err(e) => Err(git_err(&format!("updating {name}"), e)),
        }
    }

    /// Signs `payload` (its `prev` already set) and writes its commit on `parent`;
    /// moves no ref. `extra` files (jwks) are added only where absent.
    pub fn commit_record(
        &self,
        parent: Option<&Commit<'_>>,
        payload: Payload,
        signers: &Signers,
        extra: &[(String, Vec<u8>)],
    ) -> Result<Appended, AuditError> {
        let record = sign_record(payload, signers)?;
        let digest = record.digest.clone();
        let path = self.layout.path(&record.payload.time, &record.payload.id)?;
        if self.layout == Layout::Flat
            && let Some(p) = parent
            && Layout::of(&record_of(self.repo, p)?.0) == Some(Layout::Bucketed)
        {
            // Only tests and benchmarks ask for the old layout: a programming error.
            return Err(AuditError::Internal(
                "the tip's record is in the bucketed layout; a record in the layout before buckets would switch back",
            ));
        }
        let bytes = record.to_file_bytes()?;
        let repo = self.repo;
        let base = parent
            .map(Commit::tree)
            .transpose()
            .map_err(|e| git_err("reading tree", e))?;
        let blob = repo
            .blob(&bytes)
            .map_err(|e| git_err("writing record blob", e))?;
        let mut tree = insert(repo, base.as_ref(), &path, blob, false)?;
        let mut files: Vec<(String, Vec<u8>)> = extra.to_vec();
        if base.is_none() {
            files.push(("README.md".into(), BRANCH_README.as_bytes().to_vec()));
            files.push(("jwks/README.md".into(), JWKS_README.as_bytes().to_vec()));
        }
        if let Some(line) = signers.allowed_signers_line() {
            let current = base
                .as_ref()
                .and_then(|t| t.get_name("allowed_signers").map(|e| e.id()))
                .and_then(|id| repo.find_blob(id).ok())
                .map(|b| String::from_utf8_lossy(b.content()).to_string())
                .unwrap_or_default();
            if !current.lines().any(|l| l.trim() == line) {
                let mut text = if current.is_empty() {
                    "# Informational copy: `jitaa audit verify` never trusts this file.\n# Verify against keys from outside the branch (--allowed-signers, or the policy's file).\n".to_string()
                } else {
                    current
                };
                if !text.ends_with('\n') {
                    text.push('\n');
                }
                text.push_str(&line);
                text.push('\n');
                files.push(("allowed_signers".into(), text.into_bytes()));
            }
        }
        for (name, content) in &files {
            let t = repo
                .find_tree(tree)
                .map_err(|e| git_err("reading tree", e))?;
            let id = repo.blob(content).map_err(|e| git_err("writing blob", e))?;
            tree = insert(repo, Some(&t), name, id, name != "allowed_signers")?;
        }
        let tree = repo
            .find_tree(tree)
            .map_err(|e| git_err("reading tree", e))?;
        let sig = match self.time {
            Some(t) => git2::Signature::new(AUTHOR.0, AUTHOR.1, &t),
            None => git2::Signature::now(AUTHOR.0, AUTHOR.1),
        }
        .map_err(|e| git_err("commit identity", e))?;
        let msg = commit_message(&record, &path);
        let parents: Vec<&Commit<'_>> = parent.into_iter().collect();
        let commit = match signers.ssh {
            None => repo
                .commit(None, &sig, &sig, &msg, &tree, &parents)
                .map_err(|e| git_err("writing commit", e))?,
            Some(_) => {
                let buf = repo
                    .commit_create_buffer(&sig, &sig, &msg, &tree, &parents)
                    .map_err(|e| git_err("writing commit", e))?;
                let text = buf
                    .as_str()
                    .map_err(|_| AuditError::Internal("commit buffer is not UTF-8"))?;
                let signature = signers
                    .sign_commit(text)?
                    .ok_or(AuditError::Internal("commit signer vanished"))?;
                repo.commit_signed(text, &signature, None)
                    .map_err(|e| git_err("writing signed commit", e))?
            }
        };
        Ok(Appended {
            id: record.payload.id.clone(),
            digest,
            path,
            commit,
        })
    }
}

/// `payload` (its `prev` already set) with its digest and signatures: what
/// [`Store::commit_record`] writes as the record file ([`Record::to_file_bytes`]).
pub fn sign_record(payload: Payload, signers: &Signers) -> Result<Record, AuditError> {
    let jcs = payload.jcs()?;
    let digest = super::record::digest_of(&jcs);
    let signatures = signers.sign_record(&jcs, &digest)?;
    Ok(Record {
        payload,
        digest,
        signatures,
    })
}

/// The message of the commit that adds `record` at `path`.
pub fn commit_message(record: &Record, path: &str) -> String {
    let p = &record.payload;
    let what = match p.decision {
        Some(d) => format!("{} {d}", p.kind),
        None => p.kind.to_string(),
    };
    format!(
        "audit: {what} {} {}\n\nJitaa-Record: {path}\nJitaa-Digest: {}\n",
        p.repository,
        short(&p.subject.sha),
        record.digest
    )
}

fn short(sha: &str) -> &str {
    sha.get(..12).unwrap_or(sha)
}

pub(crate) fn git_err(what: &str, source: git2::Error) -> AuditError {
    AuditError::Git {
        what: what.to_string(),
        source,
    }
}

/// Writes `blob` at `path` under `base`, rebuilding only the trees on the path.
/// With `keep`, an existing file is left as it is.
fn insert(
    repo: &Repository,
    base: Option<&Tree<'_>>,
    path: &str,
    blob: Oid,
    keep: bool,
) -> Result<Oid, AuditError> {
    let (head, rest) = match path.split_once('/') {
        Some((h, r)) => (h, Some(r)),
        None => (path, None),
    };
    let existing = base.and_then(|t| t.get_name(head));
    let mut builder = repo
        .treebuilder(base)
        .map_err(|e| git_err("building tree", e))?;
    let (id, mode) = match rest {
        None => {
            if keep && existing.is_some() {
                return base
                    .map(Tree::id)
                    .ok_or(AuditError::Internal("tree vanished"));
            }
            (blob, FileMode::Blob)
        }
        Some(rest) => {
            let sub = match existing {
                Some(e) if e.kind() == Some(git2::ObjectType::Tree) => Some(
                    repo.find_tree(e.id())
                        .map_err(|e| git_err("reading tree", e))?,
                ),
                _ => None,
            };
            (
                insert(repo, sub.as_ref(), rest, blob, keep)?,
                FileMode::Tree,
            )
        }
    };
    builder
        .insert(head, id, mode.into())
        .map_err(|e| git_err(&format!("adding {path}"), e))?;
    builder.write().map_err(|e| git_err("writing tree", e))
}

/// The record a commit added, found from its tree as `audit verify` finds it (the one
/// file it adds under `records/`), never from the commit message: (path, record).
pub fn record_of(repo: &Repository, commit: &Commit<'_>) -> Result<(String, Record), AuditError> {
    // One commit: libgit2 alone, without mapping every pack.
    let odb = super::chain::Objects::new(
        super::chain::Packs::none(),
        repo.odb()
            .map_err(|e| git_err("opening the object database", e))?,
    );
    let parent_tree = match commit.parent_count() {
        0 => None,
        _ => Some(
            commit
                .parent(0)
                .map_err(|e| git_err("reading the parent commit", e))?
                .tree_id(),
        ),
    };
    let bad = |source| AuditError::Chain {
        commit: commit.id(),
        source,
    };
    let changes = super::chain::Trees::new(&odb)
        .diff(parent_tree, commit.tree_id())
        .map_err(bad)?;
    let step = super::chain::step(&changes, commit.id()).map_err(bad)?;
    let blob = repo
        .find_blob(step.blob)
        .map_err(|e| git_err(&format!("reading {}", step.path), e))?;
    let record: Record =
        serde_json::from_slice(blob.content()).map_err(|source| AuditError::RecordJson {
            commit: commit.id(),
            path: step.path.clone(),
            source,
        })?;
    Ok((step.path, record))
}

/// The `jwks/<kid>.json` files for a JWKS document. Kids that are not plain file
/// names are refused.
pub fn jwks_files(jwks: Option<&str>) -> Result<Vec<(String, Vec<u8>)>, AuditError> {
    let Some(text) = jwks else {
        return Ok(Vec::new());
    };
    let doc: serde_json::Value = serde_json::from_str(text).map_err(AuditError::JwksNotJson)?;
    let keys = doc
        .get("keys")
        .and_then(|k| k.as_array())
        .ok_or(AuditError::JwksNoKeys)?;
    let mut out = Vec::new();
    for key in keys {
        let Some(kid) = key.get("kid").and_then(|k| k.as_str()) else {
            continue;
        };
        if !is_safe_kid(kid) {
            return Err(AuditError::UnsafeKid(kid.to_string()));
        }
        let mut bytes = serde_json::to_vec_pretty(key).map_err(|source| AuditError::Encode {
            what: "JWK",
            source,
        })?;
        bytes.push(b'\n');
        out.push((format!("jwks/{kid}.json"), bytes));
    }
    Ok(out)
}

pub(crate) fn is_safe_kid(kid: &str) -> bool {
    !kid.is_empty()
        && kid.len() <= 128
        && !kid.starts_with('.')
        && kid
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
}
