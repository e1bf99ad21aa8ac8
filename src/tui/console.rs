//! The console's state: the line being edited (with a cursor), the
//! history of submitted lines, and the transcript of commands and results.

use std::collections::VecDeque;

/// Most transcript lines kept.
const TRANSCRIPT_MAX: usize = 500;
/// Most history entries kept.
const HISTORY_MAX: usize = 200;

/// What kind of transcript line, for its colour and prefix.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LineKind {
    /// A command as typed.
    Command,
    /// A result.
    Ok,
    /// An error in words.
    Error,
    /// A note (waiting, hints).
    Note,
}

/// One line of the transcript.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Line {
    /// Its number, for replacing a placeholder when a result arrives.
    pub id: u64,
    /// Its kind.
    pub kind: LineKind,
    /// Its text.
    pub text: String,
    /// For a request a key made: the command it stands for, shown before
    /// the result on the same line, so key presses do not push results
    /// out of sight.
    pub key: Option<String>,
    /// How many times in a row the same key gave the same result (1:
    /// once).
    pub count: u32,
}

/// An edit of the input line.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Edit {
    /// Type a character at the cursor.
    Insert(char),
    /// Delete the character before the cursor.
    Backspace,
    /// Delete the character under the cursor.
    Delete,
    /// Cursor one left.
    Left,
    /// Cursor one right.
    Right,
    /// Cursor to the start.
    Home,
    /// Cursor to the end.
    End,
    /// Delete from the start to the cursor (Ctrl-U).
    KillToStart,
    /// Delete from the cursor to the end (Ctrl-K).
    KillToEnd,
    /// Delete the word before the cursor (Ctrl-W).
    DeleteWord,
    /// The previous history entry (Up).
    HistoryPrev,
    /// The next history entry (Down).
    HistoryNext,
}

/// The console pane's state.
#[derive(Clone, Debug, Default)]
pub struct Console {
    /// The line being typed.
    input: Vec<char>,
    /// Cursor position, in characters.
    cursor: usize,
    /// Submitted lines, oldest first.
    history: Vec<String>,
    /// Position while browsing the history (`None`: editing a new line).
    browsing: Option<usize>,
    /// The new line put aside while browsing.
    draft: Vec<char>,
    /// Commands and results, oldest first.
    transcript: VecDeque<Line>,
    /// The number of the next transcript line.
    next_line: u64,
}

impl Console {
    /// The line being typed.
    pub fn input(&self) -> String {
        self.input.iter().collect()
    }

    /// The cursor's position in characters.
    pub fn cursor(&self) -> usize {
        self.cursor
    }

    /// The transcript, oldest first.
    pub fn transcript(&self) -> impl DoubleEndedIterator<Item = &Line> + ExactSizeIterator {
        self.transcript.iter()
    }

    /// Adds a transcript line; returns its number.
    pub fn push(&mut self, kind: LineKind, text: impl Into<String>) -> u64 {
        if self.transcript.len() >= TRANSCRIPT_MAX {
            self.transcript.pop_front();
        }
        let id = self.next_line;
        self.next_line += 1;
        self.transcript.push_back(Line {
            id,
            kind,
            text: text.into(),
            key: None,
            count: 1,
        });
        id
    }

    /// Adds the placeholder line of a request a key made, which stands for
    /// `command`; its result replaces `waiting` on the same line.
    pub fn push_key(&mut self, command: impl Into<String>, waiting: impl Into<String>) -> u64 {
        let id = self.push(LineKind::Note, waiting);
        if let Some(line) = self.transcript.back_mut() {
            line.key = Some(command.into());
        }
        id
    }

    /// Replaces line `id` (a placeholder) with a result, and puts `more`
    /// lines right after it; appends them if the line scrolled away.
    pub fn resolve(&mut self, id: u64, lines: Vec<(LineKind, String)>) {
        let Some(at) = self.transcript.iter().position(|l| l.id == id) else {
            for (kind, text) in lines {
                self.push(kind, text);
            }
            return;
        };
        let single = lines.len() == 1;
        for (i, (kind, text)) in lines.into_iter().enumerate() {
            if i == 0 {
                self.transcript[at].kind = kind;
                self.transcript[at].text = text;
            } else {
                let id = self.next_line;
                self.next_line += 1;
                let line = Line {
                    id,
                    kind,
                    text,
                    key: None,
                    count: 1,
                };
                self.transcript.insert(at + i, line);
            }
        }
        // The same key with the same result as the line before: count it
        // there instead of adding a line.
        let line = &self.transcript[at];
        let folds = single && line.key.is_some() && at > 0 && {
            let before = &self.transcript[at - 1];
            (&before.key, before.kind, &before.text) == (&line.key, line.kind, &line.text)
        };
        if folds && let Some(line) = self.transcript.remove(at) {
            let before = &mut self.transcript[at - 1];
            before.count = before.count.saturating_add(line.count);
        }
    }

    /// Empties the transcript.
    pub fn clear(&mut self) {
        self.transcript.clear();
    }

    /// Applies an edit to the input line.
    pub fn edit(&mut self, edit: Edit) {
        match edit {
            Edit::Insert(c) => {
                self.input.insert(self.cursor, c);
                self.cursor += 1;
            }
            Edit::Backspace if self.cursor > 0 => {
                self.cursor -= 1;
                self.input.remove(self.cursor);
            }
            Edit::Delete if self.cursor < self.input.len() => {
                self.input.remove(self.cursor);
            }
            Edit::Backspace | Edit::Delete => {}
            Edit::Left => self.cursor = self.cursor.saturating_sub(1),
            Edit::Right => self.cursor = (self.cursor + 1).min(self.input.len()),
            Edit::Home => self.cursor = 0,
            Edit::End => self.cursor = self.input.len(),
            Edit::KillToStart => {
                self.input.drain(..self.cursor);
                self.cursor = 0;
            }
            Edit::KillToEnd => self.input.truncate(self.cursor),
            Edit::DeleteWord => {
                let mut start = self.cursor;
                while start > 0 && self.input[start - 1] == ' ' {
                    start -= 1;
                }
                while start > 0 && self.input[start - 1] != ' ' {
                    start -= 1;
                }
                self.input.drain(start..self.cursor);
                self.cursor = start;
            }
            Edit::HistoryPrev => {
                let at = match self.browsing {
                    None if self.history.is_empty() => return,
                    None => {
                        self.draft = std::mem::take(&mut self.input);
                        self.history.len() - 1
                    }
                    Some(i) => i.saturating_sub(1),
                };
                self.browsing = Some(at);
                self.set_input(self.history[at].chars().collect());
            }
            Edit::HistoryNext => match self.browsing {
                None => {}
                Some(i) if i + 1 < self.history.len() => {
                    self.browsing = Some(i + 1);
                    self.set_input(self.history[i + 1].chars().collect());
                }
                Some(_) => {
                    self.browsing = None;
                    let draft = std::mem::take(&mut self.draft);
                    self.set_input(draft);
                }
            },
        }
    }

    fn set_input(&mut self, input: Vec<char>) {
        self.input = input;
        self.cursor = self.input.len();
    }

    /// Takes the typed line (trimmed), records it in the history and the
    /// transcript, and clears the input. `None` for a blank line.
    pub fn submit(&mut self) -> Option<String> {
        let line = self.input().trim().to_string();
        self.input.clear();
        self.cursor = 0;
        self.browsing = None;
        self.draft.clear();
        if line.is_empty() {
            return None;
        }
        if self.history.last() != Some(&line) {
            if self.history.len() >= HISTORY_MAX {
                self.history.remove(0);
            }
            self.history.push(line.clone());
        }
        self.push(LineKind::Command, line.clone());
        Some(line)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn typed(c: &mut Console, s: &str) {
        for ch in s.chars() {
            c.edit(Edit::Insert(ch));
        }
    }

    #[test]
    fn editing_moves_the_cursor() {
        let mut c = Console::default();
        typed(&mut c, "put k v");
        c.edit(Edit::Home);
        c.edit(Edit::Delete);
        typed(&mut c, "P");
        assert_eq!(c.input(), "Put k v");
        c.edit(Edit::End);
        c.edit(Edit::DeleteWord);
        assert_eq!(c.input(), "Put k ");
        c.edit(Edit::Left);
        c.edit(Edit::KillToEnd);
        assert_eq!(c.input(), "Put k");
        c.edit(Edit::KillToStart);
        assert_eq!((c.input().as_str(), c.cursor()), ("", 0));
        c.edit(Edit::Backspace);
        c.edit(Edit::Left);
        assert_eq!(c.cursor(), 0);
    }

    #[test]
    fn history_browses_and_restores_the_draft() {
        let mut c = Console::default();
        typed(&mut c, "get a");
        assert_eq!(c.submit().as_deref(), Some("get a"));
        typed(&mut c, "get b");
        c.submit();
        typed(&mut c, "dra");
        c.edit(Edit::HistoryPrev);
        assert_eq!(c.input(), "get b");
        c.edit(Edit::HistoryPrev);
        c.edit(Edit::HistoryPrev);
        assert_eq!(c.input(), "get a");
        c.edit(Edit::HistoryNext);
        assert_eq!(c.input(), "get b");
        c.edit(Edit::HistoryNext);
        assert_eq!(c.input(), "dra");
        assert_eq!(c.transcript().count(), 2);
    }
}
