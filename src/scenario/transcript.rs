//! What a run produces: a transcript with one line per statement executed
//! (the statement echoed, the virtual time, a mark and what happened), and
//! a [`Report`] that says whether every expectation held.

use std::fmt;

/// How a statement went.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mark {
    /// It did something; nothing was checked.
    Info,
    /// An expectation held.
    Pass,
    /// An expectation failed, or the cluster refused or found a violation.
    Fail,
    /// Narration (`say`): shown as text, not as a statement.
    Note,
    /// A question (`ask`) with its answer: shown as text, not as a statement.
    Ask,
}

impl Mark {
    /// The symbol shown in the transcript.
    pub fn symbol(self) -> &'static str {
        match self {
            Mark::Info => "→",
            Mark::Pass => "✓",
            Mark::Fail => "✗",
            Mark::Note => "»",
            Mark::Ask => "?",
        }
    }
}

/// One line of the transcript.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TranscriptLine {
    /// The statement's line in the script.
    pub line: usize,
    /// Virtual time after the statement, in µs.
    pub at_us: u64,
    /// Nesting depth inside `repeat` blocks.
    pub depth: usize,
    /// The statement as written.
    pub source: String,
    /// How it went.
    pub mark: Mark,
    /// What happened, or what was expected and what was found.
    pub detail: String,
}

/// Width the echoed statement is padded to, so outcomes line up.
const SOURCE_WIDTH: usize = 32;

impl fmt::Display for TranscriptLine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if matches!(self.mark, Mark::Note | Mark::Ask) {
            let indent = "  ".repeat(self.depth);
            return write!(
                f,
                "{:>9}  {indent}{} {}",
                format_us(self.at_us),
                self.mark.symbol(),
                self.detail
            );
        }
        let source = format!("{}{}", "  ".repeat(self.depth), self.source);
        let line = format!(
            "{:>9}  {:<width$} {} {}",
            format_us(self.at_us),
            source,
            self.mark.symbol(),
            self.detail,
            width = SOURCE_WIDTH
        );
        f.write_str(line.trim_end())
    }
}

/// The first thing that went wrong in a run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Failure {
    /// The statement's line.
    pub line: usize,
    /// What was expected and what was found.
    pub message: String,
}

/// The result of running a script. A run stops at the first failure, since
/// what follows usually depends on it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Report {
    /// The script's name.
    pub name: String,
    /// What the scenario shows (its first comment).
    pub intent: Option<String>,
    /// Whether every statement ran and every expectation held.
    pub passed: bool,
    /// The first failure, if any.
    pub failure: Option<Failure>,
    /// One line per statement executed.
    pub transcript: Vec<TranscriptLine>,
    /// The cluster's trace hash at the end (same seed ⇒ same hash).
    pub trace_hash: Option<u64>,
}

impl Report {
    /// The transcript as text, headed by the intent and ended by a verdict
    /// line: `PASS name` or `FAIL name:LINE: message`.
    pub fn render(&self) -> String {
        let mut out = String::new();
        if let Some(intent) = &self.intent {
            out.push_str(&format!("# {intent}\n"));
        }
        for line in &self.transcript {
            out.push_str(&format!("{line}\n"));
        }
        match &self.failure {
            None => out.push_str(&format!("PASS {}\n", self.name)),
            Some(f) => out.push_str(&format!("FAIL {}:{}: {}\n", self.name, f.line, f.message)),
        }
        out
    }
}

/// A duration for people: `250us`, `412ms`, `1.5ms`, `2s`, `1.25s`.
pub fn format_us(us: u64) -> String {
    fn trimmed(whole: u64, frac: u64, digits: usize, unit: &str) -> String {
        let frac = format!("{frac:0digits$}");
        let frac = frac.trim_end_matches('0');
        if frac.is_empty() {
            format!("{whole}{unit}")
        } else {
            format!("{whole}.{frac}{unit}")
        }
    }
    if us < 1_000 && us > 0 {
        format!("{us}us")
    } else if us < 1_000_000 {
        trimmed(us / 1_000, us % 1_000, 3, "ms")
    } else {
        trimmed(us / 1_000_000, (us % 1_000_000) / 1_000, 3, "s")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_durations() {
        assert_eq!(format_us(0), "0ms");
        assert_eq!(format_us(250), "250us");
        assert_eq!(format_us(412_000), "412ms");
        assert_eq!(format_us(1_500), "1.5ms");
        assert_eq!(format_us(2_000_000), "2s");
        assert_eq!(format_us(1_250_000), "1.25s");
    }

    #[test]
    fn lines_align() {
        let line = TranscriptLine {
            line: 3,
            at_us: 412_000,
            depth: 0,
            source: "wait leader".into(),
            mark: Mark::Pass,
            detail: "n3 leads term 2".into(),
        };
        assert_eq!(
            line.to_string(),
            "    412ms  wait leader                      ✓ n3 leads term 2"
        );
    }
}
