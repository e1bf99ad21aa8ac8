//! `raftlab page`: one simulated run as a single HTML file to share.
//!
//! A student at home should be able to open what the class watched without
//! installing anything. This command runs a seed's simulation (the run
//! `raftlab check` makes for the same flags), records a [`Timeline`] — every
//! change of a node's role, term, vote, commit, log and election timer at
//! the exact simulated instant it happened, every message with when it
//! left and when it arrived or died, every fault — and writes it as JSON
//! into one self-contained page (`page.html`: no network, no external
//! scripts, fonts or styles). The page redraws the cluster at any moment:
//! a scrubber, play/pause and a speed, the nodes in a ring with their
//! timers, messages travelling between them, the logs, and the events.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::{Arc, Mutex};

use serde::Serialize;

use super::args::parse_duration_us;
use super::shown::ShownArgs;
use crate::chart::{fmt_ms, label_of};
use crate::raft::{Event, NodeId, Status};
use crate::runtime::observe::messages::{Fate, MessageRecord};
use crate::sim::{SendDrop, Sim, SimOptions};

/// The page's template; the timeline goes where `/*TIMELINE*/` stands.
const TEMPLATE: &str = include_str!("page.html");
/// Messages a page holds at most: the rest are counted, not drawn.
const MAX_MESSAGES: usize = 50_000;
/// Simulated time a seed's page covers unless `--to` says otherwise.
const DEFAULT_TO_US: u64 = 2_000_000;

/// Arguments of `raftlab page`.
#[derive(Debug, clap::Args)]
pub struct PageArgs {
    #[command(flatten)]
    run: ShownArgs,
    /// Simulated time the page covers, from the start (e.g. 500ms, 3s)
    /// [default: 2s; a tour's or script's page: the whole script].
    #[arg(long, value_parser = parse_duration_us)]
    to: Option<u64>,
    /// A shipped guided tour to show instead of a seed's run, with its
    /// captions at the times its steps ran (see `raftlab tour`).
    #[arg(long, value_name = "NAME", conflicts_with_all = ["seed", "seeds", "script"])]
    tour: Option<String>,
    /// A scenario script to show instead of a seed's run, its `say` lines
    /// as captions.
    #[arg(long, value_name = "FILE", conflicts_with_all = ["seed", "seeds"])]
    script: Option<PathBuf>,
    /// The file to write.
    #[arg(
        short = 'o',
        long,
        value_name = "FILE",
        default_value = "raftlab-run.html"
    )]
    output: PathBuf,
}

/// One node's state from `t` on, until its next record.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct StateRecord {
    /// Simulated µs.
    pub t: u64,
    /// Role (`Follower`, `PreCandidate`, `Candidate`, `Leader`), or `down`.
    pub role: &'static str,
    /// Current term (kept while down: it is durable).
    pub term: u64,
    /// Vote in the current term.
    pub vote: Option<NodeId>,
    /// Commit index (0 while down: it is volatile).
    pub commit: u64,
    /// Last index covered by the snapshot.
    pub snap: u64,
    /// Ticks since the election timer was reset, and its timeout.
    pub timer: (u64, u64),
}

/// A change to one node's log at `t`: entries from `from` on were
/// replaced by entries of these terms (an append, or a truncation and
/// append; an empty `terms` is a truncation alone).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct LogRecord {
    /// Simulated µs.
    pub t: u64,
    /// The first index that changed.
    pub from: u64,
    /// The terms of the entries from `from` on.
    pub terms: Vec<u64>,
}

/// One message as the page draws it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct MessageItem {
    /// Sent, simulated µs.
    pub t: u64,
    /// Arrived, simulated µs; `None` when it was dropped.
    pub at: Option<u64>,
    /// Sender.
    pub from: NodeId,
    /// Receiver.
    pub to: NodeId,
    /// Its exchange (`vote`, `append`, …).
    pub class: &'static str,
    /// An answer rather than a request.
    pub answer: bool,
    /// What it says (`Vote t2`, `AppendResp ok 7`) and, when dropped, why.
    pub text: String,
}

/// Something that happened, in words.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct EventItem {
    /// Simulated µs.
    pub t: u64,
    /// The node concerned, if one.
    pub node: Option<NodeId>,
    /// What happened.
    pub text: String,
}

/// Everything a page shows of one run.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Timeline {
    /// What run this is (its replay command).
    pub title: String,
    /// Simulated µs the page covers.
    pub end: u64,
    /// The nodes.
    pub nodes: Vec<NodeId>,
    /// Each node's state records, by id, in time order.
    pub states: BTreeMap<NodeId, Vec<StateRecord>>,
    /// Each node's log changes, by id, in time order.
    pub logs: BTreeMap<NodeId, Vec<LogRecord>>,
    /// The messages, by send time.
    pub messages: Vec<MessageItem>,
    /// Messages left out past the page's cap.
    pub left_out: usize,
    /// Role changes and faults, in time order.
    pub events: Vec<EventItem>,
    /// The invariant the run broke, if it did.
    pub violation: Option<String>,
    /// A tour's captions, in time order (none for a seed's run).
    pub captions: Vec<script::CaptionItem>,
    /// A script's top-level steps, in time order (none for a seed's run).
    pub steps: Vec<script::StepItem>,
    /// Where a script failed, if it did (`line N: message`).
    pub failure: Option<String>,
}

/// A node's record from its status (or `None`: down, with what it kept).
fn record_of(t: u64, status: Option<&Status>, kept_term: u64, kept_snap: u64) -> StateRecord {
    match status {
        Some(s) => StateRecord {
            t,
            role: s.role.name(),
            term: s.term,
            vote: s.vote,
            commit: s.commit,
            snap: s.snapshot_index,
            timer: (s.election_elapsed, s.election_timeout),
        },
        None => StateRecord {
            t,
            role: "down",
            term: kept_term,
            vote: None,
            commit: 0,
            snap: kept_snap,
            timer: (0, 0),
        },
    }
}

/// What the page's watchers collect while a simulation runs: the
/// timeline so far, and what the recorder last saw of each node.
#[derive(Default)]
pub(super) struct Collected {
    /// The timeline being filled.
    pub(super) timeline: Timeline,
    recorder: Recorder,
}

/// Collected state shared by the simulation's hooks and the page.
pub(super) type Shared = Arc<Mutex<Collected>>;

/// The collected state, even after a hook panicked.
pub(super) fn lock(shared: &Shared) -> std::sync::MutexGuard<'_, Collected> {
    shared.lock().unwrap_or_else(|p| p.into_inner())
}

/// Puts the page's watchers on `sim`: every message sent (with when it
/// arrived or why it died), every role change, every change of a node's
/// state or log at the instant it happened, and the violation that stops
/// the run, from now on, go into `shared`. Watching changes nothing in
/// the run.
pub(super) fn watch(sim: &mut Sim, shared: &Shared) {
    sim.observe();
    let sends = Arc::clone(shared);
    sim.on_send(Box::new(move |msg, now, fate| {
        let r = MessageRecord::of(msg, 0, Fate::Delivered);
        let mut text = label_of(&r);
        let arrivals: Vec<Option<u64>> = if fate.delays.is_empty() {
            let why = match fate.dropped {
                Some(SendDrop::Lost) => "lost",
                Some(SendDrop::NodeDown) => "node down",
                Some(SendDrop::LinkDown) | None => "link down",
            };
            text.push_str(&format!(" (dropped: {why})"));
            vec![None]
        } else {
            fate.delays.iter().map(|d| Some(now + d)).collect()
        };
        let mut got = lock(&sends);
        for at in arrivals {
            if got.timeline.messages.len() >= MAX_MESSAGES {
                got.timeline.left_out += 1;
                continue;
            }
            got.timeline.messages.push(MessageItem {
                t: now,
                at,
                from: msg.from,
                to: msg.to,
                class: r.class.word(),
                answer: r.is_answer(),
                text: text.clone(),
            });
        }
    }));
    let roles = Arc::clone(shared);
    sim.on_raft_event(Box::new(move |id, event, now| {
        let text = match event {
            Event::RoleChanged { .. }
            | Event::QuorumLost { .. }
            | Event::TransferStarted { .. } => event.text(),
            _ => None,
        };
        if let Some(text) = text {
            lock(&roles).timeline.events.push(EventItem {
                t: now,
                node: Some(id),
                text,
            });
        }
    }));
    let steps = Arc::clone(shared);
    sim.on_step(Box::new(move |sim| {
        let mut got = lock(&steps);
        let Collected { timeline, recorder } = &mut *got;
        recorder.observe(sim, timeline);
        if let (None, Some(v)) = (&timeline.violation, sim.violation()) {
            timeline.violation = Some(format!(
                "{} at {}: {}",
                v.invariant,
                fmt_ms(v.time_us),
                v.details
            ));
            // The run stops there, and so does the page.
            timeline.end = timeline.end.min(v.time_us + 1);
        }
    }));
    // The state before anything happens.
    sim.after_step();
}

/// Runs the simulation `opts` makes for `end_us` and records it; `title`
/// says what run it is.
pub fn record(opts: &SimOptions, title: &str, end_us: u64) -> Result<Timeline, String> {
    let mut sim = Sim::new(opts.clone()).map_err(|e| e.to_string())?;
    let shared = Shared::default();
    {
        let mut got = lock(&shared);
        got.timeline.nodes = sim.node_ids();
        got.timeline.end = end_us;
    }
    watch(&mut sim, &shared);
    // A violation stops the run; the watcher notes it.
    let _ = sim.run_for(end_us);
    let mut got = lock(&shared);
    let timeline = &mut got.timeline;
    timeline.title = title.to_string();
    for e in sim.take_events() {
        if e.node.is_none() {
            timeline.events.push(EventItem {
                t: e.time_us,
                node: None,
                text: e.text,
            });
        }
    }
    timeline.events.sort_by_key(|e| e.t);
    Ok(std::mem::take(timeline))
}

/// What the recorder last saw of each node, to record only changes.
#[derive(Default)]
struct Recorder {
    seen: BTreeMap<NodeId, Seen>,
}

#[derive(Default)]
struct Seen {
    state: Option<StateRecord>,
    /// Terms of the log's entries, from index `base + 1` on.
    terms: Vec<u64>,
    base: u64,
}

impl Recorder {
    /// Records what changed on every node since the last call.
    fn observe(&mut self, sim: &Sim, out: &mut Timeline) {
        let now = sim.now_us();
        for id in sim.node_ids() {
            let seen = self.seen.entry(id).or_default();
            let status = sim.status(id);
            let kept_term = seen.state.as_ref().map_or(0, |s| s.term);
            let kept_snap = seen.state.as_ref().map_or(0, |s| s.snap);
            let state = record_of(now, status.as_ref(), kept_term, kept_snap);
            let changed = seen.state.as_ref().is_none_or(|old| {
                (
                    old.role, old.term, old.vote, old.commit, old.snap, old.timer,
                ) != (
                    state.role,
                    state.term,
                    state.vote,
                    state.commit,
                    state.snap,
                    state.timer,
                )
            });
            if changed {
                out.states.entry(id).or_default().push(state.clone());
                seen.state = Some(state);
            }
            let Some(log) = sim.log(id) else { continue };
            let base = log
                .first()
                .map_or(seen.base + seen.terms.len() as u64, |e| e.index - 1);
            let terms: Vec<u64> = log.iter().map(|e| e.term).collect();
            if base == seen.base && terms == seen.terms {
                continue;
            }
            // The first index whose term differs from what the page has.
            let old_at = |i: u64| {
                i.checked_sub(seen.base + 1)
                    .and_then(|k| seen.terms.get(k as usize).copied())
            };
            let new_at = |i: u64| {
                i.checked_sub(base + 1)
                    .and_then(|k| terms.get(k as usize).copied())
            };
            let last_old = seen.base + seen.terms.len() as u64;
            let last_new = base + terms.len() as u64;
            let mut from = base + 1;
            while from <= last_new && from <= last_old && old_at(from) == new_at(from) {
                from += 1;
            }
            if from <= last_new || from <= last_old {
                let start = (from - base - 1) as usize;
                out.logs.entry(id).or_default().push(LogRecord {
                    t: now,
                    from,
                    terms: terms.get(start..).map(<[u64]>::to_vec).unwrap_or_default(),
                });
            }
            seen.base = base;
            seen.terms = terms;
        }
    }
}

/// The page's HTML for `timeline`.
pub fn render(timeline: &Timeline) -> Result<String, String> {
    let json =
        serde_json::to_string(timeline).map_err(|e| format!("the timeline did not encode: {e}"))?;
    // Inside <script>, `</script>` or `<!--` in a string would end or
    // confuse the element; JSON allows `<` escaped.
    let json = json.replace('<', "\\u003c");
    let title = html_escape(&timeline.title);
    Ok(TEMPLATE
        .replace("/*TITLE*/", &title)
        .replacen("/*TIMELINE*/", &json, 1))
}

fn html_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// Runs `raftlab page`.
pub fn run(args: PageArgs) -> ExitCode {
    let fail = |message: String| {
        eprintln!("raftlab page: {message}");
        ExitCode::from(2)
    };
    if args.to == Some(0) {
        return fail("--to must be above zero: the page covers the run from 0 to --to".into());
    }
    let timeline = match (&args.tour, &args.script) {
        (None, None) => args.run.resolve("a page shows").and_then(|shown| {
            let end = args.to.unwrap_or(DEFAULT_TO_US).min(shown.duration_us);
            record(&shown.options, &shown.title, end)
        }),
        (tour, file) => {
            script::scripted(tour.as_deref(), file.as_deref()).and_then(|(script, mut title)| {
                let latency = args.run.latency();
                if let Some(l) = latency {
                    title.push_str(&super::shown::latency_words(l));
                }
                script::record_script(&script, &title, 1, latency, args.to)
            })
        }
    };
    let timeline = match timeline {
        Ok(t) => t,
        Err(m) => return fail(m),
    };
    let html = match render(&timeline) {
        Ok(html) => html,
        Err(m) => return fail(m),
    };
    if let Err(e) = std::fs::write(&args.output, &html) {
        eprintln!("raftlab page: cannot write {}: {e}", args.output.display());
        return ExitCode::from(1);
    }
    eprintln!(
        "raftlab page: wrote {} ({} KiB): {} of simulated time, {} messages, {} events{}",
        args.output.display(),
        html.len().div_ceil(1024),
        fmt_ms(timeline.end),
        timeline.messages.len(),
        timeline.events.len(),
        if timeline.left_out > 0 {
            format!(" ({} more messages left out)", timeline.left_out)
        } else {
            String::new()
        }
    );
    if !timeline.steps.is_empty() {
        eprintln!("raftlab page: {}", script::summary(&timeline));
    }
    if let Some(v) = &timeline.violation {
        eprintln!("raftlab page: the run broke an invariant, and the page ends there: {v}");
    }
    ExitCode::SUCCESS
}

mod script;
#[cfg(test)]
mod tests;
