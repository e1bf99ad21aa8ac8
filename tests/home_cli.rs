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

/// A saved session written by hand (as `save` writes one) runs headless,
/// prints its trace hash, and says whether it is still the saved run.
#[test]
fn script_runs_a_saved_session_to_its_trace_hash() {
    let dir = temp_dir("saved");
    let file = dir.join("lesson.scen");
    let lesson = "# A lesson.\ncluster 3 seed 2\nsession latency 10..20ms\nat 0.6s: put x 1\nat 0.8s: kill 1\nat 1.5s: get x stale on 2\nat 2s: end";
    std::fs::write(&file, format!("{lesson}\n")).unwrap();
    let path = file.to_str().unwrap();
    let out = raftlab(&["script", path]);
    let s = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{s}{}", text(&out.stderr));
    assert!(s.starts_with("# A lesson.\n"), "{s}");
    assert!(s.contains("0.6s  put x 1"), "{s}");
    assert!(s.contains("1.5s  get x stale on 2"), "{s}");
    let verdict = s.lines().last().unwrap();
    assert!(verdict.starts_with("PASS "), "{s}");
    assert!(
        verdict.contains("3 inputs replayed to 2s, trace "),
        "{verdict}"
    );
    let hash = verdict.rsplit("trace ").next().unwrap().to_string();
    assert_eq!(hash.len(), 16, "{verdict}");
    // The same again: the same run.
    assert_eq!(text(&raftlab(&["script", path]).stdout), s);
    // `--latency` cannot change a saved session's run: the same run, and a
    // line that says the flag was ignored rather than silence.
    let other = raftlab(&["script", "--latency", "1..2ms", path]);
    assert_eq!(text(&other.stdout), s);
    let err = text(&other.stderr);
    assert!(
        err.contains("lesson.scen is a saved session") && err.contains("--latency is ignored"),
        "{err}"
    );
    assert!(
        text(&raftlab(&["script", path]).stderr).is_empty(),
        "no note without the flag"
    );
    // With the hash on its end line, the file promises that run.
    std::fs::write(&file, format!("{lesson} trace {hash}\n")).unwrap();
    let same = text(&raftlab(&["script", "--quiet", path]).stdout);
    assert!(same.trim_end().ends_with("the saved session's"), "{same}");
    // Another input makes another run, and the promise fails.
    let edited = lesson.replace("kill 1", "kill 2");
    std::fs::write(&file, format!("{edited} trace {hash}\n")).unwrap();
    let out = raftlab(&["script", path]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stdout).contains("not the same run"),
        "{}",
        text(&out.stdout)
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_malformed_saved_session_is_refused_where_it_is_wrong() {
    let dir = temp_dir("bad-saved");
    for (body, needle) in [
        ("at 1s: speed 2", "bad.scen:2:8: `speed 2` is not an input"),
        ("at 1s: kill 9 now", "bad.scen:2:8: kill: wrong arguments"),
        (
            "at 2s: kill 1\nat 1s: kill 2",
            "bad.scen:3:4: inputs go forward in time",
        ),
        ("at 1s kill 1", "bad.scen:2:7: expected `:`"),
        ("at 1s: kill 1\nwait leader", "not `wait leader`"),
    ] {
        let file = dir.join("bad.scen");
        std::fs::write(&file, format!("cluster 3 seed 1\n{body}\n")).unwrap();
        let out = raftlab(&["script", file.to_str().unwrap()]);
        let err = text(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{body}: {err}");
        assert!(err.contains(needle), "{body}: {err}");
        assert!(!err.contains("panicked"), "{err}");
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_tours_page_carries_its_captions_and_bad_tours_are_refused() {
    let dir = temp_dir("page-tour");
    let file = dir.join("election.html");
    let out = raftlab(&[
        "page",
        "--tour",
        "election",
        "--latency",
        "10..20ms",
        "-o",
        file.to_str().unwrap(),
    ]);
    let err = text(&out.stderr);
    assert!(out.status.success(), "{err}");
    assert!(err.contains("5 captions"), "{err}");
    let html = std::fs::read_to_string(&file).unwrap();
    assert!(
        html.contains("The votes travel back"),
        "no caption on the page"
    );
    assert!(html.contains("tour election, links 10..20ms"));
    assert_bad_input(&["page", "--tour", "nosuch"], "no tour called");
    assert_bad_input(
        &[
            "page",
            "--script",
            dir.join("missing.scen").to_str().unwrap(),
        ],
        "cannot read",
    );
    assert_bad_input(
        &["page", "--tour", "election", "--seed", "3"],
        "cannot be used",
    );
    std::fs::remove_dir_all(&dir).unwrap();
}
