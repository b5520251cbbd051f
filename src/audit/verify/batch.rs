//! Batched Ed25519 arithmetic for the SSHSIG signatures `audit verify` checks.
//!
//! Each queued signature `(R, s)` by key `A` over the SSHSIG signed data `M` must
//! satisfy `[s]B = R + [H(R‖A‖M)]A`. A batch checks the random linear combination
//! `[-Σ zᵢsᵢ]B + Σ zᵢRᵢ + Σ_A (Σ_{i by A} zᵢhᵢ)A = 0` with secret 128-bit `zᵢ` from a
//! CSPRNG (as ed25519-dalek's `verify_batch`, with the terms of each distinct key
//! summed into one point). A forged signature passes only with probability 2⁻¹²⁸.
//! The one known difference from the single check: the holder of a trusted private
//! key can craft an `R` with a small-order component that a batch accepts with
//! probability ≤ 1/8 where the single check refuses (non-canonical `R` encodings are
//! not batched) — a key holder who could sign genuinely anyway. When
//! a batch fails, every item is re-checked alone, in order, exactly as
//! ed25519-dalek's `verify` does (cofactorless, canonical `s`), so the first bad
//! signature is the one named. Anything other than a well-formed Ed25519 signature is
//! not queued: the caller checks it at once through ssh-key.

use curve25519_dalek::edwards::{CompressedEdwardsY, EdwardsPoint};
use curve25519_dalek::scalar::Scalar;
use curve25519_dalek::traits::{IsIdentity, VartimeMultiscalarMul};
use rand::RngCore;
use sha2::{Digest, Sha512};
use ssh_key::public::KeyData;
use ssh_key::{Algorithm, SshSig};

/// Signatures per multi-scalar multiplication: large enough for Pippenger's method to
/// pay off, small enough to bound memory on a long chain.
pub(super) const BATCH_SIZE: usize = 2048;

struct Item<E> {
    key: usize,
    r: CompressedEdwardsY,
    s: Scalar,
    h: Scalar,
    err: E,
}

/// Queued signatures; `E` is the error to report if an item turns out bad.
pub(super) struct Batch<E> {
    /// Distinct keys, decompressed once.
    keys: Vec<([u8; 32], EdwardsPoint)>,
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
    pub(super) fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// Queues `sig` over `data` (its namespace and key already checked). `Ok(false)`:
    /// not queued (not a well-formed Ed25519 signature); the caller must flush and
    /// then verify it alone. A full batch is checked at once: `Err` is its first bad item.
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
        let s = Option::<Scalar>::from(Scalar::from_canonical_bytes(s))?;
        let a = key.0;
        let key = if let Some(i) = self.keys.iter().position(|(k, _)| *k == a) {
            i
        } else {
            let point = CompressedEdwardsY(a).decompress()?;
            self.keys.push((a, point));
            self.keys.len() - 1
        };
        let h = challenge(&r, &a, sig, data);
        Some(Item {
            key,
            r: CompressedEdwardsY(r),
            s,
            h,
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

    /// The random linear combination of all queued equations is the identity.
    fn combined(&self, items: &[Item<E>]) -> bool {
        let mut rng = rand::thread_rng();
        let mut b = Scalar::ZERO;
        let mut per_key = vec![Scalar::ZERO; self.keys.len()];
        let mut scalars = Vec::with_capacity(items.len() + self.keys.len() + 1);
        let mut points = Vec::with_capacity(items.len() + self.keys.len() + 1);
        for item in items {
            let Some(r) = item.r.decompress() else {
                return false;
            };
            let mut z = [0u8; 16];
            rng.fill_bytes(&mut z);
            let z = Scalar::from(u128::from_le_bytes(z));
            b += z * item.s;
            per_key[item.key] += z * item.h;
            scalars.push(z);
            points.push(r);
        }
        scalars.push(-b);
        points.push(curve25519_dalek::constants::ED25519_BASEPOINT_POINT);
        for ((_, a), k) in self.keys.iter().zip(per_key) {
            scalars.push(k);
            points.push(*a);
        }
        EdwardsPoint::vartime_multiscalar_mul(scalars, points).is_identity()
    }

    /// ed25519-dalek's `verify`: `R == [s]B - [h]A`, compared compressed.
    fn single(&self, item: &Item<E>) -> bool {
        let Some((_, a)) = self.keys.get(item.key) else {
            return false;
        };
        let r = EdwardsPoint::vartime_double_scalar_mul_basepoint(&item.h, &(-a), &item.s);
        r.compress() == item.r
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

/// `H(R ‖ A ‖ M)` where `M` is the SSHSIG signed data over `data`.
fn challenge(r: &[u8; 32], a: &[u8; 32], sig: &SshSig, data: &[u8]) -> Scalar {
    let alg = sig.hash_alg();
    let digest = alg.digest(data);
    let mut h = Sha512::new();
    h.update(r);
    h.update(a);
    h.update(b"SSHSIG");
    for field in [
        sig.namespace().as_bytes(),
        sig.reserved(),
        alg.as_str().as_bytes(),
        &digest,
    ] {
        h.update((field.len() as u32).to_be_bytes());
        h.update(field);
    }
    Scalar::from_bytes_mod_order_wide(&h.finalize().into())
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
}
