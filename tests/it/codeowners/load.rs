//! Reading CODEOWNERS from a commit through the protected-base loader (`jitaa::base`):
//! GitHub's location order, the 3 MB limit, and never the work tree.

use std::path::Path;

use git2::{Oid, Repository, Signature};
use jitaa::base::{GitFiles, rules};
use jitaa::codeowners::CodeOwners;
use jitaa::repo::Repo;
use tempfile::TempDir;

/// Commits `files` (path, content) as the only content of a new commit on HEAD.
fn commit(git: &Repository, files: &[(&str, &[u8])]) -> Oid {
    let workdir = git.workdir().unwrap().to_path_buf();
    let mut index = git.index().unwrap();
    index.clear().unwrap();
    for (path, content) in files {
        let p = workdir.join(path);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(&p, content).unwrap();
        index.add_path(Path::new(path)).unwrap();
    }
    let tree = git.find_tree(index.write_tree().unwrap()).unwrap();
    let sig = Signature::now("t", "t@example.com").unwrap();
    let parent = git.head().ok().and_then(|h| h.peel_to_commit().ok());
    let parents: Vec<&git2::Commit> = parent.iter().collect();
    git.commit(Some("HEAD"), &sig, &sig, "c", &tree, &parents)
        .unwrap()
}

fn load(repo: &Repo, at: Oid) -> Option<CodeOwners> {
    rules(&GitFiles::new(repo, at, "test"), None)
        .unwrap()
        .codeowners
}

fn owner_of(repo: &Repo, at: Oid, path: &str) -> Option<(String, Vec<String>)> {
    let co = load(repo, at)?;
    let owners = co
        .owners_of(path)
        .owners
        .iter()
        .map(std::string::ToString::to_string)
        .collect();
    Some((co.location().to_string(), owners))
}

#[test]
fn location_order_is_github_then_root_then_docs() {
    let dir = TempDir::new().unwrap();
    let git = Repository::init(dir.path()).unwrap();
    let all: [(&str, &[u8]); 3] = [
        (".github/CODEOWNERS", b"* @from-github-dir\n"),
        ("CODEOWNERS", b"* @from-root\n"),
        ("docs/CODEOWNERS", b"* @from-docs\n"),
    ];
    let c1 = commit(&git, &all);
    let c2 = commit(&git, &all[1..]);
    let c3 = commit(&git, &all[2..]);
    let c4 = commit(&git, &[("README", b"x")]);
    let repo = Repo::from_git(git);
    let want = |loc: &str, owner: &str| Some((loc.to_string(), vec![owner.to_string()]));
    assert_eq!(
        owner_of(&repo, c1, "a"),
        want(".github/CODEOWNERS", "@from-github-dir")
    );
    assert_eq!(owner_of(&repo, c2, "a"), want("CODEOWNERS", "@from-root"));
    assert_eq!(
        owner_of(&repo, c3, "a"),
        want("docs/CODEOWNERS", "@from-docs")
    );
    assert_eq!(owner_of(&repo, c4, "a"), None);
}

#[test]
fn files_of_3_mb_or_more_are_not_loaded_and_say_so() {
    let dir = TempDir::new().unwrap();
    let git = Repository::init(dir.path()).unwrap();
    let mut big = b"* @owner\n".to_vec();
    big.resize(3 * 1024 * 1024, b'#');
    let at = commit(&git, &[("CODEOWNERS", &big)]);
    let repo = Repo::from_git(git);
    let co = load(&repo, at).expect("present");
    assert!(co.owners_of("a").owners.is_empty());
    assert!(
        co.problems()[0].message.contains("3 MB"),
        "{:?}",
        co.problems()
    );
    // One byte less is loaded.
    let dir = TempDir::new().unwrap();
    let git = Repository::init(dir.path()).unwrap();
    big.truncate(3 * 1024 * 1024 - 1);
    let at = commit(&git, &[("CODEOWNERS", &big)]);
    let repo = Repo::from_git(git);
    let co = load(&repo, at).expect("present");
    assert_eq!(co.owners_of("a").owners.len(), 1);
}

#[test]
fn the_work_tree_is_never_read() {
    let dir = TempDir::new().unwrap();
    let git = Repository::init(dir.path()).unwrap();
    let at = commit(&git, &[("CODEOWNERS", b"* @committed\n")]);
    std::fs::write(dir.path().join("CODEOWNERS"), "* @mallory\n").unwrap();
    std::fs::create_dir_all(dir.path().join(".github")).unwrap();
    std::fs::write(dir.path().join(".github/CODEOWNERS"), "* @mallory\n").unwrap();
    let repo = Repo::from_git(git);
    assert_eq!(
        owner_of(&repo, at, "a"),
        Some(("CODEOWNERS".to_string(), vec!["@committed".to_string()]))
    );
}
