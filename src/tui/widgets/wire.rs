//! The wire: the messages in flight on the main view, as markers moving
//! along faint tracks from the sender's card to the receiver's, as
//! RaftScope draws them. Where a marker stands is computed from the
//! view's moment and the message's send and delivery times, so it moves
//! as time passes and stops when the clock does.
//!
//! A marker is a letter and an arrow: `P` pre-vote, `V` vote, `A` append,
//! `H` heartbeat, `S` snapshot, `T` TimeoutNow; a capital and a filled
//! arrow (`V▶`) for a request, a small letter and a hollow arrow (`◁v`)
//! for its answer; coloured by exchange. A dropped message stops where
//! it dies with `✕` (halfway on a cut or lossy link, at the door of a
//! receiver that is down) and the mark stays a moment. A message held by
//! hand waits halfway with its number (`#3V▶`); the held ones are listed
//! on the strip's last row, the one `d` and `D` act on highlighted.
//! Tracks are packed into as few rows as they fit without touching; what
//! does not fit is counted in the title.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};

use super::{flow, network, put_line, put_line_cut, styled, teach_style};
use crate::raft::NodeId;
use crate::runtime::observe::flights::held_number;
use crate::runtime::observe::{Flight, Path};
use crate::tui::app::App;
use crate::tui::layout::Areas;
use crate::tui::theme::Theme;

/// Draws the wire into `areas.wire`, its tracks under the cards'
/// middles (or, when the cards do not stand in one row, under labelled
/// columns of its own).
pub fn render(app: &App, areas: &Areas, buf: &mut Buffer) {
    let area = areas.wire;
    if area.height < 2 || area.width < 20 {
        return;
    }
    let theme = &app.theme;
    let wire = &app.view.teaching.wire;
    let ids: Vec<NodeId> = app.view.nodes.iter().map(|n| n.id).collect();
    let aligned =
        areas.cards.len() == ids.len() && areas.cards.iter().all(|c| c.y == areas.cards[0].y);
    let cols = flow::columns(&ids, &areas.cards, area);
    let held = wire.held();
    let selected = app.held_selection();

    let mut top = area.y + 1;
    let mut bottom = area.bottom();
    if !aligned {
        labels(
            theme,
            &ids,
            &cols,
            Rect::new(area.x, top, area.width, 1),
            buf,
        );
        top += 1;
    }
    if !held.is_empty() && bottom > top {
        bottom -= 1;
        let row = Rect::new(area.x, bottom, area.width, 1);
        held_list(theme, &held, selected, row, buf);
    }
    let lanes = bottom.saturating_sub(top) as usize;
    let mut used: Vec<Vec<(u16, u16)>> = vec![Vec::new(); lanes];
    let mut hidden = 0;
    let col_of = |id: NodeId| ids.iter().position(|&i| i == id).map(|i| cols[i]);
    let mut drawings: Vec<(bool, Marker)> = held
        .iter()
        .copied()
        .chain(wire.flights.iter().filter(|f| f.moving()))
        .filter(|f| f.shown_at(wire.now_us))
        .filter_map(|flight| {
            let (a, b) = (col_of(flight.from)?, col_of(flight.to)?);
            let held = held_number(flight);
            let chosen = held.is_some_and(|n| Some(n) == selected);
            (a != b).then(|| {
                (
                    held.is_some(),
                    Marker::of(theme, flight, a, b, wire.now_us, chosen),
                )
            })
        })
        .collect();
    // Held ones first (they stand still, so they keep their rows), then
    // by where they start: packing tracks in that order leaves fewest out.
    drawings.sort_by_key(|(held, m)| (!held, m.extent()));
    for (_, drawing) in drawings {
        let (lo, hi) = drawing.extent();
        let free = used
            .iter()
            .position(|row| row.iter().all(|&(l, h)| hi + 1 < l || h + 1 < lo));
        match free {
            Some(lane) => {
                used[lane].push((lo, hi));
                drawing.draw(theme, area, top + lane as u16, buf);
            }
            None => hidden += 1,
        }
    }
    title(app, areas, held.len(), hidden, buf);
}

/// The strip's first row: what is on the wire and, as room allows, the
/// keys of holding, the legend, the network in brief (when no network
/// pane shows it) and the key that holds.
fn title(app: &App, areas: &Areas, held: usize, hidden: usize, buf: &mut Buffer) {
    let theme = &app.theme;
    let area = areas.wire;
    let wire = &app.view.teaching.wire;
    let rule = if theme.ascii { "-" } else { "─" };
    buf.set_string(
        area.x,
        area.y,
        rule.repeat(area.width as usize),
        theme.pane_border(false),
    );
    let shown = wire.flights.iter().filter(|f| f.shown_at(wire.now_us));
    let mut left = vec![styled(
        format!(" In flight {} ", shown.count()),
        Style::new().add_modifier(ratatui::style::Modifier::BOLD),
    )];
    if hidden > 0 {
        left.push(styled(format!("(+{hidden} not drawn) "), theme.dim()));
    }
    if wire.holding || held > 0 {
        let word = if wire.holding { "HOLDING" } else { "held" };
        left.push(styled(
            format!(" {word}: {held} held "),
            teach_style::held(theme, wire.holding),
        ));
        left.push(styled(
            " [ ] choose  d deliver  D drop  o release ",
            theme.key(),
        ));
    }
    let row = Rect::new(area.x + 1, area.y, area.width.saturating_sub(2), 1);
    let width = |spans: &[Span]| spans.iter().map(Span::width).sum::<usize>();
    let room = (row.width as usize).saturating_sub(width(&left) + 1);
    let legend = legend(theme, room);
    let mut room = room.saturating_sub(legend.as_ref().map_or(0, |l| l.width() + 1));
    let mut extra = Vec::new();
    if areas.network.height == 0 && room > 12 {
        let mut text = format!(" {} ", network::summary(theme, &app.view));
        if text.chars().count() > room {
            let more = theme.running();
            text = text.chars().take(room - more.chars().count() - 1).collect();
            text.push_str(more);
            text.push(' ');
        }
        room -= text.chars().count();
        extra.push(styled(text, theme.dim()));
    }
    let hint = " o holds new messages ";
    if !wire.holding && held == 0 && room >= hint.len() {
        extra.push(styled(hint, theme.dim()));
    }
    left.extend(extra);
    put_line_cut(theme, buf, row, 0, &Line::from(left));
    if let Some(legend) = legend {
        let x = row.right().saturating_sub(legend.width() as u16);
        put_line(
            buf,
            Rect::new(x, area.y, legend.width() as u16, 1),
            0,
            &legend,
        );
    }
}

/// The legend, the longest that fits `room` columns, if any does.
fn legend(theme: &Theme, room: usize) -> Option<Line<'static>> {
    use crate::runtime::observe::MsgClass as C;
    let (right, _) = teach_style::wire_heads(theme, false);
    let (hollow, _) = teach_style::wire_heads(theme, true);
    let dead = teach_style::drop_mark(theme);
    let dot = theme.dot();
    let letters: [(&str, C, &str, &str); 5] = [
        ("PreVote", C::Vote, "pre-vote", "pre"),
        ("Vote", C::Vote, "vote", "vote"),
        ("Append", C::Append, "append", "app"),
        ("Heartbeat", C::Heartbeat, "heartbeat", "beat"),
        ("Snapshot", C::Snapshot, "snapshot", "snap"),
    ];
    let forms = [
        (
            true,
            format!("{dot} V{right} asks v{hollow} answers {dead} lost "),
        ),
        (
            false,
            format!("{dot} V{right} ask v{hollow} answer {dead} lost "),
        ),
        (false, String::new()),
    ];
    for (long, tail) in forms {
        let mut spans = Vec::new();
        for (kind, class, word, short) in letters {
            let l = teach_style::letter(kind, class, false);
            spans.push(styled(
                l.to_string(),
                teach_style::exchange(theme, class, false),
            ));
            spans.push(styled(
                format!(" {} ", if long { word } else { short }),
                theme.dim(),
            ));
        }
        spans.push(styled(tail, theme.dim()));
        let line = Line::from(spans);
        if line.width() <= room {
            return Some(line);
        }
    }
    None
}

/// Node names over the columns, when the wire does not stand under the
/// cards.
fn labels(theme: &Theme, ids: &[NodeId], cols: &[u16], row: Rect, buf: &mut Buffer) {
    for (&id, &x) in ids.iter().zip(cols) {
        let name = format!("n{id}");
        let x0 = x.saturating_sub(name.len() as u16 / 2).max(row.x);
        if x0 + (name.len() as u16) <= row.right() {
            buf.set_string(x0, row.y, &name, theme.dim());
        }
    }
}

/// The held messages on one row, by number, the selected one marked and
/// always in sight.
fn held_list(theme: &Theme, held: &[&Flight], selected: Option<u64>, row: Rect, buf: &mut Buffer) {
    let items: Vec<(bool, String)> = held
        .iter()
        .map(|f| {
            let number = held_number(f).unwrap_or(0);
            let sel = Some(number) == selected;
            let mark = if sel { theme.pointer() } else { " " };
            let text = format!(
                "{mark}#{number} n{}{}n{} {} t{}",
                f.from,
                theme.arrow(),
                f.to,
                f.kind,
                f.term
            );
            (sel, text)
        })
        .collect();
    let head = "held:";
    let room = (row.width as usize).saturating_sub(head.len() + 2);
    let widths: Vec<usize> = items.iter().map(|(_, t)| t.chars().count() + 1).collect();
    let at = items.iter().position(|(sel, _)| *sel).unwrap_or(0);
    // The first item shown: as early as lets the selected one fit.
    let mut start = at;
    while start > 0 && widths[start - 1..=at].iter().sum::<usize>() <= room {
        start -= 1;
    }
    let mut spans = vec![styled(head, theme.key())];
    if start > 0 {
        spans.push(styled(format!(" {}", theme.running()), theme.dim()));
    }
    for (sel, text) in &items[start..] {
        spans.push(Span::raw(" "));
        spans.push(styled(text.clone(), teach_style::held(theme, *sel)));
    }
    put_line_cut(theme, buf, row, 0, &Line::from(spans));
}

/// One message drawn on a row: its track and its marker's cells.
struct Marker {
    /// The track's first and last column.
    track: (u16, u16),
    /// The marker's cells, left to right, each with its style.
    cells: Vec<(u16, String, Style)>,
}

impl Marker {
    /// Where `flight`, between the columns `a` (sender) and `b`
    /// (receiver), stands at `now_us`, and how it looks.
    fn of(theme: &Theme, flight: &Flight, a: u16, b: u16, now_us: u64, selected: bool) -> Marker {
        let right = b > a;
        let span = f64::from(a.abs_diff(b));
        let step = (flight.progress(now_us) * span).round() as u16;
        // The arrow head leads, the letter follows.
        let head = if right {
            (a + step).clamp(a + 1, b)
        } else {
            a.saturating_sub(step).clamp(b, a - 1)
        };
        let dead = flight.dead(now_us);
        let mut style = teach_style::exchange(theme, flight.class, flight.answer);
        let (to_right, to_left) = teach_style::wire_heads(theme, flight.answer);
        let mut arrow = if right { to_right } else { to_left };
        if dead {
            arrow = teach_style::drop_mark(theme);
        }
        let letter = teach_style::letter(flight.kind, flight.class, flight.answer).to_string();
        let mut parts: Vec<(String, Style)> = vec![(letter.clone(), style)];
        if let Path::Held { number } = flight.path {
            // Its number tells it is held; chosen, the whole marker stands out.
            if selected {
                style = teach_style::held(theme, true);
            }
            parts = vec![
                (format!("#{number}"), teach_style::held(theme, selected)),
                (letter, style),
            ];
        }
        let arrow_style = if dead {
            teach_style::fate(
                theme,
                crate::runtime::observe::Fate::Dropped(crate::runtime::observe::DropCause::Lost),
            )
        } else {
            style
        };
        let mut cells = Vec::new();
        if right {
            let width: u16 = parts.iter().map(|(t, _)| t.chars().count() as u16).sum();
            let mut x = head.saturating_sub(width);
            for (text, s) in parts {
                let w = text.chars().count() as u16;
                cells.push((x, text, s));
                x += w;
            }
            cells.push((head, arrow.to_string(), arrow_style));
        } else {
            cells.push((head, arrow.to_string(), arrow_style));
            let mut x = head + 1;
            for (text, s) in parts.into_iter().rev() {
                let w = text.chars().count() as u16;
                cells.push((x, text, s));
                x += w;
            }
        }
        // A dropped one's track ends where it died.
        let track = if dead {
            if right { (a, head) } else { (head, a) }
        } else {
            (a.min(b), a.max(b))
        };
        Marker { track, cells }
    }

    /// The columns it covers.
    fn extent(&self) -> (u16, u16) {
        let lo = self.cells.iter().map(|c| c.0).min().unwrap_or(self.track.0);
        let hi = self
            .cells
            .iter()
            .map(|(x, t, _)| x + t.chars().count() as u16 - 1)
            .max()
            .unwrap_or(self.track.1);
        (lo.min(self.track.0), hi.max(self.track.1))
    }

    fn draw(&self, theme: &Theme, area: Rect, y: u16, buf: &mut Buffer) {
        let track = teach_style::wire_track(theme);
        let (left_end, right_end) = teach_style::wire_ends(theme);
        let inside = |x: u16| x >= area.x && x < area.right();
        for x in self.track.0..=self.track.1 {
            let piece = if x == self.track.0 {
                left_end
            } else if x == self.track.1 {
                right_end
            } else {
                track
            };
            if inside(x) {
                buf.set_string(x, y, piece, theme.dim());
            }
        }
        for (x, text, style) in &self.cells {
            if inside(*x) {
                let room = (area.right() - x) as usize;
                buf.set_stringn(*x, y, text, room, *style);
            }
        }
    }
}
