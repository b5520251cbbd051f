//! Reading a commit object's bytes once: its tree and parents from the header, and
//! its SSH/GPG signature (`gpgsig` header) with the bytes that signature covers.
//!
//! The bytes come from `Odb::read`, which checks the object's SHA-1 like every other
//! libgit2 read. The signature split follows git (`parse_signed_commit`): only a
//! `gpgsig ` header line and the continuation lines after it (each starting with one
//! space) are the signature; the signed payload is the whole object without them. For
//! every well-formed commit that is what `Repository::extract_signature` returns
//! (tests hold the two equal); it is stricter where libgit2 reads C strings (a NUL
//! byte would cut libgit2's payload short; here every byte stays covered) and where it
//! would take a `gpgsig` line from the message or ignore a second `gpgsig` header
//! (here the message is never a signature and a second one is refused).

use git2::Oid;

use super::ChainError;

/// What the header says about a commit's place in history.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header {
    pub tree: Oid,
    pub parents: Vec<Oid>,
}

/// `tree <hex>`, any `parent <hex>` lines, then `author` and `committer`, the order
/// libgit2's own commit parser requires.
pub fn header(raw: &[u8]) -> Result<Header, ChainError> {
    let mut lines = raw.split(|&b| b == b'\n');
    let id = |line: Option<&[u8]>, key: &'static str| -> Result<Option<Oid>, ChainError> {
        let Some(rest) = line.and_then(|l| l.strip_prefix(key.as_bytes())) else {
            return Ok(None);
        };
        let malformed = |source| ChainError::Header {
            key: key.trim_end(),
            source,
        };
        let hex = std::str::from_utf8(rest)
            .ok()
            .filter(|h| h.len() == 40 && h.bytes().all(|b| b.is_ascii_hexdigit()))
            .ok_or_else(|| malformed(None))?;
        Oid::from_str(hex).map(Some).map_err(|e| malformed(Some(e)))
    };
    let tree = id(lines.next(), "tree ")?.ok_or(ChainError::NoTree)?;
    let mut parents = Vec::new();
    let mut line = lines.next();
    while let Some(p) = id(line, "parent ")? {
        parents.push(p);
        line = lines.next();
    }
    if !line.is_some_and(|l| l.starts_with(b"author ")) {
        return Err(ChainError::NoAuthor);
    }
    if !lines.next().is_some_and(|l| l.starts_with(b"committer ")) {
        return Err(ChainError::NoCommitter);
    }
    Ok(Header { tree, parents })
}

/// Splits `raw` into the `gpgsig` signature (appended to `sig`, lines joined by `\n`
/// without a final one, as libgit2 returns it) and the signed bytes (appended to
/// `payload`). `Ok(false)`: the commit is not signed. Both buffers are cleared first.
pub fn split_signature(
    raw: &[u8],
    sig: &mut Vec<u8>,
    payload: &mut Vec<u8>,
) -> Result<bool, &'static str> {
    sig.clear();
    payload.clear();
    let mut found = false;
    let mut pos = 0;
    while pos < raw.len() {
        let end = line_end(raw, pos);
        let line = &raw[pos..end];
        if line == b"\n" {
            // The blank line ends the header: the rest is the message, signed as is.
            payload.extend_from_slice(&raw[pos..]);
            return Ok(found);
        }
        let Some(first) = line.strip_prefix(b"gpgsig ") else {
            payload.extend_from_slice(line);
            pos = end;
            continue;
        };
        if found {
            return Err("the commit has more than one gpgsig header");
        }
        found = true;
        sig.extend_from_slice(first.strip_suffix(b"\n").ok_or(MALFORMED)?);
        pos = end;
        while raw.get(pos) == Some(&b' ') {
            let end = line_end(raw, pos);
            let more = raw[pos + 1..end].strip_suffix(b"\n").ok_or(MALFORMED)?;
            sig.push(b'\n');
            sig.extend_from_slice(more);
            pos = end;
        }
    }
    Ok(found)
}

const MALFORMED: &str = "the commit's gpgsig header is malformed (no line end)";

/// The index just past the `\n` ending the line at `pos` (or the end of `raw`).
fn line_end(raw: &[u8], pos: usize) -> usize {
    raw[pos..]
        .iter()
        .position(|&b| b == b'\n')
        .map_or(raw.len(), |i| pos + i + 1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use git2::{ObjectType, Repository, Signature};

    fn repo() -> (tempfile::TempDir, Repository) {
        let tmp = tempfile::tempdir().unwrap();
        let repo = Repository::init_bare(tmp.path().join("r.git")).unwrap();
        (tmp, repo)
    }

    /// A signature and the bytes it covers.
    type Split = Option<(String, Vec<u8>)>;

    fn split(raw: &[u8]) -> Result<Split, &'static str> {
        let (mut sig, mut payload) = (Vec::new(), Vec::new());
        Ok(split_signature(raw, &mut sig, &mut payload)?
            .then(|| (String::from_utf8(sig).unwrap(), payload)))
    }

    /// What libgit2 says for commit `id`, next to what `split_signature` says.
    fn both(repo: &Repository, id: Oid) -> (Split, Split) {
        let theirs = repo
            .extract_signature(&id, None)
            .ok()
            .map(|(s, p)| (s.as_str().unwrap().to_string(), p.to_vec()));
        let odb = repo.odb().unwrap();
        let raw = odb.read(id).unwrap();
        (theirs, split(raw.data()).unwrap())
    }

    fn unsigned(repo: &Repository, parents: &[&git2::Commit<'_>], msg: &str) -> String {
        let who = Signature::new("a", "a@x", &git2::Time::new(1_700_000_000, 0)).unwrap();
        let tree = repo
            .find_tree(repo.treebuilder(None).unwrap().write().unwrap())
            .unwrap();
        let buf = repo
            .commit_create_buffer(&who, &who, msg, &tree, parents)
            .unwrap();
        buf.as_str().unwrap().to_string()
    }

    #[test]
    fn equals_libgit2_for_signed_and_unsigned_commits() {
        let (_t, repo) = repo();
        let text = unsigned(&repo, &[], "first\n\nbody line\n");
        let armored = "-----BEGIN SSH SIGNATURE-----\nU1NIU0lH\nAAAA\n-----END SSH SIGNATURE-----";
        let signed = repo.commit_signed(&text, armored, None).unwrap();
        let (theirs, ours) = both(&repo, signed);
        assert!(theirs.is_some());
        assert_eq!(theirs, ours);
        assert_eq!(
            ours.unwrap(),
            (armored.to_string(), text.clone().into_bytes())
        );

        let plain = repo
            .odb()
            .unwrap()
            .write(ObjectType::Commit, text.as_bytes())
            .unwrap();
        let (theirs, ours) = both(&repo, plain);
        assert_eq!((theirs, ours), (None, None));

        // A second, signed commit on top: parents are read from the header.
        let parent = repo.find_commit(signed).unwrap();
        let text2 = unsigned(&repo, &[&parent], "second\n");
        let child = repo.commit_signed(&text2, armored, None).unwrap();
        let (theirs, ours) = both(&repo, child);
        assert_eq!(theirs, ours);
        let odb = repo.odb().unwrap();
        let raw = odb.read(child).unwrap();
        let h = header(raw.data()).unwrap();
        let c = repo.find_commit(child).unwrap();
        assert_eq!(h.tree, c.tree_id());
        assert_eq!(h.parents, c.parent_ids().collect::<Vec<_>>());
    }

    #[test]
    fn a_header_after_gpgsig_stays_in_the_signed_bytes() {
        let (_t, repo) = repo();
        let text = unsigned(&repo, &[], "msg\n");
        let (head, body) = text.split_once("\n\n").unwrap();
        let raw = format!(
            "{head}\ngpgsig -----BEGIN SSH SIGNATURE-----\n abc\n -----END SSH SIGNATURE-----\nencoding UTF-8\n\n{body}"
        );
        let id = repo
            .odb()
            .unwrap()
            .write(ObjectType::Commit, raw.as_bytes())
            .unwrap();
        let (theirs, ours) = both(&repo, id);
        assert_eq!(theirs, ours);
        let (sig, payload) = ours.unwrap();
        assert_eq!(
            sig,
            "-----BEGIN SSH SIGNATURE-----\nabc\n-----END SSH SIGNATURE-----"
        );
        assert_eq!(
            String::from_utf8(payload).unwrap(),
            format!("{head}\nencoding UTF-8\n\n{body}")
        );
    }

    #[test]
    fn stricter_than_libgit2_where_it_reads_c_strings() {
        let (_t, repo) = repo();
        let text = unsigned(&repo, &[], "msg\n");
        let (head, body) = text.split_once("\n\n").unwrap();
        // A NUL in the message: every byte after it is still in the signed payload.
        let raw = format!("{head}\ngpgsig SIG\n\n{body}\0junk");
        let (sig, payload) = split(raw.as_bytes()).unwrap().unwrap();
        assert_eq!(sig, "SIG");
        assert!(payload.ends_with(b"\0junk"));
        // A `gpgsig` line in the message is not a signature.
        let raw = format!("{head}\n\ngpgsig SIG\n");
        assert_eq!(split(raw.as_bytes()).unwrap(), None);
        // Two signatures are refused.
        let raw = format!("{head}\ngpgsig A\ngpgsig B\n\n{body}");
        assert!(split(raw.as_bytes()).is_err());
        // A signature line without its line end is malformed.
        assert!(split(format!("{head}\ngpgsig A").as_bytes()).is_err());
        // `gpgsig-sha256` is another header, signed like any other.
        let raw = format!("{head}\ngpgsig-sha256 X\n\n{body}");
        assert_eq!(split(raw.as_bytes()).unwrap(), None);
    }

    #[test]
    fn header_refuses_what_libgit2_cannot_parse() {
        let t = "tree 4b825dc642cb6eb9a060e54bf8d69288fbee4904\n";
        let p = "parent 4b825dc642cb6eb9a060e54bf8d69288fbee4904\n";
        let ac = "author a <a@x> 1 +0000\ncommitter a <a@x> 1 +0000\n\nm\n";
        assert_eq!(
            header(format!("{t}{p}{p}{ac}").as_bytes())
                .unwrap()
                .parents
                .len(),
            2
        );
        assert!(header(format!("{p}{t}{ac}").as_bytes()).is_err());
        assert!(header(format!("tree 4b825dc6\n{ac}").as_bytes()).is_err());
        assert!(header(format!("{t}{p}").as_bytes()).is_err());
        assert!(header(format!("{t}committer a <a@x> 1 +0000\n").as_bytes()).is_err());
        assert!(header(b"").is_err());
    }
}
