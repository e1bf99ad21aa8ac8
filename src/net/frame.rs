//! Length-prefixed postcard frames: how values travel over a TCP stream.
//!
//! A frame is a 4-byte little-endian payload length followed by the payload,
//! the [postcard](https://docs.rs/postcard) encoding of one value. The
//! length is checked against a cap *before* anything is allocated, so a
//! peer that announces a 4 GiB frame costs nothing but the connection. A
//! frame whose payload does not decode is reported and skipped: the stream
//! is still in step, since the length said where the next frame begins. A
//! frame that is too large cannot be skipped safely and ends the stream.

use std::io::{self, Read, Write};

use serde::Serialize;
use serde::de::DeserializeOwned;

/// Bytes of the length prefix.
pub const HEADER_LEN: usize = 4;

/// Default cap on a frame's payload: 16 MiB (a snapshot chunk or a batch of
/// 64 entries is far smaller).
pub const DEFAULT_MAX_FRAME: usize = 16 << 20;

/// Why a frame could not be read, written or decoded.
#[derive(Debug, thiserror::Error)]
pub enum FrameError {
    /// The announced (or encoded) payload is larger than the cap. Reading
    /// stops before allocating; the stream cannot be trusted afterwards.
    #[error("frame of {len} bytes exceeds the {max}-byte limit")]
    TooLarge {
        /// The payload length announced or produced.
        len: u64,
        /// The cap in force.
        max: usize,
    },
    /// The payload is not a valid encoding of the expected type.
    #[error("frame of {len} bytes does not decode: {reason}")]
    Decode {
        /// Payload length.
        len: usize,
        /// What postcard said.
        reason: String,
    },
    /// The value could not be encoded.
    #[error("cannot encode a frame: {0}")]
    Encode(String),
    /// The stream ended cleanly between frames.
    #[error("the connection was closed")]
    Closed,
    /// The stream failed (or ended in the middle of a frame).
    #[error("connection error: {0}")]
    Io(#[from] io::Error),
}

impl FrameError {
    /// Whether the stream can still be read after this error (only a
    /// payload that did not decode leaves it in step).
    pub fn is_recoverable(&self) -> bool {
        matches!(self, FrameError::Decode { .. })
    }
}

/// Encodes `value` as one frame: length prefix and payload.
pub fn encode<T: Serialize>(value: &T, max: usize) -> Result<Vec<u8>, FrameError> {
    let mut out = vec![0u8; HEADER_LEN];
    out = postcard::to_extend(value, out).map_err(|e| FrameError::Encode(e.to_string()))?;
    let len = out.len() - HEADER_LEN;
    if len > max || u32::try_from(len).is_err() {
        return Err(FrameError::TooLarge {
            len: len as u64,
            max,
        });
    }
    out[..HEADER_LEN].copy_from_slice(&(len as u32).to_le_bytes());
    Ok(out)
}

/// The postcard payload of `value`, refused if over `max` bytes.
pub fn encode_payload<T: Serialize>(value: &T, max: usize) -> Result<Vec<u8>, FrameError> {
    let out = postcard::to_allocvec(value).map_err(|e| FrameError::Encode(e.to_string()))?;
    if out.len() > max {
        return Err(FrameError::TooLarge {
            len: out.len() as u64,
            max,
        });
    }
    Ok(out)
}

/// Appends `value` to `out` as one frame whose payload is followed by
/// `tail` more bytes the caller appends next (an authentication tag, or
/// none): the length prefix counts them. Returns where the payload starts
/// in `out`. A value that does not encode, or whose payload is over `max`
/// bytes, leaves `out` as it was.
pub fn encode_into<T: Serialize>(
    value: &T,
    out: &mut Vec<u8>,
    max: usize,
    tail: usize,
) -> Result<usize, FrameError> {
    let start = out.len();
    out.extend_from_slice(&[0; HEADER_LEN]);
    if let Err(e) = postcard::to_io(value, &mut *out) {
        out.truncate(start);
        return Err(FrameError::Encode(e.to_string()));
    }
    let len = out.len() - start - HEADER_LEN;
    let framed = (len + tail) as u64;
    if len > max || u32::try_from(framed).is_err() {
        out.truncate(start);
        return Err(FrameError::TooLarge {
            len: len as u64,
            max,
        });
    }
    out[start..start + HEADER_LEN].copy_from_slice(&(framed as u32).to_le_bytes());
    Ok(start + HEADER_LEN)
}

/// One frame holding `payload` then `tail` (an authentication tag, or
/// nothing), refused if the two together are over `max` bytes.
pub fn frame_bytes(payload: &[u8], tail: &[u8], max: usize) -> Result<Vec<u8>, FrameError> {
    let len = payload.len() + tail.len();
    if len > max || u32::try_from(len).is_err() {
        return Err(FrameError::TooLarge {
            len: len as u64,
            max,
        });
    }
    let mut out = Vec::with_capacity(HEADER_LEN + len);
    out.extend_from_slice(&(len as u32).to_le_bytes());
    out.extend_from_slice(payload);
    out.extend_from_slice(tail);
    Ok(out)
}

/// Writes `value` as one frame (a single `write_all`, then a flush).
pub fn write_frame<W: Write, T: Serialize>(
    w: &mut W,
    value: &T,
    max: usize,
) -> Result<(), FrameError> {
    let bytes = encode(value, max)?;
    w.write_all(&bytes)?;
    w.flush()?;
    Ok(())
}

/// Reads one frame's payload. The length is checked against `max` before
/// the buffer is allocated. [`FrameError::Closed`] when the stream ends
/// exactly between frames.
pub fn read_payload<R: Read>(r: &mut R, max: usize) -> Result<Vec<u8>, FrameError> {
    let mut payload = Vec::new();
    read_payload_into(r, max, &mut payload)?;
    Ok(payload)
}

/// [`read_payload`] into `payload` (its old contents replaced), so a
/// reader of many frames reuses one buffer instead of allocating each.
pub fn read_payload_into<R: Read>(
    r: &mut R,
    max: usize,
    payload: &mut Vec<u8>,
) -> Result<(), FrameError> {
    let mut header = [0u8; HEADER_LEN];
    let mut got = 0;
    while got < HEADER_LEN {
        match r.read(&mut header[got..]) {
            Ok(0) if got == 0 => return Err(FrameError::Closed),
            Ok(0) => return Err(io::Error::from(io::ErrorKind::UnexpectedEof).into()),
            Ok(n) => got += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e.into()),
        }
    }
    let len = u32::from_le_bytes(header) as u64;
    if len > max as u64 {
        return Err(FrameError::TooLarge { len, max });
    }
    payload.clear();
    payload.resize(len as usize, 0);
    r.read_exact(payload)?;
    Ok(())
}

/// Decodes a payload read by [`read_payload`]. Trailing bytes after the
/// value are refused too: a frame holds exactly one value.
pub fn decode<T: DeserializeOwned>(payload: &[u8]) -> Result<T, FrameError> {
    let bad = |reason: String| FrameError::Decode {
        len: payload.len(),
        reason,
    };
    match postcard::take_from_bytes(payload) {
        Ok((value, [])) => Ok(value),
        Ok((_, rest)) => Err(bad(format!("{} trailing bytes", rest.len()))),
        Err(e) => Err(bad(e.to_string())),
    }
}

/// Reads and decodes one frame.
pub fn read_frame<R: Read, T: DeserializeOwned>(r: &mut R, max: usize) -> Result<T, FrameError> {
    decode(&read_payload(r, max)?)
}

#[cfg(test)]
mod tests {
    use std::io::Cursor;

    use super::*;
    use crate::raft::{Body, Message};

    fn message() -> Message {
        Message {
            from: 1,
            to: 2,
            term: 3,
            body: Body::Heartbeat {
                commit: 4,
                read_seq: 5,
            },
        }
    }

    #[test]
    fn round_trip() {
        let mut buf = Vec::new();
        write_frame(&mut buf, &message(), DEFAULT_MAX_FRAME).unwrap();
        write_frame(&mut buf, &"second".to_string(), DEFAULT_MAX_FRAME).unwrap();
        let len = u32::from_le_bytes([buf[0], buf[1], buf[2], buf[3]]) as usize;
        assert_eq!(len, postcard::to_allocvec(&message()).unwrap().len());
        let mut r = Cursor::new(buf);
        let m: Message = read_frame(&mut r, DEFAULT_MAX_FRAME).unwrap();
        assert_eq!(m, message());
        let s: String = read_frame(&mut r, DEFAULT_MAX_FRAME).unwrap();
        assert_eq!(s, "second");
        assert!(matches!(
            read_frame::<_, String>(&mut r, DEFAULT_MAX_FRAME),
            Err(FrameError::Closed)
        ));
    }

    /// A reader that fails the test if asked for more than the header: an
    /// oversized length must be refused before reading (or allocating) the
    /// payload.
    struct HeaderOnly(Cursor<Vec<u8>>);

    impl Read for HeaderOnly {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            assert!(
                self.0.position() < HEADER_LEN as u64,
                "read past the header"
            );
            let left = HEADER_LEN - self.0.position() as usize;
            let n = buf.len().min(left);
            self.0.read(&mut buf[..n])
        }
    }

    #[test]
    fn oversized_length_is_refused_without_allocating() {
        let header = u32::MAX.to_le_bytes().to_vec();
        let err = read_payload(&mut HeaderOnly(Cursor::new(header)), 1024).unwrap_err();
        assert!(matches!(err, FrameError::TooLarge { len, max: 1024 } if len == u32::MAX as u64));
        assert!(!err.is_recoverable());
        let big = "x".repeat(2000);
        assert!(matches!(
            encode(&big, 1024),
            Err(FrameError::TooLarge { .. })
        ));
    }

    #[test]
    fn garbage_is_refused_and_the_stream_stays_in_step() {
        let mut buf = Vec::new();
        buf.extend_from_slice(&5u32.to_le_bytes());
        buf.extend_from_slice(&[0xff; 5]);
        write_frame(&mut buf, &message(), DEFAULT_MAX_FRAME).unwrap();
        let mut r = Cursor::new(buf);
        let err = read_frame::<_, Message>(&mut r, DEFAULT_MAX_FRAME).unwrap_err();
        assert!(err.is_recoverable(), "{err}");
        let m: Message = read_frame(&mut r, DEFAULT_MAX_FRAME).unwrap();
        assert_eq!(m, message());
    }

    #[test]
    fn trailing_bytes_and_a_torn_frame_are_errors() {
        let mut payload = postcard::to_allocvec(&message()).unwrap();
        payload.push(0);
        assert!(matches!(
            decode::<Message>(&payload),
            Err(FrameError::Decode { .. })
        ));
        let mut torn = 10u32.to_le_bytes().to_vec();
        torn.extend_from_slice(&[1, 2, 3]);
        let err = read_payload(&mut Cursor::new(torn), 1024).unwrap_err();
        assert!(matches!(err, FrameError::Io(_)));
        let err = read_payload(&mut Cursor::new(vec![1, 0]), 1024).unwrap_err();
        assert!(matches!(err, FrameError::Io(_)));
    }
}
