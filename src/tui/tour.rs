//! Guided tours: a scenario script played step by step over the live
//! dashboard.
//!
//! The script runs on its own thread ([`spawn`]) against the dashboard's
//! cluster, through [`LiveCluster`](crate::scenario::LiveCluster). Before
//! each top-level statement the thread reports it ([`TourEvent::Ready`])
//! and waits for a go from the dashboard — a key (Enter, →, `n`), or in
//! auto mode a delay. `say` lines do not wait: they become the caption of
//! the steps that follow. Each outcome comes back as [`TourEvent::Done`],
//! and the dashboard shows it with its mark (`✓`, `✗`, `→`). A failed
//! expectation ends the tour with its message; the dashboard goes on.
//!
//! [`Tour`] is the dashboard's side: what it shows, changed only by
//! [`Tour::apply`] and [`Tour::go_on`] (called from `App::update`).

use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::thread::JoinHandle;
use std::time::Duration;

use crossbeam_channel::{Receiver, RecvTimeoutError, Sender, bounded};

use crate::runtime::Cluster;
use crate::scenario::ast::{Script, Stmt, StmtKind};
use crate::scenario::{Mark, Observer, TranscriptLine, live_factory, run_observed};

/// What the tour thread tells the dashboard.
#[derive(Clone, Debug, PartialEq)]
pub enum TourEvent {
    /// A `say` line: narration for the steps that follow.
    Caption(String),
    /// Step `step` (from 1) is next and waits for a go.
    Ready {
        /// The step's number.
        step: usize,
        /// Its line in the script.
        line: usize,
        /// The statement as written.
        source: String,
    },
    /// The step got its go and runs.
    Running,
    /// The step finished (or a statement inside its `repeat` failed).
    Done {
        /// How it went.
        mark: Mark,
        /// What it saw, or what was expected and found.
        detail: String,
    },
    /// The script ended: passed, or the first failure (`line N: message`).
    Finished {
        /// Whether every expectation held.
        passed: bool,
        /// What went wrong, if anything.
        failure: Option<String>,
    },
}

/// Where the current step is.
#[derive(Clone, Debug, PartialEq)]
pub enum Phase {
    /// Nothing reported yet.
    Starting,
    /// The step waits for a key (or the auto delay).
    Waiting,
    /// The step runs on the cluster.
    Running,
    /// The step finished so.
    Done(Mark, String),
}

/// A step that finished: its statement, mark and outcome.
#[derive(Clone, Debug, PartialEq)]
pub struct PastStep {
    /// The statement as written.
    pub source: String,
    /// How it went.
    pub mark: Mark,
    /// What it saw.
    pub detail: String,
}

/// The dashboard's side of a tour: what the caption pane shows.
pub struct Tour {
    /// The tour's name (`election`, or a file name).
    pub name: String,
    /// What the tour shows (its script's first comment).
    pub intent: Option<String>,
    /// Steps in all: top-level statements other than `say`.
    pub total: usize,
    /// The current step's number (0 before the first).
    pub step: usize,
    /// The narration of the current step.
    pub caption: String,
    /// The current step's statement.
    pub current: Option<String>,
    /// Where the current step is.
    pub phase: Phase,
    /// Finished steps, oldest first.
    pub past: Vec<PastStep>,
    /// How the tour ended, once it has: passed, and the failure if any.
    pub finished: Option<(bool, Option<String>)>,
    /// In auto mode, the delay before each step.
    pub auto: Option<Duration>,
    /// Whether the next caption starts afresh (a step ran since the last).
    new_caption: bool,
    /// Gives the tour thread its go; `None` once the tour has ended.
    go: Option<Sender<()>>,
}

impl Tour {
    /// The dashboard's side of `script`'s tour; `go` reaches its thread.
    pub fn new(name: &str, script: &Script, auto: Option<Duration>, go: Sender<()>) -> Tour {
        Tour {
            name: name.to_string(),
            intent: script.intent.clone(),
            total: steps(script),
            step: 0,
            caption: String::new(),
            current: None,
            phase: Phase::Starting,
            past: Vec::new(),
            finished: None,
            auto,
            new_caption: true,
            go: Some(go),
        }
    }

    /// Takes in what the tour thread reported.
    pub fn apply(&mut self, event: TourEvent) {
        match event {
            TourEvent::Caption(text) => {
                if self.new_caption {
                    self.caption = text;
                    self.new_caption = false;
                } else {
                    self.caption.push(' ');
                    self.caption.push_str(&text);
                }
            }
            TourEvent::Ready { step, source, .. } => {
                self.step = step;
                self.current = Some(source);
                self.phase = Phase::Waiting;
            }
            TourEvent::Running => self.phase = Phase::Running,
            TourEvent::Done { mark, detail } => {
                if let Some(source) = self.current.clone() {
                    self.past.push(PastStep {
                        source,
                        mark,
                        detail: detail.clone(),
                    });
                }
                self.phase = Phase::Done(mark, detail);
                self.new_caption = true;
            }
            TourEvent::Finished { passed, failure } => {
                self.finished = Some((passed, failure));
                self.go = None;
            }
        }
    }

    /// Lets the waiting step run; whether one was waiting.
    pub fn go_on(&mut self) -> bool {
        if self.phase != Phase::Waiting {
            return false;
        }
        match &self.go {
            Some(go) => go.try_send(()).is_ok(),
            None => false,
        }
    }

    /// Whether a step waits for a key.
    pub fn waiting(&self) -> bool {
        self.phase == Phase::Waiting && self.finished.is_none()
    }
}

/// The steps of a script: its top-level statements other than `say`.
pub fn steps(script: &Script) -> usize {
    script
        .statements
        .iter()
        .filter(|s| !matches!(s.kind, StmtKind::Say(_)))
        .count()
}

/// Holds the run before each step until the dashboard gives its go, and
/// reports each outcome.
///
/// While a step waits for its go, the pacer holds the cluster clock (if it
/// ran), so nothing happens while a person reads the caption: a step sees
/// the cluster as the previous one left it, as in the simulator, where a
/// tour is tested. Without this an `expect no leader` after a pause of a
/// second would be judged too late, and a `wait` would count the reading
/// time as its own. Pressing space while a step waits lets time run.
struct Pacer<F: Fn(TourEvent)> {
    report: F,
    go: Receiver<()>,
    auto: Option<Duration>,
    step: usize,
    cluster: Arc<Cluster>,
}

impl<F: Fn(TourEvent)> Pacer<F> {
    /// Stops the clock if it runs; whether it did.
    fn hold_clock(&self) -> bool {
        self.cluster.hold_clock(true).unwrap_or(false)
    }

    /// Lets the clock run again after [`Pacer::hold_clock`] stopped it
    /// (unless the person started it meanwhile).
    fn release_clock(&self, held: bool) {
        if held {
            let _ = self.cluster.hold_clock(false);
        }
    }

    /// Waits for the go (or the auto delay); an error once the tour was closed.
    fn wait_for_go(&self) -> Result<(), String> {
        let closed = || "the tour was closed".to_string();
        match self.auto {
            Some(delay) => match self.go.recv_timeout(delay) {
                Ok(()) | Err(RecvTimeoutError::Timeout) => Ok(()),
                Err(RecvTimeoutError::Disconnected) => Err(closed()),
            },
            None => self.go.recv().map_err(|_| closed()),
        }
    }
}

impl<F: Fn(TourEvent)> Observer for Pacer<F> {
    fn before(&mut self, stmt: &Stmt, depth: usize) -> Result<(), String> {
        if depth > 0 || matches!(stmt.kind, StmtKind::Say(_)) {
            return Ok(());
        }
        self.step += 1;
        (self.report)(TourEvent::Ready {
            step: self.step,
            line: stmt.line,
            source: stmt.source.clone(),
        });
        let held = self.hold_clock();
        let go = self.wait_for_go();
        self.release_clock(held);
        go?;
        (self.report)(TourEvent::Running);
        Ok(())
    }

    fn after(&mut self, line: &TranscriptLine) {
        if line.mark == Mark::Note {
            if line.depth == 0 {
                (self.report)(TourEvent::Caption(line.detail.clone()));
            }
        } else if line.depth == 0 || line.mark == Mark::Fail {
            (self.report)(TourEvent::Done {
                mark: line.mark,
                detail: line.detail.clone(),
            });
        }
    }
}

/// Starts playing `script` on `cluster`; `report` carries each event to the
/// dashboard. Returns the thread and the sender of go signals (dropping it
/// ends the tour at its next step); setting `stop` ends a step that waits
/// on the cluster.
pub fn spawn<F>(
    script: Script,
    cluster: Arc<Cluster>,
    auto: Option<Duration>,
    stop: Arc<AtomicBool>,
    report: F,
) -> std::io::Result<(JoinHandle<()>, Sender<()>)>
where
    F: Fn(TourEvent) + Send + 'static,
{
    let (go_tx, go_rx) = bounded(1);
    let handle = std::thread::Builder::new()
        .name("raftlab-tour".into())
        .spawn(move || {
            let mut factory = live_factory(cluster.clone(), stop);
            let mut pacer = Pacer {
                report,
                go: go_rx,
                auto,
                step: 0,
                cluster,
            };
            let finished = match run_observed(&script, &mut factory, &mut pacer) {
                Ok(report) => TourEvent::Finished {
                    passed: report.passed,
                    failure: report
                        .failure
                        .map(|f| format!("line {}: {}", f.line, f.message)),
                },
                Err(e) => TourEvent::Finished {
                    passed: false,
                    failure: Some(e.to_string()),
                },
            };
            (pacer.report)(finished);
        })?;
    Ok((handle, go_tx))
}
