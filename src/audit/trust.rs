//! Trusted keys and signature checks: the `allowed_signers` format of ssh-keygen(1)
//! (principals, `namespaces=`, wildcards), SSHSIG verification of records and commits,
//! and the seam through which GitHub OIDC signatures are verified.

use std::path::PathBuf;

use ssh_key::{Fingerprint, PublicKey, SshSig};

use crate::oidc::OidcError;

/// Why an allowed-signers file is unusable, or a signature is not trusted.
#[derive(Debug, thiserror::Error)]
pub enum TrustError {
    /// The file cannot be read.
    #[error("{}: cannot read allowed signers", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// A line has principals but no key (`origin` is `FILE:LINE`).
    #[error("{origin}: key: expected `TYPE BASE64` after the principals")]
    MissingKey { origin: String },
    /// A line's key does not parse.
    #[error("{origin}: key: not an SSH public key")]
    BadKey {
        origin: String,
        #[source]
        source: ssh_key::Error,
    },
    /// The armored signature does not parse.
    #[error("malformed SSH signature")]
    Malformed(#[source] ssh_key::Error),
    #[error("SSH signature namespace is `{found}`, expected `{expected}`")]
    Namespace { found: String, expected: String },
    #[error("signed by {0}, a key not in the trusted allowed signers")]
    UnknownKey(Fingerprint),
    #[error("the signing key is not trusted for namespace `{0}`")]
    NamespaceNotTrusted(String),
    #[error("principal `{0}` is not allowed for the signing key in the trusted allowed signers")]
    Principal(String),
    /// The signature arithmetic fails.
    #[error("{}", MISMATCH)]
    Mismatch,
}

/// One trusted key.
#[derive(Debug, Clone)]
pub struct Signer {
    /// Principal patterns (comma-separated in the file; `*` and `?` wildcards, `!` negates).
    pub principals: Vec<String>,
    /// `namespaces="a,b"`; `None` means every namespace.
    pub namespaces: Option<Vec<String>>,
    pub key: PublicKey,
    /// Where it came from, for messages: `FILE:LINE`.
    pub origin: String,
}

/// An allowed-signers file: the keys trusted for records and audit commits. It comes
/// from outside the audit branch (`--allowed-signers`, or the policy's file on the
/// default branch), never from the branch's own copy.
#[derive(Debug, Clone, Default)]
pub struct AllowedSigners {
    pub signers: Vec<Signer>,
    /// Lines that were skipped (unsupported options such as `cert-authority`) — they
    /// trust nothing, so a skipped line can only make verification stricter.
    pub skipped: Vec<String>,
}

impl AllowedSigners {
    /// Parses the file text; `source` names it in errors (`FILE:LINE: field`).
    pub fn parse(text: &str, source: &str) -> Result<AllowedSigners, TrustError> {
        let mut out = AllowedSigners::default();
        for (n, raw) in text.lines().enumerate() {
            let line = raw.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let origin = format!("{source}:{}", n + 1);
            let (principals, rest) = split_field(line);
            let rest = rest.trim_start();
            let mut namespaces = None;
            let mut unsupported = None;
            let key_text = if rest.starts_with("ssh-")
                || rest.starts_with("ecdsa-")
                || rest.starts_with("sk-")
            {
                rest
            } else {
                let (opts, key) = split_field(rest);
                for opt in split_options(opts) {
                    let (name, value) = opt.split_once('=').unwrap_or((opt, ""));
                    match name.to_ascii_lowercase().as_str() {
                        "namespaces" => {
                            let v = value.trim_matches('"');
                            namespaces = Some(v.split(',').map(|s| s.trim().to_string()).collect());
                        }
                        other => unsupported = Some(other.to_string()),
                    }
                }
                key.trim_start()
            };
            if let Some(opt) = unsupported {
                out.skipped.push(format!(
                    "{origin}: option `{opt}` is not supported; line ignored"
                ));
                continue;
            }
            let mut parts = key_text.split_whitespace();
            let key_str = match (parts.next(), parts.next()) {
                (Some(a), Some(b)) => format!("{a} {b}"),
                _ => return Err(TrustError::MissingKey { origin }),
            };
            let key = match PublicKey::from_openssh(&key_str) {
                Ok(key) => key,
                Err(source) => return Err(TrustError::BadKey { origin, source }),
            };
            out.signers.push(Signer {
                principals: principals.split(',').map(str::to_string).collect(),
                namespaces,
                key,
                origin,
            });
        }
        Ok(out)
    }

    /// Whether a line trusts `key` for `namespace` and `principal` (what [`check`]
    /// asks of a signature's key), before anything is signed.
    ///
    /// [`check`]: AllowedSigners::check
    pub fn trusts(&self, key: &PublicKey, namespace: &str, principal: &str) -> bool {
        self.signers.iter().any(|s| {
            s.key.key_data() == key.key_data()
                && s.namespaces
                    .as_ref()
                    .is_none_or(|ns| ns.iter().any(|n| glob(n, namespace)))
                && principal_matches(&s.principals, principal)
        })
    }

    /// Whether no key is trusted.
    pub fn is_empty(&self) -> bool {
        self.signers.is_empty()
    }

    /// Reads and parses a file.
    pub fn load(path: &std::path::Path) -> Result<AllowedSigners, TrustError> {
        let text = std::fs::read_to_string(path).map_err(|source| TrustError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        Self::parse(&text, &path.display().to_string())
    }

    /// Checks an armored SSHSIG over `data` in `namespace`. With a `principal`, a
    /// line must match it too (as `ssh-keygen -Y verify -I` does); without, any
    /// line with the key (as git's `find-principals` does). Returns the matching line.
    pub fn verify(
        &self,
        armored: &str,
        namespace: &str,
        data: &[u8],
        principal: Option<&str>,
    ) -> Result<&Signer, TrustError> {
        let checked = self.check(armored, namespace, principal)?;
        checked.verify(namespace, data)?;
        Ok(checked.signer)
    }

    /// Every check of [`AllowedSigners::verify`] except the signature arithmetic:
    /// the armor parses, the namespace is `namespace`, the key is trusted for it (and
    /// for `principal`). The caller must still verify the returned signature, at
    /// once ([`Checked::verify`]) or in a batch (`audit verify`).
    pub fn check(
        &self,
        armored: &str,
        namespace: &str,
        principal: Option<&str>,
    ) -> Result<Checked<'_>, TrustError> {
        let sig = parse_sshsig(armored.trim()).map_err(TrustError::Malformed)?;
        if sig.namespace() != namespace {
            return Err(TrustError::Namespace {
                found: sig.namespace().to_string(),
                expected: namespace.to_string(),
            });
        }
        let key_data = sig.public_key();
        let mut candidates = self
            .signers
            .iter()
            .filter(|s| s.key.key_data() == key_data)
            .peekable();
        if candidates.peek().is_none() {
            let fp = PublicKey::from(key_data.clone()).fingerprint(Default::default());
            return Err(TrustError::UnknownKey(fp));
        }
        let mut allowed = candidates
            .filter(|s| {
                s.namespaces
                    .as_ref()
                    .is_none_or(|ns| ns.iter().any(|n| glob(n, namespace)))
            })
            .peekable();
        let Some(first) = allowed.peek().copied() else {
            return Err(TrustError::NamespaceNotTrusted(namespace.to_string()));
        };
        let signer = match principal {
            None => first,
            Some(p) => allowed
                .find(|s| principal_matches(&s.principals, p))
                .ok_or_else(|| TrustError::Principal(p.to_string()))?,
        };
        Ok(Checked { signer, sig })
    }
}

/// An SSHSIG that passed every check but the signature arithmetic.
#[derive(Debug)]
pub struct Checked<'a> {
    /// The trusted line that allows the key, namespace and principal.
    pub signer: &'a Signer,
    pub sig: SshSig,
}

impl Checked<'_> {
    /// The signature arithmetic, one signature at a time.
    pub fn verify(&self, namespace: &str, data: &[u8]) -> Result<(), TrustError> {
        // ed25519 says nothing more than "no": the reason is the whole story.
        self.signer
            .key
            .verify(namespace, data, &self.sig)
            .map_err(|_| TrustError::Mismatch)
    }
}

/// Parses an armored SSHSIG exactly as `SshSig::from_pem` does, faster for the shape
/// ssh-keygen and jitaa write (LF line ends, base64 lines of 70 characters, the last
/// one shorter): `audit verify` parses two per record, and the constant-time base64
/// of the PEM reader was a tenth of its time. A signature is public, so nothing here
/// needs constant time. Any other shape, and anything the direct path cannot decode,
/// goes through `from_pem`, so its errors stay the same.
fn parse_sshsig(armored: &str) -> ssh_key::Result<SshSig> {
    parse_plain(armored).map_or_else(|| SshSig::from_pem(armored.as_bytes()), Ok)
}

/// The direct path of [`parse_sshsig`]: `None` unless the text has the usual shape and
/// decodes whole.
fn parse_plain(armored: &str) -> Option<SshSig> {
    use base64::Engine;
    use ssh_encoding::{Decode, Reader};
    const WIDTH: usize = 70;
    let body = armored
        .strip_prefix("-----BEGIN SSH SIGNATURE-----\n")?
        .strip_suffix("\n-----END SSH SIGNATURE-----")?;
    // An Ed25519 SSHSIG is about 300 characters; a larger one takes the general path.
    let mut text = [0u8; 1024];
    let mut len = 0;
    let mut lines = body.split('\n').peekable();
    while let Some(line) = lines.next() {
        let last = lines.peek().is_none();
        if line.is_empty() || line.len() > WIDTH || (!last && line.len() != WIDTH) {
            return None;
        }
        text.get_mut(len..len + line.len())?
            .copy_from_slice(line.as_bytes());
        len += line.len();
    }
    let mut bytes = [0u8; 768];
    let n = base64::engine::general_purpose::STANDARD
        .decode_slice(&text[..len], &mut bytes)
        .ok()?;
    let mut reader: &[u8] = &bytes[..n];
    let sig = SshSig::decode(&mut reader).ok()?;
    reader.is_finished().then_some(sig)
}

/// The reason given for a signature whose arithmetic fails.
pub const MISMATCH: &str = "SSH signature does not match the signed bytes";

/// The first whitespace-separated field, honouring double quotes.
fn split_field(s: &str) -> (&str, &str) {
    let mut quoted = false;
    for (i, c) in s.char_indices() {
        match c {
            '"' => quoted = !quoted,
            c if c.is_whitespace() && !quoted => return (&s[..i], &s[i..]),
            _ => {}
        }
    }
    (s, "")
}

/// Comma-separated options, honouring double quotes.
fn split_options(s: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let (mut quoted, mut start) = (false, 0);
    for (i, c) in s.char_indices() {
        match c {
            '"' => quoted = !quoted,
            ',' if !quoted => {
                out.push(&s[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    out.push(&s[start..]);
    out
}

/// ssh pattern-list semantics: a negated match refuses; else any positive match.
fn principal_matches(patterns: &[String], principal: &str) -> bool {
    let mut ok = false;
    for p in patterns {
        if let Some(neg) = p.strip_prefix('!') {
            if glob(neg, principal) {
                return false;
            }
        } else if glob(p, principal) {
            ok = true;
        }
    }
    ok
}

/// `*` and `?` wildcards.
fn glob(pattern: &str, s: &str) -> bool {
    // The common case (a plain namespace or principal) without allocating.
    if !pattern.contains(['*', '?']) {
        return pattern == s;
    }
    let (p, s): (Vec<char>, Vec<char>) = (pattern.chars().collect(), s.chars().collect());
    let (mut pi, mut si, mut star, mut mark) = (0, 0, None, 0);
    while si < s.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == s[si]) {
            pi += 1;
            si += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some(pi);
            mark = si;
            pi += 1;
        } else if let Some(st) = star {
            pi = st + 1;
            mark += 1;
            si = mark;
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|c| *c == '*')
}

/// Verifies `github-oidc` record signatures (the `oidc` module implements it; without
/// one, such signatures fail verification). Trust in a key comes from outside the
/// branch: [`OidcVerifier::trusted_key`] asks the source the caller trusts (`--jwks
/// FILE`, or the issuer's live JWKS); `audit verify` decides whether a key archived in
/// the branch's `jwks/` counts (DESIGN.md "Trust in keys comes from outside the branch").
pub trait OidcVerifier {
    /// The key id in the token's header (shape and header checked; no key needed).
    fn kid(&self, token: &str) -> Result<String, OidcError>;
    /// What the trusted source says about `kid`: `Ok(Some(key))`, `Ok(None)` when it
    /// has no such key, `Err(why)` when no trusted source could be read (then the
    /// message says how to give one). `audit verify` asks at most once per kid.
    fn trusted_key(&self, kid: &str) -> Result<Option<crate::oidc::Jwk>, OidcError>;
    /// The trusted source, for messages (`--jwks FILE`, `the issuer's JWKS (URL)`).
    fn source(&self) -> String;
    /// Verifies `token` with `key`: RS256, the configured issuer, `expected_audience`
    /// (`jitaa:` + digest) and an `iat` within the window of `record_time`. Returns the
    /// verified claims as a context.
    fn verify(
        &self,
        token: &str,
        key: &crate::oidc::Jwk,
        expected_audience: &str,
        record_time: chrono::DateTime<chrono::Utc>,
    ) -> Result<crate::oidc::Context, OidcError>;
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `ssh-keygen -Y sign -n jitaa-audit` over "hello\n" (OpenSSH 9.2).
    const KEYGEN_SIG: &str = "-----BEGIN SSH SIGNATURE-----
U1NIU0lHAAAAAQAAADMAAAALc3NoLWVkMjU1MTkAAAAg45a+bRGktTAVNvMkzcYcudpkKE
tQtb8bTAl5XqdjNIUAAAALaml0YWEtYXVkaXQAAAAAAAAABnNoYTUxMgAAAFMAAAALc3No
LWVkMjU1MTkAAABAbPgrHp5ERQ63zKvb1bMeN7NNyGRHCqOuldWifvrHZ0AyP4W8jSITJu
EII0KAU0owTV00WQz+j9E6WRX83OwKAA==
-----END SSH SIGNATURE-----";

    #[test]
    fn the_direct_parse_reads_what_ssh_keygen_writes() {
        let direct = parse_plain(KEYGEN_SIG).expect("the usual shape takes the direct path");
        assert_eq!(direct, SshSig::from_pem(KEYGEN_SIG).unwrap());
        assert_eq!(direct.namespace(), "jitaa-audit");
        // What it read is the signature ssh-keygen made: it verifies over the signed bytes.
        let key = PublicKey::from(direct.public_key().clone());
        key.verify("jitaa-audit", b"hello\n", &direct).unwrap();
        assert!(key.verify("jitaa-audit", b"hello", &direct).is_err());
        // CRLF line ends are valid PEM: the general path reads them.
        let crlf = KEYGEN_SIG.replace('\n', "\r\n");
        assert!(parse_plain(&crlf).is_none());
        assert_eq!(parse_sshsig(&crlf).unwrap(), direct);
    }

    proptest::proptest! {
        /// Whatever the direct path accepts, `from_pem` accepts as the same signature;
        /// what it does not take falls through to `from_pem`.
        #[test]
        fn the_direct_parse_agrees_with_from_pem(
            msg in proptest::collection::vec(proptest::num::u8::ANY, 0..64),
            ns in "[a-z-]{1,40}",
            at in 0usize..400,
            byte in proptest::num::u8::ANY,
            edit in 0u8..4,
        ) {
            let key = ssh_key::PrivateKey::random(&mut ssh_key::rand_core::OsRng, ssh_key::Algorithm::Ed25519).unwrap();
            let sig = key.sign(&ns, ssh_key::HashAlg::Sha512, &msg).unwrap();
            let pem = sig.to_pem(ssh_key::LineEnding::LF).unwrap();
            let pem = pem.trim();
            proptest::prop_assert_eq!(parse_plain(pem), Some(sig.clone()));
            let mut bytes = pem.as_bytes().to_vec();
            let at = at % bytes.len();
            match edit {
                0 => bytes[at] = byte,
                1 => { bytes.remove(at); }
                2 => bytes.insert(at, byte),
                _ => bytes.truncate(at),
            }
            if let Ok(text) = std::str::from_utf8(&bytes) {
                if let Some(direct) = parse_plain(text) {
                    proptest::prop_assert_eq!(Ok(direct), SshSig::from_pem(text));
                }
                proptest::prop_assert_eq!(parse_sshsig(text).ok(), SshSig::from_pem(text).ok());
            }
        }
    }

    #[test]
    fn wildcards_and_negation_follow_ssh_pattern_lists() {
        assert!(glob("*@acme", "jitaa@acme"));
        assert!(glob("j?taa", "jitaa"));
        assert!(!glob("*@acme", "jitaa@evil"));
        let pats = vec!["*@acme".to_string(), "!mallory@acme".to_string()];
        assert!(principal_matches(&pats, "bob@acme"));
        assert!(!principal_matches(&pats, "mallory@acme"));
    }

    #[test]
    fn parse_reports_file_and_line_and_skips_unsupported_options() {
        let key =
            "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIKAFQ2WFITKGkdMcaDOyoVy4c27cmIH7X+XMM2CBviAs";
        let text = format!(
            "# comment\njitaa@acme namespaces=\"jitaa-audit,git\" {key}\nca@acme cert-authority {key}\n* {key} trailing comment\n"
        );
        let a = AllowedSigners::parse(&text, "signers").unwrap();
        assert_eq!(a.signers.len(), 2);
        assert_eq!(a.signers[0].origin, "signers:2");
        assert_eq!(a.skipped.len(), 1);
        assert!(a.signers[1].namespaces.is_none());
        let err = AllowedSigners::parse("bob ssh-ed25519 AAAAnotbase64!", "f").unwrap_err();
        assert!(err.to_string().starts_with("f:1: key:"), "{err}");
    }
}
