//! Everything sm-recreate writes goes through here: data on stdout; notices, warnings, errors,
//! hints, logs and the progress bar on stderr. One place honours `-q`, colour and
//! `--log-format json`, and one place handles a closed pipe, which means "stop writing", never
//! "stop working".

use crate::cli::{ColorChoice, GlobalArgs, LogFormat};
use indicatif::{ProgressBar, ProgressStyle};
use serde::Serialize;
use std::fmt::Display;
use std::io::{self, IsTerminal, Write};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

/// `auto` colours a terminal unless `NO_COLOR` is set (https://no-color.org).
pub fn color_enabled(choice: ColorChoice, stream: &impl IsTerminal) -> bool {
    match choice {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto => {
            stream.is_terminal() && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
        }
    }
}

/// The writer every command and the logger share; cheap to clone.
#[derive(Clone)]
pub struct Output {
    inner: Arc<Inner>,
}

struct Inner {
    /// `-q`: no notices, warnings or progress; results, errors and hints still.
    quiet: bool,
    json_logs: bool,
    stdout_color: bool,
    stderr_color: bool,
    stderr_is_terminal: bool,
    stdout: Stream,
    stderr: Stream,
    /// The bar on screen, if any: cleared while anything else is written to stderr.
    bar: Mutex<Option<ProgressBar>>,
}

impl Output {
    pub fn new(global: &GlobalArgs) -> Output {
        let json_logs = global.log_format == LogFormat::Json;
        Output::with_streams(
            global.quiet > 0,
            json_logs,
            color_enabled(global.color, &io::stdout()),
            !json_logs && color_enabled(global.color, &io::stderr()),
            Stream::new(Target::Stdout),
            Stream::new(Target::Stderr),
        )
    }

    /// For an error in the command line itself, before its flags are known: JSON lines on stderr.
    pub fn json_logs_only() -> Output {
        Output::with_streams(
            false,
            true,
            false,
            false,
            Stream::new(Target::Stdout),
            Stream::new(Target::Stderr),
        )
    }

    fn with_streams(
        quiet: bool,
        json_logs: bool,
        stdout_color: bool,
        stderr_color: bool,
        stdout: Stream,
        stderr: Stream,
    ) -> Output {
        Output {
            inner: Arc::new(Inner {
                quiet,
                json_logs,
                stdout_color,
                stderr_color,
                stderr_is_terminal: matches!(stderr.target, Target::Stderr)
                    && io::stderr().is_terminal(),
                stdout,
                stderr,
                bar: Mutex::new(None),
            }),
        }
    }

    /// Colour in what goes to stdout.
    pub fn color(&self) -> bool {
        self.inner.stdout_color
    }

    /// Colour in text logs on stderr.
    pub fn stderr_color(&self) -> bool {
        self.inner.stderr_color
    }

    pub fn json_logs(&self) -> bool {
        self.inner.json_logs
    }

    /// Data (a plan, a report) on stdout. A reader that went away is not an error: nothing more
    /// is written there and the work goes on. Other failures (a full disk behind `>`) are.
    pub fn data(&self, text: &str) -> io::Result<()> {
        self.inner.stdout.write(text.as_bytes())
    }

    /// Progress and what the tool is doing; `-q` silences it.
    pub fn notice(&self, message: impl Display) {
        if !self.inner.quiet {
            self.emit(&Line::new(Level::Info, message.to_string()));
        }
    }

    /// Something worth a look that is not a failure; `-q` silences it, as it does warning logs.
    pub fn warn(&self, message: impl Display) {
        if !self.inner.quiet {
            self.emit(&Line::new(Level::Warn, message.to_string()));
        }
    }

    /// A failure, with what to do about it; never silenced.
    pub fn error(&self, message: impl Display, hint: Option<&str>) {
        let mut line = Line::new(Level::Error, message.to_string());
        line.hint = hint.map(str::to_owned);
        self.emit(&line);
    }

    /// What to do next (`hint: ...`); never silenced, since it is how a person recovers.
    pub fn hint(&self, hint: impl Display) {
        self.emit(&Line::hint(hint.to_string()));
    }

    fn emit(&self, line: &Line) {
        let text = if self.inner.json_logs {
            line.json(&crate::journal::timestamp())
        } else {
            line.text(self.inner.stderr_color)
        };
        self.write_stderr(text.as_bytes());
    }

    /// Writes to stderr around the progress bar. Failures are dropped: there is nowhere left to
    /// report them.
    fn write_stderr(&self, bytes: &[u8]) {
        let bar = self.inner.bar.lock().expect("bar lock").clone();
        let write = || {
            let _ = self.inner.stderr.write(bytes);
        };
        match bar {
            Some(bar) => bar.suspend(write),
            None => write(),
        }
    }

    /// Progress over `total` definitions: a bar on a terminal with text logs, otherwise one
    /// notice per finished definition. Dropping it clears the bar.
    pub fn progress(&self, total: usize) -> Progress {
        let inner = &self.inner;
        let bar = (inner.stderr_is_terminal && !inner.json_logs && !inner.quiet && total > 0).then(
            || {
                let bar = ProgressBar::new(total as u64);
                bar.set_style(
                    ProgressStyle::with_template(
                        "{spinner} [{elapsed_precise}] {bar:30} {pos}/{len} {msg}",
                    )
                    .expect("a valid progress template"),
                );
                bar.enable_steady_tick(std::time::Duration::from_millis(200));
                bar
            },
        );
        *inner.bar.lock().expect("bar lock") = bar.clone();
        Progress {
            out: self.clone(),
            bar,
        }
    }

    /// Where `tracing` writes: stderr, through the same closed-pipe handling and around the bar.
    pub fn log_writer(&self) -> LogWriter {
        LogWriter { out: self.clone() }
    }
}

/// Progress of a run; see [`Output::progress`].
pub struct Progress {
    out: Output,
    bar: Option<ProgressBar>,
}

impl Progress {
    /// One more definition is done; `line` renders how it ended (with or without colour).
    pub fn finished(&self, line: impl Fn(bool) -> String) {
        match &self.bar {
            Some(bar) => bar.inc(1),
            None => self.out.notice(line(self.out.stderr_color())),
        }
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
            *self.out.inner.bar.lock().expect("bar lock") = None;
        }
    }
}

/// `tracing`'s writer; see [`Output::log_writer`].
pub struct LogWriter {
    out: Output,
}

impl Write for LogWriter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.out.write_stderr(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// One standard stream, which remembers that its reader went away.
struct Stream {
    target: Target,
    closed: AtomicBool,
}

enum Target {
    Stdout,
    Stderr,
    #[cfg(test)]
    Captured(Mutex<Vec<u8>>),
    /// A pipe whose reader is gone, counting the writes that reached it.
    #[cfg(test)]
    Gone(std::sync::atomic::AtomicUsize),
}

impl Stream {
    fn new(target: Target) -> Stream {
        Stream {
            target,
            closed: AtomicBool::new(false),
        }
    }

    fn write(&self, bytes: &[u8]) -> io::Result<()> {
        if self.closed.load(Ordering::SeqCst) {
            return Ok(());
        }
        let written = match &self.target {
            Target::Stdout => write_flushed(&mut io::stdout().lock(), bytes),
            Target::Stderr => write_flushed(&mut io::stderr().lock(), bytes),
            #[cfg(test)]
            Target::Captured(buffer) => {
                buffer.lock().unwrap().extend_from_slice(bytes);
                Ok(())
            }
            #[cfg(test)]
            Target::Gone(attempts) => {
                attempts.fetch_add(1, Ordering::SeqCst);
                Err(io::ErrorKind::BrokenPipe.into())
            }
        };
        match written {
            Err(err) if err.kind() == io::ErrorKind::BrokenPipe => {
                self.closed.store(true, Ordering::SeqCst);
                Ok(())
            }
            other => other,
        }
    }
}

fn write_flushed(stream: &mut impl Write, bytes: &[u8]) -> io::Result<()> {
    stream.write_all(bytes)?;
    stream.flush()
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "UPPERCASE")]
enum Level {
    Info,
    Warn,
    Error,
}

/// One message for stderr: what happened and, optionally, what to do about it.
#[derive(Debug, Serialize)]
struct Line {
    #[serde(skip_serializing_if = "Option::is_none")]
    message: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    hint: Option<String>,
    #[serde(skip)]
    level: Level,
}

/// A line in the shape of `tracing-subscriber`'s JSON logs, so one parser reads all of stderr.
#[derive(Serialize)]
struct JsonLine<'a> {
    timestamp: &'a str,
    level: Level,
    fields: &'a Line,
    target: &'static str,
}

impl Line {
    fn new(level: Level, message: String) -> Line {
        Line {
            message: Some(message),
            hint: None,
            level,
        }
    }

    fn hint(hint: String) -> Line {
        Line {
            message: None,
            hint: Some(hint),
            level: Level::Info,
        }
    }

    /// As people read it: `error: ...`, `warning: ...` or the notice itself, then `hint: ...`.
    fn text(&self, color: bool) -> String {
        let paint = |code: &str, text: &str| {
            if color {
                format!("\x1b[{code}m{text}\x1b[0m")
            } else {
                text.to_owned()
            }
        };
        let mut text = String::new();
        if let Some(message) = &self.message {
            match self.level {
                Level::Info => {}
                Level::Warn => text.push_str(&format!("{} ", paint("1;33", "warning:"))),
                Level::Error => text.push_str(&format!("{} ", paint("1;31", "error:"))),
            }
            text.push_str(message);
            text.push('\n');
        }
        if let Some(hint) = &self.hint {
            text.push_str(&format!("{} {hint}\n", paint("1;36", "hint:")));
        }
        text
    }

    /// As log pipelines read it: one JSON object on one line.
    fn json(&self, timestamp: &str) -> String {
        let mut text = serde_json::to_string(&JsonLine {
            timestamp,
            level: self.level,
            fields: self,
            target: "sm_recreate",
        })
        .expect("a line serializes");
        text.push('\n');
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn captured(quiet: bool, json_logs: bool) -> Output {
        Output::with_streams(
            quiet,
            json_logs,
            false,
            false,
            Stream::new(Target::Captured(Mutex::default())),
            Stream::new(Target::Captured(Mutex::default())),
        )
    }

    fn text_of(stream: &Stream) -> String {
        match &stream.target {
            Target::Captured(buffer) => String::from_utf8(buffer.lock().unwrap().clone()).unwrap(),
            _ => unreachable!("tests capture"),
        }
    }

    fn stderr_of(out: &Output) -> String {
        text_of(&out.inner.stderr)
    }

    /// Every kind of line once, as a run that needs a person ends.
    fn write_every_kind(out: &Output) {
        out.notice("Run 20261130T042231Z-1a2b: recreating 2 definition(s) in account 123456789012");
        out.warn("Interrupted: 1 definition(s) not started were left as they are");
        out.error(
            "model-bias mb (us-east-1) needs manual action: sm-recreate --state-dir /s resume 20261130T042231Z-1a2b",
            None,
        );
        out.error(
            "state directory /s is locked by another sm-recreate (pid 42); wait for it to finish, or use another --state-dir",
            Some("only one apply, resume or restore at a time per state directory"),
        );
        out.hint(
            "to finish or roll back, run `sm-recreate --state-dir /s resume 20261130T042231Z-1a2b`",
        );
    }

    #[test]
    fn stderr_lines_read_as_errors_warnings_and_hints() {
        let out = captured(false, false);
        write_every_kind(&out);
        insta::assert_snapshot!(stderr_of(&out));
    }

    #[test]
    fn quiet_keeps_errors_and_hints_only() {
        let out = captured(true, false);
        write_every_kind(&out);
        out.progress(3)
            .finished(|_| "recreated data-quality dq (us-east-1)".to_owned());
        insta::assert_snapshot!(stderr_of(&out));
    }

    #[test]
    fn with_json_logs_every_stderr_line_is_a_json_object() {
        let out = captured(false, true);
        write_every_kind(&out);
        out.progress(1)
            .finished(|_| "recreated data-quality dq (us-east-1)".to_owned());
        out.log_writer()
            .write_all(b"{\"timestamp\":\"t\",\"level\":\"WARN\",\"fields\":{\"message\":\"m\"},\"target\":\"sm_recreate\"}\n")
            .unwrap();
        let text = stderr_of(&out);
        let mut shapes = Vec::new();
        for line in text.lines() {
            let mut value: serde_json::Value = serde_json::from_str(line)
                .unwrap_or_else(|e| panic!("not a JSON object ({e}): {line}"));
            assert!(value["timestamp"].is_string(), "{line}");
            value["timestamp"] = "[timestamp]".into();
            shapes.push(value);
        }
        insta::assert_json_snapshot!(shapes);
    }

    #[test]
    fn a_reader_that_went_away_is_not_an_error_and_is_not_written_to_again() {
        let stream = Stream::new(Target::Gone(Default::default()));
        stream
            .write(b"report\n")
            .expect("a closed pipe is not an error");
        stream
            .write(b"more\n")
            .expect("a closed pipe is not an error");
        let Target::Gone(attempts) = &stream.target else {
            unreachable!()
        };
        assert_eq!(attempts.load(Ordering::SeqCst), 1);
    }
}
