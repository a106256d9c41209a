//! `fieldtrail backup` and `fieldtrail restore` as an operator runs them (docs/operations.md#backups):
//! a backup taken from a running demo server while a cadre keeps checking in, restored into an
//! empty data dir (and, on PostgreSQL, an empty database), passes `check-store` and `verify`, and
//! its ledger extends the checkpoint the original server served before the backup. A restore
//! into a non-empty target is refused and changes nothing.
#![allow(clippy::unwrap_used)]

use diesel::connection::SimpleConnection;
use diesel::Connection;
use std::path::Path;
use std::process::Command;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

mod common;
use common::{http, http_text, login, request, run, start_demo};

/// A fresh PostgreSQL database (dropped at the end), or None when none is configured.
struct PgDatabase {
    admin_url: String,
    name: String,
    url: String,
}

impl Drop for PgDatabase {
    fn drop(&mut self) {
        if let Ok(mut conn) = diesel::PgConnection::establish(&self.admin_url) {
            let _ = conn.batch_execute(&format!(
                "DROP DATABASE IF EXISTS \"{}\" WITH (FORCE)",
                self.name
            ));
        }
    }
}

fn pg_database() -> Option<PgDatabase> {
    let Ok(admin_url) = std::env::var("FIELDTRAIL_TEST_PG_URL") else {
        assert!(
            std::env::var("FIELDTRAIL_REQUIRE_PG").as_deref() != Ok("1"),
            "FIELDTRAIL_REQUIRE_PG=1 but FIELDTRAIL_TEST_PG_URL is not set"
        );
        eprintln!("skipped: FIELDTRAIL_TEST_PG_URL is not set");
        return None;
    };
    let name = format!("fieldtrail_backup_{}", uuid::Uuid::new_v4().simple());
    let mut conn = diesel::PgConnection::establish(&admin_url).unwrap();
    conn.batch_execute(&format!("CREATE DATABASE \"{name}\""))
        .unwrap();
    let url = format!("{}/{name}", admin_url.rsplit_once('/').unwrap().0);
    Some(PgDatabase {
        admin_url,
        name,
        url,
    })
}

/// A valid 1×1 PNG.
fn tiny_png() -> Vec<u8> {
    vec![
        0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x48, 0x44,
        0x52, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x08, 0x06, 0x00, 0x00, 0x00, 0x1f,
        0x15, 0xc4, 0x89, 0x00, 0x00, 0x00, 0x0b, 0x49, 0x44, 0x41, 0x54, 0x78, 0x9c, 0x63, 0x60,
        0x00, 0x02, 0x00, 0x00, 0x05, 0x00, 0x01, 0x7a, 0x5e, 0xab, 0x3f, 0x00, 0x00, 0x00, 0x00,
        0x49, 0x45, 0x4e, 0x44, 0xae, 0x42, 0x60, 0x82,
    ]
}

fn now_rfc3339() -> String {
    time::OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap()
}

fn check_in(lon: f64, lat: f64, attachments: &[String]) -> String {
    serde_json::json!({
        "id": uuid::Uuid::now_v7().to_string(),
        "kind": "check_in",
        "captured_at": now_rfc3339(),
        "position": {"lon": lon, "lat": lat, "accuracy_m": 15},
        "device_id": "backup-test-phone",
        "attachments": attachments,
    })
    .to_string()
}

fn storage_args<'a>(data_dir: &'a str, database_url: Option<&'a str>) -> Vec<&'a str> {
    let mut args = vec!["--data-dir", data_dir];
    if let Some(url) = database_url {
        args.extend(["--database-url", url]);
    }
    args
}

fn backup_while_writing_restores_and_verifies(pg: Option<(PgDatabase, PgDatabase)>) {
    let dir = tempfile::tempdir().unwrap();
    let data_dir = dir.path().join("data");
    let (source_url, target_url) = match &pg {
        Some((source, target)) => (Some(source.url.as_str()), Some(target.url.as_str())),
        None => (None, None),
    };
    let (demo, port, printed) = start_demo(&data_dir, source_url);
    let centre = printed
        .lines()
        .find(|l| l.contains("centre: lon"))
        .unwrap()
        .to_owned();
    let numbers: Vec<f64> = centre
        .split(|c: char| !(c.is_ascii_digit() || c == '.'))
        .filter_map(|s| s.parse().ok())
        .filter(|n: &f64| *n > 30.0 && *n < 200.0)
        .collect();
    let (lon, lat) = (numbers[0], numbers[1]);
    let cadre = login(port, "cadre01", "demo-cadre-pass");

    // A photo and the record naming it: both must come back.
    let png = tiny_png();
    let (status, uploaded) = request(
        port,
        "POST",
        "/v1/attachments",
        Some(&cadre),
        "image/png",
        &png,
    );
    assert_eq!(status, 201, "{uploaded}");
    let uploaded: serde_json::Value = serde_json::from_str(&uploaded).unwrap();
    let sha = uploaded["sha256"].as_str().unwrap().to_owned();
    let (status, record) = http(
        port,
        "POST",
        "/v1/records",
        Some(&cadre),
        &check_in(lon, lat, std::slice::from_ref(&sha)),
    );
    assert_eq!(status, 201, "{record}");

    // What an inspector holds before the backup: the key and a signed checkpoint.
    let key = http_text(port, "/v1/ledger/key");
    let checkpoint = http_text(port, "/v1/ledger/checkpoint");
    let checkpoint_file = dir.path().join("checkpoint.txt");
    std::fs::write(&checkpoint_file, &checkpoint).unwrap();

    // A cadre checks in without pause while the backup runs.
    let stop = Arc::new(AtomicBool::new(false));
    let stored = Arc::new(AtomicUsize::new(0));
    let writer = {
        let (stop, stored, cadre) = (stop.clone(), stored.clone(), cadre.clone());
        std::thread::spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                let (status, body) = http(
                    port,
                    "POST",
                    "/v1/records",
                    Some(&cadre),
                    &check_in(lon, lat, &[]),
                );
                assert_eq!(status, 201, "{body}");
                stored.fetch_add(1, Ordering::Relaxed);
            }
        })
    };
    std::thread::sleep(Duration::from_millis(300));
    let archive = dir.path().join("fieldtrail.backup");
    let data = data_dir.to_str().unwrap().to_owned();
    let before = stored.load(Ordering::Relaxed);
    let started = Instant::now();
    let mut args = vec!["backup", "--out", archive.to_str().unwrap()];
    args.extend(storage_args(&data, source_url));
    let (ok, stdout, stderr) = run(&args);
    let took = started.elapsed();
    let during = stored.load(Ordering::Relaxed) - before;
    std::thread::sleep(Duration::from_millis(300));
    stop.store(true, Ordering::Relaxed);
    writer.join().unwrap();
    assert!(ok, "backup failed: {stdout}{stderr}");
    eprintln!(
        "backup of the demo data dir took {:.2} s ({} bytes, {during} records written meanwhile): {stdout}",
        took.as_secs_f64(),
        std::fs::metadata(&archive).unwrap().len()
    );
    assert!(stdout.contains("backed up the"), "{stdout}");
    assert!(
        stored.load(Ordering::Relaxed) > before,
        "no writes ran beside the backup"
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&archive).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "the archive holds private keys");
    }
    // An ordinary tar: `tar tf` lists it.
    if let Ok(output) = Command::new("tar").arg("tf").arg(&archive).output() {
        let listing = String::from_utf8_lossy(&output.stdout);
        assert!(output.status.success(), "{listing}");
        for member in [
            "fieldtrail-backup.json",
            "log-ed25519.pem",
            "jwt-ed25519.pem",
            "SHA256SUMS",
        ] {
            assert!(
                listing.lines().any(|l| l == member),
                "{member} missing: {listing}"
            );
        }
        let photo = format!("attachments/{}/{sha}", &sha[..2]);
        assert!(listing.lines().any(|l| l == photo), "{listing}");
    }
    drop(demo);

    // Restore into a fresh data dir (and an empty database).
    let restored_dir = dir.path().join("restored");
    let restored = restored_dir.to_str().unwrap().to_owned();
    let mut args = vec!["restore", "--from", archive.to_str().unwrap()];
    args.extend(storage_args(&restored, target_url));
    let started = Instant::now();
    let (ok, stdout, stderr) = run(&args);
    assert!(ok, "restore failed: {stdout}{stderr}");
    eprintln!(
        "restore took {:.2} s: {stdout}",
        started.elapsed().as_secs_f64()
    );
    for file in ["log-ed25519.pem", "jwt-ed25519.pem"] {
        assert_eq!(
            std::fs::read(data_dir.join(file)).unwrap(),
            std::fs::read(restored_dir.join(file)).unwrap(),
            "{file}"
        );
    }
    let photo = restored_dir.join("attachments").join(&sha[..2]).join(&sha);
    assert_eq!(std::fs::read(photo).unwrap(), png);

    // The restored store passes check-store and, exported, verify against the held checkpoint.
    let mut args = vec!["check-store"];
    args.extend(storage_args(&restored, target_url));
    let (ok, stdout, stderr) = run(&args);
    assert!(ok, "check-store on the restored copy: {stdout}{stderr}");
    let export = dir.path().join("restored-export.json");
    let mut args = vec!["export", "--out", export.to_str().unwrap()];
    args.extend(storage_args(&restored, target_url));
    let (ok, stdout, stderr) = run(&args);
    assert!(ok, "export of the restored copy: {stdout}{stderr}");
    let (ok, stdout, stderr) = run(&[
        "verify",
        "--file",
        export.to_str().unwrap(),
        "--key",
        key.trim(),
        "--since",
        checkpoint_file.to_str().unwrap(),
    ]);
    assert!(ok, "verify of the restored copy: {stdout}{stderr}");
    assert!(stdout.contains("consistent"), "{stdout}");
    assert!(stdout.ends_with("VERIFIED\n"), "{stdout}");

    // Served again, the restored copy signs with the same key and still extends the checkpoint.
    let (served, port, printed) = start_demo(&restored_dir, target_url);
    assert!(printed.contains("already holds data"), "{printed}");
    assert_eq!(http_text(port, "/v1/ledger/key"), key);
    let admin = login(port, "admin", "demo-admin-pass");
    let server = format!("http://127.0.0.1:{port}");
    let (ok, stdout, stderr) = run(&[
        "verify",
        "--server",
        &server,
        "--key",
        key.trim(),
        "--token",
        &admin,
        "--since",
        checkpoint_file.to_str().unwrap(),
    ]);
    assert!(ok, "verify --server on the restored copy: {stdout}{stderr}");
    assert!(stdout.ends_with("VERIFIED\n"), "{stdout}");
    drop(served);

    // A second restore onto the restored (non-empty) data dir is refused and touches nothing.
    let listing = |dir: &Path| {
        let mut names: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    };
    let kept = listing(&restored_dir);
    let db_bytes = std::fs::metadata(restored_dir.join("log-ed25519.pem"))
        .unwrap()
        .modified()
        .unwrap();
    let mut args = vec!["restore", "--from", archive.to_str().unwrap()];
    args.extend(storage_args(&restored, target_url));
    let (ok, stdout, stderr) = run(&args);
    assert!(!ok, "restore into a non-empty data dir passed: {stdout}");
    assert!(stderr.contains("restore refused"), "{stderr}");
    assert!(stderr.contains("is not empty"), "{stderr}");
    assert_eq!(listing(&restored_dir), kept);
    assert_eq!(
        std::fs::metadata(restored_dir.join("log-ed25519.pem"))
            .unwrap()
            .modified()
            .unwrap(),
        db_bytes
    );
    if let Some(url) = target_url {
        // An empty data dir but a database that has tables: refused too, nothing written.
        let fresh = dir.path().join("fresh");
        let mut args = vec!["restore", "--from", archive.to_str().unwrap()];
        args.extend(storage_args(fresh.to_str().unwrap(), Some(url)));
        let (ok, stdout, stderr) = run(&args);
        assert!(!ok, "restore into a non-empty database passed: {stdout}");
        assert!(stderr.contains("restore refused"), "{stderr}");
        assert!(stderr.contains("already has"), "{stderr}");
        assert!(!fresh.exists(), "the refused restore created the data dir");
    } else {
        // A PostgreSQL archive is not restored into SQLite and vice versa; a damaged one never.
        let damaged = dir.path().join("damaged.backup");
        let mut bytes = std::fs::read(&archive).unwrap();
        let at = bytes
            .windows(15)
            .position(|w| w == b"SQLite format 3")
            .unwrap()
            + 4096;
        bytes[at] ^= 0xff;
        std::fs::write(&damaged, bytes).unwrap();
        let fresh = dir.path().join("fresh");
        let (ok, _, stderr) = run(&[
            "restore",
            "--from",
            damaged.to_str().unwrap(),
            "--data-dir",
            fresh.to_str().unwrap(),
        ]);
        assert!(!ok, "a damaged archive was restored");
        assert!(stderr.contains("not a fieldtrail backup"), "{stderr}");
        assert!(!fresh.exists(), "the refused restore created the data dir");
    }
}

#[test]
fn sqlite_backup_while_writing_restores_and_verifies() {
    backup_while_writing_restores_and_verifies(None);
}

#[test]
fn postgres_backup_while_writing_restores_and_verifies() {
    let Some(source) = pg_database() else {
        return;
    };
    let Some(target) = pg_database() else {
        return;
    };
    backup_while_writing_restores_and_verifies(Some((source, target)));
}

#[test]
fn backup_and_restore_have_help() {
    let (ok, stdout, _) = run(&["backup", "--help"]);
    assert!(
        ok && stdout.contains("--out") && stdout.contains("--database-url"),
        "{stdout}"
    );
    let (ok, stdout, _) = run(&["restore", "--help"]);
    assert!(
        ok && stdout.contains("--from") && stdout.contains("--data-dir"),
        "{stdout}"
    );
}
