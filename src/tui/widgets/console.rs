//! The console pane: the transcript (each typed command and its result on
//! their own lines; a key's request and its result on one, repeats
//! counted `×N`) above a prompt with the cursor.

use ratatui::Frame;
use ratatui::layout::{Position, Rect};
use ratatui::text::Line;

use super::{focused, pane, put_line, styled};
use crate::tui::action::Focus;
use crate::tui::app::App;
use crate::tui::console::LineKind;

/// Draws the console pane and, when it has the focus, places the cursor.
pub fn render(app: &App, area: Rect, frame: &mut Frame) {
    let theme = &app.theme;
    let has_focus = focused(app, Focus::Console);
    let waiting = app.pending.values().filter(|(r, _)| r.is_client()).count();
    let title = match (has_focus, waiting) {
        (true, 0) => "Console (Esc leaves, Up/Down history)".to_string(),
        (false, 0) => "Console (: or / to type)".to_string(),
        (_, n) => format!("Console ({n} waiting for the cluster…)"),
    };
    let block = pane(theme, &title, has_focus);
    let inner = block.inner(area);
    frame.render_widget(block, area);
    if inner.height == 0 {
        return;
    }
    let buf = frame.buffer_mut();
    let rows = (inner.height - 1) as usize;
    // An answer's first line wraps (at spaces where it can) so an error is
    // read whole; the rows of a list an answer goes on with keep one row
    // each, cut at the edge, so the list stays in sight. The newest rows
    // show.
    let width = inner.width as usize;
    let mut shown_rows: Vec<Line<'static>> = Vec::new();
    let mut after_command = true;
    for line in app.console.transcript() {
        let (prefix, style) = match line.kind {
            LineKind::Command => (theme.prompt(), theme.key()),
            LineKind::Ok => ("  ", theme.ok()),
            LineKind::Error => ("  ", theme.error()),
            LineKind::Note => ("  ", theme.note()),
        };
        // A key's request and its answer on one row, `×N` when repeated;
        // on two when that does not fit.
        if let Some(command) = &line.key {
            after_command = false;
            let head = format!("{}{command}  (key) ", theme.prompt());
            let answer = match line.kind {
                LineKind::Error => format!("{} error: {}", theme.arrow(), line.text),
                _ => format!("{} {}", theme.arrow(), line.text),
            };
            let times = (line.count > 1).then(|| format!(" ×{}", line.count));
            let len = head.chars().count()
                + answer.chars().count()
                + times.as_ref().map_or(0, |t| t.chars().count());
            if len <= width {
                let mut spans = vec![styled(head, theme.dim()), styled(answer, style)];
                spans.extend(times.map(|t| styled(t, theme.key())));
                shown_rows.push(Line::from(spans));
            } else {
                shown_rows.push(Line::from(styled(head, theme.dim())));
                let text = format!("  {}{}", answer, times.unwrap_or_default());
                for row in wrap(&text, width, "    ") {
                    shown_rows.push(Line::from(styled(row, style)));
                }
            }
            continue;
        }
        let wraps = after_command || line.kind == LineKind::Command;
        after_command = line.kind == LineKind::Command;
        let text = match line.kind {
            LineKind::Error => format!("{prefix}error: {}", line.text),
            _ => format!("{prefix}{}", line.text),
        };
        if wraps {
            for row in wrap(&text, width, "    ") {
                shown_rows.push(Line::from(styled(row, style)));
            }
        } else {
            shown_rows.push(Line::from(styled(text, style)));
        }
    }
    let start = shown_rows.len().saturating_sub(rows);
    for (y, row) in shown_rows.drain(start..).enumerate() {
        put_line(buf, inner, y as u16, &row);
    }
    let prompt = theme.prompt();
    let input = app.console.input();
    let avail = (inner.width as usize).saturating_sub(prompt.chars().count() + 1);
    // Keep the cursor in sight on a long line.
    let skip = app.console.cursor().saturating_sub(avail);
    let shown: String = input.chars().skip(skip).take(avail + 1).collect();
    let y = inner.height - 1;
    put_line(
        buf,
        inner,
        y,
        &Line::from(vec![
            styled(prompt, if has_focus { theme.key() } else { theme.dim() }),
            styled(shown, ratatui::style::Style::new()),
        ]),
    );
    if has_focus {
        let x = inner.x + (prompt.chars().count() + app.console.cursor() - skip) as u16;
        frame.set_cursor_position(Position::new(
            x.min(inner.right().saturating_sub(1)),
            inner.y + y,
        ));
    }
}

/// Splits `text` into rows of at most `width` characters, breaking at
/// spaces where it can; rows after the first start with `indent`.
fn wrap(text: &str, width: usize, indent: &str) -> Vec<String> {
    let indent_len = indent.chars().count();
    if width <= indent_len + 1 || text.chars().count() <= width {
        return vec![text.to_string()];
    }
    let mut rows = Vec::new();
    let mut rest: Vec<char> = text.chars().collect();
    let mut first = true;
    loop {
        let room = if first { width } else { width - indent_len };
        let lead = if first { "" } else { indent };
        if rest.len() <= room {
            rows.push(format!("{lead}{}", rest.iter().collect::<String>()));
            return rows;
        }
        // Break at the last space that fits; a word longer than a row is cut.
        let cut = rest[..=room]
            .iter()
            .rposition(|&c| c == ' ')
            .filter(|&i| i > 0)
            .unwrap_or(room);
        let row: String = rest[..cut].iter().collect();
        rows.push(format!("{lead}{}", row.trim_end()));
        let skip = rest[cut..].iter().take_while(|&&c| c == ' ').count();
        rest.drain(..cut + skip);
        first = false;
        if rest.is_empty() {
            return rows;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::wrap;

    #[test]
    fn long_lines_wrap_at_spaces_with_an_indent() {
        assert_eq!(wrap("short", 10, "    "), ["short"]);
        assert_eq!(
            wrap("  error: the leader has not committed", 20, "    "),
            ["  error: the leader", "    has not", "    committed"]
        );
        // A word longer than a row is cut rather than lost.
        assert_eq!(wrap("abcdefghij", 6, "  "), ["abcdef", "  ghij"]);
        // Every character but the spaces at breaks survives.
        let text = "a b c d e f g h i j k l m n o p q r s t u v w x y z";
        let rows = wrap(text, 7, " ");
        assert!(rows.iter().all(|r| r.chars().count() <= 7), "{rows:?}");
        let joined: String = rows.concat().chars().filter(|c| *c != ' ').collect();
        assert_eq!(joined, text.replace(' ', ""));
    }
}
