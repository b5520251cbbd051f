//! The GitHub layer: the client against the stand-in, recorded responses, and the
//! rate-limit budget of waiting.

mod budget;
mod client;
mod fixtures;
