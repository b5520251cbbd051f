//! fakehub: a GitHub REST stand-in and Actions OIDC issuer on 127.0.0.1, for jitaa's
//! tests, benchmarks and demo. Never a production server.

pub mod oidc;
