//! CPE 2.3 names: parsing the formatted-string binding and matching a feed's
//! *criteria* name against the name of installed software.
//!
//! # Syntax
//!
//! `cpe:2.3:part:vendor:product:version:update:edition:language:sw_edition:target_sw:target_hw:other`
//!
//! * The prefix `cpe:2.3:` is required (case-insensitive).
//! * Components are separated by unescaped `:`. All eleven are normally
//!   present; a shorter name (at least `part:vendor:product`) is accepted and
//!   the missing trailing components are ANY, which is convenient for names
//!   built by hand (`cpe:2.3:a:google:chrome:112.0.5615.120`). More than
//!   eleven is an error.
//! * `\x` quotes the character `x` (`notepad\+\+` is `notepad++`, `\:` is a
//!   colon inside a value); a `\` at the very end is an error.
//! * A component that is exactly `*` is [`Component::Any`], exactly `-` is
//!   [`Component::NotApplicable`]; anything else is a [`Component::Value`]
//!   holding the **unescaped** text (`\*` and `\-` are the literal values).
//!   Unescaped `*`/`?` inside a longer value are kept as literal characters
//!   (CPE's embedded wildcards are not used by NVD criteria).
//! * An empty component, unescaped whitespace or control characters, and a
//!   `part` other than `a`, `o`, `h` or `*` are errors.
//!
//! `Display` writes the canonical formatted string (every character other than
//! ASCII letters, digits, `_`, `.`, `-` is escaped), and `Cpe` serialises as
//! that string.
//!
//! # Matching
//!
//! [`Component::matches`] compares a criteria component with a target
//! (installed software) component:
//!
//! | criteria \ target | ANY   | NA    | value `t`                  |
//! |-------------------|-------|-------|----------------------------|
//! | ANY               | yes   | yes   | yes                        |
//! | NA                | yes   | yes   | no                         |
//! | value `c`         | yes   | no    | `c` == `t`, ignoring case  |
//!
//! A target ANY means "not known" (an inventory rarely knows the update,
//! edition or target platform of a product) and is therefore never a reason
//! to reject. [`Cpe::matches`] applies this to every component, comparing the
//! `version` component with [`crate::version::compare`] instead of text
//! equality. Version *ranges* are not part of a CPE name: see
//! [`crate::matcher`].

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::version;

/// One attribute of a CPE name.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Component {
    /// `*`: any value.
    Any,
    /// `-`: not applicable / no value.
    NotApplicable,
    /// A concrete value, unescaped.
    Value(String),
}

impl Component {
    /// The unescaped value, if this is a [`Component::Value`].
    pub fn value(&self) -> Option<&str> {
        match self {
            Component::Value(v) => Some(v),
            _ => None,
        }
    }

    /// `true` for [`Component::Any`].
    pub fn is_any(&self) -> bool {
        matches!(self, Component::Any)
    }

    /// Does this criteria component accept the target component? See the
    /// table in the [module documentation](self).
    pub fn matches(&self, target: &Component) -> bool {
        match (self, target) {
            (Component::Any, _) | (_, Component::Any) => true,
            (Component::NotApplicable, Component::NotApplicable) => true,
            (Component::Value(c), Component::Value(t)) => eq_ignore_case(c, t),
            _ => false,
        }
    }

    /// Like [`matches`](Self::matches), but two values compare as versions
    /// ([`version::compare`] is `Equal`).
    pub fn matches_version(&self, target: &Component) -> bool {
        match (self, target) {
            (Component::Value(c), Component::Value(t)) => {
                version::compare(c, t) == std::cmp::Ordering::Equal
            }
            _ => self.matches(target),
        }
    }

    /// The value lower-cased, for use as an index key.
    pub fn key(&self) -> Option<String> {
        self.value().map(str::to_lowercase)
    }

    fn from_text(text: &str) -> Component {
        match text {
            "*" => Component::Any,
            "-" => Component::NotApplicable,
            v => Component::Value(v.to_owned()),
        }
    }

    fn write_escaped(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Component::Any => f.write_str("*"),
            Component::NotApplicable => f.write_str("-"),
            Component::Value(v) => {
                if v == "-" {
                    return f.write_str("\\-");
                }
                for c in v.chars() {
                    if !(c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-')) {
                        f.write_str("\\")?;
                    }
                    write!(f, "{c}")?;
                }
                Ok(())
            }
        }
    }
}

/// The operating system a device runs, as a CPE `target_sw` value names it.
///
/// An inventory CPE rarely knows its `target_sw` (`*`). When a criterion restricts it to
/// an operating system (`cpe:2.3:a:zoom:zoom:*:*:*:*:*:windows:*:*`), the device's own OS
/// stands in for it, as MDE's mapping does: the Windows client's criterion then matches
/// on a Windows device and not on a macOS or Linux one. A criterion `target_sw` that
/// names no operating system (`node.js`, `wordpress`, ...) is compared as before.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum TargetOs {
    Windows,
    MacOs,
    Linux,
}

impl TargetOs {
    /// The OS a `target_sw` value names: `Some(Some(os))` for one of ours,
    /// `Some(None)` for an operating system no [`TargetOs`] runs (`android`,
    /// `iphone_os`, ...), `None` when the value names no operating system.
    pub fn named_by(target_sw: &str) -> Option<Option<TargetOs>> {
        let v = target_sw.to_ascii_lowercase();
        const OTHER_OS: [&str; 14] = [
            "android",
            "iphone_os",
            "ios",
            "ipados",
            "watchos",
            "tvos",
            "chrome_os",
            "chromeos",
            "windows_phone",
            "windows_mobile",
            "windows_ce",
            "windows_rt",
            "blackberry_os",
            "fire_os",
        ];
        if OTHER_OS.contains(&v.as_str()) {
            return Some(None);
        }
        if v == "windows" || v.starts_with("windows_") {
            return Some(Some(TargetOs::Windows));
        }
        if matches!(
            v.as_str(),
            "macos" | "mac_os" | "mac_os_x" | "macosx" | "macos_x" | "os_x" | "osx"
        ) {
            return Some(Some(TargetOs::MacOs));
        }
        if v == "linux" || v == "linux_kernel" || v.ends_with("_linux") {
            return Some(Some(TargetOs::Linux));
        }
        None
    }

    /// The device's OS as its platform CPEs name it (`o:microsoft:windows*`,
    /// `o:apple:macos`/`mac_os_x`, `o:linux:linux_kernel` or a `*_linux` distribution);
    /// `None` if they name none.
    pub fn of_platform(platform: &[Cpe]) -> Option<TargetOs> {
        platform.iter().find_map(|p| {
            if !matches!(&p.part, Component::Value(v) if v == "o") {
                return None;
            }
            TargetOs::named_by(p.product.value()?).flatten()
        })
    }

    /// Does a criterion's `target_sw` accept software whose own `target_sw` is
    /// `software_target` on a device running `device`? The device's OS stands in for
    /// an unknown (`*`) software `target_sw` when the criterion names an OS.
    pub fn target_sw_matches(
        criterion: &Component,
        software_target: &Component,
        device: Option<TargetOs>,
    ) -> bool {
        if let (Component::Value(c), Component::Any, Some(device)) =
            (criterion, software_target, device)
            && let Some(named) = TargetOs::named_by(c)
        {
            return named == Some(device);
        }
        criterion.matches(software_target)
    }
}

/// Case-insensitive equality (full Unicode lower-casing beyond ASCII).
pub(crate) fn eq_ignore_case(a: &str, b: &str) -> bool {
    if a.is_ascii() && b.is_ascii() {
        a.eq_ignore_ascii_case(b)
    } else {
        a.chars()
            .flat_map(char::to_lowercase)
            .eq(b.chars().flat_map(char::to_lowercase))
    }
}

/// A CPE 2.3 name.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Cpe {
    /// `a` (application), `o` (operating system), `h` (hardware), or ANY.
    pub part: Component,
    pub vendor: Component,
    pub product: Component,
    pub version: Component,
    pub update: Component,
    pub edition: Component,
    pub language: Component,
    pub sw_edition: Component,
    pub target_sw: Component,
    pub target_hw: Component,
    pub other: Component,
}

/// Why a string is not a CPE 2.3 formatted string.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("invalid CPE `{input}`: {reason}")]
pub struct CpeError {
    /// The rejected input (cut to 200 characters).
    pub input: String,
    /// What is wrong with it.
    pub reason: String,
}

const NAMES: [&str; 11] = [
    "part",
    "vendor",
    "product",
    "version",
    "update",
    "edition",
    "language",
    "sw_edition",
    "target_sw",
    "target_hw",
    "other",
];

impl Cpe {
    /// Parses a CPE 2.3 formatted string (see the [module documentation](self)).
    pub fn parse(input: &str) -> Result<Cpe, CpeError> {
        let err = |reason: String| CpeError {
            input: input.chars().take(200).collect(),
            reason,
        };
        let body = match input.get(..8) {
            Some(p) if p.eq_ignore_ascii_case("cpe:2.3:") => &input[8..],
            _ => return Err(err("does not start with `cpe:2.3:`".into())),
        };

        // Split on unescaped ':' and unescape each component.
        let mut comps: Vec<Component> = Vec::with_capacity(11);
        let mut raw_is_plain = true; // no escape seen in the current component
        let mut text = String::new();
        let mut chars = body.chars();
        loop {
            let c = chars.next();
            match c {
                None | Some(':') => {
                    let idx = comps.len();
                    if idx >= 11 {
                        return Err(err(
                            "too many components (more than 11 after `cpe:2.3:`)".into()
                        ));
                    }
                    if text.is_empty() {
                        return Err(err(format!("empty {} component", NAMES[idx])));
                    }
                    let comp = if raw_is_plain {
                        Component::from_text(&text)
                    } else {
                        Component::Value(std::mem::take(&mut text))
                    };
                    comps.push(comp);
                    text.clear();
                    raw_is_plain = true;
                    if c.is_none() {
                        break;
                    }
                }
                Some('\\') => match chars.next() {
                    Some(q) => {
                        raw_is_plain = false;
                        text.push(q);
                    }
                    None => return Err(err("dangling `\\` at the end".into())),
                },
                Some(c) if c.is_whitespace() || c.is_control() => {
                    return Err(err(format!(
                        "unescaped {} in the {} component",
                        if c.is_whitespace() {
                            "whitespace"
                        } else {
                            "control character"
                        },
                        NAMES[comps.len().min(10)]
                    )));
                }
                Some(c) => text.push(c),
            }
        }
        if comps.len() < 3 {
            return Err(err(format!(
                "only {} component(s); at least part:vendor:product is required",
                comps.len()
            )));
        }
        comps.resize(11, Component::Any);
        match &comps[0] {
            Component::Any => {}
            Component::Value(p) if matches!(p.as_str(), "a" | "o" | "h" | "A" | "O" | "H") => {
                comps[0] = Component::Value(p.to_ascii_lowercase());
            }
            other => {
                return Err(err(format!(
                    "part must be `a`, `o`, `h` or `*`, not `{}`",
                    other
                )));
            }
        }
        let mut it = comps.into_iter();
        let mut next = || it.next().unwrap_or(Component::Any);
        Ok(Cpe {
            part: next(),
            vendor: next(),
            product: next(),
            version: next(),
            update: next(),
            edition: next(),
            language: next(),
            sw_edition: next(),
            target_sw: next(),
            target_hw: next(),
            other: next(),
        })
    }

    /// An application name `cpe:2.3:a:vendor:product:version:*:...` from
    /// plain (unescaped) values. An empty `version` becomes ANY.
    pub fn application(vendor: &str, product: &str, version: &str) -> Cpe {
        Cpe::from_values("a", vendor, product, version)
    }

    /// An operating-system name `cpe:2.3:o:vendor:product:version:*:...`
    /// from plain values. An empty `version` becomes ANY.
    pub fn operating_system(vendor: &str, product: &str, version: &str) -> Cpe {
        Cpe::from_values("o", vendor, product, version)
    }

    fn from_values(part: &str, vendor: &str, product: &str, version: &str) -> Cpe {
        let value = |s: &str| {
            if s.is_empty() {
                Component::Any
            } else {
                Component::Value(s.to_owned())
            }
        };
        Cpe {
            part: Component::Value(part.to_owned()),
            vendor: value(vendor),
            product: value(product),
            version: value(version),
            update: Component::Any,
            edition: Component::Any,
            language: Component::Any,
            sw_edition: Component::Any,
            target_sw: Component::Any,
            target_hw: Component::Any,
            other: Component::Any,
        }
    }

    /// The components in CPE order.
    pub fn components(&self) -> [&Component; 11] {
        [
            &self.part,
            &self.vendor,
            &self.product,
            &self.version,
            &self.update,
            &self.edition,
            &self.language,
            &self.sw_edition,
            &self.target_sw,
            &self.target_hw,
            &self.other,
        ]
    }

    /// Does this (criteria) name match `target` on every component except
    /// `version`? See the [module documentation](self).
    pub fn matches_except_version(&self, target: &Cpe) -> bool {
        let c = self.components();
        let t = target.components();
        (0..11).filter(|&i| i != 3).all(|i| c[i].matches(t[i]))
    }

    /// Does this (criteria) name match `target`? Every component must match;
    /// `version` values compare with [`version::compare`].
    pub fn matches(&self, target: &Cpe) -> bool {
        self.matches_except_version(target) && self.version.matches_version(&target.version)
    }
}

impl fmt::Display for Component {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.write_escaped(f)
    }
}

impl fmt::Display for Cpe {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("cpe:2.3")?;
        for c in self.components() {
            f.write_str(":")?;
            c.write_escaped(f)?;
        }
        Ok(())
    }
}

impl FromStr for Cpe {
    type Err = CpeError;
    fn from_str(s: &str) -> Result<Cpe, CpeError> {
        Cpe::parse(s)
    }
}

impl Serialize for Cpe {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Cpe {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Cpe, D::Error> {
        let s = std::borrow::Cow::<str>::deserialize(d)?;
        Cpe::parse(&s).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roundtrip() {
        for s in [
            "cpe:2.3:a:notepad-plus-plus:notepad\\+\\+:*:*:*:*:*:*:*:*",
            "cpe:2.3:o:microsoft:windows:-:*:*:*:*:*:*:*",
            "cpe:2.3:a:apache:log4j:2.0:beta9:*:*:*:*:*:*",
            "cpe:2.3:a:x:a\\:b:\\-:*:*:*:*:*:*:*",
        ] {
            let c = Cpe::parse(s).expect("parses");
            assert_eq!(c.to_string(), s);
        }
    }
}
