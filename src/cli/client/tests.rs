use super::{NOTHING_TRIED, failed};

#[test]
fn a_wait_cut_short_by_the_deadline_keeps_the_reason_before_it() {
    let mut last = "node 2 says the leader is node 1, which is not in --peers".to_string();
    failed(&mut last, true, || "node 2: no answer in time".into());
    assert_eq!(
        last,
        "node 2 says the leader is node 1, which is not in --peers"
    );
}

#[test]
fn a_failure_of_its_own_or_with_nothing_better_is_said() {
    let mut last = "node 3 knows no leader".to_string();
    failed(&mut last, false, || "node 2: connection refused".into());
    assert_eq!(last, "node 2: connection refused");

    let mut last = NOTHING_TRIED.to_string();
    failed(&mut last, true, || "node 2: no answer in time".into());
    assert_eq!(last, "node 2: no answer in time");
}
