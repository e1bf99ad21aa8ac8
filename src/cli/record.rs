//! `--record FILE.cast` on every dashboard mode: the file is created
//! before the terminal is touched, so a path that cannot be written is
//! refused at once (exit 2) rather than after a lesson.

use std::path::Path;

use crate::tui::cast::Recording;

/// The command line as typed, for the cast's title: `raftlab class
/// --record lesson.cast`.
fn command_line() -> String {
    let mut words = vec!["raftlab".to_string()];
    words.extend(std::env::args().skip(1));
    words.join(" ")
}

/// The recording `--record` asks for, if any; the message is ready to
/// print.
pub fn recording(path: Option<&Path>) -> Result<Option<Recording>, String> {
    let Some(path) = path else {
        return Ok(None);
    };
    Recording::create(path, &command_line())
        .map(Some)
        .map_err(|e| format!("cannot write the recording {}: {e}", path.display()))
}
