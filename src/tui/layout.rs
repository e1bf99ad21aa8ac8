//! Where each pane goes, as a pure function of the screen size and the
//! number of nodes. Drawing and mouse hit-testing use the same answer.

use ratatui::layout::Rect;

/// Smallest usable terminal width.
pub const MIN_WIDTH: u16 = 80;
/// Smallest usable terminal height.
pub const MIN_HEIGHT: u16 = 24;
/// Narrowest node card.
const CARD_MIN_WIDTH: u16 = 16;
/// Fewest rows the console, network and events share.
const BOTTOM_MIN: u16 = 6;

/// Which layout the dashboard uses.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Preset {
    /// The dashboard's own.
    #[default]
    Dashboard,
    /// `raftlab class`, for a projector at 100×30: a short screen gives
    /// the wire another row and drops the network pane (the wire's title
    /// sums the network up), so the cards, the messages in flight, the
    /// log, the console and the events all stay in sight.
    Class,
}

/// The panes' rectangles.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Areas {
    /// The node cards (or the compact node table).
    pub cluster: Rect,
    /// One card per node, in id order; empty when the table is shown.
    pub cards: Vec<Rect>,
    /// The messages in flight, under the cards (no rows when there is no
    /// room for them).
    pub wire: Rect,
    /// The log grid.
    pub log: Rect,
    /// Links and partition groups (no rows in the class preset's short
    /// layout).
    pub network: Rect,
    /// The event list.
    pub events: Rect,
    /// The console.
    pub console: Rect,
    /// The status bar.
    pub status: Rect,
}

/// Whether `area` is large enough for the dashboard.
pub fn fits(area: Rect) -> bool {
    area.width >= MIN_WIDTH && area.height >= MIN_HEIGHT
}

/// Whether there is room for the roomy versions of the panes.
pub fn roomy(area: Rect) -> bool {
    area.width >= 160 && area.height >= 40
}

/// Rows the bottom (console, network, events) keeps when the wire takes
/// some of its place; the class preset keeps one fewer.
const BOTTOM_WITH_WIRE: u16 = 9;
/// Fewest rows of the wire: its title and two rows of messages.
const WIRE_MIN: u16 = 3;
/// Rows the events keep below a network pane that shows its link matrix.
const EVENTS_BESIDE_MATRIX: u16 = 8;
/// Below this many rows the class preset drops the network pane.
const CLASS_NETWORK_FROM: u16 = 12;

/// Lays out the panes; `None` below [`MIN_WIDTH`]×[`MIN_HEIGHT`].
pub fn areas(area: Rect, nodes: usize) -> Option<Areas> {
    areas_for(area, nodes, Preset::Dashboard)
}

/// Lays out the panes for `preset`; `None` below
/// [`MIN_WIDTH`]×[`MIN_HEIGHT`]. The wire (the messages in flight) goes
/// under the cards when there is room for it and the log's grid (below
/// about 28 rows, as at 80×24, there is not).
pub fn areas_for(area: Rect, nodes: usize, preset: Preset) -> Option<Areas> {
    if !fits(area) {
        return None;
    }
    let class = preset == Preset::Class;
    let n = nodes.max(1) as u16;
    let roomy = roomy(area);
    let body_h = area.height - 1;
    let log_want = n + 4 + if roomy { 4 } else { 0 };
    let fit = n.min(area.width / CARD_MIN_WIDTH).max(1);
    let rows = n.div_ceil(fit);
    // As many rows as needed, filled evenly: nine cards in two rows are
    // 5 + 4, not 7 + 2 with two stretched ones.
    let per_row = n.div_ceil(rows);
    let card_h = if roomy { 9 } else { 8 };
    let cards_h = rows * card_h;
    let use_cards = cards_h + log_want.min(n + 4) + BOTTOM_MIN <= body_h;
    let cluster_h = if use_cards { cards_h } else { n + 2 };
    let rest = body_h.saturating_sub(cluster_h);
    // The wire, when the log's grid (borders, header, a row per node)
    // and the bottom still fit beside it.
    let bottom_keep = BOTTOM_WITH_WIRE - u16::from(class);
    let wire_want = match (roomy, rest >= 28, class) {
        (true, _, _) => 7,
        (false, true, _) => 6,
        (false, false, true) => 5,
        (false, false, false) => 4,
    };
    let wire_room = rest.saturating_sub(n + 3 + bottom_keep);
    let wire_h = if wire_room >= WIRE_MIN {
        wire_want.min(wire_room)
    } else {
        0
    };
    let log_h = if wire_h > 0 {
        log_want.min(rest - wire_h - bottom_keep)
    } else {
        let left = rest.saturating_sub(BOTTOM_MIN);
        log_want.min(left).max(4.min(left))
    };
    let bottom_h = rest - wire_h - log_h;

    let x = area.x;
    let w = area.width;
    let cluster = Rect::new(x, area.y, w, cluster_h);
    let wire = Rect::new(x, area.y + cluster_h, w, wire_h);
    let log = Rect::new(x, wire.bottom(), w, log_h);
    let bottom = Rect::new(x, log.y + log_h, w, bottom_h);
    let status = Rect::new(x, area.y + body_h, w, 1);

    let cards = if use_cards {
        (0..n)
            .map(|i| {
                let (row, col) = (i / per_row, i % per_row);
                let in_row = (n - row * per_row).min(per_row);
                let x0 = x + col * w / in_row;
                let x1 = x + (col + 1) * w / in_row;
                Rect::new(x0, cluster.y + row * card_h, x1 - x0, card_h)
            })
            .collect()
    } else {
        Vec::new()
    };

    let (console, network, events) = if w >= 160 {
        let cw = w * 45 / 100;
        let nw = (n * 2 + 8).max(w / 5);
        let ew = w - cw - nw;
        (
            Rect::new(x, bottom.y, cw, bottom_h),
            Rect::new(x + cw, bottom.y, nw, bottom_h),
            Rect::new(x + cw + nw, bottom.y, ew, bottom_h),
        )
    } else {
        let cw = w * 55 / 100;
        let rw = w - cw;
        // The link matrix when the events keep rows enough beside it,
        // else the groups and faults lines, the events the rest.
        let net_h = if class && bottom_h < CLASS_NETWORK_FROM {
            0
        } else if bottom_h >= n + 5 + EVENTS_BESIDE_MATRIX {
            n + 5
        } else {
            4.min(bottom_h / 2).max(3.min(bottom_h))
        };
        (
            Rect::new(x, bottom.y, cw, bottom_h),
            Rect::new(x + cw, bottom.y, rw, net_h),
            Rect::new(x + cw, bottom.y + net_h, rw, bottom_h - net_h),
        )
    };
    Some(Areas {
        cluster,
        cards,
        wire,
        log,
        network,
        events,
        console,
        status,
    })
}

/// Rows the console, network and events keep when a teaching pane
/// (messages, focus mode, checks) takes the log's place and grows.
const BOTTOM_KEPT: u16 = 12;

/// The layout with a teaching pane in the log's place: on a tall screen
/// the log's place grows down into the bottom row, which keeps
/// [`BOTTOM_KEPT`] rows (a short screen stays as [`areas`] lays it out).
pub fn areas_teaching(area: Rect, nodes: usize, preset: Preset) -> Option<Areas> {
    let mut a = areas_for(area, nodes, preset)?;
    let bottom_h = a.console.height;
    if bottom_h <= BOTTOM_KEPT {
        return Some(a);
    }
    let extra = bottom_h - BOTTOM_KEPT;
    a.log.height += extra;
    let (y, h) = (a.console.y + extra, BOTTOM_KEPT);
    let wide = a.network.y == a.console.y && a.network.height == bottom_h;
    a.console = Rect::new(a.console.x, y, a.console.width, h);
    if a.network.height == 0 {
        a.network = Rect::new(a.network.x, y, a.network.width, 0);
        a.events = Rect::new(a.events.x, y, a.events.width, h);
    } else if wide {
        a.network = Rect::new(a.network.x, y, a.network.width, h);
        a.events = Rect::new(a.events.x, y, a.events.width, h);
    } else {
        let net_h = a.network.height.min(h / 2).max(3.min(h));
        a.network = Rect::new(a.network.x, y, a.network.width, net_h);
        a.events = Rect::new(a.events.x, y + net_h, a.events.width, h - net_h);
    }
    Some(a)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn inside(inner: Rect, outer: Rect) -> bool {
        inner.x >= outer.x
            && inner.y >= outer.y
            && inner.right() <= outer.right()
            && inner.bottom() <= outer.bottom()
    }

    #[test]
    fn every_pane_fits_for_every_size_and_cluster() {
        for preset in [Preset::Dashboard, Preset::Class] {
            for (w, h) in [(80, 24), (100, 30), (120, 40), (200, 50), (300, 80)] {
                let screen = Rect::new(0, 0, w, h);
                for n in 1..=9 {
                    let a = areas_for(screen, n, preset).expect("fits");
                    let panes = [a.cluster, a.wire, a.log, a.network, a.events, a.console];
                    for r in panes.into_iter().chain([a.status]) {
                        assert!(inside(r, screen), "{w}x{h} n={n}: {r:?}");
                    }
                    assert_eq!(a.wire.y, a.cluster.bottom(), "{w}x{h} n={n}");
                    assert_eq!(a.log.y, a.wire.bottom(), "{w}x{h} n={n}");
                    for c in &a.cards {
                        assert!(inside(*c, a.cluster), "{w}x{h} n={n}: {c:?}");
                        assert!(c.width >= CARD_MIN_WIDTH);
                    }
                    assert!(a.console.height >= BOTTOM_MIN, "{w}x{h} n={n}");
                    assert!(a.log.height >= 4, "{w}x{h} n={n}");
                    assert!(a.wire.height == 0 || a.wire.height >= WIRE_MIN);
                    if a.wire.height > 0 {
                        // The log's grid stays whole beside the wire.
                        assert!(a.log.height >= n as u16 + 3, "{w}x{h} n={n}");
                    }
                }
            }
        }
        assert_eq!(areas(Rect::new(0, 0, 79, 24), 5), None);
        for preset in [Preset::Dashboard, Preset::Class] {
            for (w, h) in [(80, 24), (100, 30), (120, 40), (200, 50), (300, 80)] {
                let screen = Rect::new(0, 0, w, h);
                for n in 1..=9 {
                    let a = areas_teaching(screen, n, preset).expect("fits");
                    let plain = areas_for(screen, n, preset).expect("fits");
                    assert!(a.log.height >= plain.log.height);
                    assert_eq!(a.log.bottom(), a.console.y, "{w}x{h} n={n}");
                    assert_eq!(a.wire, plain.wire, "{w}x{h} n={n}");
                    for r in [a.cluster, a.log, a.network, a.events, a.console, a.status] {
                        assert!(inside(r, screen), "{w}x{h} n={n}: {r:?}");
                    }
                    assert!(a.console.height >= BOTTOM_MIN.min(plain.console.height));
                    assert_eq!(a.events.bottom(), a.console.bottom(), "{w}x{h} n={n}");
                }
            }
        }
        assert_eq!(areas(Rect::new(0, 0, 80, 23), 5), None);
    }

    /// The messages in flight have their strip under the cards at the
    /// sizes people use (not at 80×24, where the log needs the rows).
    #[test]
    fn the_wire_shows_from_100x30() {
        for (w, h, rows) in [(100, 30, 4), (120, 40, 6), (200, 50, 7)] {
            let a = areas(Rect::new(0, 0, w, h), 5).expect("fits");
            assert_eq!(a.wire.height, rows, "{w}x{h}");
            assert!(
                a.network.height >= 3 && a.events.height >= 5,
                "{w}x{h}: {a:?}"
            );
        }
        assert_eq!(
            areas(Rect::new(0, 0, 80, 24), 5).expect("fits").wire.height,
            0
        );
    }

    /// `raftlab class` on a projector at 100×30: the cards, a wire with
    /// four rows of messages, the log's whole grid, and the console and
    /// the events side by side, each with six lines (the network pane
    /// gives them its rows; the wire's title sums the network up).
    #[test]
    fn the_class_layout_at_100x30_keeps_cards_wire_console_and_events() {
        let a = areas_for(Rect::new(0, 0, 100, 30), 5, Preset::Class).expect("fits");
        assert_eq!(a.cards.len(), 5);
        assert_eq!(a.wire.height, 5);
        assert_eq!(a.log.height, 8);
        assert_eq!(a.network.height, 0);
        assert_eq!((a.console.height, a.events.height), (8, 8));
        assert_eq!(a.events.y, a.console.y);
        // From 40 rows the class has the dashboard's panes.
        let tall = areas_for(Rect::new(0, 0, 120, 40), 5, Preset::Class).expect("fits");
        assert!(tall.network.height > 0);
    }

    /// Card rows are filled evenly: no row holds more than one card more
    /// than another (nine cards at 120 columns: 5 + 4, not 7 + 2).
    #[test]
    fn card_rows_are_balanced() {
        for (w, h) in [(100, 40), (120, 40), (150, 50)] {
            for n in 1..=9 {
                let a = areas(Rect::new(0, 0, w, h), n).expect("fits");
                if a.cards.is_empty() {
                    continue;
                }
                let mut per_row = std::collections::BTreeMap::new();
                for c in &a.cards {
                    *per_row.entry(c.y).or_insert(0) += 1;
                }
                let most = per_row.values().max().copied().unwrap_or(0);
                let least = per_row.values().min().copied().unwrap_or(0);
                assert!(most - least <= 1, "{w}x{h} n={n}: {per_row:?}");
            }
        }
        let a = areas(Rect::new(0, 0, 120, 40), 9).expect("fits");
        let first_row = a.cards.iter().filter(|c| c.y == a.cards[0].y).count();
        assert_eq!(first_row, 5);
    }
}
