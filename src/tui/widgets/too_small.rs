//! What shows instead of a broken layout on a terminal below 80×24.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::text::Line;

use super::put_line;
use crate::tui::layout::{MIN_HEIGHT, MIN_WIDTH};

/// The message, with the size needed and the size there is.
pub fn message(area: Rect) -> String {
    format!(
        "terminal too small (need {MIN_WIDTH}×{MIN_HEIGHT}, have {}×{})",
        area.width, area.height
    )
}

/// Draws the message in the middle of the screen.
pub fn render(area: Rect, buf: &mut Buffer) {
    let lines = [
        message(area),
        "enlarge the window, or press q to quit".to_string(),
    ];
    let top = area.height.saturating_sub(lines.len() as u16) / 2;
    for (i, text) in lines.iter().enumerate() {
        let line = Line::from(text.as_str()).centered();
        put_line(buf, area, top + i as u16, &line);
    }
}
