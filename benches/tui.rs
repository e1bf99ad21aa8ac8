//! Render time of one dashboard frame: 9 nodes with 500 log entries each.
//!
//! `cargo bench --bench tui` draws the full dashboard on ratatui's
//! `TestBackend` (the same `draw` the terminal uses; only the escape codes
//! to a real terminal are left out) at 120×40 and 200×50 and prints the
//! mean time per frame.

use std::sync::Arc;
use std::time::{Duration, Instant};

use raftlab::raft::{Progress, Role};
use raftlab::runtime::{ClusterView, LinkView, LogEntryView, NodeState, NodeView, ViewEvent};
use raftlab::tui::{Action, App, Driver, Options, Request, draw};
use ratatui::Terminal;
use ratatui::backend::TestBackend;

struct Nothing;

impl Driver for Nothing {
    fn submit(&mut self, _: u64, _: Request) {}
}

fn view(nodes: u64, entries: u64) -> ClusterView {
    let log: Arc<[LogEntryView]> = (1..=entries)
        .map(|i| LogEntryView {
            index: i,
            term: 1 + i / 50,
            text: format!("put key{i}=value{i}"),
        })
        .collect();
    let last_term = 1 + entries / 50;
    let nodes: Vec<Arc<NodeView>> = (1..=nodes)
        .map(|id| {
            Arc::new(NodeView {
                id,
                state: NodeState::Up,
                role: if id == 1 {
                    Role::Leader
                } else {
                    Role::Follower
                },
                term: last_term,
                vote: Some(1),
                leader: Some(1),
                commit: entries - 2,
                applied: entries - 2,
                last_index: entries,
                last_term,
                snapshot_index: 0,
                election_elapsed: id,
                election_timeout: 20,
                log: log.clone(),
                sent: 1000,
                received: 1000,
                membership: Default::default(),
                membership_pending: false,
                votes: None,
                progress: if id == 1 {
                    (2..=nodes)
                        .map(|f| {
                            let p = Progress {
                                match_index: entries - f,
                                next_index: entries + 1,
                            };
                            (f, p)
                        })
                        .collect()
                } else {
                    Vec::new()
                },
                refusals: Vec::new(),
            })
        })
        .collect();
    let mut links = Vec::new();
    for from in 1..=nodes.len() as u64 {
        for to in 1..=nodes.len() as u64 {
            if from != to {
                links.push(LinkView {
                    from,
                    to,
                    up: true,
                    loss: 0.0,
                    delay_min_us: 500,
                    delay_max_us: 2000,
                    duplicate: 0.0,
                    in_flight: 1,
                    delivered: 100,
                    dropped: 0,
                });
            }
        }
    }
    ClusterView {
        version: 1,
        at_us: 0,
        tick: 1000,
        clock_paused: false,
        speed: 1.0,
        tick_wall: Duration::from_millis(50),
        groups: vec![nodes.iter().map(|n| n.id).collect()],
        nodes,
        links,
        events: (0..256)
            .map(|i| ViewEvent {
                at_us: i * 1000,
                tick: i,
                node: Some(1 + i % 9),
                text: format!("event number {i}"),
                count: 1,
            })
            .collect(),
        teaching: Default::default(),
    }
}

fn main() {
    for (w, h) in [(120u16, 40u16), (200, 50)] {
        let mut app = App::new(
            Arc::new(view(9, 500)),
            Box::new(Nothing),
            Options::default(),
        );
        app.update(Action::Resize(w, h));
        // The test backend cannot fail.
        let Ok(mut terminal) = Terminal::new(TestBackend::new(w, h));
        let frames = 2000u32;
        let mut best = Duration::MAX;
        for _ in 0..3 {
            let start = Instant::now();
            for i in 0..frames {
                // Alternate scroll so every frame differs from the last.
                app.log_scroll = u64::from(i % 2);
                if terminal.draw(|f| draw(&app, f)).is_err() {
                    eprintln!("draw failed");
                    std::process::exit(1);
                }
            }
            best = best.min(start.elapsed());
        }
        let per = best / frames;
        // The same loop drawing only a clear screen: the cost of ratatui's
        // buffer swap and diff and of the test backend, not of our panes.
        let start = Instant::now();
        for i in 0..frames {
            let fill = if i % 2 == 0 { "a" } else { "b" };
            let _ = terminal.draw(|f| {
                let area = f.area();
                f.buffer_mut()
                    .set_string(0, 0, fill, ratatui::style::Style::new());
                let _ = area;
            });
        }
        let base = start.elapsed() / frames;
        println!(
            "render {w}x{h}, 9 nodes x 500 entries: {:.1} µs per frame ({:.1} µs of it ratatui's diff and the test backend)",
            per.as_secs_f64() * 1e6,
            base.as_secs_f64() * 1e6
        );
        // The same frames with the "why?" answer open on the log cursor's
        // entry: it is computed from the view on every frame.
        app.focus = raftlab::tui::Focus::Log;
        app.why = true;
        let mut best = Duration::MAX;
        for _ in 0..3 {
            let start = Instant::now();
            for i in 0..frames {
                app.log_scroll = u64::from(i % 2);
                let _ = terminal.draw(|f| draw(&app, f));
            }
            best = best.min(start.elapsed());
        }
        println!(
            "render {w}x{h} with the why? answer open: {:.1} µs per frame",
            (best / frames).as_secs_f64() * 1e6
        );
    }
}
