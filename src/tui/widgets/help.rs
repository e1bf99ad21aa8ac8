//! The help overlay (`?`): every key and every console command.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Clear;

use super::{pane, put_line, styled};
use crate::tui::app::App;
use crate::tui::command::COMMANDS;

/// Every key and what it does.
pub const KEYS: &[(&str, &str)] = &[
    ("?", "this help"),
    ("q  Ctrl-C", "quit (q: not in console)"),
    ("Tab S-Tab", "move the focus"),
    (":  /", "type in the console"),
    ("Esc", "leave console/help/past"),
    ("1-9 arrows", "select node / scroll"),
    ("k  r", "kill / restart selected"),
    ("p  i", "pause-resume / isolate"),
    ("t  x", "make leader / remove it"),
    ("a  P", "add a node / promote it"),
    ("h  H", "heal the network"),
    ("space", "pause / run time"),
    (".  ,", "tick fwd / back (past)"),
    ("+  -", "faster / slower"),
    ("<  >  b", "10 ticks; b: present"),
    ("R", "sim: replay the seed"),
    ("T", "guided tours menu"),
    ("log pane", "hl cursor, H heals"),
    ("w", "why? the entry or node"),
    ("m  f  c", "messages / focus / checks"),
    ("o [ ] d D", "hold; choose/deliver/drop"),
    ("mouse", "click card; wheel: log"),
];

/// Draws the overlay over the middle of the screen.
pub fn render(app: &App, screen: Rect, frame: &mut Frame) {
    let theme = &app.theme;
    let rows = KEYS.len().max(COMMANDS.len()) as u16 + 3;
    let w = screen.width.saturating_sub(2).min(100);
    let h = screen.height.min(rows);
    let area = Rect::new(
        screen.x + (screen.width - w) / 2,
        screen.y + (screen.height - h) / 2,
        w,
        h,
    );
    frame.render_widget(Clear, area);
    // On a short screen the column headings give way to the entries
    // (the title names the columns instead).
    let headed = h >= rows;
    let title = if headed {
        "Help: Esc or ? closes"
    } else {
        "Help: keys | console commands; Esc or ? closes"
    };
    let block = pane(theme, title, true);
    let inner = block.inner(area);
    let top = u16::from(headed);
    frame.render_widget(block, area);
    let buf = frame.buffer_mut();
    let left_w = 36.min(inner.width / 2);
    let left = Rect::new(inner.x, inner.y, left_w, inner.height);
    let right = Rect::new(
        inner.x + left_w + 2,
        inner.y,
        inner.width.saturating_sub(left_w + 2),
        inner.height,
    );
    if headed {
        let heading = |text| Line::from(styled(text, theme.title(false)));
        put_line(buf, left, 0, &heading("Keys"));
        put_line(buf, right, 0, &heading("Console commands"));
    }
    for (i, (k, what)) in KEYS.iter().enumerate() {
        let line = Line::from(vec![
            styled(format!("{k:<11}"), theme.key()),
            Span::raw(*what),
        ]);
        put_line(buf, left, i as u16 + top, &line);
    }
    for (i, (syntax, what)) in COMMANDS.iter().enumerate() {
        let line = Line::from(vec![
            styled(format!("{syntax:<22}"), theme.key()),
            Span::raw(*what),
        ]);
        put_line(buf, right, i as u16 + top, &line);
    }
}
