//! The roster template: the header row every import reads, one example row of each kind, and
//! (in the XLSX) a second sheet saying what belongs in each column.

use crate::error::ApiError;
use fieldtrail_domain::roster_sheet::Column;

/// One example row of each kind, in the order of [`Column::ALL`].
const EXAMPLES: [[&str; 14]; 4] = [
    [
        "人员",
        "zhangsan",
        "张三",
        "驻村干部",
        "341322100201",
        "+8613800000001",
        "initial-pass-1",
        "",
        "",
        "",
        "",
        "",
        "",
        "",
    ],
    [
        "农户",
        "",
        "",
        "",
        "341322100201",
        "",
        "",
        "",
        "王大山",
        "4",
        "116.8123",
        "34.1087",
        "",
        "",
    ],
    [
        "驻村",
        "zhangsan",
        "",
        "",
        "341322100201",
        "",
        "",
        "工作队员",
        "",
        "",
        "",
        "",
        "2026-01-01",
        "",
    ],
    [
        "结对",
        "zhangsan",
        "",
        "",
        "341322100201",
        "",
        "",
        "",
        "王大山",
        "",
        "",
        "",
        "2026-01-01",
        "2027-12-31",
    ],
];

/// What each column holds, for the template's 说明 sheet and docs/roster.md.
const NOTES: [(Column, &str); 14] = [
    (
        Column::Kind,
        "人员 / 农户 / 驻村 / 结对 (person, household, assignment, pairing)",
    ),
    (
        Column::Username,
        "人员、驻村、结对: 登录用户名 (letters, digits, . _ -)",
    ),
    (Column::Name, "人员: 姓名"),
    (Column::Role, "人员: 驻村干部 / 督查 / 纪检 / 管理员"),
    (
        Column::UnitCode,
        "所属单位 / 驻村村 / 农户所在村的代码 (unit code)",
    ),
    (Column::Phone, "人员: 电话 (可空)"),
    (
        Column::Password,
        "人员: 新用户的初始密码, 8–256 字符; 首次登录须修改",
    ),
    (Column::Post, "驻村: 第一书记 / 工作队员 / 结对干部"),
    (
        Column::HeadName,
        "农户、结对: 户主姓名 (农户以村和户主区分)",
    ),
    (Column::Members, "农户: 人口 1–100"),
    (Column::Lon, "农户: 经度 (WGS 84)"),
    (Column::Lat, "农户: 纬度 (WGS 84)"),
    (Column::From, "驻村、结对: 起始日期 YYYY-MM-DD"),
    (Column::To, "驻村、结对: 结束日期 YYYY-MM-DD (可空)"),
];

pub fn template_csv() -> Result<Vec<u8>, ApiError> {
    let mut writer = csv::WriterBuilder::new()
        .terminator(csv::Terminator::CRLF)
        .from_writer(b"\xEF\xBB\xBF".to_vec());
    let csv_error = |err: csv::Error| ApiError::Internal(format!("writing the template: {err}"));
    writer
        .write_record(Column::ALL.map(Column::chinese))
        .map_err(csv_error)?;
    for row in EXAMPLES {
        writer.write_record(row).map_err(csv_error)?;
    }
    writer
        .into_inner()
        .map_err(|err| ApiError::Internal(format!("writing the template: {err}")))
}

pub fn template_xlsx() -> Result<Vec<u8>, ApiError> {
    use rust_xlsxwriter::{Format, Workbook};
    let xlsx_error = |err: rust_xlsxwriter::XlsxError| {
        ApiError::Internal(format!("writing the template: {err}"))
    };
    let mut workbook = Workbook::new();
    let bold = Format::new().set_bold();
    let sheet = workbook.add_worksheet();
    sheet.set_name("名册").map_err(xlsx_error)?;
    for (col, column) in (0u16..).zip(Column::ALL) {
        sheet
            .write_string_with_format(0, col, column.chinese(), &bold)
            .map_err(xlsx_error)?;
        sheet.set_column_width(col, 14).map_err(xlsx_error)?;
    }
    for (row, example) in (1u32..).zip(EXAMPLES) {
        for (col, value) in (0u16..).zip(example) {
            if !value.is_empty() {
                sheet.write_string(row, col, value).map_err(xlsx_error)?;
            }
        }
    }
    let notes = workbook.add_worksheet();
    notes.set_name("说明").map_err(xlsx_error)?;
    for (col, title) in (0u16..).zip(["列", "column", "填写"]) {
        notes
            .write_string_with_format(0, col, title, &bold)
            .map_err(xlsx_error)?;
    }
    notes.set_column_width(2, 60).map_err(xlsx_error)?;
    for (row, (column, note)) in (1u32..).zip(NOTES) {
        notes
            .write_string(row, 0, column.chinese())
            .map_err(xlsx_error)?;
        notes
            .write_string(row, 1, column.english())
            .map_err(xlsx_error)?;
        notes.write_string(row, 2, note).map_err(xlsx_error)?;
    }
    workbook.save_to_buffer().map_err(xlsx_error)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_csv_template_starts_with_a_bom_and_the_headers() {
        let bytes = template_csv().unwrap();
        let text = String::from_utf8(bytes).unwrap();
        let text = text.strip_prefix('\u{feff}').unwrap();
        assert!(text.starts_with("类型,用户名,姓名,角色,单位代码"));
        assert_eq!(text.lines().count(), 5);
    }

    #[test]
    fn the_example_rows_parse_as_a_sheet() {
        use fieldtrail_domain::roster_sheet::{parse_sheet, Grid};
        let grid = Grid {
            headers: Column::ALL.map(|c| c.chinese().to_owned()).to_vec(),
            rows: (2..)
                .zip(EXAMPLES)
                .map(|(n, row)| (n, row.map(str::to_owned).to_vec()))
                .collect(),
        };
        let sheet = parse_sheet(&grid).unwrap();
        assert_eq!(
            (
                sheet.people.len(),
                sheet.households.len(),
                sheet.assignments.len(),
                sheet.pairings.len()
            ),
            (1, 1, 1, 1)
        );
    }
}
