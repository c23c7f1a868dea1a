//! Link tokens: 192 random bits, base64url, shown once; the database keeps only their BLAKE3
//! hash, so a copy of it opens no link, and a lookup by hash gives an attacker no timing on
//! how much of a guess was right.

use rand::RngCore;

const BYTES: usize = 24;
/// Characters of a token: 24 bytes in unpadded base64url.
pub const LEN: usize = 32;
const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

pub fn new() -> String {
    let mut b = [0u8; BYTES];
    rand::rngs::OsRng.fill_bytes(&mut b);
    let mut s = String::with_capacity(LEN);
    for group in b.chunks(3) {
        let n = (group[0] as u32) << 16 | (group[1] as u32) << 8 | group[2] as u32;
        for shift in [18, 12, 6, 0] {
            s.push(ALPHABET[(n >> shift & 63) as usize] as char);
        }
    }
    s
}

/// Whether `s` could be a token at all (checked before any lookup).
pub fn well_formed(s: &str) -> bool {
    s.len() == LEN && s.bytes().all(|b| ALPHABET.contains(&b))
}

pub fn hash(token: &str) -> String {
    blake3::hash(token.as_bytes()).to_hex().to_string()
}

#[cfg(test)]
mod tests {
    #[test]
    fn tokens_are_long_random_and_url_safe() {
        let a = super::new();
        let b = super::new();
        assert_ne!(a, b);
        assert!(super::well_formed(&a), "{a}");
        assert!(!super::well_formed("../../etc"));
        assert_eq!(super::hash(&a).len(), 64);
    }
}
