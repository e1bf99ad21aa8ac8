//! `raftlab replay` and `raftlab --sim` as a user meets them without a
//! terminal: bad input exits 2 with a message, and the command a failing
//! `raftlab check` prints to watch its run is accepted as it stands.

use std::process::{Command, Output};

fn raftlab(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_raftlab"))
        .args(args)
        .output()
        .expect("run raftlab")
}

fn assert_refused(args: &[&str], needle: &str) {
    let out = raftlab(args);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
    assert!(
        err.contains(needle),
        "{args:?}: expected {needle:?} in {err:?}"
    );
    assert!(!err.contains("panicked"), "{args:?} panicked: {err}");
}

#[test]
fn replay_shows_exactly_one_seed() {
    assert_refused(&["replay", "--seeds", "3..7"], "holds 4 seeds");
    assert_refused(&["replay"], "give its seed");
    assert_refused(&["replay", "--seeds", "7..3"], "empty");
    assert_refused(
        &["replay", "--seed", "1", "--seeds", "1"],
        "cannot be used with",
    );
}

#[test]
fn replay_refuses_what_check_refuses() {
    assert_refused(
        &["replay", "--seed", "1", "--bug", "nonsense"],
        "unknown bug 'nonsense'",
    );
    assert_refused(
        &["replay", "--seed", "1", "--faults", "earthquake"],
        "earthquake",
    );
    assert_refused(&["replay", "--seed", "1", "--nodes", "12"], "1 to 9");
    assert_refused(&["replay", "--seed", "1", "--speed", "50"], "speed");
}

#[test]
fn the_dashboard_needs_a_terminal_in_simulated_mode_too() {
    assert_refused(&["replay", "--seed", "1"], "needs a terminal");
    assert_refused(&["--sim", "--seed", "7"], "needs a terminal");
}

#[test]
fn sim_flags_need_sim_and_a_simulator() {
    assert_refused(&["--faults", "all"], "--sim");
    assert_refused(
        &["--sim", "--transport", "tcp"],
        "drop --data-dir and --transport",
    );
    assert_refused(&["--sim", "--faults", "earthquake"], "earthquake");
    assert_refused(
        &["--sim", "--clients", "3", "--ops", "0"],
        "--ops must be at least 1",
    );
}

#[test]
fn a_failing_check_prints_a_replay_command_that_works() {
    let out = raftlab(&[
        "check",
        "--bug",
        "forget-vote",
        "--seeds",
        "1",
        "--jobs",
        "1",
    ]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    let watch = stdout
        .lines()
        .find_map(|l| l.strip_prefix("watch it: raftlab "))
        .unwrap_or_else(|| panic!("no replay command in\n{stdout}"));
    let check = stdout
        .lines()
        .find_map(|l| l.strip_prefix("replay: raftlab check "))
        .unwrap_or_else(|| panic!("no check command in\n{stdout}"));
    // The same flags, with check replaced by replay.
    assert_eq!(watch, format!("replay {check}"));
    // Every flag is accepted: without a terminal, only the terminal is missing.
    let args: Vec<&str> = watch.split_whitespace().collect();
    assert_refused(&args, "needs a terminal");
}
