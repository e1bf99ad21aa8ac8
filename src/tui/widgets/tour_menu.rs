//! The tour menu (`T`): every shipped guided tour with a line on what it
//! shows. Arrows choose, Enter plays the chosen one on a fresh cluster of
//! the size its script asks for, Esc closes.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Clear;

use super::{centered, pane, put_line, styled};
use crate::scenario::tours::TOURS;
use crate::tui::app::App;

/// The widest the menu gets.
const MAX_WIDTH: u16 = 90;

/// Draws the menu over the middle of the screen.
pub fn render(app: &App, screen: Rect, frame: &mut Frame) {
    let Some(selected) = app.tour_menu else {
        return;
    };
    let theme = &app.theme;
    // Rows: the tours, a blank line, what Enter does, the keys.
    let rows = TOURS.len() as u16 + 3;
    let area = centered(screen, MAX_WIDTH, rows + 2);
    frame.render_widget(Clear, area);
    let block = pane(theme, "Guided tours", true);
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let buf = frame.buffer_mut();
    let name_w = TOURS.iter().map(|t| t.name.len()).max().unwrap_or(0);
    let about_w = (inner.width as usize).saturating_sub(name_w + 5);
    for (i, tour) in TOURS.iter().enumerate() {
        let chosen = i == selected;
        let mark = if chosen { theme.pointer() } else { " " };
        let name_style = if chosen {
            theme.title(true)
        } else {
            theme.key()
        };
        let line = Line::from(vec![
            Span::raw(format!("{mark} ")),
            styled(format!("{:<name_w$}", tour.name), name_style),
            Span::raw("  "),
            Span::raw(clip(tour.about, about_w, theme.ascii)),
        ]);
        put_line(buf, inner, i as u16, &line);
    }
    let below = TOURS.len() as u16 + 1;
    put_line(
        buf,
        inner,
        below,
        &Line::from(styled(
            "Enter plays it on a fresh cluster of its size; the current one stops.",
            theme.dim(),
        )),
    );
    put_line(
        buf,
        inner,
        below + 1,
        &Line::from(vec![
            styled(if theme.ascii { "Up/Down" } else { "↑↓" }, theme.key()),
            Span::raw(" choose  "),
            styled("Enter", theme.key()),
            Span::raw(" start  "),
            styled("Esc", theme.key()),
            Span::raw(" close"),
        ]),
    );
}

/// `text` cut to `width` characters, with `…` (or `...`) where it was cut.
fn clip(text: &str, width: usize, ascii: bool) -> String {
    if text.chars().count() <= width {
        return text.to_string();
    }
    let ellipsis = if ascii { "..." } else { "…" };
    let keep = width.saturating_sub(ellipsis.chars().count());
    let mut out: String = text.chars().take(keep).collect();
    out.push_str(ellipsis);
    out
}
