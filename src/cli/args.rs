//! Parsers for the argument forms the subcommands share: node counts, seed
//! ranges, durations and peer lists. Each returns a message fit to show the
//! user.

use std::collections::BTreeMap;
use std::fmt;
use std::net::SocketAddr;
use std::str::FromStr;

use crate::raft::NodeId;
use crate::sim::Extensions;

/// `--no-prevote` and `--no-check-quorum`: the Raft of the paper, without
/// the two extensions raftlab runs by default. Shared by the dashboards,
/// `class`, `check`, `replay` and `node`.
#[derive(Clone, Copy, Debug, Default, clap::Args)]
pub struct ExtensionFlags {
    /// Run without PreVote (as in the Raft paper): a node cut off from the
    /// others keeps raising its term, and disrupts the leader when it
    /// comes back.
    #[arg(long)]
    pub no_prevote: bool,
    /// Run without CheckQuorum (as in the Raft paper): a leader cut off in
    /// a minority never steps down, and followers grant votes even while
    /// they hear from a leader.
    #[arg(long)]
    pub no_check_quorum: bool,
}

impl ExtensionFlags {
    /// The extensions the flags leave on.
    pub fn extensions(self) -> Extensions {
        Extensions {
            pre_vote: !self.no_prevote,
            check_quorum: !self.no_check_quorum,
        }
    }
}

/// The largest cluster raftlab runs (node ids are single digits).
pub const MAX_NODES: usize = 9;

/// Parses a cluster size, 1 to 9.
pub fn parse_nodes(s: &str) -> Result<usize, String> {
    let n: usize = s
        .trim()
        .parse()
        .map_err(|_| format!("'{s}' is not a number of nodes (1–{MAX_NODES})"))?;
    if !(1..=MAX_NODES).contains(&n) {
        return Err(format!("a cluster has 1 to {MAX_NODES} nodes, not {n}"));
    }
    Ok(n)
}

/// A half-open range of seeds, `A..B`, or a single seed `A` (= `A..A+1`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SeedRange {
    /// First seed.
    pub start: u64,
    /// One past the last seed.
    pub end: u64,
}

impl SeedRange {
    /// How many seeds the range holds.
    pub fn len(&self) -> u64 {
        self.end - self.start
    }

    /// Whether the range is empty (never true for a parsed range).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl fmt::Display for SeedRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}..{}", self.start, self.end)
    }
}

impl FromStr for SeedRange {
    type Err = String;

    fn from_str(s: &str) -> Result<SeedRange, String> {
        let bad = || format!("'{s}' is not a seed range: write A..B (B excluded) or one seed A");
        let (start, end) = match s.split_once("..") {
            Some((a, b)) => {
                let start: u64 = a.trim().parse().map_err(|_| bad())?;
                let end: u64 = b.trim().parse().map_err(|_| bad())?;
                (start, end)
            }
            None => {
                let start: u64 = s.trim().parse().map_err(|_| bad())?;
                (start, start.checked_add(1).ok_or_else(bad)?)
            }
        };
        if end <= start {
            return Err(format!(
                "the seed range {start}..{end} is empty: the end is excluded, so it must be above the start"
            ));
        }
        Ok(SeedRange { start, end })
    }
}

/// The one seed `--seed` or `--seeds` names, `None` when neither is given;
/// a range of more than one seed is refused, in a message that begins with
/// `shows` (`"replay shows"`: "replay shows one run, and …").
pub fn one_seed(
    seed: Option<u64>,
    seeds: Option<SeedRange>,
    shows: &str,
) -> Result<Option<u64>, String> {
    match (seed, seeds) {
        (Some(s), _) => Ok(Some(s)),
        (None, Some(r)) if r.len() == 1 => Ok(Some(r.start)),
        (None, Some(r)) => Err(format!(
            "{shows} one run, and --seeds {r} holds {} seeds; pick one, e.g. --seed {}",
            r.len(),
            r.start
        )),
        (None, None) => Ok(None),
    }
}

/// Parses a duration such as `10s`, `500ms`, `2m` or `1500us` into microseconds.
pub fn parse_duration_us(s: &str) -> Result<u64, String> {
    let t = s.trim();
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let bad = || format!("'{s}' is not a duration: write e.g. 500ms, 10s or 2m");
    let n: u64 = num.parse().map_err(|_| bad())?;
    let scale = match unit {
        "us" => 1,
        "ms" => 1_000,
        "s" => 1_000_000,
        "m" => 60_000_000,
        _ => return Err(bad()),
    };
    n.checked_mul(scale).ok_or_else(bad)
}

/// `--speed`: "2", "2x" or "0.5×" into a playback factor from 0.1 to 10,
/// by the console's own `speed` parser.
pub use crate::tui::command::parse_speed;

/// The nodes of a multi-process cluster and their addresses, by id.
pub type Peers = BTreeMap<NodeId, SocketAddr>;

/// Parses `--peers`: `ID=IP:PORT` pairs separated by commas, ids 1 to 9
/// (gaps allowed: a cluster may have lost or never had a node), each id
/// and address once.
pub fn parse_peers(s: &str) -> Result<Peers, String> {
    let mut peers = Peers::new();
    for part in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let bad = || format!("'{part}' is not a peer: write ID=IP:PORT, e.g. 1=127.0.0.1:7001");
        let (id, addr) = part.split_once('=').ok_or_else(bad)?;
        let id: NodeId = id.trim().parse().map_err(|_| bad())?;
        let addr: SocketAddr = addr.trim().parse().map_err(|_| bad())?;
        if addr.port() == 0 {
            return Err(format!("peer {id} needs a port other than 0"));
        }
        if peers.values().any(|a| *a == addr) {
            return Err(format!("address {addr} is given twice"));
        }
        if peers.insert(id, addr).is_some() {
            return Err(format!("node {id} is given twice"));
        }
    }
    let n = peers.len();
    if n == 0 {
        return Err("no peers given: write e.g. 1=127.0.0.1:7001,2=127.0.0.1:7002".into());
    }
    if let Some(bad) = peers
        .keys()
        .find(|&&id| !(1..=MAX_NODES as NodeId).contains(&id))
    {
        return Err(format!("peer ids must be 1 to {MAX_NODES}, not {bad}"));
    }
    Ok(peers)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seed_ranges() {
        assert_eq!("3..7".parse(), Ok(SeedRange { start: 3, end: 7 }));
        assert_eq!("5".parse(), Ok(SeedRange { start: 5, end: 6 }));
        assert!("7..3".parse::<SeedRange>().is_err());
        assert!("4..4".parse::<SeedRange>().is_err());
        assert!("a..b".parse::<SeedRange>().is_err());
        assert!("-1..3".parse::<SeedRange>().is_err());
    }

    #[test]
    fn node_counts() {
        assert_eq!(parse_nodes("5"), Ok(5));
        assert!(parse_nodes("0").is_err());
        assert!(parse_nodes("10").is_err());
        assert!(parse_nodes("x").is_err());
    }

    #[test]
    fn peer_lists() {
        let peers = parse_peers("1=127.0.0.1:7001, 2=127.0.0.1:7002,3=[::1]:7003").unwrap();
        assert_eq!(peers.len(), 3);
        assert_eq!(peers[&2].port(), 7002);
        for bad in [
            "",
            "1=127.0.0.1",
            "1:127.0.0.1:7001",
            "x=127.0.0.1:7001",
            "1=localhost:7001",
            "1=127.0.0.1:0",
            "1=127.0.0.1:7001,1=127.0.0.1:7002",
            "1=127.0.0.1:7001,2=127.0.0.1:7001",
            "10=127.0.0.1:7010",
            "0=127.0.0.1:7001",
        ] {
            assert!(parse_peers(bad).is_err(), "{bad:?} should be refused");
        }
        // Gaps are fine: node 2 was removed, or 4 joined later.
        let gaps = parse_peers("1=127.0.0.1:7001,3=127.0.0.1:7003,4=127.0.0.1:7004").unwrap();
        assert_eq!(gaps.keys().copied().collect::<Vec<_>>(), vec![1, 3, 4]);
        assert!(
            parse_peers("12=127.0.0.1:7012")
                .unwrap_err()
                .contains("1 to 9")
        );
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration_us("10s"), Ok(10_000_000));
        assert_eq!(parse_duration_us("500ms"), Ok(500_000));
        assert_eq!(parse_duration_us("2m"), Ok(120_000_000));
        assert!(parse_duration_us("fast").is_err());
        assert!(parse_duration_us("10").is_err());
    }
}
