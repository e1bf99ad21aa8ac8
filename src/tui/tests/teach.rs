//! Teaching mode on made-up views: the message list and its filters,
//! focus mode, the bug badge, the live checker panel, and the `msgs` and
//! `bug` console commands.

use std::sync::Arc;

use ratatui::crossterm::event::KeyCode;

use super::*;
use crate::raft::{Body, Bugs, Entry, EntryData, Message};
use crate::runtime::observe::{
    CheckReport, DropCause, Fate, Finding, Invariant, LinStatus, MessageLog, MessageRecord,
    MessageWindow, MsgClass, MsgFilter,
};
use crate::tui::action::Lower;

fn msg(from: NodeId, to: NodeId, term: u64, body: Body) -> Message {
    Message {
        from,
        to,
        term,
        body,
    }
}

fn append(from: NodeId, to: NodeId, prev: u64, n: u64) -> Message {
    let entries = (0..n)
        .map(|i| Entry {
            index: prev + 1 + i,
            term: 2,
            data: EntryData::Noop,
        })
        .collect();
    msg(
        from,
        to,
        2,
        Body::Append {
            prev_index: prev,
            prev_term: 2,
            entries,
            commit: prev,
        },
    )
}

/// A ring holding an election and some replication, with every fate.
fn traffic() -> Arc<MessageLog> {
    let log = Arc::new(MessageLog::new(64));
    let mut tick = 17;
    let mut push = |m: Message, fate: Fate| {
        log.push(MessageRecord::of(&m, tick, fate));
        tick += 1;
    };
    let vote = |from, to| {
        msg(
            from,
            to,
            2,
            Body::Vote {
                last_index: 0,
                last_term: 0,
                transfer: false,
            },
        )
    };
    for to in 2..=5 {
        push(vote(1, to), Fate::Delivered);
    }
    push(
        msg(2, 1, 2, Body::VoteResponse { granted: true }),
        Fate::Delivered,
    );
    push(
        msg(3, 1, 2, Body::VoteResponse { granted: true }),
        Fate::Delayed { us: 12_000 },
    );
    push(
        msg(4, 1, 2, Body::VoteResponse { granted: false }),
        Fate::Dropped(DropCause::Lost),
    );
    push(append(1, 2, 10, 2), Fate::Delivered);
    push(append(1, 3, 10, 2), Fate::Dropped(DropCause::LinkDown));
    push(append(1, 4, 10, 2), Fate::Duplicated { copies: 2, us: 0 });
    push(
        msg(
            2,
            1,
            2,
            Body::AppendResponse {
                success: true,
                index: 12,
                hint: 0,
            },
        ),
        Fate::Delivered,
    );
    push(
        msg(
            5,
            1,
            2,
            Body::AppendResponse {
                success: false,
                index: 10,
                hint: 8,
            },
        ),
        Fate::Delivered,
    );
    push(
        msg(
            1,
            5,
            2,
            Body::Heartbeat {
                commit: 10,
                read_seq: 3,
            },
        ),
        Fate::Dropped(DropCause::NodeDown),
    );
    log
}

fn with_traffic(mut v: ClusterView) -> ClusterView {
    v.teaching.messages = MessageWindow::of(traffic(), true);
    v.teaching.checks = Arc::new(CheckReport {
        active: true,
        observed: 1234,
        ..CheckReport::default()
    });
    v
}

/// A report where Figure 8 went wrong: two nodes applied different
/// commands at index 3, and a read saw a lost write.
fn violated() -> CheckReport {
    CheckReport {
        active: true,
        simulated: false,
        observed: 5120,
        findings: vec![
            Finding {
                invariant: Invariant::CommittedNeverLost,
                details: "n5 overwrote index 3 (committed in term 2, applied by n1) with an entry of term 4".into(),
                tick: 812,
            },
            Finding {
                invariant: Invariant::StateMachineSafety,
                details: "n5 applied index 3 from term 4, but n1 applied a different command there (term 2)".into(),
                tick: 830,
            },
        ],
        linearizability: LinStatus::NotLinearizable {
            ops: 14,
            key: "x".into(),
            explanation: "get \"x\" → \"2\" cannot follow put \"x\" \"3\"".into(),
        },
    }
}

// ------------------------------------------------------------ rendering

#[test]
fn snapshot_message_list() {
    let (mut app, _) = app(with_traffic(elected()));
    press(&mut app, &[key('m')]);
    assert_eq!(app.lower, Lower::Messages);
    let s = screen(&mut app, 80, 24);
    assert!(s.contains("Messages (newest first; filter: all)"), "{s}");
    assert!(s.contains("DROPPED node down"), "{s}");
    insta::assert_snapshot!(s);
}

#[test]
fn snapshot_message_list_filtered_wide() {
    let (mut app, _) = app(with_traffic(elected()));
    press(&mut app, &[key(':')]);
    typed(&mut app, "msgs from 1 type append");
    press(&mut app, &[code(KeyCode::Esc)]);
    let s = screen(&mut app, 200, 50);
    assert!(s.contains("filter: from 1 type append"), "{s}");
    assert!(!s.contains("VoteResp"), "only appends from n1: {s}");
    insta::assert_snapshot!(s);
}

#[test]
fn snapshot_focus_mode() {
    let (mut app, _) = app(with_traffic(elected()));
    press(&mut app, &[key('1'), key('f')]);
    assert_eq!(app.lower, Lower::Flow);
    let s = screen(&mut app, 80, 24);
    assert!(s.contains("Focus: n1's messages"), "{s}");
    insta::assert_snapshot!(s);
}

#[test]
fn snapshot_focus_mode_wide() {
    let (mut app, _) = app(with_traffic(elected()));
    press(&mut app, &[key('f')]);
    insta::assert_snapshot!(screen(&mut app, 200, 50));
}

#[test]
fn snapshot_bug_badge() {
    let mut v = elected();
    v.teaching.bugs.enable("commit-old-terms");
    let (mut app, _) = app(v);
    let s = screen(&mut app, 80, 24);
    let status = s.lines().last().unwrap_or_default();
    // At 80 columns the badge loses its tail so the most needed keys
    // still show.
    assert!(
        status.starts_with(" ⚠ BUG commit-old-terms ON "),
        "{status}"
    );
    for key in ["? help", ": console", "q quit"] {
        assert!(status.contains(key), "{key}: {status}");
    }
    insta::assert_snapshot!(s);
    // With room, the badge says it in full, and every key shows.
    let wide = screen(&mut app, 200, 50);
    let status = wide.lines().last().unwrap_or_default();
    assert!(
        status.starts_with(" ⚠ BUG commit-old-terms ON — Raft is unsafe"),
        "{status}"
    );
    assert!(status.ends_with("q quit"), "{status}");
}

#[test]
fn snapshot_status_bar_at_80_columns_keeps_the_most_needed_keys() {
    let (mut app, _) = app(elected());
    let s = screen(&mut app, 80, 24);
    let status = s.lines().last().unwrap_or_default();
    for key in ["? help", ": console", "k kill", "r restart", "q quit"] {
        assert!(status.contains(key), "{key}: {status}");
    }
    insta::assert_snapshot!(s);
    // Simulated mode: the seed's mark takes room, the same keys stay.
    app.sim = Some(sim_seed_7());
    let s = screen(&mut app, 80, 24);
    let status = s.lines().last().unwrap_or_default();
    assert!(status.contains("SIM seed 7"), "{status}");
    for key in ["? help", ": console", "q quit"] {
        assert!(status.contains(key), "{key}: {status}");
    }
    // Wide, the membership keys and R show too.
    let wide = screen(&mut app, 200, 50);
    let status = wide.lines().last().unwrap_or_default();
    assert!(status.contains("a/P/x membership"), "{status}");
    assert!(status.contains("R replay"), "{status}");
}

#[test]
fn snapshot_violated_checker_panel() {
    let mut v = with_traffic(elected());
    v.teaching.checks = Arc::new(violated());
    v.teaching.bugs.enable("commit-old-terms");
    let (mut app, _) = app(v);
    press(&mut app, &[key('c')]);
    let s = screen(&mut app, 80, 24);
    let broken = s
        .lines()
        .find(|l| l.contains("✗ nothing committed is lost"))
        .unwrap_or_default();
    assert!(broken.contains("VIOLATED"), "{s}");
    assert!(s.contains("election safety"), "{s}");
    assert!(s.contains("NOT linearizable"), "{s}");
    assert!(s.contains("first violation"), "{s}");
    insta::assert_snapshot!(s);
}

#[test]
fn snapshot_checker_beside_messages_wide() {
    let mut v = with_traffic(elected());
    v.teaching.checks = Arc::new(violated());
    let (mut app, _) = app(v);
    press(&mut app, &[key('m'), key('c')]);
    let s = screen(&mut app, 200, 50);
    assert!(s.contains("Messages (newest first"), "{s}");
    assert!(s.contains("Live checks: VIOLATED"), "{s}");
    insta::assert_snapshot!(s);
}

#[test]
fn a_correct_run_shows_every_check_ok() {
    let mut v = with_traffic(elected());
    v.teaching.checks = Arc::new(CheckReport {
        active: true,
        simulated: false,
        observed: 99,
        findings: vec![],
        linearizability: LinStatus::Linearizable {
            ops: 12,
            unrecorded: 0,
        },
    });
    let (mut app, _) = app(v);
    press(&mut app, &[key('c')]);
    let s = screen(&mut app, 80, 24);
    for inv in Invariant::ALL {
        assert!(s.contains(inv.name()), "{} missing: {s}", inv.name());
    }
    // The live checker does not judge the simulator's own checks: no row.
    for inv in Invariant::SIM_ONLY {
        assert!(!s.contains(inv.name()), "{} shown live: {s}", inv.name());
    }
    assert!(!s.contains("VIOLATED"), "{s}");
    assert!(s.contains("linearizable (12 ops)"), "{s}");
    assert!(s.contains("99 node facts checked, no violation"), "{s}");
}

#[test]
fn ascii_theme_draws_the_teaching_panes_in_ascii() {
    let mut v = with_traffic(elected());
    v.teaching.bugs.enable("skip-prev-check");
    let options = ascii_options(false);
    for k in ['m', 'f'] {
        let (mut app, _) = app_with(v.clone(), options);
        press(&mut app, &[key(k)]);
        let s = screen(&mut app, 80, 24);
        // The status bar's speed (`1×`) is not this pane's to change.
        let panes: Vec<&str> = s.lines().take(23).collect();
        assert!(panes.iter().all(|l| l.is_ascii()), "{k}: {s}");
        // At 80 columns the badge loses its tail to leave room for keys.
        assert!(s.contains("!! BUG skip-prev-check ON "), "{s}");
    }
}

// ---------------------------------------------------------- behaviour

#[test]
fn m_f_and_c_toggle_their_panes() {
    let (mut app, _) = app(elected());
    press(&mut app, &[key('m')]);
    assert_eq!(app.lower, Lower::Messages);
    press(&mut app, &[key('f')]);
    assert_eq!(app.lower, Lower::Flow);
    press(&mut app, &[key('f')]);
    assert_eq!(app.lower, Lower::Log);
    press(&mut app, &[key('c')]);
    assert!(app.checker);
    press(&mut app, &[key('c')]);
    assert!(!app.checker);
    // In the console the letters are text.
    press(&mut app, &[key(':'), key('m')]);
    assert_eq!(app.lower, Lower::Log);
}

#[test]
fn msgs_parses_filters_and_explains_mistakes() {
    use crate::tui::command::parse_msg_filter;
    let f = parse_msg_filter(&["from", "2", "to", "n3", "type", "vote"], 5);
    assert_eq!(
        f,
        Ok(MsgFilter {
            from: Some(2),
            to: Some(3),
            class: Some(MsgClass::Vote),
            ..MsgFilter::default()
        })
    );
    let f = parse_msg_filter(&["node", "4", "append", "faults"], 5);
    assert_eq!(
        f,
        Ok(MsgFilter {
            node: Some(4),
            class: Some(MsgClass::Append),
            unusual: true,
            ..MsgFilter::default()
        })
    );
    assert_eq!(
        parse_msg_filter(&["type", "read"], 5).map(|f| f.class),
        Ok(Some(MsgClass::Heartbeat))
    );
    assert_eq!(
        parse_msg_filter(&["from", "1", "all"], 5),
        Ok(MsgFilter::default())
    );
    let e = parse_msg_filter(&["from", "7"], 5).unwrap_err();
    assert!(e.contains("the nodes are 1 to 5"), "{e}");
    let e = parse_msg_filter(&["from"], 5).unwrap_err();
    assert!(e.contains("needs a value"), "{e}");
    let e = parse_msg_filter(&["type", "gossip"], 5).unwrap_err();
    assert!(e.contains("vote|append|heartbeat|snapshot|timeout"), "{e}");
    let e = parse_msg_filter(&["sideways"], 5).unwrap_err();
    assert!(e.contains("msgs node 2 vote"), "{e}");
}

#[test]
fn the_msgs_command_filters_the_open_list() {
    let (mut app, _) = app(with_traffic(elected()));
    press(&mut app, &[key(':')]);
    typed(&mut app, "msgs to 1 vote");
    assert_eq!(app.lower, Lower::Messages);
    let rows = crate::tui::widgets::messages::rows(&app, 50);
    assert_eq!(rows.len(), 3, "three vote answers went to n1");
    assert!(rows.iter().all(|r| r.to == 1 && r.class == MsgClass::Vote));
    typed(&mut app, "msgs faults");
    let rows = crate::tui::widgets::messages::rows(&app, 50);
    assert_eq!(rows.len(), 5);
    assert!(rows.iter().all(|r| r.fate != Fate::Delivered));
    typed(&mut app, "msgs bogus");
    assert!(
        app.console
            .transcript()
            .any(|l| l.text.contains("'bogus' is not understood")),
    );
}

#[test]
fn scrolling_the_list_holds_it_still() {
    let (mut app, _) = app(with_traffic(elected()));
    press(&mut app, &[key('m'), code(KeyCode::Tab)]);
    assert_eq!(app.focus, Focus::Log);
    let newest = crate::tui::widgets::messages::rows(&app, 1)[0].seq;
    press(&mut app, &[code(KeyCode::Up), code(KeyCode::Up)]);
    assert_eq!(app.msg_scroll, 2);
    assert_eq!(app.msg_anchor, Some(newest));
    // A message arriving now does not move the list.
    let window = app.view.teaching.messages.clone();
    window
        .log
        .push(MessageRecord::of(&append(1, 2, 12, 1), 99, Fate::Delivered));
    let mut v = (*app.view).clone();
    v.teaching.messages = MessageWindow::of(window.log.clone(), true);
    v.version += 1;
    app.update(Action::View(NewView(Arc::new(v))));
    assert_eq!(
        crate::tui::widgets::messages::rows(&app, 1)[0].seq,
        newest - 2
    );
    press(&mut app, &[code(KeyCode::End)]);
    assert_eq!((app.msg_scroll, app.msg_anchor), (0, None));
    assert_eq!(
        crate::tui::widgets::messages::rows(&app, 1)[0].seq,
        newest + 1
    );
}

#[test]
fn bug_commands_switch_list_and_refuse_unknown_names() {
    let mut v = elected();
    v.teaching.bugs.enable("forget-vote");
    let (mut app, rec) = app(v);
    press(&mut app, &[key(':')]);
    typed(&mut app, "bug commit-old-terms on");
    typed(&mut app, "bug forget-vote OFF");
    assert_eq!(
        rec.requests(),
        vec![
            Request::Bug("commit-old-terms".into(), true),
            Request::Bug("forget-vote".into(), false),
        ]
    );
    typed(&mut app, "bug");
    let lines: Vec<String> = app.console.transcript().map(|l| l.text.clone()).collect();
    assert!(
        lines.iter().any(|l| l.starts_with("ON  forget-vote")),
        "{lines:?}"
    );
    assert!(
        lines.iter().any(|l| l.starts_with("off commit-old-terms")),
        "{lines:?}"
    );
    typed(&mut app, "bug eat-logs on");
    typed(&mut app, "bug forget-vote maybe");
    let lines: Vec<String> = app.console.transcript().map(|l| l.text.clone()).collect();
    let at = lines
        .iter()
        .position(|l| l == "unknown bug 'eat-logs'; the bugs are:");
    let at = at.unwrap_or_else(|| panic!("no error line: {lines:?}"));
    for (i, (name, _)) in Bugs::NAMES.iter().enumerate() {
        assert!(
            lines[at + 1 + i].contains(&format!(" {name}: ")),
            "{lines:?}"
        );
    }
    assert!(
        lines.iter().any(|l| l.contains("say `on` or `off`")),
        "{lines:?}"
    );
    assert_eq!(rec.requests().len(), 2, "nothing sent for bad lines");
}
