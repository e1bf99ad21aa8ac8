//! The cheap hashes the checks compare payloads and states by, and the
//! simulator folds its trace into. None of their inputs is adversarial,
//! and no order that reaches an output depends on them, so speed wins
//! over SipHash's defences; they must never change, or every recorded
//! trace hash would.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

use crate::raft::{EntryData, Index, Term};

/// SplitMix64's finaliser: spreads every input bit over the word.
pub fn mix(mut x: u64) -> u64 {
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

/// Hashes a byte string (FNV-1a, then mixed).
pub fn hash_bytes(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in bytes {
        h = (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
    }
    mix(h)
}

/// The map behind log matching. Looked up once per entry written, so it
/// uses a cheap hash of the two words instead of SipHash (no input here
/// is adversarial, and its order never reaches an output).
pub type EntryMap = HashMap<(Index, Term), (u64, Term), BuildHasherDefault<WordHasher>>;

/// A hasher for keys made of a few integers: mixes each word in.
#[derive(Default)]
pub struct WordHasher(u64);

impl Hasher for WordHasher {
    fn write(&mut self, bytes: &[u8]) {
        self.0 = mix(self.0 ^ hash_bytes(bytes));
    }

    fn write_u64(&mut self, word: u64) {
        self.0 = mix(self.0.rotate_left(23) ^ word);
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

/// A hash of an entry's payload: what log matching and the committed
/// prefix compare entries by.
pub fn payload_hash(data: &EntryData) -> u64 {
    match data {
        EntryData::Noop => 1,
        EntryData::Command(bytes) => hash_bytes(bytes),
        EntryData::Config { .. } => {
            mix(hash_bytes(&postcard::to_allocvec(data).unwrap_or_default()) ^ 2)
        }
    }
}

/// A payload hash in words, for evidence.
pub fn describe_hash(hash: u64) -> String {
    if hash == 1 {
        "a no-op".to_string()
    } else {
        format!("command #{hash:016x}")
    }
}
