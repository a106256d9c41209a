use fieldtrail_tests::both_backends;
use fieldtrail_tests::{Backend, TestApp};

fn healthz_reports_the_database(backend: Backend) {
    let Some(app) = TestApp::spawn(backend) else {
        return;
    };
    let resp = app.get("/healthz", None);
    assert_eq!(resp.status, 200, "{}", resp.text);
    assert_eq!(resp.body["status"], "ok");
    assert_eq!(resp.body["database"], backend.as_str());
}

fn unknown_routes_are_problems(backend: Backend) {
    let Some(app) = TestApp::spawn(backend) else {
        return;
    };
    let resp = app.get("/v1/nowhere", None);
    let problem = resp.problem(404);
    assert_eq!(problem["type"], "urn:fieldtrail:problem:route-not-found");
}

both_backends!(healthz_reports_the_database, unknown_routes_are_problems);

/// When the database goes away, /healthz says so with 503 rather than hanging or lying.
#[test]
fn healthz_is_503_when_postgres_is_gone() {
    let Some(app) = TestApp::spawn(Backend::Postgres) else {
        return;
    };
    assert_eq!(app.get("/healthz", None).status, 200);
    let admin_url = std::env::var("FIELDTRAIL_TEST_PG_URL").expect("pg url");
    let name = app
        .database_url
        .rsplit('/')
        .next()
        .and_then(|last| last.split('?').next())
        .expect("db name")
        .to_owned();
    use diesel::connection::SimpleConnection;
    use diesel::Connection;
    let mut admin = diesel::PgConnection::establish(&admin_url).expect("admin connection");
    admin
        .batch_execute(&format!("DROP DATABASE \"{name}\" WITH (FORCE)"))
        .expect("drop database");
    let resp = app.get("/healthz", None);
    resp.problem(503);
}
