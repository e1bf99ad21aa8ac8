//! Guided tours: a scenario script played step by step over the
//! dashboard, on the simulator (the default: a rehearsed tour replays
//! exactly) or on the live cluster.
//!
//! The script runs on a thread of its own ([`spawn`] for the live cluster,
//! [`crate::tui::sim::start_tour`] for the simulator). Before each step the
//! thread reports it ([`TourEvent::Ready`], or [`TourEvent::Ask`] for a
//! question) and waits for a [`Go`] from the dashboard — a key (Enter, →,
//! `n`; a number picks an answer), or in auto mode a delay — while its
//! [`Stand`] holds the cluster as the last step left it. `say` lines do not
//! wait: they become the caption of the steps that follow. Plumbing (`let`,
//! `expect`, `reset stats`) does not wait either: it shows nothing to
//! look at, so it runs at once and is reported as [`TourEvent::Plumbing`].
//! Each step's outcome comes back as [`TourEvent::Done`]. After the last
//! step the tour waits once more ([`TourEvent::AtEnd`]), so the last
//! step's outcome is read before "Tour complete"; a failed expectation
//! ends the tour at once with its message. The dashboard goes on.
//!
//! [`Tour`] is the dashboard's side: what it shows, changed only by
//! [`Tour::apply`], [`Tour::go_on`] and [`Tour::pick`] (called from
//! `App::update`).

use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::thread::JoinHandle;
use std::time::Duration;

use crossbeam_channel::{Receiver, RecvTimeoutError, Sender, bounded};

use crate::runtime::Cluster;
use crate::scenario::ast::{Ask, Script, Stmt, StmtKind};
use crate::scenario::{
    Factory, Mark, Observer, Report, ScriptError, TranscriptLine, live_factory, run_observed,
};

/// What the dashboard tells a waiting step.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Go {
    /// Run it (for a question: show the answer without a pick).
    Next,
    /// The viewer picked this choice (from 1) of the question asked.
    Pick(usize),
}

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
    /// Step `step` is a question: it waits for the viewer's pick (or a go).
    Ask {
        /// The step's number.
        step: usize,
        /// Its line in the script.
        line: usize,
        /// The question, its choices and its answer.
        ask: Ask,
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
    /// A plumbing statement (`let`, `expect`, `reset stats`) ran without
    /// waiting for a go.
    Plumbing {
        /// The statement as written.
        source: String,
        /// How it went.
        mark: Mark,
        /// What it saw.
        detail: String,
    },
    /// The script ran to its end; the tour waits for a last go before it
    /// says so.
    AtEnd,
    /// The script ended: passed, or the first failure (`line N: message`).
    Finished {
        /// Whether every expectation held.
        passed: bool,
        /// What went wrong, if anything.
        failure: Option<String>,
    },
}

impl TourEvent {
    /// The event that ends a run which produced `result`.
    fn finished(result: Result<Report, ScriptError>) -> TourEvent {
        match result {
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
        }
    }
}

/// A question the tour asks, as the dashboard shows it: from its step
/// until the step after it runs, so the answer and its reason stay in
/// sight while the next step waits.
#[derive(Clone, Debug, PartialEq)]
pub struct Question {
    /// The step that asks it.
    pub step: usize,
    /// The question, its choices and its answer.
    pub ask: Ask,
    /// The viewer's pick, once made (from 1).
    pub picked: Option<usize>,
    /// Whether the answer is shown (the step ran).
    pub revealed: bool,
}

impl Question {
    /// Whether the viewer picked the right choice (`None`: no pick).
    pub fn right(&self) -> Option<bool> {
        self.picked.map(|p| p == self.ask.answer)
    }

    /// The pick in a few words: right, or what the answer was.
    pub fn verdict(&self) -> String {
        match (self.picked, self.right()) {
            (Some(p), Some(true)) => format!("you said {p}: right"),
            (Some(p), _) => format!("you said {p}; the answer is {}", self.ask.answer),
            (None, _) => format!("the answer is {}", self.ask.answer),
        }
    }
}

/// Where the current step is.
#[derive(Clone, Debug, PartialEq)]
pub enum Phase {
    /// Nothing reported yet.
    Starting,
    /// The step waits for a key (or the auto delay).
    Waiting,
    /// A question waits for the viewer's pick.
    Asking,
    /// The step runs on the cluster.
    Running,
    /// The step finished so.
    Done(Mark, String),
    /// The last step ran; the tour waits for a key to end.
    AtEnd,
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
    /// Steps in all: top-level statements other than `say` and plumbing.
    pub total: usize,
    /// The current step's number (0 before the first).
    pub step: usize,
    /// The narration of the current step.
    pub caption: String,
    /// The current step's statement.
    pub current: Option<String>,
    /// The question on screen, if any (see [`Question`]).
    question: Option<Question>,
    /// Where the current step is.
    pub phase: Phase,
    /// Finished steps and plumbing, oldest first.
    pub past: Vec<PastStep>,
    /// Where the current step is in `past`, once done.
    current_past: Option<usize>,
    /// How the tour ended, once it has: passed, and the failure if any.
    pub finished: Option<(bool, Option<String>)>,
    /// In auto mode, the delay before each step.
    pub auto: Option<Duration>,
    /// Whether the next caption starts afresh (a step ran since the last).
    new_caption: bool,
    /// Gives the tour thread its go; `None` once the tour has ended.
    go: Option<Sender<Go>>,
}

impl Tour {
    /// The dashboard's side of `script`'s tour; `go` reaches its thread.
    pub fn new(name: &str, script: &Script, auto: Option<Duration>, go: Sender<Go>) -> Tour {
        Tour {
            name: name.to_string(),
            intent: script.intent.clone(),
            total: steps(script),
            step: 0,
            caption: String::new(),
            current: None,
            question: None,
            phase: Phase::Starting,
            past: Vec::new(),
            current_past: None,
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
                self.next_step(step, source);
                self.phase = Phase::Waiting;
            }
            TourEvent::Ask { step, ask, .. } => {
                self.next_step(step, ask.question.clone());
                self.question = Some(Question {
                    step,
                    ask,
                    picked: None,
                    revealed: false,
                });
                self.phase = Phase::Asking;
            }
            TourEvent::Running => {
                // The step after a question runs: the question goes.
                if self.question.as_ref().is_some_and(|q| q.step != self.step) {
                    self.question = None;
                }
                self.phase = Phase::Running;
            }
            TourEvent::Done { mark, detail } => {
                // A question's outcome is the viewer's: right or not.
                let step = self.step;
                let detail = match self.question.as_mut().filter(|q| q.step == step) {
                    Some(q) => {
                        q.revealed = true;
                        q.verdict()
                    }
                    None => detail,
                };
                if let Some(source) = self.current.clone() {
                    self.current_past = Some(self.past.len());
                    self.past.push(PastStep {
                        source,
                        mark,
                        detail: detail.clone(),
                    });
                }
                self.phase = Phase::Done(mark, detail);
                self.new_caption = true;
            }
            TourEvent::Plumbing {
                source,
                mark,
                detail,
            } => self.past.push(PastStep {
                source,
                mark,
                detail,
            }),
            TourEvent::AtEnd => self.phase = Phase::AtEnd,
            TourEvent::Finished { passed, failure } => {
                self.finished = Some((passed, failure));
                self.go = None;
            }
        }
    }

    /// A new step: its number and statement.
    fn next_step(&mut self, step: usize, source: String) {
        self.step = step;
        self.current = Some(source);
        self.current_past = None;
    }

    /// Lets the waiting step run (a question: shows its answer); whether
    /// one was waiting.
    pub fn go_on(&mut self) -> bool {
        if !matches!(self.phase, Phase::Waiting | Phase::Asking | Phase::AtEnd) {
            return false;
        }
        self.send(Go::Next)
    }

    /// Picks choice `choice` (from 1) of the question asked; whether it
    /// was taken (a question waits and has that choice).
    pub fn pick(&mut self, choice: usize) -> bool {
        let step = self.step;
        let Some(q) = self.question.as_mut().filter(|q| q.step == step) else {
            return false;
        };
        if self.phase != Phase::Asking || !(1..=q.ask.choices.len()).contains(&choice) {
            return false;
        }
        q.picked = Some(choice);
        self.send(Go::Pick(choice))
    }

    /// Gives the waiting step its go. A step that got one runs from now
    /// on, though its thread has yet to say so ([`TourEvent::Running`]):
    /// a second key before that must not become the next step's go (nor
    /// change a pick already sent).
    fn send(&mut self, go: Go) -> bool {
        let sent = match &self.go {
            Some(tx) => tx.try_send(go).is_ok(),
            None => false,
        };
        if sent && matches!(self.phase, Phase::Waiting | Phase::Asking) {
            self.phase = Phase::Running;
        }
        sent
    }

    /// Whether a step waits for a key.
    pub fn waiting(&self) -> bool {
        matches!(self.phase, Phase::Waiting | Phase::Asking | Phase::AtEnd)
            && self.finished.is_none()
    }

    /// Whether a question waits for a pick.
    pub fn asking(&self) -> bool {
        self.phase == Phase::Asking && self.finished.is_none()
    }

    /// The question on screen: the current step's, or the one answered
    /// just before it.
    pub fn question(&self) -> Option<&Question> {
        self.question.as_ref()
    }

    /// Whether the current step is the question on screen.
    pub fn current_is_question(&self) -> bool {
        self.question.as_ref().is_some_and(|q| q.step == self.step)
    }

    /// Where the current step's outcome is in `past`, once it is done.
    pub fn current_past(&self) -> Option<usize> {
        self.current_past
    }
}

/// Statements that show nothing to look at: they run without a go.
pub fn is_plumbing(stmt: &Stmt) -> bool {
    matches!(
        stmt.kind,
        StmtKind::Let { .. } | StmtKind::Expect(_) | StmtKind::ResetStats
    )
}

/// The steps of a script: its top-level statements other than `say` and
/// plumbing.
pub fn steps(script: &Script) -> usize {
    script
        .statements
        .iter()
        .filter(|s| !matches!(s.kind, StmtKind::Say(_)) && !is_plumbing(s))
        .count()
}

/// What holds the cluster while a step waits for its go, and shows it.
pub trait Stand {
    /// Waits for the go (or, in auto mode, `auto` to pass) with the
    /// cluster held as the last step left it; an error once the tour was
    /// closed.
    fn wait_for_go(&mut self, go: &Receiver<Go>, auto: Option<Duration>) -> Result<Go, String>;
    /// A statement finished: the dashboard should show the cluster as it
    /// is now (a stop is seen where it stopped).
    fn shown(&mut self) {}
}

/// Waits on `go` for a go, or `auto` to pass; an error once the tour was
/// closed (the dashboard dropped its side).
pub fn recv_go(go: &Receiver<Go>, auto: Option<Duration>) -> Result<Go, String> {
    let closed = || "the tour was closed".to_string();
    match auto {
        Some(delay) => match go.recv_timeout(delay) {
            Ok(go) => Ok(go),
            Err(RecvTimeoutError::Timeout) => Ok(Go::Next),
            Err(RecvTimeoutError::Disconnected) => Err(closed()),
        },
        None => go.recv().map_err(|_| closed()),
    }
}

/// The live cluster's stand: it holds the cluster clock while a step
/// waits, so nothing happens while a person reads the caption: a step sees
/// the cluster as the previous one left it, as in the simulator, where a
/// tour is tested. Without this an `expect no leader` after a pause of a
/// second would be judged too late, and a `wait` would count the reading
/// time as its own. Pressing space while a step waits lets time run.
struct LiveStand {
    cluster: Arc<Cluster>,
}

impl Stand for LiveStand {
    fn wait_for_go(&mut self, go: &Receiver<Go>, auto: Option<Duration>) -> Result<Go, String> {
        // Stop the clock if it runs; let it run again after (unless the
        // person started it meanwhile).
        let held = self.cluster.hold_clock(true).unwrap_or(false);
        let got = recv_go(go, auto);
        if held {
            let _ = self.cluster.hold_clock(false);
        }
        got
    }
}

/// Holds the run before each step until the dashboard gives its go, and
/// reports each outcome.
pub struct Pacer<F: Fn(TourEvent), S: Stand> {
    report: F,
    go: Receiver<Go>,
    auto: Option<Duration>,
    step: usize,
    stand: S,
    /// The statement running at the top level is plumbing.
    plumbing: bool,
}

impl<F: Fn(TourEvent), S: Stand> Pacer<F, S> {
    /// A pacer that reports through `report`, takes its goes from `go`
    /// (or waits `auto` in auto mode) and holds the cluster with `stand`.
    pub fn new(report: F, go: Receiver<Go>, auto: Option<Duration>, stand: S) -> Pacer<F, S> {
        Pacer {
            report,
            go,
            auto,
            step: 0,
            stand,
            plumbing: false,
        }
    }

    /// Plays `script` with clusters from `factory`: every step waits for
    /// its go, and after the last one the tour waits once more before it
    /// reports how it ended.
    pub fn play(mut self, script: &Script, factory: &mut Factory<'_>) -> S {
        let result = run_observed(script, factory, &mut self);
        if result.as_ref().is_ok_and(|r| r.passed) {
            (self.report)(TourEvent::AtEnd);
            // A closed tour has nobody to tell.
            let _ = self.stand.wait_for_go(&self.go, self.auto);
        }
        (self.report)(TourEvent::finished(result));
        self.stand
    }
}

impl<F: Fn(TourEvent), S: Stand> Observer for Pacer<F, S> {
    fn before(&mut self, stmt: &Stmt, depth: usize) -> Result<(), String> {
        if depth > 0 || matches!(stmt.kind, StmtKind::Say(_)) {
            return Ok(());
        }
        self.plumbing = is_plumbing(stmt);
        if self.plumbing {
            return Ok(());
        }
        self.step += 1;
        (self.report)(match &stmt.kind {
            StmtKind::Ask(ask) => TourEvent::Ask {
                step: self.step,
                line: stmt.line,
                ask: ask.clone(),
            },
            _ => TourEvent::Ready {
                step: self.step,
                line: stmt.line,
                source: stmt.source.clone(),
            },
        });
        self.stand.wait_for_go(&self.go, self.auto)?;
        (self.report)(TourEvent::Running);
        Ok(())
    }

    fn after(&mut self, line: &TranscriptLine) {
        if line.mark == Mark::Note {
            if line.depth == 0 {
                (self.report)(TourEvent::Caption(line.detail.clone()));
            }
            return;
        }
        if line.depth == 0 || line.mark == Mark::Fail {
            self.stand.shown();
        }
        if line.depth == 0 && self.plumbing {
            (self.report)(TourEvent::Plumbing {
                source: line.source.clone(),
                mark: line.mark,
                detail: line.detail.clone(),
            });
        } else if line.depth == 0 || line.mark == Mark::Fail {
            (self.report)(TourEvent::Done {
                mark: line.mark,
                detail: line.detail.clone(),
            });
        }
    }
}

/// Starts playing `script` on the live `cluster`; `report` carries each
/// event to the dashboard. Returns the thread and the sender of go signals
/// (dropping it ends the tour at its next step); setting `stop` ends a step
/// that waits on the cluster.
pub fn spawn<F>(
    script: Script,
    cluster: Arc<Cluster>,
    auto: Option<Duration>,
    stop: Arc<AtomicBool>,
    report: F,
) -> std::io::Result<(JoinHandle<()>, Sender<Go>)>
where
    F: Fn(TourEvent) + Send + 'static,
{
    let (go_tx, go_rx) = bounded(1);
    let handle = std::thread::Builder::new()
        .name("raftlab-tour".into())
        .spawn(move || {
            let mut factory = live_factory(cluster.clone(), stop);
            let pacer = Pacer::new(report, go_rx, auto, LiveStand { cluster });
            pacer.play(&script, &mut factory);
        })?;
    Ok((handle, go_tx))
}
