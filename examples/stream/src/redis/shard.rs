//! Placing keys on instances: Roshi's hashes mod N, and jump hash.
//!
//! A key and its three sorted sets (`key+`, `key-`, `key~`) live on one
//! instance, chosen from the bare key by a [`Sharding`]:
//!
//! - [`Sharding::Murmur3`] (the default), [`Sharding::Fnv1`] and
//!   [`Sharding::Fnv1a`]: a 32-bit hash of the key mod N, exactly as
//!   roshi-server's `-redis.hash` (murmur3, fnv, fnva), so kit reads and
//!   writes a farm that Roshi filled. Adding an instance to N moves about
//!   N/(N+1) of the keys.
//! - [`Sharding::Jump`]: Lamping and Veach's jump consistent hash over a
//!   64-bit hash of the key. Going from N to N+1 instances moves only the
//!   1/(N+1) of the keys that land on the new instance.
//!
//! The hashes are a few lines each and pinned by test vectors (Roshi's, in
//! the reference), so they are written here rather than pulled in as
//! crates: placement must never change under a dependency update.
//!
//! # Resharding
//!
//! Placement is static: a cluster's instance list, in order, and its
//! sharding decide where every key lives, so changing either makes keys
//! unreadable until they are moved. Because every replica of a farm is a
//! CRDT replica of every other, moving them needs no special tool:
//!
//! 1. Add the new shape as one more cluster of the farm (clusters may have
//!    different instance counts and shardings) and restart the servers;
//!    new writes reach it at once.
//! 2. Run `stream-walker -once`: it reads every key of every cluster and
//!    repairs every cluster that differs, so the new cluster receives every
//!    key, in its own placement.
//! 3. Remove the old cluster from the farm string.
//!
//! Reads keep working throughout (the old clusters answer; the new one is
//! repaired on read too). With [`Sharding::Jump`], growing a cluster in
//! place is cheaper: after adding an instance at the end, a walker pass
//! over the farm rewrites the 1/(N+1) of keys whose home moved.

use std::fmt;
use std::str::FromStr;

/// How a cluster places keys on its instances.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Sharding {
    /// MurmurHash3 x86 32-bit, seed 0, mod N: Roshi's default.
    #[default]
    Murmur3,
    /// FNV-1 32-bit mod N: Roshi's `fnv`.
    Fnv1,
    /// FNV-1a 32-bit mod N: Roshi's `fnva`.
    Fnv1a,
    /// Jump consistent hash of a 64-bit FNV-1a hash (finalised with
    /// splitmix64's mixer): adding an instance moves few keys.
    Jump,
}

/// An unknown sharding name.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("unknown hash {0:?} (want murmur3, fnv, fnva or jump)")]
pub struct UnknownSharding(String);

impl FromStr for Sharding {
    type Err = UnknownSharding;
    fn from_str(s: &str) -> Result<Sharding, UnknownSharding> {
        match s.trim().to_ascii_lowercase().as_str() {
            "murmur3" => Ok(Sharding::Murmur3),
            "fnv" | "fnv1" => Ok(Sharding::Fnv1),
            "fnva" | "fnv1a" => Ok(Sharding::Fnv1a),
            "jump" => Ok(Sharding::Jump),
            _ => Err(UnknownSharding(s.to_string())),
        }
    }
}

impl fmt::Display for Sharding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Sharding::Murmur3 => "murmur3",
            Sharding::Fnv1 => "fnv",
            Sharding::Fnv1a => "fnva",
            Sharding::Jump => "jump",
        })
    }
}

impl Sharding {
    /// The index of the instance, of `n`, that holds `key`. `n` must be at
    /// least 1 (a cluster is never empty); 0 gives 0.
    pub fn index(self, key: &[u8], n: usize) -> usize {
        if n <= 1 {
            return 0;
        }
        let m = |h: u32| (h as usize) % n;
        match self {
            Sharding::Murmur3 => m(murmur3_32(key, 0)),
            Sharding::Fnv1 => m(fnv1_32(key)),
            Sharding::Fnv1a => m(fnv1a_32(key)),
            Sharding::Jump => jump(mix64(fnv1a_64(key)), n),
        }
    }
}

/// MurmurHash3, x86 32-bit variant.
pub fn murmur3_32(data: &[u8], seed: u32) -> u32 {
    const C1: u32 = 0xcc9e_2d51;
    const C2: u32 = 0x1b87_3593;
    let mut h = seed;
    let mut blocks = data.chunks_exact(4);
    for b in blocks.by_ref() {
        let mut k = u32::from_le_bytes([b[0], b[1], b[2], b[3]]);
        k = k.wrapping_mul(C1).rotate_left(15).wrapping_mul(C2);
        h ^= k;
        h = h.rotate_left(13).wrapping_mul(5).wrapping_add(0xe654_6b64);
    }
    let tail = blocks.remainder();
    if !tail.is_empty() {
        let mut k = 0u32;
        for (i, &byte) in tail.iter().enumerate() {
            k |= u32::from(byte) << (8 * i);
        }
        k = k.wrapping_mul(C1).rotate_left(15).wrapping_mul(C2);
        h ^= k;
    }
    h ^= data.len() as u32;
    h ^= h >> 16;
    h = h.wrapping_mul(0x85eb_ca6b);
    h ^= h >> 13;
    h = h.wrapping_mul(0xc2b2_ae35);
    h ^ (h >> 16)
}

const FNV32_OFFSET: u32 = 0x811c_9dc5;
const FNV32_PRIME: u32 = 0x0100_0193;

/// FNV-1, 32-bit.
pub fn fnv1_32(data: &[u8]) -> u32 {
    data.iter().fold(FNV32_OFFSET, |h, &b| {
        h.wrapping_mul(FNV32_PRIME) ^ u32::from(b)
    })
}

/// FNV-1a, 32-bit.
pub fn fnv1a_32(data: &[u8]) -> u32 {
    data.iter().fold(FNV32_OFFSET, |h, &b| {
        (h ^ u32::from(b)).wrapping_mul(FNV32_PRIME)
    })
}

/// FNV-1a, 64-bit.
pub fn fnv1a_64(data: &[u8]) -> u64 {
    data.iter().fold(0xcbf2_9ce4_8422_2325, |h: u64, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// splitmix64's finaliser: spreads FNV's weak high bits over the word.
fn mix64(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// Jump consistent hash (Lamping and Veach, 2014): a bucket in `0..n`.
pub fn jump(mut key: u64, n: usize) -> usize {
    let (mut b, mut j) = (-1i64, 0i64);
    let n = i64::try_from(n).unwrap_or(i64::MAX);
    while j < n {
        b = j;
        key = key.wrapping_mul(2_862_933_555_777_941_757).wrapping_add(1);
        let r = ((key >> 33) + 1) as f64;
        j = ((b + 1) as f64 * ((1u64 << 31) as f64 / r)) as i64;
    }
    usize::try_from(b).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Roshi's vectors: (key, murmur3, fnv1, fnv1a).
    const VECTORS: &[(&[u8], u32, u32, u32)] = &[
        (b"", 0x0000_0000, 0x811c_9dc5, 0x811c_9dc5),
        (b"foo", 0xf6a5_c420, 0x408f_5e13, 0xa9f3_7ed7),
        (b"bar", 0x450e_998d, 0x1e99_b620, 0x76b7_7d1a),
        (b"hello", 0x248b_fa47, 0xb6fa_7167, 0x4f9f_2cab),
        (b"Winter is coming", 0x4361_7e8f, 0xab83_0363, 0xb6ec_2a37),
        (b"\xff\x00", 0xb1f1_959c, 0xd277_c7a0, 0x6e1e_20ca),
    ];

    #[test]
    fn roshi_test_vectors() {
        for &(key, m, f, fa) in VECTORS {
            assert_eq!(murmur3_32(key, 0), m, "murmur3 {key:?}");
            assert_eq!(fnv1_32(key), f, "fnv1 {key:?}");
            assert_eq!(fnv1a_32(key), fa, "fnv1a {key:?}");
        }
        assert_eq!(Sharding::Murmur3.index(b"foo", 7), 0xf6a5_c420 % 7);
    }

    #[test]
    fn names_parse_and_print() {
        for s in [
            Sharding::Murmur3,
            Sharding::Fnv1,
            Sharding::Fnv1a,
            Sharding::Jump,
        ] {
            assert_eq!(s.to_string().parse::<Sharding>(), Ok(s));
        }
        assert_eq!(" MURMUR3 ".parse::<Sharding>(), Ok(Sharding::Murmur3));
        assert!("md5".parse::<Sharding>().is_err());
        assert!("".parse::<Sharding>().is_err());
    }

    #[test]
    fn jump_moves_only_keys_to_the_new_bucket() {
        let keys: Vec<Vec<u8>> = (0..10_000u32).map(|i| i.to_be_bytes().to_vec()).collect();
        let place = |k: &[u8], n| Sharding::Jump.index(k, n);
        let moved = keys.iter().filter(|k| place(k, 10) != place(k, 11)).count();
        // about 1/11 of the keys move, and each to the new instance
        assert!((700..1100).contains(&moved), "moved {moved}");
        assert!(
            keys.iter()
                .all(|k| place(k, 10) == place(k, 11) || place(k, 11) == 10)
        );
        let modulo = keys
            .iter()
            .filter(|k| Sharding::Murmur3.index(k, 10) != Sharding::Murmur3.index(k, 11))
            .count();
        assert!(modulo > 8000, "mod N moves most keys: {modulo}");
    }

    proptest! {
        #[test]
        fn every_placement_is_in_range(key in prop::collection::vec(any::<u8>(), 0..40), n in 0usize..50) {
            for s in [Sharding::Murmur3, Sharding::Fnv1, Sharding::Fnv1a, Sharding::Jump] {
                let i = s.index(&key, n);
                prop_assert!(i < n.max(1));
            }
        }

        #[test]
        fn jump_is_balanced_enough(n in 2usize..9) {
            let mut counts = vec![0usize; n];
            for i in 0..4000u32 {
                counts[Sharding::Jump.index(&i.to_le_bytes(), n)] += 1;
            }
            let fair = 4000 / n;
            prop_assert!(counts.iter().all(|&c| c > fair / 2 && c < fair * 2), "{:?}", counts);
        }
    }
}
