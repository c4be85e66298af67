//! Log set-up. Text logs pass through [`EscapingWriter`]: request values (a `$filter`
//! holding `%0A`, a path with `\r`) are written into log lines, and a raw line break
//! would let a caller forge a line.

use std::io::{self, Write};

/// Installs the process's subscriber: text (escaped) or JSON lines on stderr.
pub fn init(filter: &str, json: bool) {
    let filter = tracing_subscriber::EnvFilter::try_new(filter)
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt().with_env_filter(filter);
    if json {
        // serde escapes control characters in JSON strings.
        builder.json().with_writer(io::stderr).init();
    } else {
        builder
            .with_ansi(false)
            .with_writer(|| EscapingWriter(io::stderr()))
            .init();
    }
}

/// Writes each formatted event with every control character but the event's final
/// newline escaped (`\n`, `\r`, `\t`, `\u{1b}`...), so one event is one line.
pub struct EscapingWriter<W>(pub W);

impl<W: Write> Write for EscapingWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.write_all(&escape_event(buf))?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.0.flush()
    }
}

/// `buf` with control characters escaped, keeping one trailing newline.
pub fn escape_event(buf: &[u8]) -> Vec<u8> {
    let (body, newline) = match buf.strip_suffix(b"\n") {
        Some(body) => (body, true),
        None => (buf, false),
    };
    let text = String::from_utf8_lossy(body);
    let mut out = String::with_capacity(text.len() + 1);
    for c in text.chars() {
        match c {
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c.is_control() => out.push_str(&c.escape_unicode().to_string()),
            c => out.push(c),
        }
    }
    if newline {
        out.push('\n');
    }
    out.into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_forged_line_stays_inside_its_event() {
        let event =
            b"INFO request refused reason=bad $filter x\nERROR forged admin login\r\x1b[2J\n";
        let escaped = String::from_utf8(escape_event(event)).unwrap();
        assert_eq!(escaped.matches('\n').count(), 1, "{escaped}");
        assert!(escaped.ends_with('\n'));
        assert!(
            escaped.contains("x\\nERROR forged admin login\\r\\u{1b}[2J"),
            "{escaped}"
        );
        assert_eq!(escape_event(b"plain line\n"), b"plain line\n");
    }

    #[test]
    fn the_writer_escapes_what_the_formatter_writes() {
        let mut sink = EscapingWriter(Vec::new());
        sink.write_all(b"a\nb\n").unwrap();
        assert_eq!(sink.0, b"a\\nb\n");
    }
}
