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

/// The panes' rectangles.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Areas {
    /// The node cards (or the compact node table).
    pub cluster: Rect,
    /// One card per node, in id order; empty when the table is shown.
    pub cards: Vec<Rect>,
    /// The log grid.
    pub log: Rect,
    /// Links and partition groups.
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

/// Lays out the panes; `None` below [`MIN_WIDTH`]×[`MIN_HEIGHT`].
pub fn areas(area: Rect, nodes: usize) -> Option<Areas> {
    if !fits(area) {
        return None;
    }
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
    let left = body_h.saturating_sub(cluster_h + BOTTOM_MIN);
    let log_h = log_want.min(left).max(4.min(left));
    let bottom_h = body_h - cluster_h - log_h;

    let x = area.x;
    let w = area.width;
    let cluster = Rect::new(x, area.y, w, cluster_h);
    let log = Rect::new(x, area.y + cluster_h, w, log_h);
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
        let net_h = (n + 5).min(bottom_h / 2).max(3.min(bottom_h));
        (
            Rect::new(x, bottom.y, cw, bottom_h),
            Rect::new(x + cw, bottom.y, rw, net_h),
            Rect::new(x + cw, bottom.y + net_h, rw, bottom_h - net_h),
        )
    };
    Some(Areas {
        cluster,
        cards,
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
pub fn areas_teaching(area: Rect, nodes: usize) -> Option<Areas> {
    let mut a = areas(area, nodes)?;
    let bottom_h = a.console.height;
    if bottom_h <= BOTTOM_KEPT {
        return Some(a);
    }
    let extra = bottom_h - BOTTOM_KEPT;
    a.log.height += extra;
    let (y, h) = (a.console.y + extra, BOTTOM_KEPT);
    let wide = a.network.y == a.console.y && a.network.height == bottom_h;
    a.console = Rect::new(a.console.x, y, a.console.width, h);
    if wide {
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
        for (w, h) in [(80, 24), (100, 30), (120, 40), (200, 50), (300, 80)] {
            let screen = Rect::new(0, 0, w, h);
            for n in 1..=9 {
                let a = areas(screen, n).expect("fits");
                for r in [a.cluster, a.log, a.network, a.events, a.console, a.status] {
                    assert!(inside(r, screen), "{w}x{h} n={n}: {r:?}");
                }
                for c in &a.cards {
                    assert!(inside(*c, a.cluster), "{w}x{h} n={n}: {c:?}");
                    assert!(c.width >= CARD_MIN_WIDTH);
                }
                assert!(a.console.height >= BOTTOM_MIN, "{w}x{h} n={n}");
                assert!(a.log.height >= 4, "{w}x{h} n={n}");
            }
        }
        assert_eq!(areas(Rect::new(0, 0, 79, 24), 5), None);
        for (w, h) in [(80, 24), (100, 30), (120, 40), (200, 50), (300, 80)] {
            let screen = Rect::new(0, 0, w, h);
            for n in 1..=9 {
                let a = areas_teaching(screen, n).expect("fits");
                let plain = areas(screen, n).expect("fits");
                assert!(a.log.height >= plain.log.height);
                assert_eq!(a.log.bottom(), a.console.y, "{w}x{h} n={n}");
                for r in [a.cluster, a.log, a.network, a.events, a.console, a.status] {
                    assert!(inside(r, screen), "{w}x{h} n={n}: {r:?}");
                }
                assert!(a.console.height >= BOTTOM_MIN.min(plain.console.height));
                assert_eq!(a.events.bottom(), a.console.bottom(), "{w}x{h} n={n}");
            }
        }
        assert_eq!(areas(Rect::new(0, 0, 80, 23), 5), None);
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
