//! Taking the class home, end to end: the real binary in a real (tmux)
//! terminal. A simulated lesson is recorded with `--record`, charted with
//! the console's `chart`, saved with `save`; the saved file runs headless
//! with the session's trace hash and plays again over the dashboard; the
//! cast is asciicast v2 and `asciinema play` (Debian's asciinema, which
//! `.ci/run` installs) puts the dashboard's last screen back on a terminal,
//! character for character. A guided tour's cast has a marker per step.
//! Skipped, saying so, where tmux is not installed.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

#[path = "common/tmux.rs"]
mod tmux;

use serde_json::Value;
use tmux::{Tmux, leader, tmux_missing};

const LONG: Duration = Duration::from_secs(30);

/// A fresh directory for one test's files.
fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("raftlab-home-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// The cast's lines, each parsed as JSON.
fn cast_lines(path: &Path) -> Vec<Value> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{l}: {e}")))
        .collect()
}

/// Checks the cast's header and events against asciicast v2; returns the
/// markers' labels.
fn check_cast(path: &Path, width: u64, height: u64) -> Vec<String> {
    let lines = cast_lines(path);
    let head = &lines[0];
    assert_eq!(head["version"], 2);
    assert_eq!(head["width"].as_u64(), Some(width));
    assert_eq!(head["height"].as_u64(), Some(height));
    assert!(
        head["timestamp"]
            .as_u64()
            .is_some_and(|t| t > 1_600_000_000)
    );
    assert!(head["title"].as_str().unwrap().starts_with("raftlab "));
    assert!(head["env"]["TERM"].as_str().is_some());
    assert!(head["idle_time_limit"].as_f64().is_some());
    let mut last = 0.0;
    let mut markers = Vec::new();
    for event in &lines[1..] {
        let e = event.as_array().expect("an event is [time, code, data]");
        assert_eq!(e.len(), 3, "{event}");
        let t = e[0].as_f64().expect("a time in seconds");
        assert!(t >= last, "time goes forward: {event}");
        last = t;
        let data = e[2].as_str().expect("data is text");
        match e[1].as_str() {
            Some("o") => {}
            Some("r") => assert!(data.split_once('x').is_some(), "{event}"),
            Some("m") => markers.push(data.to_string()),
            other => panic!("unknown event code {other:?}"),
        }
    }
    markers
}

/// Fails, saying how to get it, where `asciinema` is not installed
/// (`.ci/run` installs it).
fn need_asciinema() {
    let found = Command::new("asciinema").arg("--version").output();
    assert!(
        found.is_ok_and(|o| o.status.success()),
        "the cast's test needs Debian's asciinema (apt-get install asciinema; .ci/run installs it)"
    );
}

/// The rows of a screen, trailing blanks trimmed.
fn rows(screen: &str) -> Vec<String> {
    screen.lines().map(|l| l.trim_end().to_string()).collect()
}

#[test]
fn a_lesson_recorded_charted_saved_and_played_back() {
    if tmux_missing() {
        eprintln!("SKIPPED a_lesson_recorded_charted_saved_and_played_back: tmux is not installed");
        return;
    }
    need_asciinema();
    let dir = temp_dir("lesson");
    let (cast, chart, lesson) = (dir.join("l.cast"), dir.join("v.svg"), dir.join("l.scen"));
    let bin = env!("CARGO_BIN_EXE_raftlab");
    let command = format!(
        "cd {}; {bin} --sim --seed 3 --speed 3 --record l.cast; echo RAFTLAB-EXIT=$?; sleep 60",
        dir.display()
    );
    let tmux = Tmux::start(120, 40, &command);
    tmux.wait("a leader on screen", LONG, leader);
    tmux.keys(&[":"]);
    tmux.type_line("put x 1");
    tmux.wait("put answered OK", LONG, |s| {
        s.contains("│  OK ").then_some(())
    });
    tmux.type_line("kill leader");
    tmux.wait("the kill answered", LONG, |s| {
        s.contains("killed n").then_some(())
    });
    tmux.type_line("msgs vote");
    tmux.type_line("chart v.svg");
    tmux.wait("the chart written", LONG, |s| {
        s.contains("wrote v.svg: ").then_some(())
    });
    tmux.type_line("pause");
    tmux.wait("paused", LONG, |s| s.contains("PAUSED").then_some(()));
    tmux.type_line("save l.scen");
    let saved = tmux.wait("the session saved", LONG, |s| {
        s.lines()
            .find(|l| l.contains("saved l.scen: 2 inputs to "))
            .map(str::to_string)
    });
    tmux.escape();
    // The last screen, still: the cast must end on it.
    std::thread::sleep(Duration::from_millis(500));
    let last = tmux.screen();
    tmux.keys(&["q"]);
    let after = tmux.wait("raftlab to exit", LONG, |s| {
        s.contains("RAFTLAB-EXIT=").then(|| s.to_string())
    });
    assert!(after.contains("RAFTLAB-EXIT=0"), "{after}");
    assert!(after.contains("raftlab: recorded l.cast"), "{after}");

    // The chart: an SVG of the votes the list held.
    let svg = std::fs::read_to_string(&chart).unwrap();
    assert!(svg.starts_with("<svg ") && svg.contains("Vote t"), "{svg}");
    assert!(!svg.contains("Append t"), "the list's filter was msgs vote");

    // The saved session: headless, the session's trace hash.
    let text = std::fs::read_to_string(&lesson).unwrap();
    assert!(
        text.contains("\ncluster 5 seed 3\nsession latency 10..20ms "),
        "{text}"
    );
    assert!(
        text.contains(": put x 1\n") && text.contains(": kill "),
        "{text}"
    );
    let hash = text
        .lines()
        .last()
        .and_then(|l| l.split(" trace ").nth(1))
        .unwrap_or_else(|| panic!("no trace on the end line: {text}"))
        .to_string();
    assert!(saved.contains(&format!("trace {hash}")), "{saved}");
    let out = Command::new(bin)
        .args(["script", lesson.to_str().unwrap()])
        .output()
        .unwrap();
    let shown = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{shown}");
    assert!(
        shown.contains(&format!("trace {hash}, the saved session's")),
        "{shown}"
    );

    // The cast: asciicast v2, and it plays. (asciinema reads keys from
    // /dev/tty: it runs in a terminal too.)
    check_cast(&cast, 120, 40);
    let player = Tmux::start(
        120,
        40,
        &format!(
            "cd {}; asciinema cat l.cast >cat.out 2>cat.err; echo $? >cat.rc; \
             asciinema play -s 20 -i 0.05 l.cast 2>play.err || echo PLAY-FAILED; sleep 60",
            dir.display()
        ),
    );
    let want = rows(&last);
    player.wait(
        "the player to end on the dashboard's last screen",
        LONG,
        |s| {
            let failed = std::fs::read_to_string(dir.join("play.err")).unwrap_or_default();
            assert!(
                !s.contains("PLAY-FAILED"),
                "asciinema play failed: {failed}\n{s}"
            );
            (rows(s) == want).then_some(())
        },
    );
    // `asciinema cat` writes the output events, byte for byte.
    let rc = std::fs::read_to_string(dir.join("cat.rc")).unwrap();
    let err = std::fs::read_to_string(dir.join("cat.err")).unwrap();
    assert_eq!(rc.trim(), "0", "asciinema cat: {err}");
    let output: String = cast_lines(&cast)[1..]
        .iter()
        .filter(|e| e[1] == "o")
        .map(|e| e[2].as_str().unwrap().to_string())
        .collect();
    assert_eq!(
        std::fs::read_to_string(dir.join("cat.out")).unwrap(),
        output
    );

    // The saved session plays over the dashboard, paused at time 0.
    let replay = Tmux::start(
        120,
        40,
        &format!("cd {}; {bin} --script l.scen; sleep 60", dir.display()),
    );
    replay.wait("the session loaded", LONG, |s| {
        (s.contains("playing 2 recorded inputs from l.scen") && s.contains("PAUSED")).then_some(())
    });
    replay.keys(&["+", "+", "+", " "]);
    replay.wait("the kill replayed", LONG, |s| {
        s.contains("replayed: killed n").then_some(())
    });
    replay.keys(&["q"]);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_tours_cast_marks_each_step() {
    if tmux_missing() {
        eprintln!("SKIPPED a_tours_cast_marks_each_step: tmux is not installed");
        return;
    }
    let dir = temp_dir("tour");
    let cast = dir.join("election.cast");
    let bin = env!("CARGO_BIN_EXE_raftlab");
    let command = format!(
        "{bin} tour election --speed 5 --record {}; echo RAFTLAB-EXIT=$?; sleep 60",
        cast.display()
    );
    let tmux = Tmux::start(100, 30, &command);
    tmux.wait("the tour's first step", LONG, |s| {
        s.contains("step 1/").then_some(())
    });
    // The tour's third step asks a question (its title then reads `step 3
    // 1-3 answer`), so the cast is looked at over its first three steps.
    for step in 1..=2 {
        tmux.keys(&["Enter"]);
        let next = format!("step {}", step + 1);
        tmux.wait(&next, LONG, |s| s.contains(&next).then_some(()));
    }
    tmux.keys(&["q"]);
    tmux.wait("raftlab to exit", LONG, |s| {
        s.contains("RAFTLAB-EXIT=0").then_some(())
    });
    let markers = check_cast(&cast, 100, 30);
    assert!(markers.len() >= 3, "{markers:?}");
    for (i, m) in markers.iter().take(3).enumerate() {
        assert!(m.starts_with(&format!("step {}/", i + 1)), "{markers:?}");
    }
    std::fs::remove_dir_all(&dir).unwrap();
}
