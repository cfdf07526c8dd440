//! `csv.read`, `csv.write`, `json.parse`.

use std::path::Path;

use alq_shared::workflow::{CsvReadArgs, CsvWriteArgs, JsonParseArgs, json_type_name};
use serde_json::{Map, Value};

use super::file::{create_parent, io_error, read_regular};
use super::{Access, ActionCtx, ActionError, ActionResult};

/// `csv.read`: rows as objects keyed by the header, or as lists without a header.
/// Every value is a string.
pub async fn csv_read(args: &CsvReadArgs, ctx: &ActionCtx<'_>) -> ActionResult {
    let path = ctx.path("csv.read", args.path.as_str(), Access::Read)?;
    let delimiter = delimiter_byte("csv.read", args.delimiter)?;
    let bytes = read_regular("csv.read", &path).await?;
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .has_headers(args.header)
        .from_reader(bytes.as_slice());

    let header: Option<Vec<String>> = if args.header {
        let record = reader.headers().map_err(|e| csv_error(&path, &e))?;
        Some(record.iter().map(str::to_owned).collect())
    } else {
        None
    };
    let mut rows = Vec::new();
    for record in reader.records() {
        let record = record.map_err(|e| csv_error(&path, &e))?;
        let row = match &header {
            Some(names) => Value::Object(
                names
                    .iter()
                    .zip(record.iter())
                    .map(|(name, cell)| (name.clone(), Value::String(cell.to_owned())))
                    .collect::<Map<_, _>>(),
            ),
            None => Value::Array(record.iter().map(|c| Value::String(c.to_owned())).collect()),
        };
        rows.push(row);
    }
    Ok(Value::Array(rows))
}

/// `csv.write`: rows are objects (columns from `columns` or the first row's keys; missing
/// cells stay empty) or lists. Strings are written as they are, other values as JSON.
/// Output the file's path.
pub async fn csv_write(args: &CsvWriteArgs, ctx: &ActionCtx<'_>) -> ActionResult {
    let path = ctx.path("csv.write", args.path.as_str(), Access::Write)?;
    let delimiter = delimiter_byte("csv.write", args.delimiter)?;
    let Value::Array(rows) = &args.rows else {
        return Err(ActionError::app(format!(
            "csv.write {}: `rows` is {}, not a list; give a list of objects or of lists",
            path.display(),
            json_type_name(&args.rows)
        )));
    };
    let mut writer = csv::WriterBuilder::new()
        .delimiter(delimiter)
        .flexible(true)
        .from_writer(Vec::new());
    let write_error = |e: csv::Error| {
        ActionError::app(format!(
            "csv.write {}: could not format the rows: {e}",
            path.display()
        ))
    };

    let objects = matches!(rows.first(), Some(Value::Object(_)));
    if objects {
        let columns: Vec<String> = match (&args.columns, rows.first()) {
            (Some(columns), _) => columns.clone(),
            (None, Some(Value::Object(first))) => first.keys().cloned().collect(),
            _ => Vec::new(),
        };
        writer.write_record(&columns).map_err(write_error)?;
        for (index, row) in rows.iter().enumerate() {
            let Value::Object(row) = row else {
                return Err(mixed_rows(&path, index, row, "an object"));
            };
            let cells = columns
                .iter()
                .map(|c| row.get(c).map(cell).unwrap_or_default());
            writer.write_record(cells).map_err(write_error)?;
        }
    } else {
        if let Some(columns) = &args.columns {
            writer.write_record(columns).map_err(write_error)?;
        }
        for (index, row) in rows.iter().enumerate() {
            let Value::Array(row) = row else {
                return Err(mixed_rows(&path, index, row, "a list"));
            };
            writer
                .write_record(row.iter().map(cell))
                .map_err(write_error)?;
        }
    }
    let bytes = writer.into_inner().map_err(|e| {
        ActionError::app(format!(
            "csv.write {}: could not format the rows: {e}",
            path.display()
        ))
    })?;

    create_parent("csv.write", &path).await?;
    tokio::fs::write(&path, bytes)
        .await
        .map_err(|e| io_error("csv.write", &path, &e))?;
    let absolute = std::path::absolute(&path).unwrap_or(path);
    Ok(Value::String(absolute.display().to_string()))
}

/// `json.parse`: the value the JSON text holds.
pub fn json_parse(args: &JsonParseArgs) -> ActionResult {
    let text = args.text.as_str();
    serde_json::from_str(text).map_err(|e| {
        let start: String = text.chars().take(60).collect();
        let more = if text.chars().count() > 60 { "..." } else { "" };
        ActionError::app(format!(
            "json.parse: the text is not valid JSON: {e}; the text starts with {start:?}{more}; \
             check the step or file that produced it"
        ))
    })
}

/// A cell: strings as they are, null as empty, anything else as its JSON text.
fn cell(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

fn delimiter_byte(action: &str, delimiter: char) -> Result<u8, ActionError> {
    u8::try_from(delimiter)
        .ok()
        .filter(u8::is_ascii)
        .ok_or_else(|| {
            ActionError::app(format!(
                "{action}: the delimiter {delimiter:?} is not a single ASCII character; use e.g. \
             `,`, `;` or a tab"
            ))
        })
}

fn csv_error(path: &Path, error: &csv::Error) -> ActionError {
    let line = error
        .position()
        .map(|p| format!(" at line {}", p.line()))
        .unwrap_or_default();
    let detail = match error.kind() {
        csv::ErrorKind::UnequalLengths {
            expected_len, len, ..
        } => {
            format!("the row has {len} fields but the earlier rows have {expected_len}")
        }
        csv::ErrorKind::Utf8 { err, .. } => format!("the text is not UTF-8 ({err})"),
        _ => error.to_string(),
    };
    ActionError::app(format!(
        "csv.read: {} is not valid CSV{line}: {detail}; check the file and the delimiter",
        path.display()
    ))
}

fn mixed_rows(path: &Path, index: usize, row: &Value, expected: &str) -> ActionError {
    if index == 0 {
        return ActionError::app(format!(
            "csv.write {}: rows[0] is {}; each row must be an object or a list",
            path.display(),
            json_type_name(row)
        ));
    }
    ActionError::app(format!(
        "csv.write {}: rows[{index}] is {} but rows[0] is {expected}; all rows must be objects \
         or all lists",
        path.display(),
        json_type_name(row)
    ))
}
