//! The pre-push hook on bob's clone: `git push` through it, `jitaa hook pre-push` run as
//! git runs it, and the story across the hook and `jitaa request`.

mod cli;
mod push;
mod request_story;
