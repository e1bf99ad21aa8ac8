//! Splits one line of a script into tokens: words separated by blanks,
//! `"quoted strings"` (with `\"` and `\\` escapes), and the punctuation
//! `|`, `{`, `}` and `:`, which stand alone even without blanks around them.
//! A `#` outside quotes starts a comment that runs to the end of the line.

/// One token, with the column (in characters, from 1) where it starts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Token {
    /// The text, without quotes or escapes.
    pub text: String,
    /// Column of its first character.
    pub col: usize,
    /// Whether it was written in quotes (so never a keyword).
    pub quoted: bool,
}

/// A line split into tokens, and its comment if any.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Line {
    /// The tokens before the comment.
    pub tokens: Vec<Token>,
    /// The comment's text after `#`, trimmed.
    pub comment: Option<String>,
    /// Number of characters before the comment (the whole line if none).
    pub code_len: usize,
}

const PUNCTUATION: [char; 4] = ['|', '{', '}', ':'];

/// Splits `text` into tokens; on an unterminated string returns the column
/// of its opening quote.
pub fn tokenize(text: &str) -> Result<Line, usize> {
    let chars: Vec<char> = text.chars().collect();
    let mut line = Line {
        code_len: chars.len(),
        ..Line::default()
    };
    // `say` takes the rest of the line as it is written (up to a comment),
    // so narration keeps its punctuation and spacing.
    let trimmed = text.trim_start();
    if let Some(rest) = trimmed.strip_prefix("say")
        && (rest.is_empty() || rest.starts_with(char::is_whitespace))
    {
        let col = text.len() - trimmed.len() + 1;
        let (said, comment) = match rest.split_once('#') {
            Some((said, comment)) => (said, Some(comment.trim().to_string())),
            None => (rest, None),
        };
        line.comment = comment;
        line.tokens.push(Token {
            text: "say".into(),
            col,
            quoted: false,
        });
        let said = said.trim();
        if !said.is_empty() {
            line.tokens.push(Token {
                text: said.to_string(),
                col: col + 4,
                quoted: true,
            });
        }
        return Ok(line);
    }
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c.is_whitespace() {
            i += 1;
        } else if c == '#' {
            let rest: String = chars[i + 1..].iter().collect();
            line.comment = Some(rest.trim().to_string());
            line.code_len = i;
            break;
        } else if c == '"' {
            let start = i;
            let mut text = String::new();
            i += 1;
            loop {
                match chars.get(i) {
                    None => return Err(start + 1),
                    Some('"') => break,
                    Some('\\') if i + 1 < chars.len() => {
                        text.push(chars[i + 1]);
                        i += 2;
                    }
                    Some(&ch) => {
                        text.push(ch);
                        i += 1;
                    }
                }
            }
            i += 1;
            line.tokens.push(Token {
                text,
                col: start + 1,
                quoted: true,
            });
        } else if PUNCTUATION.contains(&c) {
            line.tokens.push(Token {
                text: c.to_string(),
                col: i + 1,
                quoted: false,
            });
            i += 1;
        } else {
            let start = i;
            while i < chars.len()
                && !chars[i].is_whitespace()
                && !PUNCTUATION.contains(&chars[i])
                && chars[i] != '#'
                && chars[i] != '"'
            {
                i += 1;
            }
            line.tokens.push(Token {
                text: chars[start..i].iter().collect(),
                col: start + 1,
                quoted: false,
            });
        }
    }
    Ok(line)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(line: &str) -> Vec<String> {
        tokenize(line)
            .map(|l| l.tokens.into_iter().map(|t| t.text).collect())
            .unwrap_or_default()
    }

    #[test]
    fn splits_words_punctuation_and_strings() {
        assert_eq!(texts("partition 1 2|3"), ["partition", "1", "2", "|", "3"]);
        assert_eq!(texts(r#"put x "a b\"c" # note"#), ["put", "x", "a b\"c"]);
        assert_eq!(texts("repeat 3: kill 1"), ["repeat", "3", ":", "kill", "1"]);
    }

    #[test]
    fn keeps_columns_and_comment() {
        let line = tokenize("  get x # why").unwrap_or_default();
        assert_eq!(line.tokens[1].col, 7);
        assert_eq!(line.comment.as_deref(), Some("why"));
    }

    #[test]
    fn reports_unterminated_string() {
        assert_eq!(tokenize(r#"put x "abc"#), Err(7));
    }
}
