//! One client request on its own line, as the dashboard's console takes
//! it: the same grammar as a script's `put`, `get`, `delete` and `cas`
//! statements (one parser serves both), without what only a script has
//! (`timeout D`, `-> RESULT`, names from `let`, `$i`).
//!
//! ```text
//! put greeting "hello world" on 3
//! get greeting on leader
//! delete greeting
//! ```

use std::collections::BTreeMap;

use super::ast::ClientOp;
use super::cursor::Cursor;
use super::lexer::tokenize;
use super::parser::Parser;

/// Parses `line`, one request for a cluster of `nodes` nodes. `set` is
/// taken for `put` and `del` for `delete`. The error is a sentence for
/// the user (with the column when the line is long enough to need it).
pub fn parse_request(line: &str, nodes: usize) -> Result<ClientOp, String> {
    let tokens = tokenize(line)
        .map_err(|col| format!("the quote at column {col} is never closed"))?
        .tokens;
    let end_col = line.chars().count() + 1;
    let mut c = Cursor::new(&tokens, end_col);
    let verb = c.next("put, get, delete or cas").map_err(|f| f.message)?;
    let verb = match verb.text.to_ascii_lowercase().as_str() {
        _ if verb.quoted => String::new(),
        "set" => "put".to_string(),
        "del" => "delete".to_string(),
        v => v.to_string(),
    };
    if !matches!(verb.as_str(), "put" | "get" | "delete" | "cas") {
        return Err("a client request starts with put, get, delete or cas".to_string());
    }
    let mut parser = Parser {
        nodes: Some(nodes),
        names: BTreeMap::new(),
        looping: false,
        console: true,
        started: None,
    };
    parser.client_op(&verb, &mut c).map_err(|f| f.message)
}
