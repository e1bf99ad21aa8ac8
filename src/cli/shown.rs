//! The run a chart or a page shows: `raftlab check`'s run for one seed
//! (its flags, through [`OneRun`]), at the link latency the dashboards
//! play at when `--latency` asks for it, so a slide shows what the class
//! saw on the projector rather than the check's 0.5–2 ms links.

use super::check::OneRun;
use crate::net::parse_delay_range;
use crate::sim::SimOptions;
use crate::tui::driver::delay_text;

/// The flags that name a shown run: check's seed and flags, and `--latency`.
#[derive(Debug, clap::Args)]
pub struct ShownArgs {
    #[command(flatten)]
    run: OneRun,
    /// Every link's latency, in simulated time: e.g. 10..20ms (the
    /// dashboards' default), 50ms [default: check's 0.5..2ms].
    #[arg(long, value_name = "A..Bms", value_parser = parse_delay_range)]
    latency: Option<(u64, u64)>,
}

/// One simulated run to show.
#[derive(Clone, Debug)]
pub struct Shown {
    /// The simulator's options.
    pub options: SimOptions,
    /// What run it is, in words: check's replay command, and the latency
    /// when it is not check's.
    pub title: String,
    /// How long check's run lasts, µs.
    pub duration_us: u64,
}

impl ShownArgs {
    /// The run the flags name (seed 0 when none is given); the message,
    /// ready to print, begins with `shows` when more than one seed is
    /// given ("a chart shows one run, and …").
    pub fn resolve(&self, shows: &str) -> Result<Shown, String> {
        let (seed, plan) = self.run.resolve(shows)?;
        let seed = seed.unwrap_or(0);
        let mut options = plan.options(seed);
        let mut title = plan.replay_command(seed);
        if let Some(latency) = self.latency {
            options.latency_us = latency;
            title.push_str(&latency_words(latency));
        }
        // The simulator refuses a latency it cannot use; say so now.
        crate::sim::Sim::new(options.clone()).map_err(|e| e.to_string())?;
        Ok(Shown {
            options,
            title,
            duration_us: plan.duration_us(),
        })
    }
}

impl ShownArgs {
    /// The latency `--latency` asks for, if it does.
    pub fn latency(&self) -> Option<(u64, u64)> {
        self.latency
    }
}

/// `, links 10..20ms`: the latency a title names.
pub fn latency_words((min_us, max_us): (u64, u64)) -> String {
    format!(", links {}", delay_text(min_us, max_us))
}
