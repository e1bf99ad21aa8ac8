//! The message pane (`m`): the messages nodes sent, newest first — type,
//! sender and receiver, term, the index it is about, entries carried,
//! the answer, and what the network did with it. Dropped, delayed and
//! duplicated messages are marked (`✕`, `~`, `2`) and coloured. The
//! console's `msgs` command filters it; arrows scroll back (the list then
//! holds still), End follows the newest again.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Widget;

use super::{focused, pane, put_line, styled, teach_style};
use crate::runtime::observe::MessageRecord;
use crate::tui::action::Focus;
use crate::tui::app::App;

/// A message type, short enough for the list's column.
pub fn short_kind(kind: &str) -> &str {
    match kind {
        "InstallSnapshot" => "Snapshot",
        "InstallSnapshotResp" => "SnapshotResp",
        k => k,
    }
}

/// The rows a pane of `area` shows for `app`, newest first.
pub fn rows(app: &App, n: usize) -> Vec<MessageRecord> {
    let window = &app.view.teaching.messages;
    let upto = app.msg_anchor.map_or(window.upto, |a| a.min(window.upto));
    window.log.recent(upto, &app.msg_filter, app.msg_scroll, n)
}

/// One message as a row of the list.
fn row<'a>(app: &App, r: &MessageRecord) -> Line<'a> {
    let theme = &app.theme;
    let style = teach_style::fate(theme, r.fate);
    let index = r.index.map_or(String::new(), |i| format!("i{i}"));
    let entries = if r.entries > 0 {
        format!("+{}", r.entries)
    } else {
        String::new()
    };
    let pair = format!("n{}{}n{}", r.from, theme.arrow(), r.to);
    let text = format!(
        "{:>5} {:<8}{:<13}{:>4} {:>5} {:>3}  {:<15}",
        r.tick,
        pair,
        short_kind(r.kind),
        format!("t{}", r.term),
        index,
        entries,
        r.result_text(),
    );
    Line::from(vec![
        styled(teach_style::fate_mark(theme, r.fate), style),
        Span::raw(text),
        styled(teach_style::fate_text(r.fate), style),
    ])
}

/// Draws the message pane.
pub fn render(app: &App, area: Rect, buf: &mut Buffer) {
    let theme = &app.theme;
    let window = &app.view.teaching.messages;
    let follow = if app.msg_anchor.is_some() {
        format!("scrolled back {}; End follows", app.msg_scroll)
    } else {
        "newest first".to_string()
    };
    let title = format!("Messages ({follow}; filter: {})", app.msg_filter);
    let legend = format!(
        " {} dropped  ~ delayed  2 duplicated  `msgs` filters ",
        teach_style::fate_mark(
            theme,
            crate::runtime::observe::Fate::Dropped(crate::runtime::observe::DropCause::Lost)
        )
    );
    let block = pane(theme, &title, focused(app, Focus::Log))
        .title_bottom(Line::from(styled(legend, theme.dim())).right_aligned());
    let inner = block.inner(area);
    block.render(area, buf);
    if inner.height == 0 {
        return;
    }
    let header = format!(
        " {:>5} {:<8}{:<13}{:>4} {:>5} {:>3}  {:<15}{}",
        "tick", "from→to", "type", "term", "index", "ent", "result", "fate"
    );
    let header = if theme.ascii {
        header.replace('→', ">")
    } else {
        header
    };
    put_line(buf, inner, 0, &Line::from(styled(header, theme.dim())));
    let n = inner.height.saturating_sub(1) as usize;
    let records = rows(app, n);
    if records.is_empty() {
        let why = if !window.recording {
            "messages are not being recorded (the live dashboard records them)".to_string()
        } else if app.msg_filter.is_all() {
            "no messages yet".to_string()
        } else {
            format!(
                "no messages match `msgs {}` (`msgs all` shows every one)",
                app.msg_filter
            )
        };
        put_line(buf, inner, 1, &Line::from(styled(why, theme.dim())));
        return;
    }
    for (i, r) in records.iter().enumerate() {
        put_line(buf, inner, i as u16 + 1, &row(app, r));
    }
}
