//! The roster spreadsheet offices keep (docs/roster.md): one table whose first row names the
//! columns, in Chinese or English, and whose `类型` column says what each row is — a person, a
//! household, an assignment or a pairing. Parsing reports every bad cell at once, each named by
//! its spreadsheet row and column, so an admin can fix the whole sheet in one go.

use crate::error::FieldProblem;
use crate::geo::Position;
use crate::person::{DisplayName, Password, Phone, Role, Username};
use crate::roster::{parse_date, AssignmentRole, ValidPeriod};
use crate::unit::UnitCode;
use std::collections::HashSet;

/// Most data rows one import takes; a county roster is a few thousand.
pub const MAX_ROWS: usize = 20_000;

/// A column of the sheet: its Chinese header (what the template shows) and English alias.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Column {
    Kind,
    Username,
    Name,
    Role,
    UnitCode,
    Phone,
    Password,
    Post,
    HeadName,
    Members,
    Lon,
    Lat,
    From,
    To,
}

impl Column {
    pub const ALL: [Column; 14] = [
        Column::Kind,
        Column::Username,
        Column::Name,
        Column::Role,
        Column::UnitCode,
        Column::Phone,
        Column::Password,
        Column::Post,
        Column::HeadName,
        Column::Members,
        Column::Lon,
        Column::Lat,
        Column::From,
        Column::To,
    ];

    pub fn chinese(self) -> &'static str {
        match self {
            Column::Kind => "类型",
            Column::Username => "用户名",
            Column::Name => "姓名",
            Column::Role => "角色",
            Column::UnitCode => "单位代码",
            Column::Phone => "电话",
            Column::Password => "初始密码",
            Column::Post => "职务",
            Column::HeadName => "户主姓名",
            Column::Members => "人口",
            Column::Lon => "经度",
            Column::Lat => "纬度",
            Column::From => "起始日期",
            Column::To => "结束日期",
        }
    }

    pub fn english(self) -> &'static str {
        match self {
            Column::Kind => "kind",
            Column::Username => "username",
            Column::Name => "display_name",
            Column::Role => "role",
            Column::UnitCode => "unit_code",
            Column::Phone => "phone",
            Column::Password => "password",
            Column::Post => "post",
            Column::HeadName => "head_name",
            Column::Members => "members",
            Column::Lon => "lon",
            Column::Lat => "lat",
            Column::From => "valid_from",
            Column::To => "valid_to",
        }
    }

    fn from_header(header: &str) -> Option<Column> {
        let header = header.trim();
        Column::ALL
            .into_iter()
            .find(|c| c.chinese() == header || c.english().eq_ignore_ascii_case(header))
    }
}

/// What a row is, by its `类型` cell.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RowKind {
    Person,
    Household,
    Assignment,
    Pairing,
}

impl RowKind {
    const NAMES: [(&'static str, &'static str, RowKind); 4] = [
        ("人员", "person", RowKind::Person),
        ("农户", "household", RowKind::Household),
        ("驻村", "assignment", RowKind::Assignment),
        ("结对", "pairing", RowKind::Pairing),
    ];

    fn parse(raw: &str) -> Result<RowKind, String> {
        Self::NAMES
            .iter()
            .find(|(zh, en, _)| *zh == raw || en.eq_ignore_ascii_case(raw))
            .map(|(_, _, kind)| *kind)
            .ok_or_else(|| {
                "must be 人员, 农户, 驻村 or 结对 (person, household, assignment, pairing)".into()
            })
    }

    pub fn chinese(self) -> &'static str {
        Self::NAMES
            .iter()
            .find(|(_, _, kind)| *kind == self)
            .map_or("", |(zh, _, _)| zh)
    }

    /// The columns a row of this kind fills, and whether each must be filled.
    fn columns(self) -> &'static [(Column, bool)] {
        match self {
            RowKind::Person => &[
                (Column::Username, true),
                (Column::Name, true),
                (Column::Role, true),
                (Column::UnitCode, true),
                (Column::Phone, false),
                (Column::Password, false),
            ],
            RowKind::Household => &[
                (Column::UnitCode, true),
                (Column::HeadName, true),
                (Column::Members, true),
                (Column::Lon, true),
                (Column::Lat, true),
            ],
            RowKind::Assignment => &[
                (Column::Username, true),
                (Column::UnitCode, true),
                (Column::Post, true),
                (Column::From, true),
                (Column::To, false),
            ],
            RowKind::Pairing => &[
                (Column::Username, true),
                (Column::UnitCode, true),
                (Column::HeadName, true),
                (Column::From, true),
                (Column::To, false),
            ],
        }
    }
}

/// Where a value came from: a cell of the sheet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cell {
    pub row: usize,
    pub column: String,
    pub header: String,
}

impl Cell {
    pub fn problem(&self, reason: impl std::fmt::Display) -> FieldProblem {
        FieldProblem {
            pointer: format!("/rows/{}/{}", self.row, escape_pointer(&self.header)),
            reason: reason.to_string(),
            row: Some(self.row),
            column: Some(self.column.clone()),
        }
    }
}

/// RFC 6901: `~` and `/` in a pointer segment.
fn escape_pointer(segment: &str) -> String {
    segment.replace('~', "~0").replace('/', "~1")
}

/// The spreadsheet column letter of a zero-based index: 0 → A, 25 → Z, 26 → AA.
pub fn column_letter(index: usize) -> String {
    let mut n = index + 1;
    let mut letters = Vec::new();
    while n > 0 {
        let rem = (n - 1) % 26;
        letters.push(char::from(b'A' + rem as u8));
        n = (n - 1) / 26;
    }
    letters.iter().rev().collect()
}

/// The sheet as read from the file: the header row and each data row with its row number.
#[derive(Debug, Clone, Default)]
pub struct Grid {
    pub headers: Vec<String>,
    pub rows: Vec<(usize, Vec<String>)>,
}

#[derive(Debug)]
pub struct SheetPerson {
    pub row: usize,
    pub username: (Username, Cell),
    pub display_name: (DisplayName, Cell),
    pub role: (Role, Cell),
    pub unit_code: (UnitCode, Cell),
    pub phone: (Option<Phone>, Cell),
    pub password: Option<Password>,
    /// The cell a missing password of a new person is reported at.
    pub password_cell: Cell,
}

#[derive(Debug, Clone)]
pub struct SheetHousehold {
    pub row: usize,
    pub unit_code: (UnitCode, Cell),
    pub head_name: (String, Cell),
    pub members: u16,
    pub location: Position,
}

#[derive(Debug, Clone)]
pub struct SheetAssignment {
    pub row: usize,
    pub username: (Username, Cell),
    pub unit_code: (UnitCode, Cell),
    pub post: AssignmentRole,
    pub period: (ValidPeriod, Cell),
}

#[derive(Debug, Clone)]
pub struct SheetPairing {
    pub row: usize,
    pub username: (Username, Cell),
    pub unit_code: (UnitCode, Cell),
    pub head_name: (String, Cell),
    pub period: (ValidPeriod, Cell),
}

/// Every row of a sheet that parsed, typed, and the problems of those that did not: the rows
/// that parsed are still checked against the store, so that one import reports every bad cell.
#[derive(Debug, Default)]
pub struct RosterSheet {
    pub rows: usize,
    pub people: Vec<SheetPerson>,
    pub households: Vec<SheetHousehold>,
    pub assignments: Vec<SheetAssignment>,
    pub pairings: Vec<SheetPairing>,
    pub problems: Vec<FieldProblem>,
    /// Usernames of person rows with a bad cell: other rows naming them are not also reported.
    pub unparsed_people: HashSet<String>,
    /// (unit code, head) of household rows with a bad cell, likewise.
    pub unparsed_households: HashSet<(String, String)>,
}

fn parse_role(raw: &str) -> Result<Role, String> {
    let english = match raw {
        "驻村干部" => "cadre",
        "督查" => "supervisor",
        "纪检" => "inspector",
        "管理员" => "admin",
        other => other,
    };
    Role::parse(english).map_err(|_| {
        "must be 驻村干部, 督查, 纪检 or 管理员 (cadre, supervisor, inspector, admin)".to_owned()
    })
}

fn parse_post(raw: &str) -> Result<AssignmentRole, String> {
    let english = match raw {
        "第一书记" => "first_secretary",
        "工作队员" => "team_member",
        "结对干部" => "paired_cadre",
        other => other,
    };
    AssignmentRole::parse(english).map_err(|_| {
        "must be 第一书记, 工作队员 or 结对干部 (first_secretary, team_member, paired_cadre)"
            .to_owned()
    })
}

fn parse_head_name(raw: &str) -> Result<String, String> {
    crate::names::plain_name(raw, 100)
        .ok_or_else(|| "must be a name of at most 100 characters without control characters".into())
}

fn parse_number(raw: &str) -> Result<f64, String> {
    raw.parse::<f64>()
        .ok()
        .filter(|n| n.is_finite())
        .ok_or_else(|| "must be a number".to_owned())
}

/// One row's cells, with the problems found in them.
struct RowCells<'a> {
    row: usize,
    values: &'a [String],
    columns: &'a [(Column, usize)],
    headers: &'a [String],
    problems: &'a mut Vec<FieldProblem>,
}

impl RowCells<'_> {
    fn cell(&self, column: Column) -> Option<Cell> {
        let (_, index) = self.columns.iter().find(|(c, _)| *c == column)?;
        Some(Cell {
            row: self.row,
            column: column_letter(*index),
            header: self.headers[*index].trim().to_owned(),
        })
    }

    fn raw(&self, column: Column) -> &str {
        self.columns
            .iter()
            .find(|(c, _)| *c == column)
            .and_then(|(_, index)| self.values.get(*index))
            .map_or("", |value| value.trim())
    }

    /// The parsed value of a required cell, or None with its problem recorded.
    fn required<T, E: std::fmt::Display>(
        &mut self,
        column: Column,
        parse: impl FnOnce(&str) -> Result<T, E>,
    ) -> Option<(T, Cell)> {
        let cell = self.cell(column)?;
        let raw = self.raw(column).to_owned();
        if raw.is_empty() {
            self.problems.push(cell.problem("must not be empty"));
            return None;
        }
        match parse(&raw) {
            Ok(value) => Some((value, cell)),
            Err(err) => {
                self.problems.push(cell.problem(err));
                None
            }
        }
    }

    /// Some(None) when the cell is empty, None when it is filled and bad.
    fn optional<T, E: std::fmt::Display>(
        &mut self,
        column: Column,
        parse: impl FnOnce(&str) -> Result<T, E>,
    ) -> Option<Option<T>> {
        let raw = self.raw(column).to_owned();
        if raw.is_empty() {
            return Some(None);
        }
        self.required(column, parse).map(|(value, _)| Some(value))
    }

    fn period(&mut self) -> Option<(ValidPeriod, Cell)> {
        let (from, from_cell) = self.required(Column::From, parse_date)?;
        let to = self.optional(Column::To, parse_date)?;
        match ValidPeriod::new(from, to) {
            Ok(period) => Some((period, from_cell)),
            Err(_) => {
                let cell = self.cell(Column::To).unwrap_or(from_cell);
                self.problems
                    .push(cell.problem("结束日期 must not be before 起始日期"));
                None
            }
        }
    }
}

/// Types every row of the sheet; Err only when the header row itself is wrong. Bad cells of
/// the rows are in [`RosterSheet::problems`].
pub fn parse_sheet(grid: &Grid) -> Result<RosterSheet, Vec<FieldProblem>> {
    let mut problems = Vec::new();
    let mut columns: Vec<(Column, usize)> = Vec::new();
    for (index, header) in grid.headers.iter().enumerate() {
        if header.trim().is_empty() {
            continue;
        }
        let cell = Cell {
            row: 1,
            column: column_letter(index),
            header: header.trim().to_owned(),
        };
        match Column::from_header(header) {
            Some(column) if columns.iter().any(|(c, _)| *c == column) => {
                problems.push(cell.problem("this column appears twice"));
            }
            Some(column) => columns.push((column, index)),
            None => problems.push(cell.problem(format!(
                "unknown column; the columns are {}",
                Column::ALL.map(Column::chinese).join(", ")
            ))),
        }
    }
    for column in Column::ALL {
        if !columns.iter().any(|(c, _)| *c == column) {
            problems.push(FieldProblem {
                pointer: format!("/rows/1/{}", column.chinese()),
                reason: format!(
                    "the header row lacks the column {} ({})",
                    column.chinese(),
                    column.english()
                ),
                row: Some(1),
                column: None,
            });
        }
    }
    if !problems.is_empty() {
        return Err(problems);
    }
    if grid.rows.len() > MAX_ROWS {
        return Err(vec![FieldProblem::new(
            "/rows",
            format!("at most {MAX_ROWS} rows per import"),
        )]);
    }
    let mut sheet = RosterSheet::default();
    for (row, values) in &grid.rows {
        if values.iter().all(|v| v.trim().is_empty()) {
            continue;
        }
        sheet.rows += 1;
        let mut cells = RowCells {
            row: *row,
            values,
            columns: &columns,
            headers: &grid.headers,
            problems: &mut problems,
        };
        let Some((kind, _)) = cells.required(Column::Kind, RowKind::parse) else {
            // Whatever the row was meant to be, rows naming it are not reported as well.
            let username = cells.raw(Column::Username).to_owned();
            if !username.is_empty() {
                sheet.unparsed_people.insert(username);
            }
            sheet.unparsed_households.insert((
                cells.raw(Column::UnitCode).to_owned(),
                cells.raw(Column::HeadName).to_owned(),
            ));
            continue;
        };
        for column in Column::ALL {
            let used = column == Column::Kind || kind.columns().iter().any(|(c, _)| *c == column);
            if !used && !cells.raw(column).is_empty() {
                if let Some(cell) = cells.cell(column) {
                    cells.problems.push(cell.problem(format!(
                        "a {} row does not use this column; leave it empty",
                        kind.chinese()
                    )));
                }
            }
        }
        match kind {
            RowKind::Person => {
                let username = cells.required(Column::Username, Username::parse);
                let display_name = cells.required(Column::Name, DisplayName::parse);
                let role = cells.required(Column::Role, parse_role);
                let unit_code = cells.required(Column::UnitCode, UnitCode::parse);
                let phone = cells.optional(Column::Phone, Phone::parse);
                let password = cells.optional(Column::Password, Password::parse);
                let password_cell = cells.cell(Column::Password);
                let phone_cell = cells.cell(Column::Phone);
                if let (
                    Some(username),
                    Some(display_name),
                    Some(role),
                    Some(unit_code),
                    Some(phone),
                    Some(password),
                    Some(password_cell),
                    Some(phone_cell),
                ) = (
                    username,
                    display_name,
                    role,
                    unit_code,
                    phone,
                    password,
                    password_cell,
                    phone_cell,
                ) {
                    sheet.people.push(SheetPerson {
                        row: *row,
                        username,
                        display_name,
                        role,
                        unit_code,
                        phone: (phone, phone_cell),
                        password,
                        password_cell,
                    });
                } else if !cells.raw(Column::Username).is_empty() {
                    sheet
                        .unparsed_people
                        .insert(cells.raw(Column::Username).to_owned());
                }
            }
            RowKind::Household => {
                let unit_code = cells.required(Column::UnitCode, UnitCode::parse);
                let head_name = cells.required(Column::HeadName, parse_head_name);
                let members = cells.required(Column::Members, |raw| {
                    raw.parse::<u16>()
                        .ok()
                        .filter(|n| (1..=100).contains(n))
                        .ok_or("must be a whole number from 1 to 100")
                });
                let lon = cells.required(Column::Lon, parse_number);
                let lat = cells.required(Column::Lat, parse_number);
                let (Some(unit_code), Some(head_name), Some(members), Some(lon), Some(lat)) =
                    (unit_code, head_name, members, lon, lat)
                else {
                    sheet.unparsed_households.insert((
                        cells.raw(Column::UnitCode).to_owned(),
                        cells.raw(Column::HeadName).to_owned(),
                    ));
                    continue;
                };
                let lon_ok = Position::parse(lon.0, 0.0)
                    .map_err(|err| cells.problems.push(lon.1.problem(err)))
                    .is_ok();
                let lat_ok = Position::parse(0.0, lat.0)
                    .map_err(|err| cells.problems.push(lat.1.problem(err)))
                    .is_ok();
                match Position::parse(lon.0, lat.0) {
                    Ok(location) if lon_ok && lat_ok => sheet.households.push(SheetHousehold {
                        row: *row,
                        unit_code,
                        head_name,
                        members: members.0,
                        location,
                    }),
                    other => {
                        if let (true, true, Err(err)) = (lon_ok, lat_ok, other) {
                            cells.problems.push(lon.1.problem(err));
                        }
                        sheet.unparsed_households.insert((
                            cells.raw(Column::UnitCode).to_owned(),
                            cells.raw(Column::HeadName).to_owned(),
                        ));
                    }
                }
            }
            RowKind::Assignment => {
                let username = cells.required(Column::Username, Username::parse);
                let unit_code = cells.required(Column::UnitCode, UnitCode::parse);
                let post = cells.required(Column::Post, parse_post);
                let period = cells.period();
                if let (Some(username), Some(unit_code), Some(post), Some(period)) =
                    (username, unit_code, post, period)
                {
                    sheet.assignments.push(SheetAssignment {
                        row: *row,
                        username,
                        unit_code,
                        post: post.0,
                        period,
                    });
                }
            }
            RowKind::Pairing => {
                let username = cells.required(Column::Username, Username::parse);
                let unit_code = cells.required(Column::UnitCode, UnitCode::parse);
                let head_name = cells.required(Column::HeadName, parse_head_name);
                let period = cells.period();
                if let (Some(username), Some(unit_code), Some(head_name), Some(period)) =
                    (username, unit_code, head_name, period)
                {
                    sheet.pairings.push(SheetPairing {
                        row: *row,
                        username,
                        unit_code,
                        head_name,
                        period,
                    });
                }
            }
        }
    }
    sheet.problems = problems;
    Ok(sheet)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn grid(rows: &[&[&str]]) -> Grid {
        Grid {
            headers: Column::ALL.map(|c| c.chinese().to_owned()).to_vec(),
            rows: rows
                .iter()
                .enumerate()
                .map(|(i, row)| (i + 2, row.iter().map(|s| (*s).to_owned()).collect()))
                .collect(),
        }
    }

    #[test]
    fn column_letters_follow_spreadsheets() {
        assert_eq!(column_letter(0), "A");
        assert_eq!(column_letter(25), "Z");
        assert_eq!(column_letter(26), "AA");
        assert_eq!(column_letter(27), "AB");
        assert_eq!(column_letter(701), "ZZ");
        assert_eq!(column_letter(702), "AAA");
    }

    #[test]
    fn every_bad_cell_is_reported_with_its_row_and_column() {
        let sheet = grid(&[
            &[
                "人员",
                "zhang3",
                "张三",
                "驻村干部",
                "341322100201",
                "",
                "long-enough-pass",
                "",
                "",
                "",
                "",
                "",
                "",
                "",
            ],
            &[
                "驻村",
                "zhang3",
                "",
                "",
                "341322100201",
                "",
                "",
                "队长",
                "",
                "",
                "",
                "",
                "2026-02-30",
                "",
            ],
            &[
                "农户",
                "",
                "",
                "",
                "341322100201",
                "",
                "",
                "",
                "王家",
                "3",
                "200",
                "34",
                "",
                "",
            ],
        ]);
        let parsed = parse_sheet(&sheet).unwrap();
        assert_eq!(
            parsed.people.len(),
            1,
            "the good row is kept for the store's checks"
        );
        assert!(parsed
            .unparsed_households
            .contains(&("341322100201".into(), "王家".into())));
        let problems = parsed.problems;
        let at: Vec<(Option<usize>, Option<&str>, &str)> = problems
            .iter()
            .map(|p| (p.row, p.column.as_deref(), p.pointer.as_str()))
            .collect();
        assert_eq!(
            at,
            vec![
                (Some(3), Some("H"), "/rows/3/职务"),
                (Some(3), Some("M"), "/rows/3/起始日期"),
                (Some(4), Some("K"), "/rows/4/经度"),
            ]
        );
    }

    #[test]
    fn english_headers_and_kinds_are_accepted_and_unused_cells_refused() {
        let mut sheet = grid(&[&[
            "household",
            "",
            "",
            "",
            "341322100201",
            "",
            "",
            "",
            "王家",
            "3",
            "116.8",
            "34.1",
            "2026-01-01",
            "",
        ]]);
        sheet.headers = Column::ALL.map(|c| c.english().to_owned()).to_vec();
        let problems = parse_sheet(&sheet).unwrap().problems;
        assert_eq!(problems.len(), 1);
        assert_eq!(problems[0].pointer, "/rows/2/valid_from");
        sheet.rows[0].1[12] = String::new();
        let parsed = parse_sheet(&sheet).unwrap();
        assert!(parsed.problems.is_empty());
        assert_eq!(parsed.households.len(), 1);
        assert_eq!(parsed.rows, 1);
    }

    #[test]
    fn a_missing_or_unknown_header_is_reported_before_any_row() {
        let mut sheet = grid(&[]);
        sheet.headers[3] = "备注".into();
        let problems = parse_sheet(&sheet).unwrap_err();
        let pointers: Vec<&str> = problems.iter().map(|p| p.pointer.as_str()).collect();
        assert_eq!(pointers, vec!["/rows/1/备注", "/rows/1/角色"]);
    }
}
