//! Geometry for judging check-ins against unit boundaries.
//!
//! Everything that comes from outside (a phone's fix, an uploaded boundary) enters through a
//! parsing constructor, so the rest of the server can never see NaN, an out-of-range latitude or
//! an unclosed ring. Distances are computed on a spherical earth in a local flat projection; see
//! [`UnitShape`] for what exactly is computed and how wrong it can be.
//!
//! One file per concern: `position.rs` (positions, accuracy, tolerance), `boundary.rs` (boundaries
//! and their GeoJSON), `shape.rs` (the projected shape), `edges.rs` (a shape's edge index),
//! `index.rs` (the R-tree over all shapes), `verdict.rs` (the graded verdict) and `synthetic.rs`
//! (a generated county for benchmarks and tests).

mod boundary;
mod edges;
mod index;
mod position;
mod shape;
pub mod synthetic;
mod verdict;

#[cfg(test)]
mod test_support;

pub use boundary::{Boundary, GeometryProblem};
pub use index::UnitIndex;
pub use position::{
    distance_m, AccuracyMeters, GeoError, Position, ToleranceMeters, EARTH_RADIUS_M,
    MAX_ACCURACY_M, MAX_TOLERANCE_M,
};
pub use shape::UnitShape;
pub use verdict::{judge, GeoJudgement, GeoVerdict};
