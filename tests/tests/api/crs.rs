//! Coordinate systems (docs/records.md, "Common fields"): positions sent in GCJ-02 or BD-09 are
//! converted to WGS-84 for every check; a record keeps what was sent and shows the converted
//! point as `position.wgs84`. Declaring the system matters: the same numbers read as WGS-84
//! land about 500 m away.

use fieldtrail_domain::crs::{from_wgs84, to_wgs84, Crs};
use fieldtrail_tests::both_backends;
use fieldtrail_tests::fixtures::*;
use fieldtrail_tests::{Backend, TestApp};
use serde_json::{json, Value};
use time::{Duration, OffsetDateTime};

/// A WGS-84 point about 414 m inside village A's east edge (lon 116.92): 0.0045° of longitude
/// at 34.21° N. The GCJ-02 offset here is ~490 m east and ~165 m south, which carries the
/// GCJ-02 numbers ~75 m past that edge into the farmland; BD-09 adds another ~600 m.
const WGS: (f64, f64) = (116.9155, 34.21);

/// Metres between two nearby points (equirectangular; plenty for a few hundred metres).
fn metres(a: (f64, f64), b: (f64, f64)) -> f64 {
    let lat = ((a.1 + b.1) / 2.0).to_radians();
    let dx = (a.0 - b.0).to_radians() * lat.cos() * 6_371_008.8;
    let dy = (a.1 - b.1).to_radians() * 6_371_008.8;
    dx.hypot(dy)
}

/// The published GCJ-02 obfuscation (the formula every map SDK's converter uses), written out
/// here independently of the server's, to check that `from_wgs84` is the real thing.
fn reference_gcj02(lon: f64, lat: f64) -> (f64, f64) {
    use std::f64::consts::PI;
    const A: f64 = 6_378_245.0;
    const EE: f64 = 0.006_693_421_622_965_943;
    let (x, y) = (lon - 105.0, lat - 35.0);
    let mut dlat = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * x.abs().sqrt();
    dlat += (20.0 * (6.0 * x * PI).sin() + 20.0 * (2.0 * x * PI).sin()) * 2.0 / 3.0;
    dlat += (20.0 * (y * PI).sin() + 40.0 * (y / 3.0 * PI).sin()) * 2.0 / 3.0;
    dlat += (160.0 * (y / 12.0 * PI).sin() + 320.0 * (y * PI / 30.0).sin()) * 2.0 / 3.0;
    let mut dlon = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * x.abs().sqrt();
    dlon += (20.0 * (6.0 * x * PI).sin() + 20.0 * (2.0 * x * PI).sin()) * 2.0 / 3.0;
    dlon += (20.0 * (x * PI).sin() + 40.0 * (x / 3.0 * PI).sin()) * 2.0 / 3.0;
    dlon += (150.0 * (x / 12.0 * PI).sin() + 300.0 * (x / 30.0 * PI).sin()) * 2.0 / 3.0;
    let rad = lat.to_radians();
    let magic = 1.0 - EE * rad.sin() * rad.sin();
    let sqrt_magic = magic.sqrt();
    dlat = (dlat * 180.0) / ((A * (1.0 - EE)) / (magic * sqrt_magic) * PI);
    dlon = (dlon * 180.0) / (A / sqrt_magic * rad.cos() * PI);
    (lon + dlon, lat + dlat)
}

/// Baidu's BD-09 on top of GCJ-02.
fn reference_bd09(lon: f64, lat: f64) -> (f64, f64) {
    let x_pi = std::f64::consts::PI * 3000.0 / 180.0;
    let (x, y) = reference_gcj02(lon, lat);
    let z = x.hypot(y) + 0.000_02 * (y * x_pi).sin();
    let theta = y.atan2(x) + 0.000_003 * (x * x_pi).cos();
    (z * theta.cos() + 0.0065, z * theta.sin() + 0.006)
}

fn check_in_at(lon: f64, lat: f64, crs: Option<&str>, minutes_ago: i64) -> Value {
    let at =
        OffsetDateTime::now_utc().replace_nanosecond(0).unwrap() - Duration::minutes(minutes_ago);
    let mut position = json!({"lon": lon, "lat": lat, "accuracy_m": 20.0});
    if let Some(crs) = crs {
        position["crs"] = json!(crs);
    }
    json!({
        "id": uuid::Uuid::new_v4().to_string(),
        "kind": "check_in",
        "captured_at": rfc3339(at),
        "position": position,
        "device_id": "test-phone-1",
    })
}

/// Submits (201) and reads the record back; returns (answer, record view).
fn submit_and_read(app: &TestApp, token: &str, body: &Value) -> (Value, Value) {
    let resp = app.post("/v1/records", Some(token), body);
    assert_eq!(resp.status, 201, "{body} -> {}", resp.text);
    let id = body["id"].as_str().unwrap();
    let view = app.get(&format!("/v1/records/{id}"), Some(token));
    assert_eq!(view.status, 200, "{}", view.text);
    (resp.body, view.body)
}

fn wgs84_of(view: &Value) -> (f64, f64) {
    let point = &view["position"]["wgs84"];
    (
        point["lon"]
            .as_f64()
            .unwrap_or_else(|| panic!("no wgs84: {view}")),
        point["lat"]
            .as_f64()
            .unwrap_or_else(|| panic!("no wgs84: {view}")),
    )
}

fn the_conversion_is_the_published_one() {
    let gcj = from_wgs84(Crs::Gcj02, WGS.0, WGS.1);
    let expected = reference_gcj02(WGS.0, WGS.1);
    assert!(metres(gcj, expected) < 0.01, "{gcj:?} vs {expected:?}");
    let offset = metres(gcj, WGS);
    assert!((450.0..600.0).contains(&offset), "GCJ-02 offset {offset} m");
    let bd = from_wgs84(Crs::Bd09, WGS.0, WGS.1);
    let expected = reference_bd09(WGS.0, WGS.1);
    assert!(metres(bd, expected) < 0.01, "{bd:?} vs {expected:?}");
    for crs in [Crs::Gcj02, Crs::Bd09] {
        let (lon, lat) = from_wgs84(crs, WGS.0, WGS.1);
        assert!(metres(to_wgs84(crs, lon, lat), WGS) < 1.0);
    }
    assert_eq!(from_wgs84(Crs::Wgs84, WGS.0, WGS.1), WGS);
}

fn declared_systems_are_converted_to_wgs84(backend: Backend) {
    the_conversion_is_the_published_one();
    let Some(app) = TestApp::spawn(backend) else {
        return;
    };
    let admin = app.with_county();
    let cadre = app.cadre_in_a(&admin, "cadre-a");

    for (minutes_ago, crs, name) in [(30, Crs::Gcj02, "gcj02"), (20, Crs::Bd09, "bd09")] {
        let (lon, lat) = from_wgs84(crs, WGS.0, WGS.1);
        let body = check_in_at(lon, lat, Some(name), minutes_ago);
        let (answer, view) = submit_and_read(&app, &cadre.token, &body);
        let verdict = &answer["verdict"];
        assert_eq!(verdict["geo"], "inside", "{name}: {answer}");
        assert_eq!(verdict["actual_unit_code"], VILLAGE_A, "{name}");
        let d = verdict["distance_to_boundary_m"].as_f64().unwrap();
        assert!(
            (400.0..430.0).contains(&d),
            "{name}: judged {d} m from the edge"
        );
        // The position as sent…
        let position = &view["position"];
        assert_eq!(position["lon"], lon, "{name}: {view}");
        assert_eq!(position["lat"], lat, "{name}");
        assert_eq!(position["accuracy_m"], 20.0, "{name}");
        assert_eq!(position["crs"], name);
        // …and the converted point, within a metre of where the phone really was.
        let converted = wgs84_of(&view);
        assert!(
            metres(converted, WGS) < 1.0,
            "{name}: {converted:?} is {} m from {WGS:?}",
            metres(converted, WGS)
        );
        assert_eq!(view["verdict"], answer["verdict"]);
    }

    // Plain WGS-84, with the crs said or not: the converted point is the point itself.
    for (minutes_ago, crs) in [(15, None), (10, Some("wgs84"))] {
        let body = check_in_at(WGS.0, WGS.1 + 0.0001 * minutes_ago as f64, crs, minutes_ago);
        let (answer, view) = submit_and_read(&app, &cadre.token, &body);
        assert_eq!(answer["verdict"]["geo"], "inside");
        assert_eq!(view["position"]["crs"], "wgs84", "{view}");
        let sent = (
            body["position"]["lon"].as_f64().unwrap(),
            body["position"]["lat"].as_f64().unwrap(),
        );
        assert!(metres(wgs84_of(&view), sent) < 0.001, "{view}");
    }
}

fn an_undeclared_system_is_read_as_wgs84(backend: Backend) {
    let Some(app) = TestApp::spawn(backend) else {
        return;
    };
    let admin = app.with_county();
    let cadre = app.cadre_in_a(&admin, "cadre-a");
    let gcj = from_wgs84(Crs::Gcj02, WGS.0, WGS.1);

    // The phone's GCJ-02 numbers sent without saying so are taken as WGS-84: ~75 m east of
    // village A, in the township's farmland.
    let undeclared = check_in_at(gcj.0, gcj.1, None, 30);
    let (misread, view) = submit_and_read(&app, &cadre.token, &undeclared);
    assert_eq!(misread["verdict"]["geo"], "outside", "{misread}");
    assert_eq!(misread["verdict"]["actual_unit_code"], TOWNSHIP);
    let d = misread["verdict"]["distance_to_boundary_m"]
        .as_f64()
        .unwrap();
    assert!((-100.0..-50.0).contains(&d), "misread {d} m");
    assert!(metres(wgs84_of(&view), gcj) < 0.001);
    assert!(metres(wgs84_of(&view), WGS) > 450.0);

    // The same numbers declared as GCJ-02: inside, ~414 m from the edge.
    let declared = check_in_at(gcj.0, gcj.1, Some("gcj02"), 20);
    let (read, _) = submit_and_read(&app, &cadre.token, &declared);
    assert_eq!(read["verdict"]["geo"], "inside", "{read}");
    assert_eq!(read["verdict"]["actual_unit_code"], VILLAGE_A);

    // BD-09 numbers read as WGS-84 are further off still: outside too.
    let bd = from_wgs84(Crs::Bd09, WGS.0, WGS.1);
    let (bd_misread, _) = submit_and_read(&app, &cadre.token, &check_in_at(bd.0, bd.1, None, 10));
    assert_eq!(bd_misread["verdict"]["geo"], "outside", "{bd_misread}");

    // The crs is part of the record's content: the same id with another crs is a conflict.
    let before = app.sql_count("SELECT COUNT(*) FROM ledger");
    let mut other = undeclared.clone();
    other["position"]["crs"] = json!("gcj02");
    app.post("/v1/records", Some(&cadre.token), &other)
        .problem(409);
    let mut same = undeclared.clone();
    same["position"]["crs"] = json!("wgs84");
    let resp = app.post("/v1/records", Some(&cadre.token), &same);
    assert_eq!(resp.status, 200, "absent crs equals wgs84: {}", resp.text);
    assert_eq!(resp.body, misread);
    assert_eq!(app.sql_count("SELECT COUNT(*) FROM ledger"), before);
}

fn outside_china_gcj02_is_wgs84(backend: Backend) {
    let Some(app) = TestApp::spawn(backend) else {
        return;
    };
    let admin = app.with_county();
    let cadre = app.cadre_in_a(&admin, "cadre-a");
    // Paris, and Siberia north of 55.83° N, are outside the GCJ-02 area.
    for (minutes_ago, point, crs) in [
        (3000, (2.3522, 48.8566), "gcj02"),
        (2000, (106.9, 56.5), "gcj02"),
        (1000, (2.3523, 48.8567), "wgs84"),
    ] {
        let body = check_in_at(point.0, point.1, Some(crs), minutes_ago);
        let (answer, view) = submit_and_read(&app, &cadre.token, &body);
        assert_eq!(answer["verdict"]["geo"], "outside", "{answer}");
        assert_eq!(answer["verdict"]["actual_unit_code"], Value::Null);
        assert!(
            metres(wgs84_of(&view), point) < 0.001,
            "{crs} at {point:?}: {view}"
        );
    }
}

both_backends!(
    declared_systems_are_converted_to_wgs84,
    an_undeclared_system_is_read_as_wgs84,
    outside_china_gcj02_is_wgs84,
);
