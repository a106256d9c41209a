//! Record parsing (`submission::parse_record`) and the canonical encoding of what parses.
//!
//! * Parsing any JSON never panics; every problem it reports is named under the record's pointer.
//! * The canonical encoding of the input parses to the very same record (the encoding keeps
//!   every string and number exactly).
//! * The record's payload, encoded canonically, decodes and re-encodes to the same bytes.
#![no_main]

use fieldtrail_domain::canonical::{from_unix_micros, to_canonical_bytes};
use fieldtrail_domain::submission::parse_record;
use libfuzzer_sys::fuzz_target;
use serde_json::Value;

/// 2026-11-23T12:00:00Z, the server clock for the "more than 5 minutes ahead" check.
const NOW_MICROS: i64 = 1_795_435_200_000_000;

fuzz_target!(|data: &[u8]| {
    let Ok(value) = serde_json::from_slice::<Value>(data) else {
        return;
    };
    let now = from_unix_micros(NOW_MICROS);
    let parsed = parse_record(&value, "", now);

    // The same record inside a batch: same outcome, problems under the batch pointer.
    let in_batch = parse_record(&value, "/records/7", now);
    match (&parsed, &in_batch) {
        (Ok(a), Ok(b)) => assert_eq!(a, b),
        (Err(a), Err(b)) => {
            assert_eq!(a.len(), b.len());
            for (single, batched) in a.iter().zip(b) {
                assert_eq!(format!("/records/7{}", single.pointer), batched.pointer);
                assert_eq!(single.reason, batched.reason);
            }
        }
        _ => panic!("the pointer changed the outcome: {parsed:?} vs {in_batch:?}"),
    }

    // The canonical form of the input is the same record.
    let canonical = to_canonical_bytes(&value);
    let decoded: Value = serde_json::from_slice(&canonical).expect("canonical bytes are JSON");
    assert_eq!(decoded, value, "canonical encoding changed the value");
    assert_eq!(to_canonical_bytes(&decoded), canonical);
    let again = parse_record(&decoded, "", now);
    match (&parsed, &again) {
        (Ok(a), Ok(b)) => assert_eq!(a, b),
        (Err(a), Err(b)) => assert_eq!(a, b),
        _ => panic!("canonical form parsed differently: {parsed:?} vs {again:?}"),
    }

    let Ok(record) = parsed else {
        return;
    };
    if let Some(fix) = record.fix() {
        let (lon, lat) = (fix.position.lon(), fix.position.lat());
        assert!((-180.0..=180.0).contains(&lon) && (-90.0..=90.0).contains(&lat));
        assert!(fix.accuracy.get().is_finite() && fix.accuracy.get() >= 0.0);
    }
    let payload = record.payload_value();
    let bytes = to_canonical_bytes(&payload);
    let decoded: Value = serde_json::from_slice(&bytes).expect("payload bytes are JSON");
    assert_eq!(decoded, payload, "payload changed through its encoding");
    assert_eq!(
        to_canonical_bytes(&decoded),
        bytes,
        "payload bytes are not canonical"
    );
    // Idempotency rests on this: the same record always gives the same payload bytes.
    assert_eq!(to_canonical_bytes(&record.clone().payload_value()), bytes);
});
