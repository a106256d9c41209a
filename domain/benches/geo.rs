//! The geo verdict per point over the synthetic county (`fieldtrail_domain::geo::synthetic`):
//! the writer's whole call (`judge_fix`), and its two parts on their own, so a profile shows
//! where the time goes.
//!
//!   cargo bench -p fieldtrail-domain --bench geo
//!
//! Every benchmark cycles through the county's 10,000 points, one point per iteration, so
//! criterion's time per iteration is the time per point, averaged over the realistic mix.

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion};
use fieldtrail_domain::geo::synthetic::{CountyParams, SyntheticCounty};
use fieldtrail_domain::geo::UnitShape;
use fieldtrail_domain::record::{judge_fix, AssignedVillage, Fix, DEFAULT_ACCURACY_LIMIT_M};

fn geo(c: &mut Criterion) {
    let county = SyntheticCounty::generate(&CountyParams::default());
    let index = county.index();
    let queries: Vec<(Fix, &str, &UnitShape)> = county
        .points
        .iter()
        .map(|p| {
            let shape = index.shape(&p.assigned).expect("every village is indexed");
            (
                Fix::wgs84(p.position, p.accuracy),
                p.assigned.as_str(),
                shape,
            )
        })
        .collect();
    let mut group = c.benchmark_group("geo");

    let mut i = 0;
    group.bench_function("judge_fix", |b| {
        b.iter(|| {
            let (fix, code, shape) = &queries[i];
            i = (i + 1) % queries.len();
            let assigned = [AssignedVillage {
                code,
                shape: Some(shape),
                tolerance: county.tolerance,
            }];
            black_box(judge_fix(
                black_box(fix),
                &assigned,
                &index,
                DEFAULT_ACCURACY_LIMIT_M,
            ))
        })
    });

    let mut i = 0;
    group.bench_function("most_specific_containing", |b| {
        b.iter(|| {
            let (fix, _, _) = &queries[i];
            i = (i + 1) % queries.len();
            black_box(index.most_specific_containing(black_box(fix.position)))
        })
    });

    let mut i = 0;
    group.bench_function("signed_distance", |b| {
        b.iter(|| {
            let (fix, _, shape) = &queries[i];
            i = (i + 1) % queries.len();
            black_box(shape.signed_distance_m(black_box(fix.position)))
        })
    });
    group.finish();
}

criterion_group!(benches, geo);
criterion_main!(benches);
