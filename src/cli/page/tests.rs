//! The page's timeline against the simulator, the HTML's self-containment,
//! and the page itself in a real headless browser (Debian's `chromium`,
//! which `.ci/run` installs): opened at two moments, it must show what the
//! simulator held then.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use super::*;
use crate::cli::check::Plan;
use crate::sim::Sim;

fn plan(faults: &str) -> Plan {
    Plan::for_tests(faults)
}

/// The state a timeline says node `id` was in at `t` (the last record at
/// or before it), as the page finds it.
fn state_at(timeline: &Timeline, id: NodeId, t: u64) -> &StateRecord {
    let recs = &timeline.states[&id];
    recs.iter().rev().find(|r| r.t <= t).unwrap()
}

/// The lines the simulator itself gives for every node after `t` µs.
fn sim_lines(p: &Plan, seed: u64, t: u64) -> Vec<String> {
    let mut sim = Sim::new(p.options(seed)).unwrap();
    let _ = sim.run_for(t);
    sim.node_ids()
        .into_iter()
        .map(|id| match sim.status(id) {
            Some(s) => {
                let vote = s.vote.map_or("-".to_string(), |v| format!("n{v}"));
                format!(
                    "n{id} {} t{} vote {vote} commit {}",
                    s.role.name(),
                    s.term,
                    s.commit
                )
            }
            None => format!("n{id} down t{}", sim.durable(id).unwrap().hard_state.term),
        })
        .collect()
}

/// The line the page shows for a node (page.html's `stateLine`).
fn state_line(id: NodeId, s: &StateRecord) -> String {
    if s.role == "down" {
        return format!("n{id} down t{}", s.term);
    }
    let vote = s.vote.map_or("-".to_string(), |v| format!("n{v}"));
    format!(
        "n{id} {} t{} vote {vote} commit {}",
        s.role, s.term, s.commit
    )
}

fn page_lines(timeline: &Timeline, t: u64) -> Vec<String> {
    timeline
        .nodes
        .iter()
        .map(|&id| state_line(id, state_at(timeline, id, t)))
        .collect()
}

#[test]
fn the_timeline_holds_what_the_simulator_held_at_every_moment_asked() {
    let p = plan("crash,partition,loss");
    let timeline = record(&p.options(5), "t", 3_000_000).unwrap();
    assert_eq!(timeline.nodes, vec![1, 2, 3, 4, 5]);
    for id in 1..=5 {
        assert_eq!(timeline.states[&id][0].t, 0, "every node starts at 0");
    }
    for t in [0, 170_000, 450_000, 1_234_567, 2_000_000, 2_999_999] {
        assert_eq!(page_lines(&timeline, t), sim_lines(&p, 5, t), "at {t} µs");
    }
    assert!(timeline.events.iter().any(|e| e.text.contains("Leader")));
    assert!(
        timeline.events.iter().any(|e| e.node.is_none()),
        "no fault recorded"
    );
    assert!(
        timeline.messages.iter().any(|m| m.at.is_none()),
        "no drop recorded"
    );
    assert!(timeline.messages.windows(2).all(|w| w[0].t <= w[1].t));
}

#[test]
fn the_log_records_rebuild_each_nodes_log() {
    let p = plan("crash,partition");
    let end = 3_000_000;
    let timeline = record(&p.options(8), "t", end).unwrap();
    let mut sim = Sim::new(p.options(8)).unwrap();
    let _ = sim.run_for(end);
    for id in sim.node_ids() {
        // Replay the records as the page does.
        let mut log: Vec<Option<u64>> = Vec::new();
        for r in timeline.logs.get(&id).into_iter().flatten() {
            log.resize((r.from - 1) as usize, None);
            log.extend(r.terms.iter().map(|&t| Some(t)));
        }
        let entries = sim.log(id).unwrap();
        assert_eq!(
            log.len() as u64,
            entries.last().map_or(0, |e| e.index),
            "n{id}"
        );
        for e in entries {
            assert_eq!(
                log[(e.index - 1) as usize],
                Some(e.term),
                "n{id} index {}",
                e.index
            );
        }
    }
}

#[test]
fn the_page_is_one_self_contained_file() {
    let timeline = record(&plan("all").options(2), "t", 1_000_000).unwrap();
    let mut t = timeline.clone();
    t.title = "</script><script>alert(1)</script> & more".into();
    let html = render(&t).unwrap();
    assert!(html.starts_with("<!doctype html>"));
    // Nothing is fetched: no external scripts, styles, images or links.
    for needle in [
        "<script src",
        "<link",
        "<img",
        "href=",
        "src=",
        "@import",
        "url(",
    ] {
        assert!(
            !html.contains(needle),
            "the page refers outside itself: {needle}"
        );
    }
    // The title cannot end the data's script element.
    assert_eq!(
        html.matches("</script>").count(),
        2,
        "a title broke out of its element"
    );
    assert!(html.contains("&lt;/script&gt;"));
    let start = html.find(r#"type="application/json">"#).unwrap() + 24;
    let end = start + html[start..].find("</script>").unwrap();
    let data: serde_json::Value = serde_json::from_str(&html[start..end]).unwrap();
    assert_eq!(data["end"], 1_000_000);
    assert_eq!(data["title"], t.title.as_str());
}

/// Opens `file` at `t` µs in headless Chromium and returns the DOM after
/// the page's script ran; bounded in time.
fn browser_dom(file: &std::path::Path, t: u64) -> String {
    let url = format!("file://{}#t={t}", file.display());
    let dump = file.with_extension(format!("dom-{t}"));
    let mut child = Command::new("chromium")
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--no-first-run",
        ])
        .arg(format!(
            "--user-data-dir={}",
            file.with_extension(format!("profile-{t}")).display()
        ))
        .args(["--virtual-time-budget=2000", "--dump-dom", &url])
        // A file, not a pipe: the DOM is larger than a pipe holds, and
        // chromium would block writing it while this waits for its exit.
        .stdout(std::fs::File::create(&dump).unwrap())
        .stderr(Stdio::null())
        .spawn()
        .expect("run chromium: the page's browser test needs Debian's chromium (apt-get install chromium; .ci/run installs it)");
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if child.try_wait().unwrap().is_some() {
            break;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("chromium did not finish within 60 s");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    std::fs::read_to_string(&dump).unwrap()
}

/// The text of the element `<tag id="id" …>…</tag>` in `dom`.
fn element_text(dom: &str, tag: &str, id: &str) -> String {
    let open = format!("<{tag} id=\"{id}\"");
    let at = dom
        .find(&open)
        .unwrap_or_else(|| panic!("no #{id} in {dom}"));
    let body = &dom[at..];
    let start = body.find('>').unwrap() + 1;
    let end = body.find(&format!("</{tag}>")).unwrap();
    body[start..end]
        .replace("&gt;", ">")
        .replace("&lt;", "<")
        .replace("&amp;", "&")
}

#[test]
fn the_page_in_a_real_browser_shows_the_simulators_state_where_the_scrubber_is() {
    let p = plan("crash,partition");
    let seed = 5;
    let timeline = record(&p.options(seed), "t", 2_000_000).unwrap();
    let html = render(&timeline).unwrap();
    let dir = std::env::temp_dir().join(format!("raftlab-page-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("run.html");
    std::fs::write(&file, html).unwrap();
    // Two moments: during the first election, and later with a leader.
    let first = timeline
        .events
        .iter()
        .find(|e| e.text.contains("Candidate"))
        .map(|e| e.t)
        .unwrap();
    for t in [first, 1_500_000] {
        let dom = browser_dom(&file, t);
        let shown = element_text(&dom, "pre", "state");
        let want = sim_lines(&p, seed, t).join("\n");
        assert_eq!(shown, want, "the page at {t} µs");
        assert_eq!(
            element_text(&dom, "span", "clock"),
            format!("{:.1}ms", t as f64 / 1000.0)
        );
        assert!(dom.contains("messages over 2000.0ms"), "{dom}");
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

/// `--latency`: the page shows messages taking the dashboards' 10–20 ms.
#[test]
fn a_page_at_the_dashboards_latency_has_its_messages_take_that_long() {
    let mut opts = plan("none").options(3);
    opts.latency_us = crate::tui::VISIBLE_LATENCY_US;
    let timeline = record(&opts, "t", 1_000_000).unwrap();
    let took: Vec<u64> = timeline
        .messages
        .iter()
        .filter_map(|m| m.at.map(|at| at - m.t))
        .collect();
    assert!(took.len() > 100);
    assert!(
        took.iter().all(|d| (10_000..=20_000).contains(d)),
        "{took:?}"
    );
    assert!(timeline.events.iter().any(|e| e.text.contains("Leader")));
}

/// The election tour's page: its steps at the times the plain runner
/// gives them, its captions from the steps they narrate.
fn election_page(latency: Option<(u64, u64)>) -> Timeline {
    let (script, title) = script::scripted(Some("election"), None).unwrap();
    assert_eq!(title, "tour election");
    script::record_script(&script, &title, 1, latency, None).unwrap()
}

#[test]
fn a_tours_page_holds_its_steps_and_captions_where_they_ran() {
    let page = election_page(None);
    // The same script, run plainly: the same statements at the same times
    // with the same outcomes (watching changed nothing in the run).
    let tour = crate::scenario::tours::find("election").unwrap();
    let plain = crate::scenario::run_script(tour.text, "election", crate::scenario::sim_factory(1))
        .unwrap();
    assert!(plain.passed);
    let top: Vec<_> = plain
        .transcript
        .iter()
        .filter(|l| l.depth == 0 && l.mark != crate::scenario::Mark::Note)
        .collect();
    assert_eq!(page.steps.len(), top.len());
    for (step, line) in page.steps.iter().zip(&top) {
        assert_eq!(step.source, line.source);
        assert_eq!(step.end, line.at_us, "{}", step.source);
        assert_eq!(step.detail, line.detail);
    }
    assert_eq!(page.end, top.last().unwrap().at_us);
    // Five `say` lines, each from the step it narrates: the two around
    // the `ask` (which takes no time) share the instant the wait for a
    // leader begins.
    let texts: Vec<&str> = page.captions.iter().map(|c| c.text.as_str()).collect();
    assert_eq!(texts.len(), 5, "{texts:?}");
    let caption = |start: &str| {
        page.captions
            .iter()
            .find(|c| c.text.starts_with(start))
            .unwrap_or_else(|| panic!("no caption {start:?} in {texts:?}"))
    };
    let wait = page
        .steps
        .iter()
        .find(|s| s.source.starts_with("wait leader"))
        .unwrap();
    assert_eq!(caption("It voted for itself").t, wait.t);
    assert_eq!(caption("The votes travel back").t, wait.t);
    let ask = page
        .steps
        .iter()
        .find(|s| s.source.starts_with("ask "))
        .unwrap();
    assert_eq!((ask.t, ask.mark), (wait.t, "?"));
    let run = page.steps.iter().find(|s| s.source == "run 2s").unwrap();
    assert_eq!(caption("The leader sends heartbeats").t, run.t);
    assert_eq!(caption("Five followers").t, 0);
    // A leader on the page by the end of the wait, as the step says.
    assert!(
        page.events
            .iter()
            .any(|e| e.text.contains("Leader") && e.t <= wait.end),
        "{:?}",
        page.events
    );
    assert_eq!(page.failure, None);
    assert_eq!(page.violation, None);
}

#[test]
fn watching_every_step_changes_nothing_in_the_run() {
    let p = plan("all");
    let mut plain = Sim::new(p.options(6)).unwrap();
    let _ = plain.run_for(2_000_000);
    let mut watched = Sim::new(p.options(6)).unwrap();
    let seen = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
    let count = seen.clone();
    watched.on_step(Box::new(move |s| {
        count.store(s.now_us(), std::sync::atomic::Ordering::Relaxed);
    }));
    let _ = watched.run_for(2_000_000);
    assert!(seen.load(std::sync::atomic::Ordering::Relaxed) > 1_900_000);
    assert_eq!(plain.trace_hash(), watched.trace_hash());
}

#[test]
fn the_tours_captions_in_a_real_browser() {
    let page = election_page(Some(crate::tui::VISIBLE_LATENCY_US));
    let html = render(&page).unwrap();
    let dir = std::env::temp_dir().join(format!("raftlab-tour-page-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("tour.html");
    std::fs::write(&file, html).unwrap();
    let wait = page
        .steps
        .iter()
        .position(|s| s.source.starts_with("wait leader"))
        .unwrap();
    let run = page
        .steps
        .iter()
        .position(|s| s.source == "run 2s")
        .unwrap();
    // During the election, and a second into the quiet that follows it.
    let moments = [
        (
            wait,
            (page.steps[wait].t + page.steps[wait].end) / 2,
            "The votes travel back",
        ),
        (
            run,
            page.steps[run].t + 1_000_000,
            "The leader sends heartbeats",
        ),
    ];
    for (step, t, newest) in moments {
        let dom = browser_dom(&file, t);
        // The newest caption by then, with those of the same instant.
        let at = page.captions.iter().rev().find(|c| c.t <= t).unwrap().t;
        let said: Vec<&str> = page
            .captions
            .iter()
            .filter(|c| c.t == at)
            .map(|c| c.text.as_str())
            .collect();
        assert!(said.last().unwrap().starts_with(newest), "{said:?}");
        assert_eq!(
            element_text(&dom, "p", "caption"),
            said.join("\n"),
            "at {t}"
        );
        // The step under way, its outcome not yet known.
        let shown = element_text(&dom, "p", "step");
        assert_eq!(shown, format!("{}   …", page.steps[step].source), "at {t}");
        assert_eq!(
            element_text(&dom, "h2", "tourhead"),
            format!("Step {} of {}", step + 1, page.steps.len())
        );
    }
    std::fs::remove_dir_all(&dir).unwrap();
}
