//! CODEOWNERS with GitHub's exact semantics: where the file is looked for, which
//! patterns GitHub supports, and which line decides a path's owners.

use std::fmt;

/// One owner as written in CODEOWNERS or a policy's `approvers` list.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Owner {
    /// `@login`
    User(String),
    /// `@org/team-slug`
    Team { org: String, slug: String },
    /// `someone@example.com`
    Email(String),
}

impl fmt::Display for Owner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Owner::User(login) => write!(f, "@{login}"),
            Owner::Team { org, slug } => write!(f, "@{org}/{slug}"),
            Owner::Email(e) => f.write_str(e),
        }
    }
}

/// A path's owners and the CODEOWNERS line that decided them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PathOwners {
    pub path: String,
    /// In file order; empty when unowned (no line matched, or the deciding line has no owners).
    pub owners: Vec<Owner>,
    /// 1-based line of the deciding CODEOWNERS line; `None` when no line matched.
    pub line: Option<usize>,
}
