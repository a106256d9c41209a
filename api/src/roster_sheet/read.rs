//! An uploaded sheet into rows of text cells. CSV comes as Excel saves it — UTF-8 with or
//! without a byte-order mark, or GB18030 on Chinese Windows; an XLSX is read from its first
//! sheet, numbers written back as typed and dates as YYYY-MM-DD.

use crate::error::ApiError;
use calamine::{Data, Reader};
use fieldtrail_domain::roster_sheet::{Grid, MAX_ROWS};

pub const XLSX_TYPE: &str = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SheetFormat {
    Csv,
    Xlsx,
}

impl SheetFormat {
    /// The format a Content-Type names; None for anything else.
    pub fn of_content_type(content_type: &str) -> Option<SheetFormat> {
        let essence = content_type
            .split(';')
            .next()
            .unwrap_or_default()
            .trim()
            .to_ascii_lowercase();
        match essence.as_str() {
            "text/csv" => Some(SheetFormat::Csv),
            XLSX_TYPE => Some(SheetFormat::Xlsx),
            _ => None,
        }
    }
}

fn malformed(detail: impl Into<String>) -> ApiError {
    ApiError::Malformed {
        detail: detail.into(),
        problems: Vec::new(),
    }
}

fn too_many_rows() -> ApiError {
    ApiError::PayloadTooLarge(format!("at most {MAX_ROWS} rows per import"))
}

pub fn read_grid(format: SheetFormat, body: &[u8]) -> Result<Grid, ApiError> {
    match format {
        SheetFormat::Csv => read_csv(body),
        SheetFormat::Xlsx => read_xlsx(body),
    }
}

fn decode_text(body: &[u8]) -> String {
    let body = body.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(body);
    match std::str::from_utf8(body) {
        Ok(text) => text.to_owned(),
        Err(_) => encoding_rs::GB18030.decode(body).0.into_owned(),
    }
}

fn read_csv(body: &[u8]) -> Result<Grid, ApiError> {
    let text = decode_text(body);
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(text.as_bytes());
    let mut grid = Grid::default();
    for (index, record) in reader.records().enumerate() {
        let record = record.map_err(|err| malformed(format!("the CSV cannot be read: {err}")))?;
        let cells: Vec<String> = record.iter().map(str::to_owned).collect();
        if index == 0 {
            grid.headers = cells;
        } else {
            if grid.rows.len() >= MAX_ROWS {
                return Err(too_many_rows());
            }
            grid.rows.push((index + 1, cells));
        }
    }
    if grid.headers.is_empty() {
        return Err(malformed(
            "the CSV is empty; its first row names the columns",
        ));
    }
    Ok(grid)
}

/// A cell as the office typed it: whole numbers without ".0", Excel dates as days.
fn cell_text(cell: &Data) -> String {
    match cell {
        Data::Empty => String::new(),
        Data::String(text) => text.clone(),
        Data::Int(n) => n.to_string(),
        Data::Float(f) if f.fract() == 0.0 && f.abs() < 1e15 => format!("{f:.0}"),
        Data::Float(f) => f.to_string(),
        Data::Bool(b) => b.to_string(),
        Data::DateTime(value) => excel_day(value.as_f64()).unwrap_or_else(|| value.to_string()),
        Data::DateTimeIso(text) => text.chars().take(10).collect(),
        Data::DurationIso(text) => text.clone(),
        Data::Error(err) => format!("#{err:?}"),
    }
}

/// An Excel serial date (days since 1899-12-30, the 1900 leap-year bug included) as YYYY-MM-DD.
fn excel_day(serial: f64) -> Option<String> {
    let epoch = time::Date::from_calendar_date(1899, time::Month::December, 30).ok()?;
    let days = serial.floor();
    if !(0.0..=2_958_465.0).contains(&days) {
        return None;
    }
    let day = epoch.checked_add(time::Duration::days(days as i64))?;
    Some(fieldtrail_domain::roster::format_date(day))
}

fn read_xlsx(body: &[u8]) -> Result<Grid, ApiError> {
    let mut workbook = calamine::Xlsx::new(std::io::Cursor::new(body))
        .map_err(|err| malformed(format!("the XLSX cannot be read: {err}")))?;
    let range = workbook
        .worksheet_range_at(0)
        .ok_or_else(|| malformed("the XLSX has no sheet"))?
        .map_err(|err| malformed(format!("the XLSX's first sheet cannot be read: {err}")))?;
    let Some((first_row, first_column)) = range.start() else {
        return Err(malformed(
            "the XLSX's first sheet is empty; its first row names the columns",
        ));
    };
    let first_row = usize::try_from(first_row).unwrap_or(0);
    // Columns left of the used range are empty; keep them so that letters stay the sheet's.
    let pad = usize::try_from(first_column).unwrap_or(0);
    let mut grid = Grid::default();
    for (index, row) in range.rows().enumerate() {
        let mut cells = vec![String::new(); pad];
        cells.extend(row.iter().map(cell_text));
        if index == 0 {
            grid.headers = cells;
        } else {
            if grid.rows.len() >= MAX_ROWS {
                return Err(too_many_rows());
            }
            grid.rows.push((first_row + index + 1, cells));
        }
    }
    Ok(grid)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_types_name_the_format() {
        assert_eq!(
            SheetFormat::of_content_type("text/csv; charset=utf-8"),
            Some(SheetFormat::Csv)
        );
        assert_eq!(
            SheetFormat::of_content_type(XLSX_TYPE),
            Some(SheetFormat::Xlsx)
        );
        assert_eq!(SheetFormat::of_content_type("application/json"), None);
    }

    #[test]
    fn csv_in_utf8_with_a_bom_and_in_gb18030_reads_the_same() {
        let text = "类型,用户名\n人员,zhang3\n";
        let mut with_bom = b"\xEF\xBB\xBF".to_vec();
        with_bom.extend_from_slice(text.as_bytes());
        let (gbk, _, _) = encoding_rs::GB18030.encode(text);
        for body in [with_bom, gbk.into_owned()] {
            let grid = read_grid(SheetFormat::Csv, &body).unwrap();
            assert_eq!(grid.headers, vec!["类型", "用户名"]);
            assert_eq!(
                grid.rows,
                vec![(2, vec!["人员".to_owned(), "zhang3".to_owned()])]
            );
        }
    }

    #[test]
    fn excel_serial_dates_are_calendar_days() {
        assert_eq!(excel_day(46023.0).as_deref(), Some("2026-01-01"));
        assert_eq!(excel_day(1.5).as_deref(), Some("1899-12-31"));
        assert_eq!(excel_day(-1.0), None);
    }

    #[test]
    fn an_xlsx_written_by_the_template_reads_back_with_its_row_numbers() {
        let bytes = super::super::template_xlsx().unwrap();
        let grid = read_grid(SheetFormat::Xlsx, &bytes).unwrap();
        assert_eq!(grid.headers[0], "类型");
        assert_eq!(grid.rows[0].0, 2);
        assert_eq!(grid.rows[0].1[0], "人员");
    }
}
