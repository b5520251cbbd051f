//! Signing records and audit commits: SSHSIG with an Ed25519 key in memory
//! (`JITAA_SIGNING_KEY`), or through `ssh-keygen -Y sign` with the user's git signing
//! key (agents and hardware keys work); and the GitHub OIDC seam, a token whose
//! audience is `jitaa:` + the record's digest.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use ssh_key::{HashAlg, LineEnding, PublicKey};

use super::AuditError;
use super::record::Signature;
use crate::keys::{DEFAULT_PRINCIPAL, SigningKey};

/// The SSHSIG namespace of record signatures.
pub const RECORD_NAMESPACE: &str = "jitaa-audit";
/// The SSHSIG namespace of commit signatures (what `git verify-commit` expects).
pub const COMMIT_NAMESPACE: &str = "git";

/// Fetches a GitHub Actions OIDC token for an audience. The `oidc` module implements
/// it; the audit store asks for audience `jitaa:` + digest.
pub trait OidcSigner {
    fn token_for(&self, audience: &str) -> Result<String, crate::oidc::OidcError>;
}

/// An SSH signer.
pub enum SshSigner {
    /// A key held in memory (`JITAA_SIGNING_KEY`).
    Key(SigningKey),
    /// `ssh-keygen -Y sign -f KEY` (the user's `user.signingkey`): `key` is a private
    /// key path, or a public key file whose private half is in the agent (`agent`).
    Cli {
        key: PathBuf,
        agent: bool,
        public: PublicKey,
        principal: String,
        /// Keeps a temporary public key file (a `key::` literal) alive.
        _temp: Option<std::sync::Arc<tempfile::TempPath>>,
    },
}

impl std::fmt::Debug for SshSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "SshSigner({} {})",
            self.principal(),
            self.public_openssh()
        )
    }
}

impl SshSigner {
    pub fn principal(&self) -> &str {
        match self {
            SshSigner::Key(k) => &k.principal,
            SshSigner::Cli { principal, .. } => principal,
        }
    }

    pub fn public_key(&self) -> PublicKey {
        match self {
            SshSigner::Key(k) => k.key.public_key().clone(),
            SshSigner::Cli { public, .. } => public.clone(),
        }
    }

    /// The public key in OpenSSH form without its comment.
    pub fn public_openssh(&self) -> String {
        let mut p = self.public_key();
        p.set_comment("");
        p.to_openssh().unwrap_or_default()
    }

    /// The informational `allowed_signers` line for this key.
    pub fn allowed_signers_line(&self) -> String {
        format!(
            "{} namespaces=\"{RECORD_NAMESPACE},{COMMIT_NAMESPACE}\" {}",
            self.principal(),
            self.public_openssh()
        )
    }

    /// An armored SSHSIG over `data` in `namespace`.
    pub fn sign(&self, namespace: &str, data: &[u8]) -> Result<String, AuditError> {
        match self {
            SshSigner::Key(k) => k
                .key
                .sign(namespace, HashAlg::Sha512, data)
                .and_then(|s| s.to_pem(LineEnding::LF))
                .map_err(AuditError::SshSign),
            SshSigner::Cli { key, agent, .. } => ssh_keygen_sign(key, *agent, namespace, data),
        }
    }

    /// The signer git would use: `gpg.format=ssh` and `user.signingkey` (a key file
    /// path, or a `key::` literal public key whose private half is in the agent).
    /// `Ok(None)` when git is not set up to sign with SSH.
    pub fn from_git_config(config: &git2::Config) -> Result<Option<SshSigner>, AuditError> {
        let format = config.get_string("gpg.format").unwrap_or_default();
        if format != "ssh" {
            return Ok(None);
        }
        let Ok(value) = config.get_string("user.signingkey") else {
            return Ok(None);
        };
        let value = value.trim().to_string();
        if value.is_empty() {
            return Ok(None);
        }
        let literal = value
            .strip_prefix("key::")
            .map(str::to_string)
            .or_else(|| value.starts_with("ssh-").then(|| value.clone()));
        if let Some(text) = literal {
            let public =
                PublicKey::from_openssh(&text).map_err(|source| AuditError::SigningKey {
                    origin: "git config user.signingkey".into(),
                    source,
                })?;
            let temp = |source| AuditError::SignIo {
                what: "temporary key file",
                source,
            };
            let mut file = tempfile::NamedTempFile::new().map_err(temp)?;
            writeln!(file, "{text}").map_err(temp)?;
            let path = file.into_temp_path();
            return Ok(Some(SshSigner::Cli {
                key: path.to_path_buf(),
                agent: true,
                principal: principal_of(&public),
                public,
                _temp: Some(std::sync::Arc::new(path)),
            }));
        }
        let key = expand_home(&value);
        let pub_path = if key.extension().is_some_and(|e| e == "pub") {
            key.clone()
        } else {
            let mut p = key.clone().into_os_string();
            p.push(".pub");
            PathBuf::from(p)
        };
        let text =
            std::fs::read_to_string(&pub_path).map_err(|source| AuditError::SigningKeyFile {
                path: pub_path.clone(),
                source,
            })?;
        let public =
            PublicKey::from_openssh(text.trim()).map_err(|source| AuditError::SigningKey {
                origin: pub_path.display().to_string(),
                source,
            })?;
        Ok(Some(SshSigner::Cli {
            agent: key == pub_path,
            key,
            principal: principal_of(&public),
            public,
            _temp: None,
        }))
    }
}

fn principal_of(public: &PublicKey) -> String {
    match public.comment().trim() {
        "" => DEFAULT_PRINCIPAL.to_string(),
        c => c.to_string(),
    }
}

fn expand_home(p: &str) -> PathBuf {
    match (p.strip_prefix("~/"), std::env::var_os("HOME")) {
        (Some(rest), Some(home)) => Path::new(&home).join(rest),
        _ => PathBuf::from(p),
    }
}

/// `ssh-keygen -Y sign -n NAMESPACE -f KEY [-U]` with `data` on stdin.
fn ssh_keygen_sign(
    key: &Path,
    agent: bool,
    namespace: &str,
    data: &[u8],
) -> Result<String, AuditError> {
    let mut cmd = Command::new("ssh-keygen");
    cmd.args(["-q", "-Y", "sign", "-n", namespace, "-f"])
        .arg(key);
    if agent {
        cmd.arg("-U");
    }
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|source| AuditError::SignIo {
            what: "running ssh-keygen",
            source,
        })?;
    if let Some(mut stdin) = child.stdin.take() {
        stdin.write_all(data).map_err(|source| AuditError::SignIo {
            what: "writing to ssh-keygen",
            source,
        })?;
    }
    let out = child
        .wait_with_output()
        .map_err(|source| AuditError::SignIo {
            what: "running ssh-keygen",
            source,
        })?;
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    if !out.status.success() || !text.contains("BEGIN SSH SIGNATURE") {
        return Err(AuditError::SshKeygen {
            key: key.to_path_buf(),
            stderr: String::from_utf8_lossy(&out.stderr).trim().to_string(),
        });
    }
    Ok(text)
}

/// Everything a record is signed with. At least one signer is required.
#[derive(Default)]
pub struct Signers {
    pub ssh: Option<SshSigner>,
    pub oidc: Option<Box<dyn OidcSigner>>,
}

impl Signers {
    pub fn ssh(signer: SshSigner) -> Signers {
        Signers {
            ssh: Some(signer),
            oidc: None,
        }
    }

    /// Signs a payload's JCS bytes (and its digest, for the OIDC audience).
    pub fn sign_record(&self, jcs: &[u8], digest: &str) -> Result<Vec<Signature>, AuditError> {
        let mut out = Vec::new();
        if let Some(ssh) = &self.ssh {
            out.push(Signature::Ssh {
                principal: ssh.principal().to_string(),
                sig: ssh.sign(RECORD_NAMESPACE, jcs)?,
            });
        }
        if let Some(oidc) = &self.oidc {
            let token = oidc
                .token_for(&format!("jitaa:{digest}"))
                .map_err(AuditError::OidcToken)?;
            out.push(Signature::GithubOidc { token });
        }
        if out.is_empty() {
            return Err(AuditError::NoSigner);
        }
        Ok(out)
    }

    /// The commit signature (SSHSIG, namespace `git`) over a commit buffer, when an
    /// SSH signer is present.
    pub fn sign_commit(&self, buffer: &str) -> Result<Option<String>, AuditError> {
        match &self.ssh {
            Some(ssh) => ssh.sign(COMMIT_NAMESPACE, buffer.as_bytes()).map(Some),
            None => Ok(None),
        }
    }

    /// The informational `allowed_signers` line, if an SSH signer is present.
    pub fn allowed_signers_line(&self) -> Option<String> {
        self.ssh.as_ref().map(SshSigner::allowed_signers_line)
    }
}
