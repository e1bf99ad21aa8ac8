//! [`draw`]: the whole screen as a pure function of the [`App`].

use ratatui::Frame;

use crate::tui::action::Focus;
use crate::tui::app::App;
use crate::tui::layout;
use crate::tui::widgets::{
    cluster, console, events, help, log, network, scrubber, status, too_small, tour, tour_menu,
};

/// Draws the dashboard into `frame`. Reads the app, changes nothing.
pub fn draw(app: &App, frame: &mut Frame) {
    let area = frame.area();
    let Some(areas) = layout::areas(area, app.nodes()) else {
        too_small::render(area, frame.buffer_mut());
        return;
    };
    let buf = frame.buffer_mut();
    cluster::render(app, &areas, buf);
    log::render(app, areas.log, buf);
    network::render(app, areas.network, buf);
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
    if app.tour_menu.is_some() {
        tour_menu::render(app, area, frame);
    }
    if app.help {
        help::render(app, area, frame);
    }
}
