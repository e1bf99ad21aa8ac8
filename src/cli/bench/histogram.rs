//! A latency histogram for the load mode: every put's round trip is
//! counted into a bucket instead of kept, so a long run at hundreds of
//! thousands of puts a second measures the cluster's memory, not a list
//! growing by every sample.
//!
//! Buckets are log-linear: exact below 128 ns, then 64 per power of two,
//! so a bucket is at most 1/64 of its values wide and a percentile
//! reported at its bucket's middle is within 0.8 % of the exact one.

use std::time::Duration;

/// Sub-buckets per power of two (2^6): the precision.
const SUB_BITS: u32 = 6;
const SUB: u64 = 1 << SUB_BITS;
/// Values below this are their own bucket.
const EXACT: u64 = 2 * SUB;

/// Counts of round trips by bucket; grows to the largest bucket seen.
#[derive(Debug, Clone, Default)]
pub(super) struct Histogram {
    counts: Vec<u64>,
    total: u64,
}

impl Histogram {
    /// Counts one value.
    pub(super) fn record(&mut self, value: Duration) {
        let i = bucket(nanos(value));
        if self.counts.len() <= i {
            self.counts.resize(i + 1, 0);
        }
        self.counts[i] += 1;
        self.total += 1;
    }

    /// Adds every count of `other`.
    pub(super) fn merge(&mut self, other: &Histogram) {
        if self.counts.len() < other.counts.len() {
            self.counts.resize(other.counts.len(), 0);
        }
        for (mine, theirs) in self.counts.iter_mut().zip(&other.counts) {
            *mine += theirs;
        }
        self.total += other.total;
    }

    /// How many values were counted.
    pub(super) fn len(&self) -> u64 {
        self.total
    }

    /// The `p`th percentile (nearest rank), as the middle of its bucket;
    /// zero when nothing was counted.
    pub(super) fn percentile(&self, p: u64) -> Duration {
        if self.total == 0 {
            return Duration::ZERO;
        }
        let rank = (self.total * p).div_ceil(100).clamp(1, self.total);
        let mut seen = 0;
        for (i, &count) in self.counts.iter().enumerate() {
            seen += count;
            if seen >= rank {
                return Duration::from_nanos(middle(i));
            }
        }
        Duration::ZERO
    }
}

fn nanos(value: Duration) -> u64 {
    u64::try_from(value.as_nanos()).unwrap_or(u64::MAX)
}

/// The bucket of `v` nanoseconds.
fn bucket(v: u64) -> usize {
    if v < EXACT {
        return v as usize;
    }
    // v has `bits` significant bits; keep the top SUB_BITS + 1 of them.
    let bits = u64::BITS - v.leading_zeros();
    let shift = bits - SUB_BITS - 1;
    let top = v >> shift; // in SUB..2*SUB
    (EXACT + u64::from(shift - 1) * SUB + (top - SUB)) as usize
}

/// The middle of bucket `i`, in nanoseconds.
fn middle(i: usize) -> u64 {
    let i = i as u64;
    if i < EXACT {
        return i;
    }
    let k = i - EXACT;
    let shift = k / SUB + 1;
    let low = (SUB + k % SUB) << shift;
    low + (1 << shift) / 2
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::bench::disk::percentile;

    #[test]
    fn small_values_are_exact() {
        let mut h = Histogram::default();
        for n in 1..=100 {
            h.record(Duration::from_nanos(n));
        }
        assert_eq!(h.len(), 100);
        assert_eq!(h.percentile(50), Duration::from_nanos(50));
        assert_eq!(h.percentile(99), Duration::from_nanos(99));
        assert_eq!(h.percentile(100), Duration::from_nanos(100));
    }

    #[test]
    fn nothing_counted_reads_zero() {
        assert_eq!(Histogram::default().percentile(50), Duration::ZERO);
    }

    #[test]
    fn every_bucket_is_contiguous_and_holds_its_middle() {
        // Buckets tile the line: each value's bucket is its neighbour's or
        // the next one, and a bucket's middle falls in that bucket.
        let mut last = 0;
        for v in 1..2_000_000u64 {
            let b = bucket(v);
            assert!(b == last || b == last + 1, "v={v} b={b} last={last}");
            last = b;
        }
        // Above that, at every power of two: the last value below it and
        // the power itself are in neighbouring buckets.
        for k in 7..64 {
            let p = 1u64 << k;
            assert_eq!(bucket(p), bucket(p - 1) + 1, "2^{k}");
        }
        let last = bucket(u64::MAX);
        for i in 0..=last {
            assert_eq!(bucket(middle(i)), i, "bucket {i}");
        }
    }

    #[test]
    fn percentiles_are_within_a_bucket_of_the_exact_ones() {
        // Spread over 10 µs .. 20 ms, as round trips are.
        let mut state = 0x2545_f491_4f6c_dd1du64;
        let mut values = Vec::new();
        let mut h = Histogram::default();
        for _ in 0..50_000 {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let v = Duration::from_nanos(10_000 + state % 20_000_000);
            values.push(v);
            h.record(v);
        }
        values.sort_unstable();
        for p in [1, 50, 90, 99, 100] {
            let exact = percentile(&values, p as usize).as_nanos() as f64;
            let got = h.percentile(p).as_nanos() as f64;
            // Within half a bucket, a bucket being 1/64 of its low edge.
            assert!(
                (got - exact).abs() <= exact / 128.0,
                "p{p}: {got} against {exact}"
            );
        }
    }

    #[test]
    fn merged_histograms_count_both() {
        let (mut a, mut b) = (Histogram::default(), Histogram::default());
        a.record(Duration::from_micros(100));
        b.record(Duration::from_millis(5));
        b.record(Duration::from_millis(5));
        a.merge(&b);
        assert_eq!(a.len(), 3);
        let p99 = a.percentile(99).as_nanos() as f64;
        assert!((p99 - 5e6).abs() <= 5e6 / 128.0, "{p99}");
        let p1 = a.percentile(1).as_nanos() as f64;
        assert!((p1 - 1e5).abs() <= 1e5 / 128.0, "{p1}");
    }
}
