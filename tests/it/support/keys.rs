//! Keys: a certifier key made with `jitaa keygen`'s code (an `allowed_signers` file next
//! to it), and a developer's SSH key made with ssh-keygen.

use std::path::{Path, PathBuf};
use std::process::Command;

use jitaa::audit::{Signers, SshSigner};
use jitaa::keys::SigningKey;

use super::process::text;

/// A key `jitaa::keys::generate` wrote: `jitaa_ed25519` and `allowed_signers` in a folder.
pub struct Key {
    pub signing: SigningKey,
    /// The `allowed_signers` file that trusts it (one line).
    pub allowed: PathBuf,
    pub private: PathBuf,
}

impl Key {
    /// A new Ed25519 key for `principal` in `dir`.
    pub fn generate(dir: &Path, principal: &str) -> Key {
        let g = jitaa::keys::generate(dir, principal).expect("keygen");
        Key {
            signing: load(&g.private_path),
            allowed: g.allowed_signers_path,
            private: g.private_path,
        }
    }

    /// Signers that sign records and commits with this key.
    pub fn signers(&self) -> Signers {
        signers_of(&self.private)
    }
}

/// The OpenSSH private key at `path`.
pub fn load(path: &Path) -> SigningKey {
    SigningKey::from_openssh(&std::fs::read_to_string(path).unwrap(), "test").unwrap()
}

/// Signers for the OpenSSH private key at `path`.
pub fn signers_of(path: &Path) -> Signers {
    Signers::ssh(SshSigner::Key(load(path)))
}

/// An SSH key made with ssh-keygen in `dir`: (private key path, public key line).
pub fn ssh_keygen(dir: &Path, name: &str, comment: &str) -> (PathBuf, String) {
    std::fs::create_dir_all(dir).unwrap();
    let key = dir.join(name);
    let out = Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-C", comment, "-f"])
        .arg(&key)
        .output()
        .expect("ssh-keygen runs");
    assert!(out.status.success(), "{}", text(&out));
    let public = std::fs::read_to_string(dir.join(format!("{name}.pub"))).unwrap();
    (key, public.trim().to_string())
}

/// The `allowed_signers` line trusting the public key line `public` as `principal`.
pub fn signers_line(principal: &str, public: &str) -> String {
    let mut parts = public.split_whitespace();
    let (t, k) = (parts.next().unwrap(), parts.next().unwrap());
    format!("{principal} namespaces=\"jitaa-audit,git\" {t} {k}\n")
}
