//! CRS conversion (domain/src/crs.rs): GCJ-02 / BD-09 <-> WGS-84.
//!
//! * Any f64 pair (NaN, infinities, huge values) goes through every conversion without a panic.
//! * A valid position gives finite coordinates, and one outside the China box is left alone by
//!   GCJ-02 in both directions.
//! * For a WGS-84 point inside China (the box less a 0.1° strip along its edge, where the two
//!   directions may disagree about which side a point is on), WGS-84 -> GCJ-02 -> WGS-84 comes
//!   back within 1 mm and WGS-84 -> BD-09 -> WGS-84 within 0.5 m, and the reverse trips from a
//!   GCJ-02 / BD-09 point are bounded the same way.
#![no_main]

use fieldtrail_domain::crs::{
    bd09_to_gcj02, from_wgs84, gcj02_to_bd09, gcj02_to_wgs84, outside_china, to_wgs84,
    wgs84_to_gcj02, Crs,
};
use fieldtrail_domain::geo::{distance_m, Position};
use fieldtrail_fuzz::Bytes;
use libfuzzer_sys::fuzz_target;

const ALL: [Crs; 3] = [Crs::Wgs84, Crs::Gcj02, Crs::Bd09];

fuzz_target!(|data: &[u8]| {
    let mut input = Bytes::new(data);
    let (raw_lon, raw_lat) = (input.f64(), input.f64());
    // Any bits at all.
    for crs in ALL {
        let _ = to_wgs84(crs, raw_lon, raw_lat);
        let _ = from_wgs84(crs, raw_lon, raw_lat);
    }
    let _ = gcj02_to_bd09(raw_lon, raw_lat);
    let _ = bd09_to_gcj02(raw_lon, raw_lat);

    // A valid position: the bits mapped into range.
    let lon = unit(raw_lon) * 360.0 - 180.0;
    let lat = unit(raw_lat) * 180.0 - 90.0;
    for crs in ALL {
        for (x, y) in [to_wgs84(crs, lon, lat), from_wgs84(crs, lon, lat)] {
            assert!(
                x.is_finite() && y.is_finite(),
                "{crs:?} ({lon}, {lat}) -> ({x}, {y})"
            );
        }
    }
    if outside_china(lon, lat) {
        assert_eq!(wgs84_to_gcj02(lon, lat), (lon, lat));
        assert_eq!(gcj02_to_wgs84(lon, lat), (lon, lat));
    }

    // Inside China, away from the edge of the box.
    let lon = 72.004 + 0.1 + unit(raw_lon) * (137.8347 - 72.004 - 0.2);
    let lat = 0.8293 + 0.1 + unit(raw_lat) * (55.8271 - 0.8293 - 0.2);
    let p = (lon, lat);
    let gcj = wgs84_to_gcj02(lon, lat);
    assert!(
        metres(p, gcj) < 2000.0,
        "GCJ-02 shift of {} m at {p:?}",
        metres(p, gcj)
    );
    let back = gcj02_to_wgs84(gcj.0, gcj.1);
    assert!(
        metres(p, back) < 0.001,
        "WGS→GCJ→WGS off by {} m at {p:?}",
        metres(p, back)
    );
    let bd = from_wgs84(Crs::Bd09, lon, lat);
    let back = to_wgs84(Crs::Bd09, bd.0, bd.1);
    assert!(
        metres(p, back) < 0.5,
        "WGS→BD→WGS off by {} m at {p:?}",
        metres(p, back)
    );
    // The same point read as GCJ-02 / BD-09 and sent back.
    let w = gcj02_to_wgs84(lon, lat);
    let again = wgs84_to_gcj02(w.0, w.1);
    assert!(
        metres(p, again) < 0.001,
        "GCJ→WGS→GCJ off by {} m at {p:?}",
        metres(p, again)
    );
    let w = to_wgs84(Crs::Bd09, lon, lat);
    let again = from_wgs84(Crs::Bd09, w.0, w.1);
    assert!(
        metres(p, again) < 0.5,
        "BD→WGS→BD off by {} m at {p:?}",
        metres(p, again)
    );
});

/// Maps any f64's bits to [0, 1].
fn unit(x: f64) -> f64 {
    (x.to_bits() >> 11) as f64 / (1u64 << 53) as f64
}

fn metres(a: (f64, f64), b: (f64, f64)) -> f64 {
    let pa = Position::parse(a.0, a.1).expect("in range");
    let pb = Position::parse(b.0, b.1).expect("in range");
    distance_m(pa, pb)
}
