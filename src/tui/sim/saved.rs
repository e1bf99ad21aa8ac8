//! Saved sessions: the simulated dashboard's `save FILE.scen`, and playing
//! such a file back — over the dashboard (`raftlab --script FILE`) or
//! headless (`raftlab script FILE`) — as the very same run.
//!
//! A simulated run is a pure function of its options and of the inputs
//! given at their virtual times (the session records them for `R`). A
//! saved session is those, written in the scenario language (see
//! [`crate::scenario::session`]): the `cluster` line (size, seed, bugs),
//! a `session` line (latency, faults, background clients, the paper's
//! Raft), one `at TIME: COMMAND` line per input in the console's own words,
//! and `at TIME: end trace HASH` where the session was saved. Playing it
//! back builds a fresh [`SimSession`] and hands it the inputs exactly as
//! `R` replays a run's own — the same code applies them at the same
//! times — so a headless run to the `end` time has the session's trace
//! hash, and says whether it does.

use std::fmt::Write as _;

use super::session::{Input, SimSession, TickReport};
use crate::kv::Op;
use crate::scenario::ast::{Script, StmtKind};
use crate::scenario::session::{SessionSpec, exact_time};
use crate::sim::SimOptions;
use crate::tui::command::{self, Command, Context};
use crate::tui::driver::Request;
use crate::tui::text::{op_request_text, request_text};

/// A saved session read back.
#[derive(Clone, Debug, PartialEq)]
pub struct Recording {
    /// The file's name, for messages.
    pub name: String,
    /// What the file says it was saved from (its first comment).
    pub intent: Option<String>,
    /// The simulator's options.
    pub options: SimOptions,
    /// Where the run ends as a `raftlab check` run (a replay's session).
    pub until_us: Option<u64>,
    /// The inputs, in order, at their times.
    pub inputs: Vec<Input>,
    /// Where the session was saved (`at T: end`), or the last input's time.
    pub end_us: u64,
    /// The trace hash the session had there, if the file says.
    pub trace: Option<u64>,
}

/// Whether `script` is a saved session (it has `at` lines).
pub fn is_recording(script: &Script) -> bool {
    script
        .statements
        .iter()
        .any(|s| matches!(s.kind, StmtKind::At { .. } | StmtKind::Session(_)))
}

/// An input as the console writes it, so that the console's parser reads
/// back the very same request: keys and values quoted when they must be,
/// rates and delays to the last digit.
pub fn input_text(request: &Request) -> String {
    let op = |op: Op| op_request_text(&op);
    match request.clone() {
        Request::Put(key, value) => op(Op::Put { key, value }),
        Request::Get(key) => op(Op::Get { key }),
        Request::Delete(key) => op(Op::Delete { key }),
        Request::Cas(key, old, new) => op(Op::Cas { key, old, new }),
        Request::GetStale(node, key) => format!("{} stale on {node}", op(Op::Get { key })),
        Request::Loss(p) => {
            let percent = p * 100.0;
            if percent == percent.round() && percent / 100.0 == p {
                format!("loss {percent:.0}%")
            } else {
                format!("loss {p}")
            }
        }
        Request::Delay(a, b) => format!("delay {}", delay_words(a, b)),
        Request::LinkDelay(x, y, a, b) => format!("delay {x} {y} {}", delay_words(a, b)),
        other => request_text(&other),
    }
}

/// A delay range the console reads back exactly: `10..20ms`, `500us`.
fn delay_words(a: u64, b: u64) -> String {
    let (a, b, unit) = if a.is_multiple_of(1000) && b.is_multiple_of(1000) {
        (a / 1000, b / 1000, "ms")
    } else {
        (a, b, "us")
    };
    if a == b {
        format!("{a}{unit}")
    } else {
        format!("{a}..{b}{unit}")
    }
}

/// The saved session's text: `session`'s run so far, saved from
/// `origin` (the run's label, e.g. `sim seed 1`).
pub fn save_text(session: &SimSession, origin: &str) -> Result<String, String> {
    let opts = session.sim().options();
    let status = session.status();
    let spec = SessionSpec::of(opts, status.end_us)?;
    let inputs = session.all_inputs();
    let now = session.now_us();
    let end = inputs.iter().map(|i| i.at_us).max().unwrap_or(0).max(now);
    let mut out = String::new();
    let _ = writeln!(
        out,
        "# A session saved from {origin} at {}: seed {}, {} input{}.",
        exact_time(end),
        opts.seed,
        inputs.len(),
        if inputs.len() == 1 { "" } else { "s" }
    );
    let _ = writeln!(
        out,
        "# Play it over the dashboard with `raftlab --script FILE`, or run it\n\
         # headless with `raftlab script FILE`: the same run, to the trace hash."
    );
    let mut cluster = format!("cluster {} seed {}", opts.nodes, opts.seed);
    for bug in opts.bugs.names() {
        let _ = write!(cluster, " bug {bug}");
    }
    let _ = writeln!(out, "{cluster}");
    if let Some(line) = spec.line() {
        let _ = writeln!(out, "{line}");
    }
    for input in &inputs {
        let _ = writeln!(
            out,
            "at {}: {}",
            exact_time(input.at_us),
            input_text(&input.request)
        );
    }
    // Inputs a replay has not reached yet lie ahead of the present: the
    // saved run ends where its last one is given.
    let trace = (end == now).then(|| format!(" trace {:016x}", status.trace_hash));
    let _ = writeln!(
        out,
        "at {}: end{}",
        exact_time(end),
        trace.unwrap_or_default()
    );
    Ok(out)
}

/// Writes `session` to `path`; what the console says.
pub fn save(session: &SimSession, origin: &str, path: &std::path::Path) -> Result<String, String> {
    let text = save_text(session, origin)?;
    std::fs::write(path, &text).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    let status = session.status();
    Ok(format!(
        "saved {}: {} inputs to {}, trace {:016x} (raftlab --script plays it)",
        path.display(),
        session.all_inputs().len(),
        exact_time(session.now_us()),
        status.trace_hash,
    ))
}

/// Requests a saved session may hold: what changes the run (not the
/// clock, which is the viewer's).
fn is_input(request: &Request) -> bool {
    !matches!(
        request,
        Request::Speed(_)
            | Request::PauseClock
            | Request::ResumeClock
            | Request::Step
            | Request::Replay
            | Request::Save(_)
    )
}

/// Reads a saved session from `script` (parsed); `default_seed` for a
/// `cluster` line with none. Every mistake is `file:line:col: message`.
pub fn load(script: &Script, default_seed: u64) -> Result<Recording, String> {
    let file = &script.name;
    let at = |line: usize, col: usize, m: String| format!("{file}:{line}:{col}: {m}");
    let mut statements = script.statements.iter();
    let cluster = match statements.next().map(|s| &s.kind) {
        Some(StmtKind::Cluster(spec)) => spec,
        _ => {
            return Err(format!(
                "{file}: a saved session starts with its `cluster` line"
            ));
        }
    };
    let mut options = crate::scenario::script_options(
        cluster,
        default_seed,
        crate::net::Link::DEFAULT_DELAY_US,
        Default::default(),
    );
    let mut until_us = None;
    let mut inputs: Vec<Input> = Vec::new();
    let mut end: Option<(u64, Option<u64>)> = None;
    let cx = Context {
        nodes: crate::runtime::MAX_NODES,
        leader: None,
        selected: 1,
    };
    for stmt in statements {
        if let Some((t, _)) = end {
            return Err(at(
                stmt.line,
                1,
                format!("nothing may follow `at {}: end`", exact_time(t)),
            ));
        }
        match &stmt.kind {
            StmtKind::Session(spec) if inputs.is_empty() => {
                spec.apply(&mut options);
                until_us = spec.until_us;
            }
            StmtKind::At { at_us, input, col } => {
                if let Some(last) = inputs.last()
                    && *at_us < last.at_us
                {
                    return Err(at(
                        stmt.line,
                        4,
                        format!(
                            "inputs go forward in time: this one is at {}, after one at {}",
                            exact_time(*at_us),
                            exact_time(last.at_us)
                        ),
                    ));
                }
                let words: Vec<&str> = input.split_whitespace().collect();
                if words.first() == Some(&"end") {
                    end = Some((
                        *at_us,
                        end_trace(&words[1..]).map_err(|m| at(stmt.line, *col, m))?,
                    ));
                    continue;
                }
                let request = match command::parse(input, cx) {
                    Ok(Command::Request(request)) if is_input(&request) => request,
                    Ok(_) => {
                        return Err(at(
                            stmt.line,
                            *col,
                            format!(
                                "`{input}` is not an input to the run (the clock and the screen are the viewer's)"
                            ),
                        ));
                    }
                    Err(e) => return Err(at(stmt.line, *col, e)),
                };
                if matches!(request, Request::GetStale(..)) && !words.contains(&"on") {
                    return Err(at(
                        stmt.line,
                        *col,
                        "name the node: `get K stale on N`".into(),
                    ));
                }
                inputs.push(Input {
                    at_us: *at_us,
                    request,
                });
            }
            StmtKind::Session(_) => {
                return Err(at(
                    stmt.line,
                    1,
                    "the `session` line comes before the inputs".into(),
                ));
            }
            _ => {
                return Err(at(
                    stmt.line,
                    1,
                    format!(
                        "a saved session holds a `cluster` line, a `session` line and `at` lines, not `{}`",
                        stmt.source
                    ),
                ));
            }
        }
    }
    let last = inputs.last().map_or(0, |i| i.at_us);
    let (end_us, trace) = end.unwrap_or((last, None));
    Ok(Recording {
        name: file.clone(),
        intent: script.intent.clone(),
        options,
        until_us,
        inputs,
        end_us,
        trace,
    })
}

/// What may follow `end`: nothing, or `trace HEX`.
fn end_trace(words: &[&str]) -> Result<Option<u64>, String> {
    match words {
        [] => Ok(None),
        ["trace", hex] => u64::from_str_radix(hex, 16)
            .map(Some)
            .map_err(|_| format!("'{hex}' is not a trace hash: 16 hexadecimal digits")),
        _ => Err("write `end`, or `end trace HASH`".into()),
    }
}

impl Recording {
    /// A fresh session of the recording's run, holding its inputs to play
    /// at their times; the dashboard shows `window` log entries per node.
    pub fn session(&self, window: usize) -> Result<SimSession, crate::sim::SimError> {
        let label = format!("session {}", self.name);
        let mut session = SimSession::new(self.options.clone(), self.until_us, window, label)?;
        session.preload(self.inputs.clone(), &self.name);
        Ok(session)
    }
}

/// How a headless playback went.
#[derive(Clone, Debug, PartialEq)]
pub struct Played {
    /// One line per input and per answer, with its virtual time.
    pub transcript: Vec<String>,
    /// Virtual time where the playback stopped.
    pub now_us: u64,
    /// The run's trace hash there.
    pub trace_hash: u64,
    /// The invariant violation the run stopped at, if it did.
    pub violation: Option<String>,
}

impl Played {
    /// Whether the run is the saved session's: the same trace hash where
    /// it was saved (true when the file names none).
    pub fn matches(&self, recording: &Recording) -> bool {
        recording.trace.is_none_or(|t| t == self.trace_hash)
    }
}

/// Plays `recording` headless to its `end`, tick by tick as the dashboard
/// does, and reports what happened.
pub fn play(recording: &Recording) -> Result<Played, String> {
    let mut session = recording.session(16).map_err(|e| e.to_string())?;
    let mut transcript = Vec::new();
    let mut next = 0;
    let mut violation = None;
    let show = |transcript: &mut Vec<String>, session: &SimSession, report: TickReport| {
        for (_, answer) in report.answers {
            let text = match answer {
                Ok(text) => format!("→ {text}"),
                Err(text) => format!("✗ {text}"),
            };
            transcript.push(format!("{:>11}    {text}", exact_time(session.now_us())));
        }
        report.violation.map(|v| {
            let text = format!(
                "the run stopped at the violation of '{}': {}",
                v.invariant, v.details
            );
            transcript.push(format!("{:>11}  {text}", exact_time(v.time_us)));
            text
        })
    };
    let print_inputs = |transcript: &mut Vec<String>, next: &mut usize, before: u64| {
        while let Some(input) = recording.inputs.get(*next).filter(|i| i.at_us < before) {
            transcript.push(format!(
                "{:>11}  {}",
                exact_time(input.at_us),
                input_text(&input.request)
            ));
            *next += 1;
        }
    };
    while session.now_us() < recording.end_us && session.can_run() {
        let tick_end = (session.now_us() / crate::runtime::TICK_CLUSTER_US + 1)
            * crate::runtime::TICK_CLUSTER_US;
        print_inputs(&mut transcript, &mut next, tick_end);
        let report = session.tick();
        if let Some(v) = show(&mut transcript, &session, report) {
            violation = Some(v);
        }
    }
    // Inputs given at the very moment the session was saved: applied
    // then, before it was saved, with no time passing.
    print_inputs(&mut transcript, &mut next, session.now_us() + 1);
    let report = session.apply_due();
    if let Some(v) = show(&mut transcript, &session, report) {
        violation = Some(v);
    }
    Ok(Played {
        transcript,
        now_us: session.now_us(),
        trace_hash: session.status().trace_hash,
        violation,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::parse;
    use crate::tui::sim::SimSession;

    /// Every kind of input reads back, through the console's parser, as
    /// the very request it was.
    #[test]
    fn every_input_reads_back_as_itself() {
        let put = |k: &str, v: &str| Op::Put {
            key: k.into(),
            value: v.into(),
        };
        let requests = vec![
            Request::Kill(3),
            Request::Restart(2),
            Request::RestartAll,
            Request::Pause(4),
            Request::Resume(4),
            Request::Isolate(1),
            Request::Partition(vec![vec![1, 2], vec![3, 4, 5]]),
            Request::Heal,
            Request::Loss(0.2),
            Request::Loss(0.125),
            Request::Loss(1.0 / 3.0),
            Request::Delay(10_000, 20_000),
            Request::Delay(500, 2_000),
            Request::Delay(7_000, 7_000),
            Request::LinkDelay(1, 3, 50_000, 50_000),
            Request::LinkDelay(2, 5, 1_500, 30_000),
            Request::Transfer(5),
            Request::Put("x".into(), "1".into()),
            Request::Put("k".into(), "two words".into()),
            Request::Put("q".into(), "say \"hi\"".into()),
            Request::Get("x".into()),
            Request::GetStale(3, "x".into()),
            Request::Delete("x".into()),
            Request::Cas("x".into(), "1".into(), "2 3".into()),
            Request::ClientOn(2, put("y", "2 on 1")),
            Request::ClientOn(4, Op::Get { key: "y".into() }),
            Request::Bug("forget-vote".into(), true),
            Request::Bug("forget-vote".into(), false),
            Request::AddLearner(6),
            Request::Promote(6),
            Request::Remove(6),
            Request::Hold,
            Request::Deliver(crate::net::HeldRef::One(3)),
            Request::Deliver(crate::net::HeldRef::All),
            Request::DropHeld(crate::net::HeldRef::One(2)),
            Request::DropHeld(crate::net::HeldRef::All),
            Request::Release,
        ];
        let cx = Context {
            nodes: 9,
            leader: None,
            selected: 1,
        };
        for request in requests {
            let text = input_text(&request);
            assert_eq!(
                command::parse(&text, cx),
                Ok(Command::Request(request.clone())),
                "{text}"
            );
        }
    }

    fn clock() -> crate::tui::sim::ClockState {
        crate::tui::sim::ClockState {
            paused: true,
            speed: 1.0,
            tick_wall: crate::tui::sim::TICK_WALL,
        }
    }

    /// Runs `session` for `ticks` ticks, building a view after each as the
    /// dashboard does.
    fn run(session: &mut SimSession, ticks: usize) {
        for _ in 0..ticks {
            session.tick();
            session.view(clock());
        }
    }

    /// A lesson: writes, a kill, a partition, a slow and lossy link, a
    /// bug switched on and off, a node added and promoted, reads of one
    /// node's copy, and a last input given while paused right before
    /// saving.
    fn rehearse(opts: SimOptions, end_us: Option<u64>) -> SimSession {
        let mut s = SimSession::new(opts, end_us, 16, "sim seed 3".into()).unwrap();
        let mut id = 0;
        let mut ask = |s: &mut SimSession, r: Request| {
            id += 1;
            s.request(id, r);
        };
        run(&mut s, 50);
        ask(&mut s, Request::Put("x".into(), "1".into()));
        ask(&mut s, Request::Put("k".into(), "two words".into()));
        run(&mut s, 10);
        let leader = s.sim().leader().expect("a leader after 500ms");
        ask(&mut s, Request::Kill(leader));
        run(&mut s, 40);
        ask(&mut s, Request::GetStale(leader % 5 + 1, "x".into()));
        ask(&mut s, Request::Partition(vec![vec![1, 2], vec![3, 4, 5]]));
        ask(&mut s, Request::Loss(0.125));
        ask(&mut s, Request::LinkDelay(3, 4, 1_500, 30_000));
        run(&mut s, 30);
        ask(&mut s, Request::Heal);
        ask(&mut s, Request::Restart(leader));
        ask(&mut s, Request::Bug("forget-vote".into(), true));
        run(&mut s, 30);
        ask(&mut s, Request::Bug("forget-vote".into(), false));
        ask(&mut s, Request::AddLearner(6));
        run(&mut s, 60);
        ask(&mut s, Request::Promote(6));
        ask(&mut s, Request::ClientOn(2, Op::Get { key: "x".into() }));
        run(&mut s, 40);
        // Paused: given, then saved at once.
        ask(&mut s, Request::Kill(1));
        s
    }

    fn round_trip(session: &SimSession) -> (String, Recording, Played) {
        let text = save_text(session, "raftlab --sim").unwrap();
        let script = parse(&text, "lesson.scen").unwrap_or_else(|e| panic!("{e}\n{text}"));
        assert!(is_recording(&script));
        let recording = load(&script, 99).unwrap();
        let played = play(&recording).unwrap();
        (text, recording, played)
    }

    #[test]
    fn a_saved_session_replays_to_its_trace_hash() {
        let opts = SimOptions {
            seed: 3,
            latency_us: crate::tui::VISIBLE_LATENCY_US,
            ..SimOptions::default()
        };
        let session = rehearse(opts.clone(), None);
        let status = session.status();
        let (text, recording, played) = round_trip(&session);
        assert!(
            text.contains("\ncluster 5 seed 3\nsession latency 10..20ms\n"),
            "{text}"
        );
        assert!(text.contains(": put k \"two words\"\n"), "{text}");
        assert!(text.contains(": loss 0.125\n"), "{text}");
        assert!(text.contains(": delay 3 4 1500..30000us\n"), "{text}");
        assert_eq!(recording.options, opts);
        assert_eq!(recording.inputs, session.all_inputs());
        assert_eq!(recording.end_us, status.now_us);
        assert_eq!(recording.trace, Some(status.trace_hash));
        assert_eq!(played.now_us, status.now_us);
        assert_eq!(
            played.trace_hash,
            status.trace_hash,
            "{}",
            played.transcript.join("\n")
        );
        assert!(played.matches(&recording));
        assert!(played.violation.is_none());
        // The transcript shows the inputs and their answers.
        let shown = played.transcript.join("\n");
        assert!(shown.contains("partition 1 2 | 3 4 5"), "{shown}");
        assert!(
            shown.contains("→ added n6 as a learner") || shown.contains("n6"),
            "{shown}"
        );
        // Another run: a file edited to another input is another run.
        let edited = text.replacen(": heal\n", ": isolate 2\n", 1);
        let script = parse(&edited, "edited.scen").unwrap();
        let other = play(&load(&script, 1).unwrap()).unwrap();
        assert_ne!(other.trace_hash, status.trace_hash);
    }

    #[test]
    fn a_replays_session_keeps_its_checks_run_and_background_clients() {
        // What `raftlab replay --seed 4 --faults all` runs: faults,
        // background clients, the check's end.
        let opts = SimOptions {
            seed: 4,
            faults: crate::sim::FaultSchedule::all(),
            clients: 5,
            ops_per_sec: 100,
            max_ops: 1000,
            keys: 5,
            ..SimOptions::default()
        };
        let mut s = SimSession::new(opts.clone(), Some(10_000_000), 16, "replay".into()).unwrap();
        run(&mut s, 80);
        s.request(1, Request::Put("x".into(), "1".into()));
        run(&mut s, 20);
        s.request(2, Request::Isolate(2));
        run(&mut s, 15);
        let (text, recording, played) = round_trip(&s);
        assert!(
            text.contains("faults all") || text.contains("faults crash"),
            "{text}"
        );
        assert!(text.contains(" until 10s"), "{text}");
        assert_eq!(recording.options, opts);
        assert_eq!(recording.until_us, Some(10_000_000));
        assert_eq!(played.trace_hash, s.status().trace_hash);
    }

    #[test]
    fn a_session_saved_mid_replay_keeps_the_inputs_still_ahead() {
        let mut s = rehearse(SimOptions::default(), None);
        let all = s.all_inputs();
        s.replay().unwrap();
        run(&mut s, 5);
        let text = save_text(&s, "sim").unwrap();
        let recording = load(&parse(&text, "r.scen").unwrap(), 1).unwrap();
        assert_eq!(recording.inputs, all);
        // Where it ends lies ahead: no trace hash to promise yet.
        assert_eq!(recording.trace, None);
        assert_eq!(recording.end_us, all.last().unwrap().at_us);
    }

    #[test]
    fn a_saved_session_that_is_not_one_is_refused_in_words() {
        let err = |text: &str| {
            let script = parse(text, "s.scen").unwrap_or_else(|e| panic!("{e}"));
            load(&script, 1).unwrap_err()
        };
        let head = "cluster 3 seed 1\n";
        assert!(
            err(&format!("{head}at 2s: kill 1\nat 1s: kill 2\n"))
                .contains("s.scen:3:4: inputs go forward in time")
        );
        assert!(err(&format!("{head}at 1s: frobnicate\n")).contains("s.scen:2:8: unknown command"));
        assert!(err(&format!("{head}at 1s: speed 2\n")).contains("not an input to the run"));
        assert!(err(&format!("{head}at 1s: get x stale\n")).contains("get K stale on N"));
        assert!(
            err(&format!("{head}at 1s: end\nat 2s: kill 1\n"))
                .contains("s.scen:3:1: nothing may follow")
        );
        assert!(err(&format!("{head}at 1s: end trace xyz\n")).contains("not a trace hash"));
        assert!(err(&format!("{head}at 1s: kill 1\nwait leader\n")).contains("not `wait leader`"));
        assert!(
            err(&format!("{head}at 1s: kill 1\nsession latency 10ms\n"))
                .contains("before the inputs")
        );
        // A script with no `at` line is an ordinary one.
        assert!(!is_recording(
            &parse("cluster 3\nwait leader\n", "t.scen").unwrap()
        ));
    }
}
