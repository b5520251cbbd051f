//! `jitaa hook install`: writes the pre-push hook into the hooks directory git really
//! uses (`core.hooksPath` honoured). A foreign hook already there is never lost: it is
//! refused without `--force`, and with `--force` kept as `pre-push.local` and chained.
//! Hooks owned by a hook manager are never rewritten, with or without `--force`: husky
//! (v9 runs `.husky/<hook>` from its generated `.husky/_/<hook>` stubs and regenerates
//! them; a stub moved to `pre-push.local` would look for `.husky/pre-push.local` and the
//! user's hook would silently stop) and lefthook (whose `lefthook install` rewrites the
//! hook). For those jitaa prints the lines to add to the manager's own config instead.

use std::fs;
use std::path::{Path, PathBuf};

use crate::hook::HookError;
use crate::repo::git_cli;

/// Marks a hook written by jitaa, so re-installing updates it in place.
pub const MARKER: &str = "installed by `jitaa hook install`";

/// What `install` did.
#[derive(Debug, PartialEq, Eq)]
pub enum Installed {
    /// A new hook at this path.
    Fresh(PathBuf),
    /// jitaa's own earlier hook, rewritten.
    Updated(PathBuf),
    /// A foreign hook moved to `kept` and chained before jitaa.
    Chained { hook: PathBuf, kept: PathBuf },
}

/// The hooks directory git uses for the repository at `dir`.
pub fn hooks_dir(dir: &Path) -> Result<PathBuf, HookError> {
    let out = git_cli(dir)
        .args(["rev-parse", "--path-format=absolute", "--git-path", "hooks"])
        .output()
        .map_err(|source| HookError::GitCommand {
            command: "git",
            source,
        })?;
    if !out.status.success() {
        return Err(HookError::NotARepository {
            dir: dir.to_path_buf(),
            stderr: String::from_utf8_lossy(&out.stderr).trim().to_string(),
        });
    }
    let path = String::from_utf8_lossy(&out.stdout).trim().to_string();
    Ok(PathBuf::from(path))
}

/// The hook script: runs jitaa from the path it was installed with, else from PATH.
/// With `chain`, it first runs the kept hook with the same arguments and stdin.
pub fn script(jitaa: &Path, chain: Option<&Path>) -> String {
    let jitaa = shell_quote(&jitaa.display().to_string());
    let mut s = format!(
        "#!/bin/sh\n# jitaa pre-push hook, {MARKER}.\n\
# git passes the remote name and URL as arguments and the refs being pushed on stdin.\n\
JITAA={jitaa}\n[ -x \"$JITAA\" ] || JITAA=jitaa\n"
    );
    match chain {
        None => s.push_str("exec \"$JITAA\" hook pre-push \"$@\"\n"),
        Some(kept) => {
            let kept = shell_quote(&kept.display().to_string());
            s.push_str(&format!(
                "input=$(cat)\n\
printf '%s\\n' \"$input\" | {kept} \"$@\" || exit $?\n\
printf '%s\\n' \"$input\" | exec \"$JITAA\" hook pre-push \"$@\"\n"
            ));
        }
    }
    s
}

fn shell_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', "'\\''"))
}

/// A hook manager that owns the hooks directory or the pre-push hook.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Manager {
    Husky,
    Lefthook,
}

/// What to add to a hook manager's config instead of installing a hook.
pub const MANAGER_SNIPPETS: &str = "\
husky (v9): add this line at the end of .husky/pre-push (it gets git's arguments and stdin):
    jitaa hook pre-push \"$@\"
lefthook: add to lefthook.yml, then run `lefthook install`:
    pre-push:
      commands:
        jitaa:
          run: jitaa hook pre-push {1} {2}
          use_stdin: true";

/// Whether a hook manager owns `hooks` (the directory git runs hooks from) or the
/// pre-push hook already there (`existing`).
pub fn manager(hooks: &Path, existing: Option<&str>) -> Option<Manager> {
    let name = |p: &Path| p.file_name().map(|n| n.to_string_lossy().into_owned());
    let husky_v9 = name(hooks).as_deref() == Some("_")
        && (hooks.parent().and_then(name).as_deref() == Some(".husky")
            || hooks.join("h").is_file());
    // husky v4–v8: core.hooksPath is `.husky`, whose hooks source `_/husky.sh`.
    let husky_old = hooks.join("_").join("husky.sh").is_file();
    if husky_v9 || husky_old || existing.is_some_and(|t| t.contains("husky")) {
        return Some(Manager::Husky);
    }
    existing
        .is_some_and(|t| t.contains("lefthook"))
        .then_some(Manager::Lefthook)
}

/// Why jitaa does not write a hook that `manager` owns, and what to do instead.
pub fn managed_message(hook: &Path, manager: Manager, force: bool) -> String {
    let (who, why) = match manager {
        Manager::Husky => (
            "husky",
            "husky regenerates that folder and runs only .husky/<hook>, so a hook written \
there would be lost or would stop yours",
        ),
        Manager::Lefthook => (
            "lefthook",
            "`lefthook install` rewrites that hook, so jitaa's would be lost",
        ),
    };
    format!(
        "{} is managed by {who}; jitaa does not write it{}: {why}.\n\
Run jitaa from {who} instead:\n{MANAGER_SNIPPETS}",
        hook.display(),
        if force { ", even with --force" } else { "" },
    )
}

fn io(what: String) -> impl FnOnce(std::io::Error) -> HookError {
    move |source| HookError::Io { what, source }
}

/// Installs the hook for the repository at `dir`, running `jitaa` at `jitaa`.
pub fn install(dir: &Path, jitaa: &Path, force: bool) -> Result<Installed, HookError> {
    let hooks = hooks_dir(dir)?;
    let hook = hooks.join("pre-push");
    let existing = fs::read(&hook).ok();
    let text = existing.as_deref().map(String::from_utf8_lossy);
    let ours = text.as_deref().is_some_and(|t| t.contains(MARKER));
    if !ours && let Some(manager) = manager(&hooks, text.as_deref()) {
        return Err(HookError::Managed {
            hook,
            manager,
            force,
        });
    }
    fs::create_dir_all(&hooks).map_err(io(format!("creating {}", hooks.display())))?;
    let result = match existing {
        None => {
            write_executable(&hook, &script(jitaa, None))?;
            Installed::Fresh(hook)
        }
        Some(bytes) if String::from_utf8_lossy(&bytes).contains(MARKER) => {
            let text = String::from_utf8_lossy(&bytes);
            let kept = hooks.join("pre-push.local");
            let chain = (text.contains("pre-push.local") && kept.exists()).then_some(kept);
            write_executable(&hook, &script(jitaa, chain.as_deref()))?;
            Installed::Updated(hook)
        }
        Some(_) if !force => return Err(HookError::ForeignHook(hook)),
        Some(_) => {
            let kept = hooks.join("pre-push.local");
            if kept.exists() {
                return Err(HookError::KeptExists(kept));
            }
            fs::rename(&hook, &kept).map_err(io(format!("moving {} aside", hook.display())))?;
            write_executable(&hook, &script(jitaa, Some(&kept)))?;
            Installed::Chained { hook, kept }
        }
    };
    Ok(result)
}

fn write_executable(path: &Path, text: &str) -> Result<(), HookError> {
    fs::write(path, text).map_err(io(format!("writing {}", path.display())))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        fs::set_permissions(path, fs::Permissions::from_mode(0o755))
            .map_err(io(format!("chmod {}", path.display())))?;
    }
    // Windows has no executable bit: Git for Windows runs every hook through its own sh,
    // which reads the `#!/bin/sh` line, so the written file is all it needs.
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::exit::Failure;

    #[test]
    fn husky_v9_stubs_are_never_moved_and_the_snippets_are_printed() {
        let dir = repo();
        git_cli(dir.path())
            .args(["config", "core.hooksPath", ".husky/_"])
            .status()
            .unwrap();
        let underscore = dir.path().join(".husky/_");
        fs::create_dir_all(&underscore).unwrap();
        let stub = "#!/usr/bin/env sh\n. \"$(dirname \"$0\")/h\"\n";
        fs::write(underscore.join("h"), "#!/usr/bin/env sh\n").unwrap();
        fs::write(underscore.join("pre-push"), stub).unwrap();
        for force in [false, true] {
            let err =
                Failure::from(install(dir.path(), Path::new("/usr/bin/jitaa"), force).unwrap_err());
            assert_eq!(err.code, crate::exit::Code::Usage);
            assert!(err.message.contains("husky"), "{}", err.message);
            assert!(err.message.contains(".husky/pre-push"), "{}", err.message);
            assert!(err.message.contains("use_stdin: true"), "{}", err.message);
        }
        assert_eq!(
            fs::read_to_string(underscore.join("pre-push")).unwrap(),
            stub
        );
        assert!(!underscore.join("pre-push.local").exists());
    }

    #[test]
    fn a_lefthook_hook_is_not_taken_over_even_with_force() {
        let dir = repo();
        let hooks = hooks_dir(dir.path()).unwrap();
        fs::create_dir_all(&hooks).unwrap();
        let theirs = "#!/bin/sh\nlefthook run \"pre-push\" \"$@\"\n";
        fs::write(hooks.join("pre-push"), theirs).unwrap();
        let err =
            Failure::from(install(dir.path(), Path::new("/usr/bin/jitaa"), true).unwrap_err());
        assert!(err.message.contains("lefthook"), "{}", err.message);
        assert!(err.message.contains("run: jitaa hook pre-push {1} {2}"));
        assert_eq!(fs::read_to_string(hooks.join("pre-push")).unwrap(), theirs);
        assert!(!hooks.join("pre-push.local").exists());
    }

    fn repo() -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        let ok = git_cli(dir.path())
            .args(["init", "-q"])
            .env("GIT_CONFIG_GLOBAL", "/dev/null")
            .status()
            .unwrap()
            .success();
        assert!(ok);
        dir
    }

    #[test]
    fn installs_into_core_hooks_path_when_set() {
        let dir = repo();
        git_cli(dir.path())
            .args(["config", "core.hooksPath", "githooks"])
            .status()
            .unwrap();
        let r = install(dir.path(), Path::new("/usr/bin/jitaa"), false).unwrap();
        let want = dir.path().join("githooks/pre-push");
        assert_eq!(r, Installed::Fresh(want.canonicalize().unwrap()));
        assert!(!dir.path().join(".git/hooks/pre-push").exists());
    }

    #[test]
    fn a_foreign_hook_is_refused_then_chained_and_never_lost() {
        let dir = repo();
        let hooks = hooks_dir(dir.path()).unwrap();
        fs::create_dir_all(&hooks).unwrap();
        fs::write(hooks.join("pre-push"), "#!/bin/sh\necho mine\n").unwrap();
        let err =
            Failure::from(install(dir.path(), Path::new("/usr/bin/jitaa"), false).unwrap_err());
        assert_eq!(err.code, crate::exit::Code::Usage);
        assert!(err.message.contains("--force"));
        assert_eq!(
            fs::read_to_string(hooks.join("pre-push")).unwrap(),
            "#!/bin/sh\necho mine\n"
        );

        let r = install(dir.path(), Path::new("/usr/bin/jitaa"), true).unwrap();
        assert!(matches!(r, Installed::Chained { .. }));
        assert_eq!(
            fs::read_to_string(hooks.join("pre-push.local")).unwrap(),
            "#!/bin/sh\necho mine\n"
        );
        let hook = fs::read_to_string(hooks.join("pre-push")).unwrap();
        assert!(hook.contains("pre-push.local") && hook.contains(MARKER));

        // Re-installing keeps the chain.
        let r = install(dir.path(), Path::new("/usr/bin/jitaa"), false).unwrap();
        assert!(matches!(r, Installed::Updated(_)));
        assert!(
            fs::read_to_string(hooks.join("pre-push"))
                .unwrap()
                .contains("pre-push.local")
        );
    }
}
