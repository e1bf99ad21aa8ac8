//! The console pane: the transcript (each command and its result on
//! their own lines) above a prompt with the cursor.

use ratatui::Frame;
use ratatui::layout::{Position, Rect};
use ratatui::text::Line;

use super::{focused, pane, put_line, styled};
use crate::tui::action::Focus;
use crate::tui::app::App;
use crate::tui::console::LineKind;

/// Draws the console pane and, when it has the focus, places the cursor.
pub fn render(app: &App, area: Rect, frame: &mut Frame) {
    let theme = &app.theme;
    let has_focus = focused(app, Focus::Console);
    let waiting = app.pending.values().filter(|(r, _)| r.is_client()).count();
    let title = match (has_focus, waiting) {
        (true, 0) => "Console (Esc leaves, Up/Down history)".to_string(),
        (false, 0) => "Console (: or / to type)".to_string(),
        (_, n) => format!("Console ({n} waiting for the cluster…)"),
    };
    let block = pane(theme, &title, has_focus);
    let inner = block.inner(area);
    frame.render_widget(block, area);
    if inner.height == 0 {
        return;
    }
    let buf = frame.buffer_mut();
    let rows = (inner.height - 1) as usize;
    let transcript: Vec<_> = app.console.transcript().collect();
    let start = transcript.len().saturating_sub(rows);
    for (y, line) in transcript[start..].iter().enumerate() {
        let (prefix, style) = match line.kind {
            LineKind::Command => (theme.prompt(), theme.key()),
            LineKind::Ok => ("  ", theme.ok()),
            LineKind::Error => ("  ", theme.error()),
            LineKind::Note => ("  ", theme.note()),
        };
        let text = match line.kind {
            LineKind::Error => format!("{prefix}error: {}", line.text),
            _ => format!("{prefix}{}", line.text),
        };
        put_line(buf, inner, y as u16, &Line::from(styled(text, style)));
    }
    let prompt = theme.prompt();
    let input = app.console.input();
    let avail = (inner.width as usize).saturating_sub(prompt.chars().count() + 1);
    // Keep the cursor in sight on a long line.
    let skip = app.console.cursor().saturating_sub(avail);
    let shown: String = input.chars().skip(skip).take(avail + 1).collect();
    let y = inner.height - 1;
    put_line(
        buf,
        inner,
        y,
        &Line::from(vec![
            styled(prompt, if has_focus { theme.key() } else { theme.dim() }),
            styled(shown, ratatui::style::Style::new()),
        ]),
    );
    if has_focus {
        let x = inner.x + (prompt.chars().count() + app.console.cursor() - skip) as u16;
        frame.set_cursor_position(Position::new(
            x.min(inner.right().saturating_sub(1)),
            inner.y + y,
        ));
    }
}
