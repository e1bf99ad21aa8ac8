//! The time-travel scrubber, drawn while viewing the past: a banner saying
//! so (over the bottom panes' lower border) and, in the status bar's place,
//! the timeline of recorded ticks with the shown one marked.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::Modifier;
use ratatui::text::{Line, Span};

use super::{put_line, styled};
use crate::tui::app::App;
use crate::tui::text::cluster_time;

/// The banner's words, and a shorter version for narrow screens.
pub const BANNER: &str = "viewing the past - Esc or b returns to the present   , back  . forward  < > 10 ticks   controls are off";
const BANNER_SHORT: &str = "viewing the past - Esc or b to return   , . tick  < > 10 ticks";

/// Draws the scrubber over `status` (the status bar) and the row above it.
pub fn render(app: &App, status: Rect, buf: &mut Buffer) {
    let Some(at) = app.past else {
        return;
    };
    let theme = &app.theme;
    let base = theme.status();
    if status.y > 0 {
        let row = Rect::new(status.x, status.y - 1, status.width, 1);
        buf.set_string(row.x, row.y, " ".repeat(row.width as usize), theme.past());
        let arrow = if theme.ascii { "<<" } else { "◀" };
        let words = if (row.width as usize) < BANNER.len() + 4 {
            BANNER_SHORT
        } else {
            BANNER
        };
        let words = if theme.ascii {
            words.to_string()
        } else {
            words.replacen(" - ", " — ", 1)
        };
        put_line(
            buf,
            row,
            0,
            &Line::from(styled(format!(" {arrow} {words}"), theme.past())),
        );
    }
    buf.set_style(status, base);
    let shown = app.view.tick;
    let (first, last) = app.history.span().unwrap_or((shown, shown));
    let back = last.saturating_sub(shown);
    let head = vec![
        styled(" PAST ", theme.past()),
        styled(
            format!(" t={} ", cluster_time(shown)),
            base.add_modifier(Modifier::BOLD),
        ),
    ];
    let tail = styled(
        format!(
            " {back} tick{} back  (kept {}{}{}) ",
            if back == 1 { "" } else { "s" },
            cluster_time(first),
            if theme.ascii { ".." } else { "…" },
            cluster_time(last)
        ),
        base,
    );
    let used: usize = head.iter().map(Span::width).sum::<usize>() + tail.width();
    let width = (status.width as usize).saturating_sub(used).max(10);
    let mut spans = head;
    spans.extend(timeline(app, at, width));
    spans.push(tail);
    put_line(buf, status, 0, &Line::from(spans));
}

/// The timeline `width` cells wide with the thumb at position `at`.
fn timeline(app: &App, at: usize, width: usize) -> Vec<Span<'static>> {
    let theme = &app.theme;
    let base = theme.status();
    let (done, rest, thumb) = theme.timeline();
    let inner = width.saturating_sub(2).max(1);
    let len = app.history.len().max(1);
    let pos = if len <= 1 {
        inner - 1
    } else {
        at.min(len - 1) * (inner - 1) / (len - 1)
    };
    let (open, close) = if theme.ascii {
        ("[", "]")
    } else {
        ("┝", "┥")
    };
    vec![
        styled(open, base),
        styled(done.repeat(pos), base),
        styled(thumb, theme.past()),
        styled(rest.repeat(inner - 1 - pos), base),
        styled(close, base),
    ]
}
