//! The parser: one test per statement and one per kind of error.

use crate::kv::Op;
use crate::raft::Bugs;
use crate::scenario::ast::*;
use crate::scenario::parse;

/// Parses `text` after a `cluster 5` line and returns the kind of the
/// statement on the last line.
pub(super) fn last(text: &str) -> StmtKind {
    let script = format!("cluster 5\n{text}");
    match parse(&script, "t.scen") {
        Ok(s) => s
            .statements
            .last()
            .map(|s| s.kind.clone())
            .unwrap_or(StmtKind::Heal),
        Err(e) => panic!("{text:?} did not parse:\n{e}"),
    }
}

/// The first error for `text` (after `cluster 5`), as rendered.
pub(super) fn error(text: &str) -> String {
    match parse(&format!("cluster 5\n{text}"), "t.scen") {
        Ok(_) => panic!("{text:?} parsed"),
        Err(e) => e.0.first().map(|e| e.to_string()).unwrap_or_default(),
    }
}

fn id(n: u64) -> NodeRef {
    NodeRef::Id(n)
}

fn lit(n: i64) -> Num {
    Num {
        name: None,
        offset: n,
    }
}

#[test]
fn cluster_statements() {
    let s = parse(
        "# why\n\ncluster 3 seed 42 bug commit-old-terms # note\n",
        "x",
    )
    .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(s.intent.as_deref(), Some("why"));
    let mut bugs = Bugs::default();
    bugs.enable("commit-old-terms");
    assert_eq!(s.statements[0].line, 3);
    assert_eq!(
        s.statements[0].source,
        "cluster 3 seed 42 bug commit-old-terms"
    );
    assert_eq!(
        s.statements[0].kind,
        StmtKind::Cluster(crate::scenario::ClusterSpec {
            nodes: 3,
            seed: Some(42),
            bugs
        })
    );
}

#[test]
fn time_statements() {
    assert_eq!(last("run 1.5s"), StmtKind::Run(1_500_000));
    assert_eq!(
        last("wait leader within 2s"),
        StmtKind::Wait {
            cond: Cond::Leader { among: None },
            within_us: 2_000_000
        }
    );
    assert_eq!(
        last("wait commit 3"),
        StmtKind::Wait {
            cond: Cond::Committed(Cmp::Ge, lit(3), NodeSet::All),
            within_us: DEFAULT_WAIT_US
        }
    );
    assert_eq!(
        last("wait applied 4 on all within 500ms"),
        StmtKind::Wait {
            cond: Cond::Applied(Cmp::Ge, lit(4), NodeSet::All),
            within_us: 500_000
        }
    );
}

#[test]
fn client_statements() {
    assert_eq!(
        last("put x 1"),
        StmtKind::Client(ClientOp {
            op: Op::Put {
                key: "x".into(),
                value: "1".into()
            },
            stale: false,
            on: None,
            timeout_us: None,
            expect: None
        })
    );
    assert_eq!(
        last(r#"put "my key" "a b" on leader timeout 1s -> ok"#),
        StmtKind::Client(ClientOp {
            op: Op::Put {
                key: "my key".into(),
                value: "a b".into()
            },
            stale: false,
            on: Some(NodeRef::Leader),
            timeout_us: Some(1_000_000),
            expect: Some(Expected::Ok)
        })
    );
    let get = |text: &str| match last(text) {
        StmtKind::Client(op) => ((op.op, op.stale), op.on, op.expect),
        other => panic!("{other:?}"),
    };
    let key = || "x".to_string();
    assert_eq!(
        get(r#"get x -> "1""#),
        (
            (Op::Get { key: key() }, false),
            None,
            Some(Expected::Value(Some("1".into())))
        )
    );
    assert_eq!(get("get x -> 1").2, Some(Expected::Value(Some("1".into()))));
    assert_eq!(get("get x -> nil").2, Some(Expected::Value(None)));
    assert_eq!(get("get x -> timeout").2, Some(Expected::Timeout));
    assert_eq!(
        get("get x -> nil | timeout").2,
        Some(Expected::AnyOf(vec![
            Expected::Value(None),
            Expected::Timeout
        ]))
    );
    assert_eq!(
        get("get x on 2 -> unavailable").2,
        Some(Expected::Unavailable)
    );
    assert_eq!(
        get("get x stale on n4 -> \"old\""),
        (
            (Op::Get { key: key() }, true),
            Some(id(4)),
            Some(Expected::Value(Some("old".into())))
        )
    );
    assert_eq!(get("delete x -> ok").0, (Op::Delete { key: key() }, false));
    assert_eq!(
        get("cas x 1 2 -> true"),
        (
            (
                Op::Cas {
                    key: key(),
                    old: "1".into(),
                    new: "2".into()
                },
                false
            ),
            None,
            Some(Expected::Swapped(true))
        )
    );
    assert_eq!(get("cas x 1 2 -> false").2, Some(Expected::Swapped(false)));
}

#[test]
fn loop_statements() {
    let script = parse(
        "cluster 3\nrepeat 2 {\n  repeat 3: put k$i v\n  run 1s\n}\nconcurrently 5: put c$i $i -> ok\n",
        "t",
    )
    .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(script.statements.len(), 3);
    let StmtKind::Repeat { count: 2, body } = &script.statements[1].kind else {
        panic!("{:?}", script.statements[1]);
    };
    assert_eq!(script.statements[1].source, "repeat 2 {");
    assert_eq!(body.len(), 2);
    assert_eq!(body[0].source, "repeat 3: put k$i v");
    let StmtKind::Repeat {
        count: 3,
        body: inner,
    } = &body[0].kind
    else {
        panic!("{:?}", body[0]);
    };
    assert_eq!(inner[0].source, "put k$i v");
    assert!(matches!(
        &script.statements[2].kind,
        StmtKind::Concurrently { count: 5, op } if op.expect == Some(Expected::Ok)
    ));
}

#[test]
fn fault_statements() {
    assert_eq!(
        last("kill leader"),
        StmtKind::Kill(NodeSet::List(vec![NodeRef::Leader]))
    );
    assert_eq!(
        last("crash 1 2"),
        StmtKind::Kill(NodeSet::List(vec![id(1), id(2)]))
    );
    assert_eq!(last("kill all"), StmtKind::Kill(NodeSet::All));
    assert_eq!(last("restart all"), StmtKind::Restart(NodeSet::All));
    assert_eq!(
        last("restart 3"),
        StmtKind::Restart(NodeSet::List(vec![id(3)]))
    );
    assert_eq!(
        last("isolate random"),
        StmtKind::Isolate(NodeSet::List(vec![NodeRef::Random]))
    );
    assert_eq!(
        last("partition 1 2|3 4 5"),
        StmtKind::Partition(vec![vec![id(1), id(2)], vec![id(3), id(4), id(5)]])
    );
    assert_eq!(
        last("partition leader"),
        StmtKind::Partition(vec![vec![NodeRef::Leader]])
    );
    assert_eq!(
        last("cut 1 -> 2"),
        StmtKind::Cut {
            from: id(1),
            to: id(2)
        }
    );
    assert_eq!(last("heal"), StmtKind::Heal);
    assert_eq!(last("loss 20%"), StmtKind::Loss(0.2));
    assert_eq!(last("duplicate 2.5%"), StmtKind::Duplicate(0.025));
    assert_eq!(
        last("delay 5..50ms"),
        StmtKind::Delay {
            min_us: 5_000,
            max_us: 50_000
        }
    );
    assert_eq!(
        last("delay 500us..2ms"),
        StmtKind::Delay {
            min_us: 500,
            max_us: 2_000
        }
    );
    assert_eq!(
        last("delay 1ms"),
        StmtKind::Delay {
            min_us: 1_000,
            max_us: 1_000
        }
    );
    assert_eq!(
        last("transfer follower"),
        StmtKind::Transfer(NodeRef::Follower)
    );
}

#[test]
fn names_and_narration() {
    assert_eq!(
        last("let old = leader"),
        StmtKind::Let {
            name: "old".into(),
            value: LetValue::Node(NodeRef::Leader)
        }
    );
    assert_eq!(
        last("let t = term\nlet c = committed\nlet x = 3\nexpect term == t"),
        StmtKind::Expect(Cond::Term(
            Cmp::Eq,
            Num {
                name: Some("t".into()),
                offset: 0
            }
        ))
    );
    assert_eq!(
        last("let c = committed\nexpect committed < c + 2 on 1"),
        StmtKind::Expect(Cond::Committed(
            Cmp::Lt,
            Num {
                name: Some("c".into()),
                offset: 2
            },
            NodeSet::List(vec![id(1)])
        ))
    );
    assert_eq!(
        last("let old = leader\nkill old"),
        StmtKind::Kill(NodeSet::List(vec![NodeRef::Saved("old".into())]))
    );
    assert_eq!(last("reset stats"), StmtKind::ResetStats);
    assert_eq!(
        last("say Now the leader dies."),
        StmtKind::Say("Now the leader dies.".into())
    );
}

#[test]
fn conditions() {
    let cond = |text: &str| match last(&format!("let old = leader\nlet t = term\nexpect {text}")) {
        StmtKind::Expect(c) => c,
        other => panic!("{other:?}"),
    };
    assert_eq!(cond("leader"), Cond::Leader { among: None });
    assert_eq!(
        cond("leader in 1 2 3"),
        Cond::Leader {
            among: Some(vec![id(1), id(2), id(3)])
        }
    );
    assert_eq!(cond("no leader"), Cond::NoLeader);
    assert_eq!(
        cond("leader != old"),
        Cond::LeaderIs {
            negate: true,
            node: NodeRef::Saved("old".into())
        }
    );
    assert_eq!(
        cond("leader == 2"),
        Cond::LeaderIs {
            negate: false,
            node: id(2)
        }
    );
    assert_eq!(
        cond("role old != leader"),
        Cond::Role {
            node: NodeRef::Saved("old".into()),
            negate: true,
            role: crate::raft::Role::Leader
        }
    );
    assert_eq!(cond("term >= 2"), Cond::Term(Cmp::Ge, lit(2)));
    assert_eq!(
        cond("term > t - 1"),
        Cond::Term(
            Cmp::Gt,
            Num {
                name: Some("t".into()),
                offset: -1
            }
        )
    );
    assert_eq!(
        cond("committed >= 3 on all"),
        Cond::Committed(Cmp::Ge, lit(3), NodeSet::All)
    );
    assert_eq!(
        cond("applied == 3 on old 2"),
        Cond::Applied(
            Cmp::Eq,
            lit(3),
            NodeSet::List(vec![NodeRef::Saved("old".into()), id(2)])
        )
    );
    assert_eq!(cond("logs converged"), Cond::LogsConverged);
    assert_eq!(
        cond("value k = v on 1"),
        Cond::Value {
            key: "k".into(),
            value: Some("v".into()),
            on: NodeSet::List(vec![id(1)])
        }
    );
    assert_eq!(
        cond("value k = nil"),
        Cond::Value {
            key: "k".into(),
            value: None,
            on: NodeSet::All
        }
    );
    assert_eq!(cond("messages <= 60"), Cond::Messages(Cmp::Le, lit(60)));
    assert_eq!(cond("elections != 0"), Cond::Elections(Cmp::Ne, lit(0)));
    assert_eq!(cond("linearizable"), Cond::Linearizable);
    assert_eq!(cond("violation"), Cond::Violation(None));
    assert_eq!(
        cond("violation \"state machine safety\""),
        Cond::Violation(Some("state machine safety".into()))
    );
    assert_eq!(cond("no violation"), Cond::NoViolation);
}

#[test]
fn every_error_kind_has_a_located_message() {
    let cases = [
        (
            "run fast",
            "t.scen:2:5: expected a duration like 500ms, found \"fast\"",
        ),
        (
            "run",
            "t.scen:2:4: expected a duration like 500ms, found end of line",
        ),
        (
            "jump 3",
            "t.scen:2:1: unknown statement \"jump\" (see docs/scenarios.md for the list)",
        ),
        (
            "kill 7",
            "t.scen:2:6: there is no node 7: this cluster has nodes 1 to 5",
        ),
        (
            "kill n0",
            "t.scen:2:6: there is no node 0: this cluster has nodes 1 to 5",
        ),
        (
            "kill old",
            "t.scen:2:6: unknown name \"old\": give it a value first, e.g. `let old = leader`",
        ),
        (
            "kill",
            "t.scen:2:5: expected a node (1 to 5, `leader`, `follower`, `random` or a name from `let`), found end of line",
        ),
        (
            "expect term >= t",
            "t.scen:2:16: unknown name \"t\": give it a value first, e.g. `let t = term`",
        ),
        (
            "let t = term\nkill t",
            "t.scen:3:6: \"t\" holds a number, not a node",
        ),
        (
            "let o = leader\nexpect term > o",
            "t.scen:3:15: \"o\" holds a node, not a number",
        ),
        (
            "let leader = 1",
            "t.scen:2:5: \"leader\" cannot be a name: use letters, digits and `_`, not a keyword or n1…n9",
        ),
        ("let x 1", "t.scen:2:7: expected `=`, found \"1\""),
        (
            "let x = soon",
            "t.scen:2:9: expected a node, `term` or `committed`, found \"soon\"",
        ),
        (
            "loss 20",
            "t.scen:2:6: expected a percentage like 20%, found \"20\"",
        ),
        (
            "loss 120%",
            "t.scen:2:6: expected a percentage like 20%, found \"120%\"",
        ),
        (
            "delay 50..5ms",
            "t.scen:2:7: the delay range \"50..5ms\" goes backwards",
        ),
        (
            "delay soon",
            "t.scen:2:7: expected a delay range like 5..50ms, found \"soon\"",
        ),
        (
            "heal now",
            "t.scen:2:6: unexpected \"now\" after the end of the statement",
        ),
        ("put x", "t.scen:2:6: expected a value, found end of line"),
        (
            "put x 1 -> \"1\"",
            "t.scen:2:12: a put answers ok, timeout or unavailable; found \"1\"",
        ),
        (
            "cas x 1 2 -> maybe",
            "t.scen:2:14: a cas answers true, false, ok, timeout or unavailable; found \"maybe\"",
        ),
        (
            "get x ->",
            "t.scen:2:9: expected a value in quotes, nil, ok, timeout or unavailable, found end of line",
        ),
        (
            "get x stale",
            "t.scen:2:12: a stale read needs `on NODE`: the node whose store is read",
        ),
        (
            "get x soon",
            "t.scen:2:7: \"soon\" is one word too many: a key with spaces goes in quotes, e.g. `get \"my key\"`; after it come only `on NODE`, `timeout D` or `-> RESULT`",
        ),
        (
            "put k$i v",
            "t.scen:2:5: `$i` is only defined inside `repeat` and `concurrently`",
        ),
        (
            "expect",
            "t.scen:2:7: expected a condition (leader, no leader, candidate, role, term, committed, uncommitted, applied, logs converged, value, messages, elections, voters, learners, change committed, linearizable, violation), found end of line",
        ),
        (
            "expect happy",
            "t.scen:2:8: expected a condition (leader, no leader, candidate, role, term, committed, uncommitted, applied, logs converged, value, messages, elections, voters, learners, change committed, linearizable, violation), found \"happy\"",
        ),
        (
            "expect term 3",
            "t.scen:2:13: expected a comparison (==, !=, <, <=, >, >=), found \"3\"",
        ),
        (
            "expect no quorum",
            "t.scen:2:11: expected `leader`, found \"quorum\"",
        ),
        (
            "expect logs",
            "t.scen:2:12: expected `converged`, found end of line",
        ),
        ("expect value x 1", "t.scen:2:16: expected `=`, found \"1\""),
        (
            "wait linearizable",
            "t.scen:2:1: `wait linearizable` cannot become true later; use `expect linearizable`",
        ),
        (
            "wait leader within",
            "t.scen:2:19: expected a duration like 500ms, found end of line",
        ),
        (
            "partition 1 2 | 2 3",
            "t.scen:2:17: node 2 is in two groups",
        ),
        (
            "partition 1 2 |",
            "t.scen:2:16: every group of a partition needs at least one node, e.g. `partition 1 2 | 3 4 5`",
        ),
        ("cut 1 2", "t.scen:2:7: expected `->`, found \"2\""),
        ("reset", "t.scen:2:6: expected `stats`, found end of line"),
        (
            "repeat x {",
            "t.scen:2:8: expected a repeat count, found \"x\"",
        ),
        (
            "repeat 3",
            "t.scen:2:9: expected `{` or `:` after the repeat count, found end of line",
        ),
        (
            "repeat 3 {\nrun 1s",
            "t.scen:2:1: this `repeat … {` is never closed with `}`",
        ),
        (
            "}",
            "t.scen:2:1: this `}` closes nothing: no `repeat … {` is open",
        ),
        (
            "concurrently 3: kill 1",
            "t.scen:2:17: expected an operation (put, get, delete or cas), found \"kill\"",
        ),
        (
            "put x \"oops",
            "t.scen:2:7: this string has no closing quote",
        ),
        ("cluster 0", "t.scen:2:9: a cluster has 1 to 9 nodes, not 0"),
        (
            "cluster 3 bug fast",
            "t.scen:2:15: unknown bug \"fast\" (known: commit-old-terms, skip-prev-check, forget-vote, stale-leader-reads, ack-before-fsync, two-changes-in-flight)",
        ),
        (
            "cluster 3 speed 2",
            "t.scen:2:11: expected `seed S`, `bug NAME` or the end of the line, found \"speed\"",
        ),
        (
            "cluster 3 seed -1",
            "t.scen:2:16: expected a seed, found \"-1\"",
        ),
    ];
    for (text, want) in cases {
        assert_eq!(error(text), want, "for {text:?}");
    }
}

#[test]
fn statements_before_a_cluster_and_all_errors_reported() {
    let err = parse("say hello\nrun 1s\ncluster 2\nkill 3\n", "t.scen").err();
    let messages: Vec<String> = err
        .map(|e| e.0.iter().map(|e| e.to_string()).collect())
        .unwrap_or_default();
    assert_eq!(
        messages,
        [
            "t.scen:2:1: no cluster yet: create one first with `cluster N` (e.g. `cluster 5 seed 1`)",
            "t.scen:4:6: there is no node 3: this cluster has nodes 1 to 2",
        ]
    );
}

#[test]
fn membership_statements_and_conditions() {
    assert_eq!(
        last("add 6"),
        StmtKind::Member {
            op: MemberOp::Add,
            node: id(6),
            refused: None
        }
    );
    // After `add 7`, ids up to 7 are nodes of the cluster.
    assert_eq!(
        last("add 7\npromote n7 -> ok"),
        StmtKind::Member {
            op: MemberOp::Promote,
            node: id(7),
            refused: Some(false)
        }
    );
    assert_eq!(
        last("remove leader -> refused"),
        StmtKind::Member {
            op: MemberOp::Remove,
            node: NodeRef::Leader,
            refused: Some(true)
        }
    );
    assert_eq!(
        last("expect voters == 1 2 3"),
        StmtKind::Expect(Cond::Members {
            learners: false,
            ids: vec![id(1), id(2), id(3)],
            on: None
        })
    );
    assert_eq!(
        last("wait learners == none on all"),
        StmtKind::Wait {
            cond: Cond::Members {
                learners: true,
                ids: vec![],
                on: Some(NodeSet::All)
            },
            within_us: DEFAULT_WAIT_US
        }
    );
    assert_eq!(
        last("wait change committed"),
        StmtKind::Wait {
            cond: Cond::ChangeCommitted,
            within_us: DEFAULT_WAIT_US
        }
    );
}

#[test]
fn membership_errors_are_located() {
    let cases = [
        (
            "add 10",
            "t.scen:2:5: there is no node 10: node ids run from 1 to 9",
        ),
        (
            "add 0",
            "t.scen:2:5: there is no node 0: node ids run from 1 to 9",
        ),
        (
            "promote 6",
            "t.scen:2:9: there is no node 6: this cluster has nodes 1 to 5",
        ),
        (
            "remove 2 -> maybe",
            "t.scen:2:13: expected `ok` or `refused`, found \"maybe\"",
        ),
        (
            "expect voters 1 2",
            "t.scen:2:15: expected `==`, found \"1\"",
        ),
        (
            "wait change",
            "t.scen:2:12: expected `committed`, found end of line",
        ),
    ];
    for (text, want) in cases {
        assert_eq!(error(text), want, "for {text:?}");
    }
}

/// The console's requests and a script's client statements are one
/// grammar: every request line parses to the same operation both ways.
#[test]
fn console_requests_and_script_statements_share_one_grammar() {
    let put = |key: &str, value: &str| {
        let op = Op::Put {
            key: key.into(),
            value: value.into(),
        };
        (op, false)
    };
    let cases = [
        ("put y 2 on 1", put("y", "2"), Some(id(1))),
        (r#"put y "2 on 1""#, put("y", "2 on 1"), None),
        (
            r#"put k "two words" on n3"#,
            put("k", "two words"),
            Some(id(3)),
        ),
        ("put x 1 on leader", put("x", "1"), Some(NodeRef::Leader)),
        (
            "get x on 2",
            (Op::Get { key: "x".into() }, false),
            Some(id(2)),
        ),
        (
            "get x stale on 4",
            (Op::Get { key: "x".into() }, true),
            Some(id(4)),
        ),
        (
            "delete x on 5",
            (Op::Delete { key: "x".into() }, false),
            Some(id(5)),
        ),
        (
            "cas x 1 2",
            (
                Op::Cas {
                    key: "x".into(),
                    old: "1".into(),
                    new: "2".into(),
                },
                false,
            ),
            None,
        ),
    ];
    for (line, (op, stale), on) in cases {
        let want = ClientOp {
            op,
            stale,
            on,
            timeout_us: None,
            expect: None,
        };
        assert_eq!(last(line), StmtKind::Client(want.clone()), "script: {line}");
        assert_eq!(
            crate::scenario::parse_request(line, 5),
            Ok(want),
            "console: {line}"
        );
    }
    // The same mistakes, the same words (the script's carry a place).
    for (line, words) in [
        (
            "put k two words",
            "\"words\" is one word too many: a value with spaces goes in quotes",
        ),
        (
            "put y 2 on 9",
            "there is no node 9: this cluster has nodes 1 to 5",
        ),
        ("put y 2 on", "expected a node"),
        ("put k", "expected a value"),
    ] {
        let script = error(line);
        let console = crate::scenario::parse_request(line, 5).unwrap_err();
        assert!(script.contains(words), "script: {script}");
        assert!(console.contains(words), "console: {console}");
    }
    // What only a script has.
    assert!(matches!(
        last("put x 1 on 1 timeout 1s -> ok"),
        StmtKind::Client(_)
    ));
    let console = crate::scenario::parse_request("put x 1 on 1 -> ok", 5).unwrap_err();
    assert!(console.contains("belongs in scripts"), "{console}");
    assert!(crate::scenario::parse_request("kill 1", 5).is_err());
}
