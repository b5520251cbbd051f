//! SSH signing keys: generating one (`jitaa keygen`) and loading `JITAA_SIGNING_KEY`
//! (OpenSSH Ed25519 private key text, or a path to one). Key material never reaches
//! logs: errors name the source, not the content.

use std::fs;
use std::path::{Path, PathBuf};

use ssh_key::{Algorithm, LineEnding, PrivateKey};

use crate::exit::Failure;

/// The principal used when a key has no comment.
pub const DEFAULT_PRINCIPAL: &str = "jitaa";

/// A loaded Ed25519 signing key and the principal it signs as (its comment).
pub struct SigningKey {
    pub key: PrivateKey,
    pub principal: String,
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SigningKey")
            .field("principal", &self.principal)
            .field(
                "public",
                &self.key.public_key().to_openssh().unwrap_or_default(),
            )
            .finish()
    }
}

impl SigningKey {
    /// Parses OpenSSH private key text. Only unencrypted Ed25519 keys are accepted.
    pub fn from_openssh(text: &str, source: &str) -> Result<SigningKey, Failure> {
        let key = PrivateKey::from_openssh(text.trim().as_bytes())
            .map_err(|e| Failure::usage(format!("{source}: not an OpenSSH private key ({e})")))?;
        if key.algorithm() != Algorithm::Ed25519 {
            return Err(Failure::usage(format!(
                "{source}: the key is {}, jitaa signs with Ed25519 keys (make one with `jitaa keygen`)",
                key.algorithm()
            )));
        }
        if key.is_encrypted() {
            return Err(Failure::usage(format!(
                "{source}: the key is passphrase-protected; give jitaa an unencrypted key"
            )));
        }
        let principal = match key.comment().trim() {
            "" => DEFAULT_PRINCIPAL.to_string(),
            c => c.to_string(),
        };
        Ok(SigningKey { key, principal })
    }

    /// `JITAA_SIGNING_KEY`: key text, or a path to a key file. `Ok(None)` when unset.
    pub fn from_env() -> Result<Option<SigningKey>, Failure> {
        let Ok(value) = std::env::var("JITAA_SIGNING_KEY") else {
            return Ok(None);
        };
        if value.trim().is_empty() {
            return Ok(None);
        }
        if value.contains("-----BEGIN") {
            // A repository secret is masked by the runner; mask it anyway in case it
            // came from elsewhere (an earlier step's output, a file read into env).
            crate::actions::mask(&value);
            return Self::from_openssh(&value, "JITAA_SIGNING_KEY").map(Some);
        }
        let path = Path::new(value.trim());
        let text = fs::read_to_string(path).map_err(|e| {
            Failure::usage(format!(
                "JITAA_SIGNING_KEY: cannot read key file {}: {e}",
                path.display()
            ))
        })?;
        crate::actions::mask(&text);
        Self::from_openssh(&text, &path.display().to_string()).map(Some)
    }

    /// The `allowed_signers` line that trusts this key for audit records and commits.
    pub fn allowed_signers_line(&self) -> String {
        allowed_signers_line(&self.principal, &self.key)
    }

    /// The public key in OpenSSH form, without comment.
    pub fn public_openssh(&self) -> String {
        let mut public = self.key.public_key().clone();
        public.set_comment("");
        public.to_openssh().unwrap_or_default()
    }
}

fn allowed_signers_line(principal: &str, key: &PrivateKey) -> String {
    let mut public = key.public_key().clone();
    public.set_comment("");
    format!(
        "{principal} namespaces=\"jitaa-audit,git\" {}",
        public.to_openssh().unwrap_or_default()
    )
}

/// What `jitaa keygen` wrote.
#[derive(Debug)]
pub struct Generated {
    pub private_path: PathBuf,
    pub public_path: PathBuf,
    pub allowed_signers_path: PathBuf,
    pub allowed_signers_line: String,
}

/// Writes `jitaa_ed25519`, `jitaa_ed25519.pub` and `allowed_signers` into `dir`.
/// Refuses to overwrite an existing private key.
pub fn generate(dir: &Path, principal: &str) -> Result<Generated, Failure> {
    let mut key = PrivateKey::random(&mut rand_core_compat::OsRng, Algorithm::Ed25519)
        .map_err(|e| Failure::unreachable(format!("generating an Ed25519 key: {e}")))?;
    key.set_comment(principal);
    fs::create_dir_all(dir).map_err(|e| Failure::usage(format!("--out {}: {e}", dir.display())))?;
    let private_path = dir.join("jitaa_ed25519");
    let public_path = dir.join("jitaa_ed25519.pub");
    let allowed_signers_path = dir.join("allowed_signers");
    if private_path.exists() {
        return Err(Failure::usage(format!(
            "{} already exists; choose another --out DIR",
            private_path.display()
        )));
    }
    let private = key
        .to_openssh(LineEnding::LF)
        .map_err(|e| Failure::unreachable(format!("encoding the key: {e}")))?;
    write_private(&private_path, private.as_bytes())?;
    let public = key
        .public_key()
        .to_openssh()
        .map_err(|e| Failure::unreachable(format!("encoding the public key: {e}")))?;
    write(&public_path, format!("{public}\n").as_bytes())?;
    let line = allowed_signers_line(principal, &key);
    write(&allowed_signers_path, format!("{line}\n").as_bytes())?;
    Ok(Generated {
        private_path,
        public_path,
        allowed_signers_path,
        allowed_signers_line: line,
    })
}

fn write(path: &Path, bytes: &[u8]) -> Result<(), Failure> {
    fs::write(path, bytes).map_err(|e| Failure::usage(format!("writing {}: {e}", path.display())))
}

fn write_private(path: &Path, bytes: &[u8]) -> Result<(), Failure> {
    use std::io::Write;
    let mut opts = fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    // Windows: no mode bits; the new file inherits its folder's ACL (a user profile folder
    // is private to its user). Keep the key there, or set the ACL with icacls.
    let mut f = opts
        .open(path)
        .map_err(|e| Failure::usage(format!("writing {}: {e}", path.display())))?;
    f.write_all(bytes)
        .map_err(|e| Failure::usage(format!("writing {}: {e}", path.display())))
}

/// ssh-key 0.6 takes a rand_core 0.6 RNG; this is its OS RNG.
mod rand_core_compat {
    pub(super) use ssh_key::rand_core::OsRng;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_key_loads_back_with_its_principal() {
        let dir = tempfile::tempdir().unwrap();
        let g = generate(dir.path(), "jitaa@acme").unwrap();
        let text = fs::read_to_string(&g.private_path).unwrap();
        let key = SigningKey::from_openssh(&text, "test").unwrap();
        assert_eq!(key.principal, "jitaa@acme");
        assert_eq!(key.allowed_signers_line(), g.allowed_signers_line);
        assert!(
            g.allowed_signers_line
                .starts_with("jitaa@acme namespaces=\"jitaa-audit,git\" ssh-ed25519 ")
        );
        assert!(
            generate(dir.path(), "again").is_err(),
            "never overwrites a key"
        );
    }

    #[test]
    fn garbage_key_text_is_a_usage_error_that_does_not_echo_the_input() {
        let err = SigningKey::from_openssh(
            "-----BEGIN OPENSSH PRIVATE KEY-----\nsecretstuff\n",
            "JITAA_SIGNING_KEY",
        )
        .unwrap_err();
        assert_eq!(err.code, crate::exit::Code::Usage);
        assert!(!err.message.contains("secretstuff"));
    }
}
