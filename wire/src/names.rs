//! The name rules shared by the server and the browser client: which file and folder names
//! Cairn accepts, the key that makes a name unique in its folder, and how a name Cairn picks
//! for itself (a conflicted copy, a restored item) is shortened to fit. Pure functions over
//! Unicode tables; no I/O.
//!
//! The rules, in the order `check` applies them to the NFC form of a name:
//!
//! - not empty, not `.` or `..`, at most [`MAX_NAME_BYTES`] bytes of UTF-8;
//! - no `/` or `\`, and none of `< > : " | ? *`, which Windows cannot store;
//! - no control characters (`Cc`), no line or paragraph separators (U+2028, U+2029);
//! - no bidirectional controls (U+061C, U+200E, U+200F, U+202A–U+202E, U+2066–U+2069): they
//!   make `invoice\u{202E}gpj.exe` display as `invoiceexe.jpg`;
//! - no invisible characters: the default-ignorable code points (soft hyphen, zero-width space,
//!   word joiner, the BOM, Hangul fillers, …) and the interlinear annotation controls, except
//!   the few that real names need, and only where they do their job: ZWJ and ZWNJ (U+200D,
//!   U+200C) between two visible characters (emoji sequences, Persian, Indic scripts); variation
//!   selectors right after a visible character (`❤️`); emoji tag characters (U+E0020–U+E007E)
//!   after a visible character and closed by U+E007F (subdivision flags);
//! - no noncharacters (U+FDD0–U+FDEF and the last two code points of every plane);
//! - no whitespace at either end, no dot at the end (Windows drops trailing dots and spaces);
//! - not a Windows device name (`CON`, `PRN`, `AUX`, `NUL`, `COM0`–`COM9`, `LPT0`–`LPT9`, the
//!   superscript `COM¹`… forms, `CONIN$`, `CONOUT$`), in any case, with or without an
//!   extension (`con.txt`), since Windows treats those as devices whatever follows the dot.
//!
//! Private-use characters and unassigned code points are allowed.
//!
//! The key: `key(x) = NFC(full_case_fold(NFD(x)))`, the Unicode default case folding (with
//! `ß` → `ss`, `ς` → `σ`, `ﬁ` → `fi`, not the simple lower-casing it replaced), so two names
//! have equal keys exactly when they are canonical caseless matches (Unicode §3.13, D145).

use std::fmt;

use caseless::Caseless;
use unicode_normalization::UnicodeNormalization;

/// Longest name in bytes of UTF-8 after NFC normalization; the common file-system limit.
pub const MAX_NAME_BYTES: usize = 255;

/// How deep folders may nest: the root folder is level 0, a folder in it level 1, and no
/// folder may be below level 64 (a file may sit in a folder at level 64). Deep enough for any
/// real tree (paths past Windows' 260 characters come well before it), shallow enough that
/// walking from a node to the root stays cheap.
pub const MAX_FOLDER_DEPTH: u32 = 64;

/// The version of the key rule (and of the Unicode tables under it). Stored keys written under
/// an older version are recomputed when the server starts; bump it whenever [`key`] can give
/// a different answer, such as after an upgrade of `caseless` to a newer Unicode version.
pub const KEY_VERSION: i64 = 1;

/// A tag Cairn adds to a name (`conflicted copy <device> <date>`, `restored 2`) is cut to this
/// many bytes, so a shortened name always keeps some of its own stem.
pub const MAX_TAG_BYTES: usize = 128;

/// A checked name: `display` is what the user sees (NFC), `key` is what must be unique per folder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Name {
    pub display: String,
    pub key: String,
}

/// Why a name was refused; `Display` gives a sentence a user can act on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NameError {
    Empty,
    DotName,
    TooLong {
        bytes: usize,
    },
    Separator(char),
    WindowsChar(char),
    Control(char),
    LineSeparator(char),
    Bidi(char),
    Invisible(char),
    Noncharacter(char),
    /// A joiner, variation selector or tag character where it joins or modifies nothing.
    Stray(char),
    EdgeSpace,
    TrailingDot,
    WindowsReserved(String),
}

impl fmt::Display for NameError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let u = |c: &char| format!("U+{:04X}", u32::from(*c));
        match self {
            NameError::Empty => write!(f, "a name cannot be empty"),
            NameError::DotName => write!(f, "`.` and `..` are not names"),
            NameError::TooLong { bytes } => write!(
                f,
                "a name can be at most {MAX_NAME_BYTES} bytes long in UTF-8; this one has {bytes}"
            ),
            NameError::Separator(_) => write!(f, "a name cannot contain `/` or `\\`"),
            NameError::WindowsChar(c) => write!(
                f,
                "a name cannot contain `{c}`: Windows cannot store < > : \" | ? * in names"
            ),
            NameError::Control(c) => {
                write!(f, "a name cannot contain control characters ({})", u(c))
            }
            NameError::LineSeparator(c) => write!(
                f,
                "a name cannot contain line or paragraph separators ({})",
                u(c)
            ),
            NameError::Bidi(c) => write!(
                f,
                "a name cannot contain bidirectional controls ({}): they make a name show in \
                 another order than it has",
                u(c)
            ),
            NameError::Invisible(c) => {
                write!(f, "a name cannot contain invisible characters ({})", u(c))
            }
            NameError::Noncharacter(c) => {
                write!(f, "a name cannot contain Unicode noncharacters ({})", u(c))
            }
            NameError::Stray(c) => write!(
                f,
                "{} may only join or modify visible characters (as in emoji sequences), not \
                 stand at an edge or beside a space",
                u(c)
            ),
            NameError::EdgeSpace => write!(f, "a name cannot start or end with whitespace"),
            NameError::TrailingDot => {
                write!(
                    f,
                    "a name cannot end with a dot (Windows drops trailing dots)"
                )
            }
            NameError::WindowsReserved(base) => write!(
                f,
                "`{base}` is a reserved device name on Windows, with or without an extension"
            ),
        }
    }
}

impl std::error::Error for NameError {}

/// What a character is, for the rules above.
#[derive(Clone, Copy)]
enum Class {
    Visible,
    Space,
    /// ZWJ, ZWNJ: allowed between two visible characters.
    Joiner,
    /// Variation selectors: allowed right after a visible character.
    Selector,
    /// Emoji tag characters: after a visible character or another tag, closed by `CancelTag`.
    Tag,
    CancelTag,
    Refused(fn(char) -> NameError),
}

fn class(c: char) -> Class {
    let n = u32::from(c);
    match n {
        0x2F | 0x5C => Class::Refused(NameError::Separator),
        0x3C | 0x3E | 0x3A | 0x22 | 0x7C | 0x3F | 0x2A => Class::Refused(NameError::WindowsChar),
        0x2028 | 0x2029 => Class::Refused(NameError::LineSeparator),
        _ if c.is_control() => Class::Refused(NameError::Control),
        0x061C | 0x200E | 0x200F | 0x202A..=0x202E | 0x2066..=0x2069 => {
            Class::Refused(NameError::Bidi)
        }
        0x200C | 0x200D => Class::Joiner,
        0xFE00..=0xFE0F | 0xE0100..=0xE01EF | 0x180B..=0x180D | 0x180F => Class::Selector,
        0xE0020..=0xE007E => Class::Tag,
        0xE007F => Class::CancelTag,
        // Default-ignorable code points (DerivedCoreProperties.txt) not allowed above, and the
        // interlinear annotation controls: nothing a reader could see.
        0x00AD
        | 0x034F
        | 0x115F
        | 0x1160
        | 0x17B4
        | 0x17B5
        | 0x180E
        | 0x200B
        | 0x2060..=0x2065
        | 0x206A..=0x206F
        | 0x3164
        | 0xFEFF
        | 0xFFA0
        | 0xFFF0..=0xFFFB
        | 0x1BCA0..=0x1BCA3
        | 0x1D173..=0x1D17A
        | 0xE0000..=0xE001F
        | 0xE0080..=0xE00FF
        | 0xE01F0..=0xE0FFF => Class::Refused(NameError::Invisible),
        0xFDD0..=0xFDEF => Class::Refused(NameError::Noncharacter),
        _ if n & 0xFFFE == 0xFFFE => Class::Refused(NameError::Noncharacter),
        _ if c.is_whitespace() => Class::Space,
        _ => Class::Visible,
    }
}

/// Checks `raw` against the rules and returns its NFC form with its key.
pub fn check(raw: &str) -> Result<Name, NameError> {
    let display: String = raw.nfc().collect();
    if let Some((_, e)) = first_problem(&display) {
        return Err(e);
    }
    let key = key(&display);
    Ok(Name { display, key })
}

/// The key a name is unique by in its folder: `NFC(full_case_fold(NFD(name)))`. Also the form
/// search queries and the search index use, so a query matches whatever case it is typed in.
pub fn key(name: &str) -> String {
    name.chars().nfd().default_case_fold().nfc().collect()
}

/// The first rule `s` (already NFC) breaks, with the byte offset of the character at fault
/// (0 for rules about the whole name).
fn first_problem(s: &str) -> Option<(usize, NameError)> {
    if s.is_empty() {
        return Some((0, NameError::Empty));
    }
    if s == "." || s == ".." {
        return Some((0, NameError::DotName));
    }
    if s.len() > MAX_NAME_BYTES {
        return Some((0, NameError::TooLong { bytes: s.len() }));
    }
    let chars: Vec<(usize, char, Class)> =
        s.char_indices().map(|(i, c)| (i, c, class(c))).collect();
    for (k, &(i, c, cl)) in chars.iter().enumerate() {
        let prev = k.checked_sub(1).map(|p| chars[p].2);
        let next = chars.get(k + 1).map(|n| n.2);
        let fine = match cl {
            Class::Refused(e) => return Some((i, e(c))),
            Class::Visible | Class::Space => true,
            Class::Joiner => {
                matches!(
                    prev,
                    Some(Class::Visible | Class::Selector | Class::CancelTag)
                ) && matches!(next, Some(Class::Visible))
            }
            Class::Selector => matches!(prev, Some(Class::Visible)),
            Class::Tag => {
                matches!(prev, Some(Class::Visible | Class::Tag))
                    && chars[k..]
                        .iter()
                        .find(|t| !matches!(t.2, Class::Tag))
                        .is_some_and(|t| matches!(t.2, Class::CancelTag))
            }
            Class::CancelTag => matches!(prev, Some(Class::Tag)),
        };
        if !fine {
            return Some((i, NameError::Stray(c)));
        }
    }
    if s.starts_with(char::is_whitespace) || s.ends_with(char::is_whitespace) {
        return Some((0, NameError::EdgeSpace));
    }
    if s.ends_with('.') {
        return Some((s.len() - 1, NameError::TrailingDot));
    }
    if let Some(base) = windows_device(s) {
        return Some((0, NameError::WindowsReserved(base.to_owned())));
    }
    None
}

/// The device name `s` stands for on Windows, if any: the part before the first dot, less
/// trailing spaces, compared without regard to ASCII case.
fn windows_device(s: &str) -> Option<&str> {
    let base = s.split('.').next().unwrap_or(s).trim_end_matches(' ');
    let upper = base.to_ascii_uppercase();
    let reserved = match upper.as_str() {
        "CON" | "PRN" | "AUX" | "NUL" | "CONIN$" | "CONOUT$" => true,
        _ => match upper
            .strip_prefix("COM")
            .or_else(|| upper.strip_prefix("LPT"))
        {
            Some(d) => {
                let mut ds = d.chars();
                matches!(
                    (ds.next(), ds.next()),
                    (Some('0'..='9' | '¹' | '²' | '³'), None)
                )
            }
            None => false,
        },
    };
    reserved.then_some(base)
}

/// Turns any string into a name that passes [`check`], changing as little as it can: characters
/// a name cannot hold are dropped (invisible, bidi, control) or become `_` (`/ \ < > : " | ? *`),
/// ends are trimmed, a Windows device name gets a `_` in front, and a name left empty is `_`.
/// A valid name comes back as its NFC form. Used for names stored under older rules, and for
/// the device names that go into conflicted-copy tags.
pub fn sanitize(raw: &str) -> String {
    let mut s: String = raw.nfc().collect();
    // Every fix removes a character, shortens the name or (once) prepends `_`; the bound is
    // a guard, never reached (a property test checks every result is valid).
    for _ in 0..(4 * s.len() + 8) {
        let Some((at, problem)) = first_problem(&s) else {
            return s;
        };
        s = match problem {
            NameError::Empty | NameError::DotName => "_".to_owned(),
            NameError::TooLong { .. } => {
                let mut cut = MAX_NAME_BYTES;
                while !s.is_char_boundary(cut) {
                    cut -= 1;
                }
                s[..cut].to_owned()
            }
            NameError::Separator(c) | NameError::WindowsChar(c) => replace_at(&s, at, c, "_"),
            NameError::Control(c)
            | NameError::LineSeparator(c)
            | NameError::Bidi(c)
            | NameError::Invisible(c)
            | NameError::Noncharacter(c)
            | NameError::Stray(c) => replace_at(&s, at, c, ""),
            NameError::EdgeSpace => s.trim().to_owned(),
            NameError::TrailingDot => s.trim_end_matches(['.', ' ']).to_owned(),
            NameError::WindowsReserved(_) => format!("_{s}"),
        }
        .nfc()
        .collect();
    }
    "_".to_owned()
}

fn replace_at(s: &str, at: usize, c: char, with: &str) -> String {
    format!("{}{with}{}", &s[..at], &s[at + c.len_utf8()..])
}

/// A tag as it goes between the parentheses of a derived name: what a name cannot hold is
/// dropped or replaced (as in [`sanitize`]), at most [`MAX_TAG_BYTES`], never empty.
pub fn clean_tag(tag: &str) -> String {
    let mut t = sanitize(tag);
    if t.len() > MAX_TAG_BYTES {
        let mut cut = MAX_TAG_BYTES;
        while !t.is_char_boundary(cut) {
            cut -= 1;
        }
        t = sanitize(&t[..cut]);
    }
    t
}

/// `a.tar.gz` → (`a.tar`, `.gz`); a leading dot is part of the stem (`.bashrc` has no extension).
pub fn split_ext(name: &str) -> (&str, &str) {
    match name.rfind('.') {
        Some(i) if i > 0 => (&name[..i], &name[i..]),
        _ => (name, ""),
    }
}

/// The least a derived name keeps of its own stem before its extension gives way instead.
const MIN_STEM_BYTES: usize = 16;

/// `stem (tag).ext`: the name Cairn gives a node when two want one name (conflicted copies,
/// restored items). Always a valid name of at most [`MAX_NAME_BYTES`]: when it would be
/// longer, the stem is shortened (on a character boundary, never leaving a joiner or an
/// unclosed emoji tag behind) and the tag and extension are kept. An extension so long that
/// fewer than 16 bytes of stem would remain counts as part of the stem. `name` need not be
/// valid (an old stored name): it is [`sanitize`]d first; the tag is [`clean_tag`]ged.
pub fn derive(name: &str, tag: &str) -> Name {
    let base = sanitize(name);
    let tag = clean_tag(tag);
    let (mut stem, mut ext) = split_ext(&base);
    if format!(" ({tag}){ext}").len() + MIN_STEM_BYTES > MAX_NAME_BYTES {
        (stem, ext) = (base.as_str(), "");
    }
    let suffix = format!(" ({tag}){ext}");
    let mut cut = stem.len().min(MAX_NAME_BYTES - suffix.len());
    loop {
        while !stem.is_char_boundary(cut) {
            cut -= 1;
        }
        if cut == 0 {
            break;
        }
        if let Ok(name) = check(&format!("{}{suffix}", &stem[..cut])) {
            if name.display.len() <= MAX_NAME_BYTES {
                return name;
            }
        }
        cut -= 1;
    }
    // Nothing of the stem fits before the suffix (never for a valid tag, see the tests).
    check(&format!("_{suffix}")).unwrap_or_else(|_| Name {
        display: "_".to_owned(),
        key: "_".to_owned(),
    })
}

#[cfg(test)]
mod tests;
