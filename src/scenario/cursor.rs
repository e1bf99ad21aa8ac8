//! A cursor over the tokens of one line, with the small value parsers every
//! statement shares (numbers, durations, percentages). Each failure names
//! what was expected and what was found, at the column where it was found.

use super::lexer::Token;

/// A parse failure on the current line, before file and line are attached.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Fail {
    /// Column, from 1.
    pub col: usize,
    /// The message.
    pub message: String,
}

impl Fail {
    /// A failure at `col`.
    pub fn at(col: usize, message: impl Into<String>) -> Fail {
        Fail {
            col,
            message: message.into(),
        }
    }
}

/// Reads the tokens of one line in order.
pub struct Cursor<'a> {
    tokens: &'a [Token],
    pos: usize,
    /// Column just past the line's last token, for "found end of line".
    end_col: usize,
}

impl<'a> Cursor<'a> {
    /// A cursor at the first of `tokens`; `end_col` is where the line ends.
    pub fn new(tokens: &'a [Token], end_col: usize) -> Cursor<'a> {
        Cursor {
            tokens,
            pos: 0,
            end_col,
        }
    }

    /// The next token, not consumed.
    pub fn peek(&self) -> Option<&'a Token> {
        self.tokens.get(self.pos)
    }

    /// Whether the next token is the unquoted word `word`.
    pub fn peek_is(&self, word: &str) -> bool {
        self.peek().is_some_and(|t| !t.quoted && t.text == word)
    }

    /// Consumes the next token if it is the unquoted word `word`.
    pub fn eat(&mut self, word: &str) -> bool {
        let found = self.peek_is(word);
        if found {
            self.pos += 1;
        }
        found
    }

    /// Whether every token has been read.
    pub fn at_end(&self) -> bool {
        self.pos >= self.tokens.len()
    }

    /// Column of the next token (or of the end of the line).
    pub fn col(&self) -> usize {
        self.peek().map_or(self.end_col, |t| t.col)
    }

    /// A failure "expected WHAT, found …" at the next token.
    pub fn expected(&self, what: &str) -> Fail {
        let found = match self.peek() {
            Some(t) => format!("{:?}", t.text),
            None => "end of line".to_string(),
        };
        Fail::at(self.col(), format!("expected {what}, found {found}"))
    }

    /// Consumes and returns the next token, whatever it is.
    pub fn next(&mut self, what: &str) -> Result<&'a Token, Fail> {
        let token = self.peek().ok_or_else(|| self.expected(what))?;
        self.pos += 1;
        Ok(token)
    }

    /// Consumes the word `word` or fails.
    pub fn keyword(&mut self, word: &str) -> Result<(), Fail> {
        if self.eat(word) {
            Ok(())
        } else {
            Err(self.expected(&format!("`{word}`")))
        }
    }

    /// Fails unless every token has been read.
    pub fn end(&self) -> Result<(), Fail> {
        match self.peek() {
            None => Ok(()),
            Some(t) => Err(Fail::at(
                t.col,
                format!("unexpected {:?} after the end of the statement", t.text),
            )),
        }
    }

    /// A whole non-negative number, e.g. a count or a seed.
    pub fn integer(&mut self, what: &str) -> Result<u64, Fail> {
        let fail = self.expected(what);
        let token = self.peek().filter(|t| !t.quoted).ok_or(fail.clone())?;
        let n = token.text.parse::<u64>().map_err(|_| fail)?;
        self.pos += 1;
        Ok(n)
    }

    /// A duration such as `250us`, `500ms`, `2s` or `1.5s`, in µs.
    pub fn duration(&mut self) -> Result<u64, Fail> {
        let fail = self.expected("a duration like 500ms");
        let token = self.peek().filter(|t| !t.quoted).ok_or(fail.clone())?;
        let us = parse_duration(&token.text).ok_or(fail)?;
        self.pos += 1;
        Ok(us)
    }

    /// A delay range such as `5..50ms`, `1ms..2s`, or one fixed delay, in µs.
    pub fn delay_range(&mut self) -> Result<(u64, u64), Fail> {
        let fail = self.expected("a delay range like 5..50ms");
        let token = self.peek().filter(|t| !t.quoted).ok_or(fail.clone())?;
        let range = match token.text.split_once("..") {
            None => parse_duration(&token.text).map(|d| (d, d)),
            Some((lo, hi)) => {
                let unit = hi.trim_start_matches(|c: char| c.is_ascii_digit() || c == '.');
                let lo = if lo.ends_with(|c: char| c.is_ascii_digit()) {
                    format!("{lo}{unit}")
                } else {
                    lo.to_string()
                };
                parse_duration(&lo).zip(parse_duration(hi))
            }
        };
        let (min, max) = range.ok_or(fail)?;
        if min > max {
            return Err(Fail::at(
                token.col,
                format!("the delay range {:?} goes backwards", token.text),
            ));
        }
        self.pos += 1;
        Ok((min, max))
    }

    /// A percentage such as `20%` or `2.5%`, as a probability from 0 to 1.
    pub fn percent(&mut self) -> Result<f64, Fail> {
        let fail = self.expected("a percentage like 20%");
        let token = self.peek().filter(|t| !t.quoted).ok_or(fail.clone())?;
        let p = token
            .text
            .strip_suffix('%')
            .and_then(|n| n.parse::<f64>().ok())
            .filter(|p| (0.0..=100.0).contains(p))
            .ok_or(fail)?;
        self.pos += 1;
        Ok(p / 100.0)
    }
}

/// Parses `N[.F]UNIT` with UNIT one of `us`, `ms`, `s`, `min`, into µs.
pub fn parse_duration(text: &str) -> Option<u64> {
    let split = text.find(|c: char| !(c.is_ascii_digit() || c == '.'))?;
    let (number, unit) = text.split_at(split);
    let scale: u64 = match unit {
        "us" | "µs" => 1,
        "ms" => 1_000,
        "s" => 1_000_000,
        "min" => 60_000_000,
        _ => return None,
    };
    let (whole, frac) = number.split_once('.').unwrap_or((number, ""));
    if whole.is_empty() || frac.contains('.') || !frac.chars().all(|c| c.is_ascii_digit()) {
        return None;
    }
    let mut us = whole.parse::<u64>().ok()?.checked_mul(scale)?;
    let mut place = scale;
    for digit in frac.chars() {
        place /= 10;
        us = us.checked_add(u64::from(digit.to_digit(10)?) * place)?;
    }
    Some(us)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("500ms"), Some(500_000));
        assert_eq!(parse_duration("2s"), Some(2_000_000));
        assert_eq!(parse_duration("1.5s"), Some(1_500_000));
        assert_eq!(parse_duration("250us"), Some(250));
        assert_eq!(parse_duration("1min"), Some(60_000_000));
        assert_eq!(parse_duration("fast"), None);
        assert_eq!(parse_duration("5"), None);
        assert_eq!(parse_duration("5h"), None);
        assert_eq!(parse_duration(".5s"), None);
        assert_eq!(parse_duration("99999999999999999999s"), None);
    }
}
