//! `hold`, `release`, `deliver N|all`, `drop N|all` and `held CMP NUM`:
//! parsed, refused where a cluster cannot hold messages, and run on the
//! simulator, where a script plays an election one message at a time.

use super::parser::{error, last};
use crate::net::HeldRef;
use crate::scenario::ast::{Cmp, Cond, Num, StmtKind};
use crate::scenario::fake::Fake;
use crate::scenario::{Cluster, ClusterSpec, Report, run_script, sim_factory};

#[test]
fn hold_statements_parse() {
    assert_eq!(last("hold"), StmtKind::Hold);
    assert_eq!(last("release"), StmtKind::Release);
    assert_eq!(last("deliver 3"), StmtKind::Deliver(HeldRef::One(3)));
    // In a script `#` starts a comment: `deliver #3` names no message.
    assert!(error("deliver #3").contains("found end of line"));
    assert_eq!(last("deliver all"), StmtKind::Deliver(HeldRef::All));
    assert_eq!(last("drop 12"), StmtKind::DropHeld(HeldRef::One(12)));
    assert_eq!(last("drop all"), StmtKind::DropHeld(HeldRef::All));
    let lit = Num {
        name: None,
        offset: 2,
    };
    assert_eq!(
        last("expect held == 2"),
        StmtKind::Expect(Cond::Held(Cmp::Eq, lit.clone()))
    );
    assert!(matches!(
        last("wait held >= 2 within 1s"),
        StmtKind::Wait {
            cond: Cond::Held(Cmp::Ge, _),
            ..
        }
    ));
}

#[test]
fn hold_mistakes_are_located() {
    assert_eq!(
        error("deliver"),
        "t.scen:2:8: expected a held message's number or `all`, found end of line"
    );
    assert!(error("deliver x").starts_with("t.scen:2:9: 'x' is not a held message"));
    assert!(
        error("drop 0").contains("its number"),
        "{}",
        error("drop 0")
    );
    assert!(
        error("drop \"1\"").contains("found \"1\""),
        "{}",
        error("drop \"1\"")
    );
    assert!(
        error("hold 3").contains("after the end of the statement"),
        "{}",
        error("hold 3")
    );
    assert!(error("release all").contains("after the end of the statement"));
    assert!(error("deliver 1 2").contains("after the end of the statement"));
}

fn run(text: &str, factory: impl FnMut(ClusterSpec) -> Result<Box<dyn Cluster>, String>) -> Report {
    match run_script(text, "t.scen", factory) {
        Ok(report) => report,
        Err(e) => panic!("script did not run: {e}"),
    }
}

/// A cluster with no hold queue says so, and the run stops there.
#[test]
fn a_cluster_that_cannot_hold_refuses() {
    let report = run("cluster 3\nhold\n", |spec| {
        Ok(Box::new(Fake::new(spec.nodes)) as Box<dyn Cluster>)
    });
    assert!(!report.passed);
    let failure = report.failure.unwrap_or_else(|| panic!("no failure"));
    assert_eq!(failure.line, 2);
    assert_eq!(failure.message, "this cluster cannot hold messages");
}

/// On the simulator, a script holds the first election's messages, plays
/// some by hand and lets the rest go; the transcript says what went.
#[test]
fn a_script_plays_an_election_by_hand() {
    let text = "# The first election, one message at a time.\n\
                cluster 3 seed 2\n\
                hold\n\
                wait held >= 2 within 1s\n\
                expect no leader\n\
                deliver 1\n\
                drop 2\n\
                deliver 2 -> \n";
    // `deliver 2` after `drop 2` is refused: it is gone.
    let report = run(&text.replace(" -> \n", "\n"), sim_factory(1));
    let out = report.render();
    assert!(!report.passed, "{out}");
    assert!(
        out.contains("→ holding: new messages wait on their links"),
        "{out}"
    );
    assert!(out.contains("✓ 2 held (#1 n"), "{out}");
    assert!(out.contains("→ delivered #1 n"), "{out}");
    assert!(out.contains("→ dropped #2 n"), "{out}");
    assert!(out.contains("no message #2 is held"), "{out}");

    let report = run(
        "cluster 3 seed 2\n\
         hold\n\
         wait held >= 2 within 1s\n\
         deliver all\n\
         release\n\
         expect held == 0\n\
         wait leader within 2s\n\
         put x 1 -> ok\n",
        sim_factory(1),
    );
    assert!(report.passed, "{}", report.render());
    assert!(
        report.render().contains("→ new messages travel again"),
        "{}",
        report.render()
    );
    // The same script, the same run.
    let again = run(
        "cluster 3 seed 2\nhold\nwait held >= 2 within 1s\ndeliver all\nrelease\nexpect held == 0\nwait leader within 2s\nput x 1 -> ok\n",
        sim_factory(1),
    );
    assert_eq!(again.trace_hash, report.trace_hash);
}
