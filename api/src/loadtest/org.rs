//! The organisation a load test runs against, as plain data: counties → townships → villages
//! with boundaries, cadres with their assignments, and households paired with them. Nothing
//! here speaks HTTP or touches a database, so the same description can be loaded through the
//! public API (`setup.rs`) or straight through the ledger writer by an in-process filler, and a
//! later `fieldtrail loadtest` against that database reuses what it finds.
//!
//! Everything is a pure function of its index: village 17 has the same code, name and boundary
//! whether 20 or 2,000 villages are asked for, and cadre 5 the same username. That is what lets
//! a second run with more `--cadres` or `--villages` create only what is missing, because units
//! and people can never be changed once they are in the ledger.
//!
//! For a later run to reuse an organisation built some other way (e.g. through the ledger writer
//! by an in-process filler), build it from these plans exactly: units by their codes, cadres with
//! [`CADRE_PASSWORD`], each cadre's first assignment to its village, and each cadre's households
//! paired in [`HouseholdPlan::index`] order (setup reads the k-th pairing as the k-th household).
//!
//! Layout: a grid of village cells (about 2.8 km × 2.8 km). A township is a fixed block of
//! 4 × 3 cells and a county a fixed block of 6 × 5 townships; villages fill their township's
//! cells in order, townships fill their county, counties lie side by side eastwards. Cell edges
//! are shared, meandering polylines with 3 to 53 segments each, so neighbouring villages share
//! every vertex and the villages of a full township tile it exactly; a village has tens to a
//! couple of hundred vertices, a township a few hundred. The cells of a township that has fewer
//! than 12 villages (only the last one can) are township land outside every village until a later
//! run with more `--villages` fills them.

use fieldtrail_domain::geo::Boundary;
use fieldtrail_domain::unit::UnitLevel;
use serde_json::{json, Value};

/// The one password of every generated cadre; public on purpose, like the demo's.
pub const CADRE_PASSWORD: &str = "lt-cadre-password";
/// Every generated code and username starts with this, so load-test data is easy to tell apart.
pub const PREFIX: &str = "lt-";
/// Generated assignments and pairings hold from this day on, without end.
pub const VALID_FROM: &str = "2025-01-01";
/// Boundary tolerance of every generated unit, in metres.
pub const TOLERANCE_M: f64 = 20.0;

/// Villages per township: a block of `TOWNSHIP_COLS` × `TOWNSHIP_ROWS` cells.
pub const TOWNSHIP_COLS: usize = 4;
pub const TOWNSHIP_ROWS: usize = 3;
pub const VILLAGES_PER_TOWNSHIP: usize = TOWNSHIP_COLS * TOWNSHIP_ROWS;
/// Townships per county: a block of `COUNTY_COLS` × `COUNTY_ROWS` townships.
pub const COUNTY_COLS: usize = 6;
pub const COUNTY_ROWS: usize = 5;
pub const TOWNSHIPS_PER_COUNTY: usize = COUNTY_COLS * COUNTY_ROWS;
/// Most paired households a cadre may keep by the default policy (`max_paired_households`).
pub const MAX_HOUSEHOLDS_PER_CADRE: usize = 5;

/// South-west corner of the first county, in an area no other fixture or the demo uses.
const BASE_LON: f64 = 117.30;
const BASE_LAT: f64 = 33.40;
const CELL_LON: f64 = 0.03;
const CELL_LAT: f64 = 0.025;

const SURNAMES: [&str; 16] = [
    "王", "李", "张", "刘", "陈", "杨", "赵", "黄", "周", "吴", "徐", "孙", "胡", "朱", "高", "林",
];
const GIVEN: [&str; 16] = [
    "伟", "芳", "娜", "敏", "静", "强", "磊", "军", "洋", "勇", "艳", "杰", "涛", "明", "超", "霞",
];
const PLACES: [&str; 12] = [
    "庄", "集", "楼", "营", "湾", "寨", "店", "桥", "岗", "圩", "洼", "套",
];
const TOWN_WORDS: [&str; 12] = [
    "安", "平", "清", "河", "阳", "山", "石", "新", "丰", "永", "宁", "兴",
];

/// How big an organisation to describe.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OrgSpec {
    pub villages: usize,
    pub cadres: usize,
    /// Households per cadre, each paired with that cadre (at most 5, the default policy).
    pub households_per_cadre: usize,
}

/// One unit to import: a GeoJSON feature once rendered.
#[derive(Debug, Clone, PartialEq)]
pub struct UnitPlan {
    pub code: String,
    pub name: String,
    /// `county`, `township` or `village`.
    pub level: &'static str,
    pub parent_code: Option<String>,
    /// The outer ring, closed (first point repeated last), `[lon, lat]` in WGS-84.
    pub ring: Vec<[f64; 2]>,
    pub tolerance_m: f64,
}

impl UnitPlan {
    /// The boundary as a GeoJSON Polygon.
    pub fn geometry(&self) -> Value {
        json!({"type": "Polygon", "coordinates": [self.ring]})
    }

    /// The boundary as the domain type the writer takes (None only if the ring were invalid,
    /// which the generator's tests rule out).
    pub fn boundary(&self) -> Option<Boundary> {
        Boundary::from_geojson(&self.geometry()).ok().flatten()
    }

    pub fn unit_level(&self) -> Option<UnitLevel> {
        UnitLevel::parse(self.level).ok()
    }

    /// The unit as a feature of a `POST /v1/units/import` FeatureCollection.
    pub fn feature(&self) -> Value {
        let mut properties = json!({
            "code": self.code,
            "name": self.name,
            "level": self.level,
            "tolerance_m": self.tolerance_m,
        });
        if let Some(parent) = &self.parent_code {
            properties["parent_code"] = json!(parent);
        }
        json!({"type": "Feature", "properties": properties, "geometry": self.geometry()})
    }

    /// A point well inside the unit (the middle of its cell block).
    pub fn centre(&self) -> [f64; 2] {
        let (mut min, mut max) = ([f64::MAX; 2], [f64::MIN; 2]);
        for p in &self.ring {
            for k in 0..2 {
                min[k] = min[k].min(p[k]);
                max[k] = max[k].max(p[k]);
            }
        }
        [(min[0] + max[0]) / 2.0, (min[1] + max[1]) / 2.0]
    }
}

/// One cadre: a person of role cadre, scoped to and assigned to a village.
#[derive(Debug, Clone, PartialEq)]
pub struct CadrePlan {
    /// 0-based; the username shows it 1-based.
    pub index: usize,
    pub username: String,
    pub display_name: String,
    pub phone: String,
    pub village: String,
    /// `first_secretary` for the first cadre of a village, `team_member` after.
    pub assignment_role: &'static str,
    pub valid_from: &'static str,
    /// The phone this cadre mostly sends from.
    pub device_id: String,
}

/// One household in a cadre's village, paired with that cadre (结对帮扶).
#[derive(Debug, Clone, PartialEq)]
pub struct HouseholdPlan {
    pub cadre: usize,
    /// Which of the cadre's households (0-based); pairings are made in this order.
    pub index: usize,
    pub village: String,
    pub head_name: String,
    pub members: u16,
    pub lon: f64,
    pub lat: f64,
}

impl HouseholdPlan {
    pub fn body(&self) -> Value {
        json!({
            "unit_code": self.village,
            "head_name": self.head_name,
            "members": self.members,
            "location": {"lon": self.lon, "lat": self.lat},
        })
    }
}

/// The whole organisation: units parents first, cadres and households in index order.
#[derive(Debug, Clone, PartialEq)]
pub struct Organisation {
    pub spec: OrgSpec,
    pub units: Vec<UnitPlan>,
    pub cadres: Vec<CadrePlan>,
    pub households: Vec<HouseholdPlan>,
}

impl Organisation {
    pub fn generate(spec: OrgSpec) -> Organisation {
        let villages = spec.villages.max(1);
        let townships = villages.div_ceil(VILLAGES_PER_TOWNSHIP);
        let counties = townships.div_ceil(TOWNSHIPS_PER_COUNTY);
        let mut units = Vec::with_capacity(counties + townships + villages);
        for c in 0..counties {
            units.push(county(c));
        }
        for t in 0..townships {
            units.push(township(t));
        }
        for v in 0..villages {
            units.push(village(v));
        }
        let cadres: Vec<CadrePlan> = (0..spec.cadres).map(|i| cadre(i, villages)).collect();
        let households = cadres
            .iter()
            .flat_map(|c| households_of(c.index, &c.village, spec.households_per_cadre))
            .collect();
        Organisation {
            spec,
            units,
            cadres,
            households,
        }
    }

    pub fn unit(&self, code: &str) -> Option<&UnitPlan> {
        self.units.iter().find(|u| u.code == code)
    }

    pub fn villages(&self) -> impl Iterator<Item = &UnitPlan> {
        self.units.iter().filter(|u| u.level == "village")
    }
}

pub fn county_code(c: usize) -> String {
    format!("{PREFIX}{:02}", c + 1)
}

pub fn township_code(t: usize) -> String {
    format!(
        "{}-{:02}",
        county_code(t / TOWNSHIPS_PER_COUNTY),
        t % TOWNSHIPS_PER_COUNTY + 1
    )
}

pub fn village_code(v: usize) -> String {
    format!(
        "{}-{:02}",
        township_code(v / VILLAGES_PER_TOWNSHIP),
        v % VILLAGES_PER_TOWNSHIP + 1
    )
}

pub fn cadre_username(i: usize) -> String {
    format!("{PREFIX}cadre-{:04}", i + 1)
}

/// The village index behind a generated village code, if it is one.
pub fn village_index(code: &str) -> Option<usize> {
    let rest = code.strip_prefix(PREFIX)?;
    let mut parts = rest.split('-').map(|p| p.parse::<usize>().ok());
    let (Some(Some(c)), Some(Some(t)), Some(Some(v)), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return None;
    };
    if c == 0
        || !(1..=TOWNSHIPS_PER_COUNTY).contains(&t)
        || !(1..=VILLAGES_PER_TOWNSHIP).contains(&v)
    {
        return None;
    }
    let township = (c - 1) * TOWNSHIPS_PER_COUNTY + (t - 1);
    Some(township * VILLAGES_PER_TOWNSHIP + (v - 1))
}

/// The unit plan of village `v`.
pub fn village(v: usize) -> UnitPlan {
    let t = v / VILLAGES_PER_TOWNSHIP;
    let (x, y) = village_cell(v);
    UnitPlan {
        code: village_code(v),
        name: format!(
            "{}{}村",
            SURNAMES[v % SURNAMES.len()],
            PLACES[(v / SURNAMES.len() + t) % PLACES.len()]
        ),
        level: "village",
        parent_code: Some(township_code(t)),
        ring: block_ring(x, x, y, y),
        tolerance_m: TOLERANCE_M,
    }
}

fn township(t: usize) -> UnitPlan {
    let (x, y) = township_origin(t);
    UnitPlan {
        code: township_code(t),
        name: format!(
            "{}{}镇",
            TOWN_WORDS[t % TOWN_WORDS.len()],
            PLACES[(t / TOWN_WORDS.len() + 3) % PLACES.len()]
        ),
        level: "township",
        parent_code: Some(county_code(t / TOWNSHIPS_PER_COUNTY)),
        ring: block_ring(x, x + TOWNSHIP_COLS - 1, y, y + TOWNSHIP_ROWS - 1),
        tolerance_m: TOLERANCE_M,
    }
}

fn county(c: usize) -> UnitPlan {
    let x = c * COUNTY_COLS * TOWNSHIP_COLS;
    UnitPlan {
        code: county_code(c),
        name: format!(
            "{}{}县",
            TOWN_WORDS[(c + 5) % TOWN_WORDS.len()],
            TOWN_WORDS[(c / TOWN_WORDS.len() + 2) % TOWN_WORDS.len()]
        ),
        level: "county",
        parent_code: None,
        ring: block_ring(
            x,
            x + COUNTY_COLS * TOWNSHIP_COLS - 1,
            0,
            COUNTY_ROWS * TOWNSHIP_ROWS - 1,
        ),
        tolerance_m: TOLERANCE_M,
    }
}

/// Cell of the south-west village of township `t`.
fn township_origin(t: usize) -> (usize, usize) {
    let c = t / TOWNSHIPS_PER_COUNTY;
    let k = t % TOWNSHIPS_PER_COUNTY;
    (
        c * COUNTY_COLS * TOWNSHIP_COLS + (k % COUNTY_COLS) * TOWNSHIP_COLS,
        (k / COUNTY_COLS) * TOWNSHIP_ROWS,
    )
}

fn village_cell(v: usize) -> (usize, usize) {
    let (x, y) = township_origin(v / VILLAGES_PER_TOWNSHIP);
    let k = v % VILLAGES_PER_TOWNSHIP;
    (x + k % TOWNSHIP_COLS, y + k / TOWNSHIP_COLS)
}

/// Cadre `i` of an organisation of `villages` villages: the villages are staffed round-robin, so
/// each gets a first secretary before any gets a second cadre.
pub fn cadre(i: usize, villages: usize) -> CadrePlan {
    let villages = villages.max(1);
    let v = i % villages;
    CadrePlan {
        index: i,
        username: cadre_username(i),
        display_name: person_name(i.wrapping_mul(7).wrapping_add(3)),
        phone: format!("+86139{:08}", i % 100_000_000),
        village: village_code(v),
        assignment_role: if i < villages {
            "first_secretary"
        } else {
            "team_member"
        },
        valid_from: VALID_FROM,
        device_id: format!("{PREFIX}phone-{:04}", i + 1),
    }
}

/// The households of cadre `cadre` in `village` (the village the cadre is actually assigned to,
/// which on a reused server may differ from the one this run would have chosen).
pub fn households_of(cadre: usize, village: &str, count: usize) -> Vec<HouseholdPlan> {
    let centre = village_index(village)
        .map(|v| {
            let (x, y) = village_cell(v);
            cell_centre(x, y)
        })
        .unwrap_or([BASE_LON, BASE_LAT]);
    (0..count.min(MAX_HOUSEHOLDS_PER_CADRE))
        .map(|h| {
            let seed = hash3(cadre as u64, h as u64, 0x686f_7573);
            // Within a quarter cell of the centre: inside the village whatever its edges do.
            let dx = (unit_float(seed) - 0.5) * 0.5 * CELL_LON;
            let dy = (unit_float(seed >> 20) - 0.5) * 0.5 * CELL_LAT;
            HouseholdPlan {
                cadre,
                index: h,
                village: village.to_owned(),
                head_name: person_name(seed as usize),
                members: 1 + (seed % 6) as u16,
                lon: centre[0] + dx,
                lat: centre[1] + dy,
            }
        })
        .collect()
}

fn person_name(n: usize) -> String {
    format!(
        "{}{}{}",
        SURNAMES[n % SURNAMES.len()],
        GIVEN[(n / SURNAMES.len()) % GIVEN.len()],
        GIVEN[(n / 3 + 5) % GIVEN.len()]
    )
}

fn cell_centre(x: usize, y: usize) -> [f64; 2] {
    [
        BASE_LON + (x as f64 + 0.5) * CELL_LON,
        BASE_LAT + (y as f64 + 0.5) * CELL_LAT,
    ]
}

/// A stable 64-bit mix (SplitMix64's finaliser). Hand-written on purpose: the generated
/// boundaries must come out bit for bit the same in every later build, or a run against a
/// reused server would describe units other than the stored ones; a general-purpose RNG crate
/// makes no such promise across versions.
pub(crate) fn mix64(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

fn hash3(a: u64, b: u64, c: u64) -> u64 {
    mix64(mix64(mix64(a) ^ b.rotate_left(21)) ^ c.rotate_left(42))
}

/// A float in [0, 1) from the top 53 bits.
fn unit_float(h: u64) -> f64 {
    (h >> 11) as f64 / (1u64 << 53) as f64
}

/// Grid corner (x, y) with its own small jitter (±5 % of a cell), shared by the four cells
/// that meet there.
fn corner(x: usize, y: usize) -> [f64; 2] {
    let h = hash3(x as u64, y as u64, 0x636f_726e);
    [
        BASE_LON + (x as f64 + (unit_float(h) - 0.5) * 0.1) * CELL_LON,
        BASE_LAT + (y as f64 + (unit_float(mix64(h)) - 0.5) * 0.1) * CELL_LAT,
    ]
}

/// The inner vertices of the edge from corner (x, y) eastwards (`horizontal`) or northwards,
/// in that direction. The edge is a graph over its own axis (the along coordinate only grows)
/// with a smooth, tapered sideways meander of at most ~15 % of a cell, so it can neither cross
/// itself nor any other edge: edges of different rows or columns stay more than half a cell
/// apart, and two edges meeting at a corner leave it in cones far narrower than their angle.
fn edge_points(x: usize, y: usize, horizontal: bool) -> Vec<[f64; 2]> {
    let h = hash3(x as u64, y as u64, if horizontal { 0x68 } else { 0x76 });
    let segments = 3 + (h % 51) as usize;
    let (start, end) = if horizontal {
        (corner(x, y), corner(x + 1, y))
    } else {
        (corner(x, y), corner(x, y + 1))
    };
    let f1 = 0.5 + 1.5 * unit_float(mix64(h ^ 1));
    let f2 = 2.0 + 3.0 * unit_float(mix64(h ^ 2));
    let p1 = unit_float(mix64(h ^ 3));
    let p2 = unit_float(mix64(h ^ 4));
    let tau = std::f64::consts::TAU;
    (1..segments)
        .map(|i| {
            let noise = mix64(h ^ (i as u64).wrapping_mul(0x1000_0001));
            let t = (i as f64 + (unit_float(noise) - 0.5) * 0.6) / segments as f64;
            let wave = 0.6 * (tau * (f1 * t + p1)).sin()
                + 0.4 * (tau * (f2 * t + p2)).sin()
                + 0.2 * (unit_float(mix64(noise)) - 0.5) * 2.0;
            let side = 0.12 * (std::f64::consts::PI * t).sin() * wave;
            let lon = start[0] + (end[0] - start[0]) * t;
            let lat = start[1] + (end[1] - start[1]) * t;
            if horizontal {
                [lon, lat + side * CELL_LAT]
            } else {
                [lon + side * CELL_LON, lat]
            }
        })
        .collect()
}

/// The closed, counter-clockwise ring around cells x0..=x1 × y0..=y1 through every vertex of
/// every cell edge on its perimeter.
fn block_ring(x0: usize, x1: usize, y0: usize, y1: usize) -> Vec<[f64; 2]> {
    let mut ring = Vec::new();
    for x in x0..=x1 {
        ring.push(corner(x, y0));
        ring.extend(edge_points(x, y0, true));
    }
    for y in y0..=y1 {
        ring.push(corner(x1 + 1, y));
        ring.extend(edge_points(x1 + 1, y, false));
    }
    for x in (x0..=x1).rev() {
        ring.push(corner(x + 1, y1 + 1));
        ring.extend(edge_points(x, y1 + 1, true).into_iter().rev());
    }
    for y in (y0..=y1).rev() {
        ring.push(corner(x0, y + 1));
        ring.extend(edge_points(x0, y, false).into_iter().rev());
    }
    ring.push(corner(x0, y0));
    ring
}

#[cfg(test)]
mod tests {
    use super::*;
    use fieldtrail_domain::geo::{Position, UnitShape};

    fn shape(unit: &UnitPlan) -> UnitShape {
        assert!(unit.unit_level().is_some(), "{}", unit.level);
        UnitShape::new(&unit.boundary().expect("a valid boundary"))
    }

    #[test]
    fn codes_and_indexes_round_trip() {
        for v in [0, 1, 11, 12, 359, 360, 1000] {
            assert_eq!(village_index(&village_code(v)), Some(v), "{v}");
        }
        assert_eq!(village_code(0), "lt-01-01-01");
        assert_eq!(village_code(12), "lt-01-02-01");
        assert_eq!(village_code(360), "lt-02-01-01");
        assert_eq!(village_index("lt-01-01"), None);
        assert_eq!(village_index("341322100201"), None);
        assert_eq!(cadre_username(0), "lt-cadre-0001");
        assert!(village_code(100_000).len() <= 32);
    }

    #[test]
    fn the_same_index_gives_the_same_unit_whatever_the_size() {
        let small = Organisation::generate(OrgSpec {
            villages: 5,
            cadres: 3,
            households_per_cadre: 2,
        });
        let large = Organisation::generate(OrgSpec {
            villages: 40,
            cadres: 9,
            households_per_cadre: 2,
        });
        for unit in &small.units {
            if unit.level != "township" || unit.code == "lt-01-01" {
                assert_eq!(Some(unit), large.unit(&unit.code), "{}", unit.code);
            }
        }
        assert_eq!(small.cadres[0].username, large.cadres[0].username);
        assert_eq!(small.units.len(), 1 + 1 + 5);
        assert_eq!(large.units.len(), 1 + 4 + 40);
        assert_eq!(small.households.len(), 6);
        // Parents come before children, as an import wants them.
        for (k, unit) in large.units.iter().enumerate() {
            if let Some(parent) = &unit.parent_code {
                assert!(large.units[..k].iter().any(|u| &u.code == parent));
            }
        }
    }

    #[test]
    fn vertex_counts_are_realistic() {
        let org = Organisation::generate(OrgSpec {
            villages: 24,
            cadres: 0,
            households_per_cadre: 0,
        });
        for unit in &org.units {
            let n = unit.ring.len();
            match unit.level {
                "village" => assert!((12..=220).contains(&n), "{} has {n}", unit.code),
                "township" => assert!((100..=800).contains(&n), "{} has {n}", unit.code),
                _ => assert!(n > 500, "{} has {n}", unit.code),
            }
            assert_eq!(unit.ring.first(), unit.ring.last());
        }
        let villages: Vec<usize> = org.villages().map(|v| v.ring.len()).collect();
        let (min, max) = (villages.iter().min(), villages.iter().max());
        assert!(min < max, "vertex counts vary: {villages:?}");
    }

    /// Every point of a full township lies in exactly one of its villages, every village holds
    /// its centre and its households, and the township and county hold every village.
    #[test]
    fn villages_tile_their_township() {
        let org = Organisation::generate(OrgSpec {
            villages: 24,
            cadres: 48,
            households_per_cadre: 3,
        });
        let villages: Vec<(&UnitPlan, UnitShape)> = org.villages().map(|v| (v, shape(v))).collect();
        for township in org.units.iter().filter(|u| u.level == "township") {
            let township_shape = shape(township);
            let own: Vec<&(&UnitPlan, UnitShape)> = villages
                .iter()
                .filter(|(v, _)| v.parent_code.as_deref() == Some(township.code.as_str()))
                .collect();
            assert_eq!(own.len(), VILLAGES_PER_TOWNSHIP);
            let ring = &township.ring;
            let (lon0, lon1) = ring
                .iter()
                .fold((f64::MAX, f64::MIN), |(a, b), p| (a.min(p[0]), b.max(p[0])));
            let (lat0, lat1) = ring
                .iter()
                .fold((f64::MAX, f64::MIN), |(a, b), p| (a.min(p[1]), b.max(p[1])));
            let mut seed = 7u64;
            let mut inside = 0;
            for _ in 0..3000 {
                seed = mix64(seed);
                let lon = lon0 + (lon1 - lon0) * unit_float(seed);
                let lat = lat0 + (lat1 - lat0) * unit_float(mix64(seed));
                let p = Position::parse(lon, lat).unwrap();
                let holders = own.iter().filter(|(_, s)| s.contains(p)).count();
                if township_shape.contains(p) {
                    inside += 1;
                    assert_eq!(holders, 1, "{lon},{lat} in {}", township.code);
                } else {
                    assert_eq!(holders, 0, "{lon},{lat} outside {}", township.code);
                }
            }
            assert!(inside > 1500);
        }
        let county = shape(&org.units[0]);
        for (village, village_shape) in &villages {
            let [lon, lat] = village.centre();
            let centre = Position::parse(lon, lat).unwrap();
            assert!(
                village_shape.signed_distance_m(centre) > 800.0,
                "{}",
                village.code
            );
            assert!(county.contains(centre));
        }
        for household in &org.households {
            let (_, s) = villages
                .iter()
                .find(|(v, _)| v.code == household.village)
                .unwrap();
            assert!(s.contains(Position::parse(household.lon, household.lat).unwrap()));
        }
    }

    #[test]
    fn cadres_staff_every_village_before_doubling_up() {
        let org = Organisation::generate(OrgSpec {
            villages: 3,
            cadres: 7,
            households_per_cadre: 9,
        });
        let roles: Vec<(&str, &str)> = org
            .cadres
            .iter()
            .map(|c| (c.village.as_str(), c.assignment_role))
            .collect();
        assert_eq!(roles[0], ("lt-01-01-01", "first_secretary"));
        assert_eq!(roles[2], ("lt-01-01-03", "first_secretary"));
        assert_eq!(roles[3], ("lt-01-01-01", "team_member"));
        // The policy's limit of paired households per cadre is respected.
        assert_eq!(org.households.len(), 7 * MAX_HOUSEHOLDS_PER_CADRE);
    }
}
