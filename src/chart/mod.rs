//! Sequence diagrams of Raft's messages: the model and its two drawings.
//!
//! A sequence diagram is how Raft is drawn on a whiteboard: one vertical
//! lifeline per node, time flowing down, an arrow for every message. A
//! [`Chart`] holds what one diagram draws — the arrows of a time window
//! (sent, arrived or dropped and why), role changes, commit advances and
//! faults as marks on the lifelines — and two renderers draw it:
//! [`mermaid`] as `sequenceDiagram` text for slides and Markdown, [`svg`]
//! as one self-contained picture whose arrows slant by their real latency.
//!
//! Charts come from two places: `raftlab chart` collects one from a
//! simulated run (`cli/chart`), and the dashboard's `chart FILE` from the
//! messages its list holds (`tui/chart.rs`). Both draw with the code here.

pub mod mermaid;
pub mod svg;

use crate::raft::{NodeId, Role, Term};
use crate::runtime::observe::messages::{DropCause, MessageRecord, MsgClass, MsgResult};

/// The two ways a chart is written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// Mermaid `sequenceDiagram` text.
    Mermaid,
    /// A self-contained SVG picture.
    Svg,
}

impl Format {
    /// The format a file's name implies: `.svg`, or Mermaid for `.mmd`,
    /// `.md`, `.mermaid`, `.txt` and a name with no extension; the message
    /// is ready to print.
    pub fn of_path(path: &std::path::Path) -> Result<Format, String> {
        let ext = path
            .extension()
            .and_then(|e| e.to_str())
            .map(str::to_ascii_lowercase);
        match ext.as_deref() {
            Some("svg") => Ok(Format::Svg),
            None | Some("mmd" | "md" | "mermaid" | "txt") => Ok(Format::Mermaid),
            Some(other) => Err(format!(
                "which format is a .{other} file? name it .svg or .mmd"
            )),
        }
    }

    /// The chart drawn in this format.
    pub fn render(self, chart: &Chart) -> String {
        match self {
            Format::Mermaid => mermaid::render(chart),
            Format::Svg => svg::render(chart),
        }
    }
}

/// One message copy as an arrow.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Arrow {
    /// When it was sent, µs of simulated time.
    pub sent_us: u64,
    /// When it arrived; `None` when the network dropped it.
    pub arrived_us: Option<u64>,
    /// Sender.
    pub from: NodeId,
    /// Receiver.
    pub to: NodeId,
    /// Its exchange (colour).
    pub class: MsgClass,
    /// An answer rather than a request (drawn dashed).
    pub answer: bool,
    /// Why it never arrived, when it did not.
    pub dropped: Option<DropCause>,
    /// What it says, short: `Vote t2`, `AppendResp t2 ok 7`.
    pub label: String,
}

/// What a mark on a lifeline records.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MarkKind {
    /// The node took a role.
    Role(Role),
    /// The node's commit index moved.
    Commit,
    /// Something done to the cluster (a fault, a crash, a restart).
    Fault,
}

/// A moment on one lifeline, or across all of them (`node: None`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Mark {
    /// When, µs of simulated time.
    pub time_us: u64,
    /// The node, or `None` for the whole cluster.
    pub node: Option<NodeId>,
    /// What kind of moment.
    pub kind: MarkKind,
    /// Its words: `Leader t1`, `commit 3`, `crash n3`.
    pub text: String,
}

/// Everything one chart draws, in time order.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Chart {
    /// What run this is, in words (seed and flags).
    pub title: String,
    /// The lifelines, in order.
    pub nodes: Vec<NodeId>,
    /// The window, µs of simulated time: `[from_us, to_us)`.
    pub from_us: u64,
    /// End of the window.
    pub to_us: u64,
    /// The arrows, by send time.
    pub arrows: Vec<Arrow>,
    /// The marks, by time.
    pub marks: Vec<Mark>,
    /// Messages in the window left out by `max_messages`.
    pub left_out: usize,
    /// The invariant the run broke inside the window, if it did.
    pub violation: Option<String>,
}

/// An arrow's words: the type, the sender's term and what it is about.
pub fn label_of(r: &MessageRecord) -> String {
    let mut label = format!("{} t{}", r.kind, r.term);
    match (r.class, r.result, r.index) {
        (MsgClass::Append, MsgResult::None, Some(prev)) if r.entries > 0 => {
            label.push_str(&format!(" +{} after {prev}", r.entries));
        }
        (MsgClass::Append, MsgResult::None, Some(prev)) => {
            label.push_str(&format!(" probe {prev}"));
        }
        (_, MsgResult::Accepted, Some(index)) => label.push_str(&format!(" ok {index}")),
        (_, MsgResult::Refused { hint }, _) => label.push_str(&format!(" no, try {hint}")),
        (_, MsgResult::Granted, _) => label.push_str(" yes"),
        (_, MsgResult::Rejected, _) => label.push_str(" no"),
        (MsgClass::Snapshot, MsgResult::None, Some(index)) => {
            label.push_str(&format!(" to {index}"));
        }
        (_, MsgResult::Chunk { done: true }, _) => label.push_str(" installed"),
        _ => {}
    }
    label
}

/// Simulated µs as milliseconds for a chart: `152300` → `152.3ms`.
pub fn fmt_ms(us: u64) -> String {
    if us.is_multiple_of(1000) {
        format!("{}ms", us / 1000)
    } else {
        format!("{:.1}ms", us as f64 / 1000.0)
    }
}

/// Words for why a message died.
pub fn drop_text(cause: DropCause) -> &'static str {
    match cause {
        DropCause::LinkDown => "link down",
        DropCause::Lost => "lost",
        DropCause::NodeDown => "node down",
    }
}

/// A role change in words. A pre-candidate has not bumped its term yet;
/// it asks about the next one, as its PreVote messages say.
pub fn role_text(role: Role, term: Term) -> String {
    match role {
        Role::PreCandidate => format!("PreCandidate for t{}", term + 1),
        _ => format!("{role:?} t{term}"),
    }
}
