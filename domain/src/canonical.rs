//! The canonical byte encoding of ledger entries (documented in docs/ledger.md).
//!
//! An entry is a *header* (ids, kind, times, verdicts) that commits to a *payload* (the personal
//! content: exact coordinates, notes, admin data) through a salted hash. The Merkle leaf covers the
//! header only, so a payload can be purged after its legal retention without breaking the tree.
//!
//! Both are canonical JSON: UTF-8, no insignificant white space, object members sorted by the
//! bytes of their keys, strings escaped as serde_json escapes them, integers in decimal and other
//! numbers in their shortest round-trip form. The same value always gives the same bytes, whatever
//! features serde_json is built with, because this module writes the bytes itself.

use serde_json::Value;
use sha2::{Digest, Sha256};
use std::io::Write;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

/// Version of the header layout; bumped if the encoding ever changes.
pub const ENTRY_FORMAT_VERSION: u64 = 1;

/// Appends the canonical encoding of `value` to `out`.
pub fn write_canonical(value: &Value, out: &mut Vec<u8>) {
    match value {
        Value::Null => out.extend_from_slice(b"null"),
        Value::Bool(true) => out.extend_from_slice(b"true"),
        Value::Bool(false) => out.extend_from_slice(b"false"),
        // Writing into a Vec cannot fail.
        Value::Number(number) => {
            let _ = write!(out, "{number}");
        }
        Value::String(text) => write_string(text, out),
        Value::Array(items) => {
            out.push(b'[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_canonical(item, out);
            }
            out.push(b']');
        }
        Value::Object(members) => {
            let in_order = members
                .keys()
                .zip(members.keys().skip(1))
                .all(|(a, b)| a.as_bytes() < b.as_bytes());
            out.push(b'{');
            if in_order {
                // serde_json's default map keeps keys sorted already: no need to sort a copy.
                write_members(members.iter(), out);
            } else {
                let mut sorted: Vec<(&String, &Value)> = members.iter().collect();
                sorted.sort_unstable_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
                write_members(sorted.into_iter(), out);
            }
            out.push(b'}');
        }
    }
}

fn write_members<'a>(members: impl Iterator<Item = (&'a String, &'a Value)>, out: &mut Vec<u8>) {
    for (i, (key, item)) in members.enumerate() {
        if i > 0 {
            out.push(b',');
        }
        write_string(key, out);
        out.push(b':');
        write_canonical(item, out);
    }
}

fn write_string(text: &str, out: &mut Vec<u8>) {
    // Serialising a &str into a Vec cannot fail; the fallback keeps this total without a panic.
    let start = out.len();
    if serde_json::to_writer(&mut *out, text).is_err() {
        out.truncate(start);
        out.extend_from_slice(b"\"\"");
    }
}

fn write_optional_string(text: Option<&str>, out: &mut Vec<u8>) {
    match text {
        Some(text) => write_string(text, out),
        None => out.extend_from_slice(b"null"),
    }
}

pub fn to_canonical_bytes(value: &Value) -> Vec<u8> {
    let mut out = Vec::with_capacity(256);
    write_canonical(value, &mut out);
    out
}

/// RFC 6962 leaf hash: SHA-256(0x00 ‖ entry bytes).
pub fn leaf_hash(entry_bytes: &[u8]) -> [u8; 32] {
    let mut hasher = Sha256::new();
    hasher.update([0u8]);
    hasher.update(entry_bytes);
    hasher.finalize().into()
}

/// SHA-256(salt ‖ payload bytes): what the header commits to. The salt stops anyone from
/// confirming a guessed position against the hash once the payload itself is purged.
pub fn payload_hash(salt: &[u8], payload_bytes: &[u8]) -> [u8; 32] {
    let mut hasher = Sha256::new();
    hasher.update(salt);
    hasher.update(payload_bytes);
    hasher.finalize().into()
}

/// Times in headers: UTC, always six fractional digits, so equal instants give equal bytes.
pub fn format_utc_micros(at: OffsetDateTime) -> String {
    let mut out = Vec::with_capacity(27);
    write_utc_micros(at, &mut out);
    String::from_utf8(out).unwrap_or_default()
}

fn write_utc_micros(at: OffsetDateTime, out: &mut Vec<u8>) {
    let utc = at.to_offset(time::UtcOffset::UTC);
    let _ = write!(
        out,
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:06}Z",
        utc.year(),
        u8::from(utc.month()),
        utc.day(),
        utc.hour(),
        utc.minute(),
        utc.second(),
        utc.microsecond()
    );
}

/// Microseconds since the Unix epoch, the form times take in storage.
pub fn unix_micros(at: OffsetDateTime) -> i64 {
    let micros = at.unix_timestamp_nanos() / 1_000;
    i64::try_from(micros).unwrap_or(i64::MAX)
}

pub fn from_unix_micros(micros: i64) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(micros) * 1_000)
        .unwrap_or(OffsetDateTime::UNIX_EPOCH)
}

/// Not an RFC 3339 date-time with an offset.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("must be an RFC 3339 date-time with an offset, e.g. 2026-11-23T08:30:00+08:00")]
pub struct NotRfc3339;

/// Parses an RFC 3339 date-time. The `time` crate also takes a space between date and time,
/// which RFC 3339's grammar does not (its note only allows applications to choose one): refused,
/// so that every stored instant reads the same in every tool.
pub fn parse_rfc3339(raw: &str) -> Result<OffsetDateTime, NotRfc3339> {
    if !matches!(raw.as_bytes().get(10), Some(b'T' | b't')) {
        return Err(NotRfc3339);
    }
    OffsetDateTime::parse(raw, &Rfc3339).map_err(|_| NotRfc3339)
}

/// The header of one ledger entry, before it is encoded.
#[derive(Debug, Clone)]
pub struct EntryHeader<'a> {
    pub seq: i64,
    pub entry_id: uuid::Uuid,
    pub kind: &'a str,
    pub actor: Option<String>,
    pub unit: Option<String>,
    pub captured_at: OffsetDateTime,
    pub received_at: OffsetDateTime,
    pub verdicts: Value,
    pub payload_hash: [u8; 32],
}

impl EntryHeader<'_> {
    pub fn to_value(&self) -> Value {
        serde_json::json!({
            "v": ENTRY_FORMAT_VERSION,
            "seq": self.seq,
            "id": self.entry_id.to_string(),
            "kind": self.kind,
            "actor": self.actor,
            "unit": self.unit,
            "captured_at": format_utc_micros(self.captured_at),
            "received_at": format_utc_micros(self.received_at),
            "verdicts": self.verdicts,
            "payload_hash": hex::encode(self.payload_hash),
        })
    }

    /// The canonical bytes of [`Self::to_value`], written directly: every ledger append
    /// encodes a header, so this skips building the JSON value first.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(384);
        out.push(b'{');
        // The members in the byte order of their keys, as the canonical encoding sorts them.
        member(&mut out, "actor", |out| {
            write_optional_string(self.actor.as_deref(), out)
        });
        member(&mut out, "captured_at", |out| {
            write_quoted_time(self.captured_at, out)
        });
        member(&mut out, "id", |out| {
            let mut id = uuid::Uuid::encode_buffer();
            write_string(self.entry_id.hyphenated().encode_lower(&mut id), out);
        });
        member(&mut out, "kind", |out| write_string(self.kind, out));
        member(&mut out, "payload_hash", |out| {
            write_string(&hex::encode(self.payload_hash), out)
        });
        member(&mut out, "received_at", |out| {
            write_quoted_time(self.received_at, out)
        });
        member(&mut out, "seq", |out| {
            let _ = write!(out, "{}", self.seq);
        });
        member(&mut out, "unit", |out| {
            write_optional_string(self.unit.as_deref(), out)
        });
        member(&mut out, "v", |out| {
            let _ = write!(out, "{ENTRY_FORMAT_VERSION}");
        });
        member(&mut out, "verdicts", |out| {
            write_canonical(&self.verdicts, out)
        });
        out.push(b'}');
        out
    }
}

/// `"key":value` in an object being written, after a comma unless it is the first member.
fn member(out: &mut Vec<u8>, key: &str, value: impl FnOnce(&mut Vec<u8>)) {
    if out.last() != Some(&b'{') {
        out.push(b',');
    }
    write_string(key, out);
    out.push(b':');
    value(out);
}

fn write_quoted_time(at: OffsetDateTime, out: &mut Vec<u8>) {
    out.push(b'"');
    write_utc_micros(at, out);
    out.push(b'"');
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn objects_are_sorted_and_compact_whatever_the_input_order() {
        let a: Value =
            serde_json::from_str(r#"{ "b": 1, "a": [true, null, "x"], "c": {"z": 1.5, "y": -2} }"#)
                .unwrap();
        let b: Value =
            serde_json::from_str(r#"{"c":{"y":-2,"z":1.5},"a":[true,null,"x"],"b":1}"#).unwrap();
        let expected = br#"{"a":[true,null,"x"],"b":1,"c":{"y":-2,"z":1.5}}"#;
        assert_eq!(to_canonical_bytes(&a), expected.to_vec());
        assert_eq!(to_canonical_bytes(&b), expected.to_vec());
    }

    #[test]
    fn strings_and_numbers_have_one_form() {
        let value = json!({"name": "萧县 \"quoted\"\n", "lon": 116.9, "n": 1e21, "i": -7});
        assert_eq!(
            String::from_utf8(to_canonical_bytes(&value)).unwrap(),
            "{\"i\":-7,\"lon\":116.9,\"n\":1e+21,\"name\":\"萧县 \\\"quoted\\\"\\n\"}"
        );
    }

    #[test]
    fn leaf_hash_matches_rfc6962_empty_leaf_vector() {
        // RFC 6962 §2.1: the hash of the empty leaf is SHA-256(0x00).
        assert_eq!(
            hex::encode(leaf_hash(b"")),
            "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d"
        );
    }

    #[test]
    fn payload_hash_depends_on_the_salt() {
        let payload = br#"{"lat":34.2,"lon":116.9}"#;
        assert_ne!(
            payload_hash(b"salt-a", payload),
            payload_hash(b"salt-b", payload)
        );
        assert_eq!(payload_hash(b"s", payload), payload_hash(b"s", payload));
    }

    #[test]
    fn utc_times_are_normalised_to_microseconds() {
        let at = parse_rfc3339("2026-11-23T08:30:00.5+08:00").unwrap();
        assert_eq!(format_utc_micros(at), "2026-11-23T00:30:00.500000Z");
        assert_eq!(from_unix_micros(unix_micros(at)), at);
    }

    #[test]
    fn header_bytes_are_deterministic_and_cover_every_field() {
        assert_eq!(parse_rfc3339("2026-11-23 00:00:00Z"), Err(NotRfc3339));
        assert!(parse_rfc3339("2026-11-23t00:00:00z").is_ok());
        let at = parse_rfc3339("2026-11-23T00:00:00Z").unwrap();
        let header = EntryHeader {
            seq: 7,
            entry_id: uuid::Uuid::nil(),
            kind: "check_in",
            actor: Some("p".into()),
            unit: None,
            captured_at: at,
            received_at: at,
            verdicts: json!({"geo": "inside"}),
            payload_hash: [0xab; 32],
        };
        let bytes = header.to_bytes();
        assert_eq!(bytes, header.clone().to_bytes());
        let text = String::from_utf8(bytes).unwrap();
        assert!(
            text.starts_with("{\"actor\":\"p\",\"captured_at\":\"2026-11-23T00:00:00.000000Z\"")
        );
        let mut changed = header.clone();
        changed.seq = 8;
        assert_ne!(changed.to_bytes(), header.to_bytes());
    }

    #[test]
    fn header_bytes_are_the_canonical_encoding_of_the_header_value() {
        let at = parse_rfc3339("2026-11-23T08:30:00.123456+08:00").unwrap();
        for (actor, unit) in [(Some("甲 \"x\""), Some("341322")), (None, None)] {
            let header = EntryHeader {
                seq: 1_234_567,
                entry_id: uuid::Uuid::from_u128(0x0190_f1a4_3c55_7d2e_9e1f_2a5b_7c9d_0e11),
                kind: "household_visit",
                actor: actor.map(str::to_owned),
                unit: unit.map(str::to_owned),
                captured_at: at,
                received_at: at + time::Duration::microseconds(7),
                verdicts: json!({"verdict": {"geo": "boundary", "d": -0.5}, "flags": ["late_sync"]}),
                payload_hash: [0x5a; 32],
            };
            assert_eq!(header.to_bytes(), to_canonical_bytes(&header.to_value()));
        }
    }

    #[test]
    fn numbers_are_written_in_a_form_that_reads_back_exactly() {
        // Found by fuzz/fuzz_targets/canonical.rs and record.rs: serde_json's default parser
        // (without `float_roundtrip`) reads these shortest forms back as a neighbouring f64, so
        // the round trip is checked with a correctly rounded parser (Rust's own), which is
        // what the encoding promises to any reader (Python, JavaScript, Go).
        for x in [
            1.2345678901234567e30_f64,
            111.52062718394717,
            -94.45604327343713,
            9.608614567286537,
            9.999999200000001e63,
            5e-324,
            -0.0,
        ] {
            let bytes = to_canonical_bytes(&json!(x));
            let text = std::str::from_utf8(&bytes).unwrap();
            let back: f64 = text.parse().unwrap();
            assert_eq!(back.to_bits(), x.to_bits(), "{x:?} written as {text}");
            assert_eq!(to_canonical_bytes(&json!(back)), bytes);
        }
    }

    #[test]
    fn unsorted_maps_are_sorted_too() {
        // Whatever map type serde_json is built with, a map given out of order comes out sorted.
        let mut map = serde_json::Map::new();
        map.insert("b".into(), json!(1));
        map.insert("a".into(), json!(2));
        assert_eq!(
            to_canonical_bytes(&Value::Object(map)),
            br#"{"a":2,"b":1}"#.to_vec()
        );
    }
}
