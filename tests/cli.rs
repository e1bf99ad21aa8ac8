//! The command line as a user meets it: run the real binary, look at its
//! exit code and what it prints.

use std::path::PathBuf;
use std::process::{Command, Output};

fn raftlab(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_raftlab"))
        .args(args)
        .output()
        .expect("run raftlab")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn temp_file(name: &str, contents: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("raftlab-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(name);
    std::fs::write(&path, contents).unwrap();
    path
}

/// Bad input: one clear line on stderr, exit code 2, no panic.
fn assert_bad_input(args: &[&str], needle: &str) {
    let out = raftlab(args);
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
    assert!(
        err.contains(needle),
        "{args:?}: expected {needle:?} in {err:?}"
    );
    assert!(!err.contains("panicked"), "{args:?} panicked: {err}");
}

#[test]
fn out_of_range_cluster_sizes_are_refused() {
    assert_bad_input(&["--nodes", "10"], "1 to 9");
    assert_bad_input(&["--nodes", "0"], "1 to 9");
    assert_bad_input(&["check", "--nodes", "12"], "1 to 9");
}

#[test]
fn bad_seed_ranges_are_refused() {
    assert_bad_input(&["check", "--seeds", "9..3"], "empty");
    assert_bad_input(&["check", "--seeds", "x..y"], "not a seed range");
}

#[test]
fn unknown_bugs_and_faults_are_refused() {
    assert_bad_input(&["check", "--bug", "nonsense"], "unknown bug 'nonsense'");
    assert_bad_input(&["check", "--faults", "earthquake"], "earthquake");
}

#[test]
fn unknown_transports_are_refused() {
    assert_bad_input(&["--transport", "udp"], "not a transport");
    assert_bad_input(&["--transport", "tcp:99999"], "not a transport");
}

#[test]
fn unknown_flags_are_refused() {
    assert_bad_input(&["check", "--frobnicate"], "--frobnicate");
}

#[test]
fn a_missing_script_is_refused() {
    assert_bad_input(
        &["script", "/nonexistent/raftlab.scen"],
        "/nonexistent/raftlab.scen",
    );
}

#[test]
fn a_malformed_script_points_at_line_and_column() {
    let path = temp_file("bad.scen", "# intent\ncluster 3\nrun fast\n");
    let out = raftlab(&["script", path.to_str().unwrap()]);
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("bad.scen:3:"), "{err}");
}

#[test]
fn a_passing_script_prints_its_transcript_and_exits_zero() {
    let path = temp_file(
        "ok.scen",
        "# a write is read back\ncluster 3 seed 4\nwait leader within 3s\nput greeting hello -> ok\nget greeting -> \"hello\"\n",
    );
    let out = raftlab(&["script", path.to_str().unwrap()]);
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}{}", text(&out.stderr));
    assert!(stdout.contains("hello"), "{stdout}");
}

#[test]
fn a_failed_expectation_exits_one() {
    let path = temp_file(
        "fail.scen",
        "# expects the wrong value on purpose\ncluster 3 seed 4\nwait leader within 3s\nput x 1 -> ok\nget x -> \"2\"\n",
    );
    let out = raftlab(&["script", path.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stdout));
}

#[test]
fn a_short_check_without_bugs_passes_and_summarizes() {
    let out = raftlab(&[
        "check",
        "--seeds",
        "0..4",
        "--duration",
        "3s",
        "--ops",
        "200",
    ]);
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}{}", text(&out.stderr));
    assert!(stdout.contains("checked 4 runs"), "{stdout}");
    assert!(stdout.contains("0 violations"), "{stdout}");
}

#[test]
fn check_writes_histories_that_parse() {
    let dir = std::env::temp_dir().join(format!("raftlab-hist-{}", std::process::id()));
    let out = raftlab(&[
        "check",
        "--seeds",
        "3",
        "--duration",
        "2s",
        "--ops",
        "100",
        "--history",
        dir.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stdout));
    let file = std::fs::read_to_string(dir.join("seed-3.jsonl")).unwrap();
    let events = raftlab::kv::history::read_jsonl(file.as_bytes()).unwrap();
    assert!(events.len() > 10, "{} events", events.len());
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn the_dashboard_without_a_terminal_says_so_and_exits_two() {
    // Under `cargo test` stdout is a pipe, not a terminal.
    let out = raftlab(&["--nodes", "3"]);
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("needs a terminal"), "{err}");
    assert!(!err.contains("panicked"), "{err}");
}

#[test]
fn the_narrated_demo_is_still_reachable() {
    let out = raftlab(&["demo", "--nodes", "3", "--seed", "2"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("narrated run"));
}

#[test]
fn bad_dashboard_flags_are_refused() {
    assert_bad_input(&["--speed", "50"], "speed must be 0.1 to 10, not 50");
    // The same words as the console's `speed fast`.
    assert_bad_input(&["--speed", "fast"], "'fast' is not a speed");
}

#[test]
fn tour_without_a_name_lists_the_shipped_tours() {
    // From another directory: the tours are compiled into the binary.
    let out = Command::new(env!("CARGO_BIN_EXE_raftlab"))
        .arg("tour")
        .current_dir(std::env::temp_dir())
        .output()
        .expect("run raftlab");
    let listed = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    for name in ["election", "replication", "failover", "partition"] {
        assert!(listed.contains(name), "{name} missing from {listed}");
    }
    assert!(listed.contains("Leader election:"), "{listed}");
}

#[test]
fn bad_tours_are_refused_with_exit_two() {
    assert_bad_input(&["tour", "no-such-tour"], "no tour called \"no-such-tour\"");
    assert_bad_input(&["--script", "/nonexistent/tour.scen"], "cannot read");
    let bad = temp_file("bad_tour.scen", "# x\ncluster 3\nwait leader within fast\n");
    let bad = bad.to_string_lossy().into_owned();
    assert_bad_input(
        &["--script", &bad],
        "bad_tour.scen:3:20: expected a duration",
    );
    let none = temp_file("no_cluster.scen", "# x\nsay hello\n");
    let none = none.to_string_lossy().into_owned();
    assert_bad_input(&["--script", &none], "needs a `cluster N` statement");
    assert_bad_input(&["tour", "election", "--script", &bad], "not both");
}

/// `raftlab check --no-prevote --no-check-quorum`: the paper's Raft. Its
/// replay command keeps the switches, so the seed it prints replays the
/// same run.
#[test]
fn checks_without_the_extensions_print_a_replay_command_that_keeps_them() {
    let out = raftlab(&[
        "check",
        "--bug",
        "forget-vote",
        "--no-prevote",
        "--no-check-quorum",
        "--seeds",
        "0..20",
    ]);
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(
        stdout.contains("no PreVote, no CheckQuorum"),
        "the summary says so: {stdout}"
    );
    let replay = stdout
        .lines()
        .find_map(|l| l.strip_prefix("replay: "))
        .expect("a replay command");
    assert!(
        replay.ends_with("--bug forget-vote --no-prevote --no-check-quorum"),
        "{replay}"
    );
    let violation = stdout.lines().next().unwrap_or_default().to_string();
    let args: Vec<&str> = replay.split_whitespace().skip(1).collect();
    let again = raftlab(&args);
    assert_eq!(again.status.code(), Some(1));
    assert_eq!(
        text(&again.stdout).lines().next().unwrap_or_default(),
        violation,
        "the replay hits the same violation at the same time"
    );
}

/// Without PreVote and CheckQuorum Raft is still safe: a short check of
/// every fault passes.
#[test]
fn the_papers_raft_passes_a_short_check() {
    let out = raftlab(&[
        "check",
        "--no-prevote",
        "--no-check-quorum",
        "--seeds",
        "0..8",
        "--duration",
        "3s",
        "--ops",
        "200",
    ]);
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}{}", text(&out.stderr));
    assert!(stdout.contains("0 violations"), "{stdout}");
}

#[test]
fn the_class_and_the_new_dashboard_flags_refuse_bad_input() {
    // Under `cargo test` stdout is a pipe: the class needs a terminal.
    assert_bad_input(&["class"], "needs a terminal");
    assert_bad_input(
        &["class", "--seed", "4", "--no-prevote"],
        "needs a terminal",
    );
    assert_bad_input(&["--paused", "--latency", "10..20ms"], "needs a terminal");
    assert_bad_input(&["--latency", "5..1ms"], "below the shortest");
    assert_bad_input(&["--latency", "fast"], "10..50ms");
    assert_bad_input(&["class", "--speed", "20"], "0.1 to 10");
    assert_bad_input(&["class", "--script", "/nonexistent/x.scen"], "cannot read");
    assert_bad_input(
        &["class", "--data-dir", "d"],
        "drop --data-dir and --transport",
    );
    assert_bad_input(&["--faults", "crash"], "add --sim");
}

#[test]
fn the_new_switches_are_in_every_commands_help() {
    for cmd in [
        &["--help"][..],
        &["class", "--help"],
        &["check", "--help"],
        &["replay", "--help"],
        &["node", "--help"],
    ] {
        let out = raftlab(cmd);
        let help = text(&out.stdout);
        assert_eq!(out.status.code(), Some(0), "{cmd:?}");
        for flag in ["--no-prevote", "--no-check-quorum"] {
            assert!(help.contains(flag), "{cmd:?} lacks {flag}:\n{help}");
        }
    }
    let help = text(&raftlab(&["--help"]).stdout);
    for flag in ["--latency", "--paused", "class"] {
        assert!(help.contains(flag), "--help lacks {flag}:\n{help}");
    }
}

#[test]
fn chart_with_no_flags_prints_the_first_election_as_mermaid() {
    let out = raftlab(&["chart"]);
    let s = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(s.starts_with("sequenceDiagram\n"), "{s}");
    assert!(s.contains("participant n5"), "{s}");
    assert!(s.contains("->>") && s.contains("-->>"), "{s}");
    // The default window is the first election: a campaign and a winner.
    assert!(s.contains("PreVote t1") || s.contains("Vote t1"), "{s}");
    assert!(s.contains(" Leader t"), "{s}");
}

#[test]
fn chart_writes_an_svg_file_and_says_what_it_wrote() {
    let dir = std::env::temp_dir().join(format!("raftlab-chart-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("run.svg");
    let p = path.to_str().unwrap();
    let out = raftlab(&[
        "chart", "--seed", "3", "--faults", "none", "--types", "vote", "-o", p,
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("arrows"),
        "{}",
        text(&out.stderr)
    );
    let svg = std::fs::read_to_string(&path).unwrap();
    assert!(
        svg.starts_with("<svg xmlns=\"http://www.w3.org/2000/svg\""),
        "{svg}"
    );
    assert!(svg.contains("Vote t1") && svg.trim_end().ends_with("</svg>"));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn chart_refuses_bad_windows_filters_and_formats() {
    assert_bad_input(
        &["chart", "--from", "2s", "--to", "1s"],
        "--to must come after --from",
    );
    assert_bad_input(&["chart", "--types", "gossip"], "not a message type");
    assert_bad_input(&["chart", "--only-nodes", "12"], "1 to 9");
    assert_bad_input(&["chart", "--format", "png"], "not a chart format");
    assert_bad_input(&["chart", "--seeds", "1..5"], "pick one");
    assert_bad_input(&["chart", "-o", "x.png"], ".svg or .mmd");
}

/// A tour plays on the simulator unless `--live` asks for the live
/// cluster: flags that only the live cluster has say so, `--live` and
/// `--sim` cannot both be given, and either way without a terminal the
/// tour says it needs one.
#[test]
fn tours_play_on_the_simulator_and_live_on_request() {
    assert_bad_input(&["tour", "election"], "needs a terminal");
    assert_bad_input(&["tour", "election", "--sim"], "needs a terminal");
    assert_bad_input(&["tour", "election", "--live"], "needs a terminal");
    assert_bad_input(
        &["tour", "election", "--live", "--sim"],
        "cannot be used with",
    );
    assert_bad_input(&["tour", "election", "--data-dir", "d"], "add --live");
    assert_bad_input(&["tour", "election", "--transport", "tcp"], "add --live");
    assert_bad_input(
        &["tour", "election", "--faults", "crash"],
        "a tour's script drives",
    );
    assert_bad_input(
        &["tour", "election", "--live", "--clients", "2"],
        "drive the simulator",
    );
    assert_bad_input(&["class", "--live"], "--live is for");
    assert_bad_input(&["--sim", "--live"], "cannot be used with");
}

/// `raftlab script --latency 10..20ms` prints a tour's run as the
/// simulated dashboard plays it: at that latency the election tour's
/// leader is elected later than at the scenario tests' 0.5–2 ms, and its
/// question is printed with its answer.
#[test]
fn script_latency_rehearses_a_tour() {
    let tour =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/tours/01_election.scen");
    let tour = tour.to_string_lossy().into_owned();
    let fast = raftlab(&["script", &tour]);
    let slow = raftlab(&["script", "--latency", "10..20ms", &tour]);
    assert_eq!(fast.status.code(), Some(0), "{}", text(&fast.stdout));
    assert_eq!(slow.status.code(), Some(0), "{}", text(&slow.stdout));
    let (fast, slow) = (text(&fast.stdout), text(&slow.stdout));
    assert_ne!(fast, slow);
    assert!(
        slow.contains("? How many votes must the candidate collect to lead?"),
        "{slow}"
    );
    assert!(
        slow.contains("— the answer is 2) 3: a majority of the 5. "),
        "{slow}"
    );
    assert_bad_input(&["script", "--latency", "fast", &tour], "10..50ms");
}
