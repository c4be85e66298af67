//! `kb::pep440` against Python's `packaging.version.Version` on this machine
//! (one `python3` process per test, reading JSON lines). Skipped, with a
//! note, when `python3` or `packaging` is missing (`pip install packaging`).

use std::cmp::Ordering;
use std::process::Command;
use std::time::Instant;

use kb::pep440::{self, Pep440Version};

use crate::refs::{Rng, ord_name, scratch};

const SCRIPT: &str = r#"
import json, sys
from packaging.version import Version, InvalidVersion
mode, src, dst = sys.argv[1], sys.argv[2], sys.argv[3]
with open(src, encoding="utf-8") as f, open(dst, "w", encoding="utf-8") as out:
    for line in f:
        item = json.loads(line)
        if mode == "cmp":
            a, b = Version(item[0]), Version(item[1])
            out.write(json.dumps(-1 if a < b else (1 if a > b else 0)) + "\n")
        else:
            try:
                out.write(json.dumps(str(Version(item))) + "\n")
            except InvalidVersion:
                out.write("null\n")
"#;

fn python_with_packaging() -> bool {
    let works = testkit::tools::python_has(&["packaging.version"]).then_some(());
    testkit::require_tool(
        "python3 with `packaging` (the PEP 440 reference comparison)",
        "pip install 'packaging>=22'",
        works,
    )
    .is_some()
}

/// Runs the script over JSON lines; returns its JSON lines.
fn run(mode: &str, items: &[serde_json::Value]) -> Vec<serde_json::Value> {
    let input = scratch("pep440-in.jsonl");
    let output = scratch("pep440-out.jsonl");
    let body: String = items.iter().map(|v| format!("{v}\n")).collect();
    std::fs::write(&input, body).expect("write input");
    testkit::tools::run_ok(
        Command::new("python3")
            .arg("-c")
            .arg(SCRIPT)
            .arg(mode)
            .arg(&input)
            .arg(&output),
        "python3",
    );
    let text = std::fs::read_to_string(&output).expect("read output");
    let _ = std::fs::remove_file(&input);
    let _ = std::fs::remove_file(&output);
    text.lines()
        .map(|l| serde_json::from_str(l).expect("json line"))
        .collect()
}

fn spell(r: &mut Rng, word: &str) -> String {
    word.chars()
        .map(|c| {
            if r.chance(0.15) {
                c.to_ascii_uppercase()
            } else {
                c
            }
        })
        .collect()
}

fn sep(r: &mut Rng) -> String {
    if r.chance(0.5) {
        String::new()
    } else {
        r.pick_char("._-").to_string()
    }
}

/// A random, mostly valid, PEP 440 version in varied spellings.
fn version(r: &mut Rng) -> String {
    let mut s = String::new();
    if r.chance(0.05) {
        s.push(r.pick_char(" \t"));
    }
    if r.chance(0.1) {
        s.push(r.pick_char("vV"));
    }
    if r.chance(0.1) {
        s.push_str(&r.digits());
        s.push('!');
    }
    let n = 1 + r.below(4);
    for i in 0..n {
        if i > 0 {
            s.push('.');
        }
        s.push_str(if r.chance(0.3) { "0" } else { "" });
        s.push_str(&r.digits());
    }
    if r.chance(0.35) {
        s.push_str(&sep(r));
        let w = r.pick(&["a", "alpha", "b", "beta", "c", "rc", "pre", "preview"]);
        s.push_str(&spell(r, w));
        s.push_str(&sep(r));
        if r.chance(0.8) {
            s.push_str(&r.digits());
        }
    }
    if r.chance(0.3) {
        if r.chance(0.3) {
            s.push('-');
            s.push_str(&r.digits());
        } else {
            s.push_str(&sep(r));
            let w = r.pick(&["post", "rev", "r"]);
            s.push_str(&spell(r, w));
            s.push_str(&sep(r));
            if r.chance(0.7) {
                s.push_str(&r.digits());
            }
        }
    }
    if r.chance(0.3) {
        s.push_str(&sep(r));
        s.push_str(&spell(r, "dev"));
        s.push_str(&sep(r));
        if r.chance(0.7) {
            s.push_str(&r.digits());
        }
    }
    if r.chance(0.2) {
        s.push('+');
        for i in 0..1 + r.below(3) {
            if i > 0 {
                s.push(r.pick_char("._-"));
            }
            if r.chance(0.5) {
                s.push_str(&r.digits());
            } else {
                s.push_str(&r.letters("abcuntuXYZ0", 5));
            }
        }
    }
    if r.chance(0.05) {
        s.push(r.pick_char(" \n"));
    }
    s
}

fn mutate(r: &mut Rng, v: &str) -> String {
    let mut c: Vec<char> = v.chars().collect();
    let i = r.below(c.len() + 1);
    match r.below(5) {
        0 => c.insert(
            i,
            r.pick_char("._-+!vabcdeprost0123 \u{a0}\u{1c}\u{200b}*~"),
        ),
        1 => {
            if i < c.len() {
                c.remove(i);
            }
        }
        2 => {
            if i < c.len() {
                c[i] = r.pick_char("._-+!0a1r");
            }
        }
        3 => c.extend(
            r.pick(&[".", "-", "+", "a", ".post", "-1", "dev", "!1", "+-"])
                .chars(),
        ),
        _ => c.insert(0, r.pick_char("v1.+ ")),
    }
    c.into_iter().collect()
}

#[test]
fn pep440_order_agrees_with_packaging() {
    if !python_with_packaging() {
        return;
    }
    let mut r = Rng::new(0x0050_3440);
    let mut pool: Vec<String> = [
        "1.0.dev0",
        "1.0a1.dev1",
        "1.0a1",
        "1.0a2",
        "1.0b1",
        "1.0rc1",
        "1.0",
        "1.0.0",
        "1.0+abc",
        "1.0+abc.1",
        "1.0+1",
        "1.0+01",
        "1.0.post1.dev1",
        "1.0.post1",
        "1.0-1",
        "1.1.dev1",
        "1!0.1",
        "0!1.0",
        "23.2.1",
        "23.3",
        "65.5.0",
        "65.5.1",
        "1.0+a-b_c",
        "1.0+A",
        "1.0c1",
        "1.0pre1",
        "1.0.dev",
        "1.0-r5",
        "1.0rev5",
        "v1.0",
        "1.0.0.0.0.1",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    while pool.len() < 3_000 {
        let v = version(&mut r);
        if Pep440Version::parse(&v).is_ok() {
            pool.push(v);
        }
    }
    let mut pairs: Vec<(String, String)> = Vec::new();
    while pairs.len() < 20_000 {
        let a = pool[r.below(pool.len())].clone();
        let b = if r.chance(0.3) {
            // Near neighbours: same release, different suffixes.
            let base: String = a
                .chars()
                .take_while(|c| c.is_ascii_digit() || *c == '.')
                .collect();
            format!(
                "{base}{}",
                &pool[r.below(pool.len())]
                    .chars()
                    .skip_while(|c| c.is_ascii_digit() || *c == '.')
                    .collect::<String>()
            )
        } else {
            pool[r.below(pool.len())].clone()
        };
        if Pep440Version::parse(&b).is_ok() && Pep440Version::parse(&a).is_ok() {
            pairs.push((a, b));
        }
    }
    let items: Vec<serde_json::Value> = pairs
        .iter()
        .map(|(a, b)| serde_json::json!([a, b]))
        .collect();
    let t0 = Instant::now();
    let theirs = run("cmp", &items);
    let elapsed = t0.elapsed();
    assert_eq!(theirs.len(), pairs.len());
    let mut bad = Vec::new();
    for ((a, b), t) in pairs.iter().zip(&theirs) {
        let t = match t.as_i64() {
            Some(-1) => Ordering::Less,
            Some(0) => Ordering::Equal,
            _ => Ordering::Greater,
        };
        let o = pep440::compare(a, b);
        let keys_equal = Pep440Version::parse(a).map(|v| v.equality_key()).ok()
            == Pep440Version::parse(b).map(|v| v.equality_key()).ok();
        if keys_equal != t.is_eq() {
            bad.push(format!(
                "{a:?} vs {b:?}: equality keys disagree with packaging"
            ));
        }
        if o != t {
            bad.push(format!(
                "{a:?} vs {b:?}: ours {}, packaging {}",
                ord_name(o),
                ord_name(t)
            ));
        }
    }
    eprintln!(
        "PEP 440 reference: {} pairs compared with packaging in one python3 process ({elapsed:.1?}); {} disagreements",
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

#[test]
fn pep440_validity_and_normal_form_agree_with_packaging() {
    if !python_with_packaging() {
        return;
    }
    let mut r = Rng::new(0x0001_0440);
    let mut cases: Vec<String> = [
        "",
        " ",
        "v",
        "1",
        "1.",
        ".1",
        "1..2",
        "1.0\u{200b}",
        "1.0\u{a0}",
        "\u{1c}1.0",
        "1.0+",
        "1.0+a.",
        "1.0re",
        "a1",
        "1.0 2",
        "1!",
        "1.0-",
        "1.0a--1",
        "1.0.post.",
        "1.0a-",
        "1.0-r",
        "1.0rc-",
        "1.0a.1",
        "1.0-1-dev",
        "1.0.POST1",
        "1.0+ab.01",
        "1!2.0PREVIEW3",
        "01.002",
        "1.0alphab",
        "1.0_pre_1",
        "1.0-dev-1",
        "1.0-post-1",
        "1.0--1",
        "1.0+a+b",
        "1.0+a_-b",
        "V1.0",
        "vv1.0",
        "1.0*",
        "1.0.*",
        "1.0a1.post2.dev3+x.y.1",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    while cases.len() < 20_000 {
        let v = version(&mut r);
        cases.push(if r.chance(0.6) { mutate(&mut r, &v) } else { v });
    }
    let items: Vec<serde_json::Value> = cases.iter().map(|s| serde_json::json!(s)).collect();
    let theirs = run("norm", &items);
    assert_eq!(theirs.len(), cases.len());
    let mut bad = Vec::new();
    let mut invalid = 0;
    for (s, t) in cases.iter().zip(&theirs) {
        let ours = Pep440Version::parse(s).ok().map(|v| v.to_string());
        let theirs = t.as_str().map(str::to_owned);
        if theirs.is_none() {
            invalid += 1;
        }
        if ours != theirs {
            bad.push(format!("{s:?}: ours {ours:?}, packaging {theirs:?}"));
        }
    }
    eprintln!(
        "PEP 440 validity: {} strings ({invalid} refused by packaging); {} disagreements",
        cases.len(),
        bad.len()
    );
    assert!(
        invalid > 1_000,
        "the generator should produce many invalid strings"
    );
    assert!(
        bad.is_empty(),
        "{} disagreements, first: {:#?}",
        bad.len(),
        &bad[..bad.len().min(20)]
    );
}
