//! `raftlab page --tour NAME` and `--script FILE`: a page of a scenario
//! run, with the tour's captions at the times their steps ran.
//!
//! The script runs in the simulator as `raftlab script` runs it, with the
//! page's watchers on the cluster its `cluster` line makes (see
//! [`watch`](super::watch)), so the page holds the run the script made. A
//! runner [`Observer`] notes when each top-level step began and how it
//! went, and gathers the `say` lines before a step into the caption the
//! tour shows from that step on: the page shows the caption and the step
//! in effect at the moment the scrubber is at.

use std::path::Path;
use std::sync::Arc;

use serde::Serialize;

use super::{EventItem, Shared, Timeline, lock, watch};
use crate::chart::fmt_ms;
use crate::scenario::ast::{Script, Stmt, StmtKind};
use crate::scenario::{ClusterSpec, Mark, Observer, TranscriptLine, tours};
use crate::sim::Sim;

/// A tour's narration from `t` on, until the next caption.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct CaptionItem {
    /// Simulated µs: when the first step it narrates began.
    pub t: u64,
    /// The `say` lines, joined.
    pub text: String,
}

/// A top-level step of a script: when it began, what it is, how it went.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct StepItem {
    /// Simulated µs when it began.
    pub t: u64,
    /// Simulated µs when it ended.
    pub end: u64,
    /// The statement as written.
    pub source: String,
    /// `✓` held, `→` done, `✗` failed.
    pub mark: &'static str,
    /// What it saw.
    pub detail: String,
}

/// Watches a run statement by statement for the page.
#[derive(Default)]
struct Steps {
    /// Virtual time after the last statement.
    last_at: u64,
    /// `say` lines waiting for the step they narrate.
    said: Vec<String>,
    captions: Vec<CaptionItem>,
    steps: Vec<StepItem>,
}

impl Observer for Steps {
    fn before(&mut self, stmt: &Stmt, depth: usize) -> Result<(), String> {
        if depth == 0 && !matches!(stmt.kind, StmtKind::Say(_)) {
            if !self.said.is_empty() {
                self.captions.push(CaptionItem {
                    t: self.last_at,
                    text: std::mem::take(&mut self.said).join(" "),
                });
            }
            self.steps.push(StepItem {
                t: self.last_at,
                end: self.last_at,
                source: stmt.source.clone(),
                mark: Mark::Info.symbol(),
                detail: String::new(),
            });
        }
        Ok(())
    }

    fn after(&mut self, line: &TranscriptLine) {
        self.last_at = line.at_us;
        if line.mark == Mark::Note {
            if line.depth == 0 {
                self.said.push(line.detail.clone());
            }
        } else if let Some(step) = self.steps.last_mut() {
            // A `repeat` step ends with what its last statement did.
            step.end = line.at_us;
            step.mark = line.mark.symbol();
            step.detail = line.detail.clone();
        }
    }
}

/// Runs `script` in the simulator (its `cluster` line's seed, or
/// `default_seed`; every link at `latency_us` when given) and records it
/// for a page titled `title`, up to `to_us` at most.
pub fn record_script(
    script: &Script,
    title: &str,
    default_seed: u64,
    latency_us: Option<(u64, u64)>,
    to_us: Option<u64>,
) -> Result<Timeline, String> {
    let shared = Shared::default();
    // Until a violation cuts it, the page runs to the script's end.
    lock(&shared).timeline.end = u64::MAX;
    let mut made = 0;
    let watched = Arc::clone(&shared);
    let mut factory = move |spec: ClusterSpec| {
        made += 1;
        if made > 1 {
            return Err("a page shows one cluster, and this script makes a second".to_string());
        }
        let latency = latency_us.unwrap_or(crate::net::Link::DEFAULT_DELAY_US);
        let opts =
            crate::scenario::script_options(&spec, default_seed, latency, Default::default());
        let mut sim = Sim::new(opts).map_err(|e| e.to_string())?;
        lock(&watched).timeline.nodes = sim.node_ids();
        watch(&mut sim, &watched);
        Ok(Box::new(sim) as Box<dyn crate::scenario::Cluster>)
    };
    let mut steps = Steps::default();
    let report = crate::scenario::run_observed(script, &mut factory, &mut steps)
        .map_err(|e| e.to_string())?;
    let mut got = lock(&shared);
    let timeline = &mut got.timeline;
    if timeline.nodes.is_empty() {
        return Err(format!("{}: the script makes no cluster", script.name));
    }
    let end = steps.last_at.max(1).min(to_us.unwrap_or(u64::MAX));
    timeline.end = timeline.end.min(end);
    timeline.title = title.to_string();
    if let Some(failure) = &report.failure {
        timeline.failure = Some(format!("line {}: {}", failure.line, failure.message));
    }
    for step in &steps.steps {
        timeline.events.push(EventItem {
            t: step.end,
            node: None,
            text: format!("{}  {} {}", step.source, step.mark, step.detail),
        });
    }
    timeline.events.sort_by_key(|e| e.t);
    timeline.captions = steps.captions;
    timeline.steps = steps.steps;
    // What the run did past the page's end is not on it.
    let end = timeline.end;
    timeline.messages.retain(|m| m.t <= end);
    timeline.events.retain(|e| e.t <= end);
    timeline.captions.retain(|c| c.t <= end);
    timeline.steps.retain(|s| s.t <= end);
    for records in timeline.states.values_mut() {
        records.retain(|r| r.t <= end);
    }
    for records in timeline.logs.values_mut() {
        records.retain(|r| r.t <= end);
    }
    Ok(std::mem::take(timeline))
}

/// The script `--tour NAME` or `--script FILE` names, parsed, and the
/// page's title for it; the message is ready to print.
pub fn scripted(tour: Option<&str>, file: Option<&Path>) -> Result<(Script, String), String> {
    let (text, name, title) = match (tour, file) {
        (Some(name), _) => {
            let tour = tours::find(name).ok_or_else(|| {
                let names: Vec<&str> = tours::TOURS.iter().map(|t| t.name).collect();
                format!(
                    "there is no tour called {name:?}; the tours are {}",
                    names.join(", ")
                )
            })?;
            (
                tour.text.to_string(),
                format!("assets/tours/{}", tour.file),
                format!("tour {}", tour.name),
            )
        }
        (None, Some(path)) => {
            let text = std::fs::read_to_string(path)
                .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
            let name = path.display().to_string();
            (text, name.clone(), format!("script {name}"))
        }
        (None, None) => return Err("name a tour or a script".into()),
    };
    let script = crate::scenario::parse(&text, &name).map_err(|e| e.to_string())?;
    Ok((script, title))
}

/// The page's summary line of a script's run.
pub fn summary(timeline: &Timeline) -> String {
    format!(
        "{} steps, {} captions over {}",
        timeline.steps.len(),
        timeline.captions.len(),
        fmt_ms(timeline.end)
    )
}
