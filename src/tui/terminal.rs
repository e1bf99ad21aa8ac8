//! The real terminal: raw mode, the alternate screen, mouse capture, and
//! putting all of it back — on quit, on Ctrl-C (a key in raw mode, so it
//! ends the loop like `q`) and on a panic (a hook restores the terminal
//! before the panic message prints). The backend writes through a
//! [`Screen`], which copies every frame into a cast when `--record` asks.

use std::io::{self, Stdout, stdout};

use crate::tui::cast::{Recorder, Recording, Screen};

use ratatui::Terminal;
use ratatui::backend::CrosstermBackend;
use ratatui::crossterm::cursor::Show;
use ratatui::crossterm::event::{DisableMouseCapture, EnableMouseCapture};
use ratatui::crossterm::execute;
use ratatui::crossterm::terminal::{
    EnterAlternateScreen, LeaveAlternateScreen, disable_raw_mode, enable_raw_mode,
};

/// Restores the terminal when dropped.
pub struct TerminalGuard(());

impl Drop for TerminalGuard {
    fn drop(&mut self) {
        restore();
    }
}

/// Puts the terminal back as it was: raw mode off, main screen, cursor
/// shown, mouse released. Safe to call more than once.
pub fn restore() {
    let _ = disable_raw_mode();
    let _ = execute!(stdout(), DisableMouseCapture, LeaveAlternateScreen, Show);
}

/// The real terminal, as the dashboard draws on it.
pub type Term = Terminal<CrosstermBackend<Screen<Stdout>>>;

/// Enters raw mode and the alternate screen (and captures the mouse if
/// asked), installs the panic hook, and returns the terminal with a guard
/// that restores it — and, given a `record`ing, the recorder of what it
/// draws (see [`crate::tui::cast`]).
pub fn enter(
    mouse: bool,
    record: Option<Recording>,
) -> io::Result<(TerminalGuard, Term, Option<Recorder>)> {
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        restore();
        previous(info);
    }));
    enable_raw_mode()?;
    let guard = TerminalGuard(());
    execute!(stdout(), EnterAlternateScreen)?;
    if mouse {
        execute!(stdout(), EnableMouseCapture)?;
    }
    let recorder = match record {
        Some(recording) => {
            let (width, height) = ratatui::crossterm::terminal::size()?;
            Some(recording.start(width, height)?)
        }
        None => None,
    };
    let screen = Screen::new(stdout(), recorder.as_ref().map(Recorder::cast));
    let mut terminal = Terminal::new(CrosstermBackend::new(screen))?;
    terminal.hide_cursor()?;
    terminal.clear()?;
    Ok((guard, terminal, recorder))
}
