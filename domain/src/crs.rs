//! Chinese map coordinate systems, and how to get from them back to WGS-84.
//!
//! Phones in China often report fixes from Amap or Tencent (GCJ-02) or from Baidu (BD-09)
//! rather than raw GPS (WGS-84). The two are deliberately shifted by up to several hundred
//! metres, so a fix that is not converted would put a cadre in the wrong village. The client
//! says which system it used; the server converts to WGS-84 and keeps the original (design
//! principle 5, "Honest geometry").
//!
//! The formulas are the de-facto public ones (the same as in eviltransform, coordtransform,
//! gcoord and most map SDK wrappers). No official specification is published, so agreeing with
//! those projects' published values is the only correctness check there is; see the tests.
//!
//! Longitude always comes first, as everywhere else in fieldtrail. The functions do not
//! validate: they are meant to be fed values that already passed [`crate::geo::Position::parse`].
//! A NaN goes through unchanged (NaN is "outside China").
//!
//! How exact it is, measured by the tests over China at 0.5° spacing:
//! * WGS-84 → GCJ-02 → WGS-84 comes back within about 1e-9 degrees (millimetres), because
//!   the inverse is solved iteratively rather than with the common one-step approximation
//!   (which is off by up to a couple of metres).
//! * The BD-09 inverse is the standard closed form, which is not an exact inverse of the
//!   forward formula: a round trip through BD-09 is off by up to about 2e-6 degrees (≈ 0.2 m).
//!   It is kept because it is what every Baidu-compatible converter does, and 0.2 m is far
//!   below any phone's accuracy radius.

use std::f64::consts::PI;

use serde::{Deserialize, Serialize};

/// The coordinate reference system a phone reported its fix in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Crs {
    /// Raw GPS / GNSS, and what the server stores and judges in.
    Wgs84,
    /// China's "Mars coordinates": Amap (Gaode), Tencent, Apple Maps in China.
    Gcj02,
    /// Baidu's extra offset on top of GCJ-02.
    Bd09,
}

/// Why a CRS name was refused. The message is shown to users.
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
pub enum CrsError {
    #[error("crs must be one of wgs84, gcj02, bd09")]
    Unknown,
}

impl Crs {
    /// Accepts exactly `wgs84`, `gcj02` or `bd09`. Case-sensitive on purpose: these are wire
    /// names, and one spelling per value keeps stored originals comparable byte for byte.
    pub fn parse(raw: &str) -> Result<Crs, CrsError> {
        match raw {
            "wgs84" => Ok(Crs::Wgs84),
            "gcj02" => Ok(Crs::Gcj02),
            "bd09" => Ok(Crs::Bd09),
            _ => Err(CrsError::Unknown),
        }
    }

    /// The wire name; the same spelling serde uses.
    pub fn as_str(self) -> &'static str {
        match self {
            Crs::Wgs84 => "wgs84",
            Crs::Gcj02 => "gcj02",
            Crs::Bd09 => "bd09",
        }
    }
}

impl Default for Crs {
    /// A client that does not say is assumed to send what GNSS hardware produces.
    fn default() -> Self {
        Crs::Wgs84
    }
}

/// Converts a point given in `crs` to WGS-84 (lon, lat in degrees).
pub fn to_wgs84(crs: Crs, lon: f64, lat: f64) -> (f64, f64) {
    match crs {
        Crs::Wgs84 => (lon, lat),
        Crs::Gcj02 => gcj02_to_wgs84(lon, lat),
        Crs::Bd09 => {
            let (glon, glat) = bd09_to_gcj02(lon, lat);
            gcj02_to_wgs84(glon, glat)
        }
    }
}

/// Converts a WGS-84 point into `crs` (the forward direction; used by tests and the demo).
pub fn from_wgs84(crs: Crs, lon: f64, lat: f64) -> (f64, f64) {
    match crs {
        Crs::Wgs84 => (lon, lat),
        Crs::Gcj02 => wgs84_to_gcj02(lon, lat),
        Crs::Bd09 => {
            let (glon, glat) = wgs84_to_gcj02(lon, lat);
            gcj02_to_bd09(glon, glat)
        }
    }
}

/// Semi-major axis of the Krasovsky 1940 ellipsoid, in metres. GCJ-02 is defined on it, and the
/// published test values are only reproduced with it (not with the WGS-84 6378137).
const KRASOVSKY_A: f64 = 6_378_245.0;

/// First eccentricity squared as the reference implementations spell it (all digits kept so
/// that results agree with theirs to the last bit).
#[allow(clippy::excessive_precision)]
const KRASOVSKY_EE: f64 = 0.00669342162296594323;

/// Baidu's angular constant; π·3000/180 is how every implementation writes it.
const BD_X_PI: f64 = PI * 3000.0 / 180.0;

/// Baidu's final shift, in degrees.
const BD_DLON: f64 = 0.0065;
const BD_DLAT: f64 = 0.006;

/// Stop refining the GCJ-02 inverse once a step moves less than this (≈ 0.1 mm).
const GCJ_INVERSE_EPS: f64 = 1e-9;

/// The step shrinks by two to three orders of magnitude per iteration, so a handful suffice;
/// the cap only guards against oscillation at the edge of the China box.
const GCJ_INVERSE_MAX_ITER: usize = 10;

/// GCJ-02 applies only inside China's rough bounding box; outside it equals WGS-84.
///
/// This is the box every public implementation uses, not China's border: parts of neighbouring
/// countries are shifted too, exactly as the map providers shift them.
pub fn outside_china(lon: f64, lat: f64) -> bool {
    // Written as "not inside" so that NaN counts as outside and passes through unchanged.
    !((72.004..=137.8347).contains(&lon) && (0.8293..=55.8271).contains(&lat))
}

pub fn wgs84_to_gcj02(lon: f64, lat: f64) -> (f64, f64) {
    if outside_china(lon, lat) {
        return (lon, lat);
    }
    let (dlon, dlat) = gcj02_offset(lon, lat);
    (lon + dlon, lat + dlat)
}

/// Solves `wgs84_to_gcj02(w) == (lon, lat)` for `w` by fixed-point iteration. The offset varies
/// slowly (its derivative is of order 1e-3), so each step gains about three digits; the common
/// one-step version (subtract the offset taken at the GCJ point) stops after the first step and
/// is off by up to a couple of metres.
///
/// A GCJ-02 point outside the China box is returned unchanged, like the forward direction. In the
/// few-hundred-metre strip along the box's edge the two directions can disagree about which side
/// a point is on; that strip is sea or foreign land.
pub fn gcj02_to_wgs84(lon: f64, lat: f64) -> (f64, f64) {
    if outside_china(lon, lat) {
        return (lon, lat);
    }
    let (mut wlon, mut wlat) = (lon, lat);
    for _ in 0..GCJ_INVERSE_MAX_ITER {
        let (glon, glat) = wgs84_to_gcj02(wlon, wlat);
        let (elon, elat) = (glon - lon, glat - lat);
        wlon -= elon;
        wlat -= elat;
        if elon.abs() < GCJ_INVERSE_EPS && elat.abs() < GCJ_INVERSE_EPS {
            break;
        }
    }
    (wlon, wlat)
}

/// Baidu's offset on top of GCJ-02. Unlike GCJ-02 it is applied everywhere, also outside China:
/// Baidu's own SDK and the common converters (coordtransform, gcoord) do so, and
/// [`bd09_to_gcj02`] undoes it everywhere too, so the two directions stay consistent.
pub fn gcj02_to_bd09(lon: f64, lat: f64) -> (f64, f64) {
    let (x, y) = (lon, lat);
    let z = x.hypot(y) + 0.00002 * (y * BD_X_PI).sin();
    let theta = y.atan2(x) + 0.000003 * (x * BD_X_PI).cos();
    (z * theta.cos() + BD_DLON, z * theta.sin() + BD_DLAT)
}

/// The standard closed-form inverse of [`gcj02_to_bd09`]: it evaluates the perturbation at the
/// BD-09 point instead of the unknown GCJ-02 one, which costs up to ≈ 0.2 m (see module docs).
pub fn bd09_to_gcj02(lon: f64, lat: f64) -> (f64, f64) {
    let (x, y) = (lon - BD_DLON, lat - BD_DLAT);
    let z = x.hypot(y) - 0.00002 * (y * BD_X_PI).sin();
    let theta = y.atan2(x) - 0.000003 * (x * BD_X_PI).cos();
    (z * theta.cos(), z * theta.sin())
}

/// GCJ-02 minus WGS-84 at a WGS-84 point, as (dlon, dlat) in degrees: the published polynomial
/// "offsets in metres" scaled by the Krasovsky radii of curvature at that latitude.
fn gcj02_offset(lon: f64, lat: f64) -> (f64, f64) {
    let (x, y) = (lon - 105.0, lat - 35.0);
    let dlat_m = transform_lat(x, y);
    let dlon_m = transform_lon(x, y);
    let rad_lat = lat / 180.0 * PI;
    let magic = 1.0 - KRASOVSKY_EE * rad_lat.sin() * rad_lat.sin();
    let sqrt_magic = magic.sqrt();
    // Meridian and prime-vertical radii of curvature turn metres into degrees.
    let dlat =
        (dlat_m * 180.0) / ((KRASOVSKY_A * (1.0 - KRASOVSKY_EE)) / (magic * sqrt_magic) * PI);
    let dlon = (dlon_m * 180.0) / (KRASOVSKY_A / sqrt_magic * rad_lat.cos() * PI);
    (dlon, dlat)
}

fn transform_lat(x: f64, y: f64) -> f64 {
    let mut ret = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * x.abs().sqrt();
    ret += (20.0 * (6.0 * x * PI).sin() + 20.0 * (2.0 * x * PI).sin()) * 2.0 / 3.0;
    ret += (20.0 * (y * PI).sin() + 40.0 * (y / 3.0 * PI).sin()) * 2.0 / 3.0;
    ret += (160.0 * (y / 12.0 * PI).sin() + 320.0 * (y * PI / 30.0).sin()) * 2.0 / 3.0;
    ret
}

fn transform_lon(x: f64, y: f64) -> f64 {
    let mut ret = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * x.abs().sqrt();
    ret += (20.0 * (6.0 * x * PI).sin() + 20.0 * (2.0 * x * PI).sin()) * 2.0 / 3.0;
    ret += (20.0 * (x * PI).sin() + 40.0 * (x / 3.0 * PI).sin()) * 2.0 / 3.0;
    ret += (150.0 * (x / 12.0 * PI).sin() + 300.0 * (x / 30.0 * PI).sin()) * 2.0 / 3.0;
    ret
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Published values are given to at most this many degrees (≈ 0.1 m), or carry a
    /// reference implementation's own convergence slack.
    const TOL_DEG: f64 = 1e-6;

    /// Spherical radius for the round-trip distances; at sub-metre distances the choice of
    /// radius changes the result by well under a millimetre.
    const EARTH_RADIUS_M: f64 = 6_371_008.8;

    fn assert_close(got: (f64, f64), want: (f64, f64), tol: f64, what: &str) {
        let err = (got.0 - want.0).abs().max((got.1 - want.1).abs());
        assert!(
            err <= tol,
            "{what}: got ({:.12}, {:.12}), want ({:.12}, {:.12}), error {err:e}°",
            got.0,
            got.1,
            want.0,
            want.1
        );
    }

    fn haversine_m(a: (f64, f64), b: (f64, f64)) -> f64 {
        let (lon1, lat1) = (a.0.to_radians(), a.1.to_radians());
        let (lon2, lat2) = (b.0.to_radians(), b.1.to_radians());
        let h = ((lat2 - lat1) / 2.0).sin().powi(2)
            + lat1.cos() * lat2.cos() * ((lon2 - lon1) / 2.0).sin().powi(2);
        2.0 * EARTH_RADIUS_M * h.sqrt().asin()
    }

    /// (input, expected output, label); points are (lon, lat) in degrees.
    type Pair = ((f64, f64), (f64, f64), &'static str);

    /// (WGS-84, GCJ-02) pairs from published test suites.
    const WGS_GCJ: &[Pair] = &[
        // googollee/eviltransform, go/transform_test.go (also python/test.py, rust/src/lib.rs).
        (
            (121.5272106, 31.1774276),
            (121.531541859215, 31.17530398364597),
            "eviltransform shanghai",
        ),
        (
            (113.912316, 22.543847),
            (113.9171764808363, 22.540796131694766),
            "eviltransform shenzhen",
        ),
        (
            (116.377817, 39.911954),
            (116.38404722455657, 39.91334545536069),
            "eviltransform beijing",
        ),
        // wandergis/coordtransform, README.md ("wgs84togcj02(116.404, 39.915)").
        (
            (116.404, 39.915),
            (116.41024449916938, 39.91640428150164),
            "coordtransform tiananmen",
        ),
        // hujiulong/gcoord, test/unit/crs/WGS84.spec.ts ("WGS84 to GCJ02", 8 decimals).
        (
            (123.0, 45.0),
            (123.00607541, 45.00197815),
            "gcoord [123, 45]",
        ),
    ];

    /// (GCJ-02 input, BD-09 output) pairs for the forward Baidu offset.
    const GCJ_TO_BD: &[Pair] = &[
        // wandergis/coordtransform, README.md ("gcj02tobd09(116.404, 39.915)").
        (
            (116.404, 39.915),
            (116.41036949371029, 39.92133699351021),
            "coordtransform tiananmen",
        ),
        // hujiulong/gcoord, test/unit/crs/GCJ02.spec.ts ("GCJ02 to BD09", 8 decimals).
        (
            (123.0, 45.0),
            (123.00636499, 45.00636899),
            "gcoord [123, 45]",
        ),
        // hujiulong/gcoord, test/fixtures/china-cities.json (驻马店市 and 沈阳市; 7 decimals).
        (
            (114.022306, 33.0115324),
            (114.0287781, 33.0176697),
            "gcoord fixture zhumadian",
        ),
        (
            (123.4314787, 41.8057023),
            (123.438095, 41.8114013),
            "gcoord fixture shenyang",
        ),
    ];

    /// (BD-09 input, GCJ-02 output) pairs for the standard Baidu inverse.
    const BD_TO_GCJ: &[Pair] = &[
        // wandergis/coordtransform, README.md ("bd09togcj02(116.404, 39.915)").
        (
            (116.404, 39.915),
            (116.39762729119315, 39.90865673957631),
            "coordtransform tiananmen",
        ),
        // hujiulong/gcoord, test/unit/crs/BD09.spec.ts ("BD09 to GCJ02", 8 decimals).
        (
            (123.0, 45.0),
            (122.99363304, 44.9936543),
            "gcoord [123, 45]",
        ),
    ];

    #[test]
    fn wgs84_to_gcj02_matches_published_pairs() {
        for &(wgs, gcj, what) in WGS_GCJ {
            assert_close(wgs84_to_gcj02(wgs.0, wgs.1), gcj, TOL_DEG, what);
            assert_close(from_wgs84(Crs::Gcj02, wgs.0, wgs.1), gcj, TOL_DEG, what);
        }
    }

    #[test]
    fn gcj02_to_wgs84_recovers_published_pairs() {
        // The published pairs were made in the forward direction, so the exact inverse must land
        // on the WGS-84 side; the one-step approximation would miss by metres.
        for &(wgs, gcj, what) in WGS_GCJ {
            assert_close(gcj02_to_wgs84(gcj.0, gcj.1), wgs, TOL_DEG, what);
            assert_close(to_wgs84(Crs::Gcj02, gcj.0, gcj.1), wgs, TOL_DEG, what);
        }
        // hujiulong/gcoord, test/unit/crs/GCJ02.spec.ts ("GCJ02 to WGS84"), an iterative inverse
        // that stops at 1e-6°.
        assert_close(
            gcj02_to_wgs84(123.0, 45.0),
            (122.99395597, 44.99804071),
            TOL_DEG,
            "gcoord [123, 45]",
        );
    }

    #[test]
    fn gcj02_to_bd09_matches_published_pairs() {
        for &(gcj, bd, what) in GCJ_TO_BD {
            assert_close(gcj02_to_bd09(gcj.0, gcj.1), bd, TOL_DEG, what);
        }
    }

    #[test]
    fn bd09_to_gcj02_matches_published_pairs() {
        for &(bd, gcj, what) in BD_TO_GCJ {
            assert_close(bd09_to_gcj02(bd.0, bd.1), gcj, TOL_DEG, what);
        }
    }

    #[test]
    fn bd09_round_trip_of_published_pairs() {
        for &(gcj, bd, what) in GCJ_TO_BD {
            assert_close(bd09_to_gcj02(bd.0, bd.1), gcj, 2e-6, what);
        }
    }

    #[test]
    fn wgs84_via_bd09_matches_published_chain() {
        // hujiulong/gcoord, test/unit/crs/WGS84.spec.ts ("WGS84 to BD09") and BD09.spec.ts
        // ("BD09 to WGS84"), both given to 5 decimals in the assertions.
        assert_close(
            from_wgs84(Crs::Bd09, 123.0, 45.0),
            (123.0124491, 45.0083293),
            TOL_DEG,
            "gcoord wgs84→bd09",
        );
        assert_close(
            to_wgs84(Crs::Bd09, 123.0, 45.0),
            (122.9876221, 44.9917154),
            TOL_DEG,
            "gcoord bd09→wgs84",
        );
    }

    /// WGS-84 points over China at 0.5° spacing, lon 74..135, lat 18..53.
    fn china_grid() -> impl Iterator<Item = (f64, f64)> {
        (0..=122)
            .flat_map(|i| (0..=70).map(move |j| (74.0 + 0.5 * i as f64, 18.0 + 0.5 * j as f64)))
    }

    fn worst_round_trip_m(crs: Crs) -> f64 {
        china_grid()
            .map(|w| {
                let there = from_wgs84(crs, w.0, w.1);
                haversine_m(w, to_wgs84(crs, there.0, there.1))
            })
            .fold(0.0, f64::max)
    }

    #[test]
    fn round_trip_through_gcj02_is_exact_to_a_millimetre() {
        let worst = worst_round_trip_m(Crs::Gcj02);
        assert!(worst < 0.001, "worst WGS→GCJ→WGS error {worst} m");
    }

    #[test]
    fn round_trip_through_bd09_is_below_a_metre() {
        // Bounded by the closed-form Baidu inverse (≈ 0.2 m), not by the GCJ step.
        let worst = worst_round_trip_m(Crs::Bd09);
        assert!(worst < 0.5, "worst WGS→BD→WGS error {worst} m");
    }

    #[test]
    fn offsets_are_really_applied_inside_china() {
        // Guards against a round trip that passes only because nothing was converted.
        for w in china_grid() {
            let g = wgs84_to_gcj02(w.0, w.1);
            assert!(haversine_m(w, g) > 1.0, "no GCJ-02 shift at {w:?}");
        }
    }

    const ABROAD: &[(f64, f64, &str)] = &[
        (-0.1276, 51.5072, "london"),
        (-74.006, 40.7128, "new york"),
        (151.2093, -33.8688, "sydney"),
        (139.6917, 35.6895, "tokyo, east of the box"),
        (71.99, 40.0, "just west of the box"),
    ];

    #[test]
    fn gcj02_is_identity_outside_china() {
        for &(lon, lat, what) in ABROAD {
            assert!(outside_china(lon, lat), "{what}");
            assert_eq!(wgs84_to_gcj02(lon, lat), (lon, lat), "{what}");
            assert_eq!(gcj02_to_wgs84(lon, lat), (lon, lat), "{what}");
            assert_eq!(to_wgs84(Crs::Gcj02, lon, lat), (lon, lat), "{what}");
            assert_eq!(from_wgs84(Crs::Gcj02, lon, lat), (lon, lat), "{what}");
        }
    }

    #[test]
    fn bd09_offset_applies_outside_china_in_both_directions() {
        for &(lon, lat, what) in ABROAD {
            let bd = from_wgs84(Crs::Bd09, lon, lat);
            assert_eq!(bd, gcj02_to_bd09(lon, lat), "{what}");
            // Roughly Baidu's constant shift of ~0.0065°/0.006° (~700 m); far from zero.
            assert!(
                haversine_m((lon, lat), bd) > 100.0,
                "{what}: no BD-09 shift"
            );
            let back = to_wgs84(Crs::Bd09, bd.0, bd.1);
            assert!(haversine_m((lon, lat), back) < 0.5, "{what}: {back:?}");
        }
    }

    #[test]
    fn china_box_edges() {
        assert!(!outside_china(116.4, 39.9));
        assert!(!outside_china(72.004, 0.8293));
        assert!(!outside_china(137.8347, 55.8271));
        assert!(outside_china(72.003, 30.0));
        assert!(outside_china(137.835, 30.0));
        assert!(outside_china(100.0, 0.8292));
        assert!(outside_china(100.0, 55.8272));
        assert!(outside_china(f64::NAN, 30.0));
        assert!(outside_china(100.0, f64::NAN));
    }

    #[test]
    fn wgs84_is_identity() {
        assert_eq!(to_wgs84(Crs::Wgs84, 116.4, 39.9), (116.4, 39.9));
        assert_eq!(from_wgs84(Crs::Wgs84, 116.4, 39.9), (116.4, 39.9));
    }

    #[test]
    fn names_round_trip_and_match_serde() {
        for crs in [Crs::Wgs84, Crs::Gcj02, Crs::Bd09] {
            assert_eq!(Crs::parse(crs.as_str()), Ok(crs));
            let json = serde_json::to_string(&crs).unwrap();
            assert_eq!(json, format!("\"{}\"", crs.as_str()));
            assert_eq!(serde_json::from_str::<Crs>(&json).unwrap(), crs);
        }
    }

    #[test]
    fn unknown_or_miscased_names_are_refused() {
        for raw in [
            "",
            "WGS84",
            "Gcj02",
            "BD09",
            "wgs-84",
            "gcj-02",
            "bd-09",
            " wgs84",
            "wgs84 ",
            "epsg:4326",
            "bd09mc",
        ] {
            assert_eq!(Crs::parse(raw), Err(CrsError::Unknown), "{raw:?}");
        }
        assert_eq!(
            CrsError::Unknown.to_string(),
            "crs must be one of wgs84, gcj02, bd09"
        );
        assert!(serde_json::from_str::<Crs>("\"WGS84\"").is_err());
    }

    #[test]
    fn default_is_wgs84() {
        assert_eq!(Crs::default(), Crs::Wgs84);
    }
}
