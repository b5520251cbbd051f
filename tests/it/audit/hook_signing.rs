//! The hook signs with the pusher's own git SSH signing key (`gpg.format=ssh`,
//! `user.signingkey`) through `ssh-keygen -Y sign`: a key file, or a `key::` literal
//! whose private half lives in an ssh-agent. The records and commits verify with
//! jitaa and with `git verify-commit`.

use std::process::Command;

use crate::support::records::{AUDIT, Fixture, draft};
use crate::support::{git, git_cmd, in_child, signers_line, ssh_keygen, stderr};
use jitaa::audit::{Signers, SshSigner, Store};

/// alice's git SSH key (ssh-keygen): (private key path, public key line).
fn user_key(f: &Fixture) -> (std::path::PathBuf, String) {
    ssh_keygen(
        &f.tmp.path().join("user"),
        "id_ed25519",
        "alice@example.com",
    )
}

/// An allowed_signers file trusting `public` as alice.
fn trust(f: &Fixture, public: &str) -> std::path::PathBuf {
    let path = f.tmp.path().join("trusted");
    std::fs::write(&path, signers_line("alice@example.com", public)).unwrap();
    path
}

fn verify_both(f: &Fixture, trusted: &std::path::Path) {
    let out = f.jitaa(&["verify", "--allowed-signers", trusted.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let out = git_cmd(&f.dir)
        .args(["-c", "gpg.format=ssh", "-c"])
        .arg(format!("gpg.ssh.allowedSignersFile={}", trusted.display()))
        .args(["verify-commit", AUDIT])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn a_key_file_in_user_signingkey_signs_records_and_commits() {
    let f = Fixture::new();
    let (key, public) = user_key(&f);
    git(&f.dir, &["config", "gpg.format", "ssh"]);
    git(
        &f.dir,
        &["config", "user.signingkey", key.to_str().unwrap()],
    );
    let repo = f.repo();
    let cfg = repo.config().unwrap();
    let signer = SshSigner::from_git_config(&cfg)
        .unwrap()
        .expect("git is set up to sign");
    assert_eq!(signer.principal(), "alice@example.com");
    let store = Store::new(&repo, AUDIT).unwrap();
    let signers = Signers::ssh(signer);
    store.append(&draft(0), &signers).unwrap();
    store.append(&draft(1), &signers).unwrap();
    verify_both(&f, &trust(&f, &public));
    // Someone else's allowed_signers does not trust alice.
    let out = f.verify(&[]);
    assert_eq!(out.status.code(), Some(4));
}

#[test]
fn without_ssh_signing_configured_there_is_no_git_signer() {
    let f = Fixture::new();
    git(&f.dir, &["config", "user.signingkey", "ABCDEF"]);
    let cfg = f.repo().config().unwrap();
    assert!(
        SshSigner::from_git_config(&cfg).unwrap().is_none(),
        "gpg keys are not SSH keys"
    );
}

#[test]
fn a_key_literal_signs_through_the_ssh_agent() {
    // The signer's ssh-keygen finds the agent through this process's SSH_AUTH_SOCK: set
    // in a child process of its own.
    if !in_child(module_path!(), "a_key_literal_signs_through_the_ssh_agent") {
        return;
    }
    let f = Fixture::new();
    let (key, public) = user_key(&f);
    let sock = f.tmp.path().join("agent.sock");
    let out = Command::new("ssh-agent")
        .arg("-s")
        .arg("-a")
        .arg(&sock)
        .output();
    let Ok(out) = out else {
        eprintln!("skipping: no ssh-agent");
        return;
    };
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    let pid: u32 = text
        .split("SSH_AGENT_PID=")
        .nth(1)
        .and_then(|s| s.split(';').next())
        .and_then(|s| s.parse().ok())
        .expect("agent pid");
    struct Kill(u32);
    impl Drop for Kill {
        fn drop(&mut self) {
            let _ = Command::new("kill").arg(self.0.to_string()).status();
        }
    }
    let _agent = Kill(pid);
    let added = Command::new("ssh-add")
        .env("SSH_AUTH_SOCK", &sock)
        .arg(&key)
        .output()
        .unwrap();
    assert!(
        added.status.success(),
        "{}",
        String::from_utf8_lossy(&added.stderr)
    );
    // The private key is gone: only the agent can sign.
    std::fs::remove_file(&key).unwrap();
    unsafe { std::env::set_var("SSH_AUTH_SOCK", &sock) };
    git(&f.dir, &["config", "gpg.format", "ssh"]);
    git(
        &f.dir,
        &["config", "user.signingkey", &format!("key::{public}")],
    );
    let repo = f.repo();
    let signer = SshSigner::from_git_config(&repo.config().unwrap())
        .unwrap()
        .unwrap();
    assert_eq!(signer.principal(), "alice@example.com");
    Store::new(&repo, AUDIT)
        .unwrap()
        .append(&draft(0), &Signers::ssh(signer))
        .unwrap();
    verify_both(&f, &trust(&f, &public));
}
