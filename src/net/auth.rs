//! Who may speak on a raftlab connection: a cluster secret, a challenge
//! handshake, and a tag on every frame.
//!
//! Every node and client of a cluster holds the same secret (a file, see
//! [`super::secret`]). A connection is believed only once the side that
//! opened it has proved it knows that secret, and the side that accepted
//! it has proved the same back:
//!
//! 1. the acceptor sends a [`Challenge`]: protocol magic and version, its
//!    cluster id and a fresh random nonce;
//! 2. the connector answers with what it is (node N or a client), its own
//!    nonce, and an HMAC-SHA256 over both nonces, the cluster id and that
//!    claim, keyed by a key derived from the secret;
//! 3. the acceptor checks that tag (in constant time, by the `hmac` crate)
//!    and answers with its own tag over the same transcript, or a refusal.
//!
//! Each direction of the connection then gets its own key, derived with
//! HKDF-SHA256 from the secret, the cluster id and both nonces, and every
//! frame carries an HMAC-SHA256 tag over a per-direction sequence number
//! and its payload. So a frame recorded on one connection is refused on
//! any other (other nonces, other key), and on its own connection a frame
//! replayed, dropped or reordered breaks the sequence. A stranger without
//! the secret can open connections, but nothing it sends is believed. The
//! cluster id is in every derivation, so two clusters on one machine that
//! somehow share a secret still never take each other's frames. Frames are
//! authenticated, not encrypted: raftlab is a playground, and what it
//! guards against is forged and replayed frames, not being read.
//!
//! No cryptography is made here: HMAC, SHA-256 and HKDF are the RustCrypto
//! crates', nonces come from the operating system (`getrandom`).

use std::io::{self, Read, Write};
use std::net::TcpStream;
use std::time::Instant;

use hkdf::Hkdf;
use hmac::{Hmac, KeyInit, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

use super::frame::{self, FrameError};
use crate::raft::NodeId;

type HmacSha256 = Hmac<Sha256>;

/// Bytes of the tag at the end of every authenticated frame.
pub const TAG_LEN: usize = 32;
/// Bytes of each side's handshake nonce.
const NONCE_LEN: usize = 32;
/// Shortest secret accepted, in bytes.
pub const MIN_SECRET: usize = 16;
/// The first bytes every raftlab acceptor sends.
const MAGIC: [u8; 4] = *b"RLAB";
/// Version of this handshake and frame format.
const VERSION: u16 = 1;
/// Largest handshake frame: they are a few dozen bytes.
const HANDSHAKE_MAX: usize = 256;
/// HKDF salt: fixes the purpose of the derived keys.
const SALT: &[u8] = b"raftlab cluster secret v1";

/// Why a connection could not be authenticated, or a frame was refused.
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    /// The secret is too short to be one.
    #[error("a cluster secret must be at least {MIN_SECRET} bytes, this one has {0}")]
    ShortSecret(usize),
    /// The operating system gave no random bytes.
    #[error("no random bytes from the operating system: {0}")]
    Random(String),
    /// The handshake broke off (closed, timed out, garbage).
    #[error("the handshake broke off: {0}")]
    Frame(#[from] FrameError),
    /// The other end does not speak raftlab's protocol (or an older one).
    #[error(
        "it does not speak this raftlab protocol (a different program, or a raftlab older than this one)"
    )]
    NotRaftlab,
    /// The other end speaks another version of the protocol.
    #[error("it speaks raftlab protocol version {theirs}, this one speaks {ours}")]
    Version {
        /// Theirs.
        theirs: u16,
        /// Ours.
        ours: u16,
    },
    /// The other end belongs to another cluster.
    #[error("it belongs to cluster {theirs}, this one is cluster {ours}")]
    WrongCluster {
        /// The other end's cluster id.
        theirs: u64,
        /// Ours.
        ours: u64,
    },
    /// The connector said it belongs to another cluster (a node of it, or
    /// a client): the listener's side of [`AuthError::WrongCluster`].
    #[error("{claim} connected: it belongs to another cluster, this one is cluster {ours}")]
    ForeignConnector {
        /// What it said it is ([`Claim::Foreign`]).
        claim: Claim,
        /// Ours.
        ours: u64,
    },
    /// The acceptor refused our proof: its secret differs from ours.
    #[error("it refused this side's proof: the two hold different cluster secrets")]
    Refused,
    /// The connector's proof is wrong: its secret differs from ours (or
    /// it is a stranger guessing). Holds what it claimed to be.
    #[error("its proof (as {0}) is wrong: it does not hold this cluster's secret")]
    BadProof(Claim),
    /// The acceptor's proof is wrong: whoever listens there does not hold
    /// the secret.
    #[error(
        "the listener's proof is wrong: whoever listens there does not hold this cluster's secret"
    )]
    BadListenerProof,
    /// A frame's tag is wrong: forged, replayed, reordered or damaged.
    #[error("a frame failed authentication (forged, replayed or damaged)")]
    BadTag,
}

/// The key material of one cluster: derived from its secret, bound to its id.
#[derive(Clone)]
pub struct ClusterKey {
    hkdf: Hkdf<Sha256>,
    auth: HmacSha256,
    cluster: u64,
    fingerprint: String,
}

impl std::fmt::Debug for ClusterKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClusterKey")
            .field("cluster", &self.cluster)
            .field("fingerprint", &self.fingerprint)
            .finish_non_exhaustive()
    }
}

impl ClusterKey {
    /// The key of cluster `cluster` with `secret` (at least
    /// [`MIN_SECRET`] bytes).
    pub fn new(secret: &[u8], cluster: u64) -> Result<ClusterKey, AuthError> {
        if secret.len() < MIN_SECRET {
            return Err(AuthError::ShortSecret(secret.len()));
        }
        let hkdf = Hkdf::<Sha256>::new(Some(SALT), secret);
        let auth = mac(&expand(&hkdf, &[b"handshake", &cluster.to_le_bytes()]));
        let print = expand(&hkdf, &[b"fingerprint"]);
        let fingerprint = print[..4].iter().map(|b| format!("{b:02x}")).collect();
        Ok(ClusterKey {
            hkdf,
            auth,
            cluster,
            fingerprint,
        })
    }

    /// A key from 32 fresh random bytes: for a cluster that lives in one
    /// process (`--transport tcp`), whose nodes need no file to agree.
    pub fn random(cluster: u64) -> Result<ClusterKey, AuthError> {
        ClusterKey::new(&random_bytes::<32>()?, cluster)
    }

    /// The cluster id the key is bound to.
    pub fn cluster(&self) -> u64 {
        self.cluster
    }

    /// Eight hex digits that differ between secrets (and tell nothing
    /// usable about one): to compare two nodes' secrets by eye.
    pub fn fingerprint(&self) -> &str {
        &self.fingerprint
    }

    /// The handshake tag over `parts`.
    fn proof(&self, label: &[u8], parts: &Transcript) -> HmacSha256 {
        let mut m = self.auth.clone();
        m.update(label);
        parts.feed(&mut m);
        m
    }

    /// The key of one direction of one connection.
    fn direction(&self, label: &[u8], t: &Transcript) -> HmacSha256 {
        mac(&expand(
            &self.hkdf,
            &[
                label,
                &self.cluster.to_le_bytes(),
                &t.listener,
                &t.connector,
            ],
        ))
    }
}

fn expand(hkdf: &Hkdf<Sha256>, info: &[&[u8]]) -> [u8; 32] {
    let mut out = [0u8; 32];
    // 32 bytes is far below HKDF-SHA256's limit of 8160: cannot fail.
    let _ = hkdf.expand_multi_info(info, &mut out);
    out
}

fn mac(key: &[u8; 32]) -> HmacSha256 {
    // HMAC takes keys of any length; the `Err` arm cannot happen.
    match <HmacSha256 as KeyInit>::new_from_slice(key) {
        Ok(m) => m,
        Err(_) => unreachable!("HMAC accepts a 32-byte key"),
    }
}

/// `N` bytes from the operating system's random source.
pub fn random_bytes<const N: usize>() -> Result<[u8; N], AuthError> {
    let mut out = [0u8; N];
    getrandom::fill(&mut out).map_err(|e| AuthError::Random(e.to_string()))?;
    Ok(out)
}

/// What the connector says it is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Claim {
    /// Node `id` of the cluster (its peer links).
    Node(NodeId),
    /// A client (`raftlab client`, or a node asking as one).
    Client,
    /// A node (`Some(id)`) or a client (`None`) of another cluster: what
    /// a connector answers when the listener's challenge names a cluster
    /// not its own, so that the listener can say so too. It proves
    /// nothing, and the listener refuses it.
    Foreign {
        /// The connector's cluster id.
        cluster: u64,
        /// The node it is, if it is one.
        node: Option<NodeId>,
    },
}

impl std::fmt::Display for Claim {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Claim::Node(id) => write!(f, "n{id}"),
            Claim::Client => f.write_str("a client"),
            Claim::Foreign {
                cluster,
                node: Some(id),
            } => write!(f, "n{id} of cluster {cluster}"),
            Claim::Foreign {
                cluster,
                node: None,
            } => write!(f, "a client of cluster {cluster}"),
        }
    }
}

/// What both sides tag: the nonces, the cluster and the claim.
struct Transcript {
    cluster: u64,
    listener: [u8; NONCE_LEN],
    connector: [u8; NONCE_LEN],
    claim: Claim,
}

impl Transcript {
    fn feed(&self, m: &mut HmacSha256) {
        m.update(&self.cluster.to_le_bytes());
        m.update(&self.listener);
        m.update(&self.connector);
        match self.claim {
            Claim::Node(id) => {
                m.update(b"node");
                m.update(&id.to_le_bytes());
            }
            Claim::Client => m.update(b"client"),
            Claim::Foreign { cluster, node } => {
                m.update(b"foreign");
                m.update(&cluster.to_le_bytes());
                m.update(&node.unwrap_or(0).to_le_bytes());
            }
        }
    }
}

/// Step 1, acceptor → connector.
#[derive(Debug, Serialize, Deserialize)]
struct Challenge {
    magic: [u8; 4],
    version: u16,
    cluster: u64,
    nonce: [u8; NONCE_LEN],
}

/// Step 2, connector → acceptor.
#[derive(Debug, Serialize, Deserialize)]
struct Answer {
    claim: Claim,
    nonce: [u8; NONCE_LEN],
    proof: [u8; TAG_LEN],
}

/// Step 3, acceptor → connector.
#[derive(Debug, Serialize, Deserialize)]
enum Verdict {
    /// Proof accepted; here is the acceptor's.
    Accepted { proof: [u8; TAG_LEN] },
    /// Proof refused (the connection closes).
    Refused,
}

/// Tags outgoing frames of one direction of a connection.
#[derive(Clone)]
pub struct Sealer {
    mac: HmacSha256,
    seq: u64,
}

impl Sealer {
    /// The whole frame for `payload`: length prefix, payload, tag.
    pub fn seal(&mut self, payload: &[u8], max: usize) -> Result<Vec<u8>, FrameError> {
        let tag = self.tag(payload);
        frame::frame_bytes(payload, &tag, max + TAG_LEN)
    }

    /// The tag of the next frame, whose payload is `payload` (to append
    /// after it: see [`frame::encode_into`]).
    pub fn tag(&mut self, payload: &[u8]) -> [u8; TAG_LEN] {
        let mut m = self.mac.clone();
        m.update(&self.seq.to_le_bytes());
        m.update(payload);
        self.seq += 1;
        m.finalize().into_bytes().into()
    }
}

/// Checks incoming frames of one direction of a connection.
pub struct Opener {
    mac: HmacSha256,
    seq: u64,
}

impl Opener {
    /// The payload of `frame` (what [`frame::read_payload`] returned)
    /// without its tag, if the tag is right for the next sequence number.
    pub fn open(&mut self, mut frame: Vec<u8>) -> Result<Vec<u8>, AuthError> {
        let at = self.open_slice(&frame)?.len();
        frame.truncate(at);
        Ok(frame)
    }

    /// [`open`](Self::open) on a borrowed frame: its payload, without
    /// the tag, if the tag is right for the next sequence number.
    pub fn open_slice<'a>(&mut self, frame: &'a [u8]) -> Result<&'a [u8], AuthError> {
        let Some(at) = frame.len().checked_sub(TAG_LEN) else {
            return Err(AuthError::BadTag);
        };
        let mut m = self.mac.clone();
        m.update(&self.seq.to_le_bytes());
        m.update(&frame[..at]);
        m.verify_slice(&frame[at..])
            .map_err(|_| AuthError::BadTag)?;
        self.seq += 1;
        Ok(&frame[..at])
    }
}

/// A stream whose reads and writes all end by one deadline, however the
/// other end trickles its bytes.
struct Timed<'a> {
    stream: &'a TcpStream,
    deadline: Instant,
}

impl Timed<'_> {
    fn left(&self) -> io::Result<std::time::Duration> {
        let left = self.deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(io::Error::new(io::ErrorKind::TimedOut, "no answer in time"));
        }
        Ok(left)
    }
}

impl Read for Timed<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.stream.set_read_timeout(Some(self.left()?))?;
        let mut s = self.stream;
        s.read(buf)
    }
}

impl Write for Timed<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.stream.set_write_timeout(Some(self.left()?))?;
        let mut s = self.stream;
        s.write(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// A stream read until `deadline`: every read has at most the time left.
pub fn until(stream: &TcpStream, deadline: Instant) -> impl Read + Write + '_ {
    Timed { stream, deadline }
}

/// The connector's half of the handshake, all of it by `deadline`.
/// Returns the sealer of what it sends and the opener of what it receives.
pub fn connect(
    stream: &TcpStream,
    key: &ClusterKey,
    claim: Claim,
    deadline: Instant,
) -> Result<(Sealer, Opener), AuthError> {
    let mut io = Timed { stream, deadline };
    let challenge: Challenge = frame::read_frame(&mut io, HANDSHAKE_MAX)?;
    if challenge.magic != MAGIC {
        return Err(AuthError::NotRaftlab);
    }
    if challenge.version != VERSION {
        return Err(AuthError::Version {
            theirs: challenge.version,
            ours: VERSION,
        });
    }
    if challenge.cluster != key.cluster {
        // Say which cluster this side is, so that the listener's operator
        // is told too; the proof is left empty, as there is none to give.
        let node = match claim {
            Claim::Node(id) => Some(id),
            Claim::Client | Claim::Foreign { .. } => None,
        };
        let answer = Answer {
            claim: Claim::Foreign {
                cluster: key.cluster,
                node,
            },
            nonce: [0; NONCE_LEN],
            proof: [0; TAG_LEN],
        };
        let _ = frame::write_frame(&mut io, &answer, HANDSHAKE_MAX);
        return Err(AuthError::WrongCluster {
            theirs: challenge.cluster,
            ours: key.cluster,
        });
    }
    let t = Transcript {
        cluster: key.cluster,
        listener: challenge.nonce,
        connector: random_bytes()?,
        claim,
    };
    let proof = key.proof(b"connector", &t).finalize().into_bytes().into();
    let answer = Answer {
        claim,
        nonce: t.connector,
        proof,
    };
    frame::write_frame(&mut io, &answer, HANDSHAKE_MAX)?;
    match frame::read_frame::<_, Verdict>(&mut io, HANDSHAKE_MAX)? {
        Verdict::Accepted { proof } => key
            .proof(b"listener", &t)
            .verify_slice(&proof)
            .map_err(|_| AuthError::BadListenerProof)?,
        Verdict::Refused => return Err(AuthError::Refused),
    }
    Ok(sealer_and_opener(
        key,
        &t,
        b"connector to listener",
        b"listener to connector",
    ))
}

/// One side's sealer and opener for the connection `t` describes: it
/// seals under the key of direction `sends` and opens under that of
/// `receives` (each side's `sends` is the other's `receives`).
fn sealer_and_opener(
    key: &ClusterKey,
    t: &Transcript,
    sends: &[u8],
    receives: &[u8],
) -> (Sealer, Opener) {
    let sealer = Sealer {
        mac: key.direction(sends, t),
        seq: 0,
    };
    let opener = Opener {
        mac: key.direction(receives, t),
        seq: 0,
    };
    (sealer, opener)
}

/// The acceptor's half of the handshake, all of it by `deadline`.
/// Returns what the connector proved it is, and the sealer and opener of
/// this side.
pub fn accept(
    stream: &TcpStream,
    key: &ClusterKey,
    deadline: Instant,
) -> Result<(Claim, Sealer, Opener), AuthError> {
    let mut io = Timed { stream, deadline };
    let nonce = random_bytes()?;
    let challenge = Challenge {
        magic: MAGIC,
        version: VERSION,
        cluster: key.cluster,
        nonce,
    };
    frame::write_frame(&mut io, &challenge, HANDSHAKE_MAX)?;
    let answer: Answer = frame::read_frame(&mut io, HANDSHAKE_MAX)?;
    if let Claim::Foreign { .. } = answer.claim {
        let _ = frame::write_frame(&mut io, &Verdict::Refused, HANDSHAKE_MAX);
        return Err(AuthError::ForeignConnector {
            claim: answer.claim,
            ours: key.cluster,
        });
    }
    let t = Transcript {
        cluster: key.cluster,
        listener: nonce,
        connector: answer.nonce,
        claim: answer.claim,
    };
    if key
        .proof(b"connector", &t)
        .verify_slice(&answer.proof)
        .is_err()
    {
        let _ = frame::write_frame(&mut io, &Verdict::Refused, HANDSHAKE_MAX);
        return Err(AuthError::BadProof(answer.claim));
    }
    let proof = key.proof(b"listener", &t).finalize().into_bytes().into();
    frame::write_frame(&mut io, &Verdict::Accepted { proof }, HANDSHAKE_MAX)?;
    let (sealer, opener) =
        sealer_and_opener(key, &t, b"listener to connector", b"connector to listener");
    Ok((answer.claim, sealer, opener))
}

#[cfg(test)]
mod tests;
