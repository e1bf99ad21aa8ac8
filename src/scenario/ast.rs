//! The parsed form of a script: a list of statements, each remembering its
//! line and source text so the transcript can echo it. Names given by `let`
//! are checked by the parser, so the runner only meets names that exist.

use crate::kv::Op;
use crate::net::HeldRef;
use crate::raft::{NodeId, Role};

use super::ClusterSpec;

/// A parsed script.
#[derive(Clone, Debug, PartialEq)]
pub struct Script {
    /// The script's name (usually its file path).
    pub name: String,
    /// The text of its first comment: what the scenario shows.
    pub intent: Option<String>,
    /// The statements, in order.
    pub statements: Vec<Stmt>,
}

/// One statement, with where it came from.
#[derive(Clone, Debug, PartialEq)]
pub struct Stmt {
    /// Line number, from 1.
    pub line: usize,
    /// The statement's text, trimmed, without its comment.
    pub source: String,
    /// What it does.
    pub kind: StmtKind,
}

/// What a statement does.
#[derive(Clone, Debug, PartialEq)]
pub enum StmtKind {
    /// `cluster N [seed S] [bug NAME]…`: replace the cluster with a new one.
    Cluster(ClusterSpec),
    /// `run D`: let time pass.
    Run(u64),
    /// `wait COND [within D]`: run until the condition holds; fail at the deadline.
    Wait {
        /// The condition.
        cond: Cond,
        /// How long to wait at most, in µs.
        within_us: u64,
    },
    /// `expect COND`: the condition must hold now.
    Expect(Cond),
    /// `put`/`get`/`delete`/`cas`.
    Client(ClientOp),
    /// `concurrently N: OP`: N copies of an operation at once (`$i` = 1..N).
    Concurrently {
        /// How many.
        count: u64,
        /// The operation, with `$i` in its key or values.
        op: ClientOp,
    },
    /// `repeat N { … }` or `repeat N: STMT`: run the body N times (`$i` = 1..N).
    Repeat {
        /// How many times.
        count: u64,
        /// The statements repeated.
        body: Vec<Stmt>,
    },
    /// `kill NODES`: crash nodes.
    Kill(NodeSet),
    /// `restart NODES`: start crashed nodes; crash and start running ones.
    Restart(NodeSet),
    /// `isolate NODES`: cut every link of each node.
    Isolate(NodeSet),
    /// `partition A… | B… [| …]`: split the network; unlisted nodes form one more group.
    Partition(Vec<Vec<NodeRef>>),
    /// `cut A -> B`: drop messages from A to B.
    Cut {
        /// Sender side.
        from: NodeRef,
        /// Receiver side.
        to: NodeRef,
    },
    /// `heal`: restore every link.
    Heal,
    /// `loss P%`.
    Loss(f64),
    /// `delay MIN..MAX` (or one fixed delay), in µs.
    Delay {
        /// Lowest delay.
        min_us: u64,
        /// Highest delay.
        max_us: u64,
    },
    /// `duplicate P%`.
    Duplicate(f64),
    /// `transfer NODE`: leadership transfer.
    Transfer(NodeRef),
    /// `add NODE`, `promote NODE`, `remove NODE` `[-> ok|refused]`: a
    /// membership change through the leader.
    Member {
        /// Which change.
        op: MemberOp,
        /// The node it is about (for `add`, an id the cluster may not
        /// have yet).
        node: NodeRef,
        /// `-> refused` (true) or `-> ok` (false); without one, a refusal
        /// fails the statement.
        refused: Option<bool>,
    },
    /// `let NAME = VALUE`: remember a node or a number.
    Let {
        /// The name.
        name: String,
        /// What is remembered.
        value: LetValue,
    },
    /// `reset stats`: count messages and elections from now.
    ResetStats,
    /// `hold`: messages sent from now on wait on their links, numbered,
    /// until delivered or dropped by hand.
    Hold,
    /// `release`: stop holding, and deliver every held message.
    Release,
    /// `deliver N|all`: held messages arrive now.
    Deliver(HeldRef),
    /// `drop N|all`: held messages are lost.
    DropHeld(HeldRef),
    /// `say "TEXT"`: narration, shown in the transcript (and by tours).
    Say(String),
    /// `at TIME: INPUT`: one input of a recorded session, given at virtual
    /// time `at_us` (see [`super::session`]).
    At {
        /// Virtual time, µs.
        at_us: u64,
        /// The input, a dashboard console command as written.
        input: String,
        /// The column the input starts at, for messages about it.
        col: usize,
    },
    /// `session SETTING…`: a recorded session's simulator settings.
    Session(super::session::SessionSpec),
    /// `start OP`: send a client operation and go on at once; its answer
    /// is awaited by `reply`, so the statements between watch it happen.
    Start(ClientOp),
    /// `reply [-> RESULT]`: wait for the answer to the operation `start`
    /// sent, and check it.
    Reply(Option<Expected>),
    /// `ask "QUESTION" "CHOICE"… answer K because "WHY"`: a question for
    /// the viewer of a tour to answer before the tour goes on.
    Ask(Ask),
}

/// A question a tour asks: predict, then see.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Ask {
    /// The question.
    pub question: String,
    /// Two to four choices, in the order shown (numbered from 1).
    pub choices: Vec<String>,
    /// The right choice, from 1.
    pub answer: usize,
    /// Why it is right: shown once the viewer has picked.
    pub why: String,
}

impl Ask {
    /// The right choice's text.
    pub fn answer_text(&self) -> &str {
        self.choices
            .get(self.answer.saturating_sub(1))
            .map_or("", String::as_str)
    }
}

/// A membership change a script asks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MemberOp {
    /// `add N`: a new node joins as a learner.
    Add,
    /// `promote N`: a learner becomes a voter.
    Promote,
    /// `remove N`: a voter or learner leaves.
    Remove,
}

/// A single node, named in a script.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum NodeRef {
    /// A literal id (`3` or `n3`).
    Id(NodeId),
    /// The current leader.
    Leader,
    /// The lowest-numbered running node that is not the leader.
    Follower,
    /// A running node picked by the run's seeded random generator.
    Random,
    /// A node remembered with `let`.
    Saved(String),
}

/// Several nodes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum NodeSet {
    /// Every running node (for `restart`: every node).
    All,
    /// The nodes listed.
    List(Vec<NodeRef>),
}

/// What `let` remembers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LetValue {
    /// A node (resolved when the `let` runs).
    Node(NodeRef),
    /// The highest term among running nodes.
    Term,
    /// The highest commit index among running nodes.
    Committed,
}

/// A number in a condition: a literal or a remembered number, plus an offset.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Num {
    /// A remembered name, or `None` for a literal.
    pub name: Option<String>,
    /// The literal, or the offset added to the name's value.
    pub offset: i64,
}

/// A comparison.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Cmp {
    /// `==` (or `=`).
    Eq,
    /// `!=`.
    Ne,
    /// `<`.
    Lt,
    /// `<=`.
    Le,
    /// `>`.
    Gt,
    /// `>=`.
    Ge,
}

impl Cmp {
    /// Whether `a CMP b`.
    pub fn holds(self, a: u64, b: u64) -> bool {
        match self {
            Cmp::Eq => a == b,
            Cmp::Ne => a != b,
            Cmp::Lt => a < b,
            Cmp::Le => a <= b,
            Cmp::Gt => a > b,
            Cmp::Ge => a >= b,
        }
    }

    /// The operator as written.
    pub fn symbol(self) -> &'static str {
        match self {
            Cmp::Eq => "==",
            Cmp::Ne => "!=",
            Cmp::Lt => "<",
            Cmp::Le => "<=",
            Cmp::Gt => ">",
            Cmp::Ge => ">=",
        }
    }
}

/// A condition for `expect` and `wait`.
#[derive(Clone, Debug, PartialEq)]
pub enum Cond {
    /// `leader [in NODES]`: there is a leader (among those nodes).
    Leader {
        /// The nodes it must be among, if given.
        among: Option<Vec<NodeRef>>,
    },
    /// `no leader`.
    NoLeader,
    /// `leader == NODE` / `leader != NODE`.
    LeaderIs {
        /// True for `!=`.
        negate: bool,
        /// The node compared with.
        node: NodeRef,
    },
    /// `role NODE == ROLE` / `role NODE != ROLE`: the role a node believes it has.
    Role {
        /// The node.
        node: NodeRef,
        /// True for `!=`.
        negate: bool,
        /// The role compared with.
        role: Role,
    },
    /// `term CMP NUM`: the highest term among running nodes.
    Term(Cmp, Num),
    /// `committed CMP NUM [on NODES]` (`on all` by default).
    Committed(Cmp, Num, NodeSet),
    /// `applied CMP NUM [on NODES]` (`on all` by default).
    Applied(Cmp, Num, NodeSet),
    /// `snapshot CMP NUM [on NODES]`: the last index each node's snapshot
    /// covers (0 before its first compaction).
    Snapshot(Cmp, Num, NodeSet),
    /// `log length CMP NUM [on NODES]`: entries each node's log holds after
    /// its snapshot (`<=` by default), to show compaction bounds the log.
    LogLength(Cmp, Num, NodeSet),
    /// `logs converged`: every running node holds the same log.
    LogsConverged,
    /// `value KEY = VALUE|nil [on NODES]`: a local (stale) read on each node.
    Value {
        /// The key.
        key: String,
        /// The value expected, `None` for absent.
        value: Option<String>,
        /// The nodes read.
        on: NodeSet,
    },
    /// `messages CMP NUM`: messages sent since the last `reset stats`.
    Messages(Cmp, Num),
    /// `elections CMP NUM`: elections since the last `reset stats`.
    Elections(Cmp, Num),
    /// `held CMP NUM`: messages held by hand now.
    Held(Cmp, Num),
    /// `linearizable`: the client history so far is linearizable.
    Linearizable,
    /// `voters == IDS [on NODES]` / `learners == IDS|none [on NODES]`:
    /// without `on`, the leader's configuration, committed; with it, the
    /// configuration each listed node uses (committed or not).
    Members {
        /// Learners (else voters).
        learners: bool,
        /// The ids expected, exactly (empty: `none`).
        ids: Vec<NodeRef>,
        /// The nodes asked, or `None` for the leader.
        on: Option<NodeSet>,
    },
    /// `change committed`: the leader's latest configuration is committed
    /// (no membership change is in flight).
    ChangeCommitted,
    /// `violation ["TEXT"]`: the cluster's invariant checker has reported a
    /// violation (one whose name or evidence contains TEXT).
    Violation(Option<String>),
    /// `no violation`: the checker has reported none.
    NoViolation,
    /// `candidate`: some running node is a candidate (collecting votes).
    Candidate,
    /// `uncommitted CMP NUM [on NODES]`: the entries each node holds past
    /// its commit index (`>=` by default).
    Uncommitted(Cmp, Num, NodeSet),
}

impl Cond {
    /// Whether the condition waits for a safety violation, which ends a
    /// simulated run: the runner then judges it rather than failing.
    pub fn expects_violation(&self) -> bool {
        matches!(self, Cond::Violation(_))
    }
}

/// A client operation: `put KEY VALUE`, `get KEY [stale]`, `delete KEY`
/// or `cas KEY OLD NEW`, with its options.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClientOp {
    /// The operation, as written (its text may contain `$i`).
    pub op: Op,
    /// `get KEY stale`: read the node's store directly instead of through
    /// Raft (only ever set on a `get`).
    pub stale: bool,
    /// The node to send it to; by default the client picks.
    pub on: Option<NodeRef>,
    /// How long to wait, in µs; by default [`DEFAULT_OP_TIMEOUT_US`].
    pub timeout_us: Option<u64>,
    /// The expected outcome; without one any outcome passes.
    pub expect: Option<Expected>,
}

/// Default client timeout: 2 s.
pub const DEFAULT_OP_TIMEOUT_US: u64 = 2_000_000;
/// Default `wait … within`: 5 s.
pub const DEFAULT_WAIT_US: u64 = 5_000_000;

/// The outcome a client operation should have (`-> …`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Expected {
    /// `ok`: any answer.
    Ok,
    /// `"v"` or `nil`: a get read this.
    Value(Option<String>),
    /// `true`/`false`: a cas swapped or not.
    Swapped(bool),
    /// `timeout`.
    Timeout,
    /// `unavailable`.
    Unavailable,
    /// `A | B …`: any of these.
    AnyOf(Vec<Expected>),
}
