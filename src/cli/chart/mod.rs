//! `raftlab chart`: one simulated run's messages as a sequence diagram
//! ([`crate::chart`] holds the model and its drawings).
//!
//! This command makes the whiteboard's picture from a real run instead of
//! a hand-drawn one. It takes the run the way `raftlab replay` does (a seed and `check`'s
//! flags, so the run is exactly the check's), watches it through the
//! simulator's hooks — which change nothing in the run — and collects a
//! [`Chart`]: the arrows of a time window (sent, arrived or dropped and
//! why), role changes, commit advances and faults as marks on the
//! lifelines, drawn as Mermaid text or SVG.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::{Arc, Mutex};

use super::args::parse_duration_us;
use super::shown::ShownArgs;
use crate::chart::{Arrow, Chart, Format, Mark, MarkKind, fmt_ms, label_of, role_text};
use crate::raft::{Event, NodeId, Role};
use crate::runtime::observe::messages::{DropCause, MessageRecord, MsgClass};
use crate::sim::{SendDrop, Sim, SimEvent, SimOptions};

/// The window drawn when `--to` is not given and no election bounds it.
const DEFAULT_WINDOW_US: u64 = 150_000;
/// The default window starts this long before the first campaign…
const LEAD_IN_US: u64 = 3_000;
/// …and ends this long after the first leader won, so its first appends
/// and their commit are in the picture.
const FOLLOW_UP_US: u64 = 25_000;

/// Arguments of `raftlab chart`.
#[derive(Debug, clap::Args)]
pub struct ChartArgs {
    #[command(flatten)]
    run: ShownArgs,
    /// Start of the window, in simulated time (e.g. 0ms, 2s) [default:
    /// just before the run's first election].
    #[arg(long, value_parser = parse_duration_us)]
    from: Option<u64>,
    /// End of the window, in simulated time [default: 25ms after the first
    /// leader won, or 150ms after --from].
    #[arg(long, value_parser = parse_duration_us)]
    to: Option<u64>,
    /// Draw only these nodes and the messages between them, e.g. 1,2,3.
    #[arg(long, value_name = "IDS")]
    only_nodes: Option<String>,
    /// Draw only these message types, e.g. vote,append (vote, append,
    /// heartbeat, snapshot, timeout).
    #[arg(long, value_name = "TYPES")]
    types: Option<String>,
    /// `mermaid` or `svg` [default: from --output's extension; mermaid on
    /// standard output].
    #[arg(long)]
    format: Option<String>,
    /// Write the chart to FILE instead of standard output.
    #[arg(short = 'o', long, value_name = "FILE")]
    output: Option<PathBuf>,
    /// Most messages drawn; later ones in the window are left out and
    /// counted.
    #[arg(long, default_value_t = 400)]
    max_messages: usize,
}

/// The format `--format` names, or the one `--output`'s extension
/// implies (Mermaid on standard output); the message is ready to print.
fn choose_format(format: Option<&str>, output: Option<&std::path::Path>) -> Result<Format, String> {
    match format.map(str::to_ascii_lowercase).as_deref() {
        Some("mermaid" | "mmd" | "md") => Ok(Format::Mermaid),
        Some("svg") => Ok(Format::Svg),
        Some(other) => Err(format!(
            "'{other}' is not a chart format: write --format mermaid or --format svg"
        )),
        None => match output {
            None => Ok(Format::Mermaid),
            Some(path) => {
                Format::of_path(path).map_err(|e| format!("{e}, or say --format svg|mermaid"))
            }
        },
    }
}

/// Which arrows and marks a chart keeps.
#[derive(Clone, Debug)]
pub struct ChartFilter {
    /// Window start, µs.
    pub from_us: u64,
    /// Window end, µs (excluded).
    pub to_us: u64,
    /// Only these nodes (`None`: all).
    pub nodes: Option<Vec<NodeId>>,
    /// Only these classes (`None`: all).
    pub classes: Option<Vec<MsgClass>>,
    /// Most arrows kept.
    pub max_messages: usize,
}

impl ChartFilter {
    fn keeps_node(&self, id: NodeId) -> bool {
        self.nodes.as_ref().is_none_or(|n| n.contains(&id))
    }

    fn in_window(&self, time_us: u64) -> bool {
        (self.from_us..self.to_us).contains(&time_us)
    }
}

/// What the hooks collected while the run went on.
#[derive(Default)]
struct Collected {
    arrows: Vec<Arrow>,
    marks: Vec<Mark>,
    left_out: usize,
}

/// Runs the simulation `opts` makes up to the window's end and collects
/// what `filter` keeps.
pub fn collect(opts: &SimOptions, filter: &ChartFilter) -> Result<Chart, String> {
    let opts = opts.clone();
    let initial = opts.nodes;
    let mut sim = Sim::new(opts).map_err(|e| e.to_string())?;
    sim.observe();
    let collected = Arc::new(Mutex::new(Collected::default()));
    let sends = Arc::clone(&collected);
    let send_filter = filter.clone();
    sim.on_send(Box::new(move |msg, now, fate| {
        if !send_filter.in_window(now)
            || !send_filter.keeps_node(msg.from)
            || !send_filter.keeps_node(msg.to)
        {
            return;
        }
        let record = MessageRecord::of(msg, 0, crate::runtime::observe::messages::Fate::Delivered);
        if send_filter
            .classes
            .as_ref()
            .is_some_and(|c| !c.contains(&record.class))
        {
            return;
        }
        let Ok(mut got) = sends.lock() else { return };
        let copies: Vec<Option<u64>> = if fate.delays.is_empty() {
            vec![None]
        } else {
            fate.delays.iter().map(|d| Some(now + d)).collect()
        };
        let dup = copies.len() > 1;
        for arrived_us in copies {
            if got.arrows.len() >= send_filter.max_messages {
                got.left_out += 1;
                continue;
            }
            let mut label = label_of(&record);
            if dup {
                label.push_str(" (copy)");
            }
            got.arrows.push(Arrow {
                sent_us: now,
                arrived_us,
                from: msg.from,
                to: msg.to,
                class: record.class,
                answer: record.is_answer(),
                dropped: arrived_us.is_none().then(|| drop_cause(fate.dropped)),
                label,
            });
        }
    }));
    let events = Arc::clone(&collected);
    let event_filter = filter.clone();
    sim.on_raft_event(Box::new(move |id, event, now| {
        if !event_filter.in_window(now) || !event_filter.keeps_node(id) {
            return;
        }
        let mark = match event {
            Event::RoleChanged { role, term } => {
                Some((MarkKind::Role(*role), role_text(*role, *term)))
            }
            Event::CommitAdvanced { index } => Some((MarkKind::Commit, format!("commit {index}"))),
            _ => None,
        };
        if let (Some((kind, text)), Ok(mut got)) = (mark, events.lock()) {
            got.marks.push(Mark {
                time_us: now,
                node: Some(id),
                kind,
                text,
            });
        }
    }));
    let end = filter.to_us;
    let violation = sim.run_for(end).err();
    let faults: Vec<SimEvent> = sim.take_events();
    let mut got = match collected.lock() {
        Ok(mut got) => std::mem::take(&mut *got),
        Err(_) => return Err("the chart's collector was poisoned".into()),
    };
    for event in faults {
        // Role changes arrive typed through the hook; what is left without
        // a node is what happened to the cluster.
        if event.node.is_none() && filter.in_window(event.time_us) {
            got.marks.push(Mark {
                time_us: event.time_us,
                node: None,
                kind: MarkKind::Fault,
                text: event.text,
            });
        }
    }
    got.marks.sort_by_key(|m| m.time_us);
    let mut nodes: Vec<NodeId> = (1..=initial as NodeId).collect();
    for a in &got.arrows {
        nodes.extend([a.from, a.to]);
    }
    nodes.extend(got.marks.iter().filter_map(|m| m.node));
    nodes.retain(|&id| filter.keeps_node(id));
    nodes.sort_unstable();
    nodes.dedup();
    let violation = violation
        .filter(|v| v.time_us < end)
        .map(|v| format!("{} at {}: {}", v.invariant, fmt_ms(v.time_us), v.details));
    Ok(Chart {
        title: String::new(),
        nodes,
        from_us: filter.from_us,
        to_us: filter.to_us,
        arrows: got.arrows,
        marks: got.marks,
        left_out: got.left_out,
        violation,
    })
}

/// When the run's first election started and when its first leader won.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FirstElection {
    /// The first pre-vote or election began, µs.
    pub campaign_us: Option<u64>,
    /// The first leader won, µs.
    pub leader_us: Option<u64>,
}

/// Finds the first election of the run `opts` makes, looking no further
/// than `limit_us`: where a chart with no `--from` begins and, with no
/// `--to` either, ends.
pub fn first_election(opts: &SimOptions, limit_us: u64) -> Result<FirstElection, String> {
    let mut sim = Sim::new(opts.clone()).map_err(|e| e.to_string())?;
    let found = Arc::new(Mutex::new(FirstElection::default()));
    let seen = Arc::clone(&found);
    sim.on_raft_event(Box::new(move |_, event, now| {
        let (Event::RoleChanged { role, .. }, Ok(mut first)) = (event, seen.lock()) else {
            return;
        };
        match role {
            Role::PreCandidate | Role::Candidate => {
                first.campaign_us.get_or_insert(now);
            }
            Role::Leader => {
                first.leader_us.get_or_insert(now);
            }
            Role::Follower => {}
        }
    }));
    let done = |_: &Sim| found.lock().is_ok_and(|f| f.leader_us.is_some());
    // A violation before any leader leaves what was found so far.
    let _ = sim.run_until(limit_us, done);
    let first = found.lock().map(|f| *f).unwrap_or_default();
    Ok(first)
}

fn drop_cause(drop: Option<SendDrop>) -> DropCause {
    match drop {
        Some(SendDrop::Lost) => DropCause::Lost,
        Some(SendDrop::NodeDown) => DropCause::NodeDown,
        Some(SendDrop::LinkDown) | None => DropCause::LinkDown,
    }
}

/// Parses `--only-nodes`: ids 1 to 9 separated by commas.
fn parse_ids(s: &str) -> Result<Vec<NodeId>, String> {
    let mut ids = Vec::new();
    for part in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let id: NodeId = part
            .strip_prefix('n')
            .unwrap_or(part)
            .parse()
            .map_err(|_| format!("'{part}' is not a node id: write e.g. --only-nodes 1,2,3"))?;
        if !(1..=super::args::MAX_NODES as NodeId).contains(&id) {
            return Err(format!(
                "node ids are 1 to {}, not {id}",
                super::args::MAX_NODES
            ));
        }
        ids.push(id);
    }
    if ids.is_empty() {
        return Err("--only-nodes names no node: write e.g. --only-nodes 1,2,3".into());
    }
    Ok(ids)
}

/// Parses `--types`: message classes separated by commas.
fn parse_classes(s: &str) -> Result<Vec<MsgClass>, String> {
    let mut classes = Vec::new();
    for part in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let class = MsgClass::parse(part).ok_or_else(|| {
            let known: Vec<&str> = MsgClass::ALL.iter().map(|c| c.word()).collect();
            format!(
                "'{part}' is not a message type; the types are {}",
                known.join(", ")
            )
        })?;
        classes.push(class);
    }
    if classes.is_empty() {
        return Err("--types names no type: write e.g. --types vote,append".into());
    }
    Ok(classes)
}

/// Runs `raftlab chart`.
pub fn run(args: ChartArgs) -> ExitCode {
    let fail = |message: String| {
        eprintln!("raftlab chart: {message}");
        ExitCode::from(2)
    };
    let shown = match args.run.resolve("a chart shows") {
        Ok(shown) => shown,
        Err(m) => return fail(m),
    };
    let format = match choose_format(args.format.as_deref(), args.output.as_deref()) {
        Ok(f) => f,
        Err(m) => return fail(m),
    };
    let first = match args
        .from
        .is_none()
        .then(|| first_election(&shown.options, shown.duration_us))
    {
        Some(Ok(first)) => first,
        Some(Err(m)) => return fail(m),
        None => FirstElection::default(),
    };
    let from_us = args
        .from
        .or(first.campaign_us.map(|t| t.saturating_sub(LEAD_IN_US)))
        .unwrap_or(0);
    let to_us = match (args.to, args.from, first.leader_us) {
        (Some(to), _, _) => to,
        (None, None, Some(won)) => won.saturating_add(FOLLOW_UP_US),
        _ => from_us.saturating_add(DEFAULT_WINDOW_US),
    };
    if to_us <= from_us {
        return fail(format!(
            "the window {}..{} is empty: --to must come after --from",
            fmt_ms(from_us),
            fmt_ms(to_us)
        ));
    }
    if args.max_messages == 0 {
        return fail("--max-messages must be at least 1".into());
    }
    let nodes = match args.only_nodes.as_deref().map(parse_ids).transpose() {
        Ok(n) => n,
        Err(m) => return fail(m),
    };
    let classes = match args.types.as_deref().map(parse_classes).transpose() {
        Ok(c) => c,
        Err(m) => return fail(m),
    };
    let filter = ChartFilter {
        from_us,
        to_us,
        nodes,
        classes,
        max_messages: args.max_messages,
    };
    let mut chart = match collect(&shown.options, &filter) {
        Ok(chart) => chart,
        Err(m) => return fail(m),
    };
    chart.title = format!(
        "{}, {} to {}",
        shown.title,
        fmt_ms(filter.from_us),
        fmt_ms(filter.to_us)
    );
    let text = format.render(&chart);
    if chart.left_out > 0 {
        eprintln!(
            "raftlab chart: {} more messages in the window were left out (--max-messages {}); narrow it with --from/--to, --types or --only-nodes",
            chart.left_out, args.max_messages
        );
    }
    if let Some(v) = &chart.violation {
        eprintln!("raftlab chart: the run broke an invariant, and the chart ends there: {v}");
    }
    match &args.output {
        None => {
            print!("{text}");
            ExitCode::SUCCESS
        }
        Some(path) => match std::fs::write(path, text) {
            Ok(()) => {
                eprintln!(
                    "raftlab chart: wrote {} arrows and {} marks to {}",
                    chart.arrows.len(),
                    chart.marks.len(),
                    path.display()
                );
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("raftlab chart: cannot write {}: {e}", path.display());
                ExitCode::from(1)
            }
        },
    }
}

#[cfg(test)]
mod tests;
