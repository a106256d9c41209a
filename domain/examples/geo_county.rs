//! Writes the synthetic benchmark county and fieldtrail's answers for its points to files, so
//! that `scripts/bench-geo` can ask PostGIS the same questions about exactly the same polygons
//! and points.
//!
//!   cargo run --release -p fieldtrail-domain --example geo_county -- --out DIR [--points N] [--seed S]
//!
//! DIR/units.tsv   code, depth (1 county, 2 township, 3 village), parent code or \N, GeoJSON
//! DIR/points.tsv  id, lon, lat, accuracy_m, assigned village, kind, the most specific unit
//!                 fieldtrail finds (\N for none), fieldtrail's signed distance to the assigned
//!                 village's edge in metres (positive inside, unrounded)
//! DIR/summary.json  the county's figures (villages, vertices, points)
//!
//! Tab-separated text as PostgreSQL's COPY reads it: no value contains a tab, newline or
//! backslash. Numbers are printed shortest-round-trip, so PostgreSQL reads the same doubles.

use std::fmt::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;

use fieldtrail_domain::geo::synthetic::{vertex_count, CountyParams, SyntheticCounty};

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("geo_county: {message}");
            ExitCode::FAILURE
        }
    }
}

fn run() -> Result<(), String> {
    let mut params = CountyParams::default();
    let mut out = None;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = || args.next().ok_or(format!("{arg} needs a value"));
        match arg.as_str() {
            "--out" => out = Some(PathBuf::from(value()?)),
            "--points" => params.points = value()?.parse().map_err(|e| format!("--points: {e}"))?,
            "--seed" => params.seed = value()?.parse().map_err(|e| format!("--seed: {e}"))?,
            _ => {
                return Err(format!(
                    "unknown argument {arg}; usage: --out DIR [--points N] [--seed S]"
                ))
            }
        }
    }
    let out = out.ok_or("--out DIR is required")?;
    std::fs::create_dir_all(&out).map_err(|e| format!("{}: {e}", out.display()))?;

    let county = SyntheticCounty::generate(&params);
    let index = county.index();

    let mut units = String::new();
    for unit in &county.units {
        let parent = unit.parent.as_deref().unwrap_or("\\N");
        let geometry = unit.boundary.to_geojson();
        writeln!(units, "{}\t{}\t{parent}\t{geometry}", unit.code, unit.depth)
            .map_err(|e| e.to_string())?;
    }
    let mut points = String::new();
    for (id, p) in county.points.iter().enumerate() {
        let actual = index.most_specific_containing(p.position).unwrap_or("\\N");
        let shape = index
            .shape(&p.assigned)
            .ok_or("a point's village is not in the index")?;
        let distance = shape.signed_distance_m(p.position);
        writeln!(
            points,
            "{id}\t{}\t{}\t{}\t{}\t{}\t{actual}\t{distance}",
            p.position.lon(),
            p.position.lat(),
            p.accuracy.get(),
            p.assigned,
            p.kind.as_str()
        )
        .map_err(|e| e.to_string())?;
    }

    let villages: Vec<usize> = county
        .villages()
        .map(|v| vertex_count(&v.boundary))
        .collect();
    let mut sorted = villages.clone();
    sorted.sort_unstable();
    let townships: Vec<usize> = county
        .units
        .iter()
        .filter(|u| u.depth == 2)
        .map(|u| vertex_count(&u.boundary))
        .collect();
    let summary = serde_json::json!({
        "seed": params.seed,
        "villages": villages.len(),
        "townships": townships.len(),
        "mean_village_vertices": villages.iter().sum::<usize>() as f64 / villages.len() as f64,
        "median_village_vertices": sorted[sorted.len() / 2],
        "min_village_vertices": sorted[0],
        "max_village_vertices": sorted[sorted.len() - 1],
        "villages_over_1000_vertices": sorted.iter().filter(|&&n| n > 1000).count(),
        "mean_township_vertices": townships.iter().sum::<usize>() as f64 / townships.len() as f64,
        "county_vertices": vertex_count(&county.units[0].boundary),
        "points": county.points.len(),
    });
    for (name, text) in [
        ("units.tsv", units),
        ("points.tsv", points),
        ("summary.json", format!("{summary}\n")),
    ] {
        let path = out.join(name);
        std::fs::write(&path, text).map_err(|e| format!("{}: {e}", path.display()))?;
    }
    Ok(())
}
