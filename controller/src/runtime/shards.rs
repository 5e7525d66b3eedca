//! Groups split over K leases by a stable hash of their name (`drctl controller --shards K`).
//!
//! The hash is FNV-1a (64 bit, `drctl_schema::stable_hash`), not `std`'s `Hasher`: std's
//! hashers are allowed to change between Rust releases, and two replicas built by different
//! compilers must put every group in the same shard.

use drctl_schema::stable_hash::fnv1a_64;

/// The lease name of shard `index` of `count`. One shard keeps the plain lease name, so a
/// single replica's lease is what it always was.
pub fn lease_name(base: &str, index: u32, count: u32) -> String {
    if count <= 1 {
        base.to_string()
    } else {
        format!("{base}-shard-{index}-of-{count}")
    }
}

/// The name of seat `index` of `count`: each replica holds one, so the live replicas can be
/// counted from the store (see `balance`).
pub fn seat_name(base: &str, index: u32, count: u32) -> String {
    format!("{base}-seat-{index}-of-{count}")
}

/// The shard of group `name` among `count` shards.
pub fn shard_of(name: &str, count: u32) -> u32 {
    if count <= 1 {
        return 0;
    }
    let hash = fnv1a_64(name.as_bytes());
    u32::try_from(hash % u64::from(count)).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_shard_keeps_the_plain_lease_name() {
        assert_eq!(lease_name("drctl-controller", 0, 1), "drctl-controller");
        assert_eq!(
            lease_name("drctl-controller", 2, 3),
            "drctl-controller-shard-2-of-3"
        );
        assert_eq!(shard_of("anything", 1), 0);
    }

    #[test]
    fn a_thousand_groups_spread_over_three_shards_within_ten_percent() {
        let mut counts = [0u32; 3];
        for i in 0..1000 {
            let shard = shard_of(&format!("app-{i:04}"), 3);
            if let Some(c) = counts.get_mut(shard as usize) {
                *c += 1;
            }
        }
        for c in counts {
            assert!((300..=367).contains(&c), "{counts:?}");
        }
    }
}
