//! Publishing the audit branch with the `git` CLI (so credential helpers and agents
//! work; `--no-verify` so the pre-push hook does not recurse). A rejected push fetches,
//! re-links the unpushed records onto the remote tip (new `prev`, digest and
//! signatures), backs off with jitter and retries. Records that still cannot be pushed
//! stay on the local branch and go first on the next run. Nothing is lost or duplicated.

use std::path::PathBuf;
use std::time::Duration;

use git2::{Oid, Repository};
use rand::Rng;

use super::record::{Draft, Layout};
use super::sign::Signers;
use super::store::{Appended, Store, git_err, record_of};
use super::{AuditError, Settings};

/// How a publish ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The remote already had everything.
    UpToDate,
    /// Pushed after `attempts` tries.
    Pushed { attempts: u32 },
    /// Not pushed (still on the local branch for the next run): why.
    Pending { reason: String },
}

/// Pushes one repository's audit branch to its remote.
pub struct Publisher<'r> {
    store: Store<'r>,
    dir: PathBuf,
    remote: String,
    /// Push attempts before giving up for this run.
    pub max_attempts: u32,
    /// First backoff; doubles per attempt up to `max_backoff`, with full jitter.
    pub base_backoff: Duration,
    pub max_backoff: Duration,
}

impl<'r> Publisher<'r> {
    pub fn new(repo: &'r Repository, settings: &Settings) -> Result<Publisher<'r>, AuditError> {
        let dir = repo.workdir().unwrap_or_else(|| repo.path()).to_path_buf();
        Ok(Publisher {
            store: Store::new(repo, &settings.branch)?,
            dir,
            remote: settings.remote.clone(),
            max_attempts: 12,
            base_backoff: Duration::from_millis(50),
            max_backoff: Duration::from_secs(2),
        })
    }

    pub fn store(&self) -> &Store<'r> {
        &self.store
    }

    pub(crate) fn tracking_ref(&self) -> String {
        format!("refs/remotes/{}/{}", self.remote, self.store.branch())
    }

    /// Fetches the remote branch; `Ok(None)` when the remote has no such branch yet.
    pub fn fetch(&self) -> Result<Option<Oid>, AuditError> {
        let spec = format!("+{}:{}", self.store.ref_name(), self.tracking_ref());
        let out = crate::repo::git_cli(&self.dir)
            .args([
                "fetch",
                "--quiet",
                "--no-tags",
                "--no-write-fetch-head",
                &self.remote,
                &spec,
            ])
            .output()
            .map_err(|source| AuditError::GitCommand {
                command: "fetch",
                source,
            })?;
        if !out.status.success() {
            let err = String::from_utf8_lossy(&out.stderr);
            if err.contains("couldn't find remote ref") {
                return Ok(None);
            }
            return Err(AuditError::Fetch {
                remote: self.remote.clone(),
                branch: self.store.branch().to_string(),
                stderr: err.trim().to_string(),
            });
        }
        match self.store.repo().refname_to_id(&self.tracking_ref()) {
            Ok(id) => Ok(Some(id)),
            Err(e) => Err(git_err(&format!("reading {}", self.tracking_ref()), e)),
        }
    }

    /// Brings the local branch onto `remote_tip`: fast-forwards when behind, and
    /// re-links local-only records on top when the two diverged. Returns how many
    /// records were re-linked.
    pub fn relink(&self, remote_tip: Oid, signers: &Signers) -> Result<usize, AuditError> {
        let repo = self.store.repo();
        for _ in 0..20 {
            let Some(local) = self.store.tip()? else {
                if self
                    .store
                    .move_branch(None, remote_tip, "jitaa: audit branch from remote")?
                {
                    return Ok(0);
                }
                continue;
            };
            let des = |a: Oid, b: Oid| repo.graph_descendant_of(a, b).unwrap_or(false);
            if local == remote_tip || des(local, remote_tip) {
                return Ok(0);
            }
            if des(remote_tip, local) {
                if self.store.move_branch(
                    Some(local),
                    remote_tip,
                    "jitaa: fast-forward audit branch",
                )? {
                    return Ok(0);
                }
                continue;
            }
            let base = repo.merge_base(local, remote_tip).ok();
            let mut mine = Vec::new();
            let mut next = Some(local);
            while let Some(id) = next {
                if Some(id) == base {
                    break;
                }
                let c = repo
                    .find_commit(id)
                    .map_err(|e| git_err("reading commit", e))?;
                next = c.parent_id(0).ok();
                mine.push(id);
            }
            mine.reverse();
            let mut parent = repo
                .find_commit(remote_tip)
                .map_err(|e| git_err("reading remote tip", e))?;
            let mut prev = record_of(repo, &parent)?.1.digest;
            let mut count = 0;
            for id in mine {
                let old = repo
                    .find_commit(id)
                    .map_err(|e| git_err("reading commit", e))?;
                let (path, record) = record_of(repo, &old)?;
                let parent_tree = parent.tree().map_err(|e| git_err("reading tree", e))?;
                // Already on the remote (in either layout: an older jitaa may have
                // pushed it before buckets): never duplicate.
                let on_remote = [Layout::Flat, Layout::Bucketed].into_iter().any(|l| {
                    l.path(&record.payload.time, &record.payload.id)
                        .is_ok_and(|p| parent_tree.get_path(std::path::Path::new(&p)).is_ok())
                });
                if on_remote || parent_tree.get_path(std::path::Path::new(&path)).is_ok() {
                    continue;
                }
                let old_tree = old.tree().map_err(|e| git_err("reading tree", e))?;
                let extra = missing_jwks(repo, &old_tree, &parent_tree)?;
                let mut payload = record.payload;
                payload.prev = prev;
                let written = self
                    .store
                    .commit_record(Some(&parent), payload, signers, &extra)?;
                prev = written.digest;
                parent = repo
                    .find_commit(written.commit)
                    .map_err(|e| git_err("reading commit", e))?;
                count += 1;
            }
            if self
                .store
                .move_branch(Some(local), parent.id(), "jitaa: re-link audit records")?
            {
                tracing::info!(count, "re-linked audit records onto the remote tip");
                return Ok(count);
            }
        }
        Err(AuditError::RelinkKeptMoving(self.store.ref_name()))
    }

    pub(crate) fn push(&self) -> Result<(), String> {
        let spec = format!("{0}:{0}", self.store.ref_name());
        let out = crate::repo::git_cli(&self.dir)
            .args([
                "push",
                "--no-verify",
                "--quiet",
                "--porcelain",
                &self.remote,
                &spec,
            ])
            .output()
            .map_err(|e| format!("running git push: {e}"))?;
        if out.status.success() {
            Ok(())
        } else {
            Err(format!(
                "{}{}",
                String::from_utf8_lossy(&out.stdout).trim(),
                String::from_utf8_lossy(&out.stderr).trim()
            ))
        }
    }

    /// Pushes the local branch; on rejection fetches, re-links and retries with
    /// backoff. Never fails for a push problem: what is not pushed stays local
    /// (`Outcome::Pending`). Fails only when re-linking itself fails.
    pub fn publish(&self, signers: &Signers) -> Result<Outcome, AuditError> {
        let Some(mut local) = self.store.tip()? else {
            return Ok(Outcome::UpToDate);
        };
        if self.store.repo().refname_to_id(&self.tracking_ref()).ok() == Some(local) {
            return Ok(Outcome::UpToDate);
        }
        let mut last = String::new();
        for attempt in 1..=self.max_attempts {
            match self.push() {
                Ok(()) => {
                    let _ = self.store.repo().reference(
                        &self.tracking_ref(),
                        local,
                        true,
                        "jitaa: pushed",
                    );
                    return Ok(Outcome::Pushed { attempts: attempt });
                }
                Err(e) => last = e,
            }
            tracing::debug!(attempt, "audit push rejected: {last}");
            match self.fetch() {
                Ok(Some(remote_tip)) => {
                    self.relink(remote_tip, signers)?;
                }
                Ok(None) => {}
                Err(e) => last = crate::exit::full_message(&e),
            }
            local = match self.store.tip()? {
                Some(t) => t,
                None => return Ok(Outcome::UpToDate),
            };
            if self.store.repo().refname_to_id(&self.tracking_ref()).ok() == Some(local) {
                return Ok(Outcome::UpToDate);
            }
            if attempt < self.max_attempts {
                std::thread::sleep(self.backoff(attempt));
            }
        }
        Ok(Outcome::Pending {
            reason: format!(
                "could not push {} to {} after {} attempts ({last}); the records stay on the local branch and go with the next run",
                self.store.branch(),
                self.remote,
                self.max_attempts
            ),
        })
    }

    pub(crate) fn backoff(&self, attempt: u32) -> Duration {
        let exp = self
            .base_backoff
            .saturating_mul(1u32 << attempt.min(16))
            .min(self.max_backoff);
        let ms = exp.as_millis().max(1) as u64;
        Duration::from_millis(rand::thread_rng().gen_range(ms / 4..=ms))
    }
}

/// `jwks/*` files of `from` that `onto` lacks.
fn missing_jwks(
    repo: &Repository,
    from: &git2::Tree<'_>,
    onto: &git2::Tree<'_>,
) -> Result<Vec<(String, Vec<u8>)>, AuditError> {
    let mut out = Vec::new();
    let Some(entry) = from.get_name("jwks") else {
        return Ok(out);
    };
    let tree = repo
        .find_tree(entry.id())
        .map_err(|e| git_err("reading jwks", e))?;
    for e in &tree {
        let Ok(name) = e.name() else { continue };
        let path = format!("jwks/{name}");
        if onto.get_path(std::path::Path::new(&path)).is_err()
            && let Ok(blob) = repo.find_blob(e.id())
        {
            out.push((path, blob.content().to_vec()));
        }
    }
    Ok(out)
}

/// What the gate and the hook call: push anything left from an earlier run, sync with
/// the remote, append `draft`, and publish. The returned record is as finally written
/// (its digest changes if it had to be re-linked); `Outcome::Pending` means it is
/// safe on the local branch but not yet on the remote.
pub fn append_and_publish(
    repo: &Repository,
    settings: &Settings,
    draft: &Draft,
    signers: &Signers,
) -> Result<(Appended, Outcome), AuditError> {
    let publisher = Publisher::new(repo, settings)?;
    match publisher.fetch() {
        Ok(Some(remote_tip)) => {
            publisher.relink(remote_tip, signers)?;
        }
        Ok(None) => {}
        Err(e) => tracing::warn!(
            "audit: {}; appending locally",
            crate::exit::full_message(&e)
        ),
    }
    let appended = publisher.store().append(draft, signers)?;
    let outcome = publisher.publish(signers)?;
    let final_record = find(&publisher, &appended.path)?.unwrap_or(appended);
    Ok((final_record, outcome))
}

/// The record at `path` as it is now on the local branch (it may have been re-linked).
fn find(p: &Publisher<'_>, path: &str) -> Result<Option<Appended>, AuditError> {
    let repo = p.store().repo();
    let mut next = p.store().tip()?;
    while let Some(id) = next {
        let c = repo
            .find_commit(id)
            .map_err(|e| git_err("reading commit", e))?;
        let (rp, rec) = record_of(repo, &c)?;
        if rp == path {
            return Ok(Some(Appended {
                id: rec.payload.id,
                digest: rec.digest,
                path: rp,
                commit: id,
            }));
        }
        next = c.parent_id(0).ok();
    }
    Ok(None)
}
