//! Roster import: one table of people, households, assignments and pairings, from CSV or the
//! first sheet of an XLSX file. All or nothing: any bad cell refuses the whole file with an
//! error per bad cell, named by spreadsheet row and column; a re-run stores nothing new.

use super::*;
use fieldtrail_tests::both_backends;
use fieldtrail_tests::Backend;

const XLSX: &str = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";

/// The template's columns, in the order the test files use (columns A to N).
const HEADERS: [&str; 14] = [
    "类型",
    "用户名",
    "姓名",
    "角色",
    "单位代码",
    "电话",
    "初始密码",
    "职务",
    "户主姓名",
    "人口",
    "经度",
    "纬度",
    "起始日期",
    "结束日期",
];

/// One data row: the named cells filled, the rest empty.
fn row(cells: &[(&str, &str)]) -> Vec<String> {
    HEADERS
        .iter()
        .map(|header| {
            cells
                .iter()
                .find(|(name, _)| name == header)
                .map(|(_, value)| (*value).to_owned())
                .unwrap_or_default()
        })
        .collect()
}

fn csv(rows: &[Vec<String>]) -> Vec<u8> {
    let mut text = HEADERS.join(",");
    text.push_str("\r\n");
    for row in rows {
        text.push_str(&row.join(","));
        text.push_str("\r\n");
    }
    text.into_bytes()
}

/// The same table as an XLSX workbook, numbers stored as numbers (as Excel does), and a
/// second sheet of notes that the import must ignore.
fn xlsx(rows: &[Vec<String>]) -> Vec<u8> {
    let mut book = rust_xlsxwriter::Workbook::new();
    let sheet = book.add_worksheet();
    for (col, header) in HEADERS.iter().enumerate() {
        sheet.write_string(0, col as u16, *header).unwrap();
    }
    for (r, row) in rows.iter().enumerate() {
        for (col, value) in row.iter().enumerate() {
            let (r, c) = (r as u32 + 1, col as u16);
            let numeric = matches!(HEADERS[col], "人口" | "经度" | "纬度");
            match value.parse::<f64>() {
                Ok(number) if numeric => {
                    sheet.write_number(r, c, number).unwrap();
                }
                _ if value.is_empty() => {}
                _ => {
                    sheet.write_string(r, c, value).unwrap();
                }
            }
        }
    }
    let notes = book.add_worksheet();
    notes.write_string(0, 0, "说明").unwrap();
    notes.write_string(1, 0, "人员").unwrap();
    notes.write_string(1, 1, "这一页不是数据").unwrap();
    book.save_to_buffer().unwrap()
}

/// Two people, a household, an assignment and a pairing that refer to each other.
fn good_rows() -> Vec<Vec<String>> {
    vec![
        row(&[
            ("类型", "人员"),
            ("用户名", "zhang-san"),
            ("姓名", "张三"),
            ("角色", "驻村干部"),
            ("单位代码", VILLAGE_A),
            ("电话", "+8613800138001"),
            ("初始密码", "initial-pass-1"),
        ]),
        row(&[
            ("类型", "人员"),
            ("用户名", "li-si"),
            ("姓名", "李四"),
            ("角色", "督查"),
            ("单位代码", TOWNSHIP),
            ("初始密码", "initial-pass-2"),
        ]),
        row(&[
            ("类型", "农户"),
            ("单位代码", VILLAGE_A),
            ("户主姓名", "王大山"),
            ("人口", "4"),
            ("经度", "116.911"),
            ("纬度", "34.212"),
        ]),
        row(&[
            ("类型", "驻村"),
            ("用户名", "zhang-san"),
            ("单位代码", VILLAGE_A),
            ("职务", "第一书记"),
            ("起始日期", "2026-01-01"),
        ]),
        row(&[
            ("类型", "结对"),
            ("用户名", "zhang-san"),
            ("单位代码", VILLAGE_A),
            ("户主姓名", "王大山"),
            ("起始日期", "2026-01-01"),
        ]),
    ]
}

/// Where an error must point: (pointer, spreadsheet row, column letter).
type BadCell = (String, u64, String);

/// Good rows around four bad cells, and those cells.
fn bad_rows() -> (Vec<Vec<String>>, Vec<BadCell>) {
    let rows = vec![
        row(&[
            ("类型", "人员"),
            ("用户名", "good-one"),
            ("姓名", "好人"),
            ("角色", "驻村干部"),
            ("单位代码", VILLAGE_A),
            ("初始密码", "initial-pass-1"),
        ]),
        row(&[
            ("类型", "人员"),
            ("用户名", "bad-unit"),
            ("姓名", "坏单位"),
            ("角色", "驻村干部"),
            ("单位代码", "990199"),
            ("初始密码", "initial-pass-2"),
        ]),
        row(&[
            ("类型", "人员"),
            ("用户名", "bad-role"),
            ("姓名", "坏角色"),
            ("角色", "boss"),
            ("单位代码", VILLAGE_A),
            ("初始密码", "initial-pass-3"),
        ]),
        row(&[
            ("类型", "农户"),
            ("单位代码", VILLAGE_A),
            ("户主姓名", "王大山"),
            ("人口", "4"),
            ("经度", "116.911"),
            ("纬度", "34.212"),
        ]),
        row(&[
            ("类型", "驻村"),
            ("用户名", "good-one"),
            ("单位代码", VILLAGE_A),
            ("职务", "第一书记"),
            ("起始日期", "2026-02-30"),
        ]),
        row(&[
            ("类型", "结对"),
            ("用户名", "good-one"),
            ("单位代码", VILLAGE_A),
            ("户主姓名", "无此户"),
            ("起始日期", "2026-01-01"),
        ]),
        row(&[
            ("类型", "驻村"),
            ("用户名", "good-one"),
            ("单位代码", VILLAGE_A),
            ("职务", "工作队员"),
            ("起始日期", "2026-03-01"),
        ]),
    ];
    // The header is row 1, so data row i is spreadsheet row i + 2.
    let bad = [
        (3, "单位代码", "E"),
        (4, "角色", "D"),
        (6, "起始日期", "M"),
        (7, "户主姓名", "I"),
    ]
    .iter()
    .map(|(row, header, column)| (format!("/rows/{row}/{header}"), *row, (*column).to_owned()))
    .collect();
    (rows, bad)
}

fn import(app: &TestApp, token: &str, content_type: &str, bytes: &[u8], dry_run: bool) -> Resp {
    let path = if dry_run {
        "/v1/roster/import?dry_run=true"
    } else {
        "/v1/roster/import"
    };
    app.post_bytes(path, Some(token), content_type, bytes)
}

fn counts(people: u64, households: u64, assignments: u64, pairings: u64) -> Value {
    json!({"people": people, "households": households, "assignments": assignments,
           "pairings": pairings})
}

/// What the good rows leave behind, read back through the API.
fn good_rows_are_stored(app: &TestApp, root: &str) {
    let people = list_page(app, root, "/v1/people?q=zhang-san");
    let zhang = people.body["items"][0].clone();
    assert_eq!(
        people.body["items"].as_array().unwrap().len(),
        1,
        "{}",
        people.text
    );
    assert_eq!(zhang["display_name"], "张三");
    assert_eq!(zhang["role"], "cadre");
    assert_eq!(zhang["unit_code"], VILLAGE_A);
    assert_eq!(zhang["phone"], "+8613800138001");
    assert_eq!(
        zhang["must_change_password"], true,
        "imported people choose their own"
    );
    let li = list_page(app, root, "/v1/people?q=li-si");
    assert_eq!(li.body["items"][0]["role"], "supervisor", "{}", li.text);
    assert_eq!(li.body["items"][0]["unit_code"], TOWNSHIP);
    let login = app.post(
        "/v1/auth/login",
        None,
        &json!({"username": "zhang-san", "password": "initial-pass-1"}),
    );
    assert_eq!(login.status, 200, "{}", login.text);
    assert_eq!(login.body["must_change_password"], true);

    let zhang_id = zhang["id"].as_str().unwrap();
    let assignments = app.get(&format!("/v1/people/{zhang_id}/assignments"), Some(root));
    let items = assignments.body["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "{}", assignments.text);
    assert_eq!(items[0]["unit_code"], VILLAGE_A);
    assert_eq!(items[0]["role"], "first_secretary");
    assert_eq!(items[0]["valid_from"], "2026-01-01");
    assert_eq!(items[0]["valid_to"], Value::Null);

    let homes = list_page(app, root, "/v1/units/990101001/households");
    let homes = homes.body["items"].as_array().unwrap().clone();
    assert_eq!(homes.len(), 1, "{homes:?}");
    assert_eq!(homes[0]["head_name"], "王大山");
    assert_eq!(homes[0]["members"], 4);
    assert_eq!(homes[0]["location"], json!({"lon": 116.911, "lat": 34.212}));
    let pairings = app.get(&format!("/v1/people/{zhang_id}/pairings"), Some(root));
    let items = pairings.body["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "{}", pairings.text);
    assert_eq!(items[0]["household_id"], homes[0]["id"]);
    assert_eq!(items[0]["valid_from"], "2026-01-01");
}

/// The good rows in one format: a dry run stores nothing, the import stores everything, a
/// re-run stores nothing again.
fn imports_good_rows(app: &TestApp, root: &str, content_type: &str, file: &[u8]) {
    let people = listed_ids(app, root, "/v1/people");
    let before = app.ledger_size();
    let dry = import(app, root, content_type, file, true);
    assert_eq!(dry.status, 200, "{}", dry.text);
    assert_eq!(dry.body["dry_run"], true);
    assert_eq!(dry.body["rows"], 5);
    assert_eq!(dry.body["created"], counts(2, 1, 1, 1), "{}", dry.text);
    assert_eq!(app.ledger_size(), before, "a dry run stores nothing");
    assert_eq!(listed_ids(app, root, "/v1/people"), people);
    let login = json!({"username": "zhang-san", "password": "initial-pass-1"});
    app.post("/v1/auth/login", None, &login).problem(401);

    let resp = import(app, root, content_type, file, false);
    assert_eq!(resp.status, 200, "{}", resp.text);
    assert_eq!(resp.body["dry_run"], false);
    assert_eq!(resp.body["rows"], 5);
    assert_eq!(resp.body["created"], counts(2, 1, 1, 1), "{}", resp.text);
    assert_eq!(resp.body["unchanged"], counts(0, 0, 0, 0), "{}", resp.text);
    assert!(app.ledger_size() > before, "the import is in the ledger");
    good_rows_are_stored(app, root);

    let after = app.ledger_size();
    let people = listed_ids(app, root, "/v1/people");
    let again = import(app, root, content_type, file, false);
    assert_eq!(again.status, 200, "{}", again.text);
    assert_eq!(again.body["created"], counts(0, 0, 0, 0), "{}", again.text);
    assert_eq!(
        again.body["unchanged"],
        counts(2, 1, 1, 1),
        "{}",
        again.text
    );
    assert_eq!(app.ledger_size(), after, "a re-run stores nothing");
    assert_eq!(listed_ids(app, root, "/v1/people"), people);
}

/// The bad rows in one format, as a dry run and for real: every bad cell named, nothing stored.
fn refuses_bad_rows(app: &TestApp, root: &str, content_type: &str, file: &[u8]) {
    let (_, bad) = bad_rows();
    let people = listed_ids(app, root, "/v1/people");
    let before = app.ledger_size();
    for dry_run in [true, false] {
        let resp = import(app, root, content_type, file, dry_run);
        resp.problem(422);
        let errors = resp.body["errors"].as_array().unwrap();
        assert_eq!(
            errors.len(),
            bad.len(),
            "one error per bad cell: {}",
            resp.text
        );
        for (pointer, row, column) in &bad {
            let error = errors
                .iter()
                .find(|e| e["pointer"] == pointer.as_str())
                .unwrap_or_else(|| panic!("no error at {pointer}: {}", resp.text));
            assert_eq!(error["row"], *row, "{error}");
            assert_eq!(error["column"], column.as_str(), "{error}");
            assert!(
                error["reason"].as_str().is_some_and(|r| !r.is_empty()),
                "{error}"
            );
        }
        assert_eq!(
            app.ledger_size(),
            before,
            "nothing stored, not even the good rows"
        );
        assert_eq!(listed_ids(app, root, "/v1/people"), people);
    }
    let login = json!({"username": "good-one", "password": "initial-pass-1"});
    app.post("/v1/auth/login", None, &login).problem(401);
}

fn importing_a_csv_roster(backend: Backend) {
    let Some(app) = TestApp::spawn(backend) else {
        return;
    };
    let root = app.with_county();
    imports_good_rows(&app, &root, "text/csv", &csv(&good_rows()));
    // Excel saves "CSV UTF-8" with a byte-order mark; it is the same file.
    let before = app.ledger_size();
    let with_bom = [&b"\xef\xbb\xbf"[..], &csv(&good_rows())].concat();
    let resp = import(&app, &root, "text/csv; charset=utf-8", &with_bom, false);
    assert_eq!(resp.status, 200, "{}", resp.text);
    assert_eq!(resp.body["unchanged"], counts(2, 1, 1, 1), "{}", resp.text);
    assert_eq!(app.ledger_size(), before);

    // Rows may refer to what is already stored, and take the English role names too.
    let wang = app.create_person(&root, "wang-wu", "cadre", VILLAGE_B);
    let file = csv(&[
        row(&[
            ("类型", "驻村"),
            ("用户名", "wang-wu"),
            ("单位代码", VILLAGE_B),
            ("职务", "team_member"),
            ("起始日期", "2026-02-01"),
            ("结束日期", "2026-12-31"),
        ]),
        row(&[
            ("类型", "结对"),
            ("用户名", "wang-wu"),
            ("单位代码", VILLAGE_A),
            ("户主姓名", "王大山"),
            ("起始日期", "2026-02-01"),
        ]),
        row(&[
            ("类型", "人员"),
            ("用户名", "zhao-liu"),
            ("姓名", "赵六"),
            ("角色", "inspector"),
            ("单位代码", COUNTY),
            ("初始密码", "initial-pass-3"),
        ]),
    ]);
    let resp = import(&app, &root, "text/csv", &file, false);
    assert_eq!(resp.status, 200, "{}", resp.text);
    assert_eq!(resp.body["created"], counts(1, 0, 1, 1), "{}", resp.text);
    let listed = app.get(&format!("/v1/people/{wang}/assignments"), Some(&root));
    assert_eq!(
        listed.body["items"][0]["role"], "team_member",
        "{}",
        listed.text
    );
    assert_eq!(listed.body["items"][0]["valid_to"], "2026-12-31");
    let zhao = list_page(&app, &root, "/v1/people?q=zhao-liu");
    assert_eq!(zhao.body["items"][0]["role"], "inspector", "{}", zhao.text);
}

fn a_bad_csv_stores_nothing(backend: Backend) {
    let Some(app) = TestApp::spawn(backend) else {
        return;
    };
    let root = app.with_county();
    let (rows, _) = bad_rows();
    refuses_bad_rows(&app, &root, "text/csv", &csv(&rows));
    let homes = list_page(&app, &root, "/v1/units/990101001/households");
    assert_eq!(homes.body["items"], json!([]));
}

fn importing_an_xlsx_roster(backend: Backend) {
    let Some(app) = TestApp::spawn(backend) else {
        return;
    };
    let root = app.with_county();
    let (rows, _) = bad_rows();
    refuses_bad_rows(&app, &root, XLSX, &xlsx(&rows));
    imports_good_rows(&app, &root, XLSX, &xlsx(&good_rows()));
    // The same rows as CSV are the same roster.
    let resp = import(&app, &root, "text/csv", &csv(&good_rows()), false);
    assert_eq!(resp.status, 200, "{}", resp.text);
    assert_eq!(resp.body["unchanged"], counts(2, 1, 1, 1), "{}", resp.text);
}

fn the_roster_template(backend: Backend) {
    let Some(app) = TestApp::spawn(backend) else {
        return;
    };
    let root = app.root_token();
    let csv = app.request("GET", "/v1/roster/template?format=csv", Some(&root), None);
    assert_eq!(csv.resp.status, 200, "{}", csv.resp.text);
    assert!(
        csv.resp.content_type.starts_with("text/csv"),
        "{}",
        csv.resp.content_type
    );
    let disposition = csv.header("content-disposition").unwrap_or_default();
    assert!(
        disposition.to_ascii_lowercase().starts_with("attachment"),
        "{disposition}"
    );
    let text = String::from_utf8(csv.bytes.clone()).expect("UTF-8 CSV");
    let header_row = text.trim_start_matches('\u{feff}').lines().next().unwrap();
    for header in HEADERS {
        assert!(header_row.contains(header), "{header} not in {header_row}");
    }

    let book = app.request("GET", "/v1/roster/template?format=xlsx", Some(&root), None);
    assert_eq!(book.resp.status, 200);
    assert!(
        book.resp.content_type.starts_with(XLSX),
        "{}",
        book.resp.content_type
    );
    let disposition = book.header("content-disposition").unwrap_or_default();
    assert!(
        disposition.to_ascii_lowercase().starts_with("attachment"),
        "{disposition}"
    );
    assert!(book.bytes.starts_with(b"PK"), "an XLSX is a zip file");

    app.get("/v1/roster/template?format=pdf", Some(&root))
        .problem(422);
}

fn who_and_what_may_be_imported(backend: Backend) {
    let Some(app) = TestApp::spawn(backend) else {
        return;
    };
    let root = app.with_county();
    let file = csv(&good_rows());
    let supervisor = app.supervisor(&root, "sup-t", TOWNSHIP);
    let cadre = app.cadre_in_a(&root, "cadre-a");
    let before = app.ledger_size();
    let before_people = listed_ids(&app, &root, "/v1/people");
    for token in [&supervisor, &cadre.token] {
        let resp = import(&app, token, "text/csv", &file, false);
        assert_eq!(
            resp.problem(403)["type"],
            "urn:fieldtrail:problem:forbidden"
        );
    }
    import(&app, "garbage", "text/csv", &file, false).problem(401);
    for content_type in ["application/json", "image/png"] {
        let resp = import(&app, &root, content_type, &file, false);
        assert_eq!(resp.status, 415, "{content_type}: {}", resp.text);
        resp.problem(415);
    }
    assert_eq!(app.ledger_size(), before);
    assert_eq!(listed_ids(&app, &root, "/v1/people"), before_people);
}

/// Pairing rows follow the rules of POST /v1/pairings, and a stored person's other phone is
/// not silently kept: each is its own bad cell, and nothing is stored.
fn the_import_keeps_the_rules_of_the_single_routes(backend: Backend) {
    let Some(app) = TestApp::spawn(backend) else {
        return;
    };
    let root = app.with_county();
    let resp = import(&app, &root, "text/csv", &csv(&good_rows()), false);
    assert_eq!(resp.status, 200, "{}", resp.text);
    let before = app.ledger_size();
    let mut rows = good_rows();
    // zhang-san again with another phone (row 2), and paired twice with 王大山 (rows 7, 8).
    rows[0] = row(&[
        ("类型", "人员"),
        ("用户名", "zhang-san"),
        ("姓名", "张三"),
        ("角色", "驻村干部"),
        ("单位代码", VILLAGE_A),
        ("电话", "+8613900000000"),
    ]);
    for from in ["2026-03-01", "2026-04-01"] {
        rows.push(row(&[
            ("类型", "结对"),
            ("用户名", "li-si"),
            ("单位代码", VILLAGE_A),
            ("户主姓名", "王大山"),
            ("起始日期", from),
        ]));
    }
    rows.push(row(&[
        ("类型", "结对"),
        ("用户名", "zhang-san"),
        ("单位代码", VILLAGE_A),
        ("户主姓名", "王大山"),
        ("起始日期", "2026-06-01"),
    ]));
    let resp = import(&app, &root, "text/csv", &csv(&rows), false);
    assert_eq!(resp.status, 422, "{}", resp.text);
    let errors: Vec<(String, String)> = resp.body["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["pointer"].as_str().unwrap().to_owned(),
                e["reason"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    let pointers: Vec<&str> = errors.iter().map(|(p, _)| p.as_str()).collect();
    // li-si is a supervisor: pairings are for cadres (rows 7 and 8); zhang-san is already paired
    // with 王大山 from 2026-01-01 on, open-ended (row 9).
    assert_eq!(
        pointers,
        [
            "/rows/2/电话",
            "/rows/7/用户名",
            "/rows/8/用户名",
            "/rows/9/起始日期"
        ],
        "{}",
        resp.text
    );
    assert!(errors[3].1.contains("already paired"), "{}", resp.text);
    assert_eq!(app.ledger_size(), before);
}

both_backends!(
    the_import_keeps_the_rules_of_the_single_routes,
    importing_a_csv_roster,
    a_bad_csv_stores_nothing,
    importing_an_xlsx_roster,
    the_roster_template,
    who_and_what_may_be_imported,
);
