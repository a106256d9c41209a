//! GET /v1/units/{code}/bulletin?month= as JSON, CSV and XLSX (read back by openpyxl), and
//! publishing a frozen copy whose SHA-256 is in the ledger.

use super::*;
use fieldtrail_tests::both_backends;
use fieldtrail_tests::Backend;

const HEADER: &str = "乡镇,村,干部,人员编号,是否达标,未达标原因,在村天数,应在村天数,在村夜数,应在村夜数,请假天数,出差天数,走访次数,结对户数,逾期未走访户数,抽查在岗,抽查不在岗,抽查请假,抽查出差,抽查迟答,抽查未应答,抽查无法核实,入户核实确认,入户核实否认,负面清单待定,负面清单确认,负面清单排除,预警等级";
const SPOT_KEYS: [&str; 9] = [
    "present",
    "absent",
    "on_leave",
    "on_trip",
    "late",
    "missed",
    "unverifiable",
    "confirmed",
    "denied",
];

struct County {
    app: TestApp,
    admin: String,
    sup_t: String,
    p: Cadre,
    q: Cadre,
    s: Cadre,
    r: Cadre,
}

/// The county with two townships: in 测试镇, 甲村 (A) has P, Q and S (S moves to 乙村 (B) on
/// Oct 16), 丁村 (D) has nobody; in 邻镇, 丙村 (C) has R. The county's rule from Sep 30: 4 days
/// a month, no weekly rule (so no night requirement).
fn county_fixture(backend: Backend) -> Option<County> {
    let app = TestApp::spawn(backend)?;
    let admin = app.with_county();
    more_units(&app, &admin);
    let sup_t = app.supervisor(&admin, "sup-t", TOWNSHIP);
    let sup_o = app.supervisor(&admin, "sup-o", OTHER_TOWNSHIP);
    let since_2020 = |village| vec![(village, "2020-01-01", None)];
    let p = cadre_with(&app, &admin, "b-p", VILLAGE_A, &since_2020(VILLAGE_A));
    let q = cadre_with(&app, &admin, "b-q", VILLAGE_A, &since_2020(VILLAGE_A));
    let s = cadre_with(
        &app,
        &admin,
        "b-s",
        VILLAGE_A,
        &[
            (VILLAGE_A, "2026-09-01", Some("2026-10-15")),
            (VILLAGE_B, "2026-10-16", None),
        ],
    );
    let r = cadre_with(&app, &admin, "b-r", VILLAGE_C, &since_2020(VILLAGE_C));
    let h1_at = (116.905, 34.215);
    let h1 = app.household(&admin, VILLAGE_A, h1_at.0, h1_at.1);
    let h2 = app.household(&admin, VILLAGE_A, 116.915, 34.215);
    pairing(&app, &admin, &p.id, &h1, "2026-09-01", None);
    let q_pairing = pairing(&app, &admin, &q.id, &h2, "2026-09-01", None);
    policy_from(
        &app,
        &admin,
        COUNTY,
        "2026-09-30",
        json!({"residency":
        {"days_per_week": null, "nights_per_week": null, "days_per_month": 4}}),
    );

    // S: A on Oct 2, 3; B on Oct 20, 21.
    let mut records = noons(A_CENTRE, &[d("2026-10-02"), d("2026-10-03")]);
    records.extend(noons(B_CENTRE, &[d("2026-10-20"), d("2026-10-21")]));
    send(&app, &s.token, records);
    // P: noon Oct 5–8, the night of Oct 5, a visit to h1 on Oct 7; a phone check on Oct 7.
    let mut records = noons(A_CENTRE, &days("2026-10-05", "2026-10-08"));
    records.extend(nights(A_CENTRE, &[d("2026-10-05")]));
    records.push(visit(&h1, h1_at, "2026-10-07", 10));
    send(&app, &p.token, records);
    phone_check(&app, &sup_t, &p.id, "present", "2026-10-09", 10);
    // Q: noon Oct 5; an approved trip Oct 12–13 and leave Oct 20–21; h2 never visited.
    send(&app, &q.token, noons(A_CENTRE, &[d("2026-10-05")]));
    request(
        &app,
        &q,
        &sup_t,
        "official_trip",
        "2026-10-12",
        "2026-10-13",
        "2026-10-09",
        Some("approved"),
    );
    request(
        &app,
        &q,
        &sup_t,
        "leave_request",
        "2026-10-20",
        "2026-10-21",
        "2026-10-15",
        Some("approved"),
    );
    // R: nothing sent; absent at a phone check on Oct 14.
    let absent = phone_check(&app, &sup_o, &r.id, "absent", "2026-10-14", 10);
    read_today(&app);
    // Decisions: Q's overdue household dismissed, R's absence confirmed.
    for (id, decision) in [
        (format!("visit_overdue:2026-10:{q_pairing}"), "dismissed"),
        (format!("spot_check_absent:{absent}"), "confirmed"),
    ] {
        let resp = app.post(
            &format!("/v1/negative-items/{id}/decision"),
            Some(&admin),
            &json!({"decision": decision, "note": "督查组研究决定"}),
        );
        assert_eq!(resp.status, 201, "{id}: {}", resp.text);
    }
    Some(County {
        app,
        admin,
        sup_t,
        p,
        q,
        s,
        r,
    })
}

fn spots(present: i64, absent: i64) -> Value {
    let mut all = json!({});
    for key in SPOT_KEYS {
        all[key] = json!(0);
    }
    all["present"] = json!(present);
    all["absent"] = json!(absent);
    all
}

fn negatives(proposed: i64, confirmed: i64, dismissed: i64) -> Value {
    json!({"proposed": proposed, "confirmed": confirmed, "dismissed": dismissed})
}

/// T: (lines, cadres, compliant, not, days, nights, leave, trip, visits, overdue, spot, neg).
#[allow(clippy::too_many_arguments)]
fn totals(
    lines: i64,
    cadres: i64,
    compliant: i64,
    not_compliant: i64,
    days: i64,
    nights: i64,
    leave: i64,
    trip: i64,
    visits: i64,
    overdue: i64,
    spot: Value,
    neg: Value,
) -> Value {
    json!({"lines": lines, "cadres": cadres, "compliant": compliant,
           "not_compliant": not_compliant, "days_in_village": days, "nights_in_village": nights,
           "leave_days": leave, "trip_days": trip, "visits": visits,
           "overdue_households": overdue, "spot_checks": spot, "negative_items": neg})
}

fn find<'a>(items: &'a Value, key: &str, value: &str) -> &'a Value {
    items
        .as_array()
        .unwrap_or_else(|| panic!("not a list: {items}"))
        .iter()
        .find(|item| item[key] == value)
        .unwrap_or_else(|| panic!("no {key} = {value} in {items}"))
}

/// A bulletin line's figures without its reasons' texts, as expected.
#[allow(clippy::too_many_arguments)]
fn line(
    c: &Cadre,
    name: &str,
    days: (i64, i64),
    nights: i64,
    leave_trip: (i64, i64),
    visits_households_overdue: (i64, i64, i64),
    spot: Value,
    neg: Value,
    escalation: Value,
) -> Value {
    json!({"person_id": c.id, "display_name": name,
           "days_in_village": days.0, "required_days": days.1,
           "nights_in_village": nights, "required_nights": null,
           "leave_days": leave_trip.0, "trip_days": leave_trip.1,
           "visits": visits_households_overdue.0, "households": visits_households_overdue.1,
           "overdue_households": visits_households_overdue.2,
           "spot_checks": spot, "negative_items": neg, "escalation": escalation})
}

fn without_reasons(line: &Value) -> Value {
    let mut line = line.clone();
    let map = line.as_object_mut().unwrap();
    map.remove("reasons");
    map.remove("compliant");
    line
}

fn bulletin_json_has_every_village_and_the_hand_computed_totals(backend: Backend) {
    let Some(County {
        app,
        admin,
        sup_t,
        p,
        q,
        s,
        r,
    }) = county_fixture(backend)
    else {
        return;
    };
    let b = get_ok(
        &app,
        &admin,
        &format!("/v1/units/{COUNTY}/bulletin?month=2026-10"),
    );
    assert_no_forbidden_keys(&b, "bulletin");
    assert_eq!(
        (&b["unit_code"], &b["unit_name"], &b["level"], &b["month"]),
        (
            &json!(COUNTY),
            &json!("测试县"),
            &json!("county"),
            &json!("2026-10")
        )
    );
    assert_eq!(
        (&b["from"], &b["to"], &b["complete"]),
        (&json!("2026-10-01"), &json!("2026-10-31"), &json!(true))
    );
    let none = json!({"count": 0, "level": 0, "name": null});
    // P: 4 days of 4 (31·4/31), night of Oct 5, 1 visit, h1 visited; a present phone check.
    let p_line = line(
        &p,
        "Test b-p",
        (4, 4),
        1,
        (0, 0),
        (1, 1, 0),
        spots(1, 0),
        negatives(0, 0, 0),
        none.clone(),
    );
    // Q: 1 day + 2 trip days = 3 of 4 (29 available · 4/31 = 3.74 → 4); nights 0 + 2 trip days;
    // h2 overdue (Sep 1 → Oct 31 = 60 > 30); residency proposed, overdue item dismissed.
    let q_line = line(
        &q,
        "Test b-q",
        (3, 4),
        2,
        (2, 2),
        (0, 1, 1),
        spots(0, 0),
        negatives(1, 0, 1),
        none.clone(),
    );
    // S in A: Oct 1–15: 15·4/31 = 1.94 → 2, 2 days; in B: Oct 16–31: 64/31 = 2.06 → 2, 2 days.
    let s_line = line(
        &s,
        "Test b-s",
        (2, 2),
        0,
        (0, 0),
        (0, 0, 0),
        spots(0, 0),
        negatives(0, 0, 0),
        none,
    );
    // R: 0 of 4; absent on Oct 14 (confirmed: count 1 → level 1 学习); residency proposed.
    let r_line = line(
        &r,
        "Test b-r",
        (0, 4),
        0,
        (0, 0),
        (0, 0, 0),
        spots(0, 1),
        negatives(1, 1, 0),
        json!({"count": 1, "level": 1, "name": "学习"}),
    );

    let town = find(&b["townships"], "unit_code", TOWNSHIP);
    assert_eq!(town["name"], "测试镇");
    let village_a = find(&town["villages"], "unit_code", VILLAGE_A);
    assert_eq!(village_a["name"], "甲村");
    let lines = village_a["cadres"].as_array().unwrap();
    assert_eq!(lines.len(), 3, "{village_a}");
    for (want, cadre) in [(&p_line, &p), (&q_line, &q), (&s_line, &s)] {
        let got = find(&village_a["cadres"], "person_id", &cadre.id);
        assert_eq!(&without_reasons(got), want);
    }
    let compliance_a = compliance(&app, &sup_t, VILLAGE_A, "2026-10");
    // The reasons are the compliance row's reasons in Chinese, as the bulletin is written for
    // county offices (checked last, below).
    let mut same_messages = Vec::new();
    for (cadre, compliant) in [(&p, true), (&q, false), (&s, true)] {
        let got = find(&village_a["cadres"], "person_id", &cadre.id);
        assert_eq!(got["compliant"], compliant, "{got}");
        let mut messages: Vec<Value> = row_of(&compliance_a, &cadre.id)["reasons"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["text_zh"].clone())
            .collect();
        let mut shown = got["reasons"].as_array().unwrap().clone();
        messages.sort_by_key(|m| m.to_string());
        shown.sort_by_key(|m| m.to_string());
        assert_eq!(shown.len(), messages.len(), "{got}");
        same_messages.push((shown, messages));
    }
    // Q: days_below and household_overdue.
    assert_eq!(
        find(&village_a["cadres"], "person_id", &q.id)["reasons"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
    // A: 3 lines, days 4 + 3 + 2 = 9, nights 1 + 2 + 0 = 3, leave 2, trips 2, 1 visit, 1 overdue.
    assert_eq!(
        village_a["totals"],
        totals(
            3,
            3,
            2,
            1,
            9,
            3,
            2,
            2,
            1,
            1,
            spots(1, 0),
            negatives(1, 0, 1)
        )
    );
    let village_b = find(&town["villages"], "unit_code", VILLAGE_B);
    assert_eq!(village_b["cadres"].as_array().unwrap().len(), 1);
    assert_eq!(&without_reasons(&village_b["cadres"][0]), &s_line);
    assert_eq!(
        village_b["totals"],
        totals(
            1,
            1,
            1,
            0,
            2,
            0,
            0,
            0,
            0,
            0,
            spots(0, 0),
            negatives(0, 0, 0)
        )
    );
    // D has nobody and is listed all the same.
    let village_d = find(&town["villages"], "unit_code", VILLAGE_D);
    assert_eq!(village_d["name"], "丁村");
    assert_eq!(village_d["cadres"], json!([]));
    assert_eq!(
        village_d["totals"],
        totals(
            0,
            0,
            0,
            0,
            0,
            0,
            0,
            0,
            0,
            0,
            spots(0, 0),
            negatives(0, 0, 0)
        )
    );
    assert_eq!(town["villages"].as_array().unwrap().len(), 3);
    // 测试镇: 4 lines of 3 people (S twice), 3 compliant lines, days 9 + 2 = 11.
    assert_eq!(
        town["totals"],
        totals(
            4,
            3,
            3,
            1,
            11,
            3,
            2,
            2,
            1,
            1,
            spots(1, 0),
            negatives(1, 0, 1)
        )
    );
    let other = find(&b["townships"], "unit_code", OTHER_TOWNSHIP);
    let village_c = find(&other["villages"], "unit_code", VILLAGE_C);
    assert_eq!(&without_reasons(&village_c["cadres"][0]), &r_line);
    assert_eq!(village_c["cadres"][0]["compliant"], false);
    let c_totals = totals(
        1,
        1,
        0,
        1,
        0,
        0,
        0,
        0,
        0,
        0,
        spots(0, 1),
        negatives(1, 1, 0),
    );
    assert_eq!(village_c["totals"], c_totals);
    assert_eq!(other["totals"], c_totals);
    // The county: 5 lines, 4 people, 3 compliant, 2 not; days 11, nights 3, spot present 1,
    // absent 1; items proposed 1 + 1, confirmed 1, dismissed 1.
    assert_eq!(
        b["totals"],
        totals(
            5,
            4,
            3,
            2,
            11,
            3,
            2,
            2,
            1,
            1,
            spots(1, 1),
            negatives(2, 1, 1)
        )
    );
    assert_eq!(b["townships"].as_array().unwrap().len(), 2);

    // A village's bulletin: its township with that one village.
    let one = get_ok(
        &app,
        &sup_t,
        &format!("/v1/units/{VILLAGE_B}/bulletin?month=2026-10"),
    );
    assert_eq!(one["level"], "village");
    assert_eq!(one["townships"].as_array().unwrap().len(), 1);
    assert_eq!(one["townships"][0]["unit_code"], TOWNSHIP);
    assert_eq!(one["townships"][0]["villages"].as_array().unwrap().len(), 1);
    assert_eq!(one["townships"][0]["villages"][0]["unit_code"], VILLAGE_B);
    assert_eq!(one["totals"], village_b["totals"]);

    // Scope and bad parameters.
    app.get(
        &format!("/v1/units/{OTHER_TOWNSHIP}/bulletin?month=2026-10"),
        Some(&sup_t),
    )
    .problem(403);
    app.get(
        &format!("/v1/units/{COUNTY}/bulletin?month=2026-10"),
        Some(&p.token),
    )
    .problem(403);
    app.get("/v1/units/990199999/bulletin?month=2026-10", Some(&admin))
        .problem(404);
    for (query, pointer) in [
        ("month=2026-13", "/month"),
        ("month=2026-W42", "/month"),
        ("", "/month"),
        ("month=2026-10&format=pdf", "/format"),
    ] {
        let resp = app.get(
            &format!("/v1/units/{TOWNSHIP}/bulletin?{query}"),
            Some(&sup_t),
        );
        resp.problem(422);
        assert_eq!(resp.pointers(), [pointer], "{query}: {}", resp.text);
    }
    for (shown, messages) in same_messages {
        assert_eq!(
            shown, messages,
            "a bulletin line's reasons are its compliance row's reasons, in Chinese"
        );
    }
}

/// Parses CSV text (RFC 4180: quoted fields, doubled quotes, CRLF records).
fn parse_csv(text: &str) -> Vec<Vec<String>> {
    let mut rows = Vec::new();
    let mut row = Vec::new();
    let mut field = String::new();
    let mut quoted = false;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match (quoted, c) {
            (true, '"') if chars.peek() == Some(&'"') => {
                chars.next();
                field.push('"');
            }
            (true, '"') => quoted = false,
            (true, c) => field.push(c),
            (false, '"') => quoted = true,
            (false, ',') => row.push(std::mem::take(&mut field)),
            (false, '\r') => {}
            (false, '\n') => {
                row.push(std::mem::take(&mut field));
                rows.push(std::mem::take(&mut row));
            }
            (false, c) => field.push(c),
        }
    }
    if !field.is_empty() || !row.is_empty() {
        row.push(field);
        rows.push(row);
    }
    rows
}

fn num_or_empty(value: &Value) -> String {
    if value.is_null() {
        String::new()
    } else {
        value.to_string()
    }
}

/// The CSV row a JSON line must give.
fn csv_row(township: &Value, village: &Value, line: &Value) -> Vec<String> {
    let text = |v: &Value| v.as_str().unwrap().to_owned();
    let mut row = vec![
        text(&township["name"]),
        text(&village["name"]),
        text(&line["display_name"]),
        text(&line["person_id"]),
        if line["compliant"] == true {
            "是"
        } else {
            "否"
        }
        .to_owned(),
        line["reasons"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r.as_str().unwrap())
            .collect::<Vec<_>>()
            .join("；"),
    ];
    for key in [
        "days_in_village",
        "required_days",
        "nights_in_village",
        "required_nights",
        "leave_days",
        "trip_days",
        "visits",
        "households",
        "overdue_households",
    ] {
        row.push(num_or_empty(&line[key]));
    }
    for key in SPOT_KEYS {
        row.push(line["spot_checks"][key].to_string());
    }
    for key in ["proposed", "confirmed", "dismissed"] {
        row.push(line["negative_items"][key].to_string());
    }
    row.push(line["escalation"]["name"].as_str().unwrap_or("").to_owned());
    row
}

/// The CSV columns a total row fills from T, by column index.
fn assert_total_row(row: &[String], totals: &Value) {
    for (index, key) in [
        (6, "days_in_village"),
        (8, "nights_in_village"),
        (10, "leave_days"),
        (11, "trip_days"),
        (12, "visits"),
        (14, "overdue_households"),
    ] {
        assert_eq!(row[index], totals[key].to_string(), "{key} in {row:?}");
    }
    for (offset, key) in SPOT_KEYS.iter().enumerate() {
        assert_eq!(
            row[15 + offset],
            totals["spot_checks"][key].to_string(),
            "{key} in {row:?}"
        );
    }
    for (offset, key) in ["proposed", "confirmed", "dismissed"].iter().enumerate() {
        assert_eq!(
            row[24 + offset],
            totals["negative_items"][key].to_string(),
            "{key} in {row:?}"
        );
    }
}

/// A CSV cell as the XLSX must hold it: empty → null, an integer column → a number.
fn as_cell(index: usize, cell: &str) -> Value {
    if cell.is_empty() {
        Value::Null
    } else if (6..=26).contains(&index) && cell.parse::<i64>().is_ok() {
        json!(cell.parse::<i64>().unwrap())
    } else {
        json!(cell)
    }
}

fn trimmed(mut row: Vec<Value>) -> Vec<Value> {
    while row.last() == Some(&Value::Null) {
        row.pop();
    }
    row
}

fn csv_and_xlsx_hold_the_json_rows(backend: Backend) {
    let Some(County { app, admin, .. }) = county_fixture(backend) else {
        return;
    };
    let base = format!("/v1/units/{COUNTY}/bulletin?month=2026-10");
    let b = get_ok(&app, &admin, &base);
    let (status, headers, bytes) = get_full(&app, &format!("{base}&format=csv"), &admin);
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&bytes));
    assert_eq!(headers["content-type"], "text/csv; charset=utf-8");
    let disposition = &headers["content-disposition"];
    assert!(disposition.starts_with("attachment"), "{disposition}");
    assert!(
        disposition.contains("bulletin-990100-2026-10.csv"),
        "{disposition}"
    );
    assert_eq!(&bytes[..3], b"\xEF\xBB\xBF", "UTF-8 BOM first");
    let text = std::str::from_utf8(&bytes[3..]).expect("UTF-8");
    assert!(text.ends_with("\r\n"), "{text}");
    assert_eq!(
        text.matches('\n').count(),
        text.matches("\r\n").count(),
        "CRLF only"
    );
    assert!(text.starts_with(&format!("{HEADER}\r\n")), "{text}");
    let rows = parse_csv(text);
    assert!(rows.iter().all(|row| row.len() == 28), "{rows:?}");

    // Every line, in the JSON's order; then a 合计 per township and one 总计 last.
    let mut want_lines = Vec::new();
    for township in b["townships"].as_array().unwrap() {
        for village in township["villages"].as_array().unwrap() {
            for line in village["cadres"].as_array().unwrap() {
                want_lines.push(csv_row(township, village, line));
            }
        }
    }
    assert_eq!(want_lines.len(), 5);
    let total = rows.last().unwrap();
    assert!(total[0] == "总计" || total[1] == "总计", "{total:?}");
    assert_total_row(total, &b["totals"]);
    let body = &rows[1..rows.len() - 1];
    let lines: Vec<Vec<String>> = body.iter().filter(|r| r[1] != "合计").cloned().collect();
    assert_eq!(lines, want_lines);
    let sums: Vec<&Vec<String>> = body.iter().filter(|r| r[1] == "合计").collect();
    assert_eq!(sums.len(), 2, "{rows:?}");
    for township in b["townships"].as_array().unwrap() {
        let row = sums
            .iter()
            .find(|r| r[0] == township["name"].as_str().unwrap())
            .unwrap_or_else(|| panic!("no 合计 for {}", township["name"]));
        assert_total_row(row, &township["totals"]);
    }
    assert_eq!(rows.len(), 1 + 5 + 2 + 1);

    // The XLSX: one sheet 通报, exactly the CSV rows, numbers as numbers, empty for null.
    let (status, headers, xlsx) = get_full(&app, &format!("{base}&format=xlsx"), &admin);
    assert_eq!(status, 200);
    assert_eq!(
        headers["content-type"],
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    );
    assert_eq!(&xlsx[..2], b"PK", "a zip container");
    let file = app.data_dir.path().join("bulletin.xlsx");
    std::fs::write(&file, &xlsx).unwrap();
    let output = fieldtrail_tests::python::command("bulletin_xlsx.py")
        .arg(file.to_str().unwrap())
        .output()
        .expect("python3 runs (scripts/test installs openpyxl into its virtualenv)");
    assert!(
        output.status.success(),
        "openpyxl failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let read: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(read["sheets"], json!(["通报"]));
    let got: Vec<Vec<Value>> = read["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|row| trimmed(row.as_array().unwrap().clone()))
        .collect();
    let want: Vec<Vec<Value>> = rows
        .iter()
        .map(|row| trimmed(row.iter().enumerate().map(|(i, c)| as_cell(i, c)).collect()))
        .collect();
    assert_eq!(got, want);
    assert!(got[1][6].is_number(), "{:?}", got[1]);
}

both_backends!(
    bulletin_json_has_every_village_and_the_hand_computed_totals,
    csv_and_xlsx_hold_the_json_rows,
);
