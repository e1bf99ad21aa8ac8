//! One node as a card: id, up/down/paused and its side of a partition,
//! role spelled out, term, vote, commit, applied, last index, then what
//! its role is doing — a (pre-)candidate's tally, the leader a follower
//! follows, a leader's followers' match indexes — and when its election
//! timer fires (a countdown with a bar that fills as the node waits and
//! empties when a heartbeat resets it). The bottom edge counts the
//! messages in flight from and to it.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::Modifier;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Widget};

use super::{label_value, put_line, styled};
use crate::raft::{Role, Tally};
use crate::runtime::{ClusterView, MemberRole, NodeState, NodeView, TICK_CLUSTER_US};
use crate::tui::theme::Theme;

/// Draws `node`'s card into `area`.
pub fn render(
    theme: &Theme,
    view: &ClusterView,
    node: &NodeView,
    selected: bool,
    area: Rect,
    buf: &mut Buffer,
) {
    let leader = node.role == Role::Leader && node.state != NodeState::Down;
    let border = theme.card_border(node.role, node.state, selected);
    let id = if selected {
        styled(
            format!("{}n{} ", theme.pointer(), node.id),
            border.add_modifier(Modifier::REVERSED),
        )
    } else {
        styled(
            format!(" n{} ", node.id),
            border.add_modifier(Modifier::BOLD),
        )
    };
    let mut title = vec![
        id,
        styled(
            format!("{} ", Theme::state_name(node.state)),
            theme.state(node.state),
        ),
    ];
    if let Some(side) = side(view, node.id) {
        let style = if side == Side::Majority {
            theme.key()
        } else {
            theme.error()
        };
        title.push(styled(format!("{} ", side.label()), style));
        // A running node's `Up` gives way to its side on a narrow card.
        let width: usize = title.iter().map(Span::width).sum();
        if width + 2 > area.width as usize && node.state == NodeState::Up {
            title.remove(1);
        }
    }
    let role_line = if node.state == NodeState::Down {
        Line::from(styled(
            format!("({})", Theme::role_name(node.role)),
            theme.dim(),
        ))
    } else {
        let sym = theme.role_symbol(node.role);
        let text = if sym.trim().is_empty() {
            Theme::role_name(node.role).to_string()
        } else {
            format!("{sym} {}", Theme::role_name(node.role))
        };
        Line::from(styled(text, theme.role(node.role)))
    };
    let role_line = with_member_role(theme, view, node, role_line, area.width.saturating_sub(2));
    let block = Block::bordered()
        .border_set(theme.card_set(leader))
        .border_style(border)
        .title(Line::from(title))
        .title_bottom(flight_line(
            theme,
            view,
            node.id,
            area.width.saturating_sub(2),
        ));
    let inner = block.inner(area);
    block.render(area, buf);
    let w = inner.width;
    let who = |n: Option<u64>| n.map_or("-".to_string(), |v| format!("n{v}"));
    let tall = inner.height > 6;
    let lines = [
        role_line,
        label_value(
            Span::raw(format!("term {}", node.term)),
            Span::raw(format!("vote {}", who(node.vote))),
            w,
        ),
        commit_line(theme, view, node, w),
        last_line(theme, node, w, tall),
        info_line(theme, node, w),
        if node.role == Role::Leader && node.state != NodeState::Down {
            match_line(theme, node, w)
        } else if node.state == NodeState::Down {
            Line::default()
        } else {
            timer_line(theme, view, node, w)
        },
    ];
    for (y, line) in lines.iter().enumerate() {
        put_line(buf, inner, y as u16, line);
    }
    if tall {
        let extra = label_value(
            styled("snap", theme.dim()),
            Span::raw(node.snapshot_index.to_string()),
            w,
        );
        put_line(buf, inner, 6, &extra);
    }
}

/// Which side of a partition a node is on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Side {
    /// Alone: every link to and from it is cut.
    Isolated,
    /// With fewer than a majority of the voters: it cannot elect or commit.
    Minority,
    /// With a majority of the voters.
    Majority,
}

impl Side {
    /// The side in a word, as the card's title says it.
    pub fn label(self) -> &'static str {
        match self {
            Side::Isolated => "isolated",
            Side::Minority => "minority",
            Side::Majority => "majority",
        }
    }
}

/// Node `id`'s side while the network is partitioned; `None` when every
/// node reaches every other.
pub fn side(view: &ClusterView, id: u64) -> Option<Side> {
    if view.groups.len() < 2 {
        return None;
    }
    let group = view.groups.iter().find(|g| g.contains(&id))?;
    if group.len() == 1 {
        return Some(Side::Isolated);
    }
    let voters: Vec<u64> = match view.configuration() {
        Some((config, _)) => config.voters.to_vec(),
        None => view.nodes.iter().map(|n| n.id).collect(),
    };
    let here = voters.iter().filter(|v| group.contains(v)).count();
    Some(if here > voters.len() / 2 {
        Side::Majority
    } else {
        Side::Minority
    })
}

/// The card's bottom edge: the messages in flight from and to the node,
/// said in words when they fit.
fn flight_line(theme: &Theme, view: &ClusterView, id: u64, width: u16) -> Line<'static> {
    let (out, inn) = in_flight(view, id);
    let counts = if theme.ascii {
        format!("out {out} in {inn}")
    } else {
        format!("↑{out} ↓{inn}")
    };
    let long = format!(" in flight {counts} ");
    let text = if long.chars().count() <= width as usize {
        long
    } else {
        format!(" {counts} ")
    };
    Line::from(styled(text, theme.dim())).right_aligned()
}

/// `commit 5  applied 5` in the longest words that fit numbers as long as
/// the longest any card shows, so every card says it in the same words.
fn commit_line(theme: &Theme, view: &ClusterView, node: &NodeView, width: u16) -> Line<'static> {
    let (c, a) = (node.commit.to_string(), node.applied.to_string());
    let most = view.nodes.iter().map(|n| n.commit.max(n.applied)).max();
    let digits = most.unwrap_or(0).to_string().len();
    let words = [("commit", "applied"), ("commit", "appl"), ("cmt", "appl")];
    let fits = |(cl, al): &(&str, &str)| cl.len() + al.len() + 2 * digits + 3 <= width as usize;
    let (cl, al) = words.into_iter().find(fits).unwrap_or(words[2]);
    let used = cl.len() + c.len() + al.len() + a.len() + 2;
    let gap = (width as usize).saturating_sub(used).max(1);
    Line::from(vec![
        styled(cl, theme.dim()),
        Span::raw(format!(" {c}")),
        Span::raw(" ".repeat(gap)),
        styled(al, theme.dim()),
        Span::raw(format!(" {a}")),
    ])
}

/// The card's line for a node that is down, or else leads: the same on
/// the info and the timer line, as neither has a tally or a timer to show.
fn down_or_leading(theme: &Theme, node: &NodeView, width: u16) -> Line<'static> {
    if node.state == NodeState::Down {
        let text = if width >= 27 {
            "down: only its disk remains"
        } else {
            "down"
        };
        Line::from(styled(text, theme.dim()))
    } else {
        let text = if width >= 25 {
            "leading: sends heartbeats"
        } else {
            "leading"
        };
        Line::from(styled(text, theme.role(Role::Leader)))
    }
}

/// What the node does now, by role: a (pre-)candidate's tally, the
/// leader it follows, that it leads, or that it is down.
fn info_line(theme: &Theme, node: &NodeView, width: u16) -> Line<'static> {
    match (node.state, node.role) {
        (NodeState::Down, _) | (_, Role::Leader) => down_or_leading(theme, node, width),
        (_, Role::PreCandidate | Role::Candidate) => match &node.votes {
            Some(tally) => tally_line(theme, node.role, tally, width),
            None => Line::default(),
        },
        (_, Role::Follower) => match node.leader {
            Some(l) => Line::from(vec![
                styled("follows ", theme.dim()),
                Span::raw(format!("n{l}")),
            ]),
            None => {
                let text = if width >= 15 {
                    "no leader known"
                } else {
                    "no leader"
                };
                Line::from(styled(text, theme.dim()))
            }
        },
    }
}

/// `votes 2/3 ✓n1 n3 ✗n4`: grants of the needed majority, who granted
/// and who refused, in the most detail that fits `width`.
pub fn tally_line(theme: &Theme, role: Role, tally: &Tally, width: u16) -> Line<'static> {
    let (yes, no) = if theme.ascii {
        ("+", "-")
    } else {
        ("✓", "✗")
    };
    let voters = |set: crate::raft::NodeSet| -> Vec<u64> {
        set.iter().filter(|&id| tally.voters.contains(id)).collect()
    };
    let (granted, refused) = (voters(tally.granted), voters(tally.refused));
    let head = format!("votes {}/{}", tally.granted_count(), tally.needed);
    let list = |ids: &[u64], n: bool| {
        ids.iter()
            .map(|id| if n { format!("n{id}") } else { id.to_string() })
            .collect::<Vec<_>>()
            .join(" ")
    };
    let part = |mark: &str, ids: &[u64], n: bool| {
        (!ids.is_empty()).then(|| format!(" {mark}{}", list(ids, n)))
    };
    let options = [
        (part(yes, &granted, true), part(no, &refused, true)),
        (part(yes, &granted, false), part(no, &refused, false)),
        (None, part(no, &refused, false)),
        (None, None),
    ];
    let len = |s: &Option<String>| s.as_ref().map_or(0, |s| s.chars().count());
    let (g, r) = options
        .into_iter()
        .find(|(g, r)| head.len() + len(g) + len(r) <= width as usize)
        .unwrap_or((None, None));
    let mut spans = vec![styled(head, theme.role(role).add_modifier(Modifier::BOLD))];
    if let Some(g) = g {
        spans.push(styled(g, theme.ok()));
    }
    if let Some(r) = r {
        spans.push(styled(r, theme.error()));
    }
    Line::from(spans)
}

/// On the leader's card: each follower's match index, cut with `…` when
/// they do not all fit (the log pane has the whole table).
fn match_line(theme: &Theme, node: &NodeView, width: u16) -> Line<'static> {
    if node.progress.is_empty() {
        return Line::default();
    }
    let mut text = String::from("match");
    for (id, p) in &node.progress {
        text.push_str(&format!(" n{id} {}", p.match_index));
    }
    Line::from(vec![styled(cut(theme, &text, width as usize), theme.dim())])
}

/// `text` cut to `width` characters, ending with `…` (`...` in ASCII)
/// when cut.
pub fn cut(theme: &Theme, text: &str, width: usize) -> String {
    if text.chars().count() <= width {
        return text.to_string();
    }
    let more = theme.running();
    let keep = width.saturating_sub(more.chars().count());
    let kept: String = text.chars().take(keep).collect();
    format!("{kept}{more}")
}

/// The role line with the node's place in the configuration when it is
/// not simply a voter: `learner`, `removed` or `joining` (only once the
/// view knows a configuration).
fn with_member_role(
    theme: &Theme,
    view: &ClusterView,
    node: &NodeView,
    line: Line<'static>,
    width: u16,
) -> Line<'static> {
    if view.configuration().is_none() {
        return line;
    }
    let role = view.member_role(node.id);
    if role == MemberRole::Voter {
        return line;
    }
    let tag = styled(
        role.label().to_string(),
        theme.key().add_modifier(Modifier::BOLD),
    );
    if role == MemberRole::Removed {
        // A removed node's Raft role no longer matters to the cluster.
        return Line::from(vec![tag, styled(" (not a member)", theme.dim())]);
    }
    if line.width() + 3 + role.label().len() <= width as usize {
        let mut spans = line.spans;
        spans.push(styled(" · ", theme.dim()));
        spans.push(tag);
        Line::from(spans)
    } else {
        Line::from(tag)
    }
}

/// The last entry; on a card too short for its own `snap` line, the
/// snapshot index too once there is one and it fits, so compaction shows
/// at every size that has room.
fn last_line(theme: &Theme, node: &NodeView, width: u16, tall: bool) -> Line<'static> {
    let last = format!("{} (t{})", node.last_index, node.last_term);
    let snap = format!(" snap {}", node.snapshot_index);
    if tall || node.snapshot_index == 0 || 4 + 1 + last.len() + snap.len() > width as usize {
        return label_value(styled("last", theme.dim()), Span::raw(last), width);
    }
    let value = Line::from(vec![Span::raw(last), styled(snap, theme.dim())]);
    let gap = (width as usize).saturating_sub(4 + value.width());
    let mut spans = vec![styled("last", theme.dim()), Span::raw(" ".repeat(gap))];
    spans.extend(value.spans);
    Line::from(spans)
}

/// Messages in flight from and to node `id`.
pub fn in_flight(view: &ClusterView, id: u64) -> (u64, u64) {
    view.links.iter().fold((0, 0), |(o, i), l| {
        (
            o + if l.from == id { l.in_flight } else { 0 },
            i + if l.to == id { l.in_flight } else { 0 },
        )
    })
}

/// The election timer: when it fires, in cluster time (`election in
/// 0.21s`, with its randomized timeout when there is room, so the spread
/// between nodes shows), then a bar of how far the node is into it; in
/// its place, why a node never campaigns (a learner, a removed or joining
/// node: its own configuration does not make it a voter, so its timer
/// only ever restarts).
pub fn timer_line(theme: &Theme, view: &ClusterView, node: &NodeView, width: u16) -> Line<'static> {
    if node.state != NodeState::Down
        && node.role != Role::Leader
        && let Some(why) = no_campaign(view, node, width)
    {
        return Line::from(styled(why, theme.dim()));
    }
    match (node.state, node.role) {
        (NodeState::Down, _) | (_, Role::Leader) => down_or_leading(theme, node, width),
        _ => {
            let timeout = node.election_timeout.max(1);
            let elapsed = node.election_elapsed.min(timeout);
            let left = seconds(timeout - elapsed);
            let style = if node.state == NodeState::Paused {
                theme.dim()
            } else {
                theme.role(node.role)
            };
            let w = width as usize;
            let texts = [
                format!("election in {left} of {}", seconds(timeout)),
                format!("election in {left}"),
                format!("election {left}"),
                format!("in {left}"),
            ];
            // The longest words that fit; the bar takes what is left.
            let text = texts
                .iter()
                .find(|t| t.len() <= w)
                .unwrap_or(&texts[3])
                .clone();
            let bar = w.saturating_sub(text.len() + 1);
            let mut spans = vec![styled(text, style)];
            if bar >= 3 {
                let filled = (elapsed * bar as u64 / timeout) as usize;
                spans.push(Span::raw(" "));
                spans.push(styled(theme.bar_full().repeat(filled), style));
                spans.push(styled(theme.bar_empty().repeat(bar - filled), theme.dim()));
            }
            Line::from(spans)
        }
    }
}

/// `ticks` of cluster time as `0.21s`.
fn seconds(ticks: u64) -> String {
    let ms = ticks * TICK_CLUSTER_US / 1000;
    format!("{}.{:02}s", ms / 1000, (ms % 1000) / 10)
}

/// Why `node` never campaigns, in the longest words that fit `width`;
/// `None` when it may (it is a voter as far as it knows, or knows no
/// configuration).
fn no_campaign(view: &ClusterView, node: &NodeView, width: u16) -> Option<&'static str> {
    let own = node.membership;
    if own.voters.is_empty() || own.is_voter(node.id) {
        return None;
    }
    let words: [&str; 3] = if own.is_learner(node.id) {
        [
            "learner: does not campaign",
            "learner: no timer",
            "no timer",
        ]
    } else if view.member_role(node.id) == MemberRole::Joining {
        [
            "joining: does not campaign",
            "joining: no timer",
            "no timer",
        ]
    } else {
        [
            "no election timer: removed",
            "removed: no timer",
            "no timer",
        ]
    };
    let fits = words
        .into_iter()
        .find(|w| w.chars().count() <= width as usize);
    Some(fits.unwrap_or(words[2]))
}
