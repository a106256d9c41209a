//! Dates and times: impossible dates, years beyond four digits, and times without offsets.

use super::*;
use fieldtrail_tests::both_backends;

/// Instants that are not RFC 3339 instants with an offset.
const BAD_INSTANTS: [&str; 20] = [
    "2026-02-30T08:00:00+08:00",
    "2026-02-29T08:00:00+08:00",
    "2025-04-31T08:00:00Z",
    "2026-13-01T08:00:00Z",
    "2026-00-10T08:00:00Z",
    "2026-01-00T08:00:00Z",
    "2026-01-05T24:00:00Z",
    "2026-01-05T08:60:00Z",
    "2026-01-05T08:30:61Z",
    "10000-01-01T00:00:00Z",
    "+10000-01-01T00:00:00Z",
    "-0001-01-01T00:00:00Z",
    "2026-01-05T08:30:00",
    "2026-01-05T08:30:00.123",
    "2026-01-05T08:30",
    "2026-01-05 08:30:00+08:00",
    "2026-01-05T08:30:00+25:00",
    "2026-01-05T08:30:00 +08:00",
    "2026-01-05",
    "1767573000",
];

const BAD_DATES: [&str; 12] = [
    "2026-02-30",
    "2026-02-29",
    "2025-04-31",
    "2026-13-01",
    "2026-00-01",
    "2026-01-00",
    "10000-01-01",
    "+10000-01-01",
    "2026-1-5",
    "2026/01/05",
    "2026-01-05T00:00:00+08:00",
    "",
];

fn impossible_and_offsetless_instants_are_named(backend: Backend) {
    let Some(s) = setup(backend) else {
        return;
    };
    for captured_at in BAD_INSTANTS {
        let mut body = check_in(A_CENTRE.0, A_CENTRE.1, 10.0);
        body["captured_at"] = json!(captured_at);
        let resp = refused_json(
            &s.app,
            "/v1/records",
            &s.cadre.token,
            &body,
            422,
            &["/captured_at"],
        );
        assert_eq!(
            resp.pointers(),
            ["/captured_at"],
            "{captured_at}: {}",
            resp.text
        );
    }
    // The record filters take the same format: a bad bound is a 422 naming the parameter.
    for bound in ["from", "to"] {
        for value in BAD_INSTANTS {
            let encoded: String = value
                .bytes()
                .map(|b| match b {
                    b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b':' => {
                        (b as char).to_string()
                    }
                    _ => format!("%{b:02X}"),
                })
                .collect();
            let path = format!("/v1/people/{}/records?{bound}={encoded}", s.cadre.id);
            let resp = s.app.get(&path, Some(&s.cadre.token));
            assert_refusal(&resp, &[422], &[&format!("/{bound}")], &path);
        }
    }
    // A leap day that exists is taken.
    let mut leap = check_in(A_CENTRE.0, A_CENTRE.1, 10.0);
    leap["captured_at"] = json!("2024-02-29T08:00:00+08:00");
    let resp = s.app.post("/v1/records", Some(&s.cadre.token), &leap);
    assert_eq!(resp.status, 201, "{}", resp.text);
    still_serving(&s);
}

fn impossible_dates_are_named(backend: Backend) {
    let Some(s) = setup(backend) else {
        return;
    };
    for date in BAD_DATES {
        for member in ["valid_from", "valid_to"] {
            let mut body = good_assignment(&s.cadre.id);
            body[member] = json!(date);
            refused_json(
                &s.app,
                "/v1/assignments",
                &s.root,
                &body,
                422,
                &[&format!("/{member}")],
            );
        }
        // Pairings take the same dates.
        let household = s.app.household(&s.root, VILLAGE_A, A_CENTRE.0, A_CENTRE.1);
        let body = json!({"person_id": s.cadre.id, "household_id": household,
                          "valid_from": date});
        refused_json(
            &s.app,
            "/v1/pairings",
            &s.root,
            &body,
            422,
            &["/valid_from"],
        );
    }
    // The leap day of a leap year is a date.
    let resp = s.app.post(
        "/v1/assignments",
        Some(&s.root),
        &good_assignment(&s.cadre.id),
    );
    assert_eq!(resp.status, 201, "{}", resp.text);
    still_serving(&s);
}

both_backends!(
    impossible_and_offsetless_instants_are_named,
    impossible_dates_are_named,
);
