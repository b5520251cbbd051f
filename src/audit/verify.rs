//! `audit verify`: recompute every digest, walk the `prev` chain in commit order (no
//! gap, fork, reorder or duplicate), check every record and commit signature against
//! keys trusted from outside the branch, and prove an earlier head is still there.
//!
//! Speed (issue 6: ≥ 20,000 records/s on one core) comes from doing each thing once:
//! one JSON parse and one canonicalisation per record, the Ed25519 arithmetic of all
//! record and commit signatures in batches (`batch`), keys decompressed once. Every
//! check still runs on every record, and the error reported is the first one in
//! chain order: a structural error is returned only after the signatures queued
//! before it were checked.

use std::collections::{HashMap, HashSet};
use std::fmt::{self, Write as _};

use chrono::Datelike;
use git2::{Oid, Repository};
use hex::FromHex;
use serde_json::Value;

use super::chain;
use super::record::{self, GENESIS, Kind, Layout, Signature};
use super::sign::{COMMIT_NAMESPACE, RECORD_NAMESPACE};
use super::trust::{AllowedSigners, Checked, MISMATCH, OidcVerifier};

mod batch;
mod doc;
mod jcs;
#[cfg(test)]
mod tests;

use batch::{BATCH_SIZE, Batch};
use doc::{DocView, Json, PayloadView};

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
    opts: &VerifyOptions<'a>,
    armored: &str,
    namespace: &str,
    principal: Option<&str>,
) -> Result<(Checked<'a>, Role), String> {
    match opts.trusted.check(armored, namespace, principal) {
        Ok(c) => Ok((c, Role::Certifier)),
        Err(e) if opts.pushers.is_empty() => Err(e),
        Err(e) => match opts.pushers.check(armored, namespace, principal) {
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
                    "{unsigned}, and nothing outside the branch vouches for it: {why}"
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
    let ids = chain::commits(repo, tip).map_err(|(c, why)| VerifyError {
        commit: Some(c),
        path: None,
        record: None,
        reason: format!("the commit {why}"),
    })?;
    verify_batched(repo, &ids, tip, opts, BATCH_SIZE)
}

/// The walk over `ids` (oldest first), with signatures checked `batch_size` at a time.
fn verify_batched(
    repo: &Repository,
    ids: &[Oid],
    tip: Oid,
    opts: &VerifyOptions<'_>,
    batch_size: usize,
) -> Result<Verified, VerifyError> {
    let mut batch = Batch::new(batch_size);
    let res = walk(repo, ids, tip, opts, &mut batch);
    // Whatever the walk found, a bad signature queued before it comes first.
    batch.flush().map_err(|q| describe(repo, q))?;
    debug_assert!(batch.is_empty());
    res
}

fn walk(
    repo: &Repository,
    ids: &[Oid],
    tip: Oid,
    opts: &VerifyOptions<'_>,
    batch: &mut Batch<Queued>,
) -> Result<Verified, VerifyError> {
    let mut prev = GENESIS.to_string();
    let mut digest = String::with_capacity(prev.len());
    let mut seen_digests: HashSet<[u8; 32]> = HashSet::with_capacity(ids.len());
    let mut seen_ids: HashSet<[u8; 26]> = HashSet::with_capacity(ids.len());
    let mut parent_tree: Option<Oid> = None;
    let (mut jcs_buf, mut want) = (Vec::with_capacity(2048), String::new());
    let mut found_expected = opts.expect_head.as_deref() == Some(GENESIS);
    let odb = repo
        .odb()
        .map_err(|e| bare(format!("cannot open the object database ({})", e.message())))?;
    let mut trees = chain::Trees::new(&odb);
    let mut layouts = chain::LayoutOrder::default();
    // Reused for every commit: its signature and the bytes that signature covers.
    let (mut commit_sig, mut signed_bytes) = (Vec::new(), Vec::new());
    // The archived JWKS keys so far (kid → where from), the ones this commit adds, and
    // the `github-oidc` signatures of this record (index, kid) still to be trusted.
    let mut archive: HashMap<String, Archived> = HashMap::new();
    let (mut added, mut pending): (Vec<String>, Vec<(usize, String)>) = (Vec::new(), Vec::new());
    for &id in ids {
        let at = |path: Option<&str>, rec: Option<&str>, reason: String| VerifyError {
            commit: Some(id),
            path: path.map(str::to_string),
            record: rec.map(str::to_string),
            reason,
        };
        let obj = odb.read(id).map_err(|e| {
            at(
                None,
                None,
                format!("cannot read the commit ({})", e.message()),
            )
        })?;
        let head = chain::raw::header(obj.data())
            .map_err(|why| at(None, None, format!("the commit {why}")))?;
        let signed = chain::raw::split_signature(obj.data(), &mut commit_sig, &mut signed_bytes)
            .map_err(|why| at(None, None, why.to_string()))?;
        drop(obj);
        let changes = trees
            .diff(parent_tree, head.tree)
            .map_err(|why| at(None, None, format!("the commit {why}")))?;
        let step = chain::step(&changes, id)
            .and_then(|s| layouts.check(&s.path).map(|()| s))
            .map_err(|why| at(None, None, format!("the commit {why}")))?;
        added.clear();
        for (kid, blob) in archived_kids(&changes) {
            archive.insert(
                kid.to_string(),
                Archived {
                    blob,
                    by_certifier: false,
                    key: None,
                    trust: None,
                },
            );
            added.push(kid.to_string());
        }
        let path = step.path.as_str();
        let stem = path
            .rsplit('/')
            .next()
            .and_then(|f| f.strip_suffix(".json"))
            .unwrap_or("");
        let rec = |reason: String| at(Some(path), Some(stem), reason);
        let blob = odb
            .read(step.blob)
            .map_err(|e| rec(format!("cannot read ({})", e.message())))?;
        if blob.kind() != git2::ObjectType::Blob {
            return Err(rec(format!("is a {}, not a file", blob.kind().str())));
        }

        let bytes = blob.data();
        let doc: Json<'_> =
            serde_json::from_slice(bytes).map_err(|e| rec(format!("not valid JSON ({e})")))?;
        let payload_json = doc
            .get("payload")
            .ok_or_else(|| rec("has no payload".into()))?;
        let stated = doc
            .get("digest")
            .and_then(Json::as_str)
            .ok_or_else(|| rec("has no digest".into()))?;
        if jcs::json_into(payload_json, &mut jcs_buf).is_none() {
            jcs_buf = record::jcs(&payload_json.to_value()).map_err(|e| rec(e.to_string()))?;
        }
        let jcs = jcs_buf.as_slice();
        let raw_digest = record::digest_into(jcs, &mut digest);
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
        // the path's own (both are read); `step` checked its shape, `layouts` its order.
        let t = record::parse_time(&payload.time).map_err(|e| rec(format!("payload.time: {e}")))?;
        want.clear();
        write!(
            want,
            "records/{:04}/{:02}/{:02}/",
            t.year(),
            t.month(),
            t.day(),
        )
        .expect("writing to a String");
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
        let new_id = <[u8; 26]>::try_from(stem.as_bytes()).is_ok_and(|id| seen_ids.insert(id));
        if !new_id || seen_digests.contains(&raw_digest) {
            return Err(rec("duplicate: this record is already in the chain".into()));
        }
        if *payload.prev != *prev {
            let earlier = payload
                .prev
                .strip_prefix("sha256:")
                .and_then(|h| <[u8; 32]>::from_hex(h).ok())
                .is_some_and(|d| seen_digests.contains(&d));
            let why = if earlier {
                "records were reordered or the chain forks"
            } else {
                "a record is missing, was inserted, or records were reordered"
            };
            return Err(rec(format!(
                "chain broken: payload.prev is {} but the previous record's digest is {prev} ({why})",
                payload.prev
            )));
        }
        let sigs = Sigs {
            commit: id,
            doc: &doc,
            jcs,
            digest: &digest,
            payload: &payload,
        };
        pending.clear();
        let ssh_trusted =
            check_signatures(repo, &sigs, opts, &mut archive, &mut pending, batch, &rec)?;
        let signature = signed.then_some((commit_sig.as_slice(), signed_bytes.as_slice()));
        let role = check_commit_signature(repo, id, signature, &sigs, opts, batch, &rec)?;
        for kid in &added {
            if let Some(a) = archive.get_mut(kid) {
                a.by_certifier = role == Some(Role::Certifier);
            }
        }
        if !ssh_trusted {
            trusted_by_oidc(&pending, &mut archive, opts, &rec)?;
        }
        if opts.expect_head.as_deref() == Some(digest.as_str()) {
            found_expected = true;
        }
        seen_digests.insert(raw_digest);
        std::mem::swap(&mut prev, &mut digest);
        parent_tree = Some(head.tree);
    }
    if let Some(h) = &opts.expect_head
        && !found_expected
    {
        return Err(bare(format!(
            "expected head {h} is not in the chain (head is now {prev}): the branch history was rewritten or truncated"
        )));
    }
    Ok(Verified {
        records: ids.len(),
        head: prev,
        head_commit: tip,
    })
}

fn bare(reason: String) -> VerifyError {
    VerifyError {
        commit: None,
        path: None,
        record: None,
        reason,
    }
}

/// One record's parts its signatures cover.
struct Sigs<'a> {
    commit: Oid,
    doc: &'a Json<'a>,
    jcs: &'a [u8],
    digest: &'a str,
    payload: &'a PayloadView<'a>,
}

/// Checks (or queues) every record signature; `rec` places an error at the record.
/// Returns whether an `ssh` signature is by a key trusted for this record; the
/// `github-oidc` signatures that verified go to `pending` (index, kid), for the caller
/// to decide whether their keys are trusted once the commit's signature is known.
fn check_signatures(
    repo: &Repository,
    r: &Sigs<'_>,
    opts: &VerifyOptions<'_>,
    archive: &mut HashMap<String, Archived>,
    pending: &mut Vec<(usize, String)>,
    batch: &mut Batch<Queued>,
    rec: &dyn Fn(String) -> VerifyError,
) -> Result<bool, VerifyError> {
    let mut ssh_trusted = false;
    let sigs: &[Json<'_>] = match r.doc.get("signatures") {
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
                let (checked, role) = check_role(opts, sig, RECORD_NAMESPACE, Some(principal))
                    .map_err(|e| what(&e))?;
                if role == Role::Pusher && r.payload.kind != Kind::Push {
                    return Err(what(&pusher_refused(checked.signer, r.payload.kind)));
                }
                ssh_trusted = true;
                let queued = Queued {
                    commit: r.commit,
                    sig: Some(i),
                };
                if !batch
                    .push(&checked.sig, r.jcs, queued)
                    .map_err(|q| describe(repo, q))?
                {
                    checked
                        .verify(RECORD_NAMESPACE, r.jcs)
                        .map_err(|e| what(&e))?;
                }
            }
            SigRef::GithubOidc { token } => {
                let verifier = opts.oidc.ok_or_else(|| {
                    rec(format!("signatures[{i}] (github-oidc): cannot be verified: no OIDC verifier is configured"))
                })?;
                let time = record::parse_time(&r.payload.time)
                    .map_err(|e| rec(format!("payload.time: {e}")))?;
                let bad = |e: &str| rec(format!("signatures[{i}] (github-oidc): {e}"));
                let kid = verifier.kid(token).map_err(|e| bad(&e))?;
                let archived = archive
                    .get_mut(kid.as_str())
                    .ok_or_else(|| bad(&format!("key `{kid}` is not archived in jwks/")))?;
                let key = archived.key(repo, &kid).map_err(|e| bad(&e))?;
                verifier
                    .verify(token, key, &format!("jitaa:{}", r.digest), time)
                    .map_err(|e| bad(&e))?;
                pending.push((i, kid));
            }
            SigRef::Unknown(v) => {
                let t = v.get("type").and_then(Json::as_str).unwrap_or("?");
                return Err(rec(format!(
                    "signatures[{i}]: unknown or malformed signature of type `{t}`"
                )));
            }
        }
    }
    Ok(ssh_trusted)
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

/// A signature waiting in the batch: its commit, and which record signature (`None`:
/// the commit's own). Small, so a full batch holds no strings; the message is rebuilt
/// by [`describe`] only when one is bad.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Queued {
    commit: Oid,
    sig: Option<usize>,
}

/// The error for a queued signature that does not verify, placed as the walk would.
fn describe(repo: &Repository, q: Queued) -> VerifyError {
    let place = || -> Option<(String, Value)> {
        let c = repo.find_commit(q.commit).ok()?;
        let parent = match c.parent(0) {
            Ok(p) => Some(p.tree_id()),
            Err(_) => None,
        };
        let odb = repo.odb().ok()?;
        let changes = chain::Trees::new(&odb).diff(parent, c.tree_id()).ok()?;
        let step = chain::step(&changes, q.commit).ok()?;
        let blob = repo.find_blob(step.blob).ok()?;
        let doc = serde_json::from_slice(blob.content()).ok()?;
        Some((step.path, doc))
    };
    let (path, doc) = place().unzip();
    let stem = path.as_deref().map(|p| {
        p.rsplit('/')
            .next()
            .and_then(|f| f.strip_suffix(".json"))
            .unwrap_or("")
            .to_string()
    });
    let reason = match q.sig {
        None => format!("commit signature: {MISMATCH}"),
        Some(i) => {
            let principal = doc
                .as_ref()
                .and_then(|d| d.get("signatures")?.get(i))
                .filter(|v| v.get("type").and_then(Value::as_str) == Some("ssh"))
                .and_then(|v| v.get("principal")?.as_str())
                .map(str::to_string)
                .unwrap_or_else(|| "?".into());
            format!("signatures[{i}] (ssh, principal {principal}): {MISMATCH}")
        }
    };
    VerifyError {
        commit: Some(q.commit),
        path,
        record: stem,
        reason,
    }
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
fn check_commit_signature(
    repo: &Repository,
    id: Oid,
    signed: Option<(&[u8], &[u8])>,
    r: &Sigs<'_>,
    opts: &VerifyOptions<'_>,
    batch: &mut Batch<Queued>,
    rec: &dyn Fn(String) -> VerifyError,
) -> Result<Option<Role>, VerifyError> {
    match signed {
        Some((sig, content)) => {
            let what = |e: &str| rec(format!("commit signature: {e}"));
            let sig = std::str::from_utf8(sig)
                .map_err(|_| rec("the commit signature is not text".into()))?;
            let (checked, role) =
                check_role(opts, sig, COMMIT_NAMESPACE, None).map_err(|e| what(&e))?;
            if role == Role::Pusher && r.payload.kind != Kind::Push {
                return Err(what(&pusher_refused(checked.signer, r.payload.kind)));
            }
            let queued = Queued {
                commit: id,
                sig: None,
            };
            if !batch
                .push(&checked.sig, content, queued)
                .map_err(|q| describe(repo, q))?
            {
                checked
                    .verify(COMMIT_NAMESPACE, content)
                    .map_err(|e| what(&e))?;
            }
            Ok(Some(role))
        }
        None => {
            let has_ssh = match r.doc.get("signatures") {
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
