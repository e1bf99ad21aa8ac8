//! The scenario script language: one statement per line, read top to
//! bottom, that builds a cluster, breaks it on purpose and says what must
//! happen. The same script is a headless test (`raftlab script FILE…`, the
//! files under `tests/scenarios/`) and a guided tour in the dashboard
//! (`raftlab tour NAME`, the files under `assets/tours/`, played on the
//! dashboard's simulator, or on the live cluster through [`LiveCluster`]).
//! See `docs/scenarios.md` for the language reference.
//!
//! ```text
//! # A leader is elected, and a write through it is read back.
//! cluster 3 seed 7
//! wait leader within 2s
//! put x 1 -> ok
//! get x -> "1"
//! ```
//!
//! A script is first parsed as a whole ([`parse`]): every mistake is
//! reported with its line and column, and node ids and `let` names are
//! checked before anything runs. The [`run`] function then executes it
//! against a [`Cluster`] — a trait the simulator implements — made by a
//! factory when the script says `cluster N`, and returns a [`Report`]
//! holding a transcript: each statement echoed with the virtual time, a
//! mark (`→` done, `✓` held, `✗` failed) and what it saw. A run stops at the
//! first failure.

pub mod ast;
mod cluster;
mod cursor;
mod error;
mod eval;
mod lexer;
mod live_cluster;
mod parse_tour;
mod parser;
mod parts;
mod request;
mod run_tour;
mod runner;
pub mod session;
mod sim_cluster;
pub mod tours;
mod transcript;

#[cfg(test)]
mod fake;
#[cfg(test)]
mod tests;

pub use ast::Script;
pub use cluster::{ClientOutcome, Cluster, ClusterSpec, ClusterStats};
pub use error::{ClusterError, ParseError, ParseErrors, ScriptError};
pub use live_cluster::{LiveCluster, live_factory};
pub use parser::{MAX_NODES, parse};
pub use request::parse_request;
pub use runner::{Factory, Observer, POLL_US, run, run_observed};
pub(crate) use sim_cluster::change_when_ready;
pub use sim_cluster::{script_options, sim_factory, sim_factory_with};
pub use transcript::{Failure, Mark, Report, TranscriptLine, format_us};

/// Parses `text` (a script called `name`, usually its path) and runs it,
/// creating clusters with `factory`.
pub fn run_script<F>(text: &str, name: &str, mut factory: F) -> Result<Report, ScriptError>
where
    F: FnMut(ClusterSpec) -> Result<Box<dyn Cluster>, String>,
{
    let script = parse(text, name)?;
    run(&script, &mut factory)
}
