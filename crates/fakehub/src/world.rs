//! How the world changes: adding users, repositories, pull requests, issues, comments,
//! edits and reviews. Shared by the test API, the admin API and the REST routes.

use crate::state::{self, Comment, Issue, PrSpec, Review, User, now};

impl state::State {
    pub fn add_user(&mut self, login: &str, id: u64, kind: &str) -> String {
        let token = format!("fakehub_{login}_{id}");
        self.users.insert(
            login.into(),
            User {
                login: login.into(),
                id,
                kind: kind.into(),
            },
        );
        self.tokens.insert(token.clone(), login.into());
        token
    }

    pub fn add_repo(&mut self, full_name: &str) {
        let (owner, name) = full_name.split_once('/').unwrap_or((full_name, full_name));
        let id = self.id();
        self.repos
            .entry(full_name.into())
            .or_insert_with(|| state::Repo {
                owner: owner.into(),
                name: name.into(),
                id,
                default_branch: "main".into(),
                ..state::Repo::default()
            });
    }

    pub fn add_pr(&mut self, repo: &str, spec: PrSpec) -> Option<u64> {
        let id = self.id();
        let pr = state::Pr {
            id,
            head_sha: spec.head_sha,
            head_ref: spec.head_ref,
            base_sha: spec.base_sha,
            base_ref: spec.base_ref,
            files: spec.files,
            reviews: Vec::new(),
            merged: None,
        };
        let title = if spec.title.is_empty() {
            "A change".to_string()
        } else {
            spec.title
        };
        self.open_issue(
            repo,
            &spec.author,
            &title,
            "",
            Vec::new(),
            Some((spec.number, pr)),
        )
    }

    pub fn add_review(
        &mut self,
        repo: &str,
        pr: u64,
        login: &str,
        state_: &str,
        commit_id: Option<&str>,
    ) -> Option<Review> {
        let id = self.id();
        let p = self.repos.get_mut(repo)?.issues.get_mut(&pr)?.pr.as_mut()?;
        let r = Review {
            id,
            user: login.into(),
            state: state_.into(),
            commit_id: commit_id
                .map(String::from)
                .unwrap_or_else(|| p.head_sha.clone()),
            body: String::new(),
            submitted_at: state::now(),
        };
        p.reviews.push(r.clone());
        Some(r)
    }
}

impl state::State {
    /// Opens an issue (or a PR's issue when `pr` is set); None when the repo is unknown.
    pub fn open_issue(
        &mut self,
        repo: &str,
        user: &str,
        title: &str,
        body: &str,
        labels: Vec<String>,
        pr: Option<(Option<u64>, state::Pr)>,
    ) -> Option<u64> {
        let id = self.id();
        let r = self.repos.get_mut(repo)?;
        let wanted = pr.as_ref().and_then(|(n, _)| *n);
        let number =
            wanted.unwrap_or_else(|| r.issues.keys().next_back().copied().unwrap_or(0) + 1);
        let t = now();
        r.issues.insert(
            number,
            Issue {
                number,
                id,
                title: title.into(),
                body: body.into(),
                user: user.into(),
                labels,
                state: "open".into(),
                created_at: t.clone(),
                updated_at: t,
                pr: pr.map(|(_, p)| p),
                comments: Vec::new(),
            },
        );
        Some(number)
    }

    pub fn add_comment(
        &mut self,
        repo: &str,
        issue: u64,
        user: &str,
        body: &str,
    ) -> Option<Comment> {
        let id = self.id();
        let i = self.repos.get_mut(repo)?.issues.get_mut(&issue)?;
        let t = now();
        let c = Comment {
            id,
            user: user.into(),
            body: body.into(),
            created_at: t.clone(),
            updated_at: t,
            issue,
        };
        i.comments.push(id);
        self.comments.insert(id, (repo.to_string(), c.clone()));
        Some(c)
    }

    pub fn edit_comment(&mut self, id: u64, body: &str) -> Option<Comment> {
        let (_, c) = self.comments.get_mut(&id)?;
        c.body = body.into();
        c.updated_at = now();
        Some(c.clone())
    }
}
