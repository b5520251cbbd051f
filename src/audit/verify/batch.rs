//! Batched Ed25519 checks for the SSHSIG signatures `audit verify` checks.
//!
//! Each queued signature `(R, s)` by key `A` over the SSHSIG signed data `M` must
//! satisfy `[s]B = R + [H(R‖A‖M)]A`. A batch checks one random linear combination of
//! the queued equations, `[-Σ zᵢsᵢ]B + Σ zᵢRᵢ + Σₖ (Σ_{i signed by k} zᵢhᵢ)Aₖ = 0`,
//! with 128-bit `zᵢ` drawn from the operating system's random generator (through
//! `rand::thread_rng`) for every batch, so no signer can predict them: a forged
//! signature passes only with probability 2⁻¹²⁸. This is the equation of
//! ed25519-dalek's `verify_batch` with one change: the terms of signatures by the same
//! key are summed into one multiple of that key, so the multiscalar multiplication
//! (curve25519-dalek's, Pippenger's method) has one point per signature plus one per
//! key instead of two per signature. Measured on the 100,000-record benchmark history
//! (2 threads), that took `audit verify` from 2.72–2.86 s to 2.41–2.60 s: with
//! `verify_batch` the throughput goal of 40,000 records a second was out of reach
//! (README, Benchmarks).
//!
//! The one known difference from the single check: the equation is not multiplied by
//! the cofactor, so the holder of a trusted private key can craft an `R` with a
//! small-order component that a batch accepts with probability 1/8 (the chance that
//! its `zᵢ` is a multiple of that component's order) where the single check refuses —
//! a key holder who could sign genuinely anyway. Non-canonical `R` or `s` encodings are
//! not batched. When a batch fails, every item is re-checked alone, in order, exactly
//! as ssh-key checks an SSHSIG (ed25519-dalek's `verify`: cofactorless, canonical `s`),
//! so the first bad signature is the one named. Anything other than a well-formed
//! Ed25519 signature is not queued: the caller checks it at once through ssh-key.

use ed25519_dalek::{Signature, VerifyingKey};
use rand::RngCore;
use ssh_key::public::KeyData;
use ssh_key::{Algorithm, SshSig};

/// Signatures per batch at most: large enough for the multiscalar
/// multiplication (Pippenger's method) to pay off, small enough to bound memory.
pub(super) const BATCH_SIZE: usize = 2048;

/// Below this many items a batch is checked one by one.
const SMALL: usize = 8;

struct Item<E> {
    /// The SSHSIG signed data (what the Ed25519 signature covers).
    msg: Vec<u8>,
    sig: Signature,
    key: usize,
    err: E,
}

/// Queued signatures; `E` is the error to report if an item turns out bad.
pub(super) struct Batch<E> {
    /// Distinct keys, decompressed once.
    keys: Vec<([u8; 32], VerifyingKey)>,
    items: Vec<Item<E>>,
    limit: usize,
}

impl<E> Batch<E> {
    pub(super) fn new(limit: usize) -> Self {
        Batch {
            keys: Vec::new(),
            items: Vec::new(),
            limit: limit.max(1),
        }
    }

    /// True when nothing is queued.
    #[cfg(test)]
    pub(super) fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// Queues `sig` over `data` (its namespace and key already checked). `Ok(false)`:
    /// not queued (not a well-formed Ed25519 signature); the caller must verify it
    /// alone. A full batch is checked at once: `Err` is its first bad item.
    pub(super) fn push(&mut self, sig: &SshSig, data: &[u8], err: E) -> Result<bool, E> {
        let Some(item) = self.prepare(sig, data, err) else {
            return Ok(false);
        };
        self.items.push(item);
        if self.items.len() >= self.limit {
            self.flush()?;
        }
        Ok(true)
    }

    fn prepare(&mut self, sig: &SshSig, data: &[u8], err: E) -> Option<Item<E>> {
        let KeyData::Ed25519(key) = sig.public_key() else {
            return None;
        };
        if sig.algorithm() != Algorithm::Ed25519 {
            return None;
        }
        let bytes: &[u8; 64] = sig.signature_bytes().try_into().ok()?;
        let mut r = [0u8; 32];
        r.copy_from_slice(&bytes[..32]);
        // A non-canonical R never equals the recomputed (canonical) one in a single
        // check, but would decompress for the batch: leave it to the single check.
        if !canonical(&r) {
            return None;
        }
        let mut s = [0u8; 32];
        s.copy_from_slice(&bytes[32..]);
        // ed25519-dalek refuses a non-canonical `s`; so does this, by not queueing it.
        Option::<curve25519_dalek::Scalar>::from(curve25519_dalek::Scalar::from_canonical_bytes(
            s,
        ))?;
        let a = key.0;
        let key = match self.keys.iter().position(|(k, _)| *k == a) {
            Some(i) => i,
            None => {
                let point = VerifyingKey::from_bytes(&a).ok()?;
                self.keys.push((a, point));
                self.keys.len() - 1
            }
        };
        Some(Item {
            msg: signed_data(sig, data),
            sig: Signature::from_bytes(bytes),
            key,
            err,
        })
    }

    /// Checks everything queued. `Err` names the first bad signature in queue order.
    pub(super) fn flush(&mut self) -> Result<(), E> {
        if self.items.is_empty() {
            return Ok(());
        }
        let items = std::mem::take(&mut self.items);
        if self.combined(&items) {
            return Ok(());
        }
        for item in items {
            if !self.single(&item) {
                return Err(item.err);
            }
        }
        Ok(())
    }

    /// Checks everything queued; every bad item, in queue order (empty: all good).
    pub(super) fn flush_all(&mut self) -> Vec<E> {
        let items = std::mem::take(&mut self.items);
        if items.is_empty() || self.combined(&items) {
            return Vec::new();
        }
        items
            .into_iter()
            .filter(|item| !self.single(item))
            .map(|item| item.err)
            .collect()
    }

    /// The queued equations in one random linear combination, each key's terms
    /// summed into one point (see the module documentation). A handful of items are
    /// checked alone (cheaper than a batch, and exact).
    fn combined(&self, items: &[Item<E>]) -> bool {
        use curve25519_dalek::traits::{IsIdentity as _, VartimeMultiscalarMul as _};
        use curve25519_dalek::{EdwardsPoint, Scalar, edwards::CompressedEdwardsY};
        use sha2::{Digest as _, Sha512};
        if items.len() < SMALL {
            return items.iter().all(|item| self.single(item));
        }
        let mut rng = rand::thread_rng();
        let mut base = Scalar::ZERO;
        let mut per_key = vec![Scalar::ZERO; self.keys.len()];
        let mut scalars = Vec::with_capacity(items.len() + self.keys.len() + 1);
        let mut points = Vec::with_capacity(items.len() + self.keys.len() + 1);
        for item in items {
            let Some((a, _)) = self.keys.get(item.key) else {
                return false;
            };
            let r_bytes = item.sig.r_bytes();
            let Some(r) = CompressedEdwardsY(*r_bytes).decompress() else {
                return false;
            };
            let Some(s) = Option::<Scalar>::from(Scalar::from_canonical_bytes(*item.sig.s_bytes()))
            else {
                return false;
            };
            let mut hram = Sha512::new();
            hram.update(r_bytes);
            hram.update(a);
            hram.update(&item.msg);
            let h = Scalar::from_bytes_mod_order_wide(&hram.finalize().into());
            let z = Scalar::from(u128::from(rng.next_u64()) << 64 | u128::from(rng.next_u64()));
            base -= z * s;
            per_key[item.key] += z * h;
            scalars.push(z);
            points.push(r);
        }
        scalars.push(base);
        points.push(curve25519_dalek::constants::ED25519_BASEPOINT_POINT);
        for ((_, key), c) in self.keys.iter().zip(per_key) {
            scalars.push(c);
            points.push(key.to_edwards());
        }
        EdwardsPoint::vartime_multiscalar_mul(scalars, points).is_identity()
    }

    /// ed25519-dalek's `verify`, as ssh-key calls it for an SSHSIG.
    fn single(&self, item: &Item<E>) -> bool {
        use ed25519_dalek::Verifier as _;
        self.keys
            .get(item.key)
            .is_some_and(|(_, key)| key.verify(&item.msg, &item.sig).is_ok())
    }
}

/// True when `r` is the one encoding of its point: `y < p` (p = 2²⁵⁵ − 19), and no sign
/// bit on the two points whose `x` is zero (`y = 1`, `y = p − 1`).
fn canonical(r: &[u8; 32]) -> bool {
    let sign = r[31] >> 7;
    let mut y = *r;
    y[31] &= 0x7f;
    let high_ones = y[1..31].iter().all(|b| *b == 0xff) && y[31] == 0x7f;
    if high_ones && y[0] >= 0xed {
        return false; // y ≥ p
    }
    let one = y[0] == 1 && y[1..].iter().all(|b| *b == 0);
    let minus_one = high_ones && y[0] == 0xec;
    !(sign == 1 && (one || minus_one))
}

/// The SSHSIG signed data over `data` (PROTOCOL.sshsig): what the Ed25519 signature
/// covers, as ssh-key builds it to verify (`MAGIC ‖ namespace ‖ reserved ‖ hash
/// algorithm ‖ H(data)`, each but the magic length-prefixed).
fn signed_data(sig: &SshSig, data: &[u8]) -> Vec<u8> {
    let alg = sig.hash_alg();
    let digest = alg.digest(data);
    let mut out = Vec::with_capacity(128);
    out.extend_from_slice(b"SSHSIG");
    for field in [
        sig.namespace().as_bytes(),
        sig.reserved(),
        alg.as_str().as_bytes(),
        &digest,
    ] {
        out.extend_from_slice(&(field.len() as u32).to_be_bytes());
        out.extend_from_slice(field);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::canonical;
    use curve25519_dalek::edwards::CompressedEdwardsY;

    #[test]
    fn only_canonical_point_encodings_are_batched() {
        let basepoint = curve25519_dalek::constants::ED25519_BASEPOINT_COMPRESSED;
        assert!(canonical(basepoint.as_bytes()));
        let mut p = [0xffu8; 32];
        p[31] = 0x7f;
        p[0] = 0xed; // y = p
        assert!(!canonical(&p));
        p[0] = 0xec; // y = p - 1, sign 0: canonical
        assert!(canonical(&p));
        p[31] |= 0x80; // x = 0 with the sign bit: not canonical
        assert!(!canonical(&p));
        let mut one = [0u8; 32];
        one[0] = 1;
        assert!(canonical(&one));
        one[31] = 0x80;
        assert!(!canonical(&one));
        // What canonical() refuses is exactly what does not survive a round trip.
        for bytes in [p, one] {
            if let Some(pt) = CompressedEdwardsY(bytes).decompress() {
                assert_ne!(pt.compress().to_bytes(), bytes);
            }
        }
    }

    /// Genuine signatures pass the combined check itself (not only the one-by-one
    /// fallback), and one bad signature among them fails it.
    #[test]
    fn genuine_signatures_pass_the_batch_equation() {
        let key = ssh_key::PrivateKey::random(
            &mut ssh_key::rand_core::OsRng,
            ssh_key::Algorithm::Ed25519,
        )
        .unwrap();
        let sigs: Vec<_> = (0..40)
            .map(|i| {
                key.sign("git", ssh_key::HashAlg::Sha512, format!("m{i}").as_bytes())
                    .unwrap()
            })
            .collect();
        let mut batch = super::Batch::new(usize::MAX);
        for (i, s) in sigs.iter().enumerate() {
            assert!(batch.push(s, format!("m{i}").as_bytes(), i).unwrap());
        }
        assert!(batch.combined(&batch.items));
        batch.items[7].msg.push(b'!');
        assert!(!batch.combined(&batch.items));
        assert_eq!(batch.flush_all(), vec![7]);
    }

    /// Signatures by three keys in one batch (each key's terms summed into one
    /// point) pass together; one signature credited to another key, or a key's
    /// signatures over other messages, fail the batch and are the ones named.
    #[test]
    fn signatures_by_several_keys_pass_the_batch_together() {
        let keys: Vec<_> = (0..3)
            .map(|_| {
                ssh_key::PrivateKey::random(
                    &mut ssh_key::rand_core::OsRng,
                    ssh_key::Algorithm::Ed25519,
                )
                .unwrap()
            })
            .collect();
        let sigs: Vec<_> = (0..30)
            .map(|i| {
                keys[i % 3]
                    .sign("git", ssh_key::HashAlg::Sha512, format!("m{i}").as_bytes())
                    .unwrap()
            })
            .collect();
        let mut batch = super::Batch::new(usize::MAX);
        for (i, s) in sigs.iter().enumerate() {
            assert!(batch.push(s, format!("m{i}").as_bytes(), i).unwrap());
        }
        assert_eq!(batch.keys.len(), 3);
        assert!(batch.combined(&batch.items));
        // Item 4 (by key 1) credited to key 2.
        batch.items[4].key = 2;
        assert!(!batch.combined(&batch.items));
        assert_eq!(batch.flush_all(), vec![4]);
        // Two of key 0's signatures swapped between their messages.
        for (i, s) in sigs.iter().enumerate() {
            let m = match i {
                0 => "m3".to_string(),
                3 => "m0".to_string(),
                _ => format!("m{i}"),
            };
            assert!(batch.push(s, m.as_bytes(), i).unwrap());
        }
        assert!(!batch.combined(&batch.items));
        assert_eq!(batch.flush_all(), vec![0, 3]);
    }

    /// The signed data built here is what ssh-key verifies: a signature ssh-key made
    /// verifies over it with ed25519-dalek, and over nothing else.
    #[test]
    fn signed_data_is_what_ssh_key_signs() {
        use ed25519_dalek::Verifier as _;
        let key = ssh_key::PrivateKey::random(
            &mut ssh_key::rand_core::OsRng,
            ssh_key::Algorithm::Ed25519,
        )
        .unwrap();
        let sig = key
            .sign("jitaa-audit", ssh_key::HashAlg::Sha512, b"record")
            .unwrap();
        let ssh_key::public::KeyData::Ed25519(pk) = sig.public_key() else {
            panic!("ed25519")
        };
        let vk = ed25519_dalek::VerifyingKey::from_bytes(&pk.0).unwrap();
        let s = ed25519_dalek::Signature::from_slice(sig.signature_bytes()).unwrap();
        assert!(vk.verify(&super::signed_data(&sig, b"record"), &s).is_ok());
        assert!(vk.verify(&super::signed_data(&sig, b"other"), &s).is_err());
    }
}
