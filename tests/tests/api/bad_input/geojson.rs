//! GeoJSON boundaries: open rings, too few positions, self-intersections, a polygon of a
//! million vertices, and points exactly on a boundary vertex or a shared edge (boundaries are
//! closed: such a point belongs to one of the adjacent units, never to none).

use super::*;
use fieldtrail_tests::both_backends;

const CODE: &str = "990101009";
const VILLAGE_C: &str = "990101003";
const VILLAGE_D: &str = "990101004";

fn polygon(rings: Value) -> Value {
    json!({"type": "Polygon", "coordinates": rings})
}

/// An import of one new village with this geometry, refused at `pointers`; nothing stored and
/// the code still unknown.
fn refused_geometry(s: &Setup, geometry: Value, pointers: &[&str]) -> Resp {
    let body = village_import(CODE, geometry);
    let resp = refused_json(&s.app, "/v1/units/import", &s.root, &body, 422, pointers);
    soft(|| {
        s.app
            .get(&format!("/v1/units/{CODE}"), Some(&s.root))
            .problem(404);
    });
    resp
}

const P: &str = "/features/0/geometry/coordinates";

fn open_rings_and_too_few_positions_are_named(backend: Backend) {
    let Some(s) = setup(backend) else {
        return;
    };
    let (x0, y0, x1, y1) = (116.955, 34.20, 116.958, 34.22);
    let outer = json!([[x0, y0], [x1, y0], [x1, y1], [x0, y1], [x0, y0]]);
    let hole = json!([
        [116.956, 34.205],
        [116.957, 34.205],
        [116.957, 34.21],
        [116.956, 34.205]
    ]);
    let ring0 = format!("{P}/0");
    let ring1 = format!("{P}/1");
    let cases: Vec<(Value, Vec<String>)> = vec![
        // Open: the last position is not the first.
        (
            polygon(json!([[[x0, y0], [x1, y0], [x1, y1], [x0, y1]]])),
            vec![ring0.clone()],
        ),
        (
            polygon(json!([[
                [x0, y0],
                [x1, y0],
                [x1, y1],
                [x0, y1],
                [x0, y0 + 1e-9]
            ]])),
            vec![ring0.clone()],
        ),
        (
            polygon(json!([
                outer,
                [
                    [116.956, 34.205],
                    [116.957, 34.205],
                    [116.957, 34.21],
                    [116.956, 34.21]
                ]
            ])),
            vec![ring1.clone()],
        ),
        // Too few positions: a closed triangle needs 4.
        (
            polygon(json!([[[x0, y0], [x1, y0], [x0, y0]]])),
            vec![ring0.clone()],
        ),
        (polygon(json!([[[x0, y0], [x0, y0]]])), vec![ring0.clone()]),
        (polygon(json!([[[x0, y0]]])), vec![ring0.clone()]),
        (polygon(json!([[]])), vec![ring0.clone()]),
        (
            polygon(json!([
                outer,
                [[116.956, 34.205], [116.957, 34.21], [116.956, 34.205]]
            ])),
            vec![ring1.clone()],
        ),
        (polygon(json!([])), vec![P.to_owned()]),
        // A position needs two numbers.
        (
            polygon(json!([[[x0], [x1, y0], [x1, y1], [x0, y0]]])),
            vec![format!("{P}/0/0")],
        ),
        (
            polygon(json!([[[x0, y0], [], [x1, y1], [x0, y0]]])),
            vec![format!("{P}/0/1")],
        ),
        (
            polygon(json!([[[x0, y0], [x1, y0, 1.0, 2.0], [x1, y1], [x0, y0]]])),
            vec![format!("{P}/0/1")],
        ),
        // A MultiPolygon names the polygon and ring.
        (
            json!({"type": "MultiPolygon", "coordinates": [[outer], [[[x0, y0], [x1, y0], [x0, y0]]]]}),
            vec![format!("{P}/1/0")],
        ),
    ];
    for (geometry, pointers) in cases {
        let pointers: Vec<&str> = pointers.iter().map(String::as_str).collect();
        refused_geometry(&s, geometry, &pointers);
    }
    // The good ring with its good hole is taken.
    let resp = s.app.post(
        "/v1/units/import",
        Some(&s.root),
        &village_import(CODE, polygon(json!([outer, hole]))),
    );
    assert_eq!(resp.status, 201, "{}", resp.text);
    still_serving(&s);
}

/// A ring that crosses itself has no inside to speak of: it is refused and the crossing is
/// reported at the ring (or a position of it).
fn self_intersections_are_reported(backend: Backend) {
    let Some(s) = setup(backend) else {
        return;
    };
    let (x0, y0, x1, y1) = (116.955, 34.20, 116.958, 34.22);
    let xm = (x0 + x1) / 2.0;
    let cases: Vec<(&str, Value, &str)> = vec![
        (
            "bow tie",
            polygon(json!([[[x0, y0], [x1, y1], [x1, y0], [x0, y1], [x0, y0]]])),
            "/features/0/geometry/coordinates/0",
        ),
        (
            "figure of eight through a shared middle",
            polygon(json!([[
                [x0, y0],
                [xm, 34.21],
                [x1, y0],
                [x1, y1],
                [xm, 34.21],
                [x0, y1],
                [x0, y0]
            ]])),
            "/features/0/geometry/coordinates/0",
        ),
        (
            "a spike folding back on its own edge",
            polygon(json!([[
                [x0, y0],
                [x1, y0],
                [x1, y1],
                [xm, y1],
                [xm, 34.25],
                [xm, y1],
                [x0, y1],
                [x0, y0]
            ]])),
            "/features/0/geometry/coordinates/0",
        ),
        (
            "a hole crossing the outer ring",
            polygon(json!([
                [[x0, y0], [x1, y0], [x1, y1], [x0, y1], [x0, y0]],
                [
                    [xm, 34.21],
                    [116.960, 34.21],
                    [116.960, 34.215],
                    [xm, 34.215],
                    [xm, 34.21]
                ]
            ])),
            "/features/0/geometry/coordinates",
        ),
    ];
    for (index, (what, geometry, prefix)) in cases.into_iter().enumerate() {
        let before = stored(&s.app);
        // A code of its own per case, so a wrongly taken one does not spoil the next.
        let body = village_import(&format!("99010102{index}"), geometry);
        let resp = s.app.post("/v1/units/import", Some(&s.root), &body);
        let stored_now = stored(&s.app);
        soft(|| {
            assert_refusal(&resp, &[422], &[], what);
            assert!(
                resp.pointers().iter().any(|p| p.starts_with(prefix)),
                "{what}: the crossing is not reported under {prefix}: {}",
                resp.text
            );
            assert_eq!(stored_now, before, "{what}: stored");
        });
    }
    still_serving(&s);
}

/// A polygon of 10^6 vertices (about 24 MB, within the import's 32 MiB) is refused with a
/// bounded answer: a 413 or a 422 at its ring, in bounded time, and the server keeps serving.
fn a_million_vertex_polygon_is_bounded(backend: Backend) {
    let Some(s) = setup(backend) else {
        return;
    };
    const N: usize = 1_000_000;
    let (cx, cy, r) = (116.9565, 34.21, 0.0015);
    let mut ring = String::with_capacity(N * 26);
    ring.push('[');
    for i in 0..N {
        let a = std::f64::consts::TAU * i as f64 / N as f64;
        let wobble = if i % 2 == 0 { 1.0 } else { 0.999 };
        ring.push_str(&format!(
            "[{:.7},{:.7}],",
            cx + r * wobble * a.cos(),
            cy + r * wobble * a.sin()
        ));
    }
    ring.push_str(&format!("[{:.7},{:.7}]]", cx + r, cy));
    let body = village_import(CODE, polygon(json!(["RING"])))
        .to_string()
        .replace("\"RING\"", &ring);
    assert!(body.len() < 32 * 1024 * 1024, "{} bytes", body.len());
    let before = stored(&s.app);
    let started = std::time::Instant::now();
    match s
        .app
        .try_post_raw("/v1/units/import", Some(&s.root), body.as_bytes())
    {
        Ok(resp) => {
            assert_refusal(&resp, &[422, 413], &[], "a 10^6-vertex polygon");
            if resp.status == 422 {
                assert!(
                    resp.pointers().iter().any(|p| p.starts_with(P)),
                    "{}",
                    resp.text
                );
            }
        }
        Err(err) => eprintln!("the server closed the connection: {err}"),
    }
    let took = started.elapsed();
    assert!(took < std::time::Duration::from_secs(60), "took {took:?}");
    assert_eq!(stored(&s.app), before, "the huge polygon was stored");
    let health_started = std::time::Instant::now();
    still_serving(&s);
    assert!(health_started.elapsed() < std::time::Duration::from_secs(5));
}

/// Where `(lon, lat)` is, by the server: the check-in's `actual_unit_code`.
fn actual_unit(s: &Setup, lon: f64, lat: f64) -> Value {
    let resp = s.app.post(
        "/v1/records",
        Some(&s.cadre.token),
        &check_in(lon, lat, 5.0),
    );
    assert_eq!(resp.status, 201, "({lon}, {lat}): {}", resp.text);
    resp.body["verdict"]["actual_unit_code"].clone()
}

fn points_on_vertices_and_shared_edges_belong_to_one_adjacent_unit(backend: Backend) {
    let Some(s) = setup(backend) else {
        return;
    };
    // Two villages north of A, sharing the edge lon 116.91 with each other and lat 34.22 with A;
    // their north edges lie on the township's.
    let resp = s.app.post(
        "/v1/units/import",
        Some(&s.root),
        &collection(vec![
            feature(
                VILLAGE_C,
                "丙村",
                "village",
                Some(TOWNSHIP),
                rect(116.90, 34.22, 116.91, 34.23),
            ),
            feature(
                VILLAGE_D,
                "丁村",
                "village",
                Some(TOWNSHIP),
                rect(116.91, 34.22, 116.92, 34.23),
            ),
        ]),
    );
    assert_eq!(resp.status, 201, "{}", resp.text);
    let cases: Vec<(&str, (f64, f64), Vec<&str>)> = vec![
        ("inside C (control)", (116.905, 34.225), vec![VILLAGE_C]),
        (
            "on the edge shared by C and D",
            (116.91, 34.225),
            vec![VILLAGE_C, VILLAGE_D],
        ),
        (
            "on the vertex shared by C and D, on A's edge",
            (116.91, 34.22),
            vec![VILLAGE_A, VILLAGE_C, VILLAGE_D],
        ),
        (
            "on the edge shared by A and C",
            (116.905, 34.22),
            vec![VILLAGE_A, VILLAGE_C],
        ),
        (
            "on the edge shared by A and D",
            (116.915, 34.22),
            vec![VILLAGE_A, VILLAGE_D],
        ),
        (
            "on the vertex shared by A and C",
            (116.90, 34.22),
            vec![VILLAGE_A, VILLAGE_C],
        ),
        (
            "on the vertex shared by A and D",
            (116.92, 34.22),
            vec![VILLAGE_A, VILLAGE_D],
        ),
        (
            "on C and D's vertex on the township's edge",
            (116.91, 34.23),
            vec![VILLAGE_C, VILLAGE_D],
        ),
        // Closed: a village's own vertex and edge are the village's (the deepest unit).
        ("on A's south-west vertex", (116.90, 34.20), vec![VILLAGE_A]),
        ("on A's west edge", (116.90, 34.21), vec![VILLAGE_A]),
        ("on B's east edge", (116.95, 34.21), vec![VILLAGE_B]),
        (
            "on the township's south edge",
            (116.925, 34.19),
            vec![TOWNSHIP],
        ),
        // The outermost boundary: on it is still in the county, not nowhere.
        ("on the county's west edge", (116.88, 34.21), vec![COUNTY]),
        (
            "on the county's south-west vertex",
            (116.88, 34.18),
            vec![COUNTY],
        ),
        (
            "on the county's north-east vertex",
            (116.97, 34.24),
            vec![COUNTY],
        ),
    ];
    let mut failures = Vec::new();
    for (what, (lon, lat), allowed) in &cases {
        let first = actual_unit(&s, *lon, *lat);
        let again = actual_unit(&s, *lon, *lat);
        assert_eq!(first, again, "{what}: the rule is not deterministic");
        if !first.as_str().is_some_and(|code| allowed.contains(&code)) {
            failures.push(format!(
                "{what} ({lon}, {lat}): got {first}, expected one of {allowed:?}"
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "points on boundaries:\n{}",
        failures.join("\n")
    );
    still_serving(&s);
}

both_backends!(
    open_rings_and_too_few_positions_are_named,
    self_intersections_are_reported,
    a_million_vertex_polygon_is_bounded,
    points_on_vertices_and_shared_edges_belong_to_one_adjacent_unit,
);
