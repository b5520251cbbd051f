//! git's pre-push protocol: the lines git writes on the hook's stdin, and the
//! `PRE_COMMIT_*` variables the pre-commit framework sets instead.
//!
//! Each line is `<local ref> SP <local object name> SP <remote ref> SP <remote object name>`.
//! A deletion has local ref `(delete)` and an all-zero local name; a new branch has an
//! all-zero remote name. Object names are SHA-1 (40 hex) or SHA-256 (64 hex).

use std::fmt;

/// One ref update in a push.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefUpdate {
    pub local_ref: String,
    pub local_sha: String,
    pub remote_ref: String,
    pub remote_sha: String,
}

impl RefUpdate {
    /// The push deletes `remote_ref`.
    pub fn is_delete(&self) -> bool {
        is_zero(&self.local_sha)
    }
    /// The push creates `remote_ref` (it did not exist on the remote).
    pub fn is_new(&self) -> bool {
        is_zero(&self.remote_sha)
    }
    /// The branch name for `refs/heads/<name>` remote refs; `None` for tags and others.
    pub fn remote_branch(&self) -> Option<&str> {
        self.remote_ref.strip_prefix("refs/heads/")
    }
}

/// A malformed stdin line, with its 1-based number.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProtocolError {
    pub line: usize,
    pub what: String,
}

impl fmt::Display for ProtocolError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "pre-push stdin line {}: {}", self.line, self.what)
    }
}

impl std::error::Error for ProtocolError {}

fn is_zero(sha: &str) -> bool {
    !sha.is_empty() && sha.bytes().all(|b| b == b'0')
}

fn is_object_name(s: &str) -> bool {
    matches!(s.len(), 40 | 64) && s.bytes().all(|b| b.is_ascii_hexdigit())
}

/// Parses git's pre-push stdin. Blank lines are skipped; anything else malformed is an
/// error, never silently ignored (an unread ref could be a protected one).
pub fn parse(stdin: &str) -> Result<Vec<RefUpdate>, ProtocolError> {
    let mut updates = Vec::new();
    for (i, raw) in stdin.lines().enumerate() {
        let line = raw.trim_end_matches('\r');
        if line.trim().is_empty() {
            continue;
        }
        let err = |what: String| ProtocolError { line: i + 1, what };
        let fields: Vec<&str> = line.split(' ').collect();
        let [local_ref, local_sha, remote_ref, remote_sha] = fields[..] else {
            return Err(err(format!(
                "expected `<local ref> <local sha> <remote ref> <remote sha>`, got {} fields",
                fields.len()
            )));
        };
        for (name, value) in [("local", local_sha), ("remote", remote_sha)] {
            if !is_object_name(value) {
                return Err(err(format!(
                    "{name} object name `{value}` is not 40 or 64 hex digits"
                )));
            }
        }
        if local_sha.len() != remote_sha.len() {
            return Err(err("object names of different lengths".into()));
        }
        if remote_ref.is_empty() || local_ref.is_empty() {
            return Err(err("empty ref name".into()));
        }
        updates.push(RefUpdate {
            local_ref: local_ref.to_string(),
            local_sha: local_sha.to_ascii_lowercase(),
            remote_ref: remote_ref.to_string(),
            remote_sha: remote_sha.to_ascii_lowercase(),
        });
    }
    Ok(updates)
}

/// The update the pre-commit framework describes in `PRE_COMMIT_*` variables, when git's
/// stdin lines are not passed through. `get` reads a variable (the environment, in use).
pub fn from_pre_commit(get: impl Fn(&str) -> Option<String>) -> Option<RefUpdate> {
    let local_sha = get("PRE_COMMIT_TO_REF")?;
    let remote_sha = get("PRE_COMMIT_FROM_REF")?;
    let remote_branch = get("PRE_COMMIT_REMOTE_BRANCH")?;
    let local_ref = get("PRE_COMMIT_LOCAL_BRANCH").unwrap_or_else(|| local_sha.clone());
    let zero = "0".repeat(local_sha.len());
    let remote_sha = if remote_sha.is_empty() {
        zero
    } else {
        remote_sha
    };
    let remote_ref = if remote_branch.starts_with("refs/") {
        remote_branch
    } else {
        format!("refs/heads/{remote_branch}")
    };
    if !is_object_name(&local_sha) || !is_object_name(&remote_sha) {
        return None;
    }
    Some(RefUpdate {
        local_ref,
        local_sha,
        remote_ref,
        remote_sha,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const A: &str = "1111111111111111111111111111111111111111";
    const B: &str = "2222222222222222222222222222222222222222";
    const Z: &str = "0000000000000000000000000000000000000000";

    #[test]
    fn several_refs_in_one_push() {
        let input = format!(
            "refs/heads/main {A} refs/heads/main {B}\nrefs/heads/topic {B} refs/heads/topic {Z}\n(delete) {Z} refs/heads/old {A}\n"
        );
        let u = parse(&input).unwrap();
        assert_eq!(u.len(), 3);
        assert_eq!(u[0].remote_branch(), Some("main"));
        assert!(!u[0].is_new() && !u[0].is_delete());
        assert!(u[1].is_new());
        assert!(u[2].is_delete());
        assert_eq!(u[2].local_ref, "(delete)");
    }

    #[test]
    fn sha256_object_names_are_accepted() {
        let a = "a".repeat(64);
        let z = "0".repeat(64);
        let u = parse(&format!("refs/heads/main {a} refs/heads/main {z}\r\n")).unwrap();
        assert_eq!(u[0].local_sha, a);
        assert!(u[0].is_new());
    }

    #[test]
    fn malformed_lines_are_errors_with_their_line_number() {
        let e = parse(&format!("\nrefs/heads/main {A} refs/heads/main\n")).unwrap_err();
        assert_eq!(e.line, 2);
        let e = parse(&format!("refs/heads/main {A} refs/heads/main xyz\n")).unwrap_err();
        assert!(e.what.contains("remote object name"), "{e}");
        let e = parse(&format!(
            "refs/heads/main {A} refs/heads/main {}\n",
            "0".repeat(64)
        ))
        .unwrap_err();
        assert!(e.what.contains("different lengths"), "{e}");
    }

    #[test]
    fn tags_are_not_branches() {
        let u = parse(&format!("refs/tags/v1 {A} refs/tags/v1 {Z}\n")).unwrap();
        assert_eq!(u[0].remote_branch(), None);
    }

    #[test]
    fn pre_commit_variables_describe_one_update() {
        let vars = |k: &str| match k {
            "PRE_COMMIT_TO_REF" => Some(A.to_string()),
            "PRE_COMMIT_FROM_REF" => Some(B.to_string()),
            "PRE_COMMIT_REMOTE_BRANCH" => Some("refs/heads/main".to_string()),
            "PRE_COMMIT_LOCAL_BRANCH" => Some("refs/heads/main".to_string()),
            _ => None,
        };
        let u = from_pre_commit(vars).unwrap();
        assert_eq!(u.remote_branch(), Some("main"));
        assert_eq!(u.local_sha, A);
        assert!(from_pre_commit(|_| None).is_none());
    }

    proptest! {
        #[test]
        fn parse_never_panics(s in "\\PC*") {
            let _ = parse(&s);
        }

        #[test]
        fn every_accepted_line_has_four_valid_fields(s in "[a-z/() 0-9\n]{0,200}") {
            if let Ok(updates) = parse(&s) {
                for u in updates {
                    prop_assert!(is_object_name(&u.local_sha) && is_object_name(&u.remote_sha));
                }
            }
        }
    }
}
