//! The name rules by example (a table of names and verdicts) and by property (proptest over
//! strings rich in the characters the rules are about).

use proptest::prelude::*;

use super::*;

/// Accepted names and their NFC display.
const GOOD: &[(&str, &str)] = &[
    ("report.pdf", "report.pdf"),
    ("Cafe\u{301}.txt", "Café.txt"),
    (".bashrc", ".bashrc"),
    ("a b", "a b"),
    ("...a", "...a"),
    (
        "👨\u{200D}👩\u{200D}👧 family.jpg",
        "👨\u{200D}👩\u{200D}👧 family.jpg",
    ),
    ("❤\u{FE0F}\u{200D}🔥", "❤\u{FE0F}\u{200D}🔥"),
    ("می\u{200C}خواهم.txt", "می\u{200C}خواهم.txt"),
    (
        "🏴\u{E0067}\u{E0062}\u{E0073}\u{E0063}\u{E0074}\u{E007F} flag",
        "🏴\u{E0067}\u{E0062}\u{E0073}\u{E0063}\u{E0074}\u{E007F} flag",
    ),
    ("1\u{FE0F}\u{20E3}", "1\u{FE0F}\u{20E3}"),
    ("CONSOLE.txt", "CONSOLE.txt"),
    ("COM10", "COM10"),
    ("con_txt", "con_txt"),
    ("a\u{E000}b", "a\u{E000}b"),
    ("a\u{00A0}b", "a\u{00A0}b"),
    ("x：y", "x：y"),
];

/// Refused names and the rule they break.
fn bad() -> Vec<(String, NameError)> {
    let s = |x: &str| x.to_owned();
    vec![
        (s(""), NameError::Empty),
        (s("."), NameError::DotName),
        (s(".."), NameError::DotName),
        ("x".repeat(256), NameError::TooLong { bytes: 256 }),
        ("é".repeat(128), NameError::TooLong { bytes: 256 }),
        (s("a/b"), NameError::Separator('/')),
        (s("a\\b"), NameError::Separator('\\')),
        (s("a:b"), NameError::WindowsChar(':')),
        (s("a<b"), NameError::WindowsChar('<')),
        (s("a>b"), NameError::WindowsChar('>')),
        (s("a\"b"), NameError::WindowsChar('"')),
        (s("a|b"), NameError::WindowsChar('|')),
        (s("a?b"), NameError::WindowsChar('?')),
        (s("a*b"), NameError::WindowsChar('*')),
        (s("nul\0"), NameError::Control('\0')),
        (s("tab\there"), NameError::Control('\t')),
        (s("a\u{85}b"), NameError::Control('\u{85}')),
        (s("a\u{2028}b"), NameError::LineSeparator('\u{2028}')),
        (s("a\u{2029}b"), NameError::LineSeparator('\u{2029}')),
        (s("invoice\u{202E}gpj.exe"), NameError::Bidi('\u{202E}')),
        (s("a\u{202A}b"), NameError::Bidi('\u{202A}')),
        (s("a\u{2066}b"), NameError::Bidi('\u{2066}')),
        (s("a\u{2069}b"), NameError::Bidi('\u{2069}')),
        (s("a\u{200E}b"), NameError::Bidi('\u{200E}')),
        (s("a\u{200F}b"), NameError::Bidi('\u{200F}')),
        (s("a\u{61C}b"), NameError::Bidi('\u{61C}')),
        (s("a\u{200B}b"), NameError::Invisible('\u{200B}')),
        (s("\u{FEFF}report"), NameError::Invisible('\u{FEFF}')),
        (s("a\u{2060}b"), NameError::Invisible('\u{2060}')),
        (s("a\u{180E}b"), NameError::Invisible('\u{180E}')),
        (s("soft\u{AD}hyphen"), NameError::Invisible('\u{AD}')),
        (s("\u{3164}"), NameError::Invisible('\u{3164}')),
        (s("a\u{FFF9}b"), NameError::Invisible('\u{FFF9}')),
        (s("a\u{FDD0}b"), NameError::Noncharacter('\u{FDD0}')),
        (s("a\u{FFFE}b"), NameError::Noncharacter('\u{FFFE}')),
        (s("a\u{10FFFF}"), NameError::Noncharacter('\u{10FFFF}')),
        (s("\u{200D}a"), NameError::Stray('\u{200D}')),
        (s("a\u{200D}"), NameError::Stray('\u{200D}')),
        (s("a\u{200D} b"), NameError::Stray('\u{200D}')),
        (s("a\u{200C}\u{200C}b"), NameError::Stray('\u{200C}')),
        (s("\u{FE0F}a"), NameError::Stray('\u{FE0F}')),
        (s("a \u{FE0F}"), NameError::Stray('\u{FE0F}')),
        (
            s("🏴\u{E0067}\u{E0062} flag"),
            NameError::Stray('\u{E0067}'),
        ),
        (s("a\u{E007F}"), NameError::Stray('\u{E007F}')),
        (s(" lead"), NameError::EdgeSpace),
        (s("trail "), NameError::EdgeSpace),
        (s("\u{3000}wide"), NameError::EdgeSpace),
        (s("report."), NameError::TrailingDot),
        (s("..."), NameError::TrailingDot),
        (s("CON"), NameError::WindowsReserved(s("CON"))),
        (s("con.txt"), NameError::WindowsReserved(s("con"))),
        (s("Nul.tar.gz"), NameError::WindowsReserved(s("Nul"))),
        (s("aux .txt"), NameError::WindowsReserved(s("aux"))),
        (s("PRN"), NameError::WindowsReserved(s("PRN"))),
        (s("com1"), NameError::WindowsReserved(s("com1"))),
        (s("COM0.log"), NameError::WindowsReserved(s("COM0"))),
        (s("lpt9"), NameError::WindowsReserved(s("lpt9"))),
        (s("COM¹"), NameError::WindowsReserved(s("COM¹"))),
        (s("lpt³.txt"), NameError::WindowsReserved(s("lpt³"))),
        (s("CONIN$"), NameError::WindowsReserved(s("CONIN$"))),
        (s("conout$.x"), NameError::WindowsReserved(s("conout$"))),
    ]
}

#[test]
fn the_rules_by_example() {
    for (raw, display) in GOOD {
        match check(raw) {
            Ok(n) => assert_eq!(n.display, *display, "{raw:?}"),
            Err(e) => panic!("{raw:?} should be accepted: {e}"),
        }
    }
    for (raw, want) in bad() {
        assert_eq!(check(&raw), Err(want), "{raw:?}");
    }
    // Every refusal reads as a sentence naming what is wrong.
    assert_eq!(
        check("invoice\u{202E}gpj.exe").unwrap_err().to_string(),
        "a name cannot contain bidirectional controls (U+202E): they make a name show in \
         another order than it has"
    );
}

#[test]
fn keys_fold_case_fully() {
    let k = |s: &str| check(s).unwrap().key;
    assert_eq!(k("straße"), k("STRASSE"));
    assert_eq!(k("Straße"), "strasse");
    assert_eq!(k("ΣΊΣΥΦΟΣ"), k("σίσυφος"));
    assert_eq!(k("ﬁle"), k("FILE"));
    assert_eq!(k("Café.txt"), k("CAFE\u{301}.TXT"));
    assert_eq!(k("REPORT.pdf"), k("report.PDF"));
    // Compatibility forms stay apart: no file system merges them either.
    assert_ne!(k("ｆｉｌｅ"), k("file"));
    assert_ne!(k("x²"), k("x2"));
}

#[test]
fn the_key_rule_matches_its_unicode_version() {
    // KEY_VERSION pins the case-folding tables: a caseless upgrade that moves to a new Unicode
    // version must bump KEY_VERSION (stored keys are then recomputed at start) and this line.
    assert_eq!(caseless::UNICODE_VERSION, (16, 0, 0));
    assert_eq!(KEY_VERSION, 1);
}

#[test]
fn derived_names() {
    let d = |n: &str, t: &str| derive(n, t).display;
    assert_eq!(
        d("report.pdf", "conflicted copy laptop 2026-11-22"),
        "report (conflicted copy laptop 2026-11-22).pdf"
    );
    assert_eq!(d(".bashrc", "restored"), ".bashrc (restored)");
    assert_eq!(d("a.tar.gz", "restored 2"), "a.tar (restored 2).gz");
    // Too long: the stem gives way, the tag and the extension stay.
    let long = format!("{}.txt", "é".repeat(125));
    let got = d(&long, "restored 2");
    assert!(got.len() <= MAX_NAME_BYTES, "{}", got.len());
    assert!(got.ends_with("é (restored 2).txt"), "{got}");
    // A cut never leaves a joiner dangling before the tag.
    let family = "👨\u{200D}👩\u{200D}👧";
    let long = format!("{}{}.txt", "a".repeat(230), family);
    for tag in ["r", "re", "res", "rest", "resto"] {
        assert!(check(&d(&long, tag)).is_ok(), "{tag}");
    }
    // The tag is cleaned of what a name cannot hold; an old stored name is cleaned too.
    assert_eq!(
        d("a.txt", "conflicted copy my:\u{202E}pc 2026-01-01"),
        "a (conflicted copy my_pc 2026-01-01).txt"
    );
    assert_eq!(d("a:b.txt", "restored"), "a_b (restored).txt");
    // An extension too long to leave 16 bytes of stem is cut like the stem.
    let ext = format!("a.{}", "x".repeat(250));
    let got = d(&ext, "restored");
    assert!(
        got.ends_with(" (restored)") && got.starts_with("a.xx"),
        "{got}"
    );
}

#[test]
fn sanitize_by_example() {
    assert_eq!(sanitize("invoice\u{202E}gpj.exe"), "invoicegpj.exe");
    assert_eq!(sanitize("CON.txt"), "_CON.txt");
    assert_eq!(sanitize("a:b?.txt"), "a_b_.txt");
    assert_eq!(sanitize(" x. "), "x");
    assert_eq!(sanitize("\u{200B}"), "_");
    assert_eq!(sanitize(""), "_");
    assert_eq!(sanitize(".."), "_");
    assert_eq!(sanitize("e\u{200B}\u{301}"), "é");
}

/// Characters the rules are about, mixed with ordinary ones and anything at all.
const SPICE: &[char] = &[
    'a',
    'b',
    'Z',
    '.',
    ' ',
    '_',
    '-',
    '1',
    'ß',
    'ẞ',
    'Σ',
    'σ',
    'ς',
    'İ',
    'ı',
    'ﬁ',
    'é',
    'É',
    '\u{301}',
    '\u{308}',
    '\u{200B}',
    '\u{200C}',
    '\u{200D}',
    '\u{200E}',
    '\u{202E}',
    '\u{2066}',
    '\u{2028}',
    '\u{FEFF}',
    '\u{AD}',
    '\u{FE0F}',
    '\u{E0067}',
    '\u{E007F}',
    '\u{1F468}',
    '\u{1F469}',
    ':',
    '/',
    '\\',
    '*',
    '?',
    '"',
    '<',
    '>',
    '|',
    '\0',
    '\t',
    '\u{3000}',
    '\u{FFFE}',
    '\u{FDD0}',
    'C',
    'O',
    'N',
    '¹',
    'ǅ',
    'ǆ',
    'Ǆ',
    'K',
    '\u{212A}',
    'Å',
    '\u{212B}',
];

fn spicy_char() -> impl Strategy<Value = char> {
    prop_oneof![
        4 => prop::sample::select(SPICE),
        1 => any::<char>(),
    ]
}

fn spicy(max: usize) -> impl Strategy<Value = String> {
    prop::collection::vec(spicy_char(), 0..max).prop_map(|v| v.into_iter().collect())
}

/// Valid names, some near the length limit.
fn valid_name() -> impl Strategy<Value = String> {
    prop_oneof![spicy(24), spicy(140)].prop_map(|s| sanitize(&s))
}

/// A valid name with one character of any kind put in somewhere: valid about half the time,
/// so the properties about accepted names see both sides of every rule.
fn near_valid() -> impl Strategy<Value = String> {
    (valid_name(), spicy_char(), any::<prop::sample::Index>()).prop_map(|(name, c, at)| {
        let mut chars: Vec<char> = name.chars().collect();
        let i = at.index(chars.len() + 1);
        chars.insert(i, c);
        chars.into_iter().collect()
    })
}

fn any_name() -> impl Strategy<Value = String> {
    prop_oneof![spicy(60), valid_name(), near_valid()]
}

/// Strings in scripts whose case has a simple inverse, for the upper/lower property.
fn cased() -> impl Strategy<Value = String> {
    "[a-zA-Z0-9 ßσςΣΑ-Ωα-ωА-Яа-яÀ-ÖØ-öø-ÿ]{1,30}"
}

fn refused_char(c: char) -> bool {
    let n = u32::from(c);
    c.is_control()
        || "/\\<>:\"|?*".contains(c)
        || matches!(n, 0x2028 | 0x2029 | 0x061C | 0x200E | 0x200F | 0x202A..=0x202E | 0x2066..=0x2069)
        || matches!(n, 0x200B | 0x2060 | 0xFEFF | 0x180E | 0xAD | 0x3164)
        || matches!(n, 0xFDD0..=0xFDEF)
        || n & 0xFFFE == 0xFFFE
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn check_is_idempotent(raw in any_name()) {
        if let Ok(n) = check(&raw) {
            prop_assert_eq!(check(&n.display), Ok(n));
        }
    }

    #[test]
    fn accepted_names_hold_nothing_refused(raw in any_name()) {
        if let Ok(n) = check(&raw) {
            let d = &n.display;
            prop_assert!(!d.chars().any(refused_char), "{:?}", d);
            prop_assert!(!d.is_empty() && d.len() <= MAX_NAME_BYTES);
            prop_assert!(!d.ends_with('.') && d.trim() == d.as_str());
            let zwj = '\u{200D}';
            prop_assert!(!d.starts_with(zwj) && !d.ends_with(zwj), "{:?}", d);
            prop_assert!(windows_device(d).is_none());
        }
    }

    #[test]
    fn keys_are_equal_exactly_for_caseless_matches(a in spicy(8), b in spicy(8)) {
        prop_assert_eq!(
            key(&a) == key(&b),
            caseless::canonical_caseless_match_str(&a, &b),
            "{:?} {:?}", a, b
        );
    }

    #[test]
    fn keys_ignore_case_and_normalization(s in cased()) {
        let k = key(&s);
        prop_assert_eq!(&key(&s.to_uppercase()), &k);
        prop_assert_eq!(&key(&s.to_lowercase()), &k);
        prop_assert_eq!(&key(&s.nfd().collect::<String>()), &k);
        prop_assert_eq!(&key(&k), &k);
    }

    #[test]
    fn sanitize_always_gives_a_valid_name(raw in prop_oneof![spicy(200), near_valid()]) {
        let s = sanitize(&raw);
        prop_assert!(check(&s).is_ok(), "{:?} -> {:?}: {:?}", raw, s, check(&s));
        if let Ok(n) = check(&raw) {
            prop_assert_eq!(s, n.display);
        }
    }

    #[test]
    fn derived_names_are_valid_short_and_keep_tag_and_extension(
        name in valid_name(),
        tag in spicy(140),
    ) {
        let got = derive(&name, &tag);
        let again = check(&got.display);
        prop_assert_eq!(again.as_ref(), Ok(&got));
        prop_assert!(got.display.len() <= MAX_NAME_BYTES);
        let tag = clean_tag(&tag);
        let (_, ext) = split_ext(&name);
        let full = format!(" ({tag}){ext}");
        if full.len() + MIN_STEM_BYTES <= MAX_NAME_BYTES {
            prop_assert!(got.display.ends_with(&full), "{:?} + {:?} -> {:?}", name, tag, got.display);
            // Shortened only when it had to be.
            let (stem, _) = split_ext(&name);
            let plain = format!("{stem}{full}");
            if plain.len() <= MAX_NAME_BYTES {
                if let Ok(p) = check(&plain) {
                    prop_assert_eq!(got.display, p.display);
                }
            }
        } else {
            let ends = format!(" ({tag})");
            prop_assert!(got.display.ends_with(&ends), "{:?}", got.display);
        }
    }
}
