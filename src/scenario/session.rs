//! Recorded sessions: the two statements a saved dashboard session adds
//! to the language.
//!
//! The simulated dashboard's console `save FILE.scen` writes a session as a
//! script: its `cluster` line, a `session` line with the settings of the
//! simulated run beyond size, seed and bugs, and one `at` line per input,
//! at the virtual time it was given:
//!
//! ```text
//! cluster 5 seed 1
//! session latency 10..20ms
//! at 1.23s: kill 3
//! at 2s: put x 1
//! at 12.34s: end trace 3fa2c4d1e5b6a7f8
//! ```
//!
//! `at TIME: INPUT` holds a dashboard console command, kept as written:
//! the dashboard's engine (`tui::sim::saved`) reads it with the console's
//! parser and applies it at that time exactly as the dashboard did, so a
//! replay has the session's trace hash. The plain runner refuses both
//! statements: a recording is played by `raftlab script` and `raftlab
//! --script`, which hand it to that engine.

use super::ast::StmtKind;
use super::cursor::{Cursor, Fail};
use super::parser::Parser;
use crate::sim::{Extensions, FaultSchedule, SimOptions};

/// The settings of a simulated run a `session` line gives, beyond the
/// `cluster` line's size, seed and bugs. `None` (and both extensions on)
/// means the simulator's default.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct SessionSpec {
    /// `latency A..B`: every link's latency range, µs.
    pub latency_us: Option<(u64, u64)>,
    /// `faults LIST`: the faults injected.
    pub faults: Option<FaultSchedule>,
    /// `clients N`: background clients.
    pub clients: Option<usize>,
    /// `rate N/s`: background operations started per second.
    pub rate: Option<u64>,
    /// `ops N`: background operations in all.
    pub ops: Option<u64>,
    /// `keys N`: keys the background clients use.
    pub keys: Option<usize>,
    /// `until D`: where the run ends, as a `raftlab check` run does
    /// (a session of `raftlab replay`).
    pub until_us: Option<u64>,
    /// `no-prevote`, `no-check-quorum`: the paper's Raft.
    pub extensions: Extensions,
}

impl SessionSpec {
    /// The settings of `opts` beyond size, seed and bugs, and where the
    /// run ends; an error names a setting a `session` line cannot say.
    pub fn of(opts: &SimOptions, until_us: Option<u64>) -> Result<SessionSpec, String> {
        let d = SimOptions::default();
        let unsaid = [
            (opts.tick_us != d.tick_us, "its tick length"),
            (
                opts.op_timeout_us != d.op_timeout_us,
                "its operation timeout",
            ),
            (
                opts.attempt_timeout_us != d.attempt_timeout_us,
                "its client attempt timeout",
            ),
            (
                opts.snapshot_threshold != d.snapshot_threshold,
                "its snapshot threshold",
            ),
            (
                !opts.faults.kinds.is_empty()
                    && (opts.faults.mean_gap_us != d.faults.mean_gap_us
                        || opts.faults.min_duration_us != d.faults.min_duration_us
                        || opts.faults.max_duration_us != d.faults.max_duration_us),
                "its fault timings",
            ),
        ];
        if let Some((_, what)) = unsaid.iter().find(|(differs, _)| *differs) {
            return Err(format!("a session line cannot say {what}"));
        }
        Ok(SessionSpec {
            latency_us: (opts.latency_us != d.latency_us).then_some(opts.latency_us),
            faults: (!opts.faults.kinds.is_empty()).then(|| opts.faults.clone()),
            clients: (opts.clients != d.clients).then_some(opts.clients),
            rate: (opts.ops_per_sec != d.ops_per_sec).then_some(opts.ops_per_sec),
            ops: (opts.max_ops != d.max_ops).then_some(opts.max_ops),
            keys: (opts.keys != d.keys).then_some(opts.keys),
            until_us,
            extensions: opts.extensions,
        })
    }

    /// Sets these settings on `opts`.
    pub fn apply(&self, opts: &mut SimOptions) {
        if let Some(latency) = self.latency_us {
            opts.latency_us = latency;
        }
        if let Some(faults) = &self.faults {
            opts.faults = faults.clone();
        }
        if let Some(n) = self.clients {
            opts.clients = n;
        }
        if let Some(n) = self.rate {
            opts.ops_per_sec = n;
        }
        if let Some(n) = self.ops {
            opts.max_ops = n;
        }
        if let Some(n) = self.keys {
            opts.keys = n;
        }
        opts.extensions = self.extensions;
    }

    /// The `session` line, or `None` when every setting is the default.
    pub fn line(&self) -> Option<String> {
        let mut words = Vec::new();
        if let Some((a, b)) = self.latency_us {
            words.push(format!("latency {}", range_text(a, b)));
        }
        if let Some(faults) = &self.faults {
            words.push(format!("faults {}", faults.names()));
        }
        if let Some(n) = self.clients {
            words.push(format!("clients {n}"));
        }
        if let Some(n) = self.rate {
            words.push(format!("rate {n}/s"));
        }
        if let Some(n) = self.ops {
            words.push(format!("ops {n}"));
        }
        if let Some(n) = self.keys {
            words.push(format!("keys {n}"));
        }
        if let Some(us) = self.until_us {
            words.push(format!("until {}", exact_time(us)));
        }
        if !self.extensions.pre_vote {
            words.push("no-prevote".into());
        }
        if !self.extensions.check_quorum {
            words.push("no-check-quorum".into());
        }
        (!words.is_empty()).then(|| format!("session {}", words.join(" ")))
    }
}

/// A time to the microsecond, as the language reads it back exactly:
/// `0s`, `1.23s`, `12.000015s`.
pub fn exact_time(us: u64) -> String {
    let (s, frac) = (us / 1_000_000, us % 1_000_000);
    if frac == 0 {
        return format!("{s}s");
    }
    let digits = format!("{frac:06}");
    format!("{s}.{}s", digits.trim_end_matches('0'))
}

/// A delay range in the language's words: `10..20ms`, or to the µs.
fn range_text(a: u64, b: u64) -> String {
    if a.is_multiple_of(1000) && b.is_multiple_of(1000) {
        format!("{}..{}ms", a / 1000, b / 1000)
    } else {
        format!("{a}..{b}us")
    }
}

impl Parser {
    /// `session SETTING…`, after the word `session`.
    pub(super) fn session(&mut self, c: &mut Cursor) -> Result<StmtKind, Fail> {
        let mut spec = SessionSpec::default();
        let count = |c: &mut Cursor, what: &str| -> Result<u64, Fail> { c.integer(what) };
        loop {
            let col = c.col();
            if c.at_end() {
                break;
            } else if c.eat("latency") {
                spec.latency_us = Some(c.delay_range()?);
            } else if c.eat("faults") {
                let col = c.col();
                let list = c.next("a list of faults, e.g. crash,partition")?;
                let faults =
                    FaultSchedule::parse(&list.text).map_err(|e| Fail::at(col, e.to_string()))?;
                spec.faults = Some(faults);
            } else if c.eat("clients") {
                spec.clients = Some(count(c, "a number of clients")? as usize);
            } else if c.eat("rate") {
                let col = c.col();
                let word = c.next("operations per second, e.g. 100/s")?;
                let n = word.text.strip_suffix("/s").unwrap_or(&word.text);
                spec.rate = Some(n.parse().map_err(|_| {
                    Fail::at(
                        col,
                        format!(
                            "expected operations per second like 100/s, found {:?}",
                            word.text
                        ),
                    )
                })?);
            } else if c.eat("ops") {
                spec.ops = Some(count(c, "a number of operations")?);
            } else if c.eat("keys") {
                spec.keys = Some(count(c, "a number of keys")? as usize);
            } else if c.eat("until") {
                spec.until_us = Some(c.duration()?);
            } else if c.eat("no-prevote") {
                spec.extensions.pre_vote = false;
            } else if c.eat("no-check-quorum") {
                spec.extensions.check_quorum = false;
            } else {
                return Err(Fail::at(
                    col,
                    "expected a session setting: latency, faults, clients, rate, ops, keys, until, no-prevote or no-check-quorum",
                ));
            }
        }
        Ok(StmtKind::Session(spec))
    }
}

/// `at TIME: INPUT`, after the word `at`: the time, the colon, and the
/// rest of the line (from column `rest_col` of `text`) as the input.
pub(super) fn at(c: &mut Cursor, input: impl Fn(usize) -> String) -> Result<StmtKind, Fail> {
    let at_us = c.duration()?;
    if !c.eat(":") {
        return Err(c.expected("`:` after the time, as in `at 1.5s: kill 3`"));
    }
    let col = c.col();
    if c.at_end() {
        return Err(c.expected("an input after `at TIME:`, e.g. `kill 3` or `put x 1`"));
    }
    let text = input(col);
    // The input is the console's to read: take the rest of the line.
    while !c.at_end() {
        c.next("")?;
    }
    Ok(StmtKind::At {
        at_us,
        input: text,
        col,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::ast::Stmt;
    use crate::scenario::parse;

    fn kinds(text: &str) -> Vec<StmtKind> {
        parse(text, "s.scen")
            .unwrap()
            .statements
            .into_iter()
            .map(|s: Stmt| s.kind)
            .collect()
    }

    #[test]
    fn at_lines_keep_their_input_as_written() {
        let k = kinds("cluster 5 seed 1\nat 1.23s: put k \"two words\" on 2 # c\nat 0s: kill 3\n");
        assert_eq!(
            k[1],
            StmtKind::At {
                at_us: 1_230_000,
                input: "put k \"two words\" on 2".into(),
                col: 11,
            }
        );
        assert_eq!(
            k[2],
            StmtKind::At {
                at_us: 0,
                input: "kill 3".into(),
                col: 8,
            }
        );
    }

    #[test]
    fn session_lines_say_every_setting_a_dashboard_run_has() {
        let opts = SimOptions {
            latency_us: (10_000, 20_500),
            faults: FaultSchedule::parse("crash,loss").unwrap(),
            clients: 5,
            ops_per_sec: 150,
            max_ops: 1000,
            keys: 5,
            extensions: Extensions {
                pre_vote: false,
                check_quorum: false,
            },
            ..SimOptions::default()
        };
        let spec = SessionSpec::of(&opts, Some(10_000_001)).unwrap();
        let line = spec.line().unwrap();
        assert_eq!(
            line,
            "session latency 10000..20500us faults crash,loss clients 5 rate 150/s ops 1000 keys 5 until 10.000001s no-prevote no-check-quorum"
        );
        let parsed = kinds(&format!("cluster 5\n{line}\n"));
        assert_eq!(parsed[1], StmtKind::Session(spec.clone()));
        let mut back = SimOptions::default();
        spec.apply(&mut back);
        assert_eq!(back, opts);
        // The default says nothing.
        let plain = SessionSpec::of(&SimOptions::default(), None).unwrap();
        assert_eq!(plain.line(), None);
    }

    #[test]
    fn times_are_written_to_the_microsecond() {
        for us in [0, 1, 150, 10_000, 1_230_000, 12_000_015, 3_600_000_000] {
            let text = exact_time(us);
            assert_eq!(
                super::super::cursor::parse_duration(&text),
                Some(us),
                "{text}"
            );
        }
        assert_eq!(exact_time(1_230_000), "1.23s");
    }

    #[test]
    fn mistakes_are_placed() {
        let err = |text: &str| parse(text, "s.scen").unwrap_err().to_string();
        assert!(
            err("cluster 3\nat 1s kill 2\n").contains("s.scen:2:7: expected `:`"),
            "{}",
            err("cluster 3\nat 1s kill 2\n")
        );
        assert!(err("cluster 3\nat soon: kill 2\n").contains("s.scen:2:4:"));
        assert!(err("cluster 3\nat 1s:\n").contains("an input after"));
        assert!(err("at 1s: kill 2\n").contains("no cluster yet"));
        assert!(err("cluster 3\nsession latency 5..1ms\n").contains("backwards"));
        assert!(err("cluster 3\nsession faults fire\n").contains("fire"));
        assert!(
            err("cluster 3\nsession speed 2\n").contains("s.scen:2:9: expected a session setting")
        );
        assert!(err("cluster 3\nsession rate fast\n").contains("100/s"));
    }
}
