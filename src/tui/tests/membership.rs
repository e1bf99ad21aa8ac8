//! Membership on the dashboard: the keys and console commands that change
//! it, and how cards and the status bar show learners, removed nodes and a
//! pending change.

use super::*;
use crate::raft::Membership;

fn assert_screen(name: &str, screen: String) {
    let mut settings = insta::Settings::clone_current();
    settings.set_snapshot_path("../snapshots");
    settings.set_prepend_module_to_snapshot(true);
    settings.bind(|| insta::assert_snapshot!(name, screen));
}

/// Four nodes: n1 leads voters 1 2 3, n4 just joined as a learner and the
/// change adding it is not committed yet.
fn with_learner() -> ClusterView {
    let terms = [1, 2, 2, 2, 2];
    let config = Membership::of_voters([1, 2, 3]);
    let config = Membership {
        learners: crate::raft::NodeSet::of([4]),
        ..config
    };
    let nodes = (1..=4)
        .map(|id| {
            let role = if id == 1 {
                Role::Leader
            } else {
                Role::Follower
            };
            let have = if id == 4 { 2 } else { 5 };
            let mut n = node(id, role, &terms[..have], 4);
            n.membership = config;
            n.membership_pending = true;
            n
        })
        .collect();
    cluster(nodes, vec![])
}

#[test]
fn snapshot_a_learner_card_and_a_pending_change() {
    let (mut app, _) = app(with_learner());
    let screen = screen(&mut app, 100, 30);
    assert!(screen.contains("learner"), "{screen}");
    // At 100 columns the bar shortens "change pending" to leave room for keys.
    assert!(
        screen.contains("voters 1 2 3 · learners 4 · pending"),
        "{screen}"
    );
    assert_screen("membership_learner_pending", screen);
    let wide = super::screen(&mut app, 260, 50);
    assert!(
        wide.contains("voters 1 2 3 · learners 4 · change pending"),
        "{wide}"
    );
}

#[test]
fn a_removed_node_says_so_and_the_bar_shows_the_new_voters() {
    let mut v = with_learner();
    let config = Membership::of_voters([1, 3, 4]);
    for n in v.nodes.iter_mut() {
        let mut m = (**n).clone();
        m.membership = config;
        m.membership_pending = false;
        *n = Arc::new(m);
    }
    let (mut app, _) = app(v);
    let screen = screen(&mut app, 100, 30);
    assert!(screen.contains("removed"), "{screen}");
    assert!(screen.contains("voters 1 3 4 "), "{screen}");
    assert!(!screen.contains("change pending"), "{screen}");
}

#[test]
fn keys_and_commands_ask_for_changes() {
    let (mut app, rec) = app(elected());
    press(&mut app, &[key('a')]);
    press(&mut app, &[key('3'), key('P'), key('x')]);
    press(&mut app, &[key(':')]);
    typed(&mut app, "add 7");
    typed(&mut app, "promote 7");
    typed(&mut app, "remove leader");
    assert_eq!(
        rec.requests(),
        vec![
            Request::AddLearner(6),
            Request::Promote(3),
            Request::Remove(3),
            Request::AddLearner(7),
            Request::Promote(7),
            Request::Remove(1),
        ]
    );
    typed(&mut app, "add 12");
    let screen = screen(&mut app, 100, 30);
    assert!(screen.contains("ids are 1 to 9"), "{screen}");
}

#[test]
fn a_full_cluster_refuses_the_add_key_in_words() {
    let nodes = (1..=9).map(|id| node(id, Role::Follower, &[], 0)).collect();
    let (mut app, rec) = app(cluster(nodes, vec![]));
    press(&mut app, &[key('a')]);
    assert!(rec.requests().is_empty());
    let screen = screen(&mut app, 120, 40);
    assert!(screen.contains("the most it can have"), "{screen}");
}

#[test]
fn cards_lay_out_again_when_a_node_joins() {
    let (mut app, _) = app(elected());
    let before = screen(&mut app, 120, 40);
    assert!(!before.contains("n6"));
    let mut v = elected();
    let mut n6 = node(6, Role::Follower, &[], 0);
    n6.membership = Membership::of_voters([1, 2, 3, 4, 5]);
    v.nodes.push(Arc::new(n6));
    v.version += 1;
    app.update(Action::View(NewView(Arc::new(v))));
    let after = screen(&mut app, 120, 40);
    assert!(after.contains("n6"), "{after}");
}

#[test]
fn simulated_mode_sends_membership_changes_to_the_simulator() {
    let (mut app, rec) = app(elected());
    app.sim = Some(sim_seed_7());
    press(&mut app, &[key('a'), key('2'), key('P'), key('x')]);
    press(&mut app, &[key(':')]);
    typed(&mut app, "add 6");
    assert_eq!(
        rec.requests(),
        vec![
            Request::AddLearner(6),
            Request::Promote(2),
            Request::Remove(2),
            Request::AddLearner(6),
        ]
    );
    let screen = screen(&mut app, 120, 40);
    assert!(!screen.contains("live mode only"), "{screen}");
}

#[test]
fn snapshot_removed_and_learner_cards_show_no_election_timer() {
    // n2 was removed and knows it; n4 is a learner. Neither ever
    // campaigns, so neither card shows a countdown, even mid-timeout.
    let mut v = with_learner();
    let config = Membership {
        learners: crate::raft::NodeSet::of([4]),
        ..Membership::of_voters([1, 3])
    };
    for n in v.nodes.iter_mut() {
        let mut m = (**n).clone();
        m.membership = config;
        m.membership_pending = false;
        m.election_elapsed = 12;
        m.election_timeout = 20;
        *n = Arc::new(m);
    }
    let (mut app, _) = app(v);
    let wide = screen(&mut app, 120, 30);
    assert!(wide.contains("no election timer: removed"), "{wide}");
    assert!(wide.contains("learner: does not campaign"), "{wide}");
    // 12 of 20 ticks gone: an election in 8 ticks, 0.08 s of cluster time.
    assert_eq!(
        wide.matches("election in 0.08s").count(),
        1,
        "only n3 counts down: {wide}"
    );
    assert_screen("membership_no_timer_removed_and_learner", wide);
    let narrow = screen(&mut app, 80, 24);
    assert!(narrow.contains("no timer"), "{narrow}");
    assert_eq!(narrow.matches("0.08s").count(), 1, "{narrow}");
}
