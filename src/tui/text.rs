//! What the dashboard says in words, where more than one part says it:
//! cluster time (`12.34s`), a request as the console command that does it,
//! why the cluster may not answer, and text wrapped to a width.
//!
//! These are pure functions of plain values (a tick count, a [`Request`], a
//! [`ClusterView`]), so the panes, `App`, "why?" and the simulated mode
//! all take them from here and none of them has to import another for its
//! words. (A delay and a partition in words, `delay_text` and
//! `groups_text`, stay with the outcomes they spell in
//! [`driver`](crate::tui::driver).)

use crate::raft::NodeId;
use crate::runtime::{ClusterView, NodeState, TICK_CLUSTER_US};
use crate::tui::driver::{Request, delay_text, groups_text};

/// Cluster time of a tick count, as "12.34s".
pub fn cluster_time(tick: u64) -> String {
    let ms = tick * TICK_CLUSTER_US / 1000;
    format!("{}.{:02}s", ms / 1000, (ms % 1000) / 10)
}

/// `text` cut at spaces into lines of at most about `width` characters: a
/// word longer than that stands whole on a line of its own. An empty text
/// is one empty line.
pub fn wrap_words(text: &str, width: usize) -> Vec<String> {
    let lines = fill(text, width, false);
    if lines.is_empty() {
        vec![String::new()]
    } else {
        lines
    }
}

/// Splits `text` into lines at most `width` characters wide, at spaces
/// where it can: a longer word is cut. An empty text is no line.
pub fn wrap(text: &str, width: usize) -> Vec<String> {
    fill(text, width, true)
}

/// Words filled greedily into lines of `width`; with `split_long`, a line
/// still wider than that is cut into pieces of `width`.
fn fill(text: &str, width: usize, split_long: bool) -> Vec<String> {
    let mut lines = Vec::new();
    let mut line = String::new();
    for word in text.split_whitespace() {
        let len = line.chars().count();
        if len > 0 && len + 1 + word.chars().count() > width {
            lines.push(std::mem::take(&mut line));
        }
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(word);
        while split_long && line.chars().count() > width {
            let head: String = line.chars().take(width).collect();
            line = line.chars().skip(width).collect();
            lines.push(head);
        }
    }
    if !line.is_empty() {
        lines.push(line);
    }
    lines
}

/// Why the cluster may not answer, in words, from what the view shows.
pub fn unavailability_hint(view: &ClusterView) -> Option<String> {
    let n = view.nodes.len();
    let majority = n / 2 + 1;
    let up = |id: &NodeId| view.node(*id).is_some_and(|v| v.state == NodeState::Up);
    let running: usize = view
        .nodes
        .iter()
        .filter(|v| v.state == NodeState::Up)
        .count();
    if running < majority {
        return Some(format!(
            "only {running} of {n} nodes run; a majority ({majority}) is needed"
        ));
    }
    if view.groups.len() > 1 {
        let best = view
            .groups
            .iter()
            .map(|g| g.iter().filter(|id| up(id)).count())
            .max()
            .unwrap_or(0);
        if best < majority {
            return Some(format!(
                "no side of the partition {} has a majority ({majority} of {n}) of running nodes",
                groups_text(&view.groups)
            ));
        }
        if let Some(leader) = view.leader()
            && let Some(g) = view.groups.iter().find(|g| g.contains(&leader))
            && g.len() < majority
        {
            return Some(format!(
                "node {leader} still thinks it leads but is in a minority partition ({})",
                groups_text(&view.groups)
            ));
        }
    }
    if view.leader().is_none() {
        return Some("no leader yet: an election takes about a second at speed 1".into());
    }
    None
}

/// An operation as the console writes it (`put k v`, quoting a word with
/// spaces so the line parses back).
pub(crate) fn op_request_text(op: &crate::kv::Op) -> String {
    use crate::kv::Op;
    let q = |s: &str| {
        if s.is_empty() || s.contains(char::is_whitespace) || s.contains('"') {
            format!("{s:?}")
        } else {
            s.to_string()
        }
    };
    match op {
        Op::Put { key, value } => format!("put {} {}", q(key), q(value)),
        Op::Get { key } => format!("get {}", q(key)),
        Op::Delete { key } => format!("delete {}", q(key)),
        Op::Cas { key, old, new } => format!("cas {} {} {}", q(key), q(old), q(new)),
    }
}

/// The console command that does what `request` does.
pub fn request_text(request: &Request) -> String {
    match request {
        Request::Kill(id) => format!("kill {id}"),
        Request::Restart(id) => format!("restart {id}"),
        Request::RestartAll => "restart all".into(),
        Request::Pause(id) => format!("pause {id}"),
        Request::Resume(id) => format!("resume {id}"),
        Request::Isolate(id) => format!("isolate {id}"),
        Request::Partition(groups) => format!("partition {}", groups_text(groups)),
        Request::Heal => "heal".into(),
        Request::Loss(p) => format!("loss {:.0}%", p * 100.0),
        Request::Delay(a, b) => format!("delay {}", delay_text(*a, *b)),
        Request::LinkDelay(x, y, a, b) => {
            format!("delay {x} {y} {}", delay_text(*a, *b))
        }
        Request::Transfer(id) => format!("transfer {id}"),
        Request::Speed(x) => format!("speed {x}"),
        Request::PauseClock => "pause".into(),
        Request::ResumeClock => "resume".into(),
        Request::Step => "step".into(),
        Request::Put(k, v) => format!("put {k} {v}"),
        Request::Get(k) => format!("get {k}"),
        Request::GetStale(n, k) => format!("get {k} stale {n}"),
        Request::Delete(k) => format!("delete {k}"),
        Request::Cas(k, a, b) => format!("cas {k} {a} {b}"),
        Request::ClientOn(n, op) => format!("{} on {n}", op_request_text(op)),
        Request::Replay => "replay".into(),
        Request::Bug(name, on) => format!("bug {name} {}", if *on { "on" } else { "off" }),
        Request::AddLearner(id) => format!("add {id}"),
        Request::Promote(id) => format!("promote {id}"),
        Request::Remove(id) => format!("remove {id}"),
        Request::Hold => "hold".into(),
        Request::Release => "release".into(),
        Request::Deliver(which) => format!("deliver {which}"),
        Request::DropHeld(which) => format!("drop {which}"),
        Request::Save(path) => format!("save {}", path.display()),
    }
}

#[cfg(test)]
mod tests {
    use super::{wrap, wrap_words};

    #[test]
    fn wraps_at_spaces_and_splits_long_words() {
        assert_eq!(wrap("a bb ccc dddd", 6), vec!["a bb", "ccc", "dddd"]);
        assert_eq!(wrap("abcdefgh", 3), vec!["abc", "def", "gh"]);
        assert!(wrap("", 5).is_empty());
    }

    #[test]
    fn wraps_words_whole_and_keeps_one_line() {
        assert_eq!(wrap_words("a bb ccc dddd", 6), vec!["a bb", "ccc", "dddd"]);
        assert_eq!(wrap_words("abcdefgh ij", 3), vec!["abcdefgh", "ij"]);
        assert_eq!(wrap_words("", 5), vec![String::new()]);
    }
}
