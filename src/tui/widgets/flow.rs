//! Focus mode (`f`): the selected node's latest messages drawn as they
//! travel between the nodes — a message sequence chart under the node
//! cards. Each node has a lifeline in the column of its card; each row,
//! newest at the top, is one message as an arrow from the sender's line
//! to the receiver's, labelled with its type, index, entries and answer.
//! A dropped message stops halfway at `✕`, a delayed one is dashed, a
//! duplicated one doubled. `1`–`9` pick the node; the `msgs type` filter
//! applies here too.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::text::Line;
use ratatui::widgets::Widget;

use super::messages::short_kind;
use super::{focused, pane, put_line, styled, teach_style};
use crate::raft::NodeId;
use crate::runtime::observe::{Fate, MessageRecord, MsgFilter};
use crate::tui::action::Focus;
use crate::tui::app::App;

/// The x of each node's lifeline: under its card's middle when cards are
/// drawn, else spread evenly across `area`.
pub fn columns(ids: &[NodeId], cards: &[Rect], area: Rect) -> Vec<u16> {
    if cards.len() == ids.len() && cards.iter().all(|c| c.y == cards[0].y) {
        return cards.iter().map(|c| c.x + c.width / 2).collect();
    }
    let n = ids.len().max(1) as u32;
    let w = u32::from(area.width.saturating_sub(2));
    (0..n)
        .map(|i| area.x + 1 + ((2 * i + 1) * w / (2 * n)) as u16)
        .collect()
}

/// The label of a message on its arrow.
fn label(r: &MessageRecord) -> String {
    let mut parts = vec![short_kind(r.kind).to_string()];
    if let Some(i) = r.index {
        parts.push(format!("i{i}"));
    }
    if r.entries > 0 {
        parts.push(format!("+{}", r.entries));
    }
    let result = r.result_text();
    if !result.is_empty() {
        parts.push(result);
    }
    match r.fate {
        Fate::Delayed { us } => parts.push(format!("{}ms", us.div_ceil(1000))),
        Fate::Duplicated { copies, .. } => parts.push(format!("x{copies}")),
        Fate::Held { number } => parts.push(format!("held #{number}")),
        _ => {}
    }
    parts.join(" ")
}

/// Draws the focus mode into `area`, lifelines at `cols` (one per node,
/// in the view's order).
pub fn render(app: &App, area: Rect, cols: &[u16], buf: &mut Buffer) {
    let theme = &app.theme;
    let sel = app.selected;
    let title = format!(
        "Focus: n{sel}'s messages, newest on top (1-9 node, f closes, type: {})",
        app.msg_filter.class.map_or("all", |c| c.word())
    );
    let block = pane(theme, &title, focused(app, Focus::Log));
    let inner = block.inner(area);
    block.render(area, buf);
    if inner.height < 2 {
        return;
    }
    let ids: Vec<NodeId> = app.view.nodes.iter().map(|n| n.id).collect();
    let col_of = |id: NodeId| {
        ids.iter()
            .position(|&i| i == id)
            .and_then(|i| cols.get(i))
            .copied()
    };
    // Header: the node names over their lifelines.
    for (i, &id) in ids.iter().enumerate() {
        let Some(&x) = cols.get(i) else { continue };
        let name = if id == sel {
            format!("{}n{id}", theme.pointer())
        } else {
            format!("n{id}")
        };
        let style = if id == sel {
            theme.selected()
        } else {
            theme.dim()
        };
        let x0 = x
            .saturating_sub(name.chars().count() as u16 / 2)
            .max(inner.x);
        if x0 < inner.right() {
            buf.set_stringn(x0, inner.y, &name, (inner.right() - x0) as usize, style);
        }
    }
    let filter = MsgFilter {
        node: Some(sel),
        class: app.msg_filter.class,
        ..MsgFilter::default()
    };
    let window = &app.view.teaching.messages;
    let n = inner.height.saturating_sub(1) as usize;
    let records = window.log.recent(window.upto, &filter, 0, n);
    if records.is_empty() {
        let why = if window.recording {
            format!("no messages from or to n{sel} yet")
        } else {
            "messages are not being recorded (the live dashboard records them)".to_string()
        };
        put_line(buf, inner, 1, &Line::from(styled(why, theme.dim())));
        return;
    }
    let (solid, dashed, double) = teach_style::lines(theme);
    let (right_head, left_head) = teach_style::heads(theme);
    for (row, r) in records.iter().enumerate() {
        let y = inner.y + 1 + row as u16;
        for &x in cols {
            if x >= inner.x && x < inner.right() {
                buf.set_string(x, y, teach_style::lifeline(theme), theme.dim());
            }
        }
        // The tick it left at, left of the first lifeline when there is room.
        let tick = r.tick.to_string();
        let first = cols.iter().copied().min().unwrap_or(inner.x);
        let room = first.saturating_sub(inner.x + 1) as usize;
        if tick.len() <= room {
            let x = first - 1 - tick.len() as u16;
            buf.set_string(x, y, &tick, theme.dim());
        }
        let (Some(a), Some(b)) = (col_of(r.from), col_of(r.to)) else {
            continue;
        };
        let style = teach_style::fate(theme, r.fate);
        let piece = match r.fate {
            Fate::Delayed { .. } => dashed,
            Fate::Duplicated { .. } => double,
            _ => solid,
        };
        let rightward = b > a;
        let (lo, hi) = (a.min(b) + 1, a.max(b).saturating_sub(1));
        if hi < lo {
            continue;
        }
        let dropped = matches!(r.fate, Fate::Dropped(_));
        // A dropped message gets halfway.
        let (from_x, to_x) = if dropped {
            let mid = lo + (hi - lo) / 2;
            if rightward { (lo, mid) } else { (mid, hi) }
        } else {
            (lo, hi)
        };
        for x in from_x..=to_x {
            buf.set_string(x, y, piece, style);
        }
        let (head_x, head) = match (dropped, rightward) {
            (true, true) => (to_x, teach_style::drop_mark(theme)),
            (true, false) => (from_x, teach_style::drop_mark(theme)),
            (false, true) => (hi, right_head),
            (false, false) => (lo, left_head),
        };
        buf.set_string(head_x, y, head, style);
        // The label sits on the line when it fits there (after the ✕ of a
        // dropped message), else beside the arrow, over the other
        // lifelines of the row.
        let mut text = label(r);
        if dropped {
            text.push_str(" DROPPED");
        }
        let want = text.chars().count();
        let (left, right) = (a.min(b), a.max(b));
        let on_line = if dropped && rightward {
            (to_x + 2, right.saturating_sub(to_x + 3) as usize)
        } else if dropped {
            (lo + 1, from_x.saturating_sub(lo + 2) as usize)
        } else {
            (lo + 1, (hi - lo).saturating_sub(1) as usize)
        };
        let after = (right + 2, inner.right().saturating_sub(right + 2) as usize);
        let before_room = left.saturating_sub(inner.x + 2) as usize;
        let before = (left.saturating_sub(1 + before_room as u16), before_room);
        let (lx, room) = [on_line, after, before]
            .into_iter()
            .find(|&(_, room)| room >= want)
            .unwrap_or_else(|| {
                [on_line, after, before]
                    .into_iter()
                    .max_by_key(|&(_, room)| room)
                    .unwrap_or(on_line)
            });
        let text: String = text.chars().take(room).collect();
        let width = text.chars().count();
        let x = if (lx, room) == on_line {
            lx + (room.saturating_sub(width) / 2) as u16
        } else if (lx, room) == before {
            lx + (room - width) as u16
        } else {
            lx
        };
        if width > 0 {
            buf.set_string(x, y, &text, style);
        }
    }
}
