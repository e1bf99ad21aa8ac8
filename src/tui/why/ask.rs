//! Asking "why?" from the dashboard: the log pane's cursor that picks an
//! entry, the `w` key and what the `why` console command does (its words
//! are parsed with the rest of the console's, in
//! [`command`](crate::tui::command)). These are methods of [`App`], kept
//! here so `app.rs` holds only the hooks.
//!
//! While the answer is open it follows the selection: move the log cursor
//! or pick another node and it answers about that one, on the frame shown
//! (time travel included).

use ratatui::layout::Rect;

use super::{Subject, explain};
use crate::raft::Index;
use crate::tui::action::{Focus, Lower};
use crate::tui::app::App;
use crate::tui::console::LineKind;
use crate::tui::widgets::log;

impl App {
    /// What `w` asks about now: the entry under the log cursor while the
    /// log pane has the focus (and shows the log), else the selected node.
    pub fn why_subject(&self) -> Subject {
        match self.cursor_index() {
            Some(index) if self.focus == Focus::Log && self.lower == Lower::Log => Subject::Entry {
                node: self.selected,
                index,
            },
            _ => Subject::Node(self.selected),
        }
    }

    /// The index under the log cursor: where it was moved to, or the
    /// selected node's last entry while it follows the tail; `None` when
    /// that log is empty.
    pub fn cursor_index(&self) -> Option<Index> {
        let last = self.view.node(self.selected).map_or(0, |n| n.last_index);
        match self.log_cursor {
            Some(at) => Some(at),
            None => (last > 0).then_some(last),
        }
    }

    /// `w`: opens the answer, or closes it.
    pub(crate) fn toggle_why(&mut self) {
        self.why = !self.why;
        if self.why {
            self.help = false;
        }
    }

    /// The `why` command: selects what it names (a node, or an entry under
    /// the log cursor), opens the answer and notes its verdict in the
    /// console, where it stays after the answer is closed.
    pub(crate) fn why_command(&mut self, subject: Option<Subject>) {
        match subject {
            None => self.focus = Focus::Cluster,
            Some(Subject::Node(id)) => {
                self.selected = id;
                self.focus = Focus::Cluster;
            }
            Some(Subject::Entry { node, index }) => {
                self.selected = node;
                self.focus = Focus::Log;
                self.lower = Lower::Log;
                self.log_cursor = Some(index);
                self.keep_cursor_in_sight();
            }
        }
        let subject = self.why_subject();
        let answer = explain(&self.view, subject);
        self.console.push(
            LineKind::Ok,
            format!("why {}: {}", subject.label(), answer.verdict),
        );
        self.why = true;
        self.help = false;
    }

    /// Moves the log cursor `by` entries (negative: back), within the
    /// entries that exist, scrolling the log to keep it in sight.
    pub(crate) fn move_log_cursor(&mut self, by: i64) {
        let last = self.view.newest_index();
        if last == 0 {
            return;
        }
        let from = self.cursor_index().unwrap_or(last) as i64;
        self.log_cursor = Some(from.saturating_add(by).clamp(1, last as i64) as Index);
        self.keep_cursor_in_sight();
    }

    /// The log cursor back to following the tail, and the log with it.
    pub(crate) fn follow_log_tail(&mut self) {
        self.log_cursor = None;
        self.log_scroll = 0;
    }

    /// Scrolls the log just enough that the cursor's column shows.
    fn keep_cursor_in_sight(&mut self) {
        let (Some(at), Some(area)) = (self.log_cursor, self.log_area()) else {
            return;
        };
        let cols = log::columns(self, area);
        let (start, end) = log::visible_range(&self.view, cols, self.log_scroll);
        if at < start {
            self.log_scroll += start - at;
        } else if at > end {
            self.log_scroll = self.log_scroll.saturating_sub(at - end);
        }
    }

    /// Where the log pane is drawn on the current screen, if it is.
    fn log_area(&self) -> Option<Rect> {
        let screen = Rect::new(0, 0, self.size.0, self.size.1);
        let slot = self.layout(screen)?.log;
        crate::tui::draw::lower_split(self, slot).0
    }
}
