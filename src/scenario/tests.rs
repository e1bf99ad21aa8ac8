//! The scenario language's tests, one file per topic: `parser.rs` (one
//! test per statement and per kind of error), `runner.rs` (the runner on
//! the toy cluster in `fake.rs`), `files.rs` (every script under
//! `tests/scenarios/` parses), `hold.rs` (holding and delivering messages
//! by hand) and `tour_stmt.rs` (the statements tours use: `start`,
//! `reply`, `ask` and their conditions).

mod files;
mod hold;
mod parser;
mod runner;
mod tour_stmt;
