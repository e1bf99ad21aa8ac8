//! Client histories: what each client invoked and what it was told, with times.
//!
//! On disk a history is JSON lines, one event per line (see DESIGN.md):
//! `{"process":3,"type":"invoke","f":"put","key":"x","value":"1","time":120}`.
//! [`write_jsonl`] and [`read_jsonl`] convert between that format and
//! [`HistoryEvent`]s; a malformed line is reported with its line number and
//! what is wrong with it. [`operations`] pairs each invoke with its
//! completion, which is the form the linearizability checker works on.
//! Positions in errors are 1-based; for a history read from a file they are
//! its line numbers, for one built in memory its positions in the slice.

use std::fmt;
use std::io::{BufRead, Write};

use serde::ser::SerializeTuple;
use serde::{Deserialize, Serialize, Serializer};

use super::{Op, OpResult};

/// Whether an event starts or ends an operation, and how it ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum EventType {
    /// The client sent the operation.
    Invoke,
    /// It completed with the value given.
    Ok,
    /// It definitely did not take effect.
    Fail,
    /// Its outcome is unknown (timed out): it may or may not have taken
    /// effect, at any time after the invoke.
    Info,
}

/// Which operation an event is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum OpKind {
    /// `put key value`.
    Put,
    /// `get key`.
    Get,
    /// `delete key`.
    Delete,
    /// `cas key old new`.
    Cas,
}

/// The value field of an event.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum EventValue {
    /// JSON `null`: a get's invoke, a delete, an absent key read.
    Null,
    /// A string: a put's value, a value read.
    Str(String),
    /// `[old, new]`: a cas invoke.
    Pair(String, String),
    /// `true`/`false`: a cas outcome.
    Bool(bool),
}

/// One line of a history.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HistoryEvent {
    /// The client (process) id; a process has at most one operation open.
    pub process: u64,
    /// Invoke or completion.
    pub kind: EventType,
    /// The operation.
    pub f: OpKind,
    /// The key.
    pub key: String,
    /// The value (see `EventValue`).
    pub value: EventValue,
    /// Microseconds since the start of the run.
    pub time: u64,
}

impl EventType {
    /// The name used in history files.
    pub fn as_str(self) -> &'static str {
        match self {
            EventType::Invoke => "invoke",
            EventType::Ok => "ok",
            EventType::Fail => "fail",
            EventType::Info => "info",
        }
    }

    /// Parses a history file's name for the type.
    pub fn parse(name: &str) -> Option<EventType> {
        match name {
            "invoke" => Some(EventType::Invoke),
            "ok" => Some(EventType::Ok),
            "fail" => Some(EventType::Fail),
            "info" => Some(EventType::Info),
            _ => None,
        }
    }
}

impl fmt::Display for EventType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl OpKind {
    /// The name used in history files.
    pub fn as_str(self) -> &'static str {
        match self {
            OpKind::Put => "put",
            OpKind::Get => "get",
            OpKind::Delete => "delete",
            OpKind::Cas => "cas",
        }
    }

    /// Parses a history file's name for the operation.
    pub fn parse(name: &str) -> Option<OpKind> {
        match name {
            "put" => Some(OpKind::Put),
            "get" => Some(OpKind::Get),
            "delete" => Some(OpKind::Delete),
            "cas" => Some(OpKind::Cas),
            _ => None,
        }
    }

    /// The kind of `op`.
    pub fn of(op: &Op) -> OpKind {
        match op {
            Op::Put { .. } => OpKind::Put,
            Op::Get { .. } => OpKind::Get,
            Op::Delete { .. } => OpKind::Delete,
            Op::Cas { .. } => OpKind::Cas,
        }
    }
}

impl fmt::Display for OpKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Display for EventValue {
    /// Shows the value as it appears in a history file.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EventValue::Null => f.write_str("null"),
            EventValue::Str(s) => write!(f, "{s:?}"),
            EventValue::Pair(old, new) => write!(f, "[{old:?},{new:?}]"),
            EventValue::Bool(b) => write!(f, "{b}"),
        }
    }
}

impl Serialize for EventValue {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            EventValue::Null => serializer.serialize_unit(),
            EventValue::Str(s) => serializer.serialize_str(s),
            EventValue::Pair(old, new) => {
                let mut pair = serializer.serialize_tuple(2)?;
                pair.serialize_element(old)?;
                pair.serialize_element(new)?;
                pair.end()
            }
            EventValue::Bool(b) => serializer.serialize_bool(*b),
        }
    }
}

/// The on-disk shape of an event, borrowed for writing. Its field order is
/// the order of the documented format.
#[derive(Serialize)]
struct RawOut<'a> {
    process: u64,
    #[serde(rename = "type")]
    kind: &'static str,
    f: &'static str,
    key: &'a str,
    value: &'a EventValue,
    time: u64,
}

impl Serialize for HistoryEvent {
    /// Serializes as one line of a history file.
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        RawOut {
            process: self.process,
            kind: self.kind.as_str(),
            f: self.f.as_str(),
            key: &self.key,
            value: &self.value,
            time: self.time,
        }
        .serialize(serializer)
    }
}

/// The on-disk shape of an event as read; names and the value are checked
/// afterwards so that each problem gets its own error.
#[derive(Deserialize)]
struct RawIn {
    process: u64,
    #[serde(rename = "type")]
    kind: String,
    f: String,
    key: String,
    // A get's invoke or a delete may leave the value out: it is null.
    #[serde(default)]
    value: serde_json::Value,
    time: u64,
}

impl HistoryEvent {
    /// The invoke event of `op` by `process` at `time`.
    pub fn invoke(process: u64, op: &Op, time: u64) -> HistoryEvent {
        HistoryEvent::with_args(process, EventType::Invoke, op, time)
    }

    /// The successful completion of `op` with `result`. A result that does
    /// not fit the operation (a put answered with `Swapped`) makes an event
    /// that [`operations`] rejects.
    pub fn ok(process: u64, op: &Op, result: &OpResult, time: u64) -> HistoryEvent {
        let value = match result {
            OpResult::Value(Some(v)) => EventValue::Str(v.clone()),
            OpResult::Value(None) => EventValue::Null,
            OpResult::Swapped(b) => EventValue::Bool(*b),
            OpResult::Done => args(op),
        };
        HistoryEvent {
            process,
            kind: EventType::Ok,
            f: OpKind::of(op),
            key: op.key().to_string(),
            value,
            time,
        }
    }

    /// The completion of `op` when it definitely did not take effect.
    pub fn fail(process: u64, op: &Op, time: u64) -> HistoryEvent {
        HistoryEvent::with_args(process, EventType::Fail, op, time)
    }

    /// The completion of `op` when its outcome is unknown.
    pub fn info(process: u64, op: &Op, time: u64) -> HistoryEvent {
        HistoryEvent::with_args(process, EventType::Info, op, time)
    }

    fn with_args(process: u64, kind: EventType, op: &Op, time: u64) -> HistoryEvent {
        HistoryEvent {
            process,
            kind,
            f: OpKind::of(op),
            key: op.key().to_string(),
            value: args(op),
            time,
        }
    }

    /// Checks that the value has the shape the format gives this operation
    /// and event type; `line` names the event in the error.
    pub fn validate(&self, line: usize) -> Result<(), HistoryError> {
        let fits = match (self.f, self.kind, &self.value) {
            (OpKind::Put, _, EventValue::Str(_)) => true,
            (OpKind::Get, EventType::Ok, EventValue::Str(_) | EventValue::Null) => true,
            (OpKind::Get, _, EventValue::Null) => true,
            (OpKind::Delete, _, EventValue::Null) => true,
            (OpKind::Cas, EventType::Ok, EventValue::Bool(_)) => true,
            (OpKind::Cas, kind, EventValue::Pair(..)) => kind != EventType::Ok,
            _ => false,
        };
        if fits {
            return Ok(());
        }
        Err(HistoryError::BadValue {
            line,
            f: self.f,
            kind: self.kind,
            expected: expected_value(self.f, self.kind),
            found: self.value.to_string(),
        })
    }
}

/// The value an event carries for `op`'s arguments (invoke, fail, info).
fn args(op: &Op) -> EventValue {
    match op {
        Op::Put { value, .. } => EventValue::Str(value.clone()),
        Op::Get { .. } | Op::Delete { .. } => EventValue::Null,
        Op::Cas { old, new, .. } => EventValue::Pair(old.clone(), new.clone()),
    }
}

/// Describes, for an error message, the value a (f, type) must carry.
fn expected_value(f: OpKind, kind: EventType) -> &'static str {
    match (f, kind) {
        (OpKind::Put, _) => "a string",
        (OpKind::Get, EventType::Ok) => "a string or null",
        (OpKind::Get, _) | (OpKind::Delete, _) => "null",
        (OpKind::Cas, EventType::Ok) => "true or false",
        (OpKind::Cas, _) => "a pair of strings [old, new]",
    }
}

/// What can be wrong with a history file or a history.
#[derive(Debug, thiserror::Error)]
pub enum HistoryError {
    /// The history could not be read.
    #[error("line {line}: cannot read the history: {source}")]
    Read {
        /// The line being read.
        line: usize,
        /// The IO error.
        source: std::io::Error,
    },
    /// The history could not be written.
    #[error("cannot write the history: {0}")]
    Write(#[from] std::io::Error),
    /// A line holds nothing.
    #[error("line {line}: empty line (one JSON object per line expected)")]
    EmptyLine {
        /// The line.
        line: usize,
    },
    /// A line is not a JSON object of the expected fields.
    #[error("line {line}, column {column}: bad JSON: {message}")]
    Json {
        /// The line.
        line: usize,
        /// The column within it.
        column: usize,
        /// What serde_json found wrong.
        message: String,
    },
    /// `type` is not invoke, ok, fail or info.
    #[error("line {line}: unknown type {found:?} (expected invoke, ok, fail or info)")]
    UnknownType {
        /// The line.
        line: usize,
        /// The type found.
        found: String,
    },
    /// `f` is not put, get, delete or cas.
    #[error("line {line}: unknown f {found:?} (expected put, get, delete or cas)")]
    UnknownF {
        /// The line.
        line: usize,
        /// The f found.
        found: String,
    },
    /// `value` does not have the shape the format gives this f and type.
    #[error("line {line}: the value of a {f} {kind} must be {expected}, not {found}")]
    BadValue {
        /// The line.
        line: usize,
        /// The operation.
        f: OpKind,
        /// The event type.
        kind: EventType,
        /// The shape expected.
        expected: &'static str,
        /// The value found, as JSON.
        found: String,
    },
    /// A process invoked an operation while another of its own was open.
    #[error(
        "line {line}: process {process} invokes again while its operation invoked on line {open} is still open"
    )]
    DoubleInvoke {
        /// The second invoke.
        line: usize,
        /// The process.
        process: u64,
        /// The first, still open, invoke.
        open: usize,
    },
    /// A completion arrived for a process with no open operation.
    #[error("line {line}: process {process} completes ({kind}) with no operation invoked")]
    NoInvoke {
        /// The completion.
        line: usize,
        /// The process.
        process: u64,
        /// The completion's type.
        kind: EventType,
    },
    /// A completion names another operation than its invoke.
    #[error(
        "line {line}: process {process} completes {f} {key:?} but invoked {open_f} {open_key:?} on line {open}"
    )]
    Mismatch {
        /// The completion.
        line: usize,
        /// The process.
        process: u64,
        /// The completion's operation.
        f: OpKind,
        /// The completion's key.
        key: String,
        /// The invoke.
        open: usize,
        /// The invoke's operation.
        open_f: OpKind,
        /// The invoke's key.
        open_key: String,
    },
    /// A completion is earlier than its invoke.
    #[error(
        "line {line}: process {process} completes at {time}µs, before its invoke at {invoked}µs on line {open}"
    )]
    TimeBackwards {
        /// The completion.
        line: usize,
        /// The process.
        process: u64,
        /// The completion's time.
        time: u64,
        /// The invoke.
        open: usize,
        /// The invoke's time.
        invoked: u64,
    },
}

/// Writes `events` as JSON lines, one event per line.
pub fn write_jsonl(events: &[HistoryEvent], mut out: impl Write) -> Result<(), HistoryError> {
    for event in events {
        serde_json::to_writer(&mut out, event).map_err(std::io::Error::from)?;
        out.write_all(b"\n")?;
    }
    out.flush()?;
    Ok(())
}

/// Reads a history written as JSON lines. Every line must be one event;
/// the first malformed line is reported with its number.
pub fn read_jsonl(input: impl BufRead) -> Result<Vec<HistoryEvent>, HistoryError> {
    let mut events = Vec::new();
    for (i, text) in input.lines().enumerate() {
        let line = i + 1;
        let text = text.map_err(|source| HistoryError::Read { line, source })?;
        events.push(parse_line(&text, line)?);
    }
    Ok(events)
}

/// Parses one line of a history file.
pub fn parse_line(text: &str, line: usize) -> Result<HistoryEvent, HistoryError> {
    if text.trim().is_empty() {
        return Err(HistoryError::EmptyLine { line });
    }
    let raw: RawIn = serde_json::from_str(text).map_err(|e| json_error(&e, line))?;
    let kind = EventType::parse(&raw.kind).ok_or_else(|| HistoryError::UnknownType {
        line,
        found: raw.kind.clone(),
    })?;
    let f = OpKind::parse(&raw.f).ok_or_else(|| HistoryError::UnknownF {
        line,
        found: raw.f.clone(),
    })?;
    let value = match &raw.value {
        serde_json::Value::Null => Some(EventValue::Null),
        serde_json::Value::String(s) => Some(EventValue::Str(s.clone())),
        serde_json::Value::Bool(b) => Some(EventValue::Bool(*b)),
        serde_json::Value::Array(items) => match items.as_slice() {
            [
                serde_json::Value::String(old),
                serde_json::Value::String(new),
            ] => Some(EventValue::Pair(old.clone(), new.clone())),
            _ => None,
        },
        _ => None,
    };
    let Some(value) = value else {
        return Err(HistoryError::BadValue {
            line,
            f,
            kind,
            expected: expected_value(f, kind),
            found: raw.value.to_string(),
        });
    };
    let event = HistoryEvent {
        process: raw.process,
        kind,
        f,
        key: raw.key,
        value,
        time: raw.time,
    };
    event.validate(line)?;
    Ok(event)
}

/// A serde_json error without its "at line 1 column N" suffix: within one
/// line that position would mislead, so the column is reported on its own.
fn json_error(e: &serde_json::Error, line: usize) -> HistoryError {
    let full = e.to_string();
    let suffix = format!(" at line {} column {}", e.line(), e.column());
    let message = full.strip_suffix(&suffix).unwrap_or(&full).to_string();
    HistoryError::Json {
        line,
        column: e.column(),
        message,
    }
}

/// How an operation ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// It took effect and returned this result.
    Ok(OpResult),
    /// It definitely did not take effect.
    Fail,
    /// Unknown: it may have taken effect at any time after its invoke, or
    /// never. Also the outcome of an invoke that never completed.
    Info,
}

/// An invoke paired with its completion.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Operation {
    /// The client that issued it.
    pub process: u64,
    /// What it asked for.
    pub op: Op,
    /// How it ended.
    pub outcome: Outcome,
    /// Invoke time, in microseconds.
    pub call: u64,
    /// Completion time, in microseconds; `None` (infinity) when the outcome
    /// is unknown, since it may take effect at any later time.
    pub ret: Option<u64>,
    /// Position (line) of its invoke event, 1-based.
    pub line: usize,
}

impl fmt::Display for Operation {
    /// One line naming the process, operation, result and times, e.g.
    /// `process 3: get "x" → "1" [120µs, 180µs]`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "process {}: ", self.process)?;
        match &self.op {
            Op::Put { key, value } => write!(f, "put {key:?} {value:?}")?,
            Op::Get { key } => write!(f, "get {key:?}")?,
            Op::Delete { key } => write!(f, "delete {key:?}")?,
            Op::Cas { key, old, new } => write!(f, "cas {key:?} {old:?}→{new:?}")?,
        }
        match &self.outcome {
            Outcome::Ok(OpResult::Value(Some(v))) => write!(f, " → {v:?}")?,
            Outcome::Ok(OpResult::Value(None)) => write!(f, " → absent")?,
            Outcome::Ok(OpResult::Swapped(b)) => write!(f, " → {b}")?,
            Outcome::Ok(OpResult::Done) => write!(f, " → ok")?,
            Outcome::Fail => write!(f, " → fail")?,
            Outcome::Info => write!(f, " → unknown")?,
        }
        match self.ret {
            Some(ret) => write!(f, " [{}µs, {}µs]", self.call, ret),
            None => write!(f, " [{}µs, ∞)", self.call),
        }
    }
}

/// Pairs each invoke with the next completion of the same process. A
/// second invoke while one is open, a completion with nothing open, or a
/// completion for another operation is an error; an invoke never
/// completed becomes an operation of unknown outcome. Operations come out
/// in the order of their invokes.
pub fn operations(events: &[HistoryEvent]) -> Result<Vec<Operation>, HistoryError> {
    let mut ops: Vec<Operation> = Vec::new();
    // For each process with an operation open, that operation's index in `ops`.
    let mut open: std::collections::HashMap<u64, usize> = std::collections::HashMap::new();
    for (i, event) in events.iter().enumerate() {
        let line = i + 1;
        event.validate(line)?;
        if event.kind == EventType::Invoke {
            if let Some(&first) = open.get(&event.process) {
                return Err(HistoryError::DoubleInvoke {
                    line,
                    process: event.process,
                    open: ops[first].line,
                });
            }
            open.insert(event.process, ops.len());
            ops.push(Operation {
                process: event.process,
                op: invoked_op(event),
                outcome: Outcome::Info,
                call: event.time,
                ret: None,
                line,
            });
            continue;
        }
        let Some(index) = open.remove(&event.process) else {
            return Err(HistoryError::NoInvoke {
                line,
                process: event.process,
                kind: event.kind,
            });
        };
        let operation = &mut ops[index];
        if OpKind::of(&operation.op) != event.f || operation.op.key() != event.key {
            return Err(HistoryError::Mismatch {
                line,
                process: event.process,
                f: event.f,
                key: event.key.clone(),
                open: operation.line,
                open_f: OpKind::of(&operation.op),
                open_key: operation.op.key().to_string(),
            });
        }
        if event.time < operation.call {
            return Err(HistoryError::TimeBackwards {
                line,
                process: event.process,
                time: event.time,
                open: operation.line,
                invoked: operation.call,
            });
        }
        match event.kind {
            EventType::Ok => {
                operation.outcome = Outcome::Ok(result(event));
                operation.ret = Some(event.time);
            }
            EventType::Fail => {
                operation.outcome = Outcome::Fail;
                operation.ret = Some(event.time);
            }
            // Unknown: it may take effect even after the info was recorded,
            // so its return stays at infinity.
            EventType::Info | EventType::Invoke => {}
        }
    }
    Ok(ops)
}

/// The operation an invoke event (already validated) asks for.
fn invoked_op(event: &HistoryEvent) -> Op {
    let key = event.key.clone();
    match (&event.f, &event.value) {
        (OpKind::Put, EventValue::Str(value)) => Op::Put {
            key,
            value: value.clone(),
        },
        (OpKind::Cas, EventValue::Pair(old, new)) => Op::Cas {
            key,
            old: old.clone(),
            new: new.clone(),
        },
        (OpKind::Delete, _) => Op::Delete { key },
        // Validation leaves only Get here.
        _ => Op::Get { key },
    }
}

/// The result an ok event (already validated) reports.
fn result(event: &HistoryEvent) -> OpResult {
    match &event.value {
        EventValue::Str(v) if event.f == OpKind::Get => OpResult::Value(Some(v.clone())),
        EventValue::Null if event.f == OpKind::Get => OpResult::Value(None),
        EventValue::Bool(b) => OpResult::Swapped(*b),
        _ => OpResult::Done,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kv::test_ops::{cas, get, put};
    use proptest::prelude::*;

    fn to_text(events: &[HistoryEvent]) -> String {
        let mut out = Vec::new();
        write_jsonl(events, &mut out).unwrap();
        String::from_utf8(out).unwrap()
    }

    fn read_err(text: &str) -> String {
        read_jsonl(text.as_bytes()).unwrap_err().to_string()
    }

    /// Every (f, type) combination the format allows.
    fn sample() -> Vec<HistoryEvent> {
        let d = Op::Delete { key: "y".into() };
        vec![
            HistoryEvent::invoke(3, &put("x", "1"), 120),
            HistoryEvent::ok(3, &put("x", "1"), &OpResult::Done, 180),
            HistoryEvent::invoke(1, &get("x"), 200),
            HistoryEvent::ok(1, &get("x"), &OpResult::Value(Some("1".into())), 210),
            HistoryEvent::invoke(1, &get("z"), 220),
            HistoryEvent::ok(1, &get("z"), &OpResult::Value(None), 230),
            HistoryEvent::invoke(2, &d, 240),
            HistoryEvent::ok(2, &d, &OpResult::Done, 250),
            HistoryEvent::invoke(2, &cas("x", "1", "2"), 260),
            HistoryEvent::ok(2, &cas("x", "1", "2"), &OpResult::Swapped(true), 270),
            HistoryEvent::invoke(2, &cas("x", "1", "3"), 280),
            HistoryEvent::fail(2, &cas("x", "1", "3"), 290),
            HistoryEvent::invoke(4, &put("x", "a \"quoted\"\nline é"), 300),
            HistoryEvent::info(4, &put("x", "a \"quoted\"\nline é"), 310),
        ]
    }

    #[test]
    fn writes_the_documented_format() {
        let text = to_text(&sample()[..2]);
        assert_eq!(
            text,
            "{\"process\":3,\"type\":\"invoke\",\"f\":\"put\",\"key\":\"x\",\"value\":\"1\",\"time\":120}\n\
             {\"process\":3,\"type\":\"ok\",\"f\":\"put\",\"key\":\"x\",\"value\":\"1\",\"time\":180}\n"
        );
        let text = to_text(&sample()[8..10]);
        assert!(text.contains("\"value\":[\"1\",\"2\"]"), "{text}");
        assert!(text.contains("\"type\":\"ok\",\"f\":\"cas\",\"key\":\"x\",\"value\":true"));
        let text = to_text(&sample()[2..4]);
        assert!(
            text.contains("\"f\":\"get\",\"key\":\"x\",\"value\":null"),
            "{text}"
        );
    }

    #[test]
    fn json_round_trip() {
        let events = sample();
        let back = read_jsonl(to_text(&events).as_bytes()).unwrap();
        assert_eq!(back, events);
    }

    #[test]
    fn reads_a_missing_value_as_null() {
        let events =
            read_jsonl(&br#"{"process":1,"type":"invoke","f":"get","key":"x","time":5}"#[..])
                .unwrap();
        assert_eq!(events[0].value, EventValue::Null);
    }

    #[test]
    fn bad_json_names_the_line() {
        let good = to_text(&sample()[..2]);
        let err = read_err(&format!("{good}{{\"process\":1,\"type\":\n"));
        assert!(err.starts_with("line 3, column"), "{err}");
        assert!(err.contains("bad JSON"), "{err}");
        let err = read_err(&format!(
            "{good}{{\"process\":-1,\"type\":\"ok\",\"f\":\"get\",\"key\":\"x\",\"value\":null,\"time\":1}}\n"
        ));
        assert!(err.starts_with("line 3, column"), "{err}");
        let err = read_err(r#"{"process":1,"type":"ok","f":"get","key":"x","value":null}"#);
        assert!(err.contains("missing field `time`"), "{err}");
    }

    #[test]
    fn unknown_type_and_f_are_named() {
        let err =
            read_err(r#"{"process":1,"type":"done","f":"get","key":"x","value":null,"time":1}"#);
        assert_eq!(
            err,
            "line 1: unknown type \"done\" (expected invoke, ok, fail or info)"
        );
        let good = to_text(&sample()[..1]);
        let err = read_err(&format!(
            "{good}{}",
            r#"{"process":1,"type":"ok","f":"incr","key":"x","value":null,"time":1}"#
        ));
        assert_eq!(
            err,
            "line 2: unknown f \"incr\" (expected put, get, delete or cas)"
        );
    }

    #[test]
    fn values_of_the_wrong_shape_are_rejected() {
        let err =
            read_err(r#"{"process":1,"type":"invoke","f":"cas","key":"x","value":["1"],"time":1}"#);
        assert_eq!(
            err,
            "line 1: the value of a cas invoke must be a pair of strings [old, new], not [\"1\"]"
        );
        let err =
            read_err(r#"{"process":1,"type":"invoke","f":"cas","key":"x","value":"1","time":1}"#);
        assert!(err.contains("must be a pair of strings"), "{err}");
        let err =
            read_err(r#"{"process":1,"type":"ok","f":"cas","key":"x","value":["1","2"],"time":1}"#);
        assert!(err.contains("must be true or false"), "{err}");
        let err =
            read_err(r#"{"process":1,"type":"invoke","f":"put","key":"x","value":null,"time":1}"#);
        assert!(err.contains("put invoke must be a string"), "{err}");
        let err = read_err(r#"{"process":1,"type":"ok","f":"get","key":"x","value":7,"time":1}"#);
        assert!(
            err.contains("get ok must be a string or null, not 7"),
            "{err}"
        );
    }

    #[test]
    fn empty_line_is_an_error() {
        let good = to_text(&sample()[..1]);
        let err = read_err(&format!("{good}\n{good}"));
        assert_eq!(
            err,
            "line 2: empty line (one JSON object per line expected)"
        );
    }

    #[test]
    fn operations_pair_invokes_with_completions() {
        let ops = operations(&sample()).unwrap();
        assert_eq!(ops.len(), 7);
        assert_eq!(ops[0].op, put("x", "1"));
        assert_eq!(ops[0].outcome, Outcome::Ok(OpResult::Done));
        assert_eq!((ops[0].call, ops[0].ret), (120, Some(180)));
        assert_eq!(
            ops[1].outcome,
            Outcome::Ok(OpResult::Value(Some("1".into())))
        );
        assert_eq!(ops[2].outcome, Outcome::Ok(OpResult::Value(None)));
        assert_eq!(ops[4].outcome, Outcome::Ok(OpResult::Swapped(true)));
        assert_eq!(
            (ops[5].outcome.clone(), ops[5].ret),
            (Outcome::Fail, Some(290))
        );
        // An info completion leaves the return time at infinity.
        assert_eq!((ops[6].outcome.clone(), ops[6].ret), (Outcome::Info, None));
        assert_eq!(
            ops[1].to_string(),
            "process 1: get \"x\" → \"1\" [200µs, 210µs]"
        );
        assert_eq!(
            ops[6].to_string(),
            "process 4: put \"x\" \"a \\\"quoted\\\"\\nline é\" → unknown [300µs, ∞)"
        );
    }

    #[test]
    fn an_invoke_never_completed_is_info() {
        let events = vec![
            HistoryEvent::invoke(1, &put("x", "1"), 10),
            HistoryEvent::invoke(2, &get("x"), 20),
            HistoryEvent::ok(2, &get("x"), &OpResult::Value(None), 30),
        ];
        let ops = operations(&events).unwrap();
        assert_eq!((ops[0].outcome.clone(), ops[0].ret), (Outcome::Info, None));
    }

    #[test]
    fn two_open_invokes_of_one_process_are_an_error() {
        let events = vec![
            HistoryEvent::invoke(1, &put("x", "1"), 10),
            HistoryEvent::invoke(1, &get("x"), 20),
        ];
        let err = operations(&events).unwrap_err().to_string();
        assert_eq!(
            err,
            "line 2: process 1 invokes again while its operation invoked on line 1 is still open"
        );
    }

    #[test]
    fn a_completion_without_invoke_is_an_error() {
        let events = vec![
            HistoryEvent::invoke(1, &put("x", "1"), 10),
            HistoryEvent::ok(2, &get("x"), &OpResult::Value(None), 20),
        ];
        let err = operations(&events).unwrap_err().to_string();
        assert_eq!(
            err,
            "line 2: process 2 completes (ok) with no operation invoked"
        );
    }

    #[test]
    fn a_completion_for_another_operation_is_an_error() {
        let events = vec![
            HistoryEvent::invoke(1, &put("x", "1"), 10),
            HistoryEvent::ok(1, &get("y"), &OpResult::Value(None), 20),
        ];
        let err = operations(&events).unwrap_err().to_string();
        assert!(
            err.contains("completes get \"y\" but invoked put \"x\" on line 1"),
            "{err}"
        );
        let events = vec![
            HistoryEvent::invoke(1, &put("x", "1"), 10),
            HistoryEvent::ok(1, &put("x", "1"), &OpResult::Done, 5),
        ];
        let err = operations(&events).unwrap_err().to_string();
        assert!(err.contains("before its invoke"), "{err}");
    }

    #[test]
    fn a_result_that_does_not_fit_is_rejected() {
        let events = vec![
            HistoryEvent::invoke(1, &put("x", "1"), 10),
            HistoryEvent::ok(1, &put("x", "1"), &OpResult::Swapped(true), 20),
        ];
        let err = operations(&events).unwrap_err().to_string();
        assert_eq!(
            err,
            "line 2: the value of a put ok must be a string, not true"
        );
    }

    fn arb_event() -> impl Strategy<Value = HistoryEvent> {
        let kind = prop_oneof![
            Just(EventType::Invoke),
            Just(EventType::Ok),
            Just(EventType::Fail),
            Just(EventType::Info)
        ];
        let f = prop_oneof![
            Just(OpKind::Put),
            Just(OpKind::Get),
            Just(OpKind::Delete),
            Just(OpKind::Cas)
        ];
        (
            any::<u64>(),
            kind,
            f,
            ".*",
            ".*",
            ".*",
            any::<bool>(),
            any::<u64>(),
        )
            .prop_map(|(process, kind, f, key, a, b, flag, time)| {
                let value = match (f, kind) {
                    (OpKind::Put, _) => EventValue::Str(a),
                    (OpKind::Get, EventType::Ok) if flag => EventValue::Str(a),
                    (OpKind::Get | OpKind::Delete, _) => EventValue::Null,
                    (OpKind::Cas, EventType::Ok) => EventValue::Bool(flag),
                    (OpKind::Cas, _) => EventValue::Pair(a, b),
                };
                HistoryEvent {
                    process,
                    kind,
                    f,
                    key,
                    value,
                    time,
                }
            })
    }

    proptest! {
        #[test]
        fn any_valid_event_round_trips(events in proptest::collection::vec(arb_event(), 0..8)) {
            let back = read_jsonl(to_text(&events).as_bytes()).unwrap();
            prop_assert_eq!(back, events);
        }

        #[test]
        fn garbage_never_panics(text in "\\PC*") {
            let _ = read_jsonl(text.as_bytes());
        }
    }
}
