//! The address book of one node of a multi-process cluster.
//!
//! A `raftlab node` knows its peers from `--peers`, but a node that joins
//! later (`raftlab node --join`) is in nobody's list. So nodes introduce
//! themselves: each sends [`Wire::Hello`] (its id and the address others
//! should use: its `--advertise`, else where it listens) as the first
//! frame of every connection it opens and again every few seconds, and a
//! node that hears of an id it has no address for, or of a learned id at
//! a new address, points its transport there ([`TcpTransport::set_peer`])
//! and writes the address down in its data directory (`DIR/node-ID/peers`,
//! written to a temporary name, synced and renamed). A node restarted
//! with its original `--peers` reads that file and still reaches the
//! nodes that joined after it started. (Learning a peer from its hello is
//! `Shared::learn_peer`, in `shared.rs`, beside the state it changes.)
//!
//! The operator's word wins: an id named in `--peers` keeps the address
//! given there, whatever a hello says (a proxy, a NAT or a port mapping
//! between the nodes stays in the path). And only a peer that proved the
//! cluster secret as node N may say where node N is: the transport checks
//! the proof, the node thread checks that the hello's id is the one the
//! connection proved (see `may_speak_for` in `node.rs`).
//!
//! The same file records the node's *bootstrap configuration*: the voters
//! it used before its log named any configuration. An original member's
//! is its `--peers`; a joining node's leaves itself out, so it never
//! campaigns and waits for the leader to send it the log. It is written
//! at the first start and read on every restart, so restarting a node
//! with a different `--peers`, or without `--join`, does not change it.
//!
//! [`Wire::Hello`]: crate::net::Wire::Hello
//! [`TcpTransport::set_peer`]: crate::net::TcpTransport::set_peer

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::io::Write as _;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use super::{MAX_NODES, RuntimeError};
use crate::raft::NodeId;

/// Name of the address book's file in a node's directory.
pub const BOOK_FILE: &str = "peers";

/// What one node knows of the cluster's addresses, and how it started.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AddressBook {
    /// Where it is kept (`None`: in memory only).
    path: Option<PathBuf>,
    /// The voters the node started with, before its log named any
    /// configuration (empty: not known yet).
    pub bootstrap: Vec<NodeId>,
    /// Every known node's address, this node's own included.
    pub addrs: BTreeMap<NodeId, SocketAddr>,
    /// The ids whose address the operator gave (`--peers`): a hello
    /// never moves them. Not written to the file: each start's
    /// `--peers` says.
    pub pinned: BTreeSet<NodeId>,
}

impl AddressBook {
    /// An empty book kept at `path`.
    pub fn new(path: Option<PathBuf>) -> AddressBook {
        AddressBook {
            path,
            ..AddressBook::default()
        }
    }

    /// Reads the book at `path`; an absent file is an empty book.
    pub fn load(path: &Path) -> Result<AddressBook, RuntimeError> {
        let bad = |reason: String| RuntimeError::AddressBook {
            path: path.display().to_string(),
            reason,
        };
        let text = match std::fs::read_to_string(path) {
            Ok(text) => text,
            // No file yet (or no directory: the storage reports that).
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::NotFound | std::io::ErrorKind::NotADirectory
                ) =>
            {
                return Ok(AddressBook::new(Some(path.to_path_buf())));
            }
            Err(e) => return Err(bad(e.to_string())),
        };
        let mut book = AddressBook::new(Some(path.to_path_buf()));
        for (n, line) in text.lines().enumerate() {
            let line = line.trim();
            let at = |what: &str| bad(format!("line {}: {what}: '{line}'", n + 1));
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            if let Some(ids) = line.strip_prefix("bootstrap") {
                book.bootstrap = ids
                    .split_whitespace()
                    .map(|id| id.parse().ok().filter(|id| valid(*id)))
                    .collect::<Option<Vec<NodeId>>>()
                    .ok_or_else(|| at("bad node id"))?;
                continue;
            }
            let (id, addr) = line.split_once('=').ok_or_else(|| at("not ID=IP:PORT"))?;
            let id: NodeId = id
                .trim()
                .parse()
                .ok()
                .filter(|id| valid(*id))
                .ok_or_else(|| at("bad node id"))?;
            let addr: SocketAddr = addr.trim().parse().map_err(|_| at("bad address"))?;
            book.addrs.insert(id, addr);
        }
        Ok(book)
    }

    /// Writes the book to its file, atomically: a temporary file, synced,
    /// renamed over the old one. A book without a path is not written.
    pub fn save(&self) -> Result<(), RuntimeError> {
        let Some(path) = &self.path else {
            return Ok(());
        };
        let bad = |e: std::io::Error| RuntimeError::AddressBook {
            path: path.display().to_string(),
            reason: e.to_string(),
        };
        let mut text = String::from(
            "# raftlab address book: the addresses this node learned, and the voters it\n\
             # started with (its bootstrap configuration). Written by the node.\n",
        );
        let ids: Vec<String> = self.bootstrap.iter().map(ToString::to_string).collect();
        let _ = writeln!(text, "bootstrap {}", ids.join(" "));
        for (id, addr) in &self.addrs {
            let _ = writeln!(text, "{id}={addr}");
        }
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(bad)?;
        }
        let tmp = path.with_extension("tmp");
        let mut file = std::fs::File::create(&tmp).map_err(bad)?;
        file.write_all(text.as_bytes()).map_err(bad)?;
        file.sync_all().map_err(bad)?;
        std::fs::rename(&tmp, path).map_err(bad)?;
        if let Some(dir) = path.parent()
            && let Ok(dir) = std::fs::File::open(dir)
        {
            // Makes the rename durable where the system allows it.
            let _ = dir.sync_all();
        }
        Ok(())
    }
}

/// Whether `id` is a node id raftlab accepts (1 to 9).
pub(crate) fn valid(id: NodeId) -> bool {
    (1..=MAX_NODES as NodeId).contains(&id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_book_survives_a_round_trip_and_bad_files_are_errors() {
        let dir = std::env::temp_dir().join(format!("raftlab-book-{}", std::process::id()));
        let path = dir.join("node-4").join(BOOK_FILE);
        assert_eq!(AddressBook::load(&path).unwrap().addrs.len(), 0);
        let mut book = AddressBook::new(Some(path.clone()));
        book.bootstrap = vec![1, 2, 3];
        book.addrs.insert(1, "127.0.0.1:7001".parse().unwrap());
        book.addrs.insert(4, "127.0.0.1:7004".parse().unwrap());
        book.save().unwrap();
        assert_eq!(AddressBook::load(&path).unwrap(), book);
        for bad in ["12=127.0.0.1:1", "1=nowhere", "bootstrap 1 x", "junk"] {
            std::fs::write(&path, bad).unwrap();
            let e = AddressBook::load(&path).unwrap_err().to_string();
            assert!(e.contains("line 1"), "{bad}: {e}");
        }
        let _ = std::fs::remove_dir_all(&dir);
    }
}
