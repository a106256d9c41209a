//! Attachments (docs/records.md, "Attachments"): photos uploaded by content, stored under the
//! data dir by SHA-256, served back to the uploader and staff over them, and referenced from
//! records by hash so the hash is in the ledger entry's header (covered by the Merkle tree).

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use fieldtrail_tests::both_backends;
use fieldtrail_tests::field::{sha256_hex, tiny_png};
use fieldtrail_tests::fixtures::*;
use fieldtrail_tests::{Backend, Resp, TestApp};
use serde_json::{json, Value};
use std::path::{Path, PathBuf};

const MIB: usize = 1024 * 1024;

/// JPEG-looking bytes of exactly `len` bytes: SOI and a JFIF APP0 segment, filler, EOI.
fn jpeg(len: usize) -> Vec<u8> {
    let mut bytes = vec![
        0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x10, b'J', b'F', b'I', b'F', 0x00, 0x01, 0x01, 0x00, 0x00,
        0x01, 0x00, 0x01, 0x00, 0x00,
    ];
    assert!(len >= bytes.len() + 2);
    bytes.resize(len - 2, 0x5A);
    bytes.extend_from_slice(&[0xFF, 0xD9]);
    bytes
}

fn ledger_size(app: &TestApp) -> i64 {
    app.sql_count("SELECT COUNT(*) FROM ledger")
}

/// Where the docs say the photo is stored.
fn stored_path(app: &TestApp, sha: &str) -> PathBuf {
    app.data_dir
        .path()
        .join("attachments")
        .join(&sha[..2])
        .join(sha)
}

/// Every file under `<data_dir>/attachments`.
fn stored_files(app: &TestApp) -> Vec<PathBuf> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for entry in entries {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(&path, out);
            } else {
                out.push(path);
            }
        }
    }
    let mut out = Vec::new();
    walk(&app.data_dir.path().join("attachments"), &mut out);
    out.sort();
    out
}

/// A POST of raw bytes that may fail at the connection level: a server may answer 413 and
/// close before the whole body is written.
fn try_upload(
    app: &TestApp,
    token: &str,
    content_type: &str,
    bytes: &[u8],
) -> Result<Resp, String> {
    let agent = ureq::Agent::new_with_config(
        ureq::Agent::config_builder()
            .http_status_as_error(false)
            .build(),
    );
    agent
        .post(app.url("/v1/attachments"))
        .header("Content-Type", content_type)
        .header("Authorization", format!("Bearer {token}"))
        .send(bytes)
        .map_err(|err| err.to_string())
        .map(|mut response| {
            let status = response.status().as_u16();
            let content_type = response
                .headers()
                .get("content-type")
                .and_then(|v| v.to_str().ok())
                .unwrap_or("")
                .to_owned();
            let text = response.body_mut().read_to_string().unwrap_or_default();
            let body = serde_json::from_str(&text).unwrap_or(Value::Null);
            Resp {
                status,
                content_type,
                retry_after: None,
                body,
                text,
            }
        })
}

fn photos_are_stored_by_content(backend: Backend) {
    let Some(app) = TestApp::spawn(backend) else {
        return;
    };
    let admin = app.with_county();
    let cadre = app.cadre_in_a(&admin, "cadre-a");
    let png = tiny_png();

    let png_sha = sha256_hex(&png);
    let first = app.upload(&cadre.token, "image/png", &png);
    assert_eq!(first.status, 201, "{}", first.text);
    assert_eq!(
        first.body,
        json!({"sha256": png_sha, "size": png.len(), "media_type": "image/png"})
    );
    // The same bytes again: already stored. Recognised by content, whatever the header says.
    for content_type in ["image/png", "application/octet-stream", "image/jpeg"] {
        let again = app.upload(&cadre.token, content_type, &png);
        assert_eq!(again.status, 200, "{content_type}: {}", again.text);
        assert_eq!(again.body, first.body, "{content_type}");
    }
    // Another cadre uploading the same photo finds it stored too.
    let other = app.cadre_in_a(&admin, "cadre-b");
    let theirs = app.upload(&other.token, "image/png", &png);
    assert_eq!(theirs.status, 200, "{}", theirs.text);

    let photo = jpeg(4096);
    let jpeg_sha = sha256_hex(&photo);
    let resp = app.upload(&cadre.token, "image/jpeg", &photo);
    assert_eq!(resp.status, 201, "{}", resp.text);
    assert_eq!(
        resp.body,
        json!({"sha256": jpeg_sha, "size": 4096, "media_type": "image/jpeg"})
    );

    // On disk at attachments/<first two hex digits>/<sha256>, holding exactly those bytes.
    for (sha, bytes) in [(&png_sha, png.clone()), (&jpeg_sha, photo.clone())] {
        let path = stored_path(&app, sha);
        let on_disk = std::fs::read(&path)
            .unwrap_or_else(|err| panic!("{} not stored: {err}", path.display()));
        assert_eq!(sha256_hex(&on_disk), *sha);
        assert_eq!(on_disk, bytes);
    }
    assert_eq!(
        stored_files(&app),
        {
            let mut both = vec![stored_path(&app, &png_sha), stored_path(&app, &jpeg_sha)];
            both.sort();
            both
        },
        "one file per distinct photo"
    );

    // Exactly 10 MiB is allowed.
    let big = jpeg(10 * MIB);
    let resp = try_upload(&app, &cadre.token, "image/jpeg", &big).unwrap();
    assert_eq!(resp.status, 201, "{}", resp.text);
    assert_eq!(resp.body["size"], 10 * MIB);
    assert_eq!(resp.body["sha256"], sha256_hex(&big));
}

fn other_bytes_are_refused(backend: Backend) {
    let Some(app) = TestApp::spawn(backend) else {
        return;
    };
    let admin = app.with_county();
    let cadre = app.cadre_in_a(&admin, "cadre-a");
    let png = tiny_png();
    let ledger = ledger_size(&app);

    let gif = b"GIF89a\x01\x00\x01\x00\x80\x00\x00\xff\xff\xff\x00\x00\x00,\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02D\x01\x00;";
    let cases: [(&str, &[u8]); 6] = [
        ("image/gif", gif),
        ("image/png", gif),
        ("text/plain", b"hello, this is not a photo"),
        ("image/jpeg", b"hello, this is not a photo"),
        // The PNG signature cut short, and JPEG's start marker alone.
        ("image/png", &png[..4]),
        ("image/jpeg", &[0xFF, 0xD8]),
    ];
    for (content_type, bytes) in cases {
        let resp = app.upload(&cadre.token, content_type, bytes);
        resp.problem(415);
    }
    // 10 MiB and one byte is too large: a 413, or the connection closed before the end.
    let too_big = jpeg(10 * MIB + 1);
    match try_upload(&app, &cadre.token, "image/jpeg", &too_big) {
        Ok(resp) => {
            resp.problem(413);
            assert_eq!(
                resp.body["type"],
                "urn:fieldtrail:problem:payload-too-large"
            );
        }
        Err(err) => eprintln!("the server closed the connection early: {err}"),
    }
    // Without a token nothing is read.
    let resp = app.post_bytes("/v1/attachments", None, "image/png", &png);
    resp.problem(401);

    assert!(stored_files(&app).is_empty(), "{:?}", stored_files(&app));
    assert_eq!(ledger_size(&app), ledger);
    assert!(!stored_path(&app, &sha256_hex(&too_big)).exists());
}

fn photos_are_served_to_the_uploader_and_staff_over_them(backend: Backend) {
    let Some(app) = TestApp::spawn(backend) else {
        return;
    };
    let admin = app.with_county();
    let cadre = app.cadre_in_a(&admin, "cadre-a");
    let other = app.cadre_in_a(&admin, "cadre-a2");
    let supervisor = app.supervisor(&admin, "super-t", TOWNSHIP);
    let outsider = app.supervisor(&admin, "super-b", VILLAGE_B);

    let photo = jpeg(2048);
    let sha = sha256_hex(&photo);
    assert_eq!(app.upload(&cadre.token, "image/jpeg", &photo).status, 201);
    let path = format!("/v1/attachments/{sha}");

    for token in [&cadre.token, &supervisor, &admin] {
        let (status, content_type, bytes) = app.get_bytes(&path, Some(token));
        assert_eq!(status, 200, "{content_type}");
        assert_eq!(bytes, photo);
    }
    for token in [&other.token, &outsider] {
        let resp = app.get(&path, Some(token));
        assert!(
            resp.status == 403 || resp.status == 404,
            "{} {}",
            resp.status,
            resp.text
        );
        resp.problem(resp.status);
    }
    app.get(&path, None).problem(401);

    // The other cadre takes the same photo: it is stored once, and now theirs to read too.
    let again = app.upload(&other.token, "image/jpeg", &photo);
    assert_eq!(again.status, 200, "{}", again.text);
    let (status, _, bytes) = app.get_bytes(&path, Some(&other.token));
    assert_eq!(status, 200);
    assert_eq!(bytes, photo);
    let unknown = sha256_hex(b"never uploaded");
    app.get(&format!("/v1/attachments/{unknown}"), Some(&cadre.token))
        .problem(404);
}

fn a_record_commits_to_its_photos_in_the_ledger_header(backend: Backend) {
    let Some(app) = TestApp::spawn(backend) else {
        return;
    };
    let admin = app.with_county();
    let cadre = app.cadre_in_a(&admin, "cadre-a");
    let png = tiny_png();
    let png_sha = sha256_hex(&png);
    assert_eq!(app.upload(&cadre.token, "image/png", &png).status, 201);
    let photo = jpeg(1000);
    let jpeg_sha = sha256_hex(&photo);
    assert_eq!(app.upload(&cadre.token, "image/jpeg", &photo).status, 201);

    let mut body = check_in(A_CENTRE.0, A_CENTRE.1, 10.0);
    body["attachments"] = json!([png_sha, jpeg_sha]);
    let resp = app.post("/v1/records", Some(&cadre.token), &body);
    assert_eq!(resp.status, 201, "{}", resp.text);
    let seq = resp.body["seq"].as_i64().unwrap();

    let entries = app.get(
        &format!("/v1/ledger/entries?start={seq}&count=1"),
        Some(&admin),
    );
    assert_eq!(entries.status, 200, "{}", entries.text);
    let entry = &entries.body["entries"][0];
    assert_eq!(entry["seq"], seq);
    let header_bytes = STANDARD.decode(entry["body"].as_str().unwrap()).unwrap();
    let header = String::from_utf8(header_bytes.clone()).unwrap();
    for sha in [&png_sha, &jpeg_sha] {
        assert!(
            header.contains(sha.as_str()),
            "{sha} not in header {header}"
        );
    }
    // That header is the leaf the tree holds.
    assert_eq!(
        hex::encode(fieldtrail_domain::merkle::leaf_hash(&header_bytes)),
        entry["leaf_hash"]
    );
    assert_eq!(entry["leaf_hash"], resp.body["leaf_hash"]);

    // The record reads back with its photos.
    let id = body["id"].as_str().unwrap();
    let view = app.get(&format!("/v1/records/{id}"), Some(&cadre.token));
    assert_eq!(view.status, 200, "{}", view.text);
    assert_eq!(view.body["attachments"], json!([png_sha, jpeg_sha]));

    // Hashes must be SHA-256 hex, at most ten of them; nothing stored otherwise.
    let before = ledger_size(&app);
    let mut bad = check_in(A_CENTRE.0, A_CENTRE.1, 11.0);
    bad["attachments"] = json!(["not-a-hash"]);
    let resp = app.post("/v1/records", Some(&cadre.token), &bad);
    resp.problem(422);
    assert_eq!(resp.pointers(), ["/attachments/0"], "{}", resp.text);
    let mut many = check_in(A_CENTRE.0, A_CENTRE.1, 12.0);
    many["attachments"] = json!(vec![png_sha.clone(); 11]);
    let resp = app.post("/v1/records", Some(&cadre.token), &many);
    resp.problem(422);
    assert!(
        resp.pointers()
            .iter()
            .all(|p| p.starts_with("/attachments")),
        "{}",
        resp.text
    );
    assert_eq!(ledger_size(&app), before);
}

both_backends!(
    photos_are_stored_by_content,
    other_bytes_are_refused,
    photos_are_served_to_the_uploader_and_staff_over_them,
    a_record_commits_to_its_photos_in_the_ledger_header,
);
