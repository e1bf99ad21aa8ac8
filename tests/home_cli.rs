//! Taking the class home, from the command line: `raftlab chart` and
//! `raftlab page` at the dashboards' `--latency`, and (below) recorded
//! sessions run headless. The real binary, its exit codes and output.

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

/// A fresh directory for one test's files.
fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("raftlab-home-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
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

/// The delays the Mermaid text shows on its arrows (`(delayed
/// 12.3ms)`), in µs.
fn arrow_delays(mermaid: &str) -> Vec<u64> {
    mermaid
        .lines()
        .filter(|l| l.contains("->>"))
        .filter_map(|l| {
            let open = l.rfind("(delayed ")?;
            let ms = l[open + "(delayed ".len()..].strip_suffix("ms)")?;
            Some((ms.parse::<f64>().ok()? * 1000.0).round() as u64)
        })
        .collect()
}

#[test]
fn chart_takes_the_dashboards_latency() {
    let out = raftlab(&[
        "chart",
        "--seed",
        "1",
        "--types",
        "vote",
        "--latency",
        "10..20ms",
    ]);
    let s = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(s.contains("links 10..20ms"), "the title names it: {s}");
    let delays = arrow_delays(&s);
    let arrows = s.lines().filter(|l| l.contains("->>")).count();
    assert!(arrows >= 8 && delays.len() == arrows, "{s}");
    assert!(
        delays.iter().all(|d| (10_000..=20_000).contains(d)),
        "{delays:?}\n{s}"
    );
    // Without the flag, the check's fast links: no arrow is held that long.
    let fast = text(&raftlab(&["chart", "--seed", "1", "--types", "vote"]).stdout);
    assert!(!fast.contains("links "), "{fast}");
    assert!(arrow_delays(&fast).iter().all(|&d| d < 10_000), "{fast}");
}

#[test]
fn page_takes_the_dashboards_latency() {
    let dir = temp_dir("page-latency");
    let file = dir.join("run.html");
    let out = raftlab(&[
        "page",
        "--seed",
        "2",
        "--faults",
        "none",
        "--latency",
        "10..20ms",
        "--to",
        "1s",
        "-o",
        file.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let html = std::fs::read_to_string(&file).unwrap();
    assert!(html.contains("links 10..20ms"), "the title names it");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_bad_latency_is_refused_in_words() {
    assert_bad_input(&["chart", "--latency", "fast"], "not a delay");
    assert_bad_input(&["page", "--latency", "20..10ms"], "below the shortest");
}
