//! The status bar's mark of a simulated run: its seed, and a loud mark
//! when an invariant broke or the history is not linearizable (a quiet
//! one when a `raftlab check` run ended clean).

use ratatui::style::{Modifier, Style};
use ratatui::text::Span;

use super::styled;
use crate::tui::app::App;
use crate::tui::sim_status::HistoryCheck;

/// The spans to add to the status bar, in its style `base`; none in live
/// mode. `short`: a violation the checker's badge already marks is left
/// out, and another is not named (for a narrow bar).
pub fn spans(app: &App, base: Style, short: bool) -> Vec<Span<'static>> {
    let Some(sim) = &app.sim else {
        return Vec::new();
    };
    let theme = &app.theme;
    let mut out = vec![styled(format!(" SIM seed {} ", sim.seed), base)];
    if let Some(v) = &sim.violation {
        let mark = if theme.ascii { "X" } else { "✗" };
        let text = if !short {
            format!(" {mark} VIOLATED: {} ", v.invariant)
        } else if app.view.teaching.checks.violated() {
            String::new()
        } else {
            format!(" {mark} VIOLATED ")
        };
        if !text.is_empty() {
            out.push(styled(text, theme.error().add_modifier(Modifier::REVERSED)));
        }
    } else if sim.ended && sim.history == HistoryCheck::Linearizable {
        let mark = if theme.ascii { "+" } else { "✓" };
        out.push(styled(format!(" {mark} check passed "), base));
    }
    out
}
