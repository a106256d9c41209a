//! The demo organisation: 萧县 with three townships of four villages each, their boundaries, a
//! resident team of two cadres per village, supervisors, an inspector and households. The
//! village polygons tile their township exactly (neighbours share jittered vertices), so the
//! map looks like real administrative boundaries rather than a chessboard.

use super::{DemoLogin, ADMIN_PASSWORD, ADMIN_USER, CADRE_PASSWORD, STAFF_PASSWORD};
use crate::auth::hash_password;
use crate::error::ApiError;
use crate::state::AppState;
use fieldtrail_domain::geo::{Boundary, Position, ToleranceMeters};
use fieldtrail_domain::person::{DisplayName, PersonId, Phone, Role, Username};
use fieldtrail_domain::roster::{AssignmentRole, ValidPeriod};
use fieldtrail_domain::unit::{UnitCode, UnitLevel, UnitName, UnitPath};
use fieldtrail_storage::writer::{
    Actor, NewAssignment, NewHousehold, NewPairing, NewPerson, NewUnit, Submitter,
};
use serde_json::json;
use time::{Date, Duration};

const BASE_LON: f64 = 116.80;
const BASE_LAT: f64 = 34.10;
const CELL_LON: f64 = 0.03;
const CELL_LAT: f64 = 0.025;
pub(super) const COUNTY: (&str, &str) = ("341322", "萧县");
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
/// Paired households per village (all with the village's second cadre).
pub(super) const HOUSEHOLDS: usize = 3;

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

pub(super) fn internal<E: std::fmt::Display>(err: E) -> ApiError {
    ApiError::Internal(format!("demo data: {err}"))
}

fn code(raw: &str) -> Result<UnitCode, ApiError> {
    UnitCode::parse(raw).map_err(internal)
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

/// One demo village: code, name, grid cell and township index, in a stable order.
pub(super) struct Village {
    pub code: String,
    pub name: &'static str,
    pub cell: (i32, i32),
    pub township: usize,
}

pub(super) fn villages() -> Vec<Village> {
    let mut out = Vec::new();
    for (t, (town_code, _, names)) in TOWNSHIPS.iter().enumerate() {
        for (v, name) in names.iter().enumerate() {
            let ti = i32::try_from(t).unwrap_or(0);
            let vi = i32::try_from(v).unwrap_or(0);
            out.push(Village {
                code: format!("{town_code}2{:02}", v + 1),
                name,
                cell: (2 * ti + vi % 2, vi / 2),
                township: t,
            });
        }
    }
    out
}

/// The centre of village `index` (well inside it: see the test below).
pub(super) fn centre_of(index: usize) -> (f64, f64) {
    let (cx, cy) = villages().get(index).map_or((0, 0), |village| village.cell);
    let [lon, lat] = grid_point(2 * cx + 1, 2 * cy + 1);
    (lon, lat)
}

/// The village across the township's middle (the other row of the same column): a neighbour.
pub(super) fn neighbour_of(index: usize) -> usize {
    index ^ 2
}

/// A village of the next township, where the cadre has no assignment.
pub(super) fn elsewhere_of(index: usize) -> usize {
    (index + 4) % 12
}

/// Where household `h` of village `index` lives.
pub(super) fn household_location(index: usize, h: usize) -> (f64, f64) {
    let (lon, lat) = centre_of(index);
    let offset = f64::from(u8::try_from(h).unwrap_or(0)) * 0.002 - 0.002;
    (lon + offset, lat - offset / 2.0)
}

/// A demo cadre as the records need them.
pub(super) struct Cadre {
    pub submitter: Submitter,
    pub device: String,
}

pub(super) struct Household {
    pub id: uuid::Uuid,
    pub village: usize,
    pub index: usize,
}

/// What the records, decisions and spot-checks refer to.
pub(super) struct Org {
    pub cadres: Vec<Cadre>,
    /// Per village, its households in order.
    pub households: Vec<Vec<Household>>,
    /// The county supervisor (周强) and the 龙城镇 supervisor (吴敏), as actors.
    pub county_supervisor: Actor,
    pub township_supervisor: Actor,
    pub logins: Vec<DemoLogin>,
}

struct Staff<'a> {
    username: String,
    name: String,
    role: Role,
    unit: &'a str,
    password: &'static str,
}

async fn create(state: &AppState, staff: Staff<'_>) -> Result<PersonId, ApiError> {
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
                unit_code: Some(code(staff.unit)?),
                phone: Some(Phone::parse("+8613800000000").map_err(internal)?),
                must_change_password: false,
            },
        )
        .await?;
    PersonId::parse(&view.id).map_err(internal)
}

fn path_of(codes: &[&str]) -> Result<UnitPath, ApiError> {
    let mut path = UnitPath::whole_tree();
    for raw in codes {
        path = path.child(&code(raw)?);
    }
    Ok(path)
}

/// Creates the organisation through the ledger writer, like any admin change. Every cadre's
/// assignment starts on 2026-01-01 (or three months before `today` if that is earlier), except
/// `late_cadre`'s, which starts on `late_from`.
pub(super) async fn create_org(
    state: &AppState,
    today: Date,
    late_cadre: usize,
    late_from: Date,
) -> Result<Org, ApiError> {
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
    for village in &villages {
        let (cx, cy) = village.cell;
        units.push(unit(
            &village.code,
            village.name,
            UnitLevel::Village,
            Some(TOWNSHIPS[village.township].0),
            block_ring(cx, cx, cy, cy),
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
            must_change_password: false,
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
    let mut staff_ids = Vec::new();
    for (username, name, role, unit, what) in staff {
        staff_ids.push(
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
            .await?,
        );
        logins.push(DemoLogin {
            username: username.into(),
            password: STAFF_PASSWORD,
            what: what.into(),
        });
    }
    let county_supervisor = Actor {
        id: staff_ids.first().copied(),
        scope: path_of(&[COUNTY.0])?,
    };
    let township_supervisor = Actor {
        id: staff_ids.get(1).copied(),
        scope: path_of(&[COUNTY.0, TOWNSHIPS[0].0])?,
    };

    // 2026-01-01 unless the demo month reaches further back (a clock set in the past).
    let start = (today - Duration::days(90))
        .replace_day(1)
        .map_err(internal)?
        .min(time::macros::date!(2026 - 01 - 01));
    let period = ValidPeriod::new(start, None).map_err(internal)?;
    let late_period = ValidPeriod::new(late_from, None).map_err(internal)?;
    let mut cadres = Vec::new();
    let mut households = Vec::new();
    for (index, village) in villages.iter().enumerate() {
        let village_path = path_of(&[COUNTY.0, TOWNSHIPS[village.township].0, &village.code])?;
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
                    unit: &village.code,
                    password: CADRE_PASSWORD,
                },
            )
            .await?;
            let role = if member == 0 {
                AssignmentRole::FirstSecretary
            } else {
                paired_cadre = Some(id);
                AssignmentRole::TeamMember
            };
            state
                .writer
                .create_assignment(
                    Actor::operator(),
                    NewAssignment {
                        person_id: id,
                        unit_code: code(&village.code)?,
                        role,
                        period: if n - 1 == late_cadre {
                            late_period
                        } else {
                            period
                        },
                    },
                )
                .await?;
            if n <= 2 {
                logins.push(DemoLogin {
                    username: username.clone(),
                    password: CADRE_PASSWORD,
                    what: format!("cadre in {} ({})", village.name, village.code),
                });
            }
            cadres.push(Cadre {
                submitter: Submitter {
                    person: id,
                    scope: village_path.clone(),
                },
                device: format!("phone-{username}"),
            });
        }
        let mut own = Vec::new();
        for h in 0..HOUSEHOLDS {
            let (lon, lat) = household_location(index, h);
            let household = state
                .writer
                .create_household(
                    Actor::operator(),
                    NewHousehold {
                        unit_code: code(&village.code)?,
                        head_name: format!("{}{}", SURNAMES[(index + h) % SURNAMES.len()], "家"),
                        members: 3 + u16::try_from(h).unwrap_or(0),
                        location: Position::parse(lon, lat).map_err(internal)?,
                    },
                )
                .await?;
            let household_id = uuid::Uuid::parse_str(&household.id).map_err(internal)?;
            if let Some(cadre) = paired_cadre {
                state
                    .writer
                    .create_pairing(
                        Actor::operator(),
                        NewPairing {
                            person_id: cadre,
                            household_id,
                            period,
                        },
                    )
                    .await?;
            }
            own.push(Household {
                id: household_id,
                village: index,
                index: h,
            });
        }
        households.push(own);
    }
    Ok(Org {
        cadres,
        households,
        county_supervisor,
        township_supervisor,
        logins,
    })
}

/// A point well inside a demo village, for the walk-through in the README.
pub fn village_centre(code: &str) -> Option<(f64, f64)> {
    villages()
        .iter()
        .position(|village| village.code == code)
        .map(centre_of)
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;
    use fieldtrail_domain::geo::UnitShape;

    /// The shape of village `index`, as imported.
    pub(in crate::demo) fn shape_of(index: usize) -> UnitShape {
        let (cx, cy) = villages()[index].cell;
        UnitShape::new(&polygon(block_ring(cx, cx, cy, cy)).unwrap().unwrap())
    }

    #[test]
    fn demo_villages_tile_their_township_and_contain_their_centre() {
        let villages = villages();
        assert_eq!(villages.len(), 12);
        for (index, village) in villages.iter().enumerate() {
            let shape = shape_of(index);
            let (lon, lat) = village_centre(&village.code).unwrap();
            let centre = Position::parse(lon, lat).unwrap();
            assert!(shape.contains(centre), "{}", village.code);
            assert!(
                shape.signed_distance_m(centre) > 500.0,
                "{} centre is deep inside",
                village.code
            );
            for (other, _) in villages.iter().enumerate().filter(|(o, _)| *o != index) {
                assert!(
                    !shape_of(other).contains(centre),
                    "{} centre is not in {}",
                    village.code,
                    villages[other].code
                );
            }
        }
    }

    #[test]
    fn neighbours_share_a_township_and_elsewhere_does_not() {
        let villages = villages();
        for index in 0..villages.len() {
            let neighbour = neighbour_of(index);
            assert_ne!(neighbour, index);
            assert_eq!(villages[neighbour].township, villages[index].township);
            assert_eq!(neighbour_of(neighbour), index);
            let elsewhere = elsewhere_of(index);
            assert_ne!(villages[elsewhere].township, villages[index].township);
        }
    }
}
