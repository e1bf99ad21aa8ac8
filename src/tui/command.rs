//! The console's command language: one line in, a [`Command`] out, or an
//! explanation of what is wrong with the line.
//!
//! `kill leader` and a `get k stale` without a node are resolved against
//! what the dashboard shows (the leader, the selected node), so the parser
//! takes that [`Context`].

use crate::kv::Op;
use crate::net::{HeldRef, parse_delay_range};
use crate::raft::{Index, NodeId};
use crate::runtime::observe::{MsgClass, MsgFilter};
use crate::scenario::ast::NodeRef;
use crate::scenario::tours;
use crate::tui::driver::Request;
use crate::tui::why::Subject;

/// What a console line asks for.
#[derive(Clone, Debug, PartialEq)]
pub enum Command {
    /// A request for the cluster.
    Request(Request),
    /// Show the help overlay.
    Help,
    /// Clear the console.
    Clear,
    /// `tour`: list the guided tours; `tour NAME`: play one.
    Tour(Option<String>),
    /// Show the message list, with a new filter if given.
    Msgs(Option<MsgFilter>),
    /// List the unsafe protocol variants and whether each is on.
    Bugs,
    /// `bug NAME on|off` named no variant: say so and list them.
    UnknownBug(String),
    /// `why …`: explain what it names (`None`: what is selected).
    Why(Option<Subject>),
    /// `chart FILE`: the message list as a sequence diagram, `.svg` or
    /// `.mmd` (see [`crate::tui::chart`]).
    Chart(std::path::PathBuf),
    /// `save FILE`: the simulated session as a script that replays it.
    Save(std::path::PathBuf),
}

/// What the parser needs to know about the dashboard.
#[derive(Clone, Copy, Debug)]
pub struct Context {
    /// The number of nodes; ids are `1..=nodes`.
    pub nodes: usize,
    /// The current leader.
    pub leader: Option<NodeId>,
    /// The selected node.
    pub selected: NodeId,
}

/// Every console command with its syntax, for the help overlay.
pub const COMMANDS: &[(&str, &str)] = &[
    ("put K V [on N]", "set K to V"),
    ("get K [stale] [on N]", "read / N's copy"),
    ("delete K [on N]", "remove K"),
    ("cas K OLD NEW", "K=NEW if K=OLD"),
    ("kill N  restart N|all", "crash / reboot"),
    ("pause N / resume N", "freeze/unfreeze"),
    ("isolate N|leader", "cut its links"),
    ("partition 1 2 | 3 4 5", "split network"),
    ("heal", "links back up"),
    ("loss N%  delay A..Bms", "lossy/slow links"),
    ("delay N M A..Bms", "slow link N-M"),
    ("transfer N", "make N leader"),
    ("add/promote/remove N", "membership"),
    ("speed X", "X times as fast"),
    ("pause / resume / step", "the clock"),
    ("hold / release", "messages wait/go"),
    ("deliver|drop N|all", "held messages"),
    ("msgs [from/to N] [T]", "filter messages"),
    ("bug [NAME on|off]", "break Raft"),
    ("tour [NAME]  clear", "tours / console"),
    ("why [N|entry I]", "explain it"),
    ("chart F.svg / save F", "slide / session"),
];

/// Parses one console line.
pub fn parse(line: &str, cx: Context) -> Result<Command, String> {
    let words: Vec<&str> = line.split_whitespace().collect();
    let Some((&verb, args)) = words.split_first() else {
        return Err("type a command, or `help`".into());
    };
    let req = |r: Request| Ok(Command::Request(r));
    let node = |s: &str| parse_node(s, cx.nodes);
    // A node named by id, or `leader` for whichever node leads now.
    let target = |s: &str, what: &str| {
        if s.eq_ignore_ascii_case("leader") {
            cx.leader
                .ok_or_else(|| format!("there is no leader to {what} right now"))
        } else {
            node(s)
        }
    };
    match (verb.to_ascii_lowercase().as_str(), args) {
        ("help" | "?", []) => Ok(Command::Help),
        ("clear", []) => Ok(Command::Clear),
        ("tour" | "tours", []) => Ok(Command::Tour(None)),
        ("tour", [name]) => match tours::find(&name.to_ascii_lowercase()) {
            Some(tour) => Ok(Command::Tour(Some(tour.name.to_string()))),
            None => Err(format!(
                "there is no tour called '{name}'; the tours are: {}",
                tours::TOURS
                    .iter()
                    .map(|t| t.name)
                    .collect::<Vec<_>>()
                    .join(", ")
            )),
        },
        ("put" | "set" | "get" | "delete" | "del" | "cas", _) => client_request(line, cx),
        ("kill", [n]) => req(Request::Kill(target(n, "kill")?)),
        ("restart", [n]) if n.eq_ignore_ascii_case("all") => req(Request::RestartAll),
        ("restart", [n]) => req(Request::Restart(node(n)?)),
        ("pause", []) => req(Request::PauseClock),
        ("resume", []) => req(Request::ResumeClock),
        ("step", []) => req(Request::Step),
        ("pause", [n]) => req(Request::Pause(target(n, "pause")?)),
        ("resume", [n]) => req(Request::Resume(node(n)?)),
        ("isolate", [n]) => req(Request::Isolate(target(n, "isolate")?)),
        ("partition", _) => req(Request::Partition(parse_groups(args, cx.nodes)?)),
        ("heal", []) => req(Request::Heal),
        ("loss", [p]) => req(Request::Loss(parse_percent(p)?)),
        ("delay", [d]) => {
            let (a, b) = parse_delay_range(d)?;
            req(Request::Delay(a, b))
        }
        ("delay", [a, b, d]) => {
            let (from, to) = (node(a)?, node(b)?);
            if from == to {
                return Err(format!(
                    "delay: name two different nodes, e.g. `delay 1 3 50ms`, not {a} and {b}"
                ));
            }
            let (min, max) = parse_delay_range(d)?;
            req(Request::LinkDelay(from, to, min, max))
        }
        ("transfer", [n]) => req(Request::Transfer(node(n)?)),
        ("add", [n]) => req(Request::AddLearner(parse_member_id(n)?)),
        ("promote", [n]) => req(Request::Promote(parse_member_id(n)?)),
        ("remove", [n]) => req(Request::Remove(target_or_id(n, cx)?)),
        ("speed", [x]) => req(Request::Speed(parse_speed(x)?)),
        ("hold", []) => req(Request::Hold),
        ("release", []) => req(Request::Release),
        ("deliver", [n]) => req(Request::Deliver(HeldRef::parse(n)?)),
        ("drop", [n]) => req(Request::DropHeld(HeldRef::parse(n)?)),
        ("chart", [_, ..]) => Ok(Command::Chart(rest_of(line).into())),
        ("save", [_, ..]) => Ok(Command::Save(rest_of(line).into())),
        ("msgs" | "messages", []) => Ok(Command::Msgs(None)),
        ("msgs" | "messages", _) => Ok(Command::Msgs(Some(parse_msg_filter(args, cx.nodes)?))),
        ("bug" | "bugs", []) => Ok(Command::Bugs),
        ("why", _) => Ok(Command::Why(parse_why(args, cx)?)),
        ("bug", [name, state]) => {
            let on = match state.to_ascii_lowercase().as_str() {
                "on" => true,
                "off" => false,
                _ => return Err(format!("bug: say `on` or `off`, not '{state}'")),
            };
            let name = name.to_ascii_lowercase();
            if !crate::raft::Bugs::default().enable(&name) {
                return Ok(Command::UnknownBug(name));
            }
            req(Request::Bug(name, on))
        }
        (
            "kill" | "restart" | "pause" | "resume" | "isolate" | "heal" | "loss" | "delay"
            | "transfer" | "speed" | "step" | "help" | "clear" | "tour" | "bug" | "chart" | "save"
            | "hold" | "release" | "deliver" | "drop",
            _,
        ) => Err(format!("{verb}: wrong arguments; {}", usage(verb))),
        _ => Err(format!(
            "unknown command '{verb}'; type `help` for the list"
        )),
    }
}

/// `put`, `get`, `delete`, `cas`: the scenario language's grammar for a
/// client request ([`parse_request`](crate::scenario::parse_request)).
/// With `on N` the request goes to node N alone, as a client connected to
/// it would send it; without, the console's client finds the leader.
fn client_request(line: &str, cx: Context) -> Result<Command, String> {
    let op = crate::scenario::parse_request(line, cx.nodes)?;
    let on = match op.on {
        None => None,
        Some(NodeRef::Id(id)) => Some(id),
        Some(NodeRef::Leader) => Some(
            cx.leader
                .ok_or_else(|| "there is no leader to send it to right now".to_string())?,
        ),
        Some(_) => {
            return Err("the console sends to a node by its number or to `leader`".to_string());
        }
    };
    let request = match (op.op, op.stale, on) {
        (Op::Get { key }, true, on) => Request::GetStale(on.unwrap_or(cx.selected), key),
        (op, _, Some(n)) => Request::ClientOn(n, op),
        (Op::Put { key, value }, _, None) => Request::Put(key, value),
        (Op::Get { key }, _, None) => Request::Get(key),
        (Op::Delete { key }, _, None) => Request::Delete(key),
        (Op::Cas { key, old, new }, _, None) => Request::Cas(key, old, new),
    };
    Ok(Command::Request(request))
}

/// `from N`, `to N`, `node N`, `type T` (or just `T`), `faults`, `all`,
/// in any order, into a message filter.
pub fn parse_msg_filter(args: &[&str], nodes: usize) -> Result<MsgFilter, String> {
    let mut filter = MsgFilter::default();
    let mut words = args.iter();
    let types = || {
        MsgClass::ALL
            .iter()
            .map(|c| c.word())
            .collect::<Vec<_>>()
            .join("|")
    };
    let class = |w: &str| {
        MsgClass::parse(w)
            .ok_or_else(|| format!("'{w}' is not a message type: write {}|read|all", types()))
    };
    while let Some(&word) = words.next() {
        let mut value = |what: &str| {
            words
                .next()
                .copied()
                .ok_or_else(|| format!("msgs: `{what}` needs a value, e.g. `msgs {what} 2`"))
        };
        match word.to_ascii_lowercase().as_str() {
            "from" => filter.from = Some(parse_node(value("from")?, nodes)?),
            "to" => filter.to = Some(parse_node(value("to")?, nodes)?),
            "node" => filter.node = Some(parse_node(value("node")?, nodes)?),
            "type" => {
                let w = value("type")?;
                filter.class = if w.eq_ignore_ascii_case("all") {
                    None
                } else {
                    Some(class(w)?)
                };
            }
            "faults" | "unusual" | "dropped" => filter.unusual = true,
            "all" | "clear" | "reset" => filter = MsgFilter::default(),
            other => match MsgClass::parse(other) {
                Some(c) => filter.class = Some(c),
                None => {
                    return Err(format!(
                        "msgs: '{word}' is not understood; write e.g. `msgs from 1 to 3 type append`, `msgs node 2 vote`, `msgs faults` or `msgs all` (types: {}|read)",
                        types()
                    ));
                }
            },
        }
    }
    Ok(filter)
}

/// What follows a line's first word, trimmed: a file name may hold spaces.
fn rest_of(line: &str) -> &str {
    let line = line.trim_start();
    let verb = line.find(char::is_whitespace).unwrap_or(line.len());
    line[verb..].trim()
}

/// The syntax line of a command.
fn usage(verb: &str) -> String {
    let verb = match verb {
        "set" => "put",
        "del" => "delete",
        v => v,
    };
    let lines: Vec<&str> = COMMANDS
        .iter()
        .filter(|(syntax, _)| {
            syntax
                .split(|c: char| c.is_whitespace() || c == '|')
                .any(|w| w == verb)
        })
        .map(|(syntax, _)| *syntax)
        .collect();
    if lines.is_empty() {
        format!("write just `{verb}`")
    } else {
        format!("write `{}`", lines.join("` or `"))
    }
}

pub(crate) fn parse_node(s: &str, nodes: usize) -> Result<NodeId, String> {
    let digits = s.strip_prefix('n').unwrap_or(s);
    match digits.parse::<NodeId>() {
        Ok(id) if (1..=nodes as NodeId).contains(&id) => Ok(id),
        _ => Err(format!("'{s}' is not a node: the nodes are 1 to {nodes}")),
    }
}

/// `why`, `why N`, `why leader`, `why entry I [on N]`: what the console's
/// `why` asks about (`None`: what is selected).
fn parse_why(args: &[&str], cx: Context) -> Result<Option<Subject>, String> {
    let node = |s: &str| -> Result<NodeId, String> {
        if s.eq_ignore_ascii_case("leader") {
            return cx
                .leader
                .ok_or_else(|| "there is no leader to ask about right now".to_string());
        }
        parse_node(s, cx.nodes)
    };
    let index = |s: &str| -> Result<Index, String> {
        match s.parse::<Index>() {
            Ok(i) if i > 0 => Ok(i),
            _ => Err(format!(
                "'{s}' is not a log index: write e.g. `why entry 7`"
            )),
        }
    };
    let entry = |word: &str| word.eq_ignore_ascii_case("entry") || word.eq_ignore_ascii_case("e");
    match args {
        [] => Ok(None),
        [n] => Ok(Some(Subject::Node(node(n)?))),
        [e, i] if entry(e) => Ok(Some(Subject::Entry {
            node: cx.selected,
            index: index(i)?,
        })),
        [e, i, on, n] if entry(e) && on.eq_ignore_ascii_case("on") => Ok(Some(Subject::Entry {
            node: node(n)?,
            index: index(i)?,
        })),
        _ => Err(
            "why: write `why` (what is selected), `why N`, `why leader` or `why entry I [on N]`"
                .to_string(),
        ),
    }
}

/// A node id a membership change may name: 1 to 9, existing or not (the
/// cluster says whether the change makes sense).
fn parse_member_id(s: &str) -> Result<NodeId, String> {
    let digits = s.strip_prefix('n').unwrap_or(s);
    let max = crate::runtime::MAX_NODES as NodeId;
    match digits.parse::<NodeId>() {
        Ok(id) if (1..=max).contains(&id) => Ok(id),
        _ => Err(format!("'{s}' is not a node id: ids are 1 to {max}")),
    }
}

/// `leader`, or a member id.
fn target_or_id(s: &str, cx: Context) -> Result<NodeId, String> {
    if s.eq_ignore_ascii_case("leader") {
        cx.leader
            .ok_or_else(|| "there is no leader to remove right now".to_string())
    } else {
        parse_member_id(s)
    }
}

/// "1 2 | 3 4 5" (also "1,2|3,4,5") into groups.
fn parse_groups(args: &[&str], nodes: usize) -> Result<Vec<Vec<NodeId>>, String> {
    let text = args.join(" ");
    let mut groups = Vec::new();
    let mut seen = Vec::new();
    for part in text.split('|') {
        let mut group = Vec::new();
        for w in part.split(|c: char| c.is_whitespace() || c == ',') {
            if w.is_empty() {
                continue;
            }
            let id = parse_node(w, nodes)?;
            if seen.contains(&id) {
                return Err(format!("node {id} is named twice"));
            }
            seen.push(id);
            group.push(id);
        }
        if group.is_empty() {
            return Err("a group is empty: write e.g. `partition 1 2 | 3 4 5`".into());
        }
        groups.push(group);
    }
    if groups.len() < 2 {
        // One group named: the rest form the other side.
        let rest: Vec<NodeId> = (1..=nodes as NodeId)
            .filter(|id| !seen.contains(id))
            .collect();
        if rest.is_empty() {
            return Err("name at least two groups: `partition 1 2 | 3 4 5`".into());
        }
        groups.push(rest);
    }
    Ok(groups)
}

/// "20%", "20" or "0.2" into a probability.
fn parse_percent(s: &str) -> Result<f64, String> {
    let bad = || format!("'{s}' is not a loss rate: write e.g. `loss 20%`");
    let (num, pct) = match s.strip_suffix('%') {
        Some(n) => (n, true),
        None => (s, false),
    };
    let x: f64 = num.parse().map_err(|_| bad())?;
    let p = if pct || x > 1.0 { x / 100.0 } else { x };
    if !(0.0..=1.0).contains(&p) || !p.is_finite() {
        return Err(format!("loss must be 0% to 100%, not {s}"));
    }
    Ok(p)
}

/// "2", "2x", "0.5×" into a speed factor from 0.1 to 10: the console's
/// `speed` and the `--speed` flag, so both take the same words and refuse
/// them in the same words.
pub fn parse_speed(s: &str) -> Result<f64, String> {
    let num = s.trim().trim_end_matches(['x', '×', 'X']);
    match num.parse::<f64>() {
        Ok(x) if (0.1..=10.0).contains(&x) => Ok(x),
        Ok(_) => Err(format!("speed must be 0.1 to 10, not {s}")),
        Err(_) => Err(format!(
            "'{s}' is not a speed: write a number from 0.1 to 10, e.g. 2 or 0.5x"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CX: Context = Context {
        nodes: 5,
        leader: Some(3),
        selected: 2,
    };

    /// The one speed parser answers the console and the flag alike: a
    /// factor with or without its `x`, and bad words refused in words.
    #[test]
    fn speed_takes_a_factor_and_refuses_the_rest_in_words() {
        assert_eq!(parse_speed("2"), Ok(2.0));
        assert_eq!(parse_speed("0.5x"), Ok(0.5));
        assert_eq!(parse_speed("0.2×"), Ok(0.2));
        assert_eq!(parse_speed("10X"), Ok(10.0));
        assert_eq!(
            parse_speed("20"),
            Err("speed must be 0.1 to 10, not 20".to_string())
        );
        assert_eq!(
            parse_speed("fast"),
            Err("'fast' is not a speed: write a number from 0.1 to 10, e.g. 2 or 0.5x".to_string())
        );
        assert_eq!(ok("speed 0.5x"), Request::Speed(0.5));
    }

    fn ok(line: &str) -> Request {
        match parse(line, CX) {
            Ok(Command::Request(r)) => r,
            other => panic!("{line}: {other:?}"),
        }
    }

    #[test]
    fn client_commands() {
        assert_eq!(
            ok("put greeting hello"),
            Request::Put("greeting".into(), "hello".into())
        );
        assert_eq!(
            ok(r#"put k "two words""#),
            Request::Put("k".into(), "two words".into())
        );
        assert_eq!(ok("set k v"), Request::Put("k".into(), "v".into()));
        assert_eq!(ok("get k"), Request::Get("k".into()));
        assert_eq!(ok("get k stale"), Request::GetStale(2, "k".into()));
        assert_eq!(ok("get k stale on 4"), Request::GetStale(4, "k".into()));
        assert_eq!(ok("delete k"), Request::Delete("k".into()));
        assert_eq!(
            ok("cas k a b"),
            Request::Cas("k".into(), "a".into(), "b".into())
        );
    }

    /// `put … on N` and friends: the request goes to node N alone.
    #[test]
    fn requests_to_one_node() {
        let put = |k: &str, v: &str| Op::Put {
            key: k.into(),
            value: v.into(),
        };
        // Today's bug: this stored the value "2 on 1".
        assert_eq!(ok("put y 2 on 1"), Request::ClientOn(1, put("y", "2")));
        assert_eq!(ok("put y 2 on n4"), Request::ClientOn(4, put("y", "2")));
        assert_eq!(
            ok(r#"put y "2 on 1""#),
            Request::Put("y".into(), "2 on 1".into())
        );
        assert_eq!(
            ok(r#"put k "two words" on 2"#),
            Request::ClientOn(2, put("k", "two words"))
        );
        assert_eq!(ok("put y 2 on leader"), Request::ClientOn(3, put("y", "2")));
        assert_eq!(
            ok("get y on 5"),
            Request::ClientOn(5, Op::Get { key: "y".into() })
        );
        assert_eq!(
            ok("delete y on 2"),
            Request::ClientOn(2, Op::Delete { key: "y".into() })
        );
        assert_eq!(
            ok("cas y 1 2 on 1"),
            Request::ClientOn(
                1,
                Op::Cas {
                    key: "y".into(),
                    old: "1".into(),
                    new: "2".into()
                }
            )
        );
    }

    /// What is wrong with a request is said in words.
    #[test]
    fn request_mistakes_are_explained() {
        let err = |line: &str| parse(line, CX).err().unwrap_or_default();
        let extra = err("put k two words");
        assert!(
            extra.contains(r#""words" is one word too many"#) && extra.contains("quotes"),
            "{extra}"
        );
        let after_on = err("put y 2 on 1 now");
        assert!(
            after_on.contains("nothing comes after `on NODE`"),
            "{after_on}"
        );
        assert!(err("get k soon").contains("only `on NODE`"));
        assert!(err("put y 2 on 9").contains("nodes 1 to 5"));
        assert!(err("put y 2 on").contains("expected a node"));
        assert!(err(r#"put k "open"#).contains("never closed"));
        assert!(err("put k v -> ok").contains("belongs in scripts"));
        assert!(err("get k timeout 1s").contains("belongs in scripts"));
        assert!(err("get k on follower").contains("by its number or to `leader`"));
        let no_leader = Context { leader: None, ..CX };
        let none = parse("put k v on leader", no_leader).unwrap_err();
        assert!(none.contains("no leader"), "{none}");
    }

    #[test]
    fn control_commands() {
        assert_eq!(ok("kill leader"), Request::Kill(3));
        assert_eq!(ok("kill 2"), Request::Kill(2));
        assert_eq!(ok("restart all"), Request::RestartAll);
        assert_eq!(ok("restart n4"), Request::Restart(4));
        assert_eq!(ok("pause 1"), Request::Pause(1));
        assert_eq!(ok("pause"), Request::PauseClock);
        assert_eq!(ok("resume 1"), Request::Resume(1));
        assert_eq!(ok("isolate 5"), Request::Isolate(5));
        assert_eq!(ok("isolate leader"), Request::Isolate(3));
        assert_eq!(ok("pause leader"), Request::Pause(3));
        assert_eq!(
            ok("partition 1 2 | 3 4 5"),
            Request::Partition(vec![vec![1, 2], vec![3, 4, 5]])
        );
        assert_eq!(
            ok("partition 1,2|3,4,5"),
            Request::Partition(vec![vec![1, 2], vec![3, 4, 5]])
        );
        assert_eq!(
            ok("partition 1"),
            Request::Partition(vec![vec![1], vec![2, 3, 4, 5]])
        );
        assert_eq!(ok("heal"), Request::Heal);
        assert_eq!(ok("loss 20%"), Request::Loss(0.2));
        assert_eq!(ok("delay 10..50ms"), Request::Delay(10_000, 50_000));
        assert_eq!(ok("delay 20ms"), Request::Delay(20_000, 20_000));
        assert_eq!(
            ok("delay 1 3 50ms"),
            Request::LinkDelay(1, 3, 50_000, 50_000)
        );
        assert_eq!(
            ok("delay n2 5 10..30ms"),
            Request::LinkDelay(2, 5, 10_000, 30_000)
        );
        assert_eq!(ok("transfer 4"), Request::Transfer(4));
        assert_eq!(ok("add 6"), Request::AddLearner(6));
        assert_eq!(ok("add n9"), Request::AddLearner(9));
        assert_eq!(ok("promote 6"), Request::Promote(6));
        assert_eq!(ok("remove 2"), Request::Remove(2));
        assert_eq!(ok("speed 2x"), Request::Speed(2.0));
        assert_eq!(ok("hold"), Request::Hold);
        assert_eq!(ok("release"), Request::Release);
        assert_eq!(ok("deliver 3"), Request::Deliver(HeldRef::One(3)));
        assert_eq!(ok("deliver #3"), Request::Deliver(HeldRef::One(3)));
        assert_eq!(ok("deliver all"), Request::Deliver(HeldRef::All));
        assert_eq!(ok("drop 2"), Request::DropHeld(HeldRef::One(2)));
        assert_eq!(ok("drop all"), Request::DropHeld(HeldRef::All));
    }

    /// A held message is named by its number or `all`; anything else is
    /// explained.
    #[test]
    fn hold_commands_explain_their_mistakes() {
        let err = |line: &str| parse(line, CX).err().unwrap_or_default();
        assert!(
            err("deliver").contains("write `deliver|drop N|all`"),
            "{}",
            err("deliver")
        );
        assert!(err("drop x").contains("its number"), "{}", err("drop x"));
        assert!(err("deliver 0").contains("its number"));
        assert!(
            err("hold 3").contains("write `hold / release`"),
            "{}",
            err("hold 3")
        );
    }

    #[test]
    fn chart_names_a_file() {
        assert_eq!(
            parse("chart slides/vote.svg", CX),
            Ok(Command::Chart("slides/vote.svg".into()))
        );
        assert_eq!(
            parse("  chart  my slides/run 1.mmd ", CX),
            Ok(Command::Chart("my slides/run 1.mmd".into()))
        );
        let bare = parse("chart", CX).unwrap_err();
        assert!(bare.contains("chart F.svg / save F"), "{bare}");
        assert_eq!(
            parse("save lesson 1.scen", CX),
            Ok(Command::Save("lesson 1.scen".into()))
        );
        assert!(parse("save", CX).unwrap_err().contains("save F"));
    }

    #[test]
    fn errors_are_words() {
        let err = |line: &str| parse(line, CX).err().unwrap_or_default();
        assert!(err("kill 9").contains("nodes are 1 to 5"));
        assert!(err("add 10").contains("ids are 1 to 9"));
        assert!(err("add 0").contains("ids are 1 to 9"));
        assert!(err("promote x").contains("not a node id"));
        assert!(err("frobnicate").contains("unknown command"));
        assert!(
            err("put k").contains("expected a value"),
            "{}",
            err("put k")
        );
        assert!(err("loss 300%").contains("0% to 100%"));
        assert!(err("delay 50..10ms").contains("below"));
        assert!(err("speed 50").contains("0.1 to 10"));
        assert!(err("partition 1 | 1").contains("twice"));
        assert!(err("").contains("help"));
        assert!(err("delay 1 1 50ms").contains("two different nodes"));
        assert!(err("delay 1 7 50ms").contains("nodes are 1 to 5"));
        let no_leader = Context { leader: None, ..CX };
        assert!(parse("kill leader", no_leader).is_err());
        let isolate = parse("isolate leader", no_leader).err().unwrap_or_default();
        assert!(isolate.contains("no leader to isolate"), "{isolate}");
    }
}
