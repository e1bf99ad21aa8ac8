//! [`draw`]: the whole screen as a pure function of the [`App`].

use ratatui::Frame;

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;

use crate::tui::action::{Focus, Lower};
use crate::tui::app::App;
use crate::tui::layout;
use crate::tui::widgets::{
    checker, cluster, console, events, flow, help, log, messages, network, scrubber, status,
    too_small, tour, tour_menu, why, wire,
};

/// Draws the dashboard into `frame`. Reads the app, changes nothing.
pub fn draw(app: &App, frame: &mut Frame) {
    let area = frame.area();
    let Some(areas) = app.layout(area) else {
        too_small::render(area, frame.buffer_mut());
        return;
    };
    let buf = frame.buffer_mut();
    cluster::render(app, &areas, buf);
    wire::render(app, &areas, buf);
    lower(app, &areas, buf);
    if areas.network.height > 0 {
        network::render(app, areas.network, buf);
    }
    events::render(app, areas.events, buf);
    if app.past.is_none() {
        status::render(app, areas.status, buf);
    }
    console::render(app, areas.console, frame);
    // A tour's captions take the console's place, unless the console has
    // the keyboard (Tab or `:` brings it back).
    if let Some(t) = &app.tour
        && app.focus != Focus::Console
    {
        tour::render(app, t, tour::area(area, areas.console), frame.buffer_mut());
    }
    // Viewing the past: the scrubber takes the status bar's place.
    if app.past.is_some() {
        scrubber::render(app, areas.status, frame.buffer_mut());
    }
    if app.why {
        why::render(app, &areas, area, frame.buffer_mut());
    }
    if app.tour_menu.is_some() {
        tour_menu::render(app, area, frame);
    }
    if app.help {
        help::render(app, area, frame);
    }
}

/// The log pane's place `slot` split between the log (or the message list
/// or focus mode) and the live checker panel, each when shown.
pub(crate) fn lower_split(app: &App, slot: Rect) -> (Option<Rect>, Option<Rect>) {
    match (app.checker, slot.width >= 120) {
        (false, _) => (Some(slot), None),
        (true, false) => (None, Some(slot)),
        (true, true) => {
            let w = slot.width * 62 / 100;
            (
                Some(Rect::new(slot.x, slot.y, w, slot.height)),
                Some(Rect::new(slot.x + w, slot.y, slot.width - w, slot.height)),
            )
        }
    }
}

/// The log pane's place: the log, the message list or focus mode, and the
/// live checker panel beside it on a wide screen (instead of it on a
/// narrow one).
fn lower(app: &App, areas: &layout::Areas, buf: &mut Buffer) {
    let (main, side) = lower_split(app, areas.log);
    if let Some(area) = main {
        match app.lower {
            Lower::Log => log::render(app, area, buf),
            Lower::Messages => messages::render(app, area, buf),
            Lower::Flow => {
                let ids: Vec<_> = app.view.nodes.iter().map(|n| n.id).collect();
                let cols = flow::columns(&ids, &areas.cards, area);
                flow::render(app, area, &cols, buf);
            }
        }
    }
    if let Some(area) = side {
        checker::render(app, area, buf);
    }
}
