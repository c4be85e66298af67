//! Hardening settings, named as the configuration catalogue names them
//! (`crates/assess/catalog/configurations.json`, the Linux entries).
//!
//! | setting | value |
//! |---|---|
//! | `sshd.Installed` | `1` when `/usr/sbin/sshd` or `/etc/ssh/sshd_config` exists, else `0` |
//! | `sshd.PermitRootLogin`, `sshd.PasswordAuthentication` | from `/etc/ssh/sshd_config` and the files it `Include`s, first value wins (as in sshd; `Match` blocks skipped); defaults `prohibit-password` and `yes`; lower case; only when sshd is installed and its configuration readable |
//! | `Firewall.Active` | `1` when ufw is enabled (`ENABLED=yes`), firewalld runs, or the nftables / iptables ruleset filters input (a rule in, or a drop policy on, an input-hook chain); `0` when none does or no firewall tooling exists; absent (with a warning) when tooling exists but the ruleset cannot be read (unprivileged) |
//! | `Updates.AutomaticSecurityUpdates` | `1` when unattended-upgrades is installed and `APT::Periodic::Unattended-Upgrade` is a non-zero number in APT's configuration, or dnf-automatic is installed with `apply_updates = yes`; else `0` |
//! | `Telnet.ServerInstalled` | `1` when a telnet server package (`telnetd`, `inetutils-telnetd`, `telnetd-ssl`, `telnet-server`) or program (`/usr/sbin/in.telnetd`, `/usr/sbin/telnetd`) is installed, or inetd/xinetd enables telnet; else `0` |
//! | `Kernel.FsSuidDumpable`, `Kernel.RandomizeVaSpace` | `/proc/sys/fs/suid_dumpable`, `/proc/sys/kernel/randomize_va_space` |

use crate::util::{Ctx, first_line, parse_env_file, run_program};
use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::time::Duration;

pub(crate) fn collect(
    ctx: &mut Ctx,
    installed: &dyn Fn(&str) -> bool,
    settings: &mut BTreeMap<String, String>,
) {
    sshd(ctx, settings);
    if let Some(v) = firewall(ctx) {
        settings.insert("Firewall.Active".into(), v.into());
    }
    let auto = automatic_updates(ctx, installed);
    settings.insert("Updates.AutomaticSecurityUpdates".into(), auto.into());
    let telnet = telnet_server(ctx, installed);
    settings.insert("Telnet.ServerInstalled".into(), telnet.into());
    for (setting, file) in [
        ("Kernel.FsSuidDumpable", "/proc/sys/fs/suid_dumpable"),
        (
            "Kernel.RandomizeVaSpace",
            "/proc/sys/kernel/randomize_va_space",
        ),
    ] {
        if let Some(v) = ctx.read_expected(file) {
            let v = first_line(&v).to_owned();
            if !v.is_empty() {
                settings.insert(setting.into(), v);
            }
        }
    }
}

// ---------------------------------------------------------------- sshd

fn sshd(ctx: &mut Ctx, settings: &mut BTreeMap<String, String>) {
    let config = ctx.path("/etc/ssh/sshd_config");
    let installed = ctx.exists("/usr/sbin/sshd") || config.exists();
    settings.insert(
        "sshd.Installed".into(),
        if installed { "1" } else { "0" }.into(),
    );
    if !installed {
        return;
    }
    let mut found = HashMap::new();
    if config.exists() {
        let Some(text) = ctx.read_path_opt(&config) else {
            return; // warned: the values are unknown, so not reported
        };
        parse_sshd(ctx, &text, 0, &mut found);
    }
    let get = |k: &str, default: &str| found.get(k).cloned().unwrap_or_else(|| default.to_owned());
    settings.insert(
        "sshd.PermitRootLogin".into(),
        get("permitrootlogin", "prohibit-password"),
    );
    settings.insert(
        "sshd.PasswordAuthentication".into(),
        get("passwordauthentication", "yes"),
    );
}

const SSHD_KEYS: [&str; 2] = ["permitrootlogin", "passwordauthentication"];

/// One sshd configuration file: keywords are case-insensitive, the first value
/// obtained wins, `Include` is processed in place (globs in lexical order, relative
/// paths under /etc/ssh), a `Match` block lasts to the end of the file it is in.
fn parse_sshd(ctx: &mut Ctx, text: &str, depth: usize, found: &mut HashMap<String, String>) {
    let mut in_match = false;
    for line in text.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let (key, rest) = match line.find(|c: char| c.is_whitespace() || c == '=') {
            Some(i) => (
                &line[..i],
                line[i..].trim_start_matches(|c: char| c.is_whitespace() || c == '='),
            ),
            None => (line, ""),
        };
        let key = key.to_ascii_lowercase();
        match key.as_str() {
            "match" => in_match = true,
            "include" if !in_match => {
                if depth >= 16 {
                    ctx.warn("sshd_config: Include nested too deeply; further includes ignored");
                    continue;
                }
                for pattern in rest.split_whitespace() {
                    let pattern = pattern.trim_matches('"');
                    let abs = if pattern.starts_with('/') {
                        pattern.to_owned()
                    } else {
                        format!("/etc/ssh/{pattern}")
                    };
                    for file in glob(ctx, &abs) {
                        if let Some(t) = ctx.read_path_opt(&file) {
                            parse_sshd(ctx, &t, depth + 1, found);
                        }
                    }
                }
            }
            k if !in_match && SSHD_KEYS.contains(&k) => {
                let value = rest
                    .split_whitespace()
                    .next()
                    .unwrap_or("")
                    .trim_matches('"');
                if !value.is_empty() && !found.contains_key(k) {
                    found.insert(k.to_owned(), value.to_ascii_lowercase());
                }
            }
            _ => {}
        }
    }
}

/// Expands a device path whose last component may hold `*` and `?` wildcards,
/// under the collection root; lexical order.
fn glob(ctx: &mut Ctx, abs: &str) -> Vec<PathBuf> {
    let (dir, pat) = abs.rsplit_once('/').unwrap_or(("", abs));
    let dir = ctx.path(if dir.is_empty() { "/" } else { dir });
    if !pat.contains(['*', '?']) {
        let p = dir.join(pat);
        return if p.exists() { vec![p] } else { Vec::new() };
    }
    ctx.list_dir(&dir)
        .into_iter()
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| !n.starts_with('.') && wildcard(pat.as_bytes(), n.as_bytes()))
                && p.is_file()
        })
        .collect()
}

fn wildcard(p: &[u8], s: &[u8]) -> bool {
    match (p.first(), s.first()) {
        (None, None) => true,
        (Some(b'*'), _) => wildcard(&p[1..], s) || (!s.is_empty() && wildcard(p, &s[1..])),
        (Some(b'?'), Some(_)) => wildcard(&p[1..], &s[1..]),
        (Some(a), Some(b)) if a == b => wildcard(&p[1..], &s[1..]),
        _ => false,
    }
}

// ---------------------------------------------------------------- firewall

enum Probe {
    Active,
    Inactive,
    Unknown,
}

fn firewall(ctx: &mut Ctx) -> Option<&'static str> {
    let mut tooling = false;
    let mut unknown = Vec::new();

    if let Some(conf) = ctx.read_opt("/etc/ufw/ufw.conf") {
        tooling = true;
        let enabled = parse_env_file(&conf)
            .iter()
            .any(|(k, v)| k == "ENABLED" && v.eq_ignore_ascii_case("yes"));
        if enabled {
            return Some("1");
        }
    }
    if ctx.exists("/etc/firewalld") || ctx.exists("/usr/sbin/firewalld") {
        tooling = true;
        if crate::util::process_running(ctx, &["firewalld"]) == Some(true) {
            return Some("1");
        }
    }
    let nft_installed = ctx.exists("/usr/sbin/nft") || ctx.exists("/sbin/nft");
    if nft_installed {
        tooling = true;
        match nft(ctx) {
            Probe::Active => return Some("1"),
            Probe::Inactive => {}
            Probe::Unknown => unknown.push("nftables"),
        }
    }
    let ipt_installed = [
        "/usr/sbin/iptables",
        "/sbin/iptables",
        "/usr/sbin/iptables-save",
    ]
    .iter()
    .any(|p| ctx.exists(p));
    if ipt_installed {
        tooling = true;
        match iptables(ctx) {
            Probe::Active => return Some("1"),
            Probe::Inactive => {}
            Probe::Unknown => unknown.push("iptables"),
        }
    }
    if !tooling {
        return Some("0");
    }
    if unknown.is_empty() {
        Some("0")
    } else {
        ctx.warn(format!(
            "could not read the {} ruleset (needs root or CAP_NET_ADMIN): Firewall.Active is not reported",
            unknown.join(" and ")
        ));
        None
    }
}

fn nft(ctx: &mut Ctx) -> Probe {
    let Some(prog) = ctx.host_program("nft") else {
        return Probe::Unknown;
    };
    match run_program(&prog, ["-j", "list", "ruleset"], Duration::from_secs(20)) {
        Ok(o) if o.success => match serde_json::from_str::<serde_json::Value>(&o.stdout) {
            Ok(v) => {
                if nft_filters_input(&v) {
                    Probe::Active
                } else {
                    Probe::Inactive
                }
            }
            Err(e) => {
                ctx.warn(format!(
                    "could not read the nftables ruleset: nft -j output: {e}"
                ));
                Probe::Unknown
            }
        },
        Ok(o) => {
            let msg = first_line(&o.stderr).to_owned();
            if !msg.to_ascii_lowercase().contains("permission") && !msg.contains("not permitted") {
                ctx.warn(format!("could not read the nftables ruleset: {msg}"));
            }
            Probe::Unknown
        }
        Err(e) => {
            ctx.warn(format!("could not read the nftables ruleset: {e}"));
            Probe::Unknown
        }
    }
}

/// Whether an `nft -j list ruleset` document filters input: a chain on the input
/// hook with a drop policy, or with at least one rule.
pub fn nft_filters_input(doc: &serde_json::Value) -> bool {
    let Some(items) = doc.get("nftables").and_then(|v| v.as_array()) else {
        return false;
    };
    let mut input_chains = Vec::new();
    for item in items {
        if let Some(c) = item.get("chain")
            && c.get("hook").and_then(|h| h.as_str()) == Some("input")
        {
            if c.get("policy").and_then(|p| p.as_str()) == Some("drop") {
                return true;
            }
            input_chains.push((
                c.get("family").cloned(),
                c.get("table").cloned(),
                c.get("name").cloned(),
            ));
        }
    }
    items.iter().filter_map(|i| i.get("rule")).any(|r| {
        input_chains.contains(&(
            r.get("family").cloned(),
            r.get("table").cloned(),
            r.get("chain").cloned(),
        ))
    })
}

fn iptables(ctx: &mut Ctx) -> Probe {
    let Some(prog) = ctx.host_program("iptables-save") else {
        return Probe::Unknown;
    };
    match run_program(&prog, ["-t", "filter"], Duration::from_secs(20)) {
        Ok(o) if o.success => {
            if iptables_filters_input(&o.stdout) {
                Probe::Active
            } else {
                Probe::Inactive
            }
        }
        Ok(o) => {
            let msg = first_line(&o.stderr).to_owned();
            if !msg.to_ascii_lowercase().contains("permission") && !msg.contains("must be root") {
                ctx.warn(format!("could not read the iptables ruleset: {msg}"));
            }
            Probe::Unknown
        }
        Err(e) => {
            ctx.warn(format!("could not read the iptables ruleset: {e}"));
            Probe::Unknown
        }
    }
}

/// Whether `iptables-save -t filter` output filters input: an INPUT policy other
/// than ACCEPT, or any rule appended to INPUT (Docker's rules live in FORWARD and
/// its own chains, so they do not count as a host firewall).
pub fn iptables_filters_input(save: &str) -> bool {
    save.lines().any(|l| {
        let l = l.trim();
        (l.starts_with(":INPUT ") && !l.starts_with(":INPUT ACCEPT")) || l.starts_with("-A INPUT ")
    })
}

// ---------------------------------------------------------------- updates

fn automatic_updates(ctx: &mut Ctx, installed: &dyn Fn(&str) -> bool) -> &'static str {
    if installed("unattended-upgrades") {
        let conf = apt_config(ctx);
        let v = conf
            .get("apt::periodic::unattended-upgrade")
            .map(|s| s.trim().to_owned())
            .unwrap_or_default();
        if v.parse::<i64>().map(|n| n != 0).unwrap_or(false) || v.eq_ignore_ascii_case("always") {
            return "1";
        }
    }
    if installed("dnf-automatic")
        && let Some(text) = ctx.read_opt("/etc/dnf/automatic.conf")
    {
        let apply = text.lines().any(|l| {
            let l = l.split('#').next().unwrap_or("").trim();
            l.split_once('=').is_some_and(|(k, v)| {
                k.trim() == "apply_updates"
                    && matches!(
                        v.trim().to_ascii_lowercase().as_str(),
                        "yes" | "true" | "1" | "on"
                    )
            })
        });
        if apply {
            return "1";
        }
    }
    "0"
}

/// APT's configuration as APT reads it: `/etc/apt/apt.conf.d/*` in lexical order
/// (names of letters, digits, `_`, `-`, `.`, without the backup suffixes APT
/// ignores), then `/etc/apt/apt.conf`; later values win; keys in lower case.
fn apt_config(ctx: &mut Ctx) -> HashMap<String, String> {
    let mut conf = HashMap::new();
    let dir = ctx.path("/etc/apt/apt.conf.d");
    let mut files: Vec<PathBuf> = ctx
        .list_dir(&dir)
        .into_iter()
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(apt_part_name_ok)
                && p.is_file()
        })
        .collect();
    files.push(ctx.path("/etc/apt/apt.conf"));
    for f in files {
        if let Some(text) = ctx.read_path_opt(&f) {
            parse_apt_conf(&text, &mut conf);
        }
    }
    conf
}

fn apt_part_name_ok(n: &str) -> bool {
    const IGNORED: [&str; 8] = [
        ".disabled",
        ".dpkg-old",
        ".dpkg-dist",
        ".dpkg-new",
        ".dpkg-tmp",
        ".bak",
        ".save",
        ".orig",
    ];
    !n.is_empty()
        && n.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'))
        && !IGNORED.iter().any(|s| n.ends_with(s))
        && !n.ends_with('~')
}

/// A small reader of APT's configuration syntax: `A::B "v";`, scopes `A { B "v"; };`,
/// list items (ignored), `//`, `#` and `/* */` comments, `#include`/`#clear` ignored.
pub fn parse_apt_conf(text: &str, conf: &mut HashMap<String, String>) {
    #[derive(Debug)]
    enum Tok {
        Word(String),
        Str(String),
        Open,
        Close,
        Semi,
    }
    let mut toks = Vec::new();
    let b: Vec<char> = text.chars().collect();
    let mut i = 0;
    let mut line_start = true;
    while i < b.len() {
        let c = b[i];
        if c == '\n' {
            line_start = true;
            i += 1;
            continue;
        }
        if c.is_whitespace() {
            i += 1;
            continue;
        }
        if c == '#' && line_start || c == '/' && b.get(i + 1) == Some(&'/') {
            while i < b.len() && b[i] != '\n' {
                i += 1;
            }
            continue;
        }
        line_start = false;
        if c == '/' && b.get(i + 1) == Some(&'*') {
            i += 2;
            while i + 1 < b.len() && !(b[i] == '*' && b[i + 1] == '/') {
                i += 1;
            }
            i += 2;
            continue;
        }
        match c {
            '{' => {
                toks.push(Tok::Open);
                i += 1;
            }
            '}' => {
                toks.push(Tok::Close);
                i += 1;
            }
            ';' => {
                toks.push(Tok::Semi);
                i += 1;
            }
            '"' => {
                let start = i + 1;
                i += 1;
                while i < b.len() && b[i] != '"' {
                    i += 1;
                }
                toks.push(Tok::Str(b[start..i.min(b.len())].iter().collect()));
                i += 1;
            }
            _ => {
                let start = i;
                while i < b.len() && !b[i].is_whitespace() && !matches!(b[i], '{' | '}' | ';' | '"')
                {
                    i += 1;
                }
                toks.push(Tok::Word(b[start..i].iter().collect()));
            }
        }
    }
    let mut stack: Vec<String> = Vec::new();
    let mut name: Option<String> = None;
    let mut value: Option<String> = None;
    let full = |stack: &[String], n: &str| {
        let mut k = stack
            .iter()
            .filter(|s| !s.is_empty())
            .cloned()
            .collect::<Vec<_>>()
            .join("::");
        if !k.is_empty() {
            k.push_str("::");
        }
        k.push_str(n);
        k.to_ascii_lowercase()
    };
    for t in toks {
        match t {
            Tok::Word(w) if name.is_none() => name = Some(w),
            Tok::Word(w) | Tok::Str(w) if name.is_some() => value = Some(w),
            Tok::Str(_) | Tok::Word(_) => {} // a list item
            Tok::Open => {
                stack.push(name.take().unwrap_or_default());
                value = None;
            }
            Tok::Close => {
                stack.pop();
                name = None;
                value = None;
            }
            Tok::Semi => {
                if let (Some(n), Some(v)) = (name.take(), value.take()) {
                    conf.insert(full(&stack, &n), v);
                }
                name = None;
                value = None;
            }
        }
    }
}

// ---------------------------------------------------------------- telnet

fn telnet_server(ctx: &mut Ctx, installed: &dyn Fn(&str) -> bool) -> &'static str {
    let packages = [
        "telnetd",
        "inetutils-telnetd",
        "telnetd-ssl",
        "telnet-server",
    ];
    if packages.iter().any(|p| installed(p))
        || ctx.exists("/usr/sbin/in.telnetd")
        || ctx.exists("/usr/sbin/telnetd")
    {
        return "1";
    }
    if let Some(inetd) = ctx.read_opt("/etc/inetd.conf")
        && inetd.lines().any(|l| {
            let l = l.trim();
            !l.starts_with('#')
                && l.split_whitespace()
                    .next()
                    .is_some_and(|s| s == "telnet" || s == "telnets")
        })
    {
        return "1";
    }
    for name in ["/etc/xinetd.d/telnet", "/etc/xinetd.d/telnet-server"] {
        if let Some(x) = ctx.read_opt(name) {
            let disabled = x.lines().any(|l| {
                let l: String = l
                    .split('#')
                    .next()
                    .unwrap_or("")
                    .split_whitespace()
                    .collect();
                l.eq_ignore_ascii_case("disable=yes")
            });
            if !disabled {
                return "1";
            }
        }
    }
    "0"
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn apt_syntax() {
        let mut c = HashMap::new();
        parse_apt_conf(
            "// comment\nAPT::Periodic::Update-Package-Lists \"1\";\nAPT::Periodic::Unattended-Upgrade \"1\";\n",
            &mut c,
        );
        assert_eq!(c["apt::periodic::unattended-upgrade"], "1");
        parse_apt_conf(
            "#clear x\nAPT {\n  Periodic {\n    Unattended-Upgrade \"0\"; /* off */\n  };\n};\nUnattended-Upgrade::Origins-Pattern { \"origin=Debian\"; };\n",
            &mut c,
        );
        assert_eq!(c["apt::periodic::unattended-upgrade"], "0");
        assert!(!c.contains_key("unattended-upgrade::origins-pattern"));
    }

    #[test]
    fn rulesets() {
        assert!(iptables_filters_input(
            "*filter\n:INPUT DROP [0:0]\n:FORWARD ACCEPT [0:0]\nCOMMIT\n"
        ));
        assert!(iptables_filters_input(
            "*filter\n:INPUT ACCEPT [0:0]\n-A INPUT -j ufw-before-input\nCOMMIT\n"
        ));
        assert!(!iptables_filters_input(
            "*filter\n:INPUT ACCEPT [0:0]\n:FORWARD DROP [0:0]\n-A FORWARD -j DOCKER-USER\nCOMMIT\n"
        ));
        let doc: serde_json::Value = serde_json::from_str(
            r#"{"nftables":[{"metainfo":{}},{"table":{"family":"inet","name":"filter"}},
            {"chain":{"family":"inet","table":"filter","name":"input","hook":"input","policy":"accept"}},
            {"rule":{"family":"inet","table":"filter","chain":"input","expr":[]}}]}"#,
        )
        .unwrap();
        assert!(nft_filters_input(&doc));
        let empty: serde_json::Value = serde_json::from_str(
            r#"{"nftables":[{"chain":{"family":"inet","table":"filter","name":"input","hook":"input","policy":"accept"}}]}"#,
        )
        .unwrap();
        assert!(!nft_filters_input(&empty));
    }

    #[test]
    fn wildcards() {
        assert!(wildcard(b"*.conf", b"10-x.conf"));
        assert!(!wildcard(b"*.conf", b"10-x.conf.bak"));
        assert!(wildcard(b"a?c", b"abc"));
    }
}
