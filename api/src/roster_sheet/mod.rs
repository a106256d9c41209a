//! Roster spreadsheets as files (docs/roster.md): reading an uploaded CSV or XLSX into the grid
//! of cells the domain types, and writing the template offices fill in.

mod read;
mod template;

pub use read::{read_grid, SheetFormat, XLSX_TYPE};
pub use template::{template_csv, template_xlsx};
