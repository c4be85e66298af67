//! `kb::rpm` against rpm's own comparison on this machine: one `rpm --eval`
//! process runs a Lua loop calling `rpm.vercmp(a, b)` (rpm's `rpmverCmp` on
//! parsed EVRs) over a file of pairs. Skipped, with a note, when `rpm` is
//! not installed (Debian: `apt-get install -y rpm`).

use std::cmp::Ordering;
use std::process::Command;
use std::time::Instant;

use kb::rpm;

use crate::refs::{Rng, ord_name, scratch, tool_works};

const EDGE: &[&str] = &[
    "1",
    "1.0",
    "1.0-1",
    "1.0-1.el9",
    "1.0-2.el9",
    "1.0~rc1",
    "1.0~rc1-1",
    "1.0^git1",
    "1.0^git1-1",
    "1.0^",
    "1.0~",
    "1.0-~",
    "1.0-^",
    "1..0",
    "1_0",
    "1.0a",
    "1.a",
    "a",
    "A",
    "Z",
    "z",
    "1.0.0",
    "0:1.0",
    ":1.0",
    "1:1.0",
    "01:1.0",
    "2:0",
    "1.0+",
    "1.0+b",
    "~",
    "^",
    "_",
    "0",
    "00",
    "007",
    "1.01",
    "1.1",
    "2.0-1.fc38",
    "3.0.7-24.el9",
    "3.0.7-25.el9_2",
    "3.0.7-24.el9_2.1",
    "1:3.0.7-24.el9",
    "1.0-1-1",
    "1.0-",
    "-1",
    "1:",
    ":",
    "10.0",
    "9.0",
    "1.0a1",
    "1.0alpha",
    "1.0ALPHA",
    "12345678901234567890",
    "12345678901234567891",
    "2.02.187-15.el8",
];

fn part(r: &mut Rng, release: bool) -> String {
    let mut s = String::new();
    for i in 0..1 + r.below(5) {
        match r.below(10) {
            0..=3 => s.push_str(&r.digits()),
            4 | 5 => s.push_str(&r.letters("abcelfzAZ", 3)),
            6 => s.push(r.pick_char("~^")),
            7 => s.push_str(r.pick(&[".el9", ".fc38", "_2", ".git", "+b", "~rc", "^post"])),
            _ => {
                if i > 0 {
                    s.push(r.pick_char("._+~^"));
                }
            }
        }
        if i > 0 && r.chance(0.4) {
            s.push(r.pick_char(if release { "._+" } else { "._+-" }));
        }
    }
    if s.is_empty() {
        s.push('1');
    }
    s
}

fn evr(r: &mut Rng) -> String {
    let mut s = String::new();
    if r.chance(0.2) {
        s.push_str(r.pick(&["0", "1", "2", "01", "", "10"]));
        s.push(':');
    }
    s.push_str(&part(r, false));
    if r.chance(0.6) {
        s.push('-');
        s.push_str(&part(r, true));
    }
    s
}

fn mutate(r: &mut Rng, v: &str) -> String {
    let mut c: Vec<char> = v.chars().collect();
    let i = r.below(c.len() + 1);
    match r.below(6) {
        0 => c.insert(i, r.pick_char("~^.0a_")),
        1 => {
            if i < c.len() && c.len() > 1 {
                c.remove(i);
            }
        }
        2 => c.extend(
            r.pick(&["~", ".0", "0", "^1", "a", "-1", "_1", "."])
                .chars(),
        ),
        3 => {
            if let Some(ch) = c.get_mut(i)
                && ch.is_ascii_digit()
            {
                *ch = r.pick_char("0123456789");
            }
        }
        4 => c.insert(i, '0'),
        _ => return format!("{}:{v}", r.pick(&["1", "0", ""])),
    }
    c.into_iter().collect()
}

#[test]
fn rpm_order_agrees_with_rpm_vercmp() {
    let works = tool_works("rpm", &["--version"]).then_some(());
    if testkit::require_tool(
        "rpm (the rpm reference comparison)",
        "apt-get install -y rpm",
        works,
    )
    .is_none()
    {
        return;
    }
    let mut pairs: Vec<(String, String)> = Vec::new();
    for a in EDGE {
        for b in EDGE {
            pairs.push((a.to_string(), b.to_string()));
        }
    }
    let mut r = Rng::new(0x0072_706d);
    while pairs.len() < 20_000 {
        let a = evr(&mut r);
        let b = if r.chance(0.5) {
            mutate(&mut r, &a)
        } else {
            evr(&mut r)
        };
        // rpm.vercmp refuses empty strings; tabs and newlines would break the file.
        if !a.is_empty() && !b.is_empty() {
            pairs.push((a, b));
        }
    }
    let input = scratch("rpm-pairs.txt");
    let output = scratch("rpm-results.txt");
    let body: String = pairs.iter().map(|(a, b)| format!("{a}\t{b}\n")).collect();
    std::fs::write(&input, body).expect("write pairs");
    let lua = format!(
        "%{{lua: local out = io.open(\"{}\", \"w\") for line in io.lines(\"{}\") do local a, b = line:match(\"^([^\\t]*)\\t([^\\t]*)$\") local ok, r = pcall(rpm.vercmp, a, b) if ok then out:write(r, \"\\n\") else out:write(\"E\\n\") end end out:close()}}",
        output.display(),
        input.display()
    );
    let t0 = Instant::now();
    let status = Command::new("rpm")
        .arg("--eval")
        .arg(&lua)
        .output()
        .expect("run rpm");
    let elapsed = t0.elapsed();
    assert!(
        status.status.success(),
        "rpm failed: {}",
        String::from_utf8_lossy(&status.stderr)
    );
    let results = std::fs::read_to_string(&output).expect("read results");
    let _ = std::fs::remove_file(&input);
    let _ = std::fs::remove_file(&output);
    let lines: Vec<&str> = results.lines().collect();
    assert_eq!(lines.len(), pairs.len(), "one result per pair");
    let mut bad = Vec::new();
    for ((a, b), line) in pairs.iter().zip(&lines) {
        let theirs = match *line {
            "-1" => Ordering::Less,
            "0" => Ordering::Equal,
            "1" => Ordering::Greater,
            other => {
                bad.push(format!("{a:?} vs {b:?}: rpm said {other:?}"));
                continue;
            }
        };
        let ours = rpm::compare(a, b);
        if ours != theirs {
            bad.push(format!(
                "{a:?} vs {b:?}: ours {}, rpm {}",
                ord_name(ours),
                ord_name(theirs)
            ));
        }
    }
    eprintln!(
        "rpm reference: {} pairs checked with one `rpm --eval` (Lua rpm.vercmp) in {elapsed:.1?}; {} disagreements",
        pairs.len(),
        bad.len()
    );
    assert!(
        bad.is_empty(),
        "{} disagreements, first: {:#?}",
        bad.len(),
        &bad[..bad.len().min(20)]
    );
}
