//! `--record FILE.cast`: what the dashboard drew, as an asciicast v2 file
//! that `asciinema play` plays back.
//!
//! The terminal backend writes through a [`Screen`]: every byte goes to
//! the real terminal and, when recording, into a [`Cast`], which turns
//! each frame (everything written up to a flush) into one `"o"` event of
//! those exact bytes. So the cast is byte for byte what the terminal was
//! sent: the first clear, then ratatui's changed cells. What the terminal
//! was told besides drawing is left out — the switch to the alternate
//! screen and mouse capture — so a player keeps the last frame on its
//! screen and never captures the viewer's mouse; the cast ends by showing
//! the cursor again, as the dashboard does when it quits.
//!
//! The file is asciicast v2: a JSON header line (`version` 2, `width`,
//! `height`, `timestamp`, `title`, `env.TERM`, `idle_time_limit`), then
//! one JSON array per event: `[seconds, "o", text]` for output, `[seconds,
//! "r", "WxH"]` when the terminal was resized, and `[seconds, "m", label]`
//! markers at each step of a guided tour and at a violation, so a player
//! can jump from chapter to chapter. Nothing is written while nothing is
//! drawn, and a quiet stretch longer than [`IDLE_LIMIT`] is cut to it in
//! the file itself (the header says so too), so a paused lesson does not
//! make a long still video.

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use crate::tui::app::App;

/// The longest quiet stretch a cast keeps: longer ones are cut to this.
pub const IDLE_LIMIT: Duration = Duration::from_secs(2);

/// An asciicast v2 recording being written.
pub struct Cast {
    out: Box<dyn Write + Send>,
    /// Bytes written since the last frame ended.
    pending: Vec<u8>,
    /// When the last event was written (wall clock), and its time in the
    /// file (seconds, quiet stretches cut).
    last: Option<(Instant, f64)>,
    /// The terminal size the file last announced.
    size: (u16, u16),
    /// Bytes written to the file so far.
    written: u64,
    /// The first error writing the file: recording stops, the dashboard
    /// goes on, and the error is reported when it ends.
    failed: Option<io::Error>,
}

/// What a cast's header says about it.
#[derive(Clone, Debug)]
pub struct CastHeader {
    /// Terminal columns.
    pub width: u16,
    /// Terminal rows.
    pub height: u16,
    /// Unix time the recording started.
    pub timestamp: u64,
    /// What was recorded (the command line).
    pub title: String,
    /// The terminal type (`$TERM`).
    pub term: String,
}

impl CastHeader {
    /// A header for a recording starting now on a `width`×`height`
    /// terminal of this process's `$TERM`.
    pub fn now(width: u16, height: u16, title: &str) -> CastHeader {
        CastHeader {
            width,
            height,
            timestamp: SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0, |d| d.as_secs()),
            title: title.to_string(),
            term: std::env::var("TERM").unwrap_or_else(|_| "xterm-256color".into()),
        }
    }
}

impl Cast {
    /// Starts a cast written to `out`; writes its header.
    pub fn new(out: Box<dyn Write + Send>, header: &CastHeader) -> io::Result<Cast> {
        let mut cast = Cast {
            out,
            pending: Vec::new(),
            last: None,
            size: (header.width, header.height),
            written: 0,
            failed: None,
        };
        let line = serde_json::json!({
            "version": 2,
            "width": header.width,
            "height": header.height,
            "timestamp": header.timestamp,
            "title": header.title,
            "env": { "TERM": header.term },
            "idle_time_limit": IDLE_LIMIT.as_secs_f64(),
        });
        cast.line(&line.to_string())?;
        Ok(cast)
    }

    /// Creates `path` and starts a cast in it.
    pub fn create(path: &Path, header: &CastHeader) -> io::Result<Cast> {
        let file = File::create(path)?;
        Cast::new(Box::new(BufWriter::new(file)), header)
    }

    fn line(&mut self, text: &str) -> io::Result<()> {
        self.out.write_all(text.as_bytes())?;
        self.out.write_all(b"\n")?;
        self.written += text.len() as u64 + 1;
        Ok(())
    }

    /// The time in the file of an event at `now`: the time since the last
    /// event, quiet stretches cut to [`IDLE_LIMIT`].
    fn time(&mut self, now: Instant) -> f64 {
        let t = match self.last {
            None => 0.0,
            Some((at, t)) => {
                let gap = now.saturating_duration_since(at).min(IDLE_LIMIT);
                t + gap.as_secs_f64()
            }
        };
        // Microseconds, as asciinema writes them.
        let t = (t * 1e6).round() / 1e6;
        self.last = Some((now, t));
        t
    }

    /// Writes one event `[t, kind, data]`; an error stops the recording.
    fn event(&mut self, now: Instant, kind: &str, data: &str) {
        if self.failed.is_some() {
            return;
        }
        let t = self.time(now);
        let line = serde_json::json!([t, kind, data]).to_string();
        if let Err(e) = self.line(&line) {
            self.failed = Some(e);
        }
    }

    /// Keeps `bytes` the terminal was sent, until the frame ends.
    pub fn take(&mut self, bytes: &[u8]) {
        self.pending.extend_from_slice(bytes);
    }

    /// The frame ended at `now` on a terminal of `size`: a resize event if
    /// it changed, then one output event of the frame's bytes. A UTF-8
    /// character cut at the end waits for the next frame.
    pub fn frame(&mut self, now: Instant, size: Option<(u16, u16)>) {
        if let Some(size) = size
            && size != self.size
        {
            self.size = size;
            self.event(now, "r", &format!("{}x{}", size.0, size.1));
        }
        if self.pending.is_empty() {
            return;
        }
        let whole = match std::str::from_utf8(&self.pending) {
            Ok(_) => self.pending.len(),
            Err(e) if e.error_len().is_none() => e.valid_up_to(),
            // Not UTF-8 at all: never from ratatui; keep it readable.
            Err(_) => self.pending.len(),
        };
        let text = String::from_utf8_lossy(&self.pending[..whole]).into_owned();
        self.pending.drain(..whole);
        if !text.is_empty() {
            self.event(now, "o", &text);
        }
    }

    /// A marker a player can jump to.
    pub fn marker(&mut self, now: Instant, label: &str) {
        self.event(now, "m", label);
    }

    /// Ends the recording: the rest of the output, the cursor shown again
    /// (as the dashboard leaves the terminal), and the file flushed. The
    /// first error met while recording, if any.
    pub fn finish(&mut self, now: Instant) -> io::Result<u64> {
        self.pending.extend_from_slice(b"\x1b[0m\x1b[?25h");
        self.frame(now, None);
        if let Some(e) = self.failed.take() {
            return Err(e);
        }
        self.out.flush()?;
        Ok(self.written)
    }

    /// Bytes written to the file so far.
    pub fn written(&self) -> u64 {
        self.written
    }
}

/// A cast shared by the terminal's writer and the main loop's markers.
pub type SharedCast = Arc<Mutex<Cast>>;

fn lock(cast: &SharedCast) -> MutexGuard<'_, Cast> {
    cast.lock().unwrap_or_else(|p| p.into_inner())
}

/// What the terminal backend writes to: the terminal, and a cast when
/// recording. A flush ends a frame (ratatui flushes once per draw).
pub struct Screen<W: Write> {
    out: W,
    cast: Option<SharedCast>,
    /// How to read the terminal's size for resize events.
    size: fn() -> Option<(u16, u16)>,
}

/// The real terminal's size, if it can be read.
fn terminal_size() -> Option<(u16, u16)> {
    ratatui::crossterm::terminal::size().ok()
}

impl<W: Write> Screen<W> {
    /// Writes to `out`, copying into `cast` if given.
    pub fn new(out: W, cast: Option<SharedCast>) -> Screen<W> {
        Screen {
            out,
            cast,
            size: terminal_size,
        }
    }

    /// The same, reading the terminal's size with `size` (tests).
    pub fn with_size(
        out: W,
        cast: Option<SharedCast>,
        size: fn() -> Option<(u16, u16)>,
    ) -> Screen<W> {
        Screen { out, cast, size }
    }
}

impl<W: Write> Write for Screen<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.out.write(buf)?;
        if let Some(cast) = &self.cast {
            lock(cast).take(&buf[..n]);
        }
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        let result = self.out.flush();
        if let Some(cast) = &self.cast {
            lock(cast).frame(Instant::now(), (self.size)());
        }
        result
    }
}

/// The chapters a cast marks, found by looking at the dashboard after
/// each frame: a tour's step starting, a violation appearing.
#[derive(Debug, Default)]
pub struct Chapters {
    step: usize,
    violated: bool,
}

impl Chapters {
    /// The markers `app` calls for since the last look.
    pub fn look(&mut self, app: &App) -> Vec<String> {
        let mut marks = Vec::new();
        if let Some(tour) = &app.tour {
            if tour.step != self.step && tour.step > 0 {
                let what = tour.current.as_deref().unwrap_or("");
                marks.push(format!("step {}/{}: {what}", tour.step, tour.total));
            }
            self.step = tour.step;
        }
        let violation = match &app.sim {
            Some(status) => status
                .violation
                .as_ref()
                .map(|v| format!("violation: {}", v.invariant)),
            None => app
                .live
                .teaching
                .checks
                .findings
                .first()
                .map(|f| format!("violation: {}", f.invariant)),
        };
        match violation {
            Some(label) if !self.violated => {
                marks.push(label);
                self.violated = true;
            }
            Some(_) => {}
            // A replay (R) starts the run again: its violation marks anew.
            None => self.violated = false,
        }
        marks
    }
}

/// A recording asked for (`--record FILE.cast`): the file, created
/// before the terminal is touched so a bad path is refused at once.
pub struct Recording {
    file: File,
    path: PathBuf,
    title: String,
}

impl Recording {
    /// Creates `path` for a recording of `title` (the command line).
    pub fn create(path: &Path, title: &str) -> io::Result<Recording> {
        Ok(Recording {
            file: File::create(path)?,
            path: path.to_path_buf(),
            title: title.to_string(),
        })
    }

    /// Starts the cast on a `width`×`height` terminal.
    pub fn start(self, width: u16, height: u16) -> io::Result<Recorder> {
        let header = CastHeader::now(width, height, &self.title);
        let cast = Cast::new(Box::new(BufWriter::new(self.file)), &header)?;
        Ok(Recorder {
            cast: Arc::new(Mutex::new(cast)),
            chapters: Chapters::default(),
            path: self.path,
            started: Instant::now(),
        })
    }
}

/// A recording under way: the cast and the chapters found so far.
pub struct Recorder {
    cast: SharedCast,
    chapters: Chapters,
    path: PathBuf,
    started: Instant,
}

impl Recorder {
    /// The cast, for the terminal's [`Screen`] to copy frames into.
    pub fn cast(&self) -> SharedCast {
        Arc::clone(&self.cast)
    }

    /// After a frame: marks the chapters `app` starts.
    pub fn after_frame(&mut self, app: &App) {
        let marks = self.chapters.look(app);
        if !marks.is_empty() {
            let now = Instant::now();
            let mut cast = lock(&self.cast);
            for label in marks {
                cast.marker(now, &label);
            }
        }
    }

    /// Ends the recording (once the terminal is restored) and says on
    /// stderr what was recorded, or why the recording stopped.
    pub fn finish(self) {
        let minutes = self.started.elapsed().as_secs_f64() / 60.0;
        match lock(&self.cast).finish(Instant::now()) {
            Ok(bytes) => eprintln!(
                "raftlab: recorded {} ({:.1} KiB over {:.1} min, {:.1} KiB a minute); play it with `asciinema play {}`",
                self.path.display(),
                bytes as f64 / 1024.0,
                minutes,
                bytes as f64 / 1024.0 / minutes.max(1.0 / 60.0),
                self.path.display()
            ),
            Err(e) => eprintln!(
                "raftlab: the recording in {} stopped: {e}",
                self.path.display()
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ratatui::Terminal;
    use ratatui::backend::CrosstermBackend;
    use serde_json::Value;

    /// A writer whose bytes the test can read afterwards.
    #[derive(Clone, Default)]
    struct Sink(Arc<Mutex<Vec<u8>>>);

    impl Write for Sink {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    impl Sink {
        fn bytes(&self) -> Vec<u8> {
            self.0.lock().unwrap().clone()
        }
        fn lines(&self) -> Vec<Value> {
            String::from_utf8(self.bytes())
                .unwrap()
                .lines()
                .map(|l| serde_json::from_str(l).expect("every line is JSON"))
                .collect()
        }
    }

    fn header(w: u16, h: u16) -> CastHeader {
        CastHeader {
            width: w,
            height: h,
            timestamp: 1_700_000_000,
            title: "raftlab class --record x.cast".into(),
            term: "xterm-256color".into(),
        }
    }

    fn s(t: f64) -> Duration {
        Duration::from_secs_f64(t)
    }

    #[test]
    fn the_file_is_asciicast_v2_with_quiet_stretches_cut() {
        let file = Sink::default();
        let mut cast = Cast::new(Box::new(file.clone()), &header(100, 30)).unwrap();
        let t0 = Instant::now();
        cast.take(b"\x1b[2Jfirst");
        cast.frame(t0, Some((100, 30)));
        cast.take("n1 ★ Leader".as_bytes());
        cast.frame(t0 + s(0.25), Some((100, 30)));
        // A minute paused: kept as two seconds.
        cast.take(b"later");
        cast.frame(t0 + s(60.25), Some((120, 40)));
        cast.marker(t0 + s(60.5), "step 2/7: wait leader within 2s");
        // A frame ending inside a character waits for the rest of it.
        let star = "★".as_bytes();
        cast.take(&star[..1]);
        cast.frame(t0 + s(61.0), Some((120, 40)));
        cast.take(&star[1..]);
        cast.frame(t0 + s(61.5), Some((120, 40)));
        // Nothing drawn: no event.
        cast.frame(t0 + s(62.0), Some((120, 40)));
        let written = cast.finish(t0 + s(63.0)).unwrap();
        assert_eq!(written, file.bytes().len() as u64);
        let lines = file.lines();
        let head = &lines[0];
        assert_eq!(head["version"], 2);
        assert_eq!(
            (head["width"].as_u64(), head["height"].as_u64()),
            (Some(100), Some(30))
        );
        assert_eq!(head["timestamp"], 1_700_000_000u64);
        assert_eq!(head["title"], "raftlab class --record x.cast");
        assert_eq!(head["env"]["TERM"], "xterm-256color");
        assert_eq!(head["idle_time_limit"], 2.0);
        let events: Vec<(f64, String, String)> = lines[1..]
            .iter()
            .map(|e| {
                let a = e.as_array().expect("an event is an array");
                assert_eq!(a.len(), 3);
                (
                    a[0].as_f64().unwrap(),
                    a[1].as_str().unwrap().to_string(),
                    a[2].as_str().unwrap().to_string(),
                )
            })
            .collect();
        let want: Vec<(f64, &str, &str)> = vec![
            (0.0, "o", "\x1b[2Jfirst"),
            (0.25, "o", "n1 ★ Leader"),
            (2.25, "r", "120x40"),
            (2.25, "o", "later"),
            (2.5, "m", "step 2/7: wait leader within 2s"),
            (3.5, "o", "★"),
            (5.0, "o", "\x1b[0m\x1b[?25h"),
        ];
        let got: Vec<(f64, &str, &str)> = events
            .iter()
            .map(|(t, k, d)| (*t, k.as_str(), d.as_str()))
            .collect();
        assert_eq!(got, want);
    }

    /// What the dashboard drew on a real crossterm backend reaches the
    /// cast byte for byte, one output event per frame.
    #[test]
    fn the_cast_holds_exactly_what_the_terminal_was_sent() {
        use crate::tui::sim::{ClockState, SimSession, TICK_WALL};
        let file = Sink::default();
        let cast: SharedCast = Arc::new(Mutex::new(
            Cast::new(Box::new(file.clone()), &header(100, 30)).unwrap(),
        ));
        let terminal_got = Sink::default();
        let screen =
            Screen::with_size(terminal_got.clone(), Some(cast.clone()), || Some((100, 30)));
        let mut term = Terminal::with_options(
            CrosstermBackend::new(screen),
            crate::tui::run::fixed_viewport(100, 30),
        )
        .unwrap();
        term.hide_cursor().unwrap();
        // As the dashboard clears the screen first (Terminal::clear also
        // asks a real terminal where its cursor is).
        ratatui::backend::Backend::clear(term.backend_mut()).unwrap();
        ratatui::backend::Backend::flush(term.backend_mut()).unwrap();
        let mut session =
            SimSession::new(crate::sim::SimOptions::default(), None, 16, "sim".into()).unwrap();
        let clock = ClockState {
            paused: false,
            speed: 1.0,
            tick_wall: TICK_WALL,
        };
        let mut app = App::new(
            session.view(clock),
            Box::new(NoDriver),
            crate::tui::app::Options::default(),
        );
        app.update(crate::tui::Action::Resize(100, 30));
        for _ in 0..3 {
            for _ in 0..20 {
                session.tick();
            }
            app.update(crate::tui::Action::View(crate::tui::NewView(
                session.view(clock),
            )));
            term.draw(|f| crate::tui::draw(&app, f)).unwrap();
        }
        lock(&cast).finish(Instant::now()).unwrap();
        let lines = file.lines();
        let output: String = lines[1..]
            .iter()
            .filter(|e| e[1] == "o")
            .map(|e| e[2].as_str().unwrap())
            .collect();
        let mut sent = terminal_got.bytes();
        sent.extend_from_slice(b"\x1b[0m\x1b[?25h");
        assert_eq!(output.as_bytes(), &sent[..]);
        // Hide, clear, three frames, the end.
        assert_eq!(lines.len() - 1, 6, "{lines:?}");
        assert!(output.contains("Leader"), "a leader after 600ms");
    }

    struct NoDriver;

    impl crate::tui::Driver for NoDriver {
        fn submit(&mut self, _: u64, _: crate::tui::Request) {}
    }

    #[test]
    fn chapters_are_the_tours_steps_and_a_violation() {
        use crate::tui::tour::{Tour, TourEvent};
        let session = crate::tui::sim::SimSession::new(
            crate::sim::SimOptions::default(),
            None,
            16,
            "sim".into(),
        )
        .unwrap();
        let mut session = session;
        let view = session.view(crate::tui::sim::ClockState {
            paused: true,
            speed: 1.0,
            tick_wall: crate::tui::sim::TICK_WALL,
        });
        let mut app = App::new(
            view,
            Box::new(NoDriver),
            crate::tui::app::Options::default(),
        );
        let tour = crate::scenario::tours::find("election").unwrap();
        let script = crate::scenario::parse(tour.text, tour.file).unwrap();
        let (go, _went) = crossbeam_channel::bounded(1);
        app.tour = Some(Tour::new("election", &script, None, go));
        let mut chapters = Chapters::default();
        assert_eq!(chapters.look(&app), Vec::<String>::new());
        let ready = |step: usize, source: &str| {
            crate::tui::Action::Tour(TourEvent::Ready {
                step,
                line: step + 2,
                source: source.into(),
            })
        };
        app.update(ready(1, "cluster 5 seed 1"));
        let total = app.tour.as_ref().unwrap().total;
        assert_eq!(
            chapters.look(&app),
            vec![format!("step 1/{total}: cluster 5 seed 1")]
        );
        // Looking again at the same step marks nothing.
        assert_eq!(chapters.look(&app), Vec::<String>::new());
        app.update(ready(2, "wait leader within 2s"));
        assert_eq!(
            chapters.look(&app),
            vec![format!("step 2/{total}: wait leader within 2s")]
        );
        // A violation in simulated mode, once; again after a replay.
        let mut status = crate::tui::sim_status::SimStatus::clone(&session.status());
        status.violation = Some(crate::sim::Violation {
            seed: 1,
            time_us: 5,
            invariant: crate::check::Invariant::ElectionSafety,
            details: "two leaders in term 2".into(),
            recent: Vec::new(),
            replay: String::new(),
        });
        let violated = Arc::new(status.clone());
        app.sim = Some(violated.clone());
        let marks = chapters.look(&app);
        assert_eq!(marks.len(), 1);
        assert!(marks[0].starts_with("violation: "), "{marks:?}");
        assert_eq!(chapters.look(&app), Vec::<String>::new());
        status.violation = None;
        app.sim = Some(Arc::new(status));
        assert_eq!(chapters.look(&app), Vec::<String>::new());
        app.sim = Some(violated);
        assert_eq!(chapters.look(&app).len(), 1);
    }
}
