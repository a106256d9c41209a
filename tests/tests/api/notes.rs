//! Supervisors' notes about a cadre (`kind: note`): training, assessment, reward, discipline —
//! for the cadre's archive (档案), a ledger entry like any record.

use fieldtrail_tests::both_backends;
use fieldtrail_tests::field::*;
use fieldtrail_tests::fixtures::*;
use fieldtrail_tests::{Backend, TestApp};
use serde_json::{json, Value};

fn note(person_id: &str, category: &str, text: &str) -> Value {
    let mut body = record(
        "note",
        json!({"person_id": person_id, "category": category, "text": text}),
    );
    // device_id is optional for staff records.
    body.as_object_mut().unwrap().remove("device_id");
    body
}

fn supervisors_write_notes_about_cadres_in_their_units(backend: Backend) {
    let Some(app) = TestApp::spawn(backend) else {
        return;
    };
    let admin = app.with_county();
    let cadre = app.cadre_in_a(&admin, "cadre-a");
    let super_t = app.supervisor(&admin, "super-t", TOWNSHIP);
    let super_b = app.supervisor(&admin, "super-b", VILLAGE_B);
    let (inspector_id, _) = app.person_with_token(&admin, "insp-t", "inspector", TOWNSHIP);

    let before = app.ledger_size();
    // A cadre writes no notes, not even about themselves.
    app.submit(&cadre.token, &note(&cadre.id, "reward", "自评"))
        .problem(403);
    // Out of scope, about a non-cadre, or malformed: refused, each field named.
    app.submit(&super_b, &note(&cadre.id, "training", "参加培训"))
        .problem(403);
    let cases: Vec<(Value, &[&str])> = vec![
        (note(&inspector_id, "training", "x"), &["/person_id"]),
        (
            note(&uuid::Uuid::new_v4().to_string(), "training", "x"),
            &["/person_id"],
        ),
        (note(&cadre.id, "praise", "x"), &["/category"]),
        (note(&cadre.id, "reward", ""), &["/text"]),
        (note(&cadre.id, "reward", &"长".repeat(4001)), &["/text"]),
        (
            {
                let mut body = note(&cadre.id, "reward", "x");
                body["attachment"] = json!("not-a-hash");
                body
            },
            &["/attachment"],
        ),
        (
            {
                let mut body = note(&cadre.id, "reward", "x");
                body["attachment"] = json!(sha256_hex(b"never uploaded"));
                body
            },
            &["/attachment"],
        ),
    ];
    for (body, pointers) in &cases {
        let resp = app.submit(&super_t, body);
        resp.problem(422);
        assert_eq!(resp.pointers(), *pointers, "{body}: {}", resp.text);
    }
    assert_eq!(app.ledger_size(), before, "nothing stored");

    // A discipline note with a photo of the signed record.
    let photo = app.upload(&super_t, "image/png", &tiny_png());
    assert_eq!(photo.status, 201, "{}", photo.text);
    let mut body = note(&cadre.id, "discipline", "约谈记录：驻村天数不足");
    body["attachment"] = photo.body["sha256"].clone();
    let resp = app.submit_ok(&super_t, &body);
    assert_eq!(resp.body["kind"], "note");
    assert_eq!(resp.body["verdict"]["roster"], "assigned");
    assert_eq!(resp.body["verdict"]["unit_code"], VILLAGE_A);
    let id = body["id"].as_str().unwrap().to_owned();
    let view = app.read_record(&super_t, &id);
    // The record is the supervisor's; the cadre it is about is named apart.
    assert_eq!(view["person_id"], token_subject(&super_t).as_str());
    assert_eq!(view["about_person_id"], cadre.id.as_str());
    assert_eq!(view["category"], "discipline");
    assert_eq!(view["text"], "约谈记录：驻村天数不足");
    assert_eq!(view["attachments"], json!([photo.body["sha256"]]));
    // The header commits to the photo, as for any record.
    let header = app.entry_header(&admin, resp.body["seq"].as_i64().unwrap());
    assert_eq!(header["kind"], "note");
    assert_eq!(
        header["verdicts"]["attachments"],
        json!([photo.body["sha256"]])
    );
    // A resend is the same record; the same id with other content is a conflict.
    let again = app.submit(&super_t, &body);
    assert_eq!(again.status, 200, "{}", again.text);
    assert_eq!(again.body["seq"], resp.body["seq"]);
    let mut changed = body.clone();
    changed["text"] = json!("改过的");
    app.submit(&super_t, &changed).problem(409);

    // Other categories; a note about a cadre not assigned that day says so.
    for category in ["training", "assessment", "reward"] {
        app.submit_ok(&super_t, &note(&cadre.id, category, "记录"));
    }
    let unassigned = app.create_person(&admin, "cadre-new", "cadre", VILLAGE_A);
    let resp = app.submit_ok(&super_t, &note(&unassigned, "training", "岗前培训"));
    assert_eq!(resp.body["verdict"]["roster"], "not_assigned");
}

both_backends!(supervisors_write_notes_about_cadres_in_their_units);
