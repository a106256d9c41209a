//! A demo organisation: 萧县 with three townships of four villages each, their boundaries, a
//! resident team of two cadres per village, supervisors, an inspector and households. The
//! village polygons tile their township exactly (neighbours share jittered vertices), so the
//! map looks like real administrative boundaries rather than a chessboard.

use crate::auth::hash_password;
use crate::error::ApiError;
use crate::state::AppState;
use fieldtrail_domain::geo::{Boundary, Position, ToleranceMeters};
use fieldtrail_domain::person::{DisplayName, Phone, Role, Username};
use fieldtrail_domain::roster::{parse_date, AssignmentRole, ValidPeriod};
use fieldtrail_domain::unit::{UnitCode, UnitLevel, UnitName};
use fieldtrail_storage::writer::{
    Actor, NewAssignment, NewHousehold, NewPairing, NewPerson, NewUnit,
};
use serde_json::json;

const BASE_LON: f64 = 116.80;
const BASE_LAT: f64 = 34.10;
const CELL_LON: f64 = 0.03;
const CELL_LAT: f64 = 0.025;
const COUNTY: (&str, &str) = ("341322", "萧县");
const TOWNSHIPS: [(&str, &str, [&str; 4]); 3] = [
    (
        "341322100",
        "龙城镇",
        ["城东村", "城西村", "孙庄村", "王楼村"],
    ),
    (
        "341322101",
        "黄口镇",
        ["黄口村", "李集村", "陈营村", "赵庄村"],
    ),
    (
        "341322102",
        "杨楼镇",
        ["杨楼村", "刘套村", "张湾村", "周寨村"],
    ),
];
const SURNAMES: [&str; 12] = [
    "王", "李", "张", "刘", "陈", "杨", "赵", "黄", "周", "吴", "徐", "孙",
];
const GIVEN: [&str; 8] = ["伟", "芳", "娜", "敏", "静", "强", "磊", "军"];

pub const ADMIN_USER: &str = "admin";
pub const ADMIN_PASSWORD: &str = "demo-admin-pass";
pub const STAFF_PASSWORD: &str = "demo-staff-pass";
pub const CADRE_PASSWORD: &str = "demo-cadre-pass";

/// Deterministic jitter for a half-grid point, shared by every polygon that uses the point.
fn jitter(hx: i32, hy: i32, salt: u32) -> f64 {
    let mut x = (hx as u32).wrapping_mul(73_856_093)
        ^ (hy as u32).wrapping_mul(19_349_663)
        ^ salt.wrapping_mul(83_492_791);
    x ^= x >> 13;
    x = x.wrapping_mul(0x5bd1_e995);
    x ^= x >> 15;
    f64::from(x % 1000) / 1000.0 - 0.5
}

fn grid_point(hx: i32, hy: i32) -> [f64; 2] {
    let lon = BASE_LON + f64::from(hx) * CELL_LON / 2.0 + jitter(hx, hy, 1) * CELL_LON * 0.15;
    let lat = BASE_LAT + f64::from(hy) * CELL_LAT / 2.0 + jitter(hx, hy, 2) * CELL_LAT * 0.15;
    [lon, lat]
}

/// The closed ring around cells x0..=x1, y0..=y1, through every shared half-grid point.
fn block_ring(x0: i32, x1: i32, y0: i32, y1: i32) -> Vec<[f64; 2]> {
    let (hx0, hx1, hy0, hy1) = (2 * x0, 2 * x1 + 2, 2 * y0, 2 * y1 + 2);
    let mut ring = Vec::new();
    ring.extend((hx0..hx1).map(|hx| grid_point(hx, hy0)));
    ring.extend((hy0..hy1).map(|hy| grid_point(hx1, hy)));
    ring.extend((hx0 + 1..=hx1).rev().map(|hx| grid_point(hx, hy1)));
    ring.extend((hy0 + 1..=hy1).rev().map(|hy| grid_point(hx0, hy)));
    ring.push(grid_point(hx0, hy0));
    ring
}

fn polygon(ring: Vec<[f64; 2]>) -> Result<Option<Boundary>, ApiError> {
    Boundary::from_geojson(&json!({"type": "Polygon", "coordinates": [ring]}))
        .map_err(|_| ApiError::Internal("demo boundary does not parse".into()))
}

fn internal<E: std::fmt::Display>(err: E) -> ApiError {
    ApiError::Internal(format!("demo data: {err}"))
}

fn unit(
    code: &str,
    name: &str,
    level: UnitLevel,
    parent: Option<&str>,
    ring: Vec<[f64; 2]>,
) -> Result<NewUnit, ApiError> {
    Ok(NewUnit {
        pointer: format!("/demo/{code}"),
        code: UnitCode::parse(code).map_err(internal)?,
        name: UnitName::parse(name).map_err(internal)?,
        level,
        parent_code: parent.map(UnitCode::parse).transpose().map_err(internal)?,
        boundary: polygon(ring)?,
        tolerance: ToleranceMeters::parse(20.0).map_err(internal)?,
    })
}

/// Village code, name and grid cell, in a stable order.
fn villages() -> Vec<(String, &'static str, i32, i32, usize)> {
    let mut out = Vec::new();
    for (t, (town_code, _, names)) in TOWNSHIPS.iter().enumerate() {
        for (v, name) in names.iter().enumerate() {
            let t = i32::try_from(t).unwrap_or(0);
            let v = i32::try_from(v).unwrap_or(0);
            let (cx, cy) = (2 * t + v % 2, v / 2);
            out.push((
                format!("{town_code}2{:02}", v + 1),
                *name,
                cx,
                cy,
                out.len(),
            ));
        }
    }
    out
}

/// One demo login: what to print for the user.
pub struct DemoLogin {
    pub username: String,
    pub password: &'static str,
    pub what: String,
}

struct Staff<'a> {
    username: String,
    name: String,
    role: Role,
    unit: &'a str,
    password: &'static str,
}

async fn create(state: &AppState, staff: Staff<'_>) -> Result<String, ApiError> {
    let password = staff.password;
    let hash = actix_web::web::block(move || hash_password(password)).await??;
    let view = state
        .writer
        .create_person(
            Actor::operator(),
            NewPerson {
                username: Username::parse(&staff.username).map_err(internal)?,
                password_hash: hash,
                display_name: DisplayName::parse(&staff.name).map_err(internal)?,
                role: staff.role,
                unit_code: Some(UnitCode::parse(staff.unit).map_err(internal)?),
                phone: Some(Phone::parse("+8613800000000").map_err(internal)?),
            },
        )
        .await?;
    Ok(view.id)
}

/// Loads the demo organisation through the ledger writer, like any admin change.
pub async fn load(state: &AppState) -> Result<Vec<DemoLogin>, ApiError> {
    let mut units = vec![unit(
        COUNTY.0,
        COUNTY.1,
        UnitLevel::County,
        None,
        block_ring(0, 5, 0, 1),
    )?];
    for (t, (code, name, _)) in TOWNSHIPS.iter().enumerate() {
        let t = i32::try_from(t).unwrap_or(0);
        units.push(unit(
            code,
            name,
            UnitLevel::Township,
            Some(COUNTY.0),
            block_ring(2 * t, 2 * t + 1, 0, 1),
        )?);
    }
    let villages = villages();
    for (code, name, cx, cy, index) in &villages {
        let town = TOWNSHIPS[index / 4].0;
        units.push(unit(
            code,
            name,
            UnitLevel::Village,
            Some(town),
            block_ring(*cx, *cx, *cy, *cy),
        )?);
    }
    state.writer.import_units(Actor::operator(), units).await?;

    let admin_hash = actix_web::web::block(|| hash_password(ADMIN_PASSWORD)).await??;
    state
        .writer
        .create_first_admin(NewPerson {
            username: Username::parse(ADMIN_USER).map_err(internal)?,
            password_hash: admin_hash,
            display_name: DisplayName::parse("系统管理员").map_err(internal)?,
            role: Role::Admin,
            unit_code: None,
            phone: None,
        })
        .await?;
    let mut logins = vec![DemoLogin {
        username: ADMIN_USER.into(),
        password: ADMIN_PASSWORD,
        what: "admin of the whole tree".into(),
    }];
    let staff = [
        (
            "supervisor",
            "县督查 周强",
            Role::Supervisor,
            COUNTY.0,
            "supervisor of 萧县",
        ),
        (
            "sup-longcheng",
            "镇督查 吴敏",
            Role::Supervisor,
            TOWNSHIPS[0].0,
            "supervisor of 龙城镇 only",
        ),
        (
            "inspector",
            "纪检 徐静",
            Role::Inspector,
            COUNTY.0,
            "inspector of 萧县",
        ),
    ];
    for (username, name, role, unit, what) in staff {
        create(
            state,
            Staff {
                username: username.into(),
                name: name.into(),
                role,
                unit,
                password: STAFF_PASSWORD,
            },
        )
        .await?;
        logins.push(DemoLogin {
            username: username.into(),
            password: STAFF_PASSWORD,
            what: what.into(),
        });
    }

    let start = parse_date("2026-01-01").map_err(internal)?;
    let period = ValidPeriod::new(start, None).map_err(internal)?;
    for (code, name, cx, cy, index) in &villages {
        // The village's second cadre is paired with its households (结对帮扶).
        let mut paired_cadre = None;
        for member in 0..2 {
            let n = index * 2 + member + 1;
            let username = format!("cadre{n:02}");
            let display = format!("{}{}", SURNAMES[n % SURNAMES.len()], GIVEN[n % GIVEN.len()]);
            let id = create(
                state,
                Staff {
                    username: username.clone(),
                    name: display,
                    role: Role::Cadre,
                    unit: code,
                    password: CADRE_PASSWORD,
                },
            )
            .await?;
            let role = if member == 0 {
                AssignmentRole::FirstSecretary
            } else {
                paired_cadre = Some(id.clone());
                AssignmentRole::TeamMember
            };
            state
                .writer
                .create_assignment(
                    Actor::operator(),
                    NewAssignment {
                        person_id: fieldtrail_domain::person::PersonId::parse(&id)
                            .map_err(internal)?,
                        unit_code: UnitCode::parse(code).map_err(internal)?,
                        role,
                        period,
                    },
                )
                .await?;
            if n <= 2 {
                logins.push(DemoLogin {
                    username,
                    password: CADRE_PASSWORD,
                    what: format!("cadre in {name} ({code})"),
                });
            }
        }
        for h in 0..3 {
            let [lon, lat] = grid_point(2 * cx + 1, 2 * cy + 1);
            let offset = f64::from(h) * 0.002 - 0.002;
            let household = state
                .writer
                .create_household(
                    Actor::operator(),
                    NewHousehold {
                        unit_code: UnitCode::parse(code).map_err(internal)?,
                        head_name: format!(
                            "{}{}",
                            SURNAMES[(index + h as usize) % SURNAMES.len()],
                            "家"
                        ),
                        members: 3 + (h as u16),
                        location: Position::parse(lon + offset, lat - offset / 2.0)
                            .map_err(internal)?,
                    },
                )
                .await?;
            if let Some(cadre) = &paired_cadre {
                state
                    .writer
                    .create_pairing(
                        Actor::operator(),
                        NewPairing {
                            person_id: fieldtrail_domain::person::PersonId::parse(cadre)
                                .map_err(internal)?,
                            household_id: uuid::Uuid::parse_str(&household.id).map_err(internal)?,
                            period,
                        },
                    )
                    .await?;
            }
        }
    }
    Ok(logins)
}

/// A point well inside a demo village, for the walk-through in the README.
pub fn village_centre(code: &str) -> Option<(f64, f64)> {
    villages()
        .into_iter()
        .find(|(c, ..)| c == code)
        .map(|(_, _, cx, cy, _)| {
            let [lon, lat] = grid_point(2 * cx + 1, 2 * cy + 1);
            (lon, lat)
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use fieldtrail_domain::geo::UnitShape;

    #[test]
    fn demo_villages_tile_their_township_and_contain_their_centre() {
        let villages = villages();
        assert_eq!(villages.len(), 12);
        for (code, _, cx, cy, _) in &villages {
            let shape = UnitShape::new(&polygon(block_ring(*cx, *cx, *cy, *cy)).unwrap().unwrap());
            let (lon, lat) = village_centre(code).unwrap();
            let centre = Position::parse(lon, lat).unwrap();
            assert!(shape.contains(centre), "{code}");
            assert!(
                shape.signed_distance_m(centre) > 500.0,
                "{code} centre is deep inside"
            );
            for (other, _, ox, oy, _) in &villages {
                if other != code {
                    let other_shape =
                        UnitShape::new(&polygon(block_ring(*ox, *ox, *oy, *oy)).unwrap().unwrap());
                    assert!(
                        !other_shape.contains(centre),
                        "{code} centre is not in {other}"
                    );
                }
            }
        }
    }
}
