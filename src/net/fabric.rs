//! The link matrix and the named faults built on it.
//!
//! Semantics worth knowing:
//!
//! - Topology operations (`isolate`, `cut`, `partition`, `bridge`) only
//!   change whether links are *up*; the quality settings (loss, delay,
//!   duplication) are independent and survive them.
//! - `partition` and `bridge` *replace* the whole up/down matrix (earlier cuts
//!   are forgotten); `isolate` and `cut` are cumulative.
//! - `heal` brings every link up and keeps quality settings; `reset` also
//!   restores the fabric's base quality on every link: the default link,
//!   with the latency [`Fabric::set_latency`] chose (the dashboards use a
//!   latency a person can watch; `check` and benchmarks keep the default).
//! - A node's link to itself is always up and behaves like
//!   any other; drivers normally never send to themselves.

use std::collections::BTreeSet;
use std::fmt;

use rand::{Rng, RngExt};

use crate::raft::NodeId;

/// Errors from fabric operations: always about the arguments given.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum FabricError {
    /// The node is not part of this fabric.
    #[error("node {0} is not part of the network")]
    UnknownNode(NodeId),
    /// A node was named twice (in two groups, or twice in one list).
    #[error("node {0} is named more than once")]
    DuplicateNode(NodeId),
    /// A probability outside `[0, 1]` (or not a number).
    #[error("{what} probability {value} is not between 0 and 1")]
    BadProbability {
        /// Which setting.
        what: &'static str,
        /// The value given.
        value: f64,
    },
    /// A delay range whose minimum exceeds its maximum.
    #[error("delay range {min_us}..{max_us} µs is empty (min above max)")]
    BadDelay {
        /// The minimum given.
        min_us: u64,
        /// The maximum given.
        max_us: u64,
    },
    /// The fabric needs at least one node, and ids must be distinct.
    #[error("a network needs at least one node")]
    NoNodes,
}

/// One directed link: how messages from one node reach another.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Link {
    /// Whether the link carries messages at all.
    pub up: bool,
    /// Probability that a message is lost, in `[0, 1]`.
    pub loss: f64,
    /// Least delivery delay, in microseconds.
    pub delay_min_us: u64,
    /// Greatest delivery delay, in microseconds (inclusive).
    pub delay_max_us: u64,
    /// Probability that a message is delivered twice, in `[0, 1]`.
    pub duplicate: f64,
}

impl Link {
    /// The delay range of a default link, µs: 0.5–2 ms, a fast LAN.
    pub const DEFAULT_DELAY_US: (u64, u64) = (500, 2000);
}

impl Default for Link {
    /// Up, lossless, 500–2000 µs of delay, no duplication.
    fn default() -> Link {
        Link {
            up: true,
            loss: 0.0,
            delay_min_us: Link::DEFAULT_DELAY_US.0,
            delay_max_us: Link::DEFAULT_DELAY_US.1,
            duplicate: 0.0,
        }
    }
}

/// The directed link matrix of a cluster.
#[derive(Clone, Debug, PartialEq)]
pub struct Fabric {
    /// Node ids, sorted; a node's position here is its row and column.
    ids: Vec<NodeId>,
    /// `ids.len()²` links, row = sender, column = receiver.
    links: Vec<Link>,
    /// What a fresh link is: a new node's links and `reset` get it.
    base: Link,
}

impl Fabric {
    /// A fully connected fabric of default links between `ids`.
    pub fn new(ids: &[NodeId]) -> Result<Fabric, FabricError> {
        if ids.is_empty() {
            return Err(FabricError::NoNodes);
        }
        let mut sorted = ids.to_vec();
        sorted.sort_unstable();
        for pair in sorted.windows(2) {
            if pair[0] == pair[1] {
                return Err(FabricError::DuplicateNode(pair[0]));
            }
        }
        let n = sorted.len();
        Ok(Fabric {
            ids: sorted,
            links: vec![Link::default(); n * n],
            base: Link::default(),
        })
    }

    /// Sets the latency of every link and of the fabric's base link (which
    /// a new node's links and [`reset`](Fabric::reset) get), µs inclusive.
    pub fn set_latency(&mut self, min_us: u64, max_us: u64) -> Result<(), FabricError> {
        self.set_delay(min_us, max_us)?;
        self.base.delay_min_us = min_us;
        self.base.delay_max_us = max_us;
        Ok(())
    }

    /// The base link's delay range, µs: the latency links have unless a
    /// fault or a `delay` changed theirs.
    pub fn latency(&self) -> (u64, u64) {
        (self.base.delay_min_us, self.base.delay_max_us)
    }

    /// Whether the link from `from` to `to` has the base latency (not
    /// slowed or sped up by a `delay`).
    pub fn has_base_latency(&self, from: NodeId, to: NodeId) -> bool {
        self.link(from, to)
            .is_ok_and(|l| (l.delay_min_us, l.delay_max_us) == self.latency())
    }

    /// Adds node `id` (a new member of the cluster), linked to and from
    /// everyone by default links.
    pub fn add_node(&mut self, id: NodeId) -> Result<(), FabricError> {
        if self.ids.contains(&id) {
            return Err(FabricError::DuplicateNode(id));
        }
        let mut ids = self.ids.clone();
        ids.push(id);
        ids.sort_unstable();
        let n = ids.len();
        let mut links = vec![self.base; n * n];
        for (i, &from) in ids.iter().enumerate() {
            for (j, &to) in ids.iter().enumerate() {
                if let Ok(k) = self.slot(from, to) {
                    links[i * n + j] = self.links[k];
                }
            }
        }
        self.ids = ids;
        self.links = links;
        Ok(())
    }

    /// The nodes, sorted.
    pub fn ids(&self) -> &[NodeId] {
        &self.ids
    }

    /// The link from `from` to `to`.
    pub fn link(&self, from: NodeId, to: NodeId) -> Result<&Link, FabricError> {
        let i = self.slot(from, to)?;
        Ok(&self.links[i])
    }

    /// Replaces the link from `from` to `to` (validated).
    pub fn set_link(&mut self, from: NodeId, to: NodeId, link: Link) -> Result<(), FabricError> {
        check_probability("loss", link.loss)?;
        check_probability("duplicate", link.duplicate)?;
        check_delay(link.delay_min_us, link.delay_max_us)?;
        let i = self.slot(from, to)?;
        self.links[i] = link;
        Ok(())
    }

    /// Whether messages from `from` currently reach `to` (loss aside).
    pub fn is_up(&self, from: NodeId, to: NodeId) -> bool {
        self.slot(from, to).is_ok_and(|i| self.links[i].up)
    }

    /// Cuts every link to and from `id`.
    pub fn isolate(&mut self, id: NodeId) -> Result<(), FabricError> {
        let me = self.pos(id)?;
        let n = self.ids.len();
        for other in 0..n {
            if other != me {
                self.links[me * n + other].up = false;
                self.links[other * n + me].up = false;
            }
        }
        Ok(())
    }

    /// Splits the network into `groups`: links inside a group are up, links
    /// between groups down. Nodes named in no group form one more group
    /// together. A node named twice is an error; nothing changes on error.
    pub fn partition(&mut self, groups: &[Vec<NodeId>]) -> Result<(), FabricError> {
        let group_of = self.group_index(groups)?;
        self.set_up_where(|a, b| group_of[a] == group_of[b]);
        Ok(())
    }

    /// Splits the network into `left` and `right`, which cannot reach each
    /// other, and a `bridge` node linked both ways to everyone. Nodes named
    /// nowhere form one more group, also reachable by the bridge only.
    pub fn bridge(
        &mut self,
        left: &[NodeId],
        bridge: NodeId,
        right: &[NodeId],
    ) -> Result<(), FabricError> {
        let group_of = self.group_index(&[left.to_vec(), vec![bridge], right.to_vec()])?;
        let b = self.pos(bridge)?;
        self.set_up_where(|x, y| x == b || y == b || group_of[x] == group_of[y]);
        Ok(())
    }

    /// Cuts the link from `from` to `to` only; the way back stays as it is.
    pub fn cut(&mut self, from: NodeId, to: NodeId) -> Result<(), FabricError> {
        let i = self.slot(from, to)?;
        self.links[i].up = false;
        Ok(())
    }

    /// Brings the link from `from` to `to` back up.
    pub fn restore(&mut self, from: NodeId, to: NodeId) -> Result<(), FabricError> {
        let i = self.slot(from, to)?;
        self.links[i].up = true;
        Ok(())
    }

    /// Brings every link up, keeping loss, delay and duplication settings.
    pub fn heal(&mut self) {
        for link in &mut self.links {
            link.up = true;
        }
    }

    /// Back to the base: every link up with the base quality (the
    /// default link, with the latency of [`set_latency`](Fabric::set_latency)).
    pub fn reset(&mut self) {
        let base = self.base;
        for link in &mut self.links {
            *link = base;
        }
    }

    /// Sets the loss probability of every link.
    pub fn set_loss(&mut self, p: f64) -> Result<(), FabricError> {
        check_probability("loss", p)?;
        self.links.iter_mut().for_each(|l| l.loss = p);
        Ok(())
    }

    /// Sets the delay range (inclusive, µs) of every link.
    pub fn set_delay(&mut self, min_us: u64, max_us: u64) -> Result<(), FabricError> {
        check_delay(min_us, max_us)?;
        for link in &mut self.links {
            link.delay_min_us = min_us;
            link.delay_max_us = max_us;
        }
        Ok(())
    }

    /// Sets the duplication probability of every link.
    pub fn set_duplicate(&mut self, p: f64) -> Result<(), FabricError> {
        check_probability("duplicate", p)?;
        self.links.iter_mut().for_each(|l| l.duplicate = p);
        Ok(())
    }

    /// Sets the loss probability of the link from `from` to `to`.
    pub fn set_link_loss(&mut self, from: NodeId, to: NodeId, p: f64) -> Result<(), FabricError> {
        check_probability("loss", p)?;
        let i = self.slot(from, to)?;
        self.links[i].loss = p;
        Ok(())
    }

    /// Sets the delay range (inclusive, µs) of the link from `from` to `to`.
    pub fn set_link_delay(
        &mut self,
        from: NodeId,
        to: NodeId,
        min_us: u64,
        max_us: u64,
    ) -> Result<(), FabricError> {
        check_delay(min_us, max_us)?;
        let i = self.slot(from, to)?;
        self.links[i].delay_min_us = min_us;
        self.links[i].delay_max_us = max_us;
        Ok(())
    }

    /// Sets the duplication probability of the link from `from` to `to`.
    pub fn set_link_duplicate(
        &mut self,
        from: NodeId,
        to: NodeId,
        p: f64,
    ) -> Result<(), FabricError> {
        check_probability("duplicate", p)?;
        let i = self.slot(from, to)?;
        self.links[i].duplicate = p;
        Ok(())
    }

    /// Decides the fate of one message from `from` to `to`: the delays after
    /// which a copy arrives. Empty means dropped (link down, lost, or an
    /// unknown node); two delays mean duplicated. Random draws happen only
    /// for the features a link has on, so a quiet link costs one draw.
    pub fn decide(&self, from: NodeId, to: NodeId, rng: &mut impl Rng) -> Vec<u64> {
        let Ok(i) = self.slot(from, to) else {
            return Vec::new();
        };
        let link = &self.links[i];
        if !link.up || (link.loss > 0.0 && rng.random_bool(link.loss)) {
            return Vec::new();
        }
        let mut delays = Vec::with_capacity(2);
        delays.push(draw_delay(link, rng));
        if link.duplicate > 0.0 && rng.random_bool(link.duplicate) {
            delays.push(draw_delay(link, rng));
        }
        delays
    }

    /// The connected groups of the network, each sorted, ordered by their
    /// smallest id. Two nodes are in one group when linked both ways,
    /// directly or through others in the group.
    pub fn groups(&self) -> Vec<Vec<NodeId>> {
        let n = self.ids.len();
        let mut group_of: Vec<Option<usize>> = vec![None; n];
        let mut groups = Vec::new();
        for start in 0..n {
            if group_of[start].is_some() {
                continue;
            }
            let g = groups.len();
            let mut members = vec![start];
            group_of[start] = Some(g);
            let mut next = 0;
            while next < members.len() {
                let a = members[next];
                next += 1;
                for (b, slot) in group_of.iter_mut().enumerate() {
                    let both = self.links[a * n + b].up && self.links[b * n + a].up;
                    if slot.is_none() && both {
                        *slot = Some(g);
                        members.push(b);
                    }
                }
            }
            members.sort_unstable();
            groups.push(members.into_iter().map(|p| self.ids[p]).collect());
        }
        groups
    }

    /// Links that are down although their ends are in one group (one-way
    /// cuts, bridges), as (from, to), sorted.
    pub fn partial_cuts(&self) -> Vec<(NodeId, NodeId)> {
        let groups = self.groups();
        let mut cuts = BTreeSet::new();
        for group in &groups {
            for &a in group {
                for &b in group {
                    if a != b && !self.is_up(a, b) {
                        cuts.insert((a, b));
                    }
                }
            }
        }
        cuts.into_iter().collect()
    }

    fn group_index(&self, groups: &[Vec<NodeId>]) -> Result<Vec<usize>, FabricError> {
        let unnamed = groups.len();
        let mut group_of = vec![unnamed; self.ids.len()];
        let mut seen = vec![false; self.ids.len()];
        for (g, group) in groups.iter().enumerate() {
            for &id in group {
                let p = self.pos(id)?;
                if seen[p] {
                    return Err(FabricError::DuplicateNode(id));
                }
                seen[p] = true;
                group_of[p] = g;
            }
        }
        Ok(group_of)
    }

    fn set_up_where(&mut self, up: impl Fn(usize, usize) -> bool) {
        let n = self.ids.len();
        for a in 0..n {
            for b in 0..n {
                self.links[a * n + b].up = a == b || up(a, b);
            }
        }
    }

    fn pos(&self, id: NodeId) -> Result<usize, FabricError> {
        self.ids
            .binary_search(&id)
            .map_err(|_| FabricError::UnknownNode(id))
    }

    fn slot(&self, from: NodeId, to: NodeId) -> Result<usize, FabricError> {
        Ok(self.pos(from)? * self.ids.len() + self.pos(to)?)
    }
}

/// Partition groups as people write them: `1 2 | 3 4 5`.
pub fn format_groups(groups: &[Vec<NodeId>]) -> String {
    groups
        .iter()
        .map(|g| {
            g.iter()
                .map(|id| id.to_string())
                .collect::<Vec<_>>()
                .join(" ")
        })
        .collect::<Vec<_>>()
        .join(" | ")
}

impl fmt::Display for Fabric {
    /// `1 2 | 3 4 5`, followed by `(cut 1→3, 3→1)` when links inside a
    /// group are down.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&format_groups(&self.groups()))?;
        let cuts = self.partial_cuts();
        if !cuts.is_empty() {
            let cuts: Vec<String> = cuts.iter().map(|(a, b)| format!("{a}→{b}")).collect();
            write!(f, " (cut {})", cuts.join(", "))?;
        }
        Ok(())
    }
}

/// `10..50ms`, `20ms`, `1500us`, `0` (ms without a unit) into a delay
/// range in cluster µs: the console's `delay` and the dashboards'
/// `--latency` read it.
pub fn parse_delay_range(s: &str) -> Result<(u64, u64), String> {
    let bad = || format!("'{s}' is not a delay: write e.g. 10..50ms or 20ms");
    let (nums, scale) = if let Some(n) = s.strip_suffix("ms") {
        (n, 1_000)
    } else if let Some(n) = s.strip_suffix("us") {
        (n, 1)
    } else if let Some(n) = s.strip_suffix('s') {
        (n, 1_000_000)
    } else {
        (s, 1_000)
    };
    let num = |t: &str| -> Result<u64, String> {
        let v: u64 = t.trim().parse().map_err(|_| bad())?;
        v.checked_mul(scale).ok_or_else(bad)
    };
    let (a, b) = match nums.split_once("..") {
        Some((a, b)) => (num(a)?, num(b)?),
        None => {
            let v = num(nums)?;
            (v, v)
        }
    };
    if b < a {
        return Err(format!("in {s} the longest delay is below the shortest"));
    }
    Ok((a, b))
}

fn draw_delay(link: &Link, rng: &mut impl Rng) -> u64 {
    if link.delay_max_us <= link.delay_min_us {
        link.delay_min_us
    } else {
        rng.random_range(link.delay_min_us..=link.delay_max_us)
    }
}

fn check_probability(what: &'static str, value: f64) -> Result<(), FabricError> {
    if (0.0..=1.0).contains(&value) {
        Ok(())
    } else {
        Err(FabricError::BadProbability { what, value })
    }
}

fn check_delay(min_us: u64, max_us: u64) -> Result<(), FabricError> {
    if min_us <= max_us {
        Ok(())
    } else {
        Err(FabricError::BadDelay { min_us, max_us })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    fn five() -> Fabric {
        Fabric::new(&[1, 2, 3, 4, 5]).unwrap()
    }

    #[test]
    fn new_rejects_empty_and_duplicates() {
        assert_eq!(Fabric::new(&[]), Err(FabricError::NoNodes));
        assert_eq!(Fabric::new(&[1, 2, 1]), Err(FabricError::DuplicateNode(1)));
    }

    #[test]
    fn an_added_node_is_linked_and_keeps_the_others_links() {
        let mut f = five();
        f.cut(1, 2).unwrap();
        f.add_node(7).unwrap();
        assert_eq!(f.ids(), &[1, 2, 3, 4, 5, 7]);
        assert!(!f.is_up(1, 2));
        assert!(f.is_up(2, 1) && f.is_up(7, 1) && f.is_up(1, 7));
        assert_eq!(f.add_node(3), Err(FabricError::DuplicateNode(3)));
    }

    #[test]
    fn default_fabric_is_one_group_and_delivers_once() {
        let f = five();
        assert_eq!(f.to_string(), "1 2 3 4 5");
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        for _ in 0..100 {
            let d = f.decide(1, 2, &mut rng);
            assert_eq!(d.len(), 1);
            assert!((500..=2000).contains(&d[0]));
        }
    }

    #[test]
    fn isolate_and_heal() {
        let mut f = five();
        f.isolate(3).unwrap();
        assert_eq!(f.to_string(), "1 2 4 5 | 3");
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        assert!(f.decide(3, 1, &mut rng).is_empty());
        assert!(f.decide(1, 3, &mut rng).is_empty());
        f.heal();
        assert_eq!(f.to_string(), "1 2 3 4 5");
        assert_eq!(f.isolate(9), Err(FabricError::UnknownNode(9)));
    }

    #[test]
    fn partition_puts_unnamed_nodes_together() {
        let mut f = five();
        f.partition(&[vec![1, 2]]).unwrap();
        assert_eq!(f.groups(), vec![vec![1, 2], vec![3, 4, 5]]);
        f.partition(&[vec![1], vec![4, 2]]).unwrap();
        assert_eq!(f.to_string(), "1 | 2 4 | 3 5");
        // Partition replaces earlier cuts, and errors change nothing.
        assert_eq!(
            f.partition(&[vec![1, 2], vec![2]]),
            Err(FabricError::DuplicateNode(2))
        );
        assert_eq!(f.to_string(), "1 | 2 4 | 3 5");
        assert_eq!(f.partition(&[vec![7]]), Err(FabricError::UnknownNode(7)));
    }

    #[test]
    fn bridge_connects_two_sides_through_one_node() {
        let mut f = five();
        f.bridge(&[1, 2], 3, &[4, 5]).unwrap();
        assert!(f.is_up(1, 3) && f.is_up(3, 1) && f.is_up(3, 5) && f.is_up(5, 3));
        assert!(!f.is_up(1, 4) && !f.is_up(5, 2));
        assert!(f.is_up(1, 2) && f.is_up(4, 5));
        assert_eq!(f.groups(), vec![vec![1, 2, 3, 4, 5]]);
        assert!(f.to_string().starts_with("1 2 3 4 5 (cut 1→4, 1→5, 2→4"));
    }

    #[test]
    fn one_way_cut() {
        let mut f = five();
        f.cut(1, 2).unwrap();
        assert!(!f.is_up(1, 2));
        assert!(f.is_up(2, 1));
        assert_eq!(f.to_string(), "1 2 3 4 5 (cut 1→2)");
        f.restore(1, 2).unwrap();
        assert!(f.is_up(1, 2));
    }

    #[test]
    fn loss_duplicate_and_delay() {
        let mut f = five();
        let mut rng = ChaCha8Rng::seed_from_u64(7);
        f.set_loss(1.0).unwrap();
        assert!(f.decide(1, 2, &mut rng).is_empty());
        f.set_loss(0.0).unwrap();
        f.set_duplicate(1.0).unwrap();
        f.set_delay(10, 10).unwrap();
        assert_eq!(f.decide(1, 2, &mut rng), vec![10, 10]);
        f.set_link_loss(2, 1, 1.0).unwrap();
        assert!(f.decide(2, 1, &mut rng).is_empty());
        assert_eq!(f.decide(1, 2, &mut rng).len(), 2);
        // Heal keeps quality; reset restores the defaults.
        f.heal();
        assert!(f.decide(2, 1, &mut rng).is_empty());
        f.reset();
        assert_eq!(f.decide(2, 1, &mut rng).len(), 1);
    }

    #[test]
    fn the_base_latency_survives_reset_and_reaches_new_nodes() {
        let mut f = five();
        assert_eq!(f.latency(), Link::DEFAULT_DELAY_US);
        f.set_latency(10_000, 20_000).unwrap();
        assert_eq!(f.latency(), (10_000, 20_000));
        assert!(f.has_base_latency(1, 2));
        f.set_link_delay(1, 3, 50_000, 50_000).unwrap();
        assert!(!f.has_base_latency(1, 3) && f.has_base_latency(3, 1));
        let mut rng = ChaCha8Rng::seed_from_u64(5);
        assert_eq!(f.decide(1, 3, &mut rng), vec![50_000]);
        let d = f.decide(2, 1, &mut rng);
        assert!((10_000..=20_000).contains(&d[0]), "{d:?}");
        f.reset();
        assert!(f.has_base_latency(1, 3));
        f.add_node(6).unwrap();
        assert_eq!(f.link(6, 1).unwrap().delay_min_us, 10_000);
        assert_eq!(
            f.set_latency(9, 1),
            Err(FabricError::BadDelay {
                min_us: 9,
                max_us: 1
            })
        );
        assert_eq!(f.latency(), (10_000, 20_000));
    }

    #[test]
    fn half_loss_drops_about_half() {
        let mut f = five();
        f.set_loss(0.5).unwrap();
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        let delivered = (0..1000)
            .filter(|_| !f.decide(1, 2, &mut rng).is_empty())
            .count();
        assert!((400..600).contains(&delivered), "{delivered}");
    }

    #[test]
    fn delay_ranges_as_people_write_them() {
        assert_eq!(parse_delay_range("10..20ms"), Ok((10_000, 20_000)));
        assert_eq!(parse_delay_range("20ms"), Ok((20_000, 20_000)));
        assert_eq!(parse_delay_range("500us"), Ok((500, 500)));
        assert_eq!(parse_delay_range("1s"), Ok((1_000_000, 1_000_000)));
        assert_eq!(parse_delay_range("0"), Ok((0, 0)));
        assert!(parse_delay_range("50..10ms").unwrap_err().contains("below"));
        assert!(parse_delay_range("fast").unwrap_err().contains("10..50ms"));
    }

    #[test]
    fn validation_errors_are_typed() {
        let mut f = five();
        assert!(matches!(
            f.set_loss(1.5),
            Err(FabricError::BadProbability { what: "loss", .. })
        ));
        assert!(matches!(
            f.set_duplicate(f64::NAN),
            Err(FabricError::BadProbability { .. })
        ));
        assert_eq!(
            f.set_delay(5, 1),
            Err(FabricError::BadDelay {
                min_us: 5,
                max_us: 1
            })
        );
        assert_eq!(f.cut(1, 8), Err(FabricError::UnknownNode(8)));
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        assert!(f.decide(1, 8, &mut rng).is_empty());
    }
}
