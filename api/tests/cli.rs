//! The `fieldtrail` binary as an operator uses it.
#![allow(clippy::unwrap_used)]

mod common;
use common::{http, http_text, login, run, start_demo, BIN};
use std::path::Path;
use std::process::Command;

#[test]
fn every_subcommand_has_help() {
    for (args, expect) in [
        (vec!["--help"], "serve"),
        (vec!["serve", "--help"], "--database-url"),
        (vec!["serve", "--help"], "--bind"),
        (vec!["bootstrap", "--help"], "--username"),
        (vec!["demo", "--help"], "--data-dir"),
        (vec!["export", "--help"], "--out"),
        (vec!["verify", "--help"], "--since"),
        (vec!["verify-draw", "--help"], "--draw"),
        (vec!["export", "--help"], "--payloads"),
        (vec!["bench-ledger", "--help"], "--entries"),
        (vec!["--help"], "loadtest"),
        (vec!["--help"], "check-store"),
        (vec!["check-store", "--help"], "--acked-log"),
        (vec!["check-store", "--help"], "--database-url"),
        (vec!["check-store", "--help"], "--data-dir"),
        (vec!["--help"], "backup"),
        (vec!["backup", "--help"], "--out"),
        (vec!["--help"], "restore"),
        (vec!["restore", "--help"], "--from"),
    ] {
        let (ok, stdout, _) = run(&args);
        assert!(ok, "{args:?} failed");
        assert!(
            stdout.contains(expect),
            "{args:?} does not mention {expect}: {stdout}"
        );
    }
}

/// The flag set of `loadtest` is a contract: scripts call it by these names.
#[test]
fn loadtest_help_lists_every_flag_and_the_json_fields() {
    let (ok, stdout, _) = run(&["loadtest", "--help"]);
    assert!(ok);
    for flag in [
        "--target",
        "--admin",
        "--admin-password",
        "--cadres",
        "--villages",
        "--duration",
        "--concurrency",
        "--batch",
        "--mix",
        "--acked-log",
        "--json",
        "--rate",
        "--max-requests",
    ] {
        assert!(
            stdout.contains(flag),
            "loadtest --help lacks {flag}: {stdout}"
        );
    }
    // The admin's password may come from the environment; help must not print it.
    let output = Command::new(BIN)
        .args(["loadtest", "--help"])
        .env("FIELDTRAIL_ADMIN_PASSWORD", "secret-admin-pw")
        .output()
        .unwrap();
    assert!(!String::from_utf8_lossy(&output.stdout).contains("secret-admin-pw"));
    for field in [
        "requests_per_s",
        "records_per_s",
        "latency_ms",
        "transport_errors",
        "resends",
        "<record id> <seq> <leaf_hash hex>",
    ] {
        assert!(
            stdout.contains(field),
            "loadtest --help does not document {field}"
        );
    }
}

/// check-store on a data dir: a fresh store passes, a deleted payload row fails and is named,
/// and a missing database is an error rather than a pass.
#[test]
fn check_store_passes_a_fresh_store_and_names_a_missing_payload() {
    use diesel::connection::SimpleConnection;
    let dir = tempfile::tempdir().unwrap();
    let data_dir = dir.path().to_str().unwrap();
    let (ok, _, stderr) = run(&[
        "bootstrap",
        "--username",
        "chief",
        "--password",
        "long-enough-pw",
        "--data-dir",
        data_dir,
    ]);
    assert!(ok, "{stderr}");
    let (ok, stdout, stderr) = run(&["check-store", "--data-dir", data_dir]);
    assert!(ok, "{stdout}{stderr}");
    assert!(stdout.contains("ok      ledger-seqs"), "{stdout}");
    assert!(stdout.ends_with("STORE OK\n"), "{stdout}");

    let acked = dir.path().join("acked.log");
    std::fs::write(
        &acked,
        format!(
            "0190f1a4-3c55-7d2e-9e1f-2a5b7c9d0e11 1 {}\n",
            "0".repeat(64)
        ),
    )
    .unwrap();
    let (ok, stdout, _) = run(&[
        "check-store",
        "--data-dir",
        data_dir,
        "--acked-log",
        acked.to_str().unwrap(),
    ]);
    assert!(
        !ok,
        "an acknowledged record that is not stored passed: {stdout}"
    );
    assert!(stdout.contains("FAILED  acked"), "{stdout}");

    let url = dir.path().join("fieldtrail.sqlite");
    fieldtrail_storage::db_connect(url.to_str().unwrap())
        .unwrap()
        .batch_execute("DELETE FROM ledger_payloads WHERE seq = 1")
        .unwrap();
    let (ok, stdout, stderr) = run(&["check-store", "--data-dir", data_dir]);
    assert!(!ok, "{stdout}");
    assert!(stdout.contains("FAILED  payloads"), "{stdout}");
    assert!(stdout.contains("        seq 1"), "{stdout}");
    assert!(stdout.ends_with("STORE DAMAGED\n"), "{stdout}");
    assert!(stderr.contains("1 check(s) failed"), "{stderr}");

    let empty = tempfile::tempdir().unwrap();
    let (ok, _, stderr) = run(&["check-store", "--data-dir", empty.path().to_str().unwrap()]);
    assert!(!ok);
    assert!(stderr.contains("no database"), "{stderr}");
}

#[test]
fn bootstrap_creates_one_admin_and_refuses_a_second() {
    let dir = tempfile::tempdir().unwrap();
    let data_dir = dir.path().to_str().unwrap();
    let (ok, stdout, stderr) = run(&[
        "bootstrap",
        "--username",
        "chief",
        "--password",
        "long-enough-pw",
        "--data-dir",
        data_dir,
    ]);
    assert!(ok, "first bootstrap failed: {stderr}");
    assert!(stdout.contains("created admin chief"), "{stdout}");
    assert!(dir.path().join("fieldtrail.sqlite").exists());
    let key = dir.path().join("jwt-ed25519.pem");
    assert!(key.exists());
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(
            std::fs::metadata(&key).unwrap().permissions().mode() & 0o777,
            0o600
        );
    }
    let (ok, _, stderr) = run(&[
        "bootstrap",
        "--username",
        "deputy",
        "--password",
        "long-enough-pw",
        "--data-dir",
        data_dir,
    ]);
    assert!(!ok, "a second admin was bootstrapped");
    assert!(stderr.contains("an admin already exists"), "{stderr}");
    let (ok, _, stderr) = run(&[
        "bootstrap",
        "--username",
        "x",
        "--password",
        "short",
        "--data-dir",
        data_dir,
    ]);
    assert!(!ok);
    assert!(
        stderr.contains("--username") || stderr.contains("--password"),
        "{stderr}"
    );
}

#[test]
fn demo_loads_an_organisation_once_and_serves_it() {
    let dir = tempfile::tempdir().unwrap();
    let data_dir = dir.path().to_str().unwrap().to_owned();
    let (demo, port, printed) = start_demo(Path::new(&data_dir), None);
    assert!(
        printed.contains("cadre01"),
        "demo logins are printed: {printed}"
    );
    assert!(printed.contains("Loading the demo organisation"));
    let (status, health) = http(port, "GET", "/healthz", None, "");
    assert_eq!(status, 200, "{health}");
    // The address printed is the console's: a browser opened there gets the page.
    let console = format!("console: open http://127.0.0.1:{port}/ in a browser");
    assert!(printed.contains(&console), "{printed}");
    let page = http_text(port, "/");
    assert!(page.contains("<html"), "{page}");

    let token = login(port, "admin", "demo-admin-pass");
    let (_, townships) = http(port, "GET", "/v1/units/341322/children", Some(&token), "");
    let townships = townships["items"].as_array().unwrap().clone();
    assert!(townships.len() >= 3);
    let mut villages = 0;
    for township in &townships {
        let path = format!("/v1/units/{}/children", township["code"].as_str().unwrap());
        let (_, children) = http(port, "GET", &path, Some(&token), "");
        for village in children["items"].as_array().unwrap() {
            assert_eq!(village["level"], "village");
            assert_eq!(village["has_boundary"], true);
            villages += 1;
        }
    }
    assert!(villages >= 12, "{villages} villages");

    // A demo cadre checks in at the centre of their village and is inside and assigned.
    let cadre = login(port, "cadre01", "demo-cadre-pass");
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
    let body = format!(
        r#"{{"id":"0190f1a4-3c55-7d2e-9e1f-111111111111","kind":"check_in","captured_at":"2026-06-01T09:00:00+08:00","position":{{"lon":{},"lat":{},"accuracy_m":15}},"device_id":"demo-phone"}}"#,
        numbers[0], numbers[1]
    );
    let (status, record) = http(port, "POST", "/v1/records", Some(&cadre), &body);
    assert_eq!(status, 201, "{record}");
    assert_eq!(record["verdict"]["geo"], "inside");
    assert_eq!(record["verdict"]["roster"], "assigned");

    // The village's second cadre is paired with its three households.
    let paired = login(port, "cadre02", "demo-cadre-pass");
    let me = paired
        .split('.')
        .nth(1)
        .map(|claims| {
            use base64::Engine;
            let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(claims)
                .unwrap();
            serde_json::from_slice::<serde_json::Value>(&bytes).unwrap()["sub"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .unwrap();
    let (status, pairings) = http(
        port,
        "GET",
        &format!("/v1/people/{me}/pairings"),
        Some(&paired),
        "",
    );
    assert_eq!(status, 200, "{pairings}");
    assert_eq!(pairings["items"].as_array().unwrap().len(), 3, "{pairings}");

    // An inspector's tools: the log key and a checkpoint from the server, then `verify`.
    let key = http_text(port, "/v1/ledger/key");
    let checkpoint = http_text(port, "/v1/ledger/checkpoint");
    let checkpoint_file = dir.path().join("checkpoint.txt");
    std::fs::write(&checkpoint_file, &checkpoint).unwrap();
    let server = format!("http://127.0.0.1:{port}");
    let (ok, stdout, stderr) = run(&[
        "verify",
        "--server",
        &server,
        "--key",
        key.trim(),
        "--token",
        &token,
        "--since",
        checkpoint_file.to_str().unwrap(),
    ]);
    assert!(ok, "verify --server failed: {stdout}{stderr}");
    assert!(stdout.ends_with("VERIFIED\n"), "{stdout}");
    let other_key = "someone.else+00000000+AQ".to_owned() + &"A".repeat(43);
    let (ok, _, _) = run(&[
        "verify", "--server", &server, "--key", &other_key, "--token", &token,
    ]);
    assert!(!ok, "verify accepted a checkpoint under the wrong key");
    drop(demo);

    // Offline: export from the data dir and verify the file against the held checkpoint.
    let export_file = dir.path().join("export.json");
    let (ok, stdout, stderr) = run(&[
        "export",
        "--out",
        export_file.to_str().unwrap(),
        "--data-dir",
        &data_dir,
    ]);
    assert!(ok, "export failed: {stdout}{stderr}");
    let (ok, stdout, stderr) = run(&[
        "verify",
        "--file",
        export_file.to_str().unwrap(),
        "--key",
        key.trim(),
        "--since",
        checkpoint_file.to_str().unwrap(),
    ]);
    assert!(ok, "verify --file failed: {stdout}{stderr}");
    assert!(stdout.contains("consistent"), "{stdout}");

    // A second start on the same data dir serves what is there and loads nothing.
    let (_demo, port, printed) = start_demo(Path::new(&data_dir), None);
    assert!(printed.contains("already holds data"), "{printed}");
    let cadre = login(port, "cadre01", "demo-cadre-pass");
    let (_, me) = http(
        port,
        "GET",
        "/v1/records/0190f1a4-3c55-7d2e-9e1f-111111111111",
        Some(&cadre),
        "",
    );
    assert_eq!(me["verdict"]["geo"], "inside");
}

/// `verify-draw` as an inspector runs it: exit 0 on a real draw, online and from an export;
/// exit 1 under another log's key, on a tampered export, and for a draw id that is no UUID.
#[test]
fn verify_draw_checks_a_real_draw_and_exits_non_zero_on_a_difference() {
    let dir = tempfile::tempdir().unwrap();
    let data_dir = dir.path().to_str().unwrap().to_owned();
    let (demo, port, _) = start_demo(Path::new(&data_dir), None);
    let token = login(port, "admin", "demo-admin-pass");
    // An emergency reason lets the draw open challenges at any hour of the real clock.
    let (status, drawn) = http(
        port,
        "POST",
        "/v1/spot-checks/draws",
        Some(&token),
        r#"{"unit_code":"341322100201","population":"cadres","size":1,"emergency_reason":"cli test"}"#,
    );
    assert_eq!(status, 201, "{drawn}");
    let id = drawn["id"].as_str().unwrap().to_owned();
    let sample = drawn["sample"][0].as_str().unwrap().to_owned();
    let key = http_text(port, "/v1/ledger/key");
    let server = format!("http://127.0.0.1:{port}");

    let (ok, stdout, stderr) = run(&[
        "verify-draw",
        "--server",
        &server,
        "--key",
        key.trim(),
        "--draw",
        &id,
        "--token",
        &token,
    ]);
    assert!(ok, "verify-draw --server failed: {stdout}{stderr}");
    assert!(stdout.ends_with("verify-draw: OK\n"), "{stdout}");
    assert!(
        stdout.contains(&sample),
        "the report names the sample: {stdout}"
    );
    assert!(!stdout.contains("FAIL"), "{stdout}");

    let other_key = "someone.else+00000000+AQ".to_owned() + &"A".repeat(43);
    let (ok, _, stderr) = run(&[
        "verify-draw",
        "--server",
        &server,
        "--key",
        &other_key,
        "--draw",
        &id,
        "--token",
        &token,
    ]);
    assert!(!ok, "verify-draw accepted a checkpoint under the wrong key");
    assert!(
        stderr.contains("--key") || stderr.contains("check(s) failed"),
        "{stderr}"
    );
    let (ok, _, stderr) = run(&[
        "verify-draw",
        "--server",
        &server,
        "--key",
        key.trim(),
        "--draw",
        "42",
        "--token",
        &token,
    ]);
    assert!(!ok);
    assert!(stderr.contains("--draw"), "{stderr}");
    // The export must prove the sample entry: have the server sign a checkpoint that covers it.
    http_text(port, "/v1/ledger/checkpoint");
    drop(demo);

    let export_file = dir.path().join("export.json");
    let (ok, stdout, stderr) = run(&[
        "export",
        "--out",
        export_file.to_str().unwrap(),
        "--data-dir",
        &data_dir,
    ]);
    assert!(ok, "export failed: {stdout}{stderr}");
    let file = export_file.to_str().unwrap();
    let (ok, stdout, stderr) = run(&[
        "verify-draw",
        "--file",
        file,
        "--key",
        key.trim(),
        "--draw",
        &id,
    ]);
    assert!(ok, "verify-draw --file failed: {stdout}{stderr}");
    assert!(stdout.ends_with("verify-draw: OK\n"), "{stdout}");
    // The headers-only check still passes on the new bundle and checks its payloads.
    let (ok, stdout, _) = run(&["verify", "--file", file, "--key", key.trim()]);
    assert!(ok, "{stdout}");
    assert!(stdout.contains("payloads in the bundle match"), "{stdout}");

    // Someone edits the exported sample: both commands now exit 1 and say why.
    let mut bundle: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&export_file).unwrap()).unwrap();
    use base64::Engine;
    let b64 = base64::engine::general_purpose::STANDARD;
    let sample_seq = drawn["sample_seq"].as_u64().unwrap();
    let entry = bundle["entries"]
        .as_array_mut()
        .unwrap()
        .iter_mut()
        .find(|e| e["seq"] == sample_seq)
        .unwrap();
    let payload = String::from_utf8(b64.decode(entry["payload"].as_str().unwrap()).unwrap())
        .unwrap()
        .replace(&sample, "00000000-0000-7000-8000-000000000000");
    entry["payload"] = serde_json::json!(b64.encode(payload));
    let tampered = dir.path().join("tampered.json");
    std::fs::write(&tampered, bundle.to_string()).unwrap();
    let tampered = tampered.to_str().unwrap();
    let (ok, stdout, stderr) = run(&[
        "verify-draw",
        "--file",
        tampered,
        "--key",
        key.trim(),
        "--draw",
        &id,
    ]);
    assert!(!ok, "a tampered export passed: {stdout}");
    assert!(stdout.contains("FAIL  the sample entry"), "{stdout}");
    assert!(stdout.ends_with("verify-draw: FAILED\n"), "{stdout}");
    assert!(stderr.contains("check(s) failed"), "{stderr}");
    let (ok, _, _) = run(&["verify", "--file", tampered, "--key", key.trim()]);
    assert!(!ok, "verify passed an export whose payload was altered");
}
