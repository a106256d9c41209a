//! The canonical encoding of any JSON value (`canonical::to_canonical_bytes`), and the ledger
//! header's hand-written encoder (`EntryHeader::to_bytes`).
//!
//! * Encoding never panics; the bytes decode to an equal value, which re-encodes to the same
//!   bytes (round trip), and they are compact JSON with sorted keys (as serde_json writes a
//!   sorted map compactly).
//! * A header built from the input encodes to exactly the canonical encoding of its JSON value.
#![no_main]

use fieldtrail_domain::canonical::{from_unix_micros, to_canonical_bytes, EntryHeader};
use fieldtrail_domain::submission::record_id;
use libfuzzer_sys::fuzz_target;
use serde_json::{json, Map, Value};

fuzz_target!(|data: &[u8]| {
    let Ok(value) = serde_json::from_slice::<Value>(data) else {
        return;
    };
    let bytes = to_canonical_bytes(&value);
    let text = std::str::from_utf8(&bytes).expect("canonical bytes are UTF-8");
    let decoded: Value = serde_json::from_str(text).expect("canonical bytes are JSON");
    assert_eq!(decoded, value, "the encoding changed the value");
    assert_eq!(
        to_canonical_bytes(&decoded),
        bytes,
        "re-encoding changed the bytes"
    );
    if map_is_sorted() {
        let compact = serde_json::to_vec(&value).expect("serialising a Value cannot fail");
        assert_eq!(
            String::from_utf8_lossy(&compact),
            text,
            "canonical bytes differ from serde_json's compact sorted form"
        );
    }

    // A ledger header made of the input's members (defaults where they are missing).
    let member = |key: &str| value.get(key);
    let string = |key: &str| member(key).and_then(Value::as_str).map(str::to_owned);
    let micros = |key: &str| member(key).and_then(Value::as_i64).unwrap_or(0);
    let entry_id = record_id(&json!({"id": string("id").unwrap_or_default()}))
        .or_else(|| record_id(&json!({"id": "0190f1a4-3c55-7d2e-9e1f-2a5b7c9d0e11"})))
        .expect("a valid UUID");
    let kind = string("kind").unwrap_or_else(|| "check_in".to_owned());
    let mut payload_hash = [0u8; 32];
    for (i, b) in bytes.iter().enumerate() {
        payload_hash[i % 32] ^= b;
    }
    let header = EntryHeader {
        seq: micros("seq"),
        entry_id,
        kind: &kind,
        actor: string("actor"),
        unit: string("unit"),
        captured_at: from_unix_micros(micros("captured_at")),
        received_at: from_unix_micros(micros("received_at")),
        verdicts: member("verdicts").cloned().unwrap_or(value.clone()),
        payload_hash,
    };
    let fast = header.to_bytes();
    assert_eq!(
        String::from_utf8_lossy(&fast),
        String::from_utf8_lossy(&to_canonical_bytes(&header.to_value())),
        "EntryHeader::to_bytes differs from the canonical encoding of to_value"
    );
});

/// Whether serde_json's map keeps keys sorted (it does unless built with `preserve_order`).
fn map_is_sorted() -> bool {
    let mut map = Map::new();
    map.insert("b".into(), Value::Null);
    map.insert("a".into(), Value::Null);
    map.keys().next().map(String::as_str) == Some("a")
}
