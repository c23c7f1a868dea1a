//! The 32-byte BLAKE3 hash: chunk names (object keys) and file content hashes, written as
//! lowercase hex everywhere they leave memory.

use std::fmt;
use std::str::FromStr;

use serde::de::{self, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::{ChunkRef, ChunkerError};

/// A BLAKE3 hash. `Display`, `FromStr` and serde use 64 lowercase hex digits, and only that
/// form is accepted, so a hash has exactly one spelling in URLs, object keys and SQL.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Hash(pub [u8; 32]);

/// The derive-key context of [`file_hash`]; see the crate docs for the full definition.
pub const FILE_HASH_CONTEXT: &str = "cairn 2025 file content hash from chunk list v1";

/// The name of a chunk: the plain BLAKE3 hash of its bytes. The API recomputes it over uploaded
/// bytes before a chunk is usable.
pub fn hash_chunk(bytes: &[u8]) -> Hash {
    Hash(*blake3::hash(bytes).as_bytes())
}

/// The content hash of a file, computed from its chunk list alone (no second pass over the
/// bytes): BLAKE3 in derive-key mode with [`FILE_HASH_CONTEXT`] over
/// `len(chunker_id) as u64 LE || chunker_id || (chunk hash || chunk size as u64 LE)*`.
pub fn file_hash(chunker_id: &str, chunks: &[ChunkRef]) -> Hash {
    let mut hasher = blake3::Hasher::new_derive_key(FILE_HASH_CONTEXT);
    hasher.update(&(chunker_id.len() as u64).to_le_bytes());
    hasher.update(chunker_id.as_bytes());
    for chunk in chunks {
        hasher.update(&chunk.hash.0);
        hasher.update(&u64::from(chunk.size).to_le_bytes());
    }
    Hash(*hasher.finalize().as_bytes())
}

impl Hash {
    /// The 32 raw bytes.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    fn write_hex<'a>(&self, buf: &'a mut [u8; 64]) -> &'a str {
        // Cannot fail: the buffer is exactly twice the input, and hex digits are ASCII.
        hex::encode_to_slice(self.0, buf).expect("64-byte buffer for 32 bytes");
        std::str::from_utf8(buf).expect("hex is ASCII")
    }
}

impl From<blake3::Hash> for Hash {
    fn from(hash: blake3::Hash) -> Self {
        Hash(*hash.as_bytes())
    }
}

impl fmt::Display for Hash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.write_hex(&mut [0; 64]))
    }
}

impl fmt::Debug for Hash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Hash({self})")
    }
}

impl FromStr for Hash {
    type Err = ChunkerError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let canonical = s.len() == 64 && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'));
        let mut bytes = [0; 32];
        if !canonical || hex::decode_to_slice(s, &mut bytes).is_err() {
            return Err(ChunkerError::InvalidHash {
                value: s.chars().take(80).collect(),
            });
        }
        Ok(Hash(bytes))
    }
}

impl Serialize for Hash {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.write_hex(&mut [0; 64]))
    }
}

impl<'de> Deserialize<'de> for Hash {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct HexVisitor;

        impl Visitor<'_> for HexVisitor {
            type Value = Hash;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("64 lowercase hex digits")
            }

            fn visit_str<E: de::Error>(self, v: &str) -> Result<Hash, E> {
                v.parse().map_err(E::custom)
            }
        }

        deserializer.deserialize_str(HexVisitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunk_hash_is_plain_blake3() {
        // The published BLAKE3 hash of the empty input.
        assert_eq!(
            hash_chunk(b"").to_string(),
            "af1349b9f5f9a1a6a0404dea36dcc9499bcb25c9adc112b7cc9a93cae41f3262"
        );
    }

    #[test]
    fn hex_round_trips_and_is_canonical() {
        let hash = hash_chunk(b"cairn");
        let text = hash.to_string();
        assert_eq!(text.parse::<Hash>().unwrap(), hash);
        assert_eq!(format!("{hash:?}"), format!("Hash({text})"));
        for bad in [
            text.to_uppercase(),
            text[..63].to_string(),
            format!("{text}0"),
            format!("g{}", &text[1..]),
            String::new(),
        ] {
            assert!(bad.parse::<Hash>().is_err(), "{bad:?}");
        }
    }

    #[test]
    fn file_hash_depends_on_id_hashes_and_sizes() {
        let chunk = ChunkRef {
            hash: hash_chunk(b"abc"),
            offset: 0,
            size: 3,
        };
        let base = file_hash("a", &[chunk]);
        assert_ne!(base, file_hash("b", &[chunk]));
        assert_ne!(base, file_hash("a", &[]));
        assert_ne!(base, file_hash("a", &[ChunkRef { size: 4, ..chunk }]));
        assert_ne!(file_hash("a", &[]), file_hash("b", &[]));
        // Offsets are implied by the sizes and not hashed.
        assert_eq!(base, file_hash("a", &[ChunkRef { offset: 9, ..chunk }]));
    }
}
