//! The tour menu (`T`, console `tour`) and the newer tours' captions, on
//! the made-up views of the parent module.

use ratatui::crossterm::event::KeyCode;

use super::*;
use crate::scenario::Mark;
use crate::scenario::tours::{self, TOURS};
use crate::tui::tour::{Tour, TourEvent};

/// Compares with a snapshot kept with the dashboard's others, in
/// `src/tui/snapshots`.
fn assert_screen(name: &str, screen: String) {
    let mut settings = insta::Settings::clone_current();
    settings.set_snapshot_path("../snapshots");
    settings.set_prepend_module_to_snapshot(true);
    settings.bind(|| insta::assert_snapshot!(name, screen));
}

/// Puts the shipped tour `name` on the dashboard, its thread stood in for
/// by the test: the receiver sees each go.
fn play(app: &mut App, name: &str) -> crossbeam_channel::Receiver<crate::tui::tour::Go> {
    let tour = tours::find(name).expect("shipped");
    let script = crate::scenario::parse(tour.text, tour.file).expect("parses");
    let (go, went) = crossbeam_channel::bounded(1);
    app.tour = Some(Tour::new(name, &script, None, go));
    went
}

fn row_of(name: &str) -> usize {
    TOURS.iter().position(|t| t.name == name).expect("shipped")
}

#[test]
fn t_opens_the_menu_arrows_choose_and_enter_asks_for_the_tour() {
    let (mut app, rec) = app(elected());
    press(&mut app, &[key('T')]);
    assert_eq!(app.tour_menu, Some(0));
    // The menu takes the keys: k and j move in it, they do not kill.
    press(
        &mut app,
        &[code(KeyCode::Down), key('j'), key('k'), key('j')],
    );
    assert_eq!(app.tour_menu, Some(2));
    press(
        &mut app,
        &[code(KeyCode::Up), code(KeyCode::Up), code(KeyCode::Up)],
    );
    assert_eq!(app.tour_menu, Some(0), "stops at the top");
    press(&mut app, &[code(KeyCode::End)]);
    assert_eq!(app.tour_menu, Some(TOURS.len() - 1));
    assert!(rec.requests().is_empty(), "{:?}", rec.requests());
    press(&mut app, &[code(KeyCode::Enter)]);
    assert_eq!(app.tour_menu, None);
    assert_eq!(
        app.tour_request.as_deref(),
        Some(TOURS[TOURS.len() - 1].name)
    );
    assert!(screen(&mut app, 120, 40).contains("starting it on a fresh cluster"));
}

#[test]
fn esc_t_and_q_close_the_menu_without_quitting() {
    let (mut app, _) = app(elected());
    for close in [code(KeyCode::Esc), key('T'), key('q')] {
        press(&mut app, &[key('T')]);
        assert!(app.tour_menu.is_some());
        press(&mut app, &[close]);
        assert_eq!(app.tour_menu, None);
        assert!(!app.quit);
        assert_eq!(app.tour_request, None);
    }
}

#[test]
fn the_menu_opens_on_the_tour_being_played() {
    let (mut app, _) = app(startup());
    let _went = play(&mut app, "figure8");
    press(&mut app, &[key('T')]);
    assert_eq!(app.tour_menu, Some(row_of("figure8")));
    // Enter starts the chosen tour; it does not run the tour's next step.
    press(&mut app, &[code(KeyCode::Down), code(KeyCode::Enter)]);
    assert_eq!(app.tour_request.as_deref(), Some("snapshots"));
}

#[test]
fn console_tour_lists_the_tours_and_tour_name_asks_for_one() {
    let (mut app, rec) = app(elected());
    press(&mut app, &[key(':')]);
    typed(&mut app, "tour");
    let s = screen(&mut app, 120, 40);
    for tour in TOURS {
        assert!(s.contains(tour.name), "{} missing:\n{s}", tour.name);
    }
    typed(&mut app, "tour nope");
    let s = screen(&mut app, 120, 40);
    assert!(s.contains("there is no tour called 'nope'"), "{s}");
    assert_eq!(app.tour_request, None);
    typed(&mut app, "tour two words");
    assert!(screen(&mut app, 120, 40).contains("tour: wrong arguments"));
    typed(&mut app, "tour Snapshots");
    assert_eq!(app.tour_request.as_deref(), Some("snapshots"));
    assert!(rec.requests().is_empty());
}

#[test]
fn replacing_the_cluster_gives_up_requests_under_way() {
    let (mut app, rec) = app(elected());
    press(&mut app, &[key(':')]);
    typed(&mut app, "put x 1");
    let id = rec.last_id();
    assert_eq!(app.pending.len(), 1);
    let fresh = Recorder::default();
    app.replace_cluster(Arc::new(startup()), Box::new(fresh.clone()));
    assert!(app.pending.is_empty());
    assert!(screen(&mut app, 100, 30).contains("dropped: the cluster was replaced"));
    // A late answer from the old cluster is ignored.
    app.update(Action::Done(Outcome {
        id,
        result: Ok("OK".into()),
    }));
    assert!(!screen(&mut app, 100, 30).contains("│  OK"));
    // New requests go to the new cluster's driver.
    typed(&mut app, "heal");
    assert_eq!(fresh.requests(), vec![Request::Heal]);
    assert_eq!(app.view.nodes[0].role, Role::Follower);
}

#[test]
fn snapshot_tour_menu() {
    let (mut app, _) = app(elected());
    press(
        &mut app,
        &[key('T'), code(KeyCode::Down), code(KeyCode::Down)],
    );
    assert_screen("tour_menu", screen(&mut app, 80, 24));
}

#[test]
fn snapshot_tour_menu_ascii() {
    let options = ascii_options(false);
    let (mut app, _) = app_with(elected(), options);
    press(&mut app, &[key('T')]);
    let s = screen(&mut app, 80, 24);
    // "×" in the status bar's speed is the only non-ASCII, as elsewhere.
    let odd: Vec<char> = s.chars().filter(|c| !c.is_ascii()).collect();
    assert!(odd.iter().all(|&c| c == '×'), "{odd:?}");
    assert_screen("tour_menu_ascii", s);
}

/// Figure 8 at (c): n1 leads term 4 over n2 and n3; x=1 (index 4, term 2)
/// and n1's no-op (index 5) are on the three, not yet committed; n4 holds
/// n5's term-3 entry; n5 is down.
fn figure8_c() -> ClusterView {
    let mut nodes = vec![
        node(1, Role::Leader, &[1, 2, 2, 2, 4], 3),
        node(2, Role::Follower, &[1, 2, 2, 2, 4], 3),
        node(3, Role::Follower, &[1, 2, 2, 2, 4], 3),
        node(4, Role::Follower, &[1, 2, 2, 3], 3),
        node(5, Role::Follower, &[1, 2, 2, 3], 3),
    ];
    nodes[4].state = NodeState::Down;
    for n in &mut nodes {
        n.term = 4.max(n.term);
    }
    cluster(nodes, vec![vec![1, 2, 3], vec![4], vec![5]])
}

#[test]
fn snapshot_figure8_caption() {
    use TourEvent::*;
    let (mut app, _) = app(figure8_c());
    let _went = play(&mut app, "figure8");
    let tour = tours::find("figure8").expect("shipped");
    tour_event(
        &mut app,
        Ready {
            step: 25,
            line: 42,
            source: "wait uncommitted >= 2 on 3 within 2s".into(),
        },
    );
    tour_event(&mut app, Running);
    tour_event(
        &mut app,
        Done {
            mark: Mark::Pass,
            detail: "n3=2 after 43ms".into(),
        },
    );
    // The caption and the question as the script has them, so the
    // snapshot shows them.
    let says: Vec<&str> = tour
        .text
        .lines()
        .skip_while(|l| !l.starts_with("say This is Figure 8 (c)"))
        .take_while(|l| l.starts_with("say "))
        .map(|l| &l[4..])
        .collect();
    assert_eq!(says.len(), 1, "the caption of the question moved");
    for text in says {
        tour_event(&mut app, Caption(text.into()));
    }
    let script = crate::scenario::parse(tour.text, tour.file).expect("parses");
    let ask = script
        .statements
        .iter()
        .find_map(|s| match &s.kind {
            crate::scenario::ast::StmtKind::Ask(ask) => Some(ask.clone()),
            _ => None,
        })
        .expect("the tour asks");
    tour_event(
        &mut app,
        Ask {
            step: 26,
            line: 44,
            ask,
        },
    );
    assert_screen("figure8_caption", screen(&mut app, 120, 40));
}

/// The snapshots tour points at `snap` on the cards: a card too short for
/// its own snap line shows it beside the last entry, once there is one.
#[test]
fn a_short_card_shows_the_snapshot_index_once_there_is_one() {
    let mut view = elected();
    Arc::make_mut(&mut view.nodes[0]).snapshot_index = 10;
    let (mut app, _) = app(view);
    let s = screen(&mut app, 120, 40);
    assert!(s.contains("last   12 (t2) snap 10"), "{s}");
    assert_eq!(s.matches(" snap ").count(), 1, "{s}");
    // Where the card has a row of its own for it, that row says it.
    let s = screen(&mut app, 200, 50);
    assert!(s.contains("snap"), "{s}");
    assert!(!s.contains("(t2) snap"), "{s}");
}
