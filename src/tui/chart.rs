//! The console's `chart FILE.svg` (or `FILE.mmd`): the messages the
//! dashboard's message list holds, drawn as a sequence diagram with the
//! same drawing as `raftlab chart` ([`crate::chart`]).
//!
//! The list keeps the newest few thousand messages of the view shown (the
//! present, or the past while time-travelling), each with the tick it was
//! sent at and what the network did with it; the chart takes the newest
//! [`MAX_ARROWS`] of those the list's filter (`msgs …`) lets through, so
//! what the class looked at in the list is what the slide shows. The
//! events the view holds mark the lifelines: role changes as boxes, what
//! was done to the cluster (a kill, a partition) as lines across it.
//!
//! The list knows a message's time to the tick it was sent in, and the
//! delay of one held longer than its link's ordinary latency (a `delay`);
//! one delivered at that ordinary latency is drawn taking the middle of
//! its link's range (the dashboards' 10–20 ms: 15 ms), and so is one
//! held by hand, labelled `held #N` (the list does not record when it
//! was let go). `raftlab chart` draws a simulated run to the microsecond.

use std::path::Path;

use crate::chart::{Arrow, Chart, Format, Mark, MarkKind, fmt_ms, label_of, role_text};
use crate::raft::{NodeId, Role};
use crate::runtime::observe::messages::{Fate, MessageRecord, MsgFilter, NORMAL_LATENCY_US};
use crate::runtime::{ClusterView, TICK_CLUSTER_US};

/// Most arrows a dashboard chart draws (the newest), as `raftlab chart`'s
/// `--max-messages` default: more is a wall of lines on a slide.
pub const MAX_ARROWS: usize = 400;

/// When a record's message left: the start of the tick it was sent in
/// (the list knows messages to the tick).
fn sent_us(record: &MessageRecord) -> u64 {
    record.tick.saturating_mul(TICK_CLUSTER_US)
}

/// The middle of the delay range of the link `from` → `to` in `view`
/// (a fresh link's usual latency if the view has no such link).
fn ordinary_latency(view: &ClusterView, from: NodeId, to: NodeId) -> u64 {
    view.links
        .iter()
        .find(|l| l.from == from && l.to == to)
        .map_or(NORMAL_LATENCY_US, |l| {
            l.delay_min_us + (l.delay_max_us.saturating_sub(l.delay_min_us)) / 2
        })
}

/// A record as an arrow: one per message, arriving after the delay the
/// network gave it (`ordinary` for one delivered at its link's ordinary
/// latency), or dropped.
fn arrow_of(record: &MessageRecord, ordinary: u64) -> Arrow {
    let sent = sent_us(record);
    let mut label = label_of(record);
    let (arrived_us, dropped) = match record.fate {
        Fate::Delivered => (Some(sent + ordinary), None),
        Fate::Delayed { us } => (Some(sent + us), None),
        Fate::Duplicated { copies, us } => {
            label.push_str(&format!(" (×{copies})"));
            (Some(sent + us), None)
        }
        Fate::Dropped(cause) => (None, Some(cause)),
        // The list does not record when a held message was let go (or
        // dropped): it is drawn at its link's latency and says it was held.
        Fate::Held { number } => {
            label.push_str(&format!(" (held #{number})"));
            (Some(sent + ordinary), None)
        }
    };
    Arrow {
        sent_us: sent,
        arrived_us,
        from: record.from,
        to: record.to,
        class: record.class,
        answer: record.is_answer(),
        dropped,
        label,
    }
}

/// `became Leader in term 3` (a view's event of a node) as the role it
/// names and its term.
fn role_change(text: &str) -> Option<(Role, u64)> {
    let rest = text.strip_prefix("became ")?;
    let (role, term) = rest.split_once(" in term ")?;
    let role = [
        Role::Follower,
        Role::PreCandidate,
        Role::Candidate,
        Role::Leader,
    ]
    .into_iter()
    .find(|r| r.name() == role)?;
    Some((role, term.trim().parse().ok()?))
}

/// The chart of what `view`'s message list holds that `filter` lets
/// through: its newest [`MAX_ARROWS`] messages and the events of their
/// time, titled `title`; and how many older ones it left out (the title
/// says so; the drawing's own note names `raftlab chart`'s flag).
pub fn chart_of(view: &ClusterView, filter: &MsgFilter, title: &str) -> (Chart, usize) {
    let window = &view.teaching.messages;
    // Newest first; the chart runs oldest first.
    let mut records = window.recent(filter, 0, usize::MAX);
    let left_out = records.len().saturating_sub(MAX_ARROWS);
    records.truncate(MAX_ARROWS);
    records.reverse();
    let arrows: Vec<Arrow> = records
        .iter()
        .map(|r| arrow_of(r, ordinary_latency(view, r.from, r.to)))
        .collect();
    let from_us = arrows.first().map_or(0, |a| a.sent_us);
    let last = arrows
        .iter()
        .map(|a| a.arrived_us.unwrap_or(a.sent_us))
        .max()
        .unwrap_or(from_us);
    let to_us = last.max(from_us) + TICK_CLUSTER_US;
    let mut nodes: Vec<NodeId> = view.nodes.iter().map(|n| n.id).collect();
    let mut marks = Vec::new();
    for event in &view.events {
        let time_us = event.tick.saturating_mul(TICK_CLUSTER_US);
        if !(from_us..to_us).contains(&time_us) {
            continue;
        }
        let mark = match event.node {
            Some(id) => role_change(&event.text).map(|(role, term)| Mark {
                time_us,
                node: Some(id),
                kind: MarkKind::Role(role),
                text: role_text(role, term),
            }),
            None => Some(Mark {
                time_us,
                node: None,
                kind: MarkKind::Fault,
                text: event.text.clone(),
            }),
        };
        marks.extend(mark);
    }
    marks.sort_by_key(|m| m.time_us);
    for a in &arrows {
        nodes.extend([a.from, a.to]);
    }
    nodes.sort_unstable();
    nodes.dedup();
    let chart = Chart {
        title: format!(
            "{title}: messages {} to {} ({}){}",
            fmt_ms(from_us),
            fmt_ms(to_us),
            if filter.is_all() {
                "all".to_string()
            } else {
                format!("msgs {filter}")
            },
            if left_out > 0 {
                format!(", the newest {MAX_ARROWS}")
            } else {
                String::new()
            }
        ),
        nodes,
        from_us,
        to_us,
        arrows,
        marks,
        left_out: 0,
        violation: None,
    };
    (chart, left_out)
}

/// Writes the chart of `view`'s message list to `path`, in the format its
/// name implies; what the console says, or why it could not.
pub fn write(
    view: &ClusterView,
    filter: &MsgFilter,
    title: &str,
    path: &Path,
) -> Result<String, String> {
    let format = Format::of_path(path)?;
    let (chart, older) = chart_of(view, filter, title);
    if chart.arrows.is_empty() {
        return Err(if view.teaching.messages.recording {
            format!("the message list holds no message (msgs {filter}) to chart yet")
        } else {
            "this dashboard records no messages to chart".to_string()
        });
    }
    std::fs::write(path, format.render(&chart))
        .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    Ok(format!(
        "wrote {}: {} arrows, {} to {}{}",
        path.display(),
        chart.arrows.len(),
        fmt_ms(chart.from_us),
        fmt_ms(chart.to_us),
        if older > 0 {
            format!(" ({older} older left out)")
        } else {
            String::new()
        },
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chart::mermaid;
    use crate::runtime::observe::messages::MsgClass;
    use crate::sim::SimOptions;
    use crate::tui::sim::{ClockState, SimSession, TICK_WALL};

    /// The simulated dashboard's view after `ticks` ticks of a quiet run
    /// at the dashboards' latency.
    fn view_after(ticks: usize) -> std::sync::Arc<ClusterView> {
        let opts = SimOptions {
            seed: 4,
            latency_us: crate::tui::VISIBLE_LATENCY_US,
            ..SimOptions::default()
        };
        let mut session = SimSession::new(opts, None, 16, "sim seed 4".into()).unwrap();
        for _ in 0..ticks {
            session.tick();
        }
        session.view(ClockState {
            paused: true,
            speed: 1.0,
            tick_wall: TICK_WALL,
        })
    }

    #[test]
    fn the_chart_draws_what_the_list_holds() {
        let view = view_after(60);
        let all = MsgFilter::default();
        let held = view.teaching.messages.recent(&all, 0, usize::MAX);
        assert!(
            !held.is_empty() && held.len() <= MAX_ARROWS,
            "{}",
            held.len()
        );
        let (chart, older) = chart_of(&view, &all, "sim seed 4");
        assert_eq!(older, 0);
        assert_eq!(chart.arrows.len(), held.len());
        // Oldest first, each at its tick, slanted by its latency.
        let newest = &held[0];
        let last = chart.arrows.last().unwrap();
        assert_eq!((last.from, last.to), (newest.from, newest.to));
        assert_eq!(last.sent_us, newest.tick * TICK_CLUSTER_US);
        assert!(
            chart
                .arrows
                .windows(2)
                .all(|w| w[0].sent_us <= w[1].sent_us)
        );
        for a in &chart.arrows {
            let took = a.arrived_us.unwrap() - a.sent_us;
            assert!((10_000..=20_000).contains(&took), "{a:?}");
        }
        // The election's winner is a box on its lifeline.
        let leader = view.leader().expect("a leader after 600ms");
        assert!(
            chart
                .marks
                .iter()
                .any(|m| m.node == Some(leader) && m.kind == MarkKind::Role(Role::Leader)),
            "{:?}",
            chart.marks
        );
        let text = mermaid::render(&chart);
        assert!(text.contains("sim seed 4: messages "), "{text}");
        assert!(text.contains(&format!("Note over n{leader}: ")), "{text}");
    }

    #[test]
    fn the_lists_filter_is_the_charts() {
        let view = view_after(60);
        let votes = MsgFilter {
            class: Some(MsgClass::Vote),
            ..MsgFilter::default()
        };
        let (chart, _) = chart_of(&view, &votes, "t");
        assert!(!chart.arrows.is_empty());
        assert!(chart.arrows.iter().all(|a| a.class == MsgClass::Vote));
        assert!(chart.title.contains("(msgs type vote)"), "{}", chart.title);
    }

    #[test]
    fn a_long_list_keeps_its_newest_and_says_how_many_it_left() {
        let view = view_after(400);
        let all = MsgFilter::default();
        let held = view.teaching.messages.recent(&all, 0, usize::MAX);
        assert!(held.len() > MAX_ARROWS, "{}", held.len());
        let (chart, older) = chart_of(&view, &all, "t");
        assert_eq!(chart.arrows.len(), MAX_ARROWS);
        assert_eq!(older, held.len() - MAX_ARROWS);
        assert_eq!(
            chart.arrows.last().unwrap().sent_us,
            held[0].tick * TICK_CLUSTER_US
        );
        assert!(chart.title.contains("the newest 400"));
    }

    #[test]
    fn write_picks_the_format_from_the_name_and_refuses_others() {
        let view = view_after(60);
        let dir = std::env::temp_dir().join(format!("raftlab-tui-chart-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let all = MsgFilter::default();
        let svg = dir.join("run.svg");
        let said = write(&view, &all, "t", &svg).unwrap();
        assert!(
            said.starts_with("wrote ") && said.contains("run.svg"),
            "{said}"
        );
        let text = std::fs::read_to_string(&svg).unwrap();
        let doc = roxmltree::Document::parse(&text).expect("the SVG parses as XML");
        let heads = doc
            .descendants()
            .filter(|n| n.has_tag_name("line") && n.attribute("marker-end").is_some())
            .count();
        let (chart, _) = chart_of(&view, &all, "t");
        assert_eq!(heads, chart.arrows.len() + MsgClass::ALL.len());
        let mmd = dir.join("run.mmd");
        write(&view, &all, "t", &mmd).unwrap();
        assert!(
            std::fs::read_to_string(&mmd)
                .unwrap()
                .starts_with("sequenceDiagram\n")
        );
        let png = write(&view, &all, "t", &dir.join("run.png")).unwrap_err();
        assert!(png.contains(".svg or .mmd"), "{png}");
        let nowhere = write(&view, &all, "t", &dir.join("no/such/dir/run.svg")).unwrap_err();
        assert!(nowhere.starts_with("cannot write"), "{nowhere}");
        let empty = view_after(0);
        assert!(
            write(&empty, &all, "t", &svg)
                .unwrap_err()
                .contains("no message")
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
