//! Test data: a small county with two villages a gap apart, and helpers to staff it.

use crate::TestApp;
use serde_json::{json, Value};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

pub const COUNTY: &str = "990100";
pub const TOWNSHIP: &str = "990101";
pub const VILLAGE_A: &str = "990101001";
pub const VILLAGE_B: &str = "990101002";
/// Village A spans lon 116.90–116.92, lat 34.20–34.22 (about 1.8 km × 2.2 km).
pub const A_CENTRE: (f64, f64) = (116.91, 34.21);
/// Village B spans lon 116.93–116.95, same latitudes; between them lies farmland of the township.
pub const B_CENTRE: (f64, f64) = (116.94, 34.21);
pub const CADRE_PASSWORD: &str = "cadre-password";
/// A second township of the test county, and its village; neither has a boundary.
pub const OTHER_TOWNSHIP: &str = "990102";
pub const OTHER_VILLAGE: &str = "990102001";

pub fn rect(lon0: f64, lat0: f64, lon1: f64, lat1: f64) -> Value {
    json!({
        "type": "Polygon",
        "coordinates": [[[lon0, lat0], [lon1, lat0], [lon1, lat1], [lon0, lat1], [lon0, lat0]]]
    })
}

pub fn feature(
    code: &str,
    name: &str,
    level: &str,
    parent: Option<&str>,
    geometry: Value,
) -> Value {
    let mut properties = json!({"code": code, "name": name, "level": level});
    if let Some(parent) = parent {
        properties["parent_code"] = json!(parent);
    }
    json!({"type": "Feature", "properties": properties, "geometry": geometry})
}

pub fn collection(features: Vec<Value>) -> Value {
    json!({"type": "FeatureCollection", "features": features})
}

/// Adds a second township with one village (no boundary) to the test county.
pub fn with_other_township(app: &TestApp, root: &str) {
    let resp = app.post(
        "/v1/units/import",
        Some(root),
        &collection(vec![
            feature(
                OTHER_TOWNSHIP,
                "邻镇",
                "township",
                Some(COUNTY),
                Value::Null,
            ),
            feature(
                OTHER_VILLAGE,
                "邻村",
                "village",
                Some(OTHER_TOWNSHIP),
                Value::Null,
            ),
        ]),
    );
    assert_eq!(resp.status, 201, "{}", resp.text);
}

/// 测试县 → 测试镇 → 甲村 (A) and 乙村 (B).
pub fn county_import() -> Value {
    collection(vec![
        feature(
            COUNTY,
            "测试县",
            "county",
            None,
            rect(116.88, 34.18, 116.97, 34.24),
        ),
        feature(
            TOWNSHIP,
            "测试镇",
            "township",
            Some(COUNTY),
            rect(116.89, 34.19, 116.96, 34.23),
        ),
        feature(
            VILLAGE_A,
            "甲村",
            "village",
            Some(TOWNSHIP),
            rect(116.90, 34.20, 116.92, 34.22),
        ),
        feature(
            VILLAGE_B,
            "乙村",
            "village",
            Some(TOWNSHIP),
            rect(116.93, 34.20, 116.95, 34.22),
        ),
    ])
}

pub fn now_rfc3339() -> String {
    OffsetDateTime::now_utc()
        .format(&Rfc3339)
        .expect("format now")
}

pub fn rfc3339(at: OffsetDateTime) -> String {
    at.format(&Rfc3339).expect("format time")
}

/// A check-in body with a fresh id, captured now.
pub fn check_in(lon: f64, lat: f64, accuracy_m: f64) -> Value {
    json!({
        "id": uuid::Uuid::new_v4().to_string(),
        "kind": "check_in",
        "captured_at": now_rfc3339(),
        "position": {"lon": lon, "lat": lat, "accuracy_m": accuracy_m},
        "device_id": "test-phone-1",
    })
}

pub struct Cadre {
    pub id: String,
    pub token: String,
}

impl TestApp {
    /// Imports the test county as root and returns root's token.
    pub fn with_county(&self) -> String {
        let token = self.root_token();
        let resp = self.post("/v1/units/import", Some(&token), &county_import());
        assert_eq!(resp.status, 201, "import failed: {}", resp.text);
        token
    }

    pub fn create_person(
        &self,
        admin_token: &str,
        username: &str,
        role: &str,
        unit: &str,
    ) -> String {
        let resp = self.post(
            "/v1/people",
            Some(admin_token),
            &json!({
                "username": username,
                "password": CADRE_PASSWORD,
                "display_name": format!("Test {username}"),
                "role": role,
                "unit_code": unit,
            }),
        );
        assert_eq!(resp.status, 201, "create {username} failed: {}", resp.text);
        resp.body["id"].as_str().expect("person id").to_owned()
    }

    pub fn assign(
        &self,
        admin_token: &str,
        person_id: &str,
        village: &str,
        from: &str,
        to: Option<&str>,
    ) {
        let mut body = json!({
            "person_id": person_id,
            "unit_code": village,
            "role": "team_member",
            "valid_from": from,
        });
        if let Some(to) = to {
            body["valid_to"] = json!(to);
        }
        let resp = self.post("/v1/assignments", Some(admin_token), &body);
        assert_eq!(resp.status, 201, "assignment failed: {}", resp.text);
    }

    /// A cadre of village A, assigned from 2020 with no end, logged in.
    pub fn cadre_in_a(&self, admin_token: &str, username: &str) -> Cadre {
        let id = self.create_person(admin_token, username, "cadre", VILLAGE_A);
        self.assign(admin_token, &id, VILLAGE_A, "2020-01-01", None);
        Cadre {
            id,
            token: self.login(username, CADRE_PASSWORD),
        }
    }
}
