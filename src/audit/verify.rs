//! `audit verify`: recompute every digest, walk the `prev` chain in commit order (no
//! gap, fork, reorder or duplicate), check every record and commit signature against
//! keys trusted from outside the branch, and prove an earlier head is still there.
//!
//! Speed (issues 6 and 14) comes from doing each thing once and on every core: one
//! JSON parse and one canonicalisation per record, the Ed25519 arithmetic of all
//! record and commit signatures in batches (`batch`, ed25519-dalek's `verify_batch`),
//! keys decompressed once; chunks of consecutive commits are checked in parallel
//! (rayon), a window at a time, and their results taken in chain order by the walk,
//! which alone checks what needs the chain so far (`prev` links, duplicates, the
//! layout order, archived JWKS keys and `github-oidc` tokens). Every check still runs
//! on every record, and the error reported is the first one in chain order, as a
//! one-record-at-a-time walk finds it: a bad signature is named before a later
//! structural error.

use std::collections::{HashMap, HashSet};
use std::fmt::{self, Write as _};
use std::sync::Mutex;

use chrono::Datelike;
use git2::{Oid, Repository};
use hex::FromHex;
use rayon::prelude::*;

use super::chain;
use super::record::{self, GENESIS, Kind, Layout, Signature};
use super::sign::{COMMIT_NAMESPACE, RECORD_NAMESPACE};
use super::trust::{AllowedSigners, Checked, MISMATCH, OidcVerifier, TrustError};
use crate::exit::full_message;

mod batch;
mod doc;
mod jcs;
#[cfg(test)]
mod tests;

use batch::{BATCH_SIZE, Batch};
use doc::{DocView, Json};

/// What verification needs.
pub struct VerifyOptions<'a> {
    /// Certifiers' keys, trusted from outside the branch for every record.
    pub trusted: &'a AllowedSigners,
    /// Developers' keys (`audit.pusher_signers`): trusted for `push` records only. A
    /// signature on any other record that only a pusher key verifies is an error. A
    /// key in both lists is a certifier.
    pub pushers: &'a AllowedSigners,
    /// A digest the caller saw earlier: it must still be in the chain.
    pub expect_head: Option<String>,
    /// Verifies `github-oidc` signatures and says which keys are trusted; without
    /// one they fail.
    pub oidc: Option<&'a dyn OidcVerifier>,
}

impl<'a> VerifyOptions<'a> {
    /// Certifiers `trusted`, no pusher key, no `--expect-head`, no OIDC verifier.
    pub fn new(trusted: &'a AllowedSigners) -> Self {
        static NONE: std::sync::OnceLock<AllowedSigners> = std::sync::OnceLock::new();
        VerifyOptions {
            trusted,
            pushers: NONE.get_or_init(AllowedSigners::default),
            expect_head: None,
            oidc: None,
        }
    }
}

/// Which list a signing key was found in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Role {
    Certifier,
    Pusher,
}

/// The certifiers' check, else the pushers'. The error is the certifiers' one (the
/// key is in neither list, or not for this namespace or principal).
fn check_role<'a>(
    keys: &Keys<'a>,
    armored: &str,
    namespace: &str,
    principal: Option<&str>,
) -> Result<(Checked<'a>, Role), TrustError> {
    match keys.trusted.check(armored, namespace, principal) {
        Ok(c) => Ok((c, Role::Certifier)),
        Err(e) if keys.pushers.is_empty() => Err(e),
        Err(e) => match keys.pushers.check(armored, namespace, principal) {
            Ok(c) => Ok((c, Role::Pusher)),
            Err(_) => Err(e),
        },
    }
}

/// The refusal of a pusher key's signature on a record that is not a `push`.
fn pusher_refused(signer: &super::trust::Signer, kind: Kind) -> String {
    format!(
        "signed by a pusher key ({}), not a certifier: pusher keys (audit.pusher_signers) sign `push` records only, and this record is a `{kind}`",
        signer.origin
    )
}

/// A key archived in the branch's `jwks/`, as the walk found it: the commit that added
/// it, whether that commit carries a certifier's signature, and, once a record used
/// it, the parsed key and whether anything outside the branch vouches for it.
struct Archived {
    blob: Oid,
    by_certifier: bool,
    key: Option<Result<crate::oidc::Jwk, String>>,
    trust: Option<Result<(), String>>,
}

impl Archived {
    /// The archived key, read and parsed once.
    fn key(&mut self, repo: &Repository, kid: &str) -> Result<&crate::oidc::Jwk, String> {
        let blob = self.blob;
        self.key
            .get_or_insert_with(|| {
                let blob = repo
                    .find_blob(blob)
                    .map_err(|e| format!("jwks/{kid}.json: cannot read ({})", e.message()))?;
                serde_json::from_slice::<crate::oidc::Jwk>(blob.content())
                    .map_err(|e| format!("jwks/{kid}.json: not a JWK ({e})"))
            })
            .as_ref()
            .map_err(String::clone)
    }

    /// Whether the key counts (DESIGN.md: an archived key counts only when a trusted
    /// source also has the same key, or the commit that archived it carries a trusted
    /// `ssh` signature). Decided once per kid.
    fn trust(&mut self, kid: &str, verifier: &dyn OidcVerifier) -> Result<(), String> {
        if let Some(t) = &self.trust {
            return t.clone();
        }
        let t = if self.by_certifier {
            Ok(())
        } else {
            let unsigned = format!(
                "key `{kid}` was archived in jwks/ by a commit without a certifier's ssh signature"
            );
            match (verifier.trusted_key(kid), self.key.as_ref()) {
                (Ok(Some(k)), Some(Ok(archived))) if crate::oidc::same_key(&k, archived) => Ok(()),
                (Ok(Some(_)), _) => Err(format!(
                    "{unsigned}, and {} has a different key under that kid (the archived key was swapped)",
                    verifier.source()
                )),
                (Ok(None), _) => Err(format!(
                    "{unsigned}, and {} does not have it: a key found only in the branch's archive proves nothing",
                    verifier.source()
                )),
                (Err(why), _) => Err(format!(
                    "{unsigned}, and nothing outside the branch vouches for it: {}",
                    full_message(&why)
                )),
            }
        };
        self.trust = Some(t.clone());
        t
    }
}

/// The `jwks/<kid>.json` files a commit adds.
fn archived_kids(changes: &[chain::Change]) -> impl Iterator<Item = (&str, Oid)> {
    changes.iter().filter_map(|c| {
        let kid = c.path.strip_prefix("jwks/")?.strip_suffix(".json")?;
        (c.kind == chain::ChangeKind::Added && super::store::is_safe_kid(kid))
            .then_some((kid, c.id))
    })
}

/// A verified branch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    pub records: usize,
    /// The last record's digest (GENESIS for an empty chain).
    pub head: String,
    pub head_commit: Oid,
}

/// The first thing wrong, and where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifyError {
    pub commit: Option<Oid>,
    pub path: Option<String>,
    pub record: Option<String>,
    pub reason: String,
}

impl fmt::Display for VerifyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut at = Vec::new();
        if let Some(p) = &self.path {
            at.push(p.clone());
        }
        if let Some(c) = self.commit {
            at.push(format!("commit {}", &c.to_string()[..12]));
        }
        match &self.record {
            Some(id) => write!(f, "record {id} ({}): {}", at.join(", "), self.reason),
            None if at.is_empty() => write!(f, "{}", self.reason),
            None => write!(f, "{}: {}", at.join(", "), self.reason),
        }
    }
}

impl std::error::Error for VerifyError {}

/// Verifies the chain ending at commit `tip`.
///
/// The commit walk, the `prev` links, duplicates, the layout order and the archived
/// JWKS keys are checked in chain order; everything a record can be checked for on its
/// own (the commit's bytes and tree changes, the record's JSON, digest and payload, and
/// every SSH signature) is checked on every core of the current rayon pool, a window of
/// chunks at a time. Each check still runs on every record, and the error reported is
/// the one a one-record-at-a-time walk would report first.
pub fn verify(
    repo: &Repository,
    tip: Oid,
    opts: &VerifyOptions<'_>,
) -> Result<Verified, VerifyError> {
    if let Some(h) = &opts.expect_head
        && !record::is_digest(h)
    {
        return Err(bare(format!(
            "--expect-head `{h}` is not a sha256:<64 hex> digest"
        )));
    }
    verify_batched(repo, tip, opts, CHUNK, None)
}

/// [`verify`] with the per-record checks on `pool`'s threads (benchmarks: one core
/// against all); the walk stays on the caller's thread.
pub fn verify_on(
    repo: &Repository,
    tip: Oid,
    opts: &VerifyOptions<'_>,
    pool: &rayon::ThreadPool,
) -> Result<Verified, VerifyError> {
    if let Some(h) = &opts.expect_head
        && !record::is_digest(h)
    {
        return Err(bare(format!(
            "--expect-head `{h}` is not a sha256:<64 hex> digest"
        )));
    }
    verify_batched(repo, tip, opts, CHUNK, Some(pool))
}

/// Commits one worker checks in order, their signatures (two per record) in one batch.
const CHUNK: usize = BATCH_SIZE / 2;

/// Chunks checked at once per thread (a window) before the walk takes their results in
/// order, while the next window is checked: two windows bound memory, whatever the
/// length of the chain.
const CHUNKS_PER_THREAD: usize = 4;

/// The walk from the root to `tip`, `chunk` commits per batch of signatures. A first
/// pass from the tip keeps one commit id in `chunk` (the only ids held for the whole
/// chain); each worker walks its chunk back from its id.
fn verify_batched(
    repo: &Repository,
    tip: Oid,
    opts: &VerifyOptions<'_>,
    chunk: usize,
    pool: Option<&rayon::ThreadPool>,
) -> Result<Verified, VerifyError> {
    verify_marked(repo, tip, opts, chunk.max(1), pool, true)
}

/// [`verify_batched`] with the chunks' first commits from git's commit-graph when it
/// has one (`use_graph`); if a chunk does not end where the graph said, the whole
/// check starts over without it.
fn verify_marked(
    repo: &Repository,
    tip: Oid,
    opts: &VerifyOptions<'_>,
    chunk: usize,
    pool: Option<&rayon::ThreadPool>,
    use_graph: bool,
) -> Result<Verified, VerifyError> {
    let found = chain::marks_from(repo, tip, chunk, use_graph).map_err(|(c, why)| VerifyError {
        commit: Some(c),
        path: None,
        record: None,
        reason: format!("the commit {}", full_message(&why)),
    })?;
    let from_graph = found.from_graph;
    // Oldest chunk first, each with the commit its oldest commit's parent must be
    // (the chunk before it; none for the first, which ends at the root).
    let mut ids = found.ids;
    ids.reverse();
    let marks: Vec<(Oid, Option<Oid>)> = ids
        .iter()
        .enumerate()
        .map(|(i, &m)| (m, i.checked_sub(1).map(|j| ids[j])))
        .collect();
    let keys = Keys {
        trusted: opts.trusted,
        pushers: opts.pushers,
    };
    let threads = pool.map_or_else(
        rayon::current_num_threads,
        rayon::ThreadPool::current_num_threads,
    );
    let repos = Repos::new(repo, threads);
    let objects_dir = repo.path().join("objects");
    let mut walk = Walk::new(repo, opts);
    let window = CHUNKS_PER_THREAD * threads.max(1);
    let check = |part: &[(Oid, Option<Oid>)]| -> Vec<Vec<Found>> {
        // The packs are mapped for each window and let go after it, so the pages a
        // check touched do not pile up over the chain.
        let packs = chain::Packs::open(&objects_dir);
        let run = || {
            part.par_iter()
                .map(|&(newest, end)| {
                    repos
                        .with(|r| check_chunk(r, &packs, &keys, newest, end, chunk))
                        .unwrap_or_else(|why| vec![Found::failed(newest, why)])
                })
                .collect()
        };
        match pool {
            Some(p) => p.install(run),
            None => run(),
        }
    };
    // The walk takes one window's results while the pool checks the next two (so no
    // thread waits for the last chunk of a window): three windows in memory at most.
    std::thread::scope(|s| {
        let mut parts = marks.chunks(window);
        let mut flight = std::collections::VecDeque::new();
        for part in parts.by_ref().take(2) {
            flight.push_back(s.spawn(move || check(part)));
        }
        while let Some(h) = flight.pop_front() {
            let done = h
                .join()
                .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
            if let Some(part) = parts.next() {
                flight.push_back(s.spawn(move || check(part)));
            }
            for c in done.into_iter().flatten() {
                if c.stale && from_graph {
                    return Ok(false);
                }
                walk.take(c)?;
            }
        }
        Ok::<bool, VerifyError>(true)
    })?
    .then_some(())
    .map_or_else(
        || verify_marked(repo, tip, opts, chunk, pool, false),
        |()| walk.finish(tip),
    )
}

/// The first 8 bytes of a digest.
fn prefix(d: &[u8; 32]) -> u64 {
    let mut b = [0u8; 8];
    b.copy_from_slice(&d[..8]);
    u64::from_le_bytes(b)
}

fn bare(reason: String) -> VerifyError {
    VerifyError {
        commit: None,
        path: None,
        record: None,
        reason,
    }
}

/// The keys a worker checks SSH signatures against.
struct Keys<'a> {
    trusted: &'a AllowedSigners,
    pushers: &'a AllowedSigners,
}

/// One repository handle per worker thread (a `Repository` is not `Sync`), opened on
/// first use from the caller's repository path.
struct Repos {
    path: std::path::PathBuf,
    slots: Vec<Mutex<Option<Repository>>>,
}

impl Repos {
    fn new(repo: &Repository, threads: usize) -> Repos {
        Repos {
            path: repo.path().to_path_buf(),
            slots: (0..=threads.max(1)).map(|_| Mutex::new(None)).collect(),
        }
    }

    fn with<T>(&self, f: impl FnOnce(&Repository) -> T) -> Result<T, String> {
        let n = self.slots.len();
        let i = rayon::current_thread_index().map_or(n - 1, |i| i % (n - 1).max(1));
        let mut slot = self.slots[i]
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if slot.is_none() {
            let r = Repository::open(&self.path).map_err(|e| {
                format!(
                    "cannot open the repository {} ({})",
                    self.path.display(),
                    e.message()
                )
            })?;
            *slot = Some(r);
        }
        match slot.as_ref() {
            Some(r) => Ok(f(r)),
            None => Err("the repository vanished".into()),
        }
    }
}

/// What a worker found for one commit, stage by stage. The walk runs the checks that
/// need the chain so far between the stages, so the first error it meets is the one
/// a one-record-at-a-time walk would report.
struct Found {
    commit: Oid,
    /// The commit, its signature split and its tree changes (the branch rules).
    step: Result<Stepped, VerifyError>,
    /// The chunk did not end at the commit its marks said (see `verify_marked`).
    stale: bool,
}

impl Found {
    fn failed(commit: Oid, reason: String) -> Found {
        Found {
            commit,
            step: Err(VerifyError {
                commit: Some(commit),
                path: None,
                record: None,
                reason,
            }),
            stale: false,
        }
    }

    /// Whether the walk will stop here whatever came before (later commits of the
    /// chunk are not needed).
    fn is_bad(&self) -> bool {
        match &self.step {
            Err(_) => true,
            Ok(s) => match &s.record {
                Err(_) => true,
                Ok(r) => {
                    r.commit_sig.is_err() || r.sigs.iter().any(|s| matches!(s, SigOut::Failed(_)))
                }
            },
        }
    }
}

struct Stepped {
    path: String,
    /// The `jwks/<kid>.json` files the commit adds.
    added: Vec<(String, Oid)>,
    /// The record file: JSON, digest, payload, signatures.
    record: Result<Rec, VerifyError>,
}

struct Rec {
    /// The id (the file name's stem).
    stem: String,
    raw_digest: [u8; 32],
    digest: String,
    prev: String,
    time: chrono::DateTime<chrono::Utc>,
    /// Each record signature in order, up to the first that fails.
    sigs: Vec<SigOut>,
    /// Whose key signed the commit (checked only when no record signature failed).
    commit_sig: Result<Option<Role>, VerifyError>,
}

/// One record signature, as far as a worker can check it.
enum SigOut {
    /// An `ssh` signature by a key trusted for this record (its arithmetic queued).
    Ssh { index: usize, principal: String },
    /// A `github-oidc` signature: checked by the walk, which knows the archived keys.
    Oidc { index: usize, token: String },
    /// The first signature that fails, and why.
    Failed(VerifyError),
}

/// A signature waiting in a chunk's batch: the commit's place in the chunk, and which
/// record signature (`None`: the commit's own).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Queued {
    pos: usize,
    sig: Option<usize>,
}

/// Buffers reused for every commit of a chunk.
#[derive(Default)]
struct Bufs {
    rec: RecBufs,
}

#[derive(Default)]
struct RecBufs {
    jcs: Vec<u8>,
    digest: String,
    want: String,
}

/// Checks the `len` commits that end at `newest` (fewer at the root) oldest first, up
/// to the first that fails, their SSH signatures in one batch.
fn check_chunk(
    repo: &Repository,
    packs: &std::sync::Arc<chain::Packs>,
    keys: &Keys<'_>,
    newest: Oid,
    end: Option<Oid>,
    len: usize,
) -> Vec<Found> {
    let odb = match repo.odb() {
        Ok(o) => chain::Objects::new(std::sync::Arc::clone(packs), o),
        Err(e) => {
            return vec![Found::failed(
                newest,
                format!("cannot open the object database ({})", e.message()),
            )];
        }
    };
    // The chunk's commits (the first pass checked their headers), and the parent of
    // its oldest: whose tree the first diff starts from.
    // Each commit is read once: its header and signature split are kept for its check.
    let mut ids = Vec::with_capacity(len);
    let mut next = Some(newest);
    while let Some(id) = next {
        if ids.len() == len {
            break;
        }
        let split = |raw: &[u8]| {
            let (mut sig, mut signed) = (Vec::new(), Vec::new());
            chain::raw::split_signature(raw, &mut sig, &mut signed)
                .map(|has| has.then_some((sig, signed)))
                .map_err(|why| ToString::to_string(&why))
        };
        match chain::read_commit(&odb, id, split) {
            Ok((head, split)) => {
                next = head.parents.first().copied();
                ids.push((id, head.tree, split));
            }
            Err((c, why)) => {
                return vec![Found::failed(
                    c,
                    format!("the commit {}", full_message(&why)),
                )];
            }
        }
    }
    ids.reverse();
    if next != end {
        let oldest = ids.first().map_or(newest, |(id, _, _)| *id);
        let mut f = Found::failed(
            oldest,
            format!(
                "the commit {}",
                full_message(&chain::ChainError::GraphMismatch)
            ),
        );
        f.stale = true;
        return vec![f];
    }
    let mut parent_tree = match next {
        None => None,
        Some(p) => match chain::parent_of(&odb, p) {
            Ok((tree, _)) => Some(tree),
            Err((c, why)) => {
                return vec![Found::failed(
                    c,
                    format!("the commit {}", full_message(&why)),
                )];
            }
        },
    };
    let mut trees = chain::Trees::new(&odb);
    let mut batch = Batch::new(usize::MAX);
    let mut bufs = Bufs::default();
    let mut out = Vec::with_capacity(ids.len());
    for (pos, (id, tree, split)) in ids.into_iter().enumerate() {
        let commit = Commit { id, tree, split };
        let (checked, tree) = check_one(
            keys,
            &odb,
            &mut trees,
            &commit,
            parent_tree,
            pos,
            &mut batch,
            &mut bufs,
        );
        let bad = checked.is_bad();
        out.push(checked);
        if bad {
            break;
        }
        parent_tree = tree;
    }
    for q in batch.flush_all() {
        mismatch(&mut out, q);
    }
    out
}

/// Marks a queued signature whose arithmetic failed.
fn mismatch(out: &mut [Found], q: Queued) {
    let Some(c) = out.get_mut(q.pos) else {
        return;
    };
    let commit = c.commit;
    let Ok(st) = &mut c.step else {
        return;
    };
    let Ok(r) = &mut st.record else {
        return;
    };
    let err = |reason: String| VerifyError {
        commit: Some(commit),
        path: Some(st.path.clone()),
        record: Some(r.stem.clone()),
        reason,
    };
    match q.sig {
        Some(i) => {
            let found = r
                .sigs
                .iter()
                .position(|s| matches!(s, SigOut::Ssh { index, .. } if *index == i));
            if let Some(k) = found {
                let principal = match &r.sigs[k] {
                    SigOut::Ssh { principal, .. } => principal.clone(),
                    _ => "?".into(),
                };
                r.sigs[k] = SigOut::Failed(err(format!(
                    "signatures[{i}] (ssh, principal {principal}): {MISMATCH}"
                )));
                r.sigs.truncate(k + 1);
            }
        }
        None => {
            if r.commit_sig.is_ok() {
                r.commit_sig = Err(err(format!("commit signature: {MISMATCH}")));
            }
        }
    }
}

/// Everything one commit can be checked for on its own; returns its tree.
#[allow(clippy::too_many_arguments)]
fn check_one<'o>(
    keys: &Keys<'_>,
    odb: &'o chain::Objects<'o>,
    trees: &mut chain::Trees<'o>,
    commit: &Commit,
    parent_tree: Option<Oid>,
    pos: usize,
    batch: &mut Batch<Queued>,
    bufs: &mut Bufs,
) -> (Found, Option<Oid>) {
    let id = commit.id;
    let fail = |reason: String| (Found::failed(id, reason), None);
    let signature = match &commit.split {
        Ok(s) => s
            .as_ref()
            .map(|(sig, signed)| (sig.as_slice(), signed.as_slice())),
        Err(why) => return fail(why.clone()),
    };
    let changes = match trees.diff(parent_tree, commit.tree) {
        Ok(c) => c,
        Err(why) => return fail(format!("the commit {}", full_message(&why))),
    };
    let step = match chain::step(&changes, id) {
        Ok(s) => s,
        Err(why) => return fail(format!("the commit {}", full_message(&why))),
    };
    let added = archived_kids(&changes)
        .map(|(kid, blob)| (kid.to_string(), blob))
        .collect();
    let record = check_record(keys, odb, &step, signature, pos, batch, &mut bufs.rec);
    let checked = Found {
        commit: id,
        step: Ok(Stepped {
            path: step.path,
            added,
            record,
        }),
        stale: false,
    };
    (checked, Some(commit.tree))
}

/// A commit of a chunk as its walk read it: its tree, and its signature with the bytes
/// it covers (`None`: unsigned), or why they cannot be split.
struct Commit {
    id: Oid,
    tree: Oid,
    split: Result<Option<Signed>, String>,
}

/// A commit's signature and the bytes it covers.
type Signed = (Vec<u8>, Vec<u8>);

/// The record file of `step`: JSON, digest, payload and signatures.
fn check_record(
    keys: &Keys<'_>,
    odb: &chain::Objects<'_>,
    step: &chain::Step,
    commit_signature: Option<(&[u8], &[u8])>,
    pos: usize,
    batch: &mut Batch<Queued>,
    bufs: &mut RecBufs,
) -> Result<Rec, VerifyError> {
    let path = step.path.as_str();
    let stem = path
        .rsplit('/')
        .next()
        .and_then(|f| f.strip_suffix(".json"))
        .unwrap_or("");
    let rec = |reason: String| VerifyError {
        commit: Some(step.commit),
        path: Some(path.to_string()),
        record: Some(stem.to_string()),
        reason,
    };
    let (kind, blob) = odb
        .read(step.blob)
        .map_err(|e| rec(format!("cannot read ({})", e.message())))?;
    if kind != git2::ObjectType::Blob {
        return Err(rec(format!("is a {}, not a file", kind.str())));
    }
    let bytes = &*blob;
    let doc: Json<'_> =
        serde_json::from_slice(bytes).map_err(|e| rec(format!("not valid JSON ({e})")))?;
    let payload_json = doc
        .get("payload")
        .ok_or_else(|| rec("has no payload".into()))?;
    let stated = doc
        .get("digest")
        .and_then(Json::as_str)
        .ok_or_else(|| rec("has no digest".into()))?;
    if jcs::json_into(payload_json, &mut bufs.jcs).is_none() {
        bufs.jcs = record::jcs(&payload_json.to_value()).map_err(|e| rec(e.to_string()))?;
    }
    let jcs = bufs.jcs.as_slice();
    let raw_digest = record::digest_into(jcs, &mut bufs.digest);
    let digest = bufs.digest.as_str();
    if digest != stated {
        return Err(rec(format!(
            "digest mismatch: the record states {stated} but its payload hashes to {digest} (the record was altered)"
        )));
    }
    let payload = doc::from_json::<DocView<'_>>(&doc)
        .map_err(|e| rec(format!("payload: {e}")))?
        .payload;
    if payload.v != record::VERSION {
        return Err(rec(format!(
            "payload.v is {}, this jitaa reads {}",
            payload.v,
            record::VERSION
        )));
    }
    if *payload.id != *stem {
        return Err(rec(format!(
            "payload.id `{}` does not match its file name",
            payload.id
        )));
    }
    // `Layout::path` without re-parsing a strftime pattern per record. The layout is
    // the path's own (both are read); `step` checked its shape, the walk its order.
    let t = record::parse_time(&payload.time)
        .map_err(|e| rec(format!("payload.time: {}", full_message(&e))))?;
    let want = &mut bufs.want;
    want.clear();
    write!(
        want,
        "records/{:04}/{:02}/{:02}/",
        t.year(),
        t.month(),
        t.day(),
    )
    .map_err(|_| rec("cannot format its folder".into()))?;
    if Layout::of(path) == Some(Layout::Bucketed) {
        want.push_str(Layout::bucket(&payload.id));
        want.push('/');
    }
    want.push_str(&payload.id);
    want.push_str(".json");
    if want != path {
        return Err(rec(format!(
            "payload.time {} does not match its folder (expected {want})",
            payload.time
        )));
    }
    let mut sigs = Vec::with_capacity(2);
    let sigs_ok = match record_signatures(
        keys,
        doc.get("signatures"),
        payload.kind,
        jcs,
        pos,
        batch,
        &rec,
        &mut sigs,
    ) {
        Ok(()) => true,
        Err(e) => {
            sigs.push(SigOut::Failed(e));
            false
        }
    };
    let commit_sig = if sigs_ok {
        commit_signature_of(keys, commit_signature, &doc, payload.kind, pos, batch, &rec)
    } else {
        Ok(None)
    };
    Ok(Rec {
        stem: stem.to_string(),
        raw_digest,
        digest: digest.to_string(),
        prev: payload.prev.to_string(),
        time: t,
        sigs,
        commit_sig,
    })
}

/// The walk's state: what the chain so far says about the next record.
struct Walk<'a, 'r> {
    repo: &'r Repository,
    opts: &'a VerifyOptions<'a>,
    prev: String,
    /// Every id so far (the duplicate check) and the first 8 bytes of every digest (to
    /// say whether a broken `prev` names an earlier record): the only state that grows
    /// with the chain, 24 bytes a record. A record repeating an earlier digest repeats
    /// its payload, so its id: the id check refuses it.
    seen_ids: HashSet<u128>,
    seen_digests: HashSet<u64>,
    found_expected: bool,
    /// Records taken so far.
    records: usize,
    layouts: chain::LayoutOrder,
    /// The archived JWKS keys so far (kid → where from).
    archive: HashMap<String, Archived>,
    /// The `github-oidc` signatures of this record (index, kid) still to be trusted.
    pending: Vec<(usize, String)>,
}

impl<'a, 'r> Walk<'a, 'r> {
    fn new(repo: &'r Repository, opts: &'a VerifyOptions<'a>) -> Self {
        Walk {
            repo,
            opts,
            prev: GENESIS.to_string(),
            seen_digests: HashSet::new(),
            seen_ids: HashSet::new(),
            found_expected: opts.expect_head.as_deref() == Some(GENESIS),
            records: 0,
            layouts: chain::LayoutOrder::default(),
            archive: HashMap::new(),
            pending: Vec::new(),
        }
    }

    /// The next commit in chain order.
    fn take(&mut self, c: Found) -> Result<(), VerifyError> {
        let id = c.commit;
        let st = c.step?;
        self.records += 1;
        self.layouts.check(&st.path).map_err(|why| VerifyError {
            commit: Some(id),
            path: None,
            record: None,
            reason: format!("the commit {}", full_message(&why)),
        })?;
        for (kid, blob) in &st.added {
            self.archive.insert(
                kid.clone(),
                Archived {
                    blob: *blob,
                    by_certifier: false,
                    key: None,
                    trust: None,
                },
            );
        }
        let r = st.record?;
        let rec = |reason: String| VerifyError {
            commit: Some(id),
            path: Some(st.path.clone()),
            record: Some(r.stem.clone()),
            reason,
        };
        let new_id = ulid::Ulid::from_string(&r.stem).is_ok_and(|i| self.seen_ids.insert(i.0));
        if !new_id {
            return Err(rec("duplicate: this record is already in the chain".into()));
        }
        if r.prev != self.prev {
            let earlier = r
                .prev
                .strip_prefix("sha256:")
                .and_then(|h| <[u8; 32]>::from_hex(h).ok())
                .is_some_and(|d| self.seen_digests.contains(&prefix(&d)));
            let why = if earlier {
                "records were reordered or the chain forks"
            } else {
                "a record is missing, was inserted, or records were reordered"
            };
            return Err(rec(format!(
                "chain broken: payload.prev is {} but the previous record's digest is {} ({why})",
                r.prev, self.prev
            )));
        }
        let mut ssh_trusted = false;
        self.pending.clear();
        for s in &r.sigs {
            match s {
                SigOut::Ssh { .. } => ssh_trusted = true,
                SigOut::Failed(e) => return Err(e.clone()),
                SigOut::Oidc { index, token } => {
                    let kid = self.oidc(*index, token, &r, &rec)?;
                    self.pending.push((*index, kid));
                }
            }
        }
        let role = r.commit_sig.clone()?;
        for (kid, _) in &st.added {
            if let Some(a) = self.archive.get_mut(kid) {
                a.by_certifier = role == Some(Role::Certifier);
            }
        }
        if !ssh_trusted {
            trusted_by_oidc(&self.pending, &mut self.archive, self.opts, &rec)?;
        }
        if self.opts.expect_head.as_deref() == Some(r.digest.as_str()) {
            self.found_expected = true;
        }
        self.seen_digests.insert(prefix(&r.raw_digest));
        self.prev = r.digest;
        Ok(())
    }

    /// A `github-oidc` signature: the token verifies with the key archived under its
    /// kid. Returns the kid (whether that key is trusted is decided after the commit's
    /// signature is known).
    fn oidc(
        &mut self,
        i: usize,
        token: &str,
        r: &Rec,
        rec: &dyn Fn(String) -> VerifyError,
    ) -> Result<String, VerifyError> {
        let verifier = self.opts.oidc.ok_or_else(|| {
            rec(format!(
                "signatures[{i}] (github-oidc): cannot be verified: no OIDC verifier is configured"
            ))
        })?;
        let bad = |e: &str| rec(format!("signatures[{i}] (github-oidc): {e}"));
        let kid = verifier.kid(token).map_err(|e| bad(&full_message(&e)))?;
        let archived = self
            .archive
            .get_mut(kid.as_str())
            .ok_or_else(|| bad(&format!("key `{kid}` is not archived in jwks/")))?;
        let key = archived.key(self.repo, &kid).map_err(|e| bad(&e))?;
        verifier
            .verify(token, key, &format!("jitaa:{}", r.digest), r.time)
            .map_err(|e| bad(&full_message(&e)))?;
        Ok(kid)
    }

    fn finish(self, tip: Oid) -> Result<Verified, VerifyError> {
        if let Some(h) = &self.opts.expect_head
            && !self.found_expected
        {
            return Err(bare(format!(
                "expected head {h} is not in the chain (head is now {}): the branch history was rewritten or truncated",
                self.prev
            )));
        }
        Ok(Verified {
            records: self.records,
            head: self.prev,
            head_commit: tip,
        })
    }
}

/// Checks (or queues) every record signature of a record of `kind` over `jcs`, in
/// order, into `out`, up to the first that fails (its error).
#[allow(clippy::too_many_arguments)]
fn record_signatures(
    keys: &Keys<'_>,
    signatures: Option<&Json<'_>>,
    kind: Kind,
    jcs: &[u8],
    pos: usize,
    batch: &mut Batch<Queued>,
    rec: &dyn Fn(String) -> VerifyError,
    out: &mut Vec<SigOut>,
) -> Result<(), VerifyError> {
    let sigs: &[Json<'_>] = match signatures {
        None => &[],
        Some(Json::Arr(a)) => a,
        // Not a list: the error deserialising it gives.
        Some(v) => {
            let why = <Vec<Signature> as serde::Deserialize>::deserialize(v.to_value())
                .err()
                .map_or_else(|| "not a list".to_string(), |e| e.to_string());
            return Err(rec(format!("signatures: {why}")));
        }
    };
    if sigs.is_empty() {
        return Err(rec("carries no signature (signatures were stripped)".into()));
    }
    for (i, sig) in sigs.iter().enumerate() {
        match SigRef::of(sig) {
            SigRef::Ssh { principal, sig } => {
                let what =
                    |e: &str| rec(format!("signatures[{i}] (ssh, principal {principal}): {e}"));
                let (checked, role) = match check_role(keys, sig, RECORD_NAMESPACE, Some(principal))
                {
                    Ok(c) => c,
                    Err(e) => return Err(what(&full_message(&e))),
                };
                if role == Role::Pusher && kind != Kind::Push {
                    return Err(what(&pusher_refused(checked.signer, kind)));
                }
                let queued = Queued { pos, sig: Some(i) };
                if !matches!(batch.push(&checked.sig, jcs, queued), Ok(true))
                    && let Err(e) = checked.verify(RECORD_NAMESPACE, jcs)
                {
                    return Err(what(&full_message(&e)));
                }
                out.push(SigOut::Ssh {
                    index: i,
                    principal: principal.to_string(),
                });
            }
            SigRef::GithubOidc { token } => out.push(SigOut::Oidc {
                index: i,
                token: token.to_string(),
            }),
            SigRef::Unknown(v) => {
                let t = v.get("type").and_then(Json::as_str).unwrap_or("?");
                return Err(rec(format!(
                    "signatures[{i}]: unknown or malformed signature of type `{t}`"
                )));
            }
        }
    }
    Ok(())
}

/// A record signature as [`Signature`] reads it, borrowed from the document.
enum SigRef<'a> {
    Ssh { principal: &'a str, sig: &'a str },
    GithubOidc { token: &'a str },
    Unknown(&'a Json<'a>),
}

impl<'a> SigRef<'a> {
    fn of(v: &'a Json<'a>) -> SigRef<'a> {
        let field = |k: &str| v.get(k).and_then(Json::as_str);
        match v.get("type").and_then(Json::as_str) {
            Some("ssh") => match (field("principal"), field("sig")) {
                (Some(principal), Some(sig)) => SigRef::Ssh { principal, sig },
                _ => SigRef::Unknown(v),
            },
            Some("github-oidc") => match field("token") {
                Some(token) => SigRef::GithubOidc { token },
                None => SigRef::Unknown(v),
            },
            _ => SigRef::Unknown(v),
        }
    }
}

/// A signed commit must verify against the trusted keys (namespace `git`): a
/// certifier's, or a pusher's on a `push` record. An unsigned commit is accepted only
/// for a record without an `ssh` signature (keyless OIDC). Returns whose key signed.
fn commit_signature_of(
    keys: &Keys<'_>,
    signed: Option<(&[u8], &[u8])>,
    doc: &Json<'_>,
    kind: Kind,
    pos: usize,
    batch: &mut Batch<Queued>,
    rec: &dyn Fn(String) -> VerifyError,
) -> Result<Option<Role>, VerifyError> {
    match signed {
        Some((sig, content)) => {
            let what = |e: &str| rec(format!("commit signature: {e}"));
            let sig = std::str::from_utf8(sig)
                .map_err(|_| rec("the commit signature is not text".into()))?;
            let (checked, role) = check_role(keys, sig, COMMIT_NAMESPACE, None)
                .map_err(|e| what(&full_message(&e)))?;
            if role == Role::Pusher && kind != Kind::Push {
                return Err(what(&pusher_refused(checked.signer, kind)));
            }
            let queued = Queued { pos, sig: None };
            if !matches!(batch.push(&checked.sig, content, queued), Ok(true)) {
                checked
                    .verify(COMMIT_NAMESPACE, content)
                    .map_err(|e| what(&full_message(&e)))?;
            }
            Ok(Some(role))
        }
        None => {
            let has_ssh = match doc.get("signatures") {
                Some(Json::Arr(a)) => a
                    .iter()
                    .any(|s| s.get("type").and_then(Json::as_str) == Some("ssh")),
                _ => false,
            };
            if has_ssh {
                Err(rec(
                    "the commit is not signed (audit commits carry the record key's SSH signature)"
                        .into(),
                ))
            } else {
                Ok(None)
            }
        }
    }
}

/// A record with no trusted `ssh` signature counts only through a `github-oidc`
/// signature whose key is trusted; else it fails, saying why for each.
fn trusted_by_oidc(
    pending: &[(usize, String)],
    archive: &mut HashMap<String, Archived>,
    opts: &VerifyOptions<'_>,
    rec: &dyn Fn(String) -> VerifyError,
) -> Result<(), VerifyError> {
    let mut why = Vec::new();
    if let Some(verifier) = opts.oidc {
        for (i, kid) in pending {
            let Some(a) = archive.get_mut(kid.as_str()) else {
                continue;
            };
            match a.trust(kid, verifier) {
                Ok(()) => return Ok(()),
                Err(e) => why.push(format!("signatures[{i}] (github-oidc): {e}")),
            }
        }
    }
    if why.is_empty() {
        why.push("it has no signature by a trusted key".into());
    }
    Err(rec(format!(
        "is not trusted: none of its signatures is by a key trusted from outside the branch; {}",
        why.join("; ")
    )))
}
