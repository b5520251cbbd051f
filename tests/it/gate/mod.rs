//! `jitaa gate` end to end: a real process against the stand-in and a real bare origin;
//! each test asserts the exit code, the step outputs, the record on origin's audit
//! branch, and that `jitaa audit verify` passes.

mod approve;
mod base;
mod context;
mod lifecycle;
mod refusals;
mod trust;
