//! Charts of known runs: what they hold, what the filters keep, that both
//! renderings say it, and that watching a run for a chart changes nothing.

use super::*;
use crate::chart::{mermaid, svg};
use crate::cli::check::Plan;
use crate::sim::Sim;

fn plan(faults: &str) -> Plan {
    Plan::for_tests(faults)
}

fn window(to_ms: u64) -> ChartFilter {
    ChartFilter {
        from_us: 0,
        to_us: to_ms * 1000,
        nodes: None,
        classes: None,
        max_messages: 10_000,
    }
}

#[test]
fn a_quiet_run_charts_its_first_election_and_commits() {
    let chart = collect(&plan("none").options(1), &window(400)).unwrap();
    assert_eq!(chart.nodes, vec![1, 2, 3, 4, 5]);
    let leaders: Vec<&Mark> = chart
        .marks
        .iter()
        .filter(|m| m.kind == MarkKind::Role(Role::Leader))
        .collect();
    assert_eq!(leaders.len(), 1, "{:?}", chart.marks);
    let leader = leaders[0].node.unwrap();
    // The winner asked for votes before it won, and got answers.
    let asked = chart
        .arrows
        .iter()
        .filter(|a| a.from == leader && a.label.starts_with("Vote "))
        .count();
    assert_eq!(asked, 4, "{:?}", chart.arrows);
    assert!(chart.arrows.iter().any(|a| a.to == leader
        && a.answer
        && a.label.starts_with("VoteResp")
        && a.label.ends_with("yes")));
    assert!(chart.arrows.iter().any(|a| a.class == MsgClass::Heartbeat));
    assert!(chart.marks.iter().any(|m| m.kind == MarkKind::Commit));
    // Arrows come in send order, each arriving after it left.
    assert!(
        chart
            .arrows
            .windows(2)
            .all(|w| w[0].sent_us <= w[1].sent_us)
    );
    assert!(
        chart
            .arrows
            .iter()
            .all(|a| a.arrived_us.is_some_and(|t| t > a.sent_us) && a.dropped.is_none())
    );
}

#[test]
fn dropped_messages_are_marked_with_why() {
    // Isolation and loss in the first seconds of a faulty run.
    let chart = collect(&plan("isolate,loss,crash").options(4), &window(4000)).unwrap();
    let dropped: Vec<&Arrow> = chart
        .arrows
        .iter()
        .filter(|a| a.dropped.is_some())
        .collect();
    assert!(!dropped.is_empty(), "no dropped message in 4s of faults");
    assert!(dropped.iter().all(|a| a.arrived_us.is_none()));
    let text = mermaid::render(&chart);
    assert!(
        text.contains("-xn") && text.contains("(dropped: "),
        "{text}"
    );
    assert!(chart.marks.iter().any(|m| m.kind == MarkKind::Fault));
}

#[test]
fn filters_keep_only_the_nodes_and_types_asked_for() {
    let mut filter = window(1000);
    filter.nodes = Some(vec![1, 2]);
    filter.classes = Some(vec![MsgClass::Vote, MsgClass::Append]);
    let chart = collect(&plan("none").options(2), &filter).unwrap();
    assert_eq!(chart.nodes, vec![1, 2]);
    assert!(!chart.arrows.is_empty());
    for a in &chart.arrows {
        assert!([1, 2].contains(&a.from) && [1, 2].contains(&a.to), "{a:?}");
        assert!(
            matches!(a.class, MsgClass::Vote | MsgClass::Append),
            "{a:?}"
        );
    }
    assert!(chart.marks.iter().all(|m| m.node.is_none_or(|n| n <= 2)));
}

#[test]
fn a_window_later_in_the_run_starts_there() {
    let mut filter = window(2000);
    filter.from_us = 1_500_000;
    let chart = collect(&plan("none").options(3), &filter).unwrap();
    assert!(!chart.arrows.is_empty());
    assert!(
        chart
            .arrows
            .iter()
            .all(|a| (1_500_000..2_000_000).contains(&a.sent_us))
    );
}

#[test]
fn max_messages_caps_the_arrows_and_counts_the_rest() {
    let mut filter = window(1000);
    filter.max_messages = 10;
    let chart = collect(&plan("none").options(1), &filter).unwrap();
    assert_eq!(chart.arrows.len(), 10);
    assert!(chart.left_out > 0);
    assert!(mermaid::render(&chart).contains("more messages left out"));
}

#[test]
fn charting_a_run_does_not_change_it() {
    // The hooks only copy out: the run's trace hash is the check's.
    let p = plan("all");
    let mut plain = Sim::new(p.options(9)).unwrap();
    let _ = plain.run_for(1_000_000);
    let mut watched = Sim::new(p.options(9)).unwrap();
    watched.observe();
    watched.on_send(Box::new(|_, _, _| {}));
    watched.on_raft_event(Box::new(|_, _, _| {}));
    let _ = watched.run_for(1_000_000);
    assert_eq!(plain.trace_hash(), watched.trace_hash());
    // And the same seed gives the same chart.
    let a = mermaid::render(&collect(&p.options(9), &window(1000)).unwrap());
    let b = mermaid::render(&collect(&p.options(9), &window(1000)).unwrap());
    assert_eq!(a, b);
}

#[test]
fn the_mermaid_text_of_a_known_election() {
    let mut filter = window(250);
    filter.classes = Some(vec![MsgClass::Vote]);
    let mut chart = collect(&plan("none").options(1), &filter).unwrap();
    chart.title = "seed 1, votes, 0ms to 250ms".into();
    insta::assert_snapshot!(mermaid::render(&chart));
}

#[test]
fn the_svg_is_well_formed_and_draws_every_arrow() {
    let mut chart = collect(&plan("isolate,loss").options(4), &window(3000)).unwrap();
    chart.title = "a <title> & \"quotes\"".into();
    let svg = svg::render(&chart);
    let doc = roxmltree::Document::parse(&svg).expect("the SVG parses as XML");
    let root = doc.root_element();
    assert_eq!(root.tag_name().name(), "svg");
    let heads = doc
        .descendants()
        .filter(|n| n.has_tag_name("line") && n.attribute("marker-end").is_some())
        .count();
    let delivered = chart.arrows.iter().filter(|a| a.dropped.is_none()).count();
    // Plus one arrow per exchange in the legend.
    assert_eq!(heads, delivered + MsgClass::ALL.len());
    let crosses = doc
        .descendants()
        .filter(|n| n.has_tag_name("text") && n.text() == Some("✕"))
        .count();
    assert_eq!(crosses, chart.arrows.len() - delivered);
    assert!(crosses > 0);
    // Nothing outside the file: no links, no scripts.
    assert!(!svg.contains("<script") && !svg.contains("href="), "{svg}");
    let title = doc.descendants().find(|n| n.has_tag_name("title")).unwrap();
    assert_eq!(title.text(), Some("a <title> & \"quotes\""));
}

#[test]
fn the_format_follows_the_flag_or_the_file_name() {
    use std::path::Path;
    assert_eq!(choose_format(None, None), Ok(Format::Mermaid));
    assert_eq!(
        choose_format(None, Some(Path::new("a.svg"))),
        Ok(Format::Svg)
    );
    assert_eq!(
        choose_format(None, Some(Path::new("a.mmd"))),
        Ok(Format::Mermaid)
    );
    assert_eq!(
        choose_format(Some("svg"), Some(Path::new("a.mmd"))),
        Ok(Format::Svg)
    );
    assert!(
        choose_format(Some("png"), None)
            .unwrap_err()
            .contains("mermaid")
    );
    assert!(
        choose_format(None, Some(Path::new("a.png")))
            .unwrap_err()
            .contains(".svg")
    );
}

#[test]
fn bad_filters_are_refused_in_words() {
    assert_eq!(parse_ids("1, n3").unwrap(), vec![1, 3]);
    assert!(parse_ids("12").unwrap_err().contains("1 to 9"));
    assert!(parse_ids("x").unwrap_err().contains("not a node id"));
    assert!(parse_ids(",").unwrap_err().contains("names no node"));
    assert_eq!(
        parse_classes("vote,hb").unwrap(),
        vec![MsgClass::Vote, MsgClass::Heartbeat]
    );
    assert!(
        parse_classes("gossip")
            .unwrap_err()
            .contains("vote, append")
    );
}

/// `--latency`: the run the class watched, with the dashboards' slow
/// links, every arrow taking as long as its link's latency.
#[test]
fn a_chart_at_the_dashboards_latency_slants_every_arrow_by_it() {
    let mut opts = plan("none").options(1);
    opts.latency_us = crate::tui::VISIBLE_LATENCY_US;
    let slow = collect(&opts, &window(600)).unwrap();
    let delivered: Vec<u64> = slow
        .arrows
        .iter()
        .filter_map(|a| a.arrived_us.map(|t| t - a.sent_us))
        .collect();
    assert!(delivered.len() > 20, "{:?}", slow.arrows);
    assert!(
        delivered.iter().all(|d| (10_000..=20_000).contains(d)),
        "{delivered:?}"
    );
    // The check's links are faster: the same seed's chart differs.
    let fast = collect(&plan("none").options(1), &window(600)).unwrap();
    assert!(
        fast.arrows
            .iter()
            .filter_map(|a| a.arrived_us.map(|t| t - a.sent_us))
            .all(|d| d <= 2_000)
    );
    assert_ne!(mermaid::render(&slow), mermaid::render(&fast));
    assert!(mermaid::render(&slow).contains("ms)"));
}
