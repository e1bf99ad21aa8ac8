//! The dashboard: a terminal UI over a live cluster, Elm-shaped.
//!
//! Input (keys, mouse, resize), new [`ClusterView`](crate::runtime::ClusterView)s
//! and finished requests all become [`Action`]s; [`App::update`] is the one
//! place state changes, and it reaches the cluster only by handing
//! [`Request`]s to a [`Driver`] (which runs them off the UI thread and
//! posts an [`Outcome`] back). [`draw`] is a pure function of the `App`,
//! so tests draw the real dashboard on ratatui's `TestBackend` from a
//! made-up view and compare with snapshot files.
//!
//! Files: `app.rs` (state and update), `action.rs`, `keys.rs` (events to
//! actions), `command.rs` (the console language), `chart.rs` (the
//! message list as a sequence diagram, `chart FILE`), `cast.rs`
//! (`--record FILE.cast`: what the terminal was sent, as an asciicast), `console.rs` (line
//! editing, history, transcript), `driver.rs` (the cluster seam),
//! `layout.rs`, `draw.rs`, `theme.rs` (every colour and symbol),
//! `text.rs` (the words more than one part says: cluster time, a request
//! as its command, why the cluster may not answer, wrapping),
//! `sim_status.rs` (how a simulated run stands, for the status bar),
//! `widgets/` (one pane per file), `tour.rs` (guided tours: a script
//! played step by step, on the simulator or the live cluster), `run.rs` (the main loop),
//! `terminal.rs` (raw mode and restoring it), `history.rs` (the views
//! recorded for time travel), `sim/` (the simulated mode: the dashboard
//! driven by the deterministic simulator, and replays), `why/` ("why?":
//! answers about an entry or a node, computed from the view shown).
//!
//! Imports run one way: `widgets/` and `why/ask.rs` read the [`App`];
//! `App` takes its words from `text.rs` and its run status from
//! `sim_status.rs`, never from a pane; `sim/` builds on the dashboard, and
//! nothing else in `tui/` imports `sim/` but tests.

pub mod action;
pub mod app;
pub mod cast;
pub mod chart;
pub mod command;
pub mod console;
mod draw;
pub mod driver;
pub mod history;
pub mod keys;
pub mod layout;
pub mod run;
pub mod sim;
pub mod sim_status;
pub mod terminal;
pub mod text;
pub mod theme;
pub mod tour;
pub mod why;
pub mod widgets;

#[cfg(test)]
mod tests;

/// The dashboards' link latency unless `--latency` says otherwise, in
/// cluster µs: 10–20 ms, 5–10% of the 150–300 ms election timeout, as in
/// RaftScope. Votes and appends then take a visible while to travel, so a
/// Candidate and an uncommitted entry stay on screen. (`raftlab check`,
/// `replay` and `bench` keep the fabric's default 0.5–2 ms, so their
/// seeds and figures do not change.)
pub const VISIBLE_LATENCY_US: (u64, u64) = (10_000, 20_000);

pub use action::{Action, Focus, Lower, Move, NewView};
pub use app::{App, Options};
pub use draw::draw;
pub use driver::{Driver, LiveDriver, Outcome, Request};
pub use run::{Fresh, Msg, TourSetup, event_loop, event_loop_recorded, handle, run_live};
pub use theme::Theme;
