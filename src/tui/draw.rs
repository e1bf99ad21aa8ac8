//! [`draw`]: the whole screen as a pure function of the [`App`].

use ratatui::Frame;

use crate::tui::app::App;
use crate::tui::layout;
use crate::tui::widgets::{cluster, console, events, help, log, network, status, too_small};

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
    status::render(app, areas.status, buf);
    console::render(app, areas.console, frame);
    if app.help {
        help::render(app, area, frame);
    }
}
