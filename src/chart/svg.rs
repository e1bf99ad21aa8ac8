//! A [`Chart`] as one self-contained SVG picture.
//!
//! Time runs down the page at one scale for the whole window, so an arrow
//! leaves its sender's lifeline when it was sent and reaches the
//! receiver's when it arrived: a slow link shows as a steep slant. Colour
//! tells the exchange (votes, appends, heartbeats, snapshots, TimeoutNow),
//! a dashed line an answer, a `✕` where a dropped message died. Role
//! changes sit on the lifeline as small labelled boxes, commits as green
//! dots, faults as dashed lines across the cluster. No scripts, fonts or
//! links to anything outside the file: it opens anywhere, offline.

use std::fmt::Write;

use super::mermaid::{Item, in_time_order};
use super::{Arrow, Chart, Mark, MarkKind, drop_text, fmt_ms};
use crate::raft::{NodeId, Role};
use crate::runtime::observe::messages::MsgClass;

/// Room left of the first lifeline, for the time axis.
const LEFT: f64 = 84.0;
/// Distance between lifelines.
const COLUMN: f64 = 150.0;
/// Where the plot (time 0 of the window) starts.
const TOP: f64 = 118.0;
/// Height the window is scaled to when that gives a readable density.
const TARGET_HEIGHT: f64 = 1400.0;
/// How far along its way a dropped message is drawn before its `✕`.
const DROP_REACH: f64 = 0.42;
/// Where along an arrow its label sits: near the receiver, so that the
/// labels of one broadcast do not fall on one another.
const LABEL_AT: f64 = 0.72;

/// The chart as an SVG document.
pub fn render(chart: &Chart) -> String {
    let layout = Layout::of(chart);
    let mut out = String::new();
    let _ = writeln!(
        out,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{w:.0}" height="{h:.0}" viewBox="0 0 {w:.0} {h:.0}" font-family="DejaVu Sans Mono, Menlo, Consolas, monospace">"#,
        w = layout.width,
        h = layout.height
    );
    let _ = writeln!(out, "<title>{}</title>", esc(&chart.title));
    defs(&mut out);
    let _ = writeln!(
        out,
        r##"<rect width="100%" height="100%" fill="#ffffff"/>"##
    );
    header(&mut out, chart, &layout);
    axis(&mut out, chart, &layout);
    lifelines(&mut out, chart, &layout);
    for item in in_time_order(chart) {
        match item {
            Item::Arrow(a) => arrow(&mut out, a, &layout),
            Item::Mark(m) => mark(&mut out, m, &layout),
        }
    }
    footer(&mut out, chart, &layout);
    out.push_str("</svg>\n");
    out
}

/// Where things go: lifeline x by node, y by time.
struct Layout {
    nodes: Vec<NodeId>,
    from_us: u64,
    px_per_us: f64,
    width: f64,
    height: f64,
    bottom: f64,
}

impl Layout {
    fn of(chart: &Chart) -> Layout {
        let span_us = chart.to_us.saturating_sub(chart.from_us).max(1) as f64;
        // Between 0.2 and 60 px per ms: a 500 ms window gets 2.8 px/ms.
        let px_per_us = (TARGET_HEIGHT / span_us).clamp(0.2e-3, 60e-3);
        let bottom = TOP + span_us * px_per_us;
        let columns = chart.nodes.len().max(1) as f64;
        Layout {
            nodes: chart.nodes.clone(),
            from_us: chart.from_us,
            px_per_us,
            width: LEFT + COLUMN * columns + 24.0,
            height: bottom + 64.0,
            bottom,
        }
    }

    fn x(&self, id: NodeId) -> f64 {
        let i = self.nodes.iter().position(|&n| n == id).unwrap_or(0);
        LEFT + COLUMN * (i as f64 + 0.5)
    }

    fn y(&self, time_us: u64) -> f64 {
        TOP + time_us.saturating_sub(self.from_us) as f64 * self.px_per_us
    }

    fn right(&self) -> f64 {
        self.width - 12.0
    }
}

/// The colour of an exchange.
fn colour(class: MsgClass) -> &'static str {
    match class {
        MsgClass::Vote => "#d35400",
        MsgClass::Append => "#1f6fd1",
        MsgClass::Heartbeat => "#8a959e",
        MsgClass::Snapshot => "#8e44ad",
        MsgClass::Timeout => "#c0392b",
    }
}

/// Fill and text colour of a role's box.
fn role_colours(role: Role) -> (&'static str, &'static str) {
    match role {
        Role::Leader => ("#f4d03f", "#5d4a00"),
        Role::Candidate => ("#e67e22", "#ffffff"),
        Role::PreCandidate => ("#fad7a0", "#6e3b00"),
        Role::Follower => ("#e5e8ea", "#2c3e50"),
    }
}

/// One arrowhead per exchange, in its colour.
fn defs(out: &mut String) {
    out.push_str("<defs>\n");
    for class in MsgClass::ALL {
        let _ = writeln!(
            out,
            r#"<marker id="head-{w}" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="{c}"/></marker>"#,
            w = class.word(),
            c = colour(class)
        );
    }
    out.push_str("</defs>\n");
}

/// Title and legend.
fn header(out: &mut String, chart: &Chart, l: &Layout) {
    // The title is a replay command, often wider than the lifelines: its
    // font shrinks to fit (a monospace glyph is about 0.6 em wide).
    let size =
        ((l.width - 24.0) / (0.6 * chart.title.chars().count().max(1) as f64)).clamp(7.0, 12.0);
    let _ = writeln!(
        out,
        r##"<text x="12" y="20" font-size="{size:.1}" fill="#2c3e50">{}</text>"##,
        esc(&chart.title)
    );
    let mut x = 12.0;
    for class in MsgClass::ALL {
        let c = colour(class);
        let _ = writeln!(
            out,
            r#"<line x1="{x:.1}" y1="40" x2="{x2:.1}" y2="40" stroke="{c}" stroke-width="2" marker-end="url(#head-{w})"/><text x="{tx:.1}" y="44" font-size="11" fill="{c}">{w}</text>"#,
            x2 = x + 26.0,
            tx = x + 32.0,
            w = class.word()
        );
        x += 32.0 + 9.0 * class.word().len() as f64 + 16.0;
    }
    let _ = writeln!(
        out,
        r##"<text x="12" y="62" font-size="11" fill="#566573">solid: request · dashed: answer · ✕: dropped · slant: time on the wire · ■ role · ● commit</text>"##
    );
    for &id in &l.nodes {
        let x = l.x(id);
        let _ = writeln!(
            out,
            r##"<rect x="{rx:.1}" y="78" width="56" height="24" rx="4" fill="#2c3e50"/><text x="{x:.1}" y="95" font-size="13" fill="#ffffff" text-anchor="middle">n{id}</text>"##,
            rx = x - 28.0
        );
    }
}

/// Time labels and faint grid lines down the left.
fn axis(out: &mut String, chart: &Chart, l: &Layout) {
    let span_ms = chart.to_us.saturating_sub(chart.from_us) as f64 / 1000.0;
    let px_per_ms = l.px_per_us * 1000.0;
    let step_ms = [
        1.0, 2.0, 5.0, 10.0, 20.0, 50.0, 100.0, 200.0, 500.0, 1000.0, 2000.0,
    ]
    .into_iter()
    .find(|s| s * px_per_ms >= 48.0)
    .unwrap_or(5000.0);
    let first = (chart.from_us as f64 / 1000.0 / step_ms).ceil() * step_ms;
    let mut t = first;
    while t <= chart.from_us as f64 / 1000.0 + span_ms {
        let y = l.y((t * 1000.0) as u64);
        let _ = writeln!(
            out,
            r##"<line x1="{LEFT}" y1="{y:.1}" x2="{r:.1}" y2="{y:.1}" stroke="#f0f2f4"/><text x="{tx}" y="{ty:.1}" font-size="10" fill="#7f8c8d" text-anchor="end">{label}</text>"##,
            r = l.right(),
            tx = LEFT - 6.0,
            ty = y + 3.0,
            label = fmt_ms((t * 1000.0) as u64)
        );
        t += step_ms;
    }
}

fn lifelines(out: &mut String, _chart: &Chart, l: &Layout) {
    for &id in &l.nodes {
        let x = l.x(id);
        let _ = writeln!(
            out,
            r##"<line x1="{x:.1}" y1="102" x2="{x:.1}" y2="{b:.1}" stroke="#b3bcc4" stroke-width="1.5"/>"##,
            b = l.bottom
        );
    }
}

fn arrow(out: &mut String, a: &Arrow, l: &Layout) {
    let (x1, y1) = (l.x(a.from), l.y(a.sent_us));
    let (mut x2, mut y2) = (l.x(a.to), a.arrived_us.map_or(y1, |t| l.y(t)));
    let c = colour(a.class);
    let dash = if a.answer {
        r#" stroke-dasharray="5 3""#
    } else {
        ""
    };
    if let Some(cause) = a.dropped {
        x2 = x1 + (x2 - x1) * DROP_REACH;
        y2 = y1 + 4.0;
        let _ = writeln!(
            out,
            r#"<g><title>{t} — dropped: {why}, sent {at}</title><line x1="{x1:.1}" y1="{y1:.1}" x2="{x2:.1}" y2="{y2:.1}" stroke="{c}" stroke-width="1.4"{dash}/><text x="{x2:.1}" y="{ty:.1}" font-size="12" fill="{c}" text-anchor="middle">✕</text></g>"#,
            t = esc(&a.label),
            why = drop_text(cause),
            at = fmt_ms(a.sent_us),
            ty = y2 + 4.0
        );
        return;
    }
    let (lx, ly) = (x1 + (x2 - x1) * LABEL_AT, y1 + (y2 - y1) * LABEL_AT - 3.0);
    let _ = writeln!(
        out,
        r##"<g><title>{t}, sent {at}, arrived {to}</title><line x1="{x1:.1}" y1="{y1:.1}" x2="{x2:.1}" y2="{y2:.1}" stroke="{c}" stroke-width="1.4"{dash} marker-end="url(#head-{w})"/><text x="{lx:.1}" y="{ly:.1}" font-size="9" fill="{c}" text-anchor="middle" stroke="#ffffff" stroke-width="3" paint-order="stroke">{t}</text></g>"##,
        t = esc(&a.label),
        at = fmt_ms(a.sent_us),
        to = fmt_ms(a.arrived_us.unwrap_or(a.sent_us)),
        w = a.class.word()
    );
}

fn mark(out: &mut String, m: &Mark, l: &Layout) {
    let y = l.y(m.time_us);
    match (m.kind, m.node) {
        (MarkKind::Role(role), Some(id)) => {
            let (fill, ink) = role_colours(role);
            let x = l.x(id);
            let w = 6.2 * m.text.chars().count() as f64 + 10.0;
            // Kept inside the picture on the outer lifelines.
            let left = (x - w / 2.0).clamp(2.0, l.width - w - 2.0);
            let _ = writeln!(
                out,
                r#"<g><title>n{id} became {text} at {at}</title><rect x="{rx:.1}" y="{ry:.1}" width="{w:.1}" height="14" rx="3" fill="{fill}"/><text x="{x:.1}" y="{ty:.1}" font-size="10" fill="{ink}" text-anchor="middle">{text}</text></g>"#,
                text = esc(&m.text),
                at = fmt_ms(m.time_us),
                rx = left,
                x = left + w / 2.0,
                ry = y - 7.0,
                ty = y + 3.5
            );
        }
        (MarkKind::Commit, Some(id)) => {
            let x = l.x(id);
            let _ = writeln!(
                out,
                r##"<g><title>n{id}: {text} at {at}</title><circle cx="{x:.1}" cy="{y:.1}" r="3.5" fill="#1e8449"/><text x="{tx:.1}" y="{ty:.1}" font-size="9" fill="#1e8449">{text}</text></g>"##,
                text = esc(&m.text),
                at = fmt_ms(m.time_us),
                tx = x + 6.0,
                ty = y + 3.0
            );
        }
        _ => {
            let _ = writeln!(
                out,
                r##"<g><title>{text} at {at}</title><line x1="{LEFT}" y1="{y:.1}" x2="{r:.1}" y2="{y:.1}" stroke="#7f8c8d" stroke-dasharray="2 3"/><text x="{tx}" y="{ty:.1}" font-size="10" font-style="italic" fill="#566573">{text}</text></g>"##,
                text = esc(&m.text),
                at = fmt_ms(m.time_us),
                r = l.right(),
                tx = LEFT + 4.0,
                ty = y - 3.0
            );
        }
    }
}

fn footer(out: &mut String, chart: &Chart, l: &Layout) {
    let mut y = l.bottom + 22.0;
    if let Some(v) = &chart.violation {
        let _ = writeln!(
            out,
            r##"<text x="12" y="{y:.1}" font-size="12" fill="#c0392b">✗ invariant violated: {}</text>"##,
            esc(v)
        );
        y += 18.0;
    }
    if chart.left_out > 0 {
        let _ = writeln!(
            out,
            r##"<text x="12" y="{y:.1}" font-size="11" fill="#7f8c8d">{} more messages in the window left out (--max-messages)</text>"##,
            chart.left_out
        );
    }
}

/// Text safe inside an SVG element or attribute.
fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c if (c as u32) < 0x20 && c != '\t' => out.push(' '),
            c => out.push(c),
        }
    }
    out
}
