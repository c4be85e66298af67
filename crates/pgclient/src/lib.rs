//! What every user of the synchronous `postgres` client in Posture shares (the state
//! store, `store::postgres`, and the identity registry and shared rate limits,
//! `identity::pg`): an error's whole story for messages ([`describe`]), URLs and
//! messages without the password ([`redact_url`], [`passwords_in`]), and the rule that
//! the synchronous client never blocks an async runtime's worker thread
//! ([`off_runtime`]).

/// An error's whole story: the server's message, SQLSTATE, detail and hint, or the
/// client's error and its causes (the `postgres` error alone says only "db error").
pub fn describe(e: &postgres::Error) -> String {
    if let Some(db) = e.as_db_error() {
        let mut s = format!("{} ({})", db.message(), db.code().code());
        if let Some(detail) = db.detail() {
            s.push_str(&format!("; {detail}"));
        }
        if let Some(hint) = db.hint() {
            s.push_str(&format!("; hint: {hint}"));
        }
        return s;
    }
    let mut s = e.to_string();
    let mut cause = std::error::Error::source(e);
    while let Some(c) = cause {
        let text = c.to_string();
        if !s.contains(&text) {
            s.push_str(&format!(": {text}"));
        }
        cause = c.source();
    }
    s
}

/// `url` with its password (in the user-info part or a `password=` parameter)
/// replaced by `***`, for messages and logs.
pub fn redact_url(url: &str) -> String {
    let mut out = url.to_owned();
    if let Some(scheme_end) = out.find("://") {
        let start = scheme_end + 3;
        let end = out[start..]
            .find(['/', '?', '#'])
            .map_or(out.len(), |i| start + i);
        if let Some(at) = out[start..end].rfind('@')
            && let Some(colon) = out[start..start + at].find(':')
        {
            out.replace_range(start + colon + 1..start + at, "***");
        }
    }
    let mut redacted = String::with_capacity(out.len());
    let mut rest = out.as_str();
    while let Some(i) = rest.to_ascii_lowercase().find("password=") {
        let value = i + "password=".len();
        redacted.push_str(&rest[..value]);
        redacted.push_str("***");
        let end = rest[value..]
            .find(['&', ' ', '#'])
            .map_or(rest.len(), |j| value + j);
        rest = &rest[end..];
    }
    redacted.push_str(rest);
    redacted
}

/// The passwords written in `url` (user-info `user:password@` or `password=`), raw and
/// percent-decoded, to scrub from messages that may quote them (a parse error's text).
pub fn passwords_in(url: &str) -> Vec<String> {
    let redacted = redact_url(url);
    // Walk both strings: every `***` of the redacted one stands for a span of the original.
    let mut found = Vec::new();
    let (mut o, mut r) = (0, 0);
    let (ob, rb) = (url.as_bytes(), redacted.as_bytes());
    while r < rb.len() {
        if rb[r..].starts_with(b"***") && !ob[o..].starts_with(b"***") {
            let next = &redacted[r + 3..];
            let stop = next.chars().next();
            let end = match stop {
                Some(c) => url[o..].find(c).map_or(url.len(), |j| o + j),
                None => url.len(),
            };
            found.push(url[o..end].to_owned());
            o = end;
            r += 3;
        } else {
            o += 1;
            r += 1;
        }
    }
    // A message may show the password decoded as well as it was written.
    let decoded: Vec<String> = found
        .iter()
        .map(|p| model::percent::decode(p))
        .filter(|d| !found.contains(d))
        .collect();
    found.extend(decoded);
    found.retain(|p| !p.is_empty());
    found
}

/// Runs `f` where the synchronous client may block: directly on an ordinary thread; on
/// a thread driving a tokio runtime (the server and the identity are called from async
/// code), through `block_in_place` (multi-threaded runtime) or on a scoped thread
/// (current-thread runtime). `postgres::Client` drives its own runtime and panics inside
/// another's.
pub fn off_runtime<T: Send>(f: impl FnOnce() -> T + Send) -> T {
    use tokio::runtime::{Handle, RuntimeFlavor};
    match Handle::try_current() {
        Err(_) => f(),
        Ok(h) if h.runtime_flavor() == RuntimeFlavor::MultiThread => tokio::task::block_in_place(f),
        Ok(_) => std::thread::scope(|s| {
            s.spawn(f)
                .join()
                .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_are_redacted_from_urls() {
        assert_eq!(
            redact_url("postgres://posture:s3cr%40t@db.example:5432/posture?sslmode=disable"),
            "postgres://posture:***@db.example:5432/posture?sslmode=disable"
        );
        assert_eq!(
            redact_url("postgresql://u@h/d?password=hunter2&application_name=x"),
            "postgresql://u@h/d?password=***&application_name=x"
        );
        assert_eq!(
            redact_url("host=h user=u password=hunter2 dbname=d"),
            "host=h user=u password=*** dbname=d"
        );
        assert_eq!(redact_url("postgres://h/d"), "postgres://h/d");
        assert_eq!(
            passwords_in("postgres://u:s3cr%40t@h/d"),
            ["s3cr%40t", "s3cr@t"]
        );
    }
}
