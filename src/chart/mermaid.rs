//! A [`Chart`] as Mermaid `sequenceDiagram` text, for slides and Markdown.
//!
//! Mermaid draws each arrow as one moment, in the order written, so the
//! text lists arrows (by send time) and marks (by time) merged into one
//! stream. Requests are solid arrows (`->>`), answers dotted (`-->>`), a
//! dropped message ends in a cross (`-x`); a message held on its link
//! longer than a fresh link's latency says how long. Role changes, commits
//! and faults are notes over their lifeline (or over all of them).

use std::fmt::Write;

use super::{Arrow, Chart, Mark, drop_text, fmt_ms};
use crate::runtime::observe::messages::NORMAL_LATENCY_US;

/// The chart as Mermaid text, ending in a newline.
pub fn render(chart: &Chart) -> String {
    let mut out = String::from("sequenceDiagram\n");
    let _ = writeln!(out, "    %% {}", clean(&chart.title));
    for id in &chart.nodes {
        let _ = writeln!(out, "    participant n{id}");
    }
    let all = over_all(chart);
    for item in in_time_order(chart) {
        match item {
            Item::Mark(m) => {
                let over = m.node.map_or_else(|| all.clone(), |id| format!("n{id}"));
                let _ = writeln!(
                    out,
                    "    Note over {over}: {} {}",
                    fmt_ms(m.time_us),
                    clean(&m.text)
                );
            }
            Item::Arrow(a) => {
                let _ = writeln!(out, "    {}", arrow_line(a));
            }
        }
    }
    if chart.left_out > 0 {
        let _ = writeln!(
            out,
            "    Note over {all}: {} more messages left out (--max-messages)",
            chart.left_out
        );
    }
    if let Some(v) = &chart.violation {
        let _ = writeln!(out, "    Note over {all}: invariant violated: {}", clean(v));
    }
    out
}

/// One arrow's Mermaid line.
fn arrow_line(a: &Arrow) -> String {
    let shaft = if a.answer { "--" } else { "-" };
    let head = if a.dropped.is_some() { "x" } else { ">>" };
    let mut text = clean(&a.label);
    match (a.arrived_us, a.dropped) {
        (_, Some(cause)) => {
            let _ = write!(text, " (dropped: {})", drop_text(cause));
        }
        (Some(at), None) if at - a.sent_us > NORMAL_LATENCY_US => {
            let _ = write!(text, " (delayed {})", fmt_ms(at - a.sent_us));
        }
        _ => {}
    }
    format!("n{}{shaft}{head}n{}: {text}", a.from, a.to)
}

/// The participants a cluster-wide note spans.
fn over_all(chart: &Chart) -> String {
    match (chart.nodes.first(), chart.nodes.last()) {
        (Some(a), Some(b)) if a != b => format!("n{a},n{b}"),
        (Some(a), _) => format!("n{a}"),
        _ => "n1".to_string(),
    }
}

/// An arrow or a mark, for merging the two streams.
pub(super) enum Item<'a> {
    Arrow(&'a Arrow),
    Mark(&'a Mark),
}

/// Arrows and marks merged by time; at one instant a mark comes first (a
/// node becomes Candidate, then asks for votes).
pub(super) fn in_time_order(chart: &Chart) -> Vec<Item<'_>> {
    let mut items = Vec::with_capacity(chart.arrows.len() + chart.marks.len());
    let (mut a, mut m) = (
        chart.arrows.iter().peekable(),
        chart.marks.iter().peekable(),
    );
    loop {
        let next = match (a.peek(), m.peek()) {
            (Some(x), Some(y)) if y.time_us <= x.sent_us => m.next().map(Item::Mark),
            (Some(_), _) => a.next().map(Item::Arrow),
            (None, Some(_)) => m.next().map(Item::Mark),
            (None, None) => None,
        };
        match next {
            Some(item) => items.push(item),
            None => return items,
        }
    }
}

/// Text Mermaid reads as words: `;` ends a statement and `#` starts an
/// entity code there, and a line break would end the note.
fn clean(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            ';' => ',',
            '#' => '№',
            '\n' | '\r' => ' ',
            c => c,
        })
        .collect()
}
