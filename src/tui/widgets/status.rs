//! The status bar: cluster time, speed, running or paused, the leader,
//! and the keys that matter in the focused pane (see [`key_hints`]), as
//! many as fit.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::Modifier;
use ratatui::text::{Line, Span};

use super::{key_hints, put_line, styled, teach_style};
use crate::tui::app::App;
use crate::tui::text::cluster_time;

/// How much the bar's own fields are shortened to leave room for keys.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Squeeze {
    /// Everything in full.
    None,
    /// `1×` for `speed 1×`, no `running` (only `PAUSED`), the bug badge
    /// without "— Raft is unsafe", `pending` for `change pending`.
    Words,
    /// The bug badge as the bug's name alone; a simulated run's violation
    /// not named (or left to the checker's badge).
    Name,
    /// The bug badge without the bug's name.
    Badge,
}

/// The clock field before time ever ran: the one key a class needs.
pub const START_HINT: &str = " PAUSED: press space to start time ";

/// Fewest key hints worth shortening the bug badge for: `? help`,
/// `q quit` and `: console` in the cluster.
const MIN_HINTS: usize = 3;

/// Key hints worth shortening the bar's words for: in the cluster, all
/// but the ranks after the membership keys (`t lead`, `i isolate`,
/// `p pause`).
const WORDS_FOR: usize = 9;

/// Draws the status bar: its fields, then as many key hints as fit. Its
/// words shorten when that shows more keys and fewer than [`WORDS_FOR`]
/// show in full; when fewer than [`MIN_HINTS`]
/// still fit (80 columns with a bug badge), the bug badge shortens too,
/// step by step, until the most needed keys show or it can go no further.
pub fn render(app: &App, area: Rect, buf: &mut Buffer) {
    let base = app.theme.status();
    buf.set_style(area, base);
    let hints = key_hints::hints_now(app);
    let width = area.width as usize;
    let enough = MIN_HINTS.min(hints.len());
    let layout = |squeeze: Squeeze| {
        let fields = fields(app, squeeze);
        let used = Line::from(fields.clone()).width() + 2;
        let keys = key_hints::fit(hints, width.saturating_sub(used));
        (fields, keys)
    };
    // Short words are worth any key more; the badge's words only the
    // minimum.
    let full = layout(Squeeze::None);
    let words = layout(Squeeze::Words);
    let mut best = if full.1.len() < WORDS_FOR.min(hints.len()) && words.1.len() > full.1.len() {
        words
    } else {
        full
    };
    for squeeze in [Squeeze::Name, Squeeze::Badge] {
        if best.1.len() >= enough {
            break;
        }
        let next = layout(squeeze);
        if next.1.len() > best.1.len() {
            best = next;
        }
    }
    let (mut spans, keys) = best;
    spans.extend([
        Span::styled("| ", base),
        Span::styled(keys.join(key_hints::GAP), base),
    ]);
    put_line(buf, area, 0, &Line::from(spans));
}

/// The bar's fields, shortened by `squeeze`: badges, time, speed, the
/// clock, the leader, the configuration and the simulated run's mark.
fn fields(app: &App, squeeze: Squeeze) -> Vec<Span<'static>> {
    let theme = &app.theme;
    let view = &app.view;
    let base = theme.status();
    let time = if view.clock_paused && view.tick == 0 && app.tour.is_none() {
        // Nothing has happened yet (`raftlab class`, `--paused`): say
        // which key starts time.
        styled(
            START_HINT,
            base.add_modifier(Modifier::BOLD | Modifier::REVERSED),
        )
    } else if view.clock_paused {
        styled(
            " PAUSED ",
            base.add_modifier(Modifier::BOLD | Modifier::REVERSED),
        )
    } else if squeeze == Squeeze::None {
        styled(" running ", base)
    } else {
        // The time moving says it runs.
        styled("", base)
    };
    let leader = match view.leader() {
        Some(l) => format!(" leader n{l} "),
        None => " no leader ".to_string(),
    };
    let mut spans = Vec::new();
    let bugs = view.teaching.bugs.names();
    if !bugs.is_empty() {
        let dash = if theme.ascii { "-" } else { "—" };
        let warning = teach_style::warning(theme);
        let names = bugs.join("+");
        let badge = match squeeze {
            Squeeze::None => format!(" {warning} BUG {names} ON {dash} Raft is unsafe "),
            Squeeze::Words => format!(" {warning} BUG {names} ON "),
            Squeeze::Name => format!(" {warning} {names} "),
            Squeeze::Badge => format!(" {warning} BUG ON "),
        };
        spans.push(styled(badge, teach_style::badge(theme)));
    }
    if let Some(off) = view.teaching.extensions.badge() {
        // The paper's Raft: say so, it explains what the class will see.
        let off = if squeeze >= Squeeze::Badge {
            off.replace("no PreVote, no CheckQuorum", "paper Raft")
        } else {
            off
        };
        spans.push(styled(format!(" {off} "), teach_style::badge(theme)));
    }
    if view.teaching.checks.violated() {
        let mark = teach_style::check_mark(theme, false);
        spans.push(styled(
            format!(" {mark} VIOLATED (c) "),
            teach_style::badge(theme),
        ));
    }
    let speed = if squeeze == Squeeze::None {
        format!("speed {}× ", view.speed)
    } else {
        format!("{}× ", view.speed)
    };
    spans.extend([
        styled(
            format!(" t={} ", cluster_time(view.tick)),
            base.add_modifier(Modifier::BOLD),
        ),
        styled(speed, base),
        time,
        styled(leader, base.add_modifier(Modifier::BOLD)),
    ]);
    if let Some(text) = configuration_text(view) {
        let text = if squeeze == Squeeze::None {
            text
        } else {
            text.replace("change pending", "pending")
        };
        spans.push(styled(text, base));
    }
    spans.extend(super::sim_badge::spans(app, base, squeeze >= Squeeze::Name));
    spans
}

/// The configuration, once it is worth a look: when it has learners, a
/// change is pending, or a node shown is not a voter (one was removed, or
/// is joining). `None` while every node shown votes, as at start.
pub fn configuration_text(view: &crate::runtime::ClusterView) -> Option<String> {
    let (config, pending) = view.configuration()?;
    let everyone_votes = view.nodes.iter().all(|n| config.is_voter(n.id));
    if everyone_votes && config.learners.is_empty() && !pending {
        return None;
    }
    let list = |ids: Vec<u64>| {
        ids.iter()
            .map(|id| id.to_string())
            .collect::<Vec<_>>()
            .join(" ")
    };
    let mut text = format!("voters {}", list(config.voters.to_vec()));
    if !config.learners.is_empty() {
        text.push_str(&format!(" · learners {}", list(config.learners.to_vec())));
    }
    if pending {
        text.push_str(" · change pending");
    }
    Some(format!("{text} "))
}
