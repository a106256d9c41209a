//! CSV as county offices open it (the bulletin, exports): UTF-8 with a byte-order mark, so Excel
//! and WPS read it as UTF-8 rather than guessing a legacy code page, and CRLF line ends.

/// What a CSV answer starts with.
pub const BOM: &str = "\u{feff}";

/// A CSV writer with CRLF line ends.
pub fn writer<W: std::io::Write>(out: W) -> csv::Writer<W> {
    csv::WriterBuilder::new()
        .terminator(csv::Terminator::CRLF)
        .from_writer(out)
}
