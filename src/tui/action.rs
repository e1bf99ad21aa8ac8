//! [`Action`]: everything that can happen to the dashboard, as a value.
//! Keys, mouse, new views and finished requests all become actions, and
//! [`App::update`](super::App::update) is the one place that acts on them.

use std::sync::Arc;

use crate::raft::NodeId;
use crate::runtime::ClusterView;
use crate::tui::console::Edit;
use crate::tui::driver::Outcome;
use crate::tui::sim_status::SimStatus;
use crate::tui::tour::TourEvent;

/// Which pane has the keyboard.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Focus {
    /// The node cards.
    Cluster,
    /// The log grid.
    Log,
    /// The event list.
    Events,
    /// The console prompt.
    Console,
}

impl Focus {
    /// The order Tab moves in.
    pub const ORDER: [Focus; 4] = [Focus::Cluster, Focus::Log, Focus::Events, Focus::Console];
}

/// A direction of movement.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Move {
    /// Up one.
    Up,
    /// Down one.
    Down,
    /// Left one.
    Left,
    /// Right one.
    Right,
    /// Up a page.
    PageUp,
    /// Down a page.
    PageDown,
    /// To the start.
    Home,
    /// To the end (the log: back to following the tail).
    End,
}

/// Something that happens to the dashboard.
#[derive(Clone, Debug, PartialEq)]
pub enum Action {
    /// Leave the dashboard.
    Quit,
    /// Show or hide the help overlay.
    ToggleHelp,
    /// Close the overlay, or leave the console.
    Escape,
    /// Focus the next pane.
    FocusNext,
    /// Focus the previous pane.
    FocusPrev,
    /// Focus the console.
    FocusConsole,
    /// Select a node.
    Select(NodeId),
    /// Move within the focused pane.
    Move(Move),
    /// Scroll the log by this many columns (positive: back in time).
    ScrollLog(i64),
    /// A click at a screen cell.
    Click(u16, u16),
    /// Kill the selected node.
    Kill,
    /// Restart the selected node.
    Restart,
    /// Pause the selected node, or resume it if paused.
    TogglePause,
    /// Isolate the selected node.
    Isolate,
    /// Make the selected node leader.
    Transfer,
    /// Add the next free id as a learner.
    AddNext,
    /// Promote the selected learner to voter.
    Promote,
    /// Remove the selected node from the configuration.
    Remove,
    /// Heal the network.
    Heal,
    /// Pause or resume the clock.
    ToggleClock,
    /// Advance the clock one tick (pausing it first).
    Step,
    /// Faster time.
    Faster,
    /// Slower time.
    Slower,
    /// Edit the console's input line.
    Edit(Edit),
    /// Run the console's input line.
    Submit,
    /// A newer view of the cluster.
    View(NewView),
    /// A request finished.
    Done(Outcome),
    /// The terminal has a new size.
    Resize(u16, u16),
    /// Run the tour's next step.
    TourNext,
    /// Answer the tour's question with this choice (from 1).
    TourPick(usize),
    /// The tour thread reported something.
    Tour(TourEvent),
    /// Time travel: show the recorded view this many ticks earlier
    /// (pausing the clock first when leaving the present).
    HistoryBack(usize),
    /// Time travel: this many ticks later; past the newest, the present.
    HistoryForward(usize),
    /// Leave the past: show the live present again.
    Present,
    /// Simulated mode: restart the same seed and replay the inputs (R).
    Replay,
    /// Simulated mode: how the run stands now.
    Sim(Arc<SimStatus>),
    /// Open the tour menu, or close it.
    ToggleTourMenu,
    /// Move the tour menu's selection by this many rows.
    TourMenuMove(i64),
    /// Play the shipped tour called so on a fresh cluster of the size its
    /// script asks for (the main loop replaces the cluster).
    StartTour(String),
    /// Show or hide the message list (in the log pane's place).
    ToggleMessages,
    /// Show or hide focus mode: the selected node's messages as arrows.
    ToggleFlow,
    /// Show or hide the live checker panel.
    ToggleChecker,
    /// Hold new messages on their links, or release the held ones (`o`).
    ToggleHold,
    /// Choose another held message: this many places on (`]`) or back (`[`).
    ChooseHeld(i64),
    /// Deliver the chosen held message now (`d`).
    DeliverHeld,
    /// Drop the chosen held message (`D`).
    DropHeld,
    /// Open or close the "why?" answer about what is selected (`w`).
    Why,
}

/// What the log pane's place shows.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Lower {
    /// Every node's log (the default).
    #[default]
    Log,
    /// The message list (`m`).
    Messages,
    /// Focus mode (`f`).
    Flow,
}

/// A view as an action carries it; two are equal when they are the same
/// version of the same cluster's view.
#[derive(Clone, Debug)]
pub struct NewView(pub Arc<ClusterView>);

impl PartialEq for NewView {
    fn eq(&self, other: &NewView) -> bool {
        Arc::ptr_eq(&self.0, &other.0) || self.0.version == other.0.version
    }
}
