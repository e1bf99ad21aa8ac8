//! Commands: what clients ask of the store, as carried in the Raft log.

use serde::{Deserialize, Serialize};

use super::KvError;
use crate::raft::Payload;

/// Identifies a client session.
pub type ClientId = u64;

/// One operation on the store.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Op {
    /// Set `key` to `value`.
    Put {
        /// The key.
        key: String,
        /// The new value.
        value: String,
    },
    /// Read `key`.
    Get {
        /// The key.
        key: String,
    },
    /// Remove `key`.
    Delete {
        /// The key.
        key: String,
    },
    /// Set `key` to `new` if it currently holds `old`.
    Cas {
        /// The key.
        key: String,
        /// The value it must hold.
        old: String,
        /// The value to set.
        new: String,
    },
}

impl Op {
    /// The key the operation touches.
    pub fn key(&self) -> &str {
        match self {
            Op::Put { key, .. } | Op::Get { key } | Op::Delete { key } | Op::Cas { key, .. } => key,
        }
    }

    /// Whether the operation changes the store (and so goes through the log).
    pub fn is_write(&self) -> bool {
        !matches!(self, Op::Get { .. })
    }

    /// The same operation with its key and values passed through `f` (how
    /// a script's `$i` is replaced).
    pub fn map_text(&self, f: impl Fn(&str) -> String) -> Op {
        match self {
            Op::Put { key, value } => Op::Put {
                key: f(key),
                value: f(value),
            },
            Op::Get { key } => Op::Get { key: f(key) },
            Op::Delete { key } => Op::Delete { key: f(key) },
            Op::Cas { key, old, new } => Op::Cas {
                key: f(key),
                old: f(old),
                new: f(new),
            },
        }
    }
}

/// The result of applying an operation.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum OpResult {
    /// A `put` or `delete` was applied.
    Done,
    /// A `get` read this value (`None`: absent).
    Value(Option<String>),
    /// A `cas` swapped (true) or found another value (false).
    Swapped(bool),
}

/// An operation with the client session that issued it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Command {
    /// The client's session id.
    pub client: ClientId,
    /// The client's sequence number for this operation, from 1, increasing.
    pub seq: u64,
    /// The operation.
    pub op: Op,
}

/// A [`Command`] that borrows its operation: it encodes to the same bytes,
/// without copying the operation's strings first.
#[derive(Serialize)]
struct CommandRef<'a> {
    client: ClientId,
    seq: u64,
    op: &'a Op,
}

/// A decoded [`Command`] that borrows its strings from the encoded bytes:
/// what the store reads to apply an entry without copying the strings it
/// may not keep (a put to an existing key overwrites the value in place).
#[derive(Debug, PartialEq, Eq, Deserialize)]
pub(crate) struct CommandView<'a> {
    /// The client's session id.
    pub(crate) client: ClientId,
    /// The client's sequence number.
    pub(crate) seq: u64,
    /// The operation.
    #[serde(borrow)]
    pub(crate) op: OpView<'a>,
}

/// An [`Op`] whose strings borrow from the encoded command. Its variants
/// and fields are [`Op`]'s, in the same order, so it decodes the same bytes.
#[derive(Debug, PartialEq, Eq, Deserialize)]
pub(crate) enum OpView<'a> {
    /// See [`Op::Put`].
    Put { key: &'a str, value: &'a str },
    /// See [`Op::Get`].
    Get { key: &'a str },
    /// See [`Op::Delete`].
    Delete { key: &'a str },
    /// See [`Op::Cas`].
    Cas {
        key: &'a str,
        old: &'a str,
        new: &'a str,
    },
}

impl<'a> CommandView<'a> {
    /// Decodes a command from the log entry at `index`, borrowing its strings.
    pub(crate) fn decode(index: u64, bytes: &'a [u8]) -> Result<CommandView<'a>, KvError> {
        postcard::from_bytes(bytes).map_err(|e| KvError::Decode {
            index,
            reason: e.to_string(),
        })
    }
}

impl Command {
    /// Encodes the command for a log entry.
    pub fn encode(&self) -> Vec<u8> {
        Command::encode_parts(self.client, self.seq, &self.op)
    }

    /// Encodes the command `(client, seq, op)` for a log entry, exactly as
    /// [`Command::encode`] would, without building the `Command`.
    pub fn encode_parts(client: ClientId, seq: u64, op: &Op) -> Vec<u8> {
        // Serializing plain strings and integers into a Vec cannot fail.
        postcard::to_allocvec(&CommandRef { client, seq, op }).unwrap_or_default()
    }

    /// [`Command::encode_parts`]'s bytes as a shared payload, built with
    /// one allocation when the command is small (encoded on the stack
    /// first, then copied once into the payload).
    pub fn encode_payload(client: ClientId, seq: u64, op: &Op) -> Payload {
        let mut buffer = [0u8; 256];
        match postcard::to_slice(&CommandRef { client, seq, op }, &mut buffer) {
            Ok(bytes) => Payload::from(&*bytes),
            Err(_) => Payload::from(Command::encode_parts(client, seq, op)),
        }
    }

    /// Decodes a command from the log entry at `index`.
    pub fn decode(index: u64, bytes: &[u8]) -> Result<Command, KvError> {
        postcard::from_bytes(bytes).map_err(|e| KvError::Decode {
            index,
            reason: e.to_string(),
        })
    }
}

/// How a client operation ended, as a client sees it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ClientOutcome {
    /// The cluster answered with this result.
    Ok(OpResult),
    /// No answer in time after some node accepted the operation: it may or
    /// may not take effect.
    Timeout,
    /// No node accepted it (e.g. the target is down, no leader was found in
    /// time); it did not take effect.
    Unavailable(String),
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The borrowed encoding is byte for byte the owned one, and decodes.
    #[test]
    fn encode_parts_is_encode() {
        let ops = [
            Op::Put {
                key: "k".into(),
                value: "v".into(),
            },
            Op::Get { key: "k".into() },
            Op::Delete { key: "k".into() },
            Op::Cas {
                key: "k".into(),
                old: "a".into(),
                new: "b".into(),
            },
        ];
        for op in ops {
            let command = Command {
                client: 1 << 40,
                seq: 300,
                op,
            };
            let bytes = Command::encode_parts(command.client, command.seq, &command.op);
            assert_eq!(bytes, command.encode());
            let payload = Command::encode_payload(command.client, command.seq, &command.op);
            assert_eq!(*payload, *bytes);
            assert_eq!(Command::decode(1, &bytes).ok(), Some(command.clone()));
            let view = CommandView::decode(1, &bytes).unwrap();
            assert_eq!((view.client, view.seq), (command.client, command.seq));
            let borrowed = match view.op {
                OpView::Put { key, value } => Op::Put {
                    key: key.into(),
                    value: value.into(),
                },
                OpView::Get { key } => Op::Get { key: key.into() },
                OpView::Delete { key } => Op::Delete { key: key.into() },
                OpView::Cas { key, old, new } => Op::Cas {
                    key: key.into(),
                    old: old.into(),
                    new: new.into(),
                },
            };
            assert_eq!(borrowed, command.op, "the view decodes the same op");
        }
        // Too big for the stack buffer: the same bytes all the same.
        let op = Op::Put {
            key: "k".repeat(300),
            value: "v".into(),
        };
        let big = Command::encode_payload(1, 2, &op);
        assert_eq!(*big, *Command::encode_parts(1, 2, &op));
    }
}

/// Operations built in one call, for tests.
#[cfg(test)]
pub(crate) mod test_ops {
    use super::Op;

    /// `put k v`.
    pub(crate) fn put(k: &str, v: &str) -> Op {
        Op::Put {
            key: k.into(),
            value: v.into(),
        }
    }

    /// `get k`.
    pub(crate) fn get(k: &str) -> Op {
        Op::Get { key: k.into() }
    }

    /// `cas k old new`.
    pub(crate) fn cas(k: &str, old: &str, new: &str) -> Op {
        Op::Cas {
            key: k.into(),
            old: old.into(),
            new: new.into(),
        }
    }
}
