//! Errors of the scenario language: where a script is malformed (with file,
//! line and column), and what a cluster refused or found while running one.

use std::fmt;

/// One mistake in a script, located to the character.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{file}:{line}:{col}: {message}")]
pub struct ParseError {
    /// The script's name, as given to the parser (usually its path).
    pub file: String,
    /// Line number, from 1.
    pub line: usize,
    /// Column number in characters, from 1.
    pub col: usize,
    /// What is wrong, and what was expected.
    pub message: String,
}

/// Every mistake found in a script; the parser reads the whole file before
/// giving up, so a user fixes them all in one round.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParseErrors(pub Vec<ParseError>);

impl fmt::Display for ParseErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, e) in self.0.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{e}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ParseErrors {}

/// Why a script could not be run at all (as opposed to running and failing
/// an expectation, which is a [`Report`](super::Report) with `passed: false`).
#[derive(Debug, thiserror::Error)]
pub enum ScriptError {
    /// The script does not parse.
    #[error("{0}")]
    Parse(#[from] ParseErrors),
    /// The cluster factory refused the `cluster` statement.
    #[error("{file}:{line}: cannot create the cluster: {message}")]
    Setup {
        /// The script's name.
        file: String,
        /// Line of the `cluster` statement.
        line: usize,
        /// The factory's reason.
        message: String,
    },
}

/// An error reported by a [`Cluster`](super::Cluster). The adapter over the
/// simulator converts its own errors into one of these two kinds.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ClusterError {
    /// A safety invariant was broken (the simulator's `Violation`): the run
    /// found a bug, and the evidence is in the message.
    #[error("{0}")]
    Violation(String),
    /// The cluster refused a request (the simulator's `SimError`), e.g. to
    /// restart a node that is running.
    #[error("{0}")]
    Refused(String),
}
