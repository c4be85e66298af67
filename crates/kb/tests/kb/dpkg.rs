//! `kb::dpkg` against the real `dpkg --compare-versions` on this machine.
//!
//! Each question is one dpkg call: our order gives the relation (`lt`, `eq`
//! or `gt`) and dpkg must confirm it (exit 0). Calls run in parallel worker
//! threads (one `dpkg` process per call, spawned directly, no shell). See
//! [`dpkg_order_agrees_with_dpkg`] for the direct and chained checks and
//! their environment knobs. Skipped, with a note, when `dpkg` is not
//! installed.

use std::cmp::Ordering;
use std::process::{Command, Stdio};
use std::time::Instant;

use kb::dpkg::{self, DpkgVersion};

use crate::refs::{Rng, ord_name, parallel, tool_works, workers};

fn dpkg_present() -> bool {
    let works = tool_works("dpkg", &["--version"]).then_some(());
    testkit::require_tool(
        "dpkg (the dpkg reference comparison)",
        "apt-get install -y dpkg",
        works,
    )
    .is_some()
}

/// Hand-picked versions around every rule (all valid for dpkg).
const EDGE: &[&str] = &[
    "0",
    "00",
    "1",
    "01",
    "9",
    "10",
    "1.0",
    "1.00",
    "1.0.0",
    "1.0-0",
    "1.0-1",
    "1.0-01",
    "1.0~",
    "1.0~~",
    "1.0~~a",
    "1.0~rc1",
    "1.0~rc1-1",
    "1.0+",
    "1.0.",
    "1.0a",
    "1.0A",
    "1.0Z",
    "1.0z",
    "1.0+dfsg",
    "1.0+dfsg-1",
    "1:1.0",
    "0:1.0",
    "01:1.0",
    "2:0",
    "1.0-1~",
    "1.0-1+b1",
    "1.0-1.1",
    "1.0-1ubuntu1",
    "1.0-0ubuntu0.1",
    "a",
    "A",
    "1a",
    "1-1-1",
    "1.0-1-1",
    "~1",
    "1~",
    "1:2:3",
    "1:2:3-4",
    "99999999999999999999",
    "99999999999999999998",
    "000000000000000000001",
    "2.36-9+deb12u3",
    "2.36-9+deb12u10",
    "3.0.11-1~deb12u2",
    "3.0.13-1~deb12u1",
    "1:9.6p1-3ubuntu13.2",
    "1:9.6p1-3ubuntu13.3",
    "7.88.1-10+deb12u5",
    "1.2.3+really1.2.2-1",
    "5.2.15-2+b2",
    "2.37.2-4ubuntu3.3",
    "1:2.37.2-4ubuntu3.3",
];

fn upstream(r: &mut Rng, colon: bool, hyphen: bool) -> String {
    let mut s = if r.chance(0.93) {
        r.digits()
    } else {
        r.letters("abcxyzABZ", 2)
    };
    let mut seps = String::from(".+~");
    if colon {
        seps.push(':');
    }
    if hyphen {
        seps.push('-');
    }
    for _ in 0..r.below(6) {
        match r.below(10) {
            0..=3 => {
                s.push(r.pick_char(&seps));
                s.push_str(&r.digits());
            }
            4 | 5 => s.push_str(&r.letters("abcdfgprsuzABDZ", 3)),
            6 => s.push('~'),
            7 => s.push_str(r.pick(&["+dfsg", "+ds1", "~rc", "~beta", ".git", "+really"])),
            8 => {
                s.push(r.pick_char(&seps));
                s.push_str(&r.letters("abpz", 2));
            }
            _ => s.push(r.pick_char(&seps)),
        }
    }
    s
}

fn revision(r: &mut Rng) -> String {
    let mut s = String::new();
    for _ in 0..1 + r.below(4) {
        match r.below(7) {
            0..=2 => s.push_str(&r.digits()),
            3 => s.push_str(r.pick(&["ubuntu", "deb", "+deb12u", "~deb11u", "+b", "build"])),
            4 => s.push(r.pick_char(".+~")),
            5 => s.push_str(&r.letters("abcxyzAZ", 2)),
            _ => s.push('~'),
        }
    }
    s
}

fn version(r: &mut Rng) -> String {
    let epoch = r.chance(0.2);
    let rev = r.chance(0.7);
    let mut s = String::new();
    if epoch {
        s.push_str(r.pick(&["0", "1", "2", "01", "00", "10", "3"]));
        s.push(':');
    }
    s.push_str(&upstream(r, epoch, rev));
    if rev {
        s.push('-');
        s.push_str(&revision(r));
    }
    s
}

fn mutate(r: &mut Rng, v: &str) -> String {
    let mut c: Vec<char> = v.chars().collect();
    let i = r.below(c.len() + 1);
    match r.below(9) {
        0 => {
            if let Some(ch) = c.get_mut(i) {
                if ch.is_ascii_digit() {
                    *ch = r.pick_char("0123456789");
                } else if ch.is_ascii_alphabetic() {
                    *ch = r.pick_char("abzAZ");
                }
            }
        }
        1 => c.insert(i, '~'),
        2 => c.insert(i, r.pick_char("0123456789")),
        3 => {
            if i < c.len() && c.len() > 1 {
                c.remove(i);
            }
        }
        4 => c.extend(
            r.pick(&["~", ".0", "0", "+", "a", "-1", "~~", ".", "+b1"])
                .chars(),
        ),
        5 => c.insert(i, r.pick_char(".+abZ")),
        6 => return format!("{}:{v}", r.pick(&["1", "0", "2"])),
        7 => c.insert(i, '0'),
        _ => {
            if let Some(ch) = c.get_mut(i)
                && ch.is_ascii_alphabetic()
            {
                *ch = if ch.is_ascii_lowercase() {
                    ch.to_ascii_uppercase()
                } else {
                    ch.to_ascii_lowercase()
                };
            }
        }
    }
    c.into_iter().collect()
}

/// Usable as a dpkg argument and valid for dpkg (by our parser, which the
/// validity test checks against dpkg).
fn usable(v: &str) -> bool {
    !v.starts_with('-') && DpkgVersion::parse(v).is_ok()
}

fn pairs(n: usize) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = Vec::with_capacity(n);
    for a in EDGE {
        for b in EDGE {
            out.push((a.to_string(), b.to_string()));
        }
    }
    let mut r = Rng::new(0x00d9_c0de);
    while out.len() < n {
        let a = version(&mut r);
        let b = if r.chance(0.55) {
            let mut b = mutate(&mut r, &a);
            if r.chance(0.3) {
                b = mutate(&mut r, &b);
            }
            b
        } else {
            version(&mut r)
        };
        if usable(&a) && usable(&b) {
            out.push((a, b));
        }
    }
    out.truncate(n.max(EDGE.len() * EDGE.len()));
    out
}

enum Verdict {
    Agree,
    Disagree,
    Failed(String),
}

fn dpkg_confirms(a: &str, op: &str, b: &str) -> Verdict {
    let status = Command::new("dpkg")
        .args(["--compare-versions", a, op, b])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
    match status.map(|s| s.code()) {
        Ok(Some(0)) => Verdict::Agree,
        Ok(Some(1)) => Verdict::Disagree,
        Ok(code) => Verdict::Failed(format!("dpkg exit {code:?}")),
        Err(e) => Verdict::Failed(e.to_string()),
    }
}

fn op(o: Ordering) -> &'static str {
    match o {
        Ordering::Less => "lt",
        Ordering::Equal => "eq",
        Ordering::Greater => "gt",
    }
}

fn env_count(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(default)
}

/// Checks `relations[i]` for `pairs[i]` with one dpkg call each, in parallel;
/// returns the disagreements.
fn confirm_all(pairs: &[(String, String)], relations: &[Ordering]) -> Vec<String> {
    let jobs: Vec<usize> = (0..pairs.len()).collect();
    let verdicts = parallel(&jobs, workers(), |&i| {
        let (a, b) = &pairs[i];
        dpkg_confirms(a, op(relations[i]), b)
    });
    let mut bad = Vec::new();
    for (i, v) in verdicts.iter().enumerate() {
        let (a, b) = &pairs[i];
        match v {
            Verdict::Agree => {}
            Verdict::Disagree => bad.push(format!(
                "{a:?} vs {b:?}: ours {}, dpkg disagrees",
                ord_name(relations[i])
            )),
            Verdict::Failed(e) => bad.push(format!("{a:?} vs {b:?}: {e}")),
        }
    }
    bad
}

/// Two checks against the real dpkg, both with one `dpkg --compare-versions`
/// process per question (the binary has no batch mode):
///
/// 1. direct: `KB_DPKG_DIRECT_PAIRS` pairs (default 10,000: every edge x
///    edge pair plus random and mutated pairs), each confirmed by dpkg;
/// 2. chain: a pool of `KB_DPKG_CHAIN` versions (default 10,000) sorted by
///    our order; dpkg confirms every adjacent relation (`lt` or `eq`). As
///    dpkg's order is a total preorder, that fixes dpkg's verdict on every
///    pair of the pool (~50 million); `KB_DPKG_SAMPLED_PAIRS` random pairs
///    of the pool (default 100,000) are then compared with our `compare`
///    called directly on the two strings.
///
/// `KB_DPKG_DIRECT_PAIRS=100000` runs 100,000 direct calls instead (about
/// 2-3 minutes on two cores).
#[test]
fn dpkg_order_agrees_with_dpkg() {
    if !dpkg_present() {
        return;
    }
    let direct_n = env_count("KB_DPKG_DIRECT_PAIRS", 10_000);
    let chain_n = env_count("KB_DPKG_CHAIN", 10_000);
    let sampled_n = env_count("KB_DPKG_SAMPLED_PAIRS", 100_000);

    // 1. Direct pairs.
    let pairs = pairs(direct_n);
    let ours: Vec<Ordering> = pairs.iter().map(|(a, b)| dpkg::compare(a, b)).collect();
    let t1 = Instant::now();
    let bad = confirm_all(&pairs, &ours);
    let direct_time = t1.elapsed();
    let less = ours.iter().filter(|o| o.is_lt()).count();
    let equal = ours.iter().filter(|o| o.is_eq()).count();
    eprintln!(
        "dpkg direct: {} pairs ({} edge x edge; {less} lt / {equal} eq / {} gt), one dpkg call each on {} workers, {direct_time:.1?}; {} disagreements",
        pairs.len(),
        EDGE.len() * EDGE.len(),
        pairs.len() - less - equal,
        workers(),
        bad.len()
    );
    assert!(
        bad.is_empty(),
        "{} disagreements, first: {:#?}",
        bad.len(),
        &bad[..bad.len().min(20)]
    );

    // 2. Chain over a pool of versions, many of them near neighbours.
    let mut r = Rng::new(0x000c_4a1e);
    let mut pool: Vec<String> = EDGE.iter().map(|s| s.to_string()).collect();
    let mut seen: std::collections::HashSet<String> = pool.iter().cloned().collect();
    while pool.len() < chain_n.max(2) {
        let v = if r.chance(0.6) && !pool.is_empty() {
            let base = pool[r.below(pool.len())].clone();
            mutate(&mut r, &base)
        } else {
            version(&mut r)
        };
        if usable(&v) && seen.insert(v.clone()) {
            pool.push(v);
        }
    }
    pool.sort_by(|a, b| dpkg::compare(a, b));
    let chain: Vec<(String, String)> = pool
        .windows(2)
        .map(|w| (w[0].clone(), w[1].clone()))
        .collect();
    let rel: Vec<Ordering> = chain.iter().map(|(a, b)| dpkg::compare(a, b)).collect();
    assert!(rel.iter().all(|o| o.is_le()), "our order sorted the pool");
    let t2 = Instant::now();
    let bad = confirm_all(&chain, &rel);
    let chain_time = t2.elapsed();
    assert!(
        bad.is_empty(),
        "{} chain disagreements, first: {:#?}",
        bad.len(),
        &bad[..bad.len().min(20)]
    );
    // dpkg's verdict for any two pool members follows from the ranks.
    let mut rank = vec![0usize; pool.len()];
    for i in 1..pool.len() {
        rank[i] = rank[i - 1] + usize::from(rel[i - 1].is_lt());
    }
    let mut mismatches = Vec::new();
    for _ in 0..sampled_n {
        let (i, j) = (r.below(pool.len()), r.below(pool.len()));
        let dpkg_verdict = rank[i].cmp(&rank[j]);
        let o = dpkg::compare(&pool[i], &pool[j]);
        if o != dpkg_verdict {
            mismatches.push(format!(
                "{:?} vs {:?}: ours {}, dpkg {}",
                pool[i],
                pool[j],
                ord_name(o),
                ord_name(dpkg_verdict)
            ));
        }
    }
    let classes = rank.last().map_or(0, |r| r + 1);
    eprintln!(
        "dpkg chain: {} versions ({classes} distinct in dpkg's order) confirmed by {} dpkg calls in {chain_time:.1?}; {} random pairs of the pool compared: {} disagreements ({} pairs fixed by the chain)",
        pool.len(),
        chain.len(),
        sampled_n,
        mismatches.len(),
        pool.len() * (pool.len() - 1) / 2
    );
    assert!(
        mismatches.is_empty(),
        "{:#?}",
        &mismatches[..mismatches.len().min(20)]
    );
    assert!(pairs.len() + sampled_n >= 100_000);
}

#[test]
fn dpkg_refuses_what_our_parser_refuses() {
    if !dpkg_present() {
        return;
    }
    // Strings starting with `-` are left out: dpkg reads them as options.
    let cases = [
        "1 2",
        ":1",
        "a:1",
        "1a:1",
        "2147483648:1",
        "2147483647:1",
        "1:",
        "1.0-",
        "1:-1",
        "abc",
        "1.0_1",
        "1.0-1_2",
        "+1:2",
        " 1.0 ",
        "\t1.0",
        "1:2:3",
        "~1",
        "1.0-1:2",
        "1.0 -1",
        "1::",
        "1:0:",
        "0:",
        "1.0--",
        "1.0-1-",
        "\u{e9}1",
        "1.0-\u{e9}",
        "01:1",
        "1:1 ",
        "1:a",
        "1:~",
        "1:+",
        "1.0-~",
        "1.0-+",
        "1.0-.",
    ];
    let mut bad = Vec::new();
    for s in cases {
        let ours = DpkgVersion::parse(s);
        let code = Command::new("dpkg")
            .args(["--compare-versions", s, "eq", "1"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .ok()
            .and_then(|st| st.code());
        let dpkg_refuses = code == Some(2);
        if ours.is_err() != dpkg_refuses {
            bad.push(format!("{s:?}: ours {ours:?}, dpkg exit {code:?}"));
        }
    }
    assert!(bad.is_empty(), "{bad:#?}");
}
