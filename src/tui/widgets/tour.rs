//! The tour pane: the caption of the current step, the statement it runs
//! with its outcome, how the tour ended, and the steps before, newest
//! first, as room allows.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Clear, Widget};

use super::{pane, put_line, put_line_cut, styled};
use crate::scenario::Mark;
use crate::tui::app::App;
use crate::tui::text::wrap;
use crate::tui::tour::{Phase, Question, Tour};

/// Where the tour pane goes: the console's place, so the network and the
/// events stay in sight beside it; widened to the whole bottom row of
/// panes on a screen too narrow for captions beside them.
pub fn area(screen: Rect, console: Rect) -> Rect {
    if screen.width >= 100 {
        console
    } else {
        let width = screen.right().saturating_sub(console.x);
        Rect::new(console.x, console.y, width, console.height)
    }
}

/// Draws `tour` into `area`.
pub fn render(app: &App, tour: &Tour, area: Rect, buf: &mut Buffer) {
    let theme = &app.theme;
    let title = format!(
        "Tour: {} · step {}/{}",
        tour.name,
        tour.step.min(tour.total),
        tour.total
    );
    let hint = if tour.finished.is_some() {
        " Esc closes ".to_string()
    } else if let Some(q) = tour.question().filter(|_| tour.asking()) {
        format!(" 1-{} answer · Enter shows it ", q.ask.choices.len())
    } else if tour.phase == Phase::AtEnd {
        " Enter ends the tour ".to_string()
    } else if tour.auto.is_some() {
        " auto · Enter skips the wait ".to_string()
    } else {
        " Enter/→ next step ".to_string()
    };
    Clear.render(area, buf);
    let block =
        pane(theme, &title, true).title(Line::from(styled(hint, theme.key())).right_aligned());
    let inner = block.inner(area);
    block.render(area, buf);
    let width = inner.width as usize;
    if width == 0 || inner.height == 0 {
        return;
    }

    let mut status: Vec<Line> = Vec::new();
    if let Some(q) = tour.question() {
        status.extend(question_lines(app, tour, q, width));
    }
    if let Some(source) = tour
        .current
        .as_ref()
        .filter(|_| !tour.current_is_question())
    {
        let (symbol, style, detail) = match &tour.phase {
            Phase::Starting | Phase::Waiting | Phase::Asking => (
                theme.pointer(),
                theme.key(),
                if tour.auto.is_some() {
                    "runs shortly".to_string()
                } else {
                    "press Enter to run it".to_string()
                },
            ),
            Phase::Running => (theme.running(), theme.note(), "running".to_string()),
            Phase::Done(mark, detail) => {
                (theme.step_mark(*mark), theme.step(*mark), detail.clone())
            }
            Phase::AtEnd => match tour.past.get(tour.current_past().unwrap_or(usize::MAX)) {
                Some(last) => (
                    theme.step_mark(last.mark),
                    theme.step(last.mark),
                    last.detail.clone(),
                ),
                None => (theme.pointer(), theme.key(), String::new()),
            },
        };
        status.push(Line::from(vec![
            styled(format!("{symbol} {source}"), style),
            Span::raw("  "),
            styled(detail, theme.dim()),
        ]));
    }
    if tour.phase == Phase::AtEnd && tour.finished.is_none() {
        status.push(Line::from(styled(
            format!(
                "{} That was the last step: press Enter to end the tour.",
                theme.pointer()
            ),
            theme.key(),
        )));
    }
    match &tour.finished {
        Some((true, _)) => status.push(Line::from(styled(
            format!(
                "{} Tour complete: every expectation held.",
                theme.step_mark(Mark::Pass)
            ),
            theme.ok(),
        ))),
        Some((false, failure)) => status.push(Line::from(styled(
            format!(
                "{} Tour stopped: {}",
                theme.step_mark(Mark::Fail),
                failure.as_deref().unwrap_or("it did not finish")
            ),
            theme.error(),
        ))),
        None => {}
    }

    let rows = inner.height as usize;
    let caption_text = if tour.caption.is_empty() {
        tour.intent.clone().unwrap_or_default()
    } else {
        tour.caption.clone()
    };
    // A question needs its room more than the caption does.
    let room = if tour.question().is_some() {
        rows.saturating_sub(status.len())
    } else {
        rows.saturating_sub(status.len()).max(1)
    };
    let mut caption = wrap(&caption_text, width);
    caption.truncate(room);
    let mut y = 0u16;
    for text in &caption {
        put_line(
            buf,
            inner,
            y,
            &Line::from(styled(text.clone(), theme.caption())),
        );
        y += 1;
    }
    for line in &status {
        put_line_cut(theme, buf, inner, y, line);
        y += 1;
    }
    // Earlier steps and plumbing, newest first, below; the current step's
    // own outcome is shown above already.
    let current = tour.current_past();
    for (i, past) in tour.past.iter().enumerate().rev() {
        if y >= inner.height {
            break;
        }
        if Some(i) == current {
            continue;
        }
        let line = Line::from(vec![
            styled(
                format!("{} {}", theme.step_mark(past.mark), past.source),
                theme.dim(),
            ),
            Span::raw("  "),
            styled(past.detail.clone(), theme.dim()),
        ]);
        put_line_cut(theme, buf, inner, y, &line);
        y += 1;
    }
}

/// A question: asked (with its choices and the keys that pick them), or
/// answered (the pick, right or not, and why).
fn question_lines(app: &App, tour: &Tour, q: &Question, width: usize) -> Vec<Line<'static>> {
    let theme = &app.theme;
    let mut lines: Vec<Line<'static>> = wrap(&format!("? {}", q.ask.question), width)
        .into_iter()
        .map(|l| Line::from(styled(l, theme.key())))
        .collect();
    for (i, choice) in q.ask.choices.iter().enumerate() {
        let n = i + 1;
        let style = if !q.revealed {
            Style::new()
        } else if n == q.ask.answer {
            theme.ok()
        } else if Some(n) == q.picked {
            theme.error()
        } else {
            theme.dim()
        };
        let mark = match (q.revealed, n == q.ask.answer, Some(n) == q.picked) {
            (true, true, _) => theme.step_mark(Mark::Pass),
            (true, false, true) => theme.step_mark(Mark::Fail),
            (false, _, true) => theme.pointer(),
            _ => " ",
        };
        for (k, text) in wrap(&format!("{n}) {choice}"), width.saturating_sub(3))
            .into_iter()
            .enumerate()
        {
            let lead = if k == 0 { mark } else { " " };
            lines.push(Line::from(styled(format!(" {lead} {text}"), style)));
        }
    }
    if !q.revealed {
        let how = if tour.phase == Phase::Running && tour.current_is_question() {
            "…".to_string()
        } else if tour.auto.is_some() {
            "the answer shows shortly".to_string()
        } else {
            format!(
                "press 1-{} for your answer (Enter shows it)",
                q.ask.choices.len()
            )
        };
        lines.push(Line::from(styled(how, theme.dim())));
        return lines;
    }
    let verdict = match q.right() {
        Some(true) => format!("Right. {}", q.ask.why),
        // The answer by its number and its text: a choice's text may
        // itself start with a number ("3: a majority of the 5").
        Some(false) => format!(
            "Not quite: the answer is {}) {}. {}",
            q.ask.answer,
            q.ask.answer_text(),
            q.ask.why
        ),
        None => format!(
            "The answer is {}) {}. {}",
            q.ask.answer,
            q.ask.answer_text(),
            q.ask.why
        ),
    };
    let style = match q.right() {
        Some(true) => theme.ok(),
        Some(false) => theme.error(),
        None => theme.caption(),
    };
    lines.extend(
        wrap(&verdict, width)
            .into_iter()
            .map(|l| Line::from(styled(l, style))),
    );
    lines
}
