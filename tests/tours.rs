//! Every guided tour under `assets/tours/` runs in the simulator and all its
//! expectations hold, so a tour's captions describe what really happens.
//! Every file there is a shipped tour (or the printed demo), and every
//! shipped tour is a file there.

use raftlab::scenario::{parse, run_script, sim_factory, tours};

mod common;

/// The `.scen` files in `assets/tours/`, sorted.
fn tour_files() -> Vec<std::path::PathBuf> {
    common::scen_files("assets/tours")
}

#[test]
fn every_tour_file_passes_in_the_simulator() {
    let files = tour_files();
    assert!(files.len() >= 4, "only {} tours found", files.len());
    let mut failures = Vec::new();
    for path in &files {
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        // The printed demo takes its size and seed from the command line.
        let text = std::fs::read_to_string(path)
            .unwrap()
            .replace("{nodes}", "5")
            .replace("{seed}", "1");
        match run_script(&text, &name, sim_factory(1)) {
            Ok(report) if report.passed => println!("PASS {name}"),
            Ok(report) => failures.push(report.render()),
            Err(e) => failures.push(format!("{name}: {e}")),
        }
    }
    assert!(failures.is_empty(), "\n{}", failures.join("\n\n"));
}

/// The dashboard plays tours with its visible link latency (10–20 ms):
/// their expectations hold at that pace too.
#[test]
fn every_tour_file_passes_at_the_dashboards_latency() {
    use raftlab::scenario::sim_factory_with;
    let mut failures = Vec::new();
    for path in &tour_files() {
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let text = std::fs::read_to_string(path)
            .unwrap()
            .replace("{nodes}", "5")
            .replace("{seed}", "1");
        let factory = sim_factory_with(1, raftlab::tui::VISIBLE_LATENCY_US, Default::default());
        match run_script(&text, &name, factory) {
            Ok(report) if report.passed => println!("PASS {name}"),
            Ok(report) => failures.push(report.render()),
            Err(e) => failures.push(format!("{name}: {e}")),
        }
    }
    assert!(failures.is_empty(), "\n{}", failures.join("\n\n"));
}

#[test]
fn every_tour_file_is_shipped_and_every_shipped_tour_has_a_file() {
    let on_disk: Vec<String> = tour_files()
        .iter()
        .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
        .filter(|name| name != "demo.scen")
        .collect();
    let shipped: Vec<String> = tours::TOURS.iter().map(|t| t.file.to_string()).collect();
    assert_eq!(on_disk, shipped);
}

#[test]
fn every_shipped_tour_parses_states_its_intent_and_narrates() {
    for tour in tours::TOURS {
        let script = parse(tour.text, tour.file).unwrap_or_else(|e| panic!("{e}"));
        assert!(!tour.intent().is_empty(), "{} has no intent", tour.name);
        assert!(
            tour.text.contains("\nsay "),
            "{} has no captions",
            tour.name
        );
        assert!(!script.statements.is_empty());
        assert_eq!(tours::find(tour.name), Some(tour));
    }
    assert_eq!(tours::find("no-such-tour"), None);
}

/// Plays a shipped tour on a live cluster of the size, seed and bugs its
/// script asks for, at clock speed `speed`, with the dashboard's visible
/// link latency (as `raftlab tour NAME --live` plays it) and the live
/// checker on (`wait violation` reads it). Returns the report and the
/// cluster, still running.
fn play_live(
    tour: &tours::Tour,
    speed: f64,
) -> (
    raftlab::scenario::Report,
    std::sync::Arc<raftlab::runtime::Cluster>,
) {
    use std::sync::Arc;
    use std::sync::atomic::AtomicBool;

    use raftlab::runtime::{Cluster, ClusterConfig};
    use raftlab::scenario::{ClusterSpec, live_factory, run};

    let script = parse(tour.text, tour.file).unwrap();
    let spec: ClusterSpec = script
        .statements
        .iter()
        .find_map(|s| match &s.kind {
            raftlab::scenario::ast::StmtKind::Cluster(spec) => Some(spec.clone()),
            _ => None,
        })
        .unwrap();
    let cluster = Arc::new(
        Cluster::start(ClusterConfig {
            nodes: spec.nodes,
            seed: spec.seed.unwrap_or(1),
            bugs: spec.bugs,
            speed,
            latency_us: raftlab::tui::VISIBLE_LATENCY_US,
            start_paused: true,
            observe: true,
            ..ClusterConfig::default()
        })
        .unwrap(),
    );
    let mut factory = live_factory(cluster.clone(), Arc::new(AtomicBool::new(false)));
    let report = run(&script, &mut factory).unwrap();
    drop(factory);
    (report, cluster)
}

/// A tour drives the live runtime through `LiveCluster`: the same script
/// passes on real threads, at the fastest clock speed — but the election
/// tour, whose stop on a candidate lasts one vote's round trip (20–40 ms
/// of cluster time), at a speed where that is 100 ms on the wall or more,
/// so a busy machine does not skip it.
#[test]
fn tours_play_on_the_live_cluster() {
    for (name, speed) in [
        ("election", 2.0),
        ("replication", 10.0),
        ("partition", 10.0),
        ("reads", 10.0),
        ("figure8", 10.0),
        ("snapshots", 10.0),
        ("figure8-broken", 10.0),
        ("membership", 10.0),
    ] {
        let (report, cluster) = play_live(tours::find(name).unwrap(), speed);
        assert!(report.passed, "\n{}", report.render());
        if let Ok(cluster) = std::sync::Arc::try_unwrap(cluster) {
            cluster.shutdown();
        }
    }
}

/// Tour time is the cluster's clock: at half speed (with 10 ms ticks) a
/// `run 200ms` lasts at least 400 ms on the wall, and the transcript counts
/// cluster time. (A lower bound only: a busy machine can make it longer.)
#[test]
fn tour_time_follows_the_cluster_clock() {
    use std::sync::Arc;
    use std::sync::atomic::AtomicBool;
    use std::time::{Duration, Instant};

    use raftlab::runtime::{Cluster, ClusterConfig};
    use raftlab::scenario::{live_factory, run};

    let script = parse("# clock\ncluster 3 seed 1\nrun 200ms\n", "clock.scen").unwrap();
    let cluster = Arc::new(
        Cluster::start(ClusterConfig {
            nodes: 3,
            seed: 1,
            tick: Duration::from_millis(10),
            speed: 0.5,
            start_paused: true,
            ..ClusterConfig::default()
        })
        .unwrap(),
    );
    let mut factory = live_factory(cluster.clone(), Arc::new(AtomicBool::new(false)));
    let started = Instant::now();
    let report = run(&script, &mut factory).unwrap();
    let wall = started.elapsed();
    drop(factory);
    assert!(report.passed, "\n{}", report.render());
    assert!(
        wall >= Duration::from_millis(400),
        "run 200ms took only {wall:?} at half speed"
    );
    let last = report.transcript.last().unwrap();
    assert!(last.at_us >= 200_000, "cluster time {} µs", last.at_us);
    if let Ok(cluster) = Arc::try_unwrap(cluster) {
        cluster.shutdown();
    }
}

/// A live cluster of three nodes, seed 1, at the fastest clock speed,
/// its clock paused until a tour's `cluster` statement starts it.
fn three_paused_nodes() -> std::sync::Arc<raftlab::runtime::Cluster> {
    use raftlab::runtime::{Cluster, ClusterConfig};
    std::sync::Arc::new(
        Cluster::start(ClusterConfig {
            nodes: 3,
            seed: 1,
            speed: 10.0,
            start_paused: true,
            ..ClusterConfig::default()
        })
        .unwrap(),
    )
}

/// While a step waits for its go the tour holds the cluster clock, so a
/// person reading a caption misses nothing: `expect no leader` (plumbing,
/// which runs without a go) is judged on the cluster as the previous step
/// left it, and the election that follows takes its 15–30 ticks (it used
/// to be reported as taking as long as the reader took, and `expect`
/// judged a stale view).
#[test]
fn a_tour_holds_the_clock_while_a_step_waits_for_its_go() {
    use std::sync::Arc;
    use std::sync::atomic::AtomicBool;
    use std::time::Duration;

    use crossbeam_channel::unbounded;
    use raftlab::scenario::Mark;
    use raftlab::tui::tour::{self, Go, TourEvent};

    let text = "# hold\ncluster 3 seed 1\nrun 20ms\nexpect no leader\nwait leader within 3s\n";
    let script = parse(text, "hold.scen").unwrap();
    let cluster = three_paused_nodes();
    let (tx, rx) = unbounded();
    let (handle, go) = tour::spawn(
        script,
        cluster.clone(),
        None,
        Arc::new(AtomicBool::new(false)),
        move |e| {
            let _ = tx.send(e);
        },
    )
    .unwrap();
    let next = |want: &dyn Fn(&TourEvent) -> bool| loop {
        let e = rx.recv_timeout(Duration::from_secs(10)).unwrap();
        if want(&e) {
            return e;
        }
    };
    let ready =
        |step| move |e: &TourEvent| matches!(e, TourEvent::Ready { step: s, .. } if *s == step);
    next(&ready(1));
    go.send(Go::Next).unwrap();
    next(&ready(2));
    let before = cluster.view();
    // 300 ms is 60 ticks at this speed: two elections' worth.
    std::thread::sleep(Duration::from_millis(300));
    let after = cluster.view();
    assert!(after.clock_paused, "the clock runs while the step waits");
    assert_eq!(after.tick, before.tick);
    assert_eq!(after.leader(), None);
    go.send(Go::Next).unwrap();
    let plumbing = next(&|e| matches!(e, TourEvent::Plumbing { .. }));
    assert!(
        matches!(
            &plumbing,
            TourEvent::Plumbing {
                mark: Mark::Pass,
                source,
                ..
            } if source == "expect no leader"
        ),
        "{plumbing:?}"
    );
    next(&ready(3));
    go.send(Go::Next).unwrap();
    let done = next(&|e| matches!(e, TourEvent::Done { .. }));
    let TourEvent::Done { mark, detail } = done else {
        unreachable!()
    };
    assert_eq!(mark, Mark::Pass, "{detail}");
    // "n2 leads term 1 after 160ms": within one election timeout (and a
    // little for a split vote), not the time the step waited.
    let ms: f64 = detail
        .rsplit("after ")
        .next()
        .and_then(|t| t.strip_suffix("ms"))
        .and_then(|t| t.parse().ok())
        .unwrap_or_else(|| panic!("no duration in {detail:?}"));
    assert!(ms <= 600.0, "{detail}");
    // The last step's outcome stays until one more go ends the tour.
    next(&|e| *e == TourEvent::AtEnd);
    go.send(Go::Next).unwrap();
    let finished = next(&|e| matches!(e, TourEvent::Finished { .. }));
    assert_eq!(
        finished,
        TourEvent::Finished {
            passed: true,
            failure: None
        }
    );
    assert!(
        !cluster.view().clock_paused,
        "the clock runs after the tour"
    );
    handle.join().unwrap();
    if let Ok(cluster) = Arc::try_unwrap(cluster) {
        cluster.shutdown();
    }
}

/// The Figure 8 tour ends by pointing at a `raftlab check` command that
/// shows the rule broken; that command finds what the caption says.
#[test]
fn the_command_the_figure8_tour_suggests_finds_a_lost_commit() {
    let tour = tours::find("figure8").unwrap();
    let line = tour
        .text
        .lines()
        .find(|l| l.starts_with("say ") && l.contains("`raftlab check"))
        .expect("the tour names a check command");
    let command = line.split('`').nth(1).unwrap();
    assert!(line.contains("leader completeness"), "{line}");
    let args: Vec<&str> = command.split_whitespace().skip(1).collect();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_raftlab"))
        .args(&args)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "`{command}`:\n{stdout}");
    assert!(
        stdout.contains("invariant violated: leader completeness"),
        "`{command}`:\n{stdout}"
    );
}

/// The broken Figure 8 tour shows the harm, and its expectations say so:
/// its `wait violation` step passes only on the violation the bug causes
/// — in the simulator a new leader missing the committed entry (leader
/// completeness, which ends the run there), on the live cluster that
/// leader applying another command at the committed entry's index (the
/// live checker's "state machine safety").
#[test]
fn the_figure8_broken_tour_ends_in_the_violation_it_shows() {
    use raftlab::runtime::observe::Invariant;
    use raftlab::scenario::Report;

    let tour = tours::find("figure8-broken").unwrap();
    let violation_line = |report: &Report| {
        report
            .transcript
            .iter()
            .find(|l| l.source.starts_with("wait violation"))
            .map(|l| l.detail.clone())
            .unwrap_or_else(|| panic!("no `wait violation` step ran:\n{}", report.render()))
    };

    let report = run_script(tour.text, tour.file, sim_factory(1)).unwrap();
    assert!(report.passed, "\n{}", report.render());
    let sim = violation_line(&report);
    assert!(sim.starts_with("VIOLATED leader completeness"), "{sim}");

    let (report, cluster) = play_live(tour, 10.0);
    assert!(report.passed, "\n{}", report.render());
    let live = violation_line(&report);
    assert!(live.starts_with("VIOLATED state machine safety"), "{live}");
    let checks = cluster.view().teaching.checks.clone();
    assert!(
        checks.finding(Invariant::StateMachineSafety).is_some(),
        "{checks:?}"
    );
    if let Ok(cluster) = std::sync::Arc::try_unwrap(cluster) {
        cluster.shutdown();
    }
}

/// `start` and `reply` on the live cluster: the write is sent by a client
/// of its own while the script goes on, and `reply` collects its answer.
#[test]
fn start_and_reply_work_on_the_live_cluster() {
    use std::sync::Arc;
    use std::sync::atomic::AtomicBool;

    use raftlab::scenario::{live_factory, run};

    let text = "# async\ncluster 3 seed 1\nwait leader within 3s\nstart put x 1\nwait value x = 1 on leader within 2s\nreply -> ok\nget x -> \"1\"\nstart put y 2\nstart put z 3\n";
    let script = parse(text, "async.scen").unwrap();
    let cluster = three_paused_nodes();
    let mut factory = live_factory(cluster.clone(), Arc::new(AtomicBool::new(false)));
    let report = run(&script, &mut factory).unwrap();
    drop(factory);
    // Everything up to the second `start` holds; the third is refused.
    let failure = report.failure.clone().expect("two starts in a row fail");
    assert_eq!(failure.line, 9, "\n{}", report.render());
    assert!(
        failure.message.contains("one at a time"),
        "{}",
        failure.message
    );
    assert!(
        report.transcript[4].detail.starts_with("ok"),
        "\n{}",
        report.render()
    );
    if let Ok(cluster) = Arc::try_unwrap(cluster) {
        cluster.shutdown();
    }
}
