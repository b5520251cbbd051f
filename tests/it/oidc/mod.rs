//! The Actions ID token: the attack suite against the binary, and the verifier in-process.

mod attacks;
mod verifier;
