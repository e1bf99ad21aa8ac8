//! The live checker panel (`c`): each of Raft's safety invariants as OK
//! or VIOLATED, the first violation explained (which nodes, which index
//! and term, when), and whether the client history so far is
//! linearizable. In a simulated run (`--sim`, `raftlab replay`) the rows
//! are the simulator's checks, its own ones
//! ([`Invariant::SIM_ONLY`](crate::runtime::observe::Invariant::SIM_ONLY))
//! included; the live panel lists only what the live checker judges.
//! The verdicts come from the view's
//! [`CheckReport`](crate::runtime::observe::CheckReport); this only shows them.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Widget, Wrap};

use super::{pane, put_line, styled, teach_style};
use crate::runtime::observe::LinStatus;
use crate::tui::app::App;
use crate::tui::text::cluster_time;

/// Draws the panel.
pub fn render(app: &App, area: Rect, buf: &mut Buffer) {
    let theme = &app.theme;
    let report = &app.view.teaching.checks;
    let title = match (report.simulated, report.violated()) {
        (false, true) => "Live checks: VIOLATED (c closes)",
        (false, false) => "Live checks (c closes)",
        (true, true) => "Simulator checks: VIOLATED (c closes)",
        (true, false) => "Simulator checks (c closes)",
    };
    let block = pane(theme, title, false);
    let inner = block.inner(area);
    block.render(area, buf);
    if inner.height == 0 {
        return;
    }
    if !report.active {
        let line = Line::from(styled(
            "live checks are off: only a live dashboard cluster records what they need",
            theme.dim(),
        ));
        Paragraph::new(line)
            .wrap(Wrap { trim: true })
            .render(inner, buf);
        return;
    }
    let mut all = report.rows();
    // When the rows, the history line and the evidence do not fit (the
    // simulator's checks at 80×24), the broken rows are listed and the
    // rest counted on one line.
    let mut others_ok = None;
    if layout(inner, all.len() + 1).1 + 2 > inner.height as usize {
        let total = all.len();
        all.retain(|inv| report.finding(*inv).is_some());
        others_ok = Some(total - all.len());
    }
    let items = all.len() + usize::from(others_ok.is_some());
    let (two, per_col) = layout(inner, items);
    let col_w = if two { inner.width / 2 } else { inner.width };
    for (i, inv) in all.iter().enumerate() {
        let (row, col) = (i % per_col, i / per_col);
        let ok = report.finding(*inv).is_none();
        let style = if ok {
            teach_style::holds(theme)
        } else {
            teach_style::broken(theme)
        };
        let verdict = if ok { "OK" } else { "VIOLATED" };
        let name_w = (col_w as usize).saturating_sub(12);
        let line = Line::from(vec![
            styled(format!("{} ", teach_style::check_mark(theme, ok)), style),
            Span::raw(format!("{:<name_w$}", inv.name())),
            styled(format!(" {verdict}"), style),
        ]);
        let cell = Rect::new(inner.x + col as u16 * col_w, inner.y, col_w, inner.height);
        put_line(buf, cell, row as u16, &line);
    }
    if let Some(n) = others_ok {
        let i = all.len();
        let (row, col) = (i % per_col, i / per_col);
        let style = teach_style::holds(theme);
        let text = if all.is_empty() {
            format!("all {n} checks OK (a taller terminal lists them)")
        } else {
            format!("the other {n} checks OK")
        };
        let line = Line::from(vec![
            styled(format!("{} ", teach_style::check_mark(theme, true)), style),
            styled(text, style),
        ]);
        let cell = Rect::new(inner.x + col as u16 * col_w, inner.y, col_w, inner.height);
        put_line(buf, cell, row as u16, &line);
    }
    let mut y = per_col as u16;
    let lin = &report.linearizability;
    let lin_style = match lin {
        LinStatus::Linearizable { .. } => teach_style::holds(theme),
        LinStatus::NotLinearizable { .. } | LinStatus::Broken(_) => teach_style::broken(theme),
        _ => theme.dim(),
    };
    let ok = !matches!(lin, LinStatus::NotLinearizable { .. });
    let lin_line = Line::from(vec![
        styled(
            format!("{} ", teach_style::check_mark(theme, ok)),
            lin_style,
        ),
        Span::raw("history: "),
        styled(lin.to_string(), lin_style),
    ]);
    let rest = Rect::new(
        inner.x,
        inner.y + y,
        inner.width,
        inner.height.saturating_sub(y),
    );
    let lin_w = lin_line.width().max(1);
    let lin_h = lin_w.div_ceil(usize::from(inner.width.max(1))).clamp(1, 2) as u16;
    Paragraph::new(lin_line).wrap(Wrap { trim: true }).render(
        Rect::new(rest.x, rest.y, rest.width, lin_h.min(rest.height)),
        buf,
    );
    y += lin_h;
    if y >= inner.height {
        return;
    }
    let text = match report.first() {
        Some(f) => Line::from(vec![
            styled(
                format!(
                    "first violation, {} at t={}: ",
                    f.invariant.name(),
                    cluster_time(f.tick)
                ),
                teach_style::broken(theme),
            ),
            Span::raw(f.details.clone()),
        ]),
        None if report.simulated => Line::from(styled(
            "checked after every simulated step, no violation",
            theme.dim(),
        )),
        None => Line::from(styled(
            format!("{} node facts checked, no violation", report.observed),
            theme.dim(),
        )),
    };
    let area = Rect::new(inner.x, inner.y + y, inner.width, inner.height - y);
    Paragraph::new(text)
        .wrap(Wrap { trim: true })
        .render(area, buf);
}

/// Whether `items` rows go in two columns in `inner`, and how many rows a
/// column holds: one column when there is height for it, else two.
fn layout(inner: Rect, items: usize) -> (bool, usize) {
    let two = (inner.height as usize) < items + 3 && inner.width >= 60;
    let per_col = if two { items.div_ceil(2) } else { items };
    (two, per_col.max(1))
}
