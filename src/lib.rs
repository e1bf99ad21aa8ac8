//! raftlab: an interactive Raft cluster playground and a deterministic
//! simulator that checks it.
//!
//! The layers, each knowing only those below it:
//!
//! - [`raft`]: the protocol as a pure state machine (no threads, clocks, IO).
//! - [`kv`]: the key-value state machine, client histories and the
//!   linearizability checker.
//! - [`net`]: the fault model of the network (the link matrix).
//! - [`host`]: one replica (raft node, store, waiting clients, compaction)
//!   and how its output is carried out, without IO: what the runtime and
//!   the simulator both drive.
//! - [`runtime`]: the live cluster: one thread per node, a controllable
//!   clock and network, views for the dashboard, a client API.
//! - [`check`]: Raft's safety invariants as code, one rule per property,
//!   used by the simulator, the live checker and the dashboards alike.
//! - [`sim`]: a single-threaded cluster on virtual time, driven by one seed,
//!   checking Raft's safety invariants after every step.
//! - [`chart`]: sequence diagrams of Raft's messages (Mermaid, SVG), for
//!   `raftlab chart` and the dashboard's `chart FILE`.
//! - [`scenario`]: the script language that drives the simulator (and, later,
//!   the dashboard's guided tours).
//! - [`tui`]: the dashboard: a terminal UI over a live cluster.
//! - [`storage`]: durable log, hard state and snapshots of one node (files,
//!   or memory with crash semantics for the simulator).

pub mod chart;
pub mod check;
pub mod cli;
pub mod host;
pub mod kv;
pub mod net;
pub mod raft;
pub mod runtime;
pub mod scenario;
pub mod sim;
pub mod storage;
pub mod tui;
