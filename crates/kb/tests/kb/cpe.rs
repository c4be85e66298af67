use kb::{Component, Cpe};

fn cpe(s: &str) -> Cpe {
    Cpe::parse(s).unwrap_or_else(|e| panic!("{e}"))
}

fn v(s: &str) -> Component {
    Component::Value(s.to_owned())
}

#[test]
fn parses_all_components() {
    let c = cpe("cpe:2.3:a:apache:log4j:2.0:beta9:*:*:*:*:*:*");
    assert_eq!(c.part, v("a"));
    assert_eq!(c.vendor, v("apache"));
    assert_eq!(c.product, v("log4j"));
    assert_eq!(c.version, v("2.0"));
    assert_eq!(c.update, v("beta9"));
    for any in [
        &c.edition,
        &c.language,
        &c.sw_edition,
        &c.target_sw,
        &c.target_hw,
        &c.other,
    ] {
        assert_eq!(any, &Component::Any);
    }

    let w = cpe("cpe:2.3:o:microsoft:windows:-:*:*:*:*:*:x64:*");
    assert_eq!(w.version, Component::NotApplicable);
    assert_eq!(w.target_hw, v("x64"));

    let z = cpe("cpe:2.3:a:zoom:zoom:*:*:*:*:*:windows:*:*");
    assert_eq!(z.target_sw, v("windows"));
    let a = cpe("cpe:2.3:a:adobe:acrobat_dc:*:*:*:*:continuous:*:*:*");
    assert_eq!(a.sw_edition, v("continuous"));
}

#[test]
fn unescapes_values() {
    let c = cpe("cpe:2.3:a:notepad-plus-plus:notepad\\+\\+:*:*:*:*:*:*:*:*");
    assert_eq!(c.vendor, v("notepad-plus-plus"));
    assert_eq!(c.product, v("notepad++"));
    let c = cpe("cpe:2.3:a:vendor:a\\:b\\\\c:1.0\\!:*:*:*:*:*:*:*");
    assert_eq!(c.product, v("a:b\\c"));
    assert_eq!(c.version, v("1.0!"));
    // Escaped `*` and `-` are literal values, not ANY / NA.
    let c = cpe("cpe:2.3:a:x:y:\\*:\\-:*:*:*:*:*:*");
    assert_eq!(c.version, v("*"));
    assert_eq!(c.update, v("-"));
    assert_eq!(c.to_string(), "cpe:2.3:a:x:y:\\*:\\-:*:*:*:*:*:*");
}

#[test]
fn display_round_trips_and_serde_uses_the_string() {
    for s in [
        "cpe:2.3:a:notepad-plus-plus:notepad\\+\\+:*:*:*:*:*:*:*:*",
        "cpe:2.3:o:linux:linux_kernel:6.8:rc1:*:*:*:*:*:*",
        "cpe:2.3:a:oracle:jdk:1.8.0:update361:*:*:*:*:*:*",
        "cpe:2.3:h:netapp:h300s:-:*:*:*:*:*:*:*",
    ] {
        let c = cpe(s);
        assert_eq!(c.to_string(), s);
        let json = serde_json::to_string(&c).expect("serialise");
        assert_eq!(json, format!("{:?}", s));
        let back: Cpe = serde_json::from_str(&json).expect("deserialise");
        assert_eq!(back, c);
    }
    assert!(serde_json::from_str::<Cpe>("\"cpe:2.3:q:x:y\"").is_err());
}

#[test]
fn short_names_pad_with_any() {
    let c = cpe("cpe:2.3:a:google:chrome:112.0.5615.120");
    assert_eq!(c.version, v("112.0.5615.120"));
    assert_eq!(c.update, Component::Any);
    assert_eq!(c.other, Component::Any);
    assert_eq!(
        c.to_string(),
        "cpe:2.3:a:google:chrome:112.0.5615.120:*:*:*:*:*:*:*"
    );
    assert_eq!(c, Cpe::application("google", "chrome", "112.0.5615.120"));
    assert_eq!(
        Cpe::operating_system("microsoft", "windows", "").to_string(),
        "cpe:2.3:o:microsoft:windows:*:*:*:*:*:*:*:*"
    );
}

#[test]
fn errors_name_the_reason() {
    let cases: &[(&str, &str)] = &[
        ("cpe:/a:apache:log4j:2.0", "does not start with `cpe:2.3:`"),
        ("", "does not start"),
        ("cpe:2.3:a:apache", "at least part:vendor:product"),
        ("cpe:2.3:a:b:c:d:e:f:g:h:i:j:k:l", "too many components"),
        ("cpe:2.3:a:apache:log4j:2.0\\", "dangling"),
        (
            "cpe:2.3:a::log4j:2.0:*:*:*:*:*:*:*",
            "empty vendor component",
        ),
        (
            "cpe:2.3:a:apache:log4j::*:*:*:*:*:*:*",
            "empty version component",
        ),
        ("cpe:2.3:x:apache:log4j:*:*:*:*:*:*:*:*", "part must be"),
        ("cpe:2.3:-:apache:log4j:*:*:*:*:*:*:*:*", "part must be"),
        (
            "cpe:2.3:a:apache:log 4j:*:*:*:*:*:*:*:*",
            "whitespace in the product",
        ),
        ("cpe:2.3:a:apache:log4j:2.0\n:*:*:*:*:*:*:*", "whitespace"),
    ];
    for (input, reason) in cases {
        let e = Cpe::parse(input).expect_err(input);
        assert!(
            e.reason.contains(reason),
            "{input:?}: reason {:?} lacks {reason:?}",
            e.reason
        );
        assert!(e.to_string().starts_with("invalid CPE `"));
    }
}

#[test]
fn component_matching_rules() {
    let any = Component::Any;
    let na = Component::NotApplicable;
    // criteria ANY matches everything
    assert!(any.matches(&any) && any.matches(&na) && any.matches(&v("x")));
    // criteria NA matches NA and ANY only
    assert!(na.matches(&na) && na.matches(&any));
    assert!(!na.matches(&v("x")));
    // criteria value: equal ignoring case; a target ANY (unknown) never rejects
    assert!(v("Windows").matches(&v("windows")));
    assert!(v("notepad++").matches(&v("Notepad++")));
    assert!(v("x").matches(&any));
    assert!(!v("x").matches(&na));
    assert!(!v("windows").matches(&v("windows_11")));
    // Non-ASCII case folding
    assert!(v("ÉDITION").matches(&v("édition")));
    // versions compare as versions
    assert!(v("2.0").matches_version(&v("2.0.0")));
    assert!(!v("2.0").matches_version(&v("2.0.1")));
}

#[test]
fn cpe_matching() {
    let crit = cpe("cpe:2.3:a:zoom:zoom:*:*:*:*:*:windows:*:*");
    assert!(crit.matches(&cpe("cpe:2.3:a:zoom:zoom:5.13.0:*:*:*:*:*:*:*")));
    assert!(crit.matches(&cpe("cpe:2.3:a:Zoom:Zoom:5.13.0:*:*:*:*:windows:*:*")));
    assert!(!crit.matches(&cpe("cpe:2.3:a:zoom:zoom:5.13.0:*:*:*:*:macos:*:*")));
    assert!(!crit.matches(&cpe("cpe:2.3:a:zoom:rooms:5.13.0:*:*:*:*:*:*:*")));
    assert!(!crit.matches(&cpe("cpe:2.3:o:zoom:zoom:5.13.0:*:*:*:*:*:*:*")));

    let exact = cpe("cpe:2.3:a:putty:putty:0.60:*:*:*:*:*:*:*");
    assert!(exact.matches(&cpe("cpe:2.3:a:putty:putty:0.60.0:*:*:*:*:*:*:*")));
    assert!(!exact.matches(&cpe("cpe:2.3:a:putty:putty:0.61:*:*:*:*:*:*:*")));
    assert!(exact.matches_except_version(&cpe("cpe:2.3:a:putty:putty:0.61:*:*:*:*:*:*:*")));

    let na = cpe("cpe:2.3:o:microsoft:windows:-:*:*:*:*:*:*:*");
    assert!(na.matches(&cpe("cpe:2.3:o:microsoft:windows:-:*:*:*:*:*:*:*")));
    assert!(na.matches(&cpe("cpe:2.3:o:microsoft:windows:*:*:*:*:*:*:*:*")));
    assert!(!na.matches(&cpe("cpe:2.3:o:microsoft:windows:10.0.22631:*:*:*:*:*:*:*")));
}

mod properties {
    use kb::Cpe;
    use proptest::prelude::*;

    fn component() -> impl Strategy<Value = String> {
        prop_oneof![
            Just("*".to_owned()),
            Just("-".to_owned()),
            "[a-zA-Z0-9_.\\-]{1,8}",
            "([a-z]|\\\\[:+*\\-!\\\\]){1,6}",
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(500))]

        #[test]
        fn parse_never_panics(s in any::<String>()) {
            let _ = Cpe::parse(&s);
            let _ = Cpe::parse(&format!("cpe:2.3:{s}"));
        }

        #[test]
        fn display_reparses_to_the_same_name(
            part in prop::sample::select(vec!["a", "o", "h", "*"]),
            rest in prop::collection::vec(component(), 2..11),
        ) {
            let s = format!("cpe:2.3:{part}:{}", rest.join(":"));
            let c = Cpe::parse(&s).map_err(|e| TestCaseError::fail(e.to_string()))?;
            let again = Cpe::parse(&c.to_string()).map_err(|e| TestCaseError::fail(e.to_string()))?;
            prop_assert_eq!(&again, &c);
            prop_assert!(c.matches(&c));
        }
    }
}
