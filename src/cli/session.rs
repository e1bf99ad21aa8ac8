//! Saved sessions from the command line: `raftlab script FILE` runs one
//! headless and says whether it is still the saved run (its trace hash);
//! `raftlab --script FILE` (and `class --script`, `--sim --script`) plays
//! it over the simulated dashboard, paused at time 0, the inputs given at
//! their times as `R` replays a run's own. A script with no `at` lines is
//! not a saved session and goes its usual way.

use std::path::Path;
use std::process::ExitCode;

use super::replay::{SimFlags, show};
use crate::scenario;
use crate::tui::sim::saved::{self, Recording};

/// Log entries per node the dashboard keeps in view (as in live mode).
const LOG_WINDOW: usize = 256;

/// The saved session in `text` (a file called `name`), `None` when it is
/// not one (or does not parse: its usual path reports that).
fn recording_in(text: &str, name: &str, default_seed: u64) -> Option<Result<Recording, String>> {
    let script = scenario::parse(text, name).ok()?;
    saved::is_recording(&script).then(|| saved::load(&script, default_seed))
}

/// The saved session in the file at `path`, `None` when it is not one;
/// the message is ready to print.
pub fn recording(path: &Path) -> Result<Option<Recording>, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    recording_in(&text, &path.display().to_string(), 1).transpose()
}

/// How a headless run of a saved session went.
pub enum Headless {
    /// The run is the saved one (or the file names no trace).
    Same,
    /// The run differs from the saved one.
    Differs,
    /// The file could not be read as a saved session.
    Bad,
}

/// Runs the saved session in `text` headless, printing its transcript
/// (only the verdict with `quiet`); `None` when it is not a saved session.
pub fn headless(text: &str, name: &str, seed: u64, quiet: bool) -> Option<Headless> {
    let recording = match recording_in(text, name, seed)? {
        Ok(r) => r,
        Err(message) => {
            eprintln!("{message}");
            return Some(Headless::Bad);
        }
    };
    let played = match saved::play(&recording) {
        Ok(p) => p,
        Err(message) => {
            eprintln!("raftlab script: {name}: {message}");
            return Some(Headless::Bad);
        }
    };
    if !quiet {
        if let Some(intent) = &recording.intent {
            println!("# {intent}");
        }
        for line in &played.transcript {
            println!("{line}");
        }
    }
    let n = recording.inputs.len();
    let done = format!(
        "{n} input{} replayed to {}, trace {:016x}",
        if n == 1 { "" } else { "s" },
        scenario::session::exact_time(played.now_us),
        played.trace_hash
    );
    if played.matches(&recording) {
        let same = if recording.trace.is_some() {
            ", the saved session's"
        } else {
            ""
        };
        println!("PASS {name}: {done}{same}");
        Some(Headless::Same)
    } else {
        println!(
            "FAIL {name}: {done}, but the session was saved with trace {:016x}: this is not the same run",
            recording.trace.unwrap_or_default()
        );
        Some(Headless::Differs)
    }
}

/// Plays `recording` over the simulated dashboard with `flags`' screen
/// settings (its run comes from the file, not the flags).
pub fn play(recording: Recording, flags: SimFlags) -> ExitCode {
    let session = match recording.session(LOG_WINDOW) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("{}: {}: {e}", flags.name, recording.name);
            return ExitCode::from(2);
        }
    };
    let tours = match flags.tours() {
        Ok(tours) => tours,
        Err(m) => {
            eprintln!("{}: {m}", flags.name);
            return ExitCode::from(2);
        }
    };
    // Paused at time 0, whatever the command's default.
    show(session, None, (flags.speed, true), flags.look(), tours)
}
