//! The panes, one per file. Each is a function from the [`App`] (read
//! only) and its rectangle to cells in the frame's buffer.

pub mod checker;
pub mod cluster;
pub mod console;
pub mod events;
pub mod flow;
pub mod help;
pub mod key_hints;
pub mod log;
pub mod messages;
pub mod network;
pub mod node_card;
pub mod scrubber;
pub mod sim_badge;
pub mod status;
pub mod teach_style;
pub mod too_small;
pub mod tour;
pub mod tour_menu;
pub mod why;
pub mod wire;

use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::Block;

use crate::tui::app::App;
use crate::tui::theme::Theme;

/// The frame of a pane, its title reversed when it has the focus.
pub fn pane<'a>(theme: &Theme, title: &'a str, focused: bool) -> Block<'a> {
    Block::bordered()
        .border_set(theme.border())
        .border_style(theme.pane_border(focused))
        .title(Span::styled(format!(" {title} "), theme.title(focused)))
}

/// A label on the left and a value on the right, `width` wide.
pub fn label_value<'a>(label: Span<'a>, value: Span<'a>, width: u16) -> Line<'a> {
    let gap = (width as usize).saturating_sub(label.width() + value.width());
    Line::from(vec![label, Span::raw(" ".repeat(gap)), value])
}

/// Writes `line` into the buffer at row `y` of `area`, clipped.
pub fn put_line(buf: &mut ratatui::buffer::Buffer, area: Rect, y: u16, line: &Line<'_>) {
    if y < area.height {
        buf.set_line(area.x, area.y + y, line, area.width);
    }
}

/// Writes `line` at row `y` of `area` like [`put_line`], but a line too
/// wide ends with `…` (`...` in ASCII) where it is cut, so nothing looks
/// whole that is not.
pub fn put_line_cut(
    theme: &Theme,
    buf: &mut ratatui::buffer::Buffer,
    area: Rect,
    y: u16,
    line: &Line<'_>,
) {
    let width = area.width as usize;
    if line.width() <= width {
        return put_line(buf, area, y, line);
    }
    let more = theme.running();
    let mut room = width.saturating_sub(more.chars().count());
    let mut spans: Vec<Span> = Vec::new();
    let mut last = Style::new();
    for span in &line.spans {
        if room == 0 {
            break;
        }
        let kept: String = span.content.chars().take(room).collect();
        room -= kept.chars().count();
        last = span.style;
        spans.push(Span::styled(kept, span.style));
    }
    spans.push(Span::styled(more, last));
    put_line(buf, area, y, &Line::from(spans));
}

/// Whether the app's focus is `pane`.
pub fn focused(app: &App, pane: crate::tui::action::Focus) -> bool {
    app.focus == pane && !app.help
}

/// A `w`×`h` rectangle (clipped to the screen, less a margin of one) in
/// the middle of `screen`: where overlays go.
pub fn centered(screen: Rect, w: u16, h: u16) -> Rect {
    let w = screen.width.saturating_sub(2).min(w);
    let h = screen.height.saturating_sub(2).min(h);
    Rect::new(
        screen.x + (screen.width - w) / 2,
        screen.y + (screen.height - h) / 2,
        w,
        h,
    )
}

/// Plain text in a style.
pub fn styled(text: impl Into<String>, style: Style) -> Span<'static> {
    Span::styled(text.into(), style)
}
