//! The runner against the toy cluster in [`fake`](crate::scenario::fake).

use crate::scenario::fake::Fake;
use crate::scenario::{Cluster, ClusterSpec, Mark, Report, ScriptError, run_script};

fn factory(spec: ClusterSpec) -> Result<Box<dyn Cluster>, String> {
    Ok(Box::new(Fake::new(spec.nodes)))
}

fn run(text: &str) -> Report {
    match run_script(text, "t.scen", factory) {
        Ok(report) => report,
        Err(e) => panic!("script did not run: {e}"),
    }
}

fn passes(text: &str) -> Report {
    let report = run(text);
    assert!(report.passed, "{}", report.render());
    report
}

fn fails_at(text: &str, line: usize, message: &str) -> Report {
    let report = run(text);
    let failure = report.failure.clone();
    assert!(!report.passed, "{}", report.render());
    let failure = failure.unwrap_or_else(|| panic!("no failure recorded"));
    assert_eq!(failure.line, line, "{}", report.render());
    assert!(
        failure.message.contains(message),
        "{:?} does not contain {message:?}",
        failure.message
    );
    report
}

#[test]
fn election_and_agreement_pass_with_a_readable_transcript() {
    let report = passes(
        "# A leader is elected and serves a write.\n\
         cluster 3 seed 7\n\
         wait leader within 1s\n\
         put x 1 -> ok\n\
         get x -> \"1\"\n\
         get y -> nil\n\
         cas x 1 2 -> true\n\
         cas x 1 3 -> false\n\
         delete x -> ok\n\
         expect value x = nil on all\n\
         expect committed >= 4 on all\n\
         expect applied >= 4\n\
         expect logs converged\n\
         expect linearizable\n",
    );
    let text = report.render();
    assert!(text.starts_with("# A leader is elected and serves a write.\n"));
    assert!(text.contains("wait leader within 1s"));
    assert!(text.contains("✓ n1 leads term 1 after 300ms"), "{text}");
    assert!(text.contains("✓ \"1\""), "{text}");
    assert!(text.ends_with("PASS t.scen\n"));
    assert_eq!(report.transcript[0].mark, Mark::Info);
    assert_eq!(report.transcript[0].detail, "3 nodes, seed 7");
    assert!(report.trace_hash.is_some());
}

#[test]
fn wait_fails_at_its_deadline_and_the_run_stops() {
    let report = fails_at(
        "cluster 3\nkill 1 2\nwait leader within 1s\nput x 1\n",
        3,
        "expected leader within 1s, got no leader",
    );
    assert_eq!(report.transcript.len(), 3);
    assert_eq!(report.transcript[2].mark, Mark::Fail);
    assert_eq!(report.transcript[2].at_us, 1_000_000);
    assert!(report.render().contains("FAIL t.scen:3: expected leader"));
}

#[test]
fn a_remembered_leader_can_be_killed_and_restarted() {
    let report = passes(
        "cluster 5\nwait leader\nlet old = leader\nlet t = term\nkill old\n\
         wait leader != old within 1s\nexpect term >= t + 1\nexpect leader in 2 3\n\
         restart old\nexpect committed >= 2 on old\nrestart all\nwait leader\n",
    );
    let text = report.render();
    assert!(text.contains("old = n1"), "{text}");
    assert!(text.contains("crashed n1"), "{text}");
    assert!(text.contains("n1 restarted"), "{text}");
    assert!(text.contains("n2 rebooted"), "{text}");
}

#[test]
fn failed_expectations_say_what_was_expected_and_found() {
    fails_at(
        "cluster 3\nwait leader\nexpect no leader\n",
        3,
        "expected no leader, got n1 leads term 1",
    );
    fails_at(
        "cluster 3\nwait leader\nexpect term >= 5\n",
        3,
        "got term 1",
    );
    fails_at(
        "cluster 3\nwait leader\nput x 1 -> timeout\n",
        3,
        "expected timeout, got ok",
    );
    fails_at(
        "cluster 3\nwait leader\nget x -> \"2\"\n",
        3,
        "expected \"2\", got nil",
    );
    fails_at(
        "cluster 3\nwait leader\nexpect committed >= 9 on 1 2\n",
        3,
        "n1=1 n2=1",
    );
    fails_at(
        "cluster 3\nwait leader\nkill 3\nexpect applied >= 1 on 3\n",
        4,
        "n3 down",
    );
    fails_at(
        "cluster 3\nwait leader\nexpect value x = 1\n",
        3,
        "n1=nil n2=nil n3=nil",
    );
}

#[test]
fn minority_operations_time_out_and_stale_reads_show_old_values() {
    passes(
        "cluster 5\nwait leader\nput x old -> ok\npartition 1 2 3 | 4 5\n\
         put x new on leader -> ok\nget x on 4 timeout 500ms -> timeout\n\
         get x stale on 4 -> \"old\"\nget x stale on 1 -> \"new\"\nexpect value x = old on 4 5\n\
         heal\nrun 100ms\nexpect elections == 1\n",
    );
}

#[test]
fn unavailable_and_refusals() {
    passes(
        "cluster 3\nwait leader\nkill 2\nput x 1 on 2 -> unavailable\nget x stale on 2 -> unavailable\n",
    );
    fails_at("cluster 3\nkill 2\nkill 2\n", 3, "node 2 is not running");
    passes("cluster 3\nwait leader\nkill 2 3\nput x 1 timeout 1s -> timeout | unavailable\n");
    fails_at(
        "cluster 3\nwait leader\nput x 1 -> timeout | unavailable\n",
        3,
        "expected timeout or unavailable, got ok",
    );
    fails_at("cluster 3\nput x 1 on leader\n", 2, "there is no leader");
}

#[test]
fn loops_substitute_the_counter() {
    let report = passes(
        "cluster 3\nwait leader\nrepeat 3 {\n  put k$i v$i -> ok\n  get k$i -> v$i\n}\n\
         repeat 2: get k$i -> \"v$i\"\nconcurrently 4: put c$i $i -> ok\nexpect value c4 = 4\n\
         expect committed >= 8\n",
    );
    let depth: Vec<usize> = report.transcript.iter().map(|l| l.depth).collect();
    assert_eq!(&depth[2..5], &[0, 1, 1]);
    let text = report.render();
    assert!(text.contains("ok, ok, ok, ok"), "{text}");
}

#[test]
fn a_failure_inside_a_loop_names_the_iteration() {
    fails_at(
        "cluster 3\nwait leader\nrepeat 3 {\nput k$i v -> ok\nexpect committed <= 2\n}\n",
        5,
        "(iteration 2)",
    );
}

#[test]
fn message_and_election_counters_reset() {
    passes(
        "cluster 3\nwait leader\nreset stats\nrun 1s\nexpect messages <= 40\nexpect messages >= 20\n\
         expect elections == 0\nreset stats\nput x 1 -> ok\nexpect messages == 4\n",
    );
}

#[test]
fn fabric_statements_reach_the_cluster() {
    let mut calls = Vec::new();
    let text = "cluster 3\nisolate 2\ncut 1 -> 3\nheal\nloss 20%\ndelay 5..50ms\nduplicate 10%\n\
                partition 1 3 | 2\nwait leader\ntransfer 3\nexpect leader == 3\nsay done\n";
    let report = run_script(text, "t.scen", |spec: ClusterSpec| {
        let fake = Fake::new(spec.nodes);
        calls.push(());
        Ok(Box::new(fake) as Box<dyn Cluster>)
    });
    let report = report.unwrap_or_else(|e| panic!("{e}"));
    assert!(report.passed, "{}", report.render());
    let text = report.render();
    assert!(text.contains("isolated n2"));
    assert!(text.contains("n1 → n3 dropped"));
    assert!(text.contains("20% of messages lost"));
    assert!(text.contains("messages take 5ms to 50ms"));
    assert!(text.contains("n1 n3 | n2"), "{text}");
    assert!(text.contains("» done"), "{text}");
    assert_eq!(calls.len(), 1);
}

#[test]
fn violations_and_setup_errors() {
    let report = run_script("cluster 3\nexpect linearizable\n", "t.scen", |_spec| {
        let mut fake = Fake::new(3);
        fake.broken_history = true;
        Ok(Box::new(fake) as Box<dyn Cluster>)
    });
    let report = report.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        report.failure.map(|f| f.message),
        Some("expected linearizable, got invariant violated: history is not linearizable".into())
    );

    let err = run_script("say hi\ncluster 3\n", "t.scen", |_spec| {
        Err("no sim".to_string())
    });
    match err {
        Err(e @ ScriptError::Setup { .. }) => {
            assert_eq!(e.to_string(), "t.scen:2: cannot create the cluster: no sim");
        }
        other => panic!("expected a setup error, got {other:?}"),
    }
    assert!(matches!(
        run_script("cluster 10\n", "t.scen", factory),
        Err(ScriptError::Parse(_))
    ));
}

#[test]
fn random_picks_are_deterministic_per_seed() {
    let script = "cluster 5 seed 3\nrepeat 4: kill random\nrestart all\nrepeat 4: kill random\n";
    let a = run(script).render();
    let b = run(script).render();
    assert_eq!(a, b);
    let c = run(&script.replace("seed 3", "seed 4")).render();
    assert_ne!(a, c);
}

#[test]
fn follower_means_a_running_non_leader() {
    passes(
        "cluster 3\nwait leader\nlet f = follower\nexpect role f == follower\nexpect role leader = leader\nkill follower\nexpect leader != f\n",
    );
    fails_at(
        "cluster 3\nwait leader\nexpect role 2 != follower\n",
        3,
        "got n2 is follower in term 1",
    );
}

#[test]
fn a_cluster_without_membership_changes_refuses_them_clearly() {
    fails_at(
        "cluster 3\nwait leader within 1s\nadd 4\n",
        3,
        "cannot add learner 4: this cluster does not support membership changes yet",
    );
    // `-> refused` accepts the refusal; the configuration is unchanged.
    passes(
        "cluster 3\nwait leader within 1s\nadd 4 -> refused\nremove 2 -> refused\nexpect voters == 1 2 3\nexpect learners == none\nexpect change committed\n",
    );
    fails_at(
        "cluster 3\nwait leader within 1s\nexpect voters == 1 2\n",
        3,
        "expected voters == 1 2, got 1 2 3 (leader n1)",
    );
}

/// `violation` reads the cluster's checker: a simulated run ends at its
/// first violation, and `wait violation` is judged on it (once: a text
/// that does not match fails with the violation, it does not spin);
/// without one it fails at its deadline; a cluster with no checker says so.
#[test]
fn violation_conditions_read_the_checker() {
    let tour = include_str!("../../../assets/tours/09_figure8_broken.scen");
    let sim = |text: &str| run_script(text, "t.scen", crate::scenario::sim_factory(1)).unwrap();
    let report = sim(tour);
    assert!(report.passed, "{}", report.render());

    let other = tour.replace(
        "wait violation within 3s",
        "wait violation \"log matching\" within 3s",
    );
    let report = sim(&other);
    let failure = report.failure.clone().expect("fails");
    assert!(
        failure
            .message
            .starts_with("invariant violated: leader completeness"),
        "{}",
        report.render()
    );

    let named = tour.replace(
        "wait violation within 3s",
        "expect no violation\nwait violation \"leader completeness\" within 3s\nexpect violation",
    );
    let report = sim(&named);
    assert!(report.passed, "{}", report.render());

    let report = sim("cluster 3 seed 1\nwait leader\nwait violation within 200ms\n");
    assert_eq!(
        report.failure.map(|f| f.message),
        Some("expected violation within 200ms, got no violation".into())
    );

    fails_at(
        "cluster 3\nexpect no violation\n",
        2,
        "this cluster has no invariant checker",
    );
}
