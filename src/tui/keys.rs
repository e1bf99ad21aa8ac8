//! Keys and mouse to [`Action`]s. Pure: the same event in the same state
//! always gives the same action, so key sequences are tested without a
//! terminal.
//!
//! The one conflict: `h` heals and `k` kills, yet vim users move with
//! `hjkl`. In the log pane — the one that scrolls sideways — `h j k l`
//! move; everywhere else `h` heals and `k` kills, and `j`/`l` move.
//! `H` heals from any pane. Arrows always move, except that while a guided
//! tour waits for its next step, → (like Enter and `n`) runs it, and
//! while it asks a question the number keys answer it. While
//! the tour menu (`T`) is open it takes the keys: arrows (or `j` `k`)
//! choose, Enter starts, Esc (or `T`, `q`) closes.

use ratatui::crossterm::event::{
    Event, KeyCode, KeyEvent, KeyEventKind, KeyModifiers, MouseButton, MouseEvent, MouseEventKind,
};

use crate::scenario::tours::TOURS;
use crate::tui::action::{Action, Focus, Move};
use crate::tui::app::App;
use crate::tui::console::Edit;

/// The action an input event asks for, if any.
pub fn action_for(app: &App, event: &Event) -> Option<Action> {
    match event {
        Event::Key(key) if key.kind != KeyEventKind::Release => key_action(app, key),
        Event::Mouse(mouse) if app.mouse => mouse_action(mouse),
        Event::Resize(w, h) => Some(Action::Resize(*w, *h)),
        _ => None,
    }
}

fn key_action(app: &App, key: &KeyEvent) -> Option<Action> {
    let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
    if ctrl && matches!(key.code, KeyCode::Char('c' | 'C')) {
        return Some(Action::Quit);
    }
    if app.help {
        return match key.code {
            KeyCode::Esc | KeyCode::Char('?' | 'q') | KeyCode::Enter => Some(Action::ToggleHelp),
            _ => None,
        };
    }
    if app.tour_menu.is_some() {
        return tour_menu_key(app, key);
    }
    if app.focus != Focus::Console
        && let Some(tour) = &app.tour
        && tour.finished.is_none()
    {
        match key.code {
            KeyCode::Enter | KeyCode::Char('n') => return Some(Action::TourNext),
            KeyCode::Right if tour.waiting() => return Some(Action::TourNext),
            // While a question waits, its choices' numbers answer it
            // instead of selecting nodes.
            KeyCode::Char(c @ '1'..='9') if tour.asking() => {
                return Some(Action::TourPick(c as usize - '0' as usize));
            }
            _ => {}
        }
    }
    match key.code {
        KeyCode::Tab => return Some(Action::FocusNext),
        KeyCode::BackTab => return Some(Action::FocusPrev),
        KeyCode::Esc => return Some(Action::Escape),
        _ => {}
    }
    if app.focus == Focus::Console {
        return console_key(key, ctrl);
    }
    let mv = |m| Some(Action::Move(m));
    let vim = app.focus == Focus::Log;
    match key.code {
        KeyCode::Up => mv(Move::Up),
        KeyCode::Down => mv(Move::Down),
        KeyCode::Left => mv(Move::Left),
        KeyCode::Right => mv(Move::Right),
        KeyCode::PageUp => mv(Move::PageUp),
        KeyCode::PageDown => mv(Move::PageDown),
        KeyCode::Home => mv(Move::Home),
        KeyCode::End => mv(Move::End),
        KeyCode::Char(c) => match c {
            'h' if vim => mv(Move::Left),
            'k' if vim => mv(Move::Up),
            'j' => mv(Move::Down),
            'l' => mv(Move::Right),
            'h' | 'H' => Some(Action::Heal),
            'k' => Some(Action::Kill),
            '?' => Some(Action::ToggleHelp),
            'q' => Some(Action::Quit),
            ':' | '/' => Some(Action::FocusConsole),
            '1'..='9' => Some(Action::Select(c as u64 - '0' as u64)),
            'r' => Some(Action::Restart),
            'p' => Some(Action::TogglePause),
            'i' => Some(Action::Isolate),
            't' => Some(Action::Transfer),
            'a' => Some(Action::AddNext),
            'P' => Some(Action::Promote),
            'x' => Some(Action::Remove),
            'T' => Some(Action::ToggleTourMenu),
            ' ' => Some(Action::ToggleClock),
            '.' if app.past.is_some() => Some(Action::HistoryForward(1)),
            '.' => Some(Action::Step),
            ',' => Some(Action::HistoryBack(1)),
            '<' => Some(Action::HistoryBack(10)),
            '>' => Some(Action::HistoryForward(10)),
            'b' if app.past.is_some() => Some(Action::Present),
            'R' => Some(Action::Replay),
            '+' | '=' => Some(Action::Faster),
            '-' | '_' => Some(Action::Slower),
            'm' => Some(Action::ToggleMessages),
            'f' => Some(Action::ToggleFlow),
            'c' => Some(Action::ToggleChecker),
            'o' => Some(Action::ToggleHold),
            '[' => Some(Action::ChooseHeld(-1)),
            ']' => Some(Action::ChooseHeld(1)),
            'd' => Some(Action::DeliverHeld),
            'D' => Some(Action::DropHeld),
            'w' => Some(Action::Why),
            'g' => mv(Move::Home),
            'G' => mv(Move::End),
            _ => None,
        },
        _ => None,
    }
}

/// Keys while the tour menu is open: it takes them all (but Ctrl-C).
fn tour_menu_key(app: &App, key: &KeyEvent) -> Option<Action> {
    match key.code {
        KeyCode::Esc | KeyCode::Char('T' | 'q') => Some(Action::ToggleTourMenu),
        KeyCode::Up | KeyCode::Char('k') => Some(Action::TourMenuMove(-1)),
        KeyCode::Down | KeyCode::Char('j') => Some(Action::TourMenuMove(1)),
        KeyCode::Home => Some(Action::TourMenuMove(-(TOURS.len() as i64))),
        KeyCode::End => Some(Action::TourMenuMove(TOURS.len() as i64)),
        KeyCode::Enter => {
            let row = app.tour_menu?;
            TOURS
                .get(row)
                .map(|t| Action::StartTour(t.name.to_string()))
        }
        _ => None,
    }
}

fn console_key(key: &KeyEvent, ctrl: bool) -> Option<Action> {
    let edit = |e| Some(Action::Edit(e));
    if ctrl {
        return match key.code {
            KeyCode::Char('a') => edit(Edit::Home),
            KeyCode::Char('e') => edit(Edit::End),
            KeyCode::Char('u') => edit(Edit::KillToStart),
            KeyCode::Char('k') => edit(Edit::KillToEnd),
            KeyCode::Char('w') | KeyCode::Backspace => edit(Edit::DeleteWord),
            KeyCode::Char('b') => edit(Edit::Left),
            KeyCode::Char('f') => edit(Edit::Right),
            KeyCode::Char('p') => edit(Edit::HistoryPrev),
            KeyCode::Char('n') => edit(Edit::HistoryNext),
            _ => None,
        };
    }
    match key.code {
        KeyCode::Enter => Some(Action::Submit),
        KeyCode::Char(c) => edit(Edit::Insert(c)),
        KeyCode::Backspace => edit(Edit::Backspace),
        KeyCode::Delete => edit(Edit::Delete),
        KeyCode::Left => edit(Edit::Left),
        KeyCode::Right => edit(Edit::Right),
        KeyCode::Home => edit(Edit::Home),
        KeyCode::End => edit(Edit::End),
        KeyCode::Up => edit(Edit::HistoryPrev),
        KeyCode::Down => edit(Edit::HistoryNext),
        _ => None,
    }
}

fn mouse_action(mouse: &MouseEvent) -> Option<Action> {
    match mouse.kind {
        MouseEventKind::Down(MouseButton::Left) => Some(Action::Click(mouse.column, mouse.row)),
        MouseEventKind::ScrollUp | MouseEventKind::ScrollLeft => Some(Action::ScrollLog(3)),
        MouseEventKind::ScrollDown | MouseEventKind::ScrollRight => Some(Action::ScrollLog(-3)),
        _ => None,
    }
}
