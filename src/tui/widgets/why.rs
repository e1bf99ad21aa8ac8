//! The "why?" answer (`w`, or the console's `why`): a box above the status
//! bar, as tall as it needs and never over the node cards — they stay in
//! sight, as the answer talks about them, and so does the log when the
//! answer is short — with the subject as its title, the
//! verdict marked `✓` (as it should be), `…` (under way) or `✗` (stuck),
//! and the reasons one per bullet. It answers about the frame shown, so
//! in the past its title says which moment.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Clear, Widget};

use super::{pane, put_line, styled};
use crate::scenario::Mark;
use crate::tui::app::App;
use crate::tui::layout::Areas;
use crate::tui::text::{cluster_time, wrap_words};
use crate::tui::why::{Answer, Tone, explain};

/// Widest the box grows, for lines a person can read; a screen not much
/// wider gives it its whole width.
const MAX_WIDTH: u16 = 120;

/// The room the answer may take on `screen`: under the node cards, above
/// the status bar, centred. It sits at the bottom of it, as tall as it
/// needs, so a short answer leaves the log (and its cursor) in sight.
pub fn area(areas: &Areas, screen: Rect) -> Rect {
    let top = areas.log.y;
    let h = areas.status.y.saturating_sub(top);
    if screen.width <= MAX_WIDTH + 10 {
        return Rect::new(screen.x, top, screen.width, h);
    }
    // Narrower than the panes under it: it floats clear of their bottom
    // edges, which stay whole below it.
    let x = screen.x + (screen.width - MAX_WIDTH) / 2;
    Rect::new(x, top, MAX_WIDTH, h.saturating_sub(1))
}

/// The verdict's mark and style.
fn tone(app: &App, tone: Tone) -> (&'static str, Style) {
    let theme = &app.theme;
    match tone {
        Tone::Good => (theme.step_mark(Mark::Pass), theme.ok()),
        Tone::Waiting => (theme.running(), theme.note()),
        Tone::Bad => (theme.step_mark(Mark::Fail), theme.error()),
    }
}

/// The answer as lines `width` wide: the verdict, then each reason
/// wrapped under its bullet.
pub fn lines(app: &App, answer: &Answer, width: u16) -> Vec<Line<'static>> {
    let (mark, style) = tone(app, answer.tone);
    let text_w = (width as usize).saturating_sub(2).max(10);
    let mut out = Vec::new();
    for (i, part) in wrap_words(&answer.verdict, text_w).into_iter().enumerate() {
        let lead = if i == 0 {
            format!("{mark} ")
        } else {
            "  ".into()
        };
        out.push(Line::from(styled(
            format!("{lead}{part}"),
            style.add_modifier(Modifier::BOLD),
        )));
    }
    let bullet = app.theme.bullet();
    for reason in &answer.reasons {
        for (i, part) in wrap_words(reason, text_w).into_iter().enumerate() {
            let lead = if i == 0 { bullet } else { " " };
            out.push(Line::from(vec![
                styled(format!("{lead} "), app.theme.dim()),
                Span::raw(part),
            ]));
        }
    }
    out
}

/// Draws the answer about what is selected, on the frame shown.
pub fn render(app: &App, areas: &Areas, screen: Rect, buf: &mut Buffer) {
    let answer = explain(&app.view, app.why_subject());
    let room = area(areas, screen);
    let mut title = format!("Why? {}", answer.title);
    if app.past.is_some() {
        let at = cluster_time(app.view.tick);
        title.push_str(&format!(" (at {at}, in the past)"));
    }
    let inner_w = room.width.saturating_sub(4);
    let mut body = lines(app, &answer, inner_w);
    let fits = room.height.saturating_sub(2) as usize;
    if body.len() > fits && fits > 0 {
        let more = body.len() - fits + 1;
        body.truncate(fits - 1);
        body.push(Line::from(styled(
            format!(
                "{} {more} more lines: a taller terminal shows them",
                app.theme.running()
            ),
            app.theme.dim(),
        )));
    }
    let h = (body.len() as u16 + 2).min(room.height);
    let rect = Rect::new(room.x, room.bottom() - h, room.width, h);
    Clear.render(rect, buf);
    let keys = " w or Esc closes; move the cursor or pick a node to ask about it ";
    let block = pane(&app.theme, &title, true)
        .title_bottom(Line::from(styled(keys, app.theme.dim())).right_aligned());
    let inner = block.inner(rect);
    block.render(rect, buf);
    let text = Rect::new(
        inner.x + 1,
        inner.y,
        inner.width.saturating_sub(2),
        inner.height,
    );
    for (y, line) in body.iter().enumerate() {
        put_line(buf, text, y as u16, line);
    }
}
