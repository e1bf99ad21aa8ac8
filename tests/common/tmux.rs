//! A tmux server of our own for end-to-end tests of the dashboard: start
//! the binary in a detached session of a given size, send keys, read the
//! screen, wait for something to appear, read the status bar and the
//! leader it names. Shared by the `tui_*e2e.rs` tests; a server per
//! session, so tests run in parallel.

#![allow(dead_code)]

use std::process::{Command, Output};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// A tmux server with one detached session `e2e`; killed on drop.
pub struct Tmux {
    socket: String,
}

impl Tmux {
    fn run(&self, args: &[&str]) -> Output {
        Command::new("tmux")
            .arg("-L")
            .arg(&self.socket)
            .args(args)
            .output()
            .expect("run tmux")
    }

    /// Starts `command` in a `width`×`height` terminal, on a tmux server
    /// of its own.
    pub fn start(width: u16, height: u16, command: &str) -> Tmux {
        static SESSIONS: AtomicUsize = AtomicUsize::new(0);
        let n = SESSIONS.fetch_add(1, Ordering::Relaxed);
        let tmux = Tmux {
            socket: format!("raftlab-e2e-{}-{n}", std::process::id()),
        };
        let (w, h) = (width.to_string(), height.to_string());
        let out = tmux.run(&[
            "-f",
            "/dev/null",
            "new-session",
            "-d",
            "-s",
            "e2e",
            "-x",
            &w,
            "-y",
            &h,
            command,
        ]);
        assert!(
            out.status.success(),
            "tmux: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        tmux
    }

    /// The screen as text.
    pub fn screen(&self) -> String {
        String::from_utf8_lossy(&self.run(&["capture-pane", "-p", "-t", "e2e"]).stdout).into_owned()
    }

    /// Sends keys (tmux key names).
    pub fn keys(&self, keys: &[&str]) {
        let mut args = vec!["send-keys", "-t", "e2e"];
        args.extend(keys);
        self.run(&args);
    }

    /// Esc alone: a key sent right after it would read as Alt+key.
    pub fn escape(&self) {
        self.keys(&["Escape"]);
        std::thread::sleep(Duration::from_millis(300));
    }

    /// Types `text` literally, then Enter.
    pub fn type_line(&self, text: &str) {
        self.run(&["send-keys", "-t", "e2e", "-l", text]);
        self.keys(&["Enter"]);
    }

    /// What tmux says of the session, in its `display-message` format.
    pub fn display(&self, format: &str) -> String {
        let out = self.run(&["display-message", "-p", "-t", "e2e", format]);
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    }

    /// Waits until `found` returns something for the screen, or panics
    /// with the last screen.
    pub fn wait<T>(&self, what: &str, timeout: Duration, found: impl Fn(&str) -> Option<T>) -> T {
        let deadline = Instant::now() + timeout;
        loop {
            let screen = self.screen();
            if let Some(t) = found(&screen) {
                return t;
            }
            assert!(
                Instant::now() < deadline,
                "timed out waiting for {what}; screen:\n{screen}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Tmux {
    /// On a dashboard that shows a cluster: starts time when it waits for
    /// space (`paused`), waits for a leader and selects it (the log pane's
    /// footer then lists its entries), cuts it off with one follower and
    /// sends it `put y 2 on` it from the console. Returns the leader and
    /// the follower on its side; the console keeps the focus.
    pub fn write_to_a_cut_off_leader(&self, paused: bool, long: Duration) -> (u64, u64) {
        if paused {
            self.wait("the pause hint", long, |s| {
                s.contains("press space to start time").then_some(())
            });
            self.keys(&["Space"]);
        }
        let l = self.wait("a leader", long, leader);
        let other = if l == 1 { 2 } else { 1 };
        self.keys(&[&l.to_string()]);
        self.keys(&[":"]);
        self.type_line(&format!("partition {l} {other}"));
        self.wait("the partition", long, |s| {
            s.contains("partitioned").then_some(())
        });
        self.type_line(&format!("put y 2 on {l}"));
        (l, other)
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = self.run(&["kill-server"]);
    }
}

/// Whether tmux is missing (the tests then say they skip).
pub fn tmux_missing() -> bool {
    Command::new("tmux")
        .arg("-V")
        .output()
        .map_or(true, |o| !o.status.success())
}

/// The status bar: the last line that shows the cluster time.
pub fn status(screen: &str) -> &str {
    screen
        .lines()
        .rev()
        .find(|l| l.contains(" t="))
        .unwrap_or("")
}

/// The leader the status bar names (`leader n3`), if any.
pub fn leader(screen: &str) -> Option<u64> {
    let bar = status(screen);
    let at = bar.find(" leader n")? + " leader n".len();
    bar[at..].chars().next()?.to_digit(10).map(u64::from)
}

/// The node cards: the screen above the log pane.
pub fn cards(screen: &str) -> String {
    screen
        .lines()
        .take_while(|l| !l.contains("Log"))
        .collect::<Vec<_>>()
        .join("\n")
}
