//! CODEOWNERS: loading from a commit, and property tests of parsing and matching.

mod load;
mod props;
