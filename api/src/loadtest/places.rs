//! Where cadres are: candidate places per village (deep inside, near the edge, outside), the
//! ten-minute stays that tie a cadre's position to captured time, and the scatter and accuracy
//! of single fixes.

use super::org::{mix64, UnitPlan};
use super::setup::ReadyHousehold;
use fieldtrail_domain::geo::{Position, UnitShape};
use time::OffsetDateTime;

/// How long a cadre stays at one place, in captured time.
pub const STAY_SECONDS: i64 = 600;
/// Candidate positions computed per village and class.
const POOL: usize = 256;

/// A small, fast PRNG for traffic (SplitMix64); nothing about traffic needs to be reproducible
/// or unpredictable, only cheap.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        mix64(self.0)
    }

    /// Uniform in [0, 1).
    pub fn float(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    pub fn below(&mut self, n: usize) -> usize {
        ((self.next_u64() >> 32) as usize * n) >> 32
    }

    pub fn chance(&mut self, p: f64) -> bool {
        self.float() < p
    }

    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

/// Candidate fixes for one village: deep inside, within ~100 m of the edge on either side, and
/// outside (300 m to 3 km beyond it).
pub struct VillageGeo {
    inside: Vec<[f64; 2]>,
    near: Vec<[f64; 2]>,
    outside: Vec<[f64; 2]>,
}

const METRES_PER_DEGREE: f64 = 111_195.0;

pub fn offset_m(p: [f64; 2], east_m: f64, north_m: f64) -> [f64; 2] {
    [
        p[0] + east_m / (METRES_PER_DEGREE * p[1].to_radians().cos()),
        p[1] + north_m / METRES_PER_DEGREE,
    ]
}

impl VillageGeo {
    pub fn new(village: &UnitPlan, seed: u64) -> VillageGeo {
        let mut rng = Rng::new(seed);
        let shape = village.boundary().map(|b| UnitShape::new(&b));
        let centre = village.centre();
        let ring = &village.ring;
        let (mut lo, mut hi) = ([f64::MAX; 2], [f64::MIN; 2]);
        for p in ring {
            for k in 0..2 {
                lo[k] = lo[k].min(p[k]);
                hi[k] = hi[k].max(p[k]);
            }
        }
        let distance = |p: [f64; 2]| -> Option<f64> {
            let shape = shape.as_ref()?;
            Some(shape.signed_distance_m(Position::parse(p[0], p[1]).ok()?))
        };
        let on_ring = |rng: &mut Rng| -> [f64; 2] {
            let k = rng.below(ring.len().saturating_sub(1).max(1));
            let (a, b) = (ring[k], ring[(k + 1).min(ring.len() - 1)]);
            let t = rng.float();
            [a[0] + (b[0] - a[0]) * t, a[1] + (b[1] - a[1]) * t]
        };
        let mut geo = VillageGeo {
            inside: Vec::with_capacity(POOL),
            near: Vec::with_capacity(POOL),
            outside: Vec::with_capacity(POOL),
        };
        // Bounded tries: a shape the domain could not read still gets its centre and ring points.
        for _ in 0..POOL * 20 {
            if geo.inside.len() >= POOL {
                break;
            }
            let p = [
                lo[0] + (hi[0] - lo[0]) * rng.float(),
                lo[1] + (hi[1] - lo[1]) * rng.float(),
            ];
            if distance(p).is_some_and(|d| d > 30.0) {
                geo.inside.push(p);
            }
        }
        for _ in 0..POOL * 20 {
            if geo.near.len() >= POOL {
                break;
            }
            let angle = rng.float() * std::f64::consts::TAU;
            let r = rng.float() * 100.0;
            let p = offset_m(on_ring(&mut rng), r * angle.cos(), r * angle.sin());
            if distance(p).is_some_and(|d| d.abs() <= 100.0) {
                geo.near.push(p);
            }
        }
        for _ in 0..POOL * 20 {
            if geo.outside.len() >= POOL {
                break;
            }
            let edge = on_ring(&mut rng);
            let (dx, dy) = (edge[0] - centre[0], edge[1] - centre[1]);
            let scale = (dx * dx + dy * dy).sqrt().max(1e-9);
            let beyond = (300.0 + rng.float() * 2700.0) / METRES_PER_DEGREE;
            let p = [edge[0] + dx / scale * beyond, edge[1] + dy / scale * beyond];
            if distance(p).is_some_and(|d| d < -150.0) {
                geo.outside.push(p);
            }
        }
        for pool in [&mut geo.inside, &mut geo.near, &mut geo.outside] {
            if pool.is_empty() {
                pool.push(centre);
            }
        }
        geo
    }

    /// Place number `k` of a pool class picked by `h`: 60 % deep inside, 15 % near the edge,
    /// 7 % outside; the rest (None) is at one of the cadre's households.
    pub fn place(&self, h: u64) -> Option<[f64; 2]> {
        let roll = (h % 100) as u32;
        let pool = match roll {
            0..=59 => &self.inside,
            60..=74 => &self.near,
            75..=81 => &self.outside,
            _ => return None,
        };
        Some(pool[((h >> 8) as usize) % pool.len()])
    }
}

/// A fix where the cadre is: a few metres of scatter, less than any two accuracy radii add up
/// to, so that records sent in quick succession from one place never look like impossible
/// speed, and no two repeat exactly (a repeat is a flag of its own).
pub fn scatter(p: [f64; 2], rng: &mut Rng) -> [f64; 2] {
    let angle = rng.float() * std::f64::consts::TAU;
    let r = rng.float() * 4.0;
    offset_m(p, r * angle.cos(), r * angle.sin())
}

/// Accuracy in metres, 5–200, most fixes good (as GNSS with a clear sky), a tail of poor ones.
pub fn accuracy(rng: &mut Rng) -> f64 {
    let u = rng.float();
    5.0 + 195.0 * u * u * u
}

/// Where a cadre is at some moment: a spot, and the household there if it is one.
pub struct Whereabouts {
    pub spot: [f64; 2],
    pub household: Option<usize>,
}

/// Where the cadre is at `at`: a function of the captured time, not of sending order, so
/// that a cadre's records sorted by time — as the server compares them for impossible speed —
/// move only from one stay of ten minutes to the next, however fast load compresses them and
/// however a batch spreads them over past hours. Within a stay every fix lies within metres
/// of one spot.
pub fn whereabouts(
    geo: &VillageGeo,
    households: &[ReadyHousehold],
    seed: u64,
    at: OffsetDateTime,
) -> Whereabouts {
    let stay = at.unix_timestamp().div_euclid(STAY_SECONDS) as u64;
    let h = mix64(seed ^ stay.wrapping_mul(0x9e37_79b9_7f4a_7c15));
    match (geo.place(h), households.is_empty()) {
        (Some(spot), _) => Whereabouts {
            spot,
            household: None,
        },
        (None, true) => Whereabouts {
            spot: geo.inside[((h >> 8) as usize) % geo.inside.len()],
            household: None,
        },
        (None, false) => {
            let k = ((h >> 8) as usize) % households.len();
            let house = &households[k];
            // Standing at the door: up to 30 m from where the household is registered.
            let angle = unit(h >> 20) * std::f64::consts::TAU;
            let r = unit(h >> 40) * 30.0;
            Whereabouts {
                spot: offset_m([house.lon, house.lat], r * angle.cos(), r * angle.sin()),
                household: Some(k),
            }
        }
    }
}

fn unit(bits: u64) -> f64 {
    (bits & 0xf_ffff) as f64 / f64::from(0x10_0000)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::loadtest::org::village;

    #[test]
    fn places_fall_inside_near_and_outside_the_village() {
        let v = village(3);
        let geo = VillageGeo::new(&v, 9);
        let shape = UnitShape::new(&v.boundary().unwrap());
        let mut rng = Rng::new(5);
        let (mut inside, mut near, mut outside, mut households) = (0, 0, 0, 0);
        for k in 0..1000u64 {
            let Some(spot) = geo.place(mix64(k)) else {
                households += 1;
                continue;
            };
            let p = scatter(spot, &mut rng);
            let d = shape.signed_distance_m(Position::parse(p[0], p[1]).unwrap());
            if d.abs() <= 105.0 {
                near += 1;
            } else if d > 0.0 {
                inside += 1;
            } else {
                outside += 1;
            }
        }
        assert!(inside > 500, "{inside}");
        assert!(near > 100, "{near}");
        assert!(outside > 40, "{outside}");
        assert!(households > 120, "{households}");
    }
}
