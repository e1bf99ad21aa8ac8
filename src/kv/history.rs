//! Client histories: what each client invoked and what it was told, with times.
//!
//! On disk a history is JSON lines, one event per line (see DESIGN.md):
//! `{"process":3,"type":"invoke","f":"put","key":"x","value":"1","time":120}`.

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
