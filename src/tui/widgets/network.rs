//! The network pane: the partition groups written as "1 2 | 3 4 5", the
//! faults every link has and the nodes that are down, and (with room, and
//! its legend with it) the link matrix: each cell is a
//! directed link, `✕` cut, `≈` lossy or slow, `·` up, a digit the messages
//! in flight on it.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Widget;

use super::{pane, put_line, styled};
use crate::runtime::{ClusterView, NodeState};
use crate::tui::app::App;
use crate::tui::driver::groups_text;
use crate::tui::theme::Theme;

/// The faults of the worst link, in words.
pub fn faults_text(view: &ClusterView) -> String {
    let loss = view.links.iter().map(|l| l.loss).fold(0.0, f64::max);
    let dup = view.links.iter().map(|l| l.duplicate).fold(0.0, f64::max);
    let dmin = view.links.iter().map(|l| l.delay_min_us).max().unwrap_or(0);
    let dmax = view.links.iter().map(|l| l.delay_max_us).max().unwrap_or(0);
    let mut parts = Vec::new();
    if loss > 0.0 {
        parts.push(format!("loss {:.0}%", loss * 100.0));
    }
    if dmax > view.teaching.latency_us.1 {
        parts.push(format!("delay {}..{}ms", dmin / 1000, dmax / 1000));
    }
    if dup > 0.0 {
        parts.push(format!("dup {:.0}%", dup * 100.0));
    }
    let (lo, hi) = view.teaching.latency_us;
    if parts.is_empty() && (lo, hi) != crate::net::Link::DEFAULT_DELAY_US {
        // A dashboard's visible latency is the links' normal, not a fault.
        format!(
            "latency {}, no loss",
            crate::tui::driver::delay_text(lo, hi)
        )
    } else if parts.is_empty() {
        "no loss, no delay".into()
    } else {
        parts.join("  ")
    }
}

/// The network in one line, for a layout without the network pane:
/// `all connected · latency 10..20ms, no loss`, `partitioned 1 2 | 3 4 5`,
/// the nodes that are down.
pub fn summary(theme: &Theme, view: &ClusterView) -> String {
    let dot = theme.dot();
    let cut = view.links.iter().filter(|l| !l.up).count();
    let mut text = if view.groups.len() > 1 {
        format!("partitioned {}", groups_text(&view.groups))
    } else if cut > 0 {
        format!("{cut} one-way cuts")
    } else {
        "all connected".to_string()
    };
    text.push_str(&format!(" {dot} "));
    text.push_str(&faults_text(view));
    let down = down_nodes(view);
    if !down.is_empty() {
        text.push_str(&format!(" {dot} down {down}"));
    }
    text
}

/// The nodes that are down, `n2 n4`; empty when none is.
fn down_nodes(view: &ClusterView) -> String {
    let down: Vec<String> = view
        .nodes
        .iter()
        .filter(|n| n.state == NodeState::Down)
        .map(|n| format!("n{}", n.id))
        .collect();
    down.join(" ")
}

/// Whether a link loses, duplicates or delays more than the base link
/// (whose latency is `base_max_us` at most).
fn lossy(l: &crate::runtime::LinkView, base_max_us: u64) -> bool {
    l.loss > 0.0 || l.duplicate > 0.0 || l.delay_max_us > base_max_us
}

/// Draws the network pane.
pub fn render(app: &App, area: Rect, buf: &mut Buffer) {
    let theme = &app.theme;
    let view = &app.view;
    let legend = format!(
        " {} up {} cut {} lossy 1-9 in flight ",
        theme.link_symbol(true, false),
        theme.link_symbol(false, false),
        theme.link_symbol(true, true)
    );
    let n = view.nodes.len() as u16;
    let block = pane(theme, "Network", false);
    // The legend explains the matrix: only with it.
    let with_matrix = area.height >= n + 5 && area.width >= 2 * n + 10;
    let block = if with_matrix {
        block.title_bottom(Line::from(styled(legend, theme.dim())).right_aligned())
    } else {
        block
    };
    let inner = block.inner(area);
    block.render(area, buf);
    let cut = view.links.iter().filter(|l| !l.up).count();
    let groups = if view.groups.len() > 1 {
        Line::from(vec![
            styled("partitioned  ", theme.link_cut()),
            styled(groups_text(&view.groups), theme.key()),
        ])
    } else if cut > 0 {
        Line::from(vec![
            styled("connected  ", theme.link_up()),
            Span::raw(groups_text(&view.groups)),
            styled(format!("  ({cut} one-way cuts)"), theme.link_cut()),
        ])
    } else {
        Line::from(vec![
            styled("all connected  ", theme.link_up()),
            Span::raw(groups_text(&view.groups)),
        ])
    };
    put_line(buf, inner, 0, &groups);
    let any_lossy = view
        .links
        .iter()
        .any(|l| lossy(l, view.teaching.latency_us.1));
    let faults = styled(
        faults_text(view),
        if any_lossy {
            theme.link_lossy()
        } else {
            theme.dim()
        },
    );
    let mut line = vec![faults];
    let down = down_nodes(view);
    if !down.is_empty() {
        line.push(styled(
            format!("  down {down}"),
            theme.state(NodeState::Down),
        ));
    }
    put_line(buf, inner, 1, &Line::from(line));
    if !with_matrix {
        return;
    }
    matrix(
        theme,
        view,
        Rect::new(inner.x, inner.y + 2, inner.width, n + 1),
        buf,
    );
}

fn matrix(theme: &Theme, view: &ClusterView, area: Rect, buf: &mut Buffer) {
    let ids: Vec<u64> = view.nodes.iter().map(|n| n.id).collect();
    let mut head = vec![styled("from\\to ", theme.dim())];
    head.extend(ids.iter().map(|id| styled(format!("{id} "), theme.dim())));
    put_line(buf, area, 0, &Line::from(head));
    for (row, &from) in ids.iter().enumerate() {
        let mut spans = vec![styled(format!("   n{from}   "), theme.dim())];
        for &to in &ids {
            let span = match view.link(from, to) {
                None => Span::raw("  "),
                Some(l) if !l.up => styled(
                    format!("{} ", theme.link_symbol(false, false)),
                    theme.link_cut(),
                ),
                Some(l) if l.in_flight > 0 => {
                    let c = if l.in_flight > 9 {
                        "+".to_string()
                    } else {
                        l.in_flight.to_string()
                    };
                    let style = if lossy(l, view.teaching.latency_us.1) {
                        theme.link_lossy()
                    } else {
                        theme.key()
                    };
                    styled(format!("{c} "), style)
                }
                Some(l) if lossy(l, view.teaching.latency_us.1) => styled(
                    format!("{} ", theme.link_symbol(true, true)),
                    theme.link_lossy(),
                ),
                Some(_) => styled(
                    format!("{} ", theme.link_symbol(true, false)),
                    theme.link_up(),
                ),
            };
            spans.push(span);
        }
        put_line(buf, area, row as u16 + 1, &Line::from(spans));
    }
}
