//! The log pane: every node's log as a row, aligned by index in columns,
//! each entry showing its term (a colour per term). The mark after a
//! node's commit index, its snapshot boundary and every entry that differs
//! from the leader's at the same index are drawn; at the right, the
//! leader's nextIndex and matchIndex of each follower; below the grid, the
//! selected node's newest entries with their commands. It follows the
//! tail unless scrolled back.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::Widget;

use super::{focused, pane, put_line, styled};
use crate::raft::Index;
use crate::runtime::{ClusterView, NodeView};
use crate::tui::action::Focus;
use crate::tui::app::App;

/// Columns of the leader's next/match strip (" next match").
const STRIP: u16 = 11;

/// Columns of the row labels ("▶n1 ").
const LABEL: u16 = 4;

/// The visible index range: `cols` columns ending `scroll` before the tail.
pub fn visible_range(view: &ClusterView, cols: u64, scroll: u64) -> (Index, Index) {
    let last = view.newest_index();
    let end = last.saturating_sub(scroll).max(1);
    let start = end.saturating_sub(cols.saturating_sub(1)).max(1);
    (start, end)
}

fn digits(n: u64) -> u16 {
    n.max(1).ilog10() as u16 + 1
}

/// The grid's shape inside the pane's `inner` area: the width of a
/// column, the width of the next/match strip (0 when not shown) and the
/// number of index columns.
fn grid(view: &ClusterView, inner: Rect) -> (u16, u16, u64) {
    let max_term = view
        .nodes
        .iter()
        .map(|n| n.last_term.max(n.term))
        .max()
        .unwrap_or(0);
    let cw = digits(max_term) + 1;
    let leader = view.leader().and_then(|l| view.node(l));
    // The leader's next and match index of each follower, in a strip at
    // the right, when there is a leader and room.
    let strip = match leader {
        Some(l) if !l.progress.is_empty() && inner.width >= LABEL + STRIP + 12 => STRIP,
        _ => 0,
    };
    let cols = (inner.width.saturating_sub(LABEL + strip) / cw) as u64;
    (cw, strip, cols)
}

/// How many index columns the log pane shows when drawn in `area`.
pub fn columns(app: &App, area: Rect) -> u64 {
    let inner = pane(&app.theme, "", false).inner(area);
    grid(&app.view, inner).2
}

/// Draws the log pane.
pub fn render(app: &App, area: Rect, buf: &mut Buffer) {
    let theme = &app.theme;
    let view = &app.view;
    let cursor = app.cursor_index().filter(|_| focused(app, Focus::Log));
    let title = match (cursor, app.log_cursor, app.log_scroll) {
        (Some(at), Some(_), _) => format!("Log (cursor at {at}: w asks why; End follows the tail)"),
        (Some(at), None, 0) => format!("Log (following the tail; cursor at {at}: w asks why)"),
        (_, _, 0) => "Log (following the tail)".to_string(),
        (_, _, back) => format!("Log (scrolled back {back}; End follows)"),
    };
    let legend = format!(
        " {} commit  {} snapshot  {} differs from leader ",
        theme.commit_mark(),
        theme.compacted(),
        theme.conflict_mark()
    );
    let block = pane(theme, &title, focused(app, Focus::Log))
        .title_bottom(Line::from(styled(legend, theme.dim())).right_aligned());
    let inner = block.inner(area);
    block.render(area, buf);
    if inner.height == 0 || inner.width <= LABEL + 4 {
        return;
    }
    let (cw, strip, cols) = grid(view, inner);
    let leader = view.leader().and_then(|l| view.node(l));
    let (start, end) = visible_range(view, cols, app.log_scroll);
    let last = view.newest_index();
    header(app, inner, start, end, cw, buf);

    // Rows that fit; keep the selected node in sight.
    let rows = (inner.height - 1) as usize;
    let n = view.nodes.len();
    let sel = view
        .nodes
        .iter()
        .position(|v| v.id == app.selected)
        .unwrap_or(0);
    let first = if n <= rows {
        0
    } else {
        sel.saturating_sub(rows - 1).min(n - rows)
    };
    if let Some(l) = leader.filter(|_| strip > 0) {
        let x = inner.x + inner.width - strip;
        let head = format!("{:>w$}", "next match", w = strip as usize);
        buf.set_stringn(x, inner.y, head, strip as usize, theme.dim());
        for (row, node) in view.nodes.iter().enumerate().skip(first).take(rows) {
            let y = inner.y + 1 + (row - first) as u16;
            let text = if node.id == l.id {
                format!("{:>w$}", "leader", w = strip as usize)
            } else if let Some((_, p)) = l.progress.iter().find(|(id, _)| *id == node.id) {
                format!("{:>5} {:>5}", p.next_index, p.match_index)
            } else {
                continue;
            };
            let style = if node.id == l.id {
                theme.role(crate::raft::Role::Leader)
            } else {
                Style::new()
            };
            buf.set_stringn(x, y, text, strip as usize, style);
        }
    }
    for (row, node) in view.nodes.iter().enumerate().skip(first).take(rows) {
        let y = inner.y + 1 + (row - first) as u16;
        let selected = node.id == app.selected;
        let label = format!(
            "{}n{} ",
            if selected { theme.pointer() } else { " " },
            node.id
        );
        let label_style = if selected {
            theme.selected()
        } else {
            Style::new()
        };
        buf.set_stringn(inner.x, y, label, LABEL as usize, label_style);
        let leader = leader.filter(|l| l.id != node.id);
        for (col, index) in (start..=end).enumerate() {
            let x = inner.x + LABEL + col as u16 * cw;
            cell(app, node, leader, index, x, y, cw, buf);
            if selected && cursor == Some(index) {
                mark_cursor(app, x, y, cw, buf);
            }
        }
    }
    if last == 0 {
        let msg = "no entries yet: the log fills once a leader is elected";
        buf.set_stringn(
            inner.x + LABEL + 2,
            inner.y + 1,
            msg,
            (inner.width - LABEL - 2) as usize,
            theme.dim(),
        );
    }
    detail(app, inner, n.min(rows) as u16 + 1, buf);
}

fn header(app: &App, inner: Rect, start: Index, end: Index, cw: u16, buf: &mut Buffer) {
    let width = digits(end) + 1;
    let step = [1u64, 2, 5, 10, 20, 50, 100, 200, 500, 1000]
        .into_iter()
        .find(|&s| s as u16 * cw >= width)
        .unwrap_or(1000);
    buf.set_stringn(inner.x, inner.y, "idx", LABEL as usize, app.theme.dim());
    let right = inner.x + inner.width;
    for (col, index) in (start..=end).enumerate() {
        if index % step != 0 {
            continue;
        }
        let x = inner.x + LABEL + col as u16 * cw;
        if x + width <= right {
            buf.set_string(x, inner.y, index.to_string(), app.theme.dim());
        }
    }
}

/// One entry's cell: its term right-aligned, then the separator column,
/// which carries the commit mark or the differs-from-leader mark.
#[allow(clippy::too_many_arguments)]
fn cell(
    app: &App,
    node: &NodeView,
    leader: Option<&NodeView>,
    index: Index,
    x: u16,
    y: u16,
    cw: u16,
    buf: &mut Buffer,
) {
    let theme = &app.theme;
    let w = (cw - 1) as usize;
    let mut sep = (" ", Style::new());
    if index > node.last_index {
        // Nothing there.
    } else if index <= node.snapshot_index {
        for i in 0..w as u16 {
            put(buf, x + i, y, theme.compacted(), theme.dim());
        }
    } else if let Some(term) = node.term_at(index) {
        let mut style = theme.term(term);
        if index > node.commit {
            style = style.patch(theme.uncommitted());
        }
        let differs = leader
            .is_some_and(|l| index > l.last_index || l.term_at(index).is_some_and(|t| t != term));
        if differs {
            style = theme.conflict();
            sep = (theme.conflict_mark(), theme.conflict());
        }
        // Right-aligned digits, written cell by cell (no allocation: this
        // runs for every visible entry of every node, every frame).
        let mut t = term;
        for i in (0..w as u16).rev() {
            let digit = if t > 0 || i + 1 == w as u16 {
                DIGITS[(t % 10) as usize]
            } else {
                " "
            };
            put(buf, x + i, y, digit, style);
            t /= 10;
        }
    } else {
        put(buf, x + w as u16 - 1, y, theme.missing(), theme.dim());
    }
    if index == node.commit && index > 0 {
        sep = (theme.commit_mark(), theme.ok());
    }
    put(buf, x + cw - 1, y, sep.0, sep.1);
}

/// The log cursor: its cell reversed, and an empty cell (no entry there)
/// given a mark, so it shows without colour too.
fn mark_cursor(app: &App, x: u16, y: u16, cw: u16, buf: &mut Buffer) {
    for i in 0..cw - 1 {
        if let Some(cell) = buf.cell_mut((x + i, y)) {
            if i + 2 == cw && cell.symbol() == " " {
                cell.set_symbol(app.theme.missing());
            }
            let style = cell.style().add_modifier(Modifier::REVERSED);
            cell.set_style(style);
        }
    }
}

const DIGITS: [&str; 10] = ["0", "1", "2", "3", "4", "5", "6", "7", "8", "9"];

/// Sets one cell's symbol and style, if it is on the buffer.
fn put(buf: &mut Buffer, x: u16, y: u16, symbol: &str, style: Style) {
    if let Some(cell) = buf.cell_mut((x, y)) {
        cell.set_symbol(symbol).set_style(style);
    }
}

/// The selected node's newest entries with their commands.
fn detail(app: &App, inner: Rect, top: u16, buf: &mut Buffer) {
    let Some(node) = app.view.node(app.selected) else {
        return;
    };
    let lines = inner.height.saturating_sub(top) as usize;
    if lines == 0 {
        return;
    }
    let theme = &app.theme;
    let (_, end) = visible_range(&app.view, 1, app.log_scroll);
    let label = styled(format!("n{} entries: ", node.id), theme.selected());
    let budget = (inner.width as usize).saturating_sub(label.width());
    let shown: Vec<_> = node.log.iter().filter(|e| e.index <= end).collect();
    let from = shown.len().saturating_sub(lines * 8);
    let mut packed: Vec<(Vec<Span>, usize)> = vec![(Vec::new(), 0)];
    for e in &shown[from..] {
        let item = [
            styled(e.index.to_string(), theme.dim()),
            styled(format!(" t{} ", e.term), theme.term(e.term)),
            Span::raw(format!("{}  ", e.text)),
        ];
        let w: usize = item.iter().map(Span::width).sum();
        let full = packed
            .last()
            .is_some_and(|(_, used)| used + w > budget && *used > 0);
        if full {
            packed.push((Vec::new(), 0));
        }
        if let Some((spans, used)) = packed.last_mut() {
            spans.extend(item);
            *used += w;
        }
    }
    let skip = packed.len().saturating_sub(lines);
    for (i, (spans, _)) in packed.into_iter().skip(skip).enumerate() {
        let mut all = vec![if i == 0 {
            label.clone()
        } else {
            Span::raw(" ".repeat(label.width()))
        }];
        if spans.is_empty() && i == 0 {
            all.push(styled("none yet", theme.dim()));
        }
        all.extend(spans);
        put_line(buf, inner, top + i as u16, &Line::from(all));
    }
}
