//! Positions: latitude and longitude out of range or not numbers at all, accuracy that is not
//! a positive finite number of metres within the limit, and coordinate systems nobody defined.

use super::*;
use fieldtrail_tests::both_backends;

fn coordinates_out_of_range_are_named(backend: Backend) {
    let Some(s) = setup(backend) else {
        return;
    };
    let out_of_range: [(&str, &[f64]); 2] = [
        (
            "lat",
            &[90.000_001, -90.000_001, 91.0, -1e308, 1e308, 360.0],
        ),
        ("lon", &[180.000_001, -180.000_001, 540.0, 1e308, -1e308]),
    ];
    for (axis, values) in out_of_range {
        let on_position = format!("/position/{axis}");
        let on_location = format!("/location/{axis}");
        for &value in values {
            let (lon, lat) = match axis {
                "lat" => (A_CENTRE.0, value),
                _ => (value, A_CENTRE.1),
            };
            let body = check_in(lon, lat, 10.0);
            let resp = refused_json(
                &s.app,
                "/v1/records",
                &s.cadre.token,
                &body,
                422,
                &[&on_position],
            );
            assert_eq!(resp.pointers(), [on_position.as_str()], "{}", resp.text);
            let mut household = good_household();
            household["location"][axis] = json!(value);
            refused_json(
                &s.app,
                "/v1/households",
                &s.root,
                &household,
                422,
                &[&on_location],
            );
        }
    }
    still_serving(&s);
}

/// NaN, Infinity and numbers beyond a double are not JSON: a 400 (naming the member when the
/// parser says where it stopped).
fn non_finite_numbers_are_a_400(backend: Backend) {
    let Some(s) = setup(backend) else {
        return;
    };
    let record = check_in(A_CENTRE.0, A_CENTRE.1, 10.0).to_string();
    let household = good_household().to_string();
    for literal in [
        "NaN",
        "nan",
        "Infinity",
        "-Infinity",
        "inf",
        "1e400",
        "-1e400",
        "1e99999",
    ] {
        for (path, token, text, member, value) in [
            ("/v1/records", &s.cadre.token, &record, "lat", A_CENTRE.1),
            ("/v1/records", &s.cadre.token, &record, "lon", A_CENTRE.0),
            ("/v1/households", &s.root, &household, "lat", A_CENTRE.1),
            ("/v1/households", &s.root, &household, "lon", A_CENTRE.0),
        ] {
            let from = format!("\"{member}\":{value}");
            assert!(text.contains(&from), "{text}");
            let bytes = text.replace(&from, &format!("\"{member}\":{literal}"));
            let resp = refused_raw(&s.app, path, Some(token), bytes.as_bytes(), &[400], &[]);
            for pointer in resp.pointers() {
                assert!(pointer.ends_with(member), "{literal}: {}", resp.text);
            }
        }
        let bytes = record.replace("\"accuracy_m\":10.0", &format!("\"accuracy_m\":{literal}"));
        refused_raw(
            &s.app,
            "/v1/records",
            Some(&s.cadre.token),
            bytes.as_bytes(),
            &[400],
            &[],
        );
    }
    // NaN spelt as a string is a wrong type.
    let mut body = check_in(A_CENTRE.0, A_CENTRE.1, 10.0);
    body["position"]["lat"] = json!("NaN");
    refused_json(
        &s.app,
        "/v1/records",
        &s.cadre.token,
        &body,
        422,
        &["/position/lat"],
    );
    still_serving(&s);
}

fn accuracy_must_be_a_positive_bounded_number(backend: Backend) {
    let Some(s) = setup(backend) else {
        return;
    };
    for accuracy in [0.0, -0.0, -1.0, -1e308, 1e308, 1e12, 500_000.0 * 1e6] {
        let body = check_in(A_CENTRE.0, A_CENTRE.1, accuracy);
        let resp = refused_json(
            &s.app,
            "/v1/records",
            &s.cadre.token,
            &body,
            422,
            &["/position/accuracy_m"],
        );
        assert_eq!(
            resp.pointers(),
            ["/position/accuracy_m"],
            "{accuracy}: {}",
            resp.text
        );
    }
    // The smallest positive double is a positive accuracy: stored, not refused.
    let body = check_in(A_CENTRE.0, A_CENTRE.1, 5e-324);
    let resp = s.app.post("/v1/records", Some(&s.cadre.token), &body);
    assert!(resp.status == 201 || resp.status == 422, "{}", resp.text);
    resp.problem_or_ok();
    still_serving(&s);
}

fn unknown_crs_is_named(backend: Backend) {
    let Some(s) = setup(backend) else {
        return;
    };
    for crs in [
        json!("GCJ02"),
        json!("EPSG:4326"),
        json!("wgs-84"),
        json!("utm50n"),
        json!("mars"),
        json!(""),
        json!("wgs84\u{0}"),
        json!(4326),
        json!(null),
        json!({"type": "name", "properties": {"name": "EPSG:4326"}}),
    ] {
        let mut body = check_in(A_CENTRE.0, A_CENTRE.1, 10.0);
        body["position"]["crs"] = crs.clone();
        if crs.is_null() {
            // null for an optional member: either absent (stored) or refused, never a crash.
            let resp = s.app.post("/v1/records", Some(&s.cadre.token), &body);
            assert!(resp.status == 201 || resp.status == 422, "{}", resp.text);
            continue;
        }
        let resp = refused_json(
            &s.app,
            "/v1/records",
            &s.cadre.token,
            &body,
            422,
            &["/position/crs"],
        );
        assert_eq!(resp.pointers(), ["/position/crs"], "{crs}: {}", resp.text);
    }
    still_serving(&s);
}

trait ProblemOrOk {
    fn problem_or_ok(&self);
}

impl ProblemOrOk for Resp {
    /// A 2xx JSON answer or a well-formed problem.
    fn problem_or_ok(&self) {
        if self.status >= 300 {
            self.problem(self.status);
        } else {
            assert!(
                self.content_type.starts_with("application/json"),
                "{}",
                self.text
            );
        }
    }
}

both_backends!(
    coordinates_out_of_range_are_named,
    non_finite_numbers_are_a_400,
    accuracy_must_be_a_positive_bounded_number,
    unknown_crs_is_named,
);
