//! `start`/`reply`, `ask`, and the conditions `candidate` and
//! `uncommitted`: parsed, run on the toy cluster, and run on the
//! simulator, where they stop on the states a tour teaches.

use crate::kv::Op;
use crate::scenario::ast::*;
use crate::scenario::fake::Fake;
use crate::scenario::{Cluster, ClusterSpec, Mark, Report, parse, run_script, sim_factory};

/// Parses `text` after a `cluster 5` line: the last statement's kind.
fn last(text: &str) -> StmtKind {
    let script = format!("cluster 5\n{text}");
    match parse(&script, "t.scen") {
        Ok(s) => s.statements.last().map(|s| s.kind.clone()).unwrap(),
        Err(e) => panic!("{text:?} did not parse:\n{e}"),
    }
}

/// The first error for `text` (after `cluster 5`), as rendered.
fn error(text: &str) -> String {
    match parse(&format!("cluster 5\n{text}"), "t.scen") {
        Ok(_) => panic!("{text:?} parsed"),
        Err(e) => e.0.first().map(|e| e.to_string()).unwrap_or_default(),
    }
}

fn on_fake(text: &str) -> Report {
    let factory = |spec: ClusterSpec| Ok(Box::new(Fake::new(spec.nodes)) as Box<dyn Cluster>);
    run_script(text, "t.scen", factory).unwrap_or_else(|e| panic!("{e}"))
}

fn on_sim(text: &str) -> Report {
    run_script(text, "t.scen", sim_factory(1)).unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn ask_parses_its_question_choices_answer_and_reason() {
    let kind = last(
        r#"ask "Who can win?" "n1" "n2" "n3 (the longest log)" answer 3 because "only n3 holds every committed entry""#,
    );
    assert_eq!(
        kind,
        StmtKind::Ask(Ask {
            question: "Who can win?".into(),
            choices: vec!["n1".into(), "n2".into(), "n3 (the longest log)".into()],
            answer: 3,
            why: "only n3 holds every committed entry".into(),
        })
    );
    let StmtKind::Ask(ask) = kind else {
        unreachable!()
    };
    assert_eq!(ask.answer_text(), "n3 (the longest log)");
}

#[test]
fn a_malformed_ask_says_what_is_missing() {
    let one = error(r#"ask "Q?" "only" answer 1 because "x""#);
    assert!(
        one.contains("2 to 4 choices") && one.contains("has 1"),
        "{one}"
    );
    let five = error(r#"ask "Q?" "a" "b" "c" "d" "e" answer 1 because "x""#);
    assert!(five.contains("has 5"), "{five}");
    let range = error(r#"ask "Q?" "a" "b" answer 3 because "x""#);
    assert!(range.contains("1 to 2, not 3"), "{range}");
    let no_answer = error(r#"ask "Q?" "a" "b" because "x""#);
    assert!(no_answer.contains("`answer K`"), "{no_answer}");
    let no_why = error(r#"ask "Q?" "a" "b" answer 1"#);
    assert!(no_why.contains("because"), "{no_why}");
    let bare = error(r#"ask Q "a" "b" answer 1 because "x""#);
    assert!(bare.contains("the question in quotes"), "{bare}");
    let extra = error(r#"ask "Q?" "a" "b" answer 1 because "x" more"#);
    assert!(extra.contains("unexpected \"more\""), "{extra}");
}

#[test]
fn start_and_reply_parse_and_reply_knows_the_operation() {
    assert_eq!(
        last("start put x 1 on 2 timeout 300ms"),
        StmtKind::Start(ClientOp {
            op: Op::Put {
                key: "x".into(),
                value: "1".into()
            },
            stale: false,
            on: Some(NodeRef::Id(2)),
            timeout_us: Some(300_000),
            expect: None,
        })
    );
    assert_eq!(
        last("start put x 1\nreply -> ok"),
        StmtKind::Reply(Some(Expected::Ok))
    );
    assert_eq!(last("start put x 1\nreply"), StmtKind::Reply(None));
    // After a get, a reply can expect a value.
    assert_eq!(
        last("start get x\nreply -> \"1\" | timeout"),
        StmtKind::Reply(Some(Expected::AnyOf(vec![
            Expected::Value(Some("1".into())),
            Expected::Timeout
        ])))
    );
    let early = error("reply -> ok");
    assert!(early.contains("none was sent before this line"), "{early}");
    let judged = error("start put x 1 -> ok");
    assert!(judged.contains("reply -> RESULT"), "{judged}");
    let stale = error("start get x stale on 2");
    assert!(stale.contains("answers at once"), "{stale}");
    let not_op = error("start kill 2");
    assert!(not_op.contains("expected an operation"), "{not_op}");
    let value = error("start put x 1\nreply -> \"1\"");
    assert!(value.contains("a put answers ok"), "{value}");
}

#[test]
fn candidate_and_uncommitted_parse() {
    assert_eq!(
        last("wait candidate within 2s"),
        StmtKind::Wait {
            cond: Cond::Candidate,
            within_us: 2_000_000
        }
    );
    assert_eq!(
        last("expect uncommitted 1 on leader"),
        StmtKind::Expect(Cond::Uncommitted(
            Cmp::Ge,
            Num {
                name: None,
                offset: 1
            },
            NodeSet::List(vec![NodeRef::Leader])
        ))
    );
    assert_eq!(
        last("expect uncommitted == 0"),
        StmtKind::Expect(Cond::Uncommitted(
            Cmp::Eq,
            Num {
                name: None,
                offset: 0
            },
            NodeSet::All
        ))
    );
}

#[test]
fn a_plain_run_prints_a_question_with_its_answer_and_never_waits() {
    let report = on_fake(
        "cluster 3\nask \"How many votes make a leader of 3?\" \"1\" \"2\" \"3\" answer 2 because \"a majority of 3 is 2\"\n",
    );
    assert!(report.passed, "{}", report.render());
    let line = &report.transcript[1];
    assert_eq!(line.mark, Mark::Ask);
    assert_eq!(line.at_us, 0, "no time passes");
    let text = report.render();
    assert!(
        text.contains(
            "0ms  ? How many votes make a leader of 3?  1) 1  2) 2  3) 3  — the answer is 2) 2. a majority of 3 is 2"
        ),
        "{text}"
    );
}

#[test]
fn reply_judges_what_start_sent_and_refuses_a_second_start() {
    let report = on_fake(
        "cluster 3\nwait leader within 1s\nstart put x 1\nreply -> ok\nget x -> \"1\"\nstart get x\nreply -> \"1\"\n",
    );
    assert!(report.passed, "{}", report.render());
    assert!(report.transcript[2].detail.starts_with("sent;"));
    let report = on_fake("cluster 3\nwait leader within 1s\nstart put x 1\nreply -> timeout\n");
    assert!(!report.passed);
    let failure = report.failure.unwrap();
    assert_eq!(failure.line, 4);
    assert!(
        failure.message.starts_with("expected timeout, got ok"),
        "{}",
        failure.message
    );
    let report = on_fake("cluster 3\nstart put x 1\nstart put y 1\n");
    let failure = report.failure.unwrap();
    assert!(
        failure.message.contains("one at a time"),
        "{}",
        failure.message
    );
}

/// On the simulator a tour can stop while a write is in flight: on the
/// leader and not committed, then committed on the leader while the
/// followers have yet to learn it, then answered.
#[test]
fn a_started_write_is_seen_uncommitted_then_committed() {
    let report = on_sim(
        "cluster 5 seed 2\nwait leader within 3s\nwait uncommitted == 0 within 1s\n\
         let base = committed\nstart put x 1\n\
         wait uncommitted 1 on leader\nexpect committed == base on all\n\
         wait committed >= base + 1 on leader\nexpect uncommitted 1 on follower\n\
         reply -> ok\nwait uncommitted == 0 within 1s\nexpect committed >= base + 1\n",
    );
    assert!(report.passed, "{}", report.render());
    let stop = &report.transcript[5];
    assert_eq!(stop.mark, Mark::Pass);
    assert!(stop.detail.contains("=1"), "{}", stop.detail);
    // The write was not answered at the first stop: it took time after.
    let answered = &report.transcript[9];
    assert!(answered.at_us > stop.at_us);
}

/// `wait candidate` stops on the first candidate of the run, before any
/// leader, in the term it campaigns for.
#[test]
fn wait_candidate_stops_before_the_first_leader() {
    let report = on_sim(
        "cluster 5 seed 1\nwait candidate within 3s\nexpect no leader\nexpect term == 1\nwait leader within 1s\n",
    );
    assert!(report.passed, "{}", report.render());
    assert!(
        report.transcript[1]
            .detail
            .contains("is a candidate in term 1"),
        "{}",
        report.transcript[1].detail
    );
    let report = on_sim("cluster 3 seed 1\nwait leader within 3s\nexpect candidate\n");
    let failure = report.failure.unwrap();
    assert!(
        failure.message.contains("got no candidate"),
        "{}",
        failure.message
    );
}
