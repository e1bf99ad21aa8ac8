//! `raftlab tour [NAME]`: the guided tours shipped in the binary. Without a
//! name it lists them with what each shows; with one it plays it over the
//! dashboard (like `raftlab --script FILE`): on the simulator, so a
//! rehearsed tour replays exactly, or with `--live` on the live cluster.
//! An unknown name exits 2 with the list.

use std::process::ExitCode;

use super::dashboard::{self, DashboardArgs};
use super::replay::TourText;
use crate::scenario::tours::{self, TOURS};

/// The flags of `raftlab tour`.
#[derive(Debug, clap::Args)]
pub struct TourArgs {
    /// The tour to play (see the list `raftlab tour` prints).
    name: Option<String>,
    #[command(flatten)]
    dashboard: DashboardArgs,
}

/// The list of shipped tours, one per line: name and intent.
pub fn list() -> String {
    let width = TOURS.iter().map(|t| t.name.len()).max().unwrap_or(0);
    let mut out = String::from(
        "Guided tours (play one with `raftlab tour NAME`; --auto runs it by itself, --live on the live cluster):\n",
    );
    for tour in TOURS {
        out.push_str(&format!("  {:<width$}  {}\n", tour.name, tour.intent()));
    }
    out
}

/// Lists the tours, or plays one.
pub fn run(args: TourArgs) -> ExitCode {
    let Some(name) = args.name.as_deref() else {
        if args.dashboard.script_file().is_some() {
            return dashboard::run(args.dashboard);
        }
        print!("{}", list());
        return ExitCode::SUCCESS;
    };
    if args.dashboard.script_file().is_some() {
        eprintln!("raftlab tour: give a tour name or --script FILE, not both");
        return ExitCode::from(2);
    }
    let Some(tour) = tours::find(name) else {
        eprintln!(
            "raftlab tour: there is no tour called {name:?}.\n\n{}",
            list()
        );
        return ExitCode::from(2);
    };
    let text = TourText {
        name: format!("assets/tours/{}", tour.file),
        title: tour.name.to_string(),
        text: tour.text.to_string(),
    };
    dashboard::play(args.dashboard, text)
}
