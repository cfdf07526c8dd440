//! Printing API answers: JSON for scripts, aligned tables and `key: value` lists for people.
//!
//! Hand-written rather than a table crate: plain space-aligned columns need no terminal
//! handling and stay greppable and `cut`-able.

use serde_json::Value;

/// One column: its header and the path of the field it shows (`workflow.name`).
pub type Column = (&'static str, &'static str);

/// Pretty JSON on standard output.
pub fn json(value: &Value) {
    match serde_json::to_string_pretty(value) {
        Ok(text) => println!("{text}"),
        Err(e) => eprintln!("error: cannot print JSON: {e}"),
    }
}

/// Compact JSON on one line of standard output (a stream of records, NDJSON).
pub fn json_line(value: &Value) {
    println!("{value}");
}

/// The objects of a list answer: a JSON array, or an object with `items`.
pub fn items(value: &Value) -> &[Value] {
    match value {
        Value::Array(items) => items,
        Value::Object(map) => match map.get("items") {
            Some(Value::Array(items)) => items,
            _ => &[],
        },
        _ => &[],
    }
}

/// A list as JSON (`--json`) or as a table with these columns.
pub fn list(as_json: bool, value: &Value, columns: &[Column]) {
    if as_json {
        json(value);
    } else {
        table(items(value), columns);
    }
}

/// An aligned table with a header row; `(none)` for an empty list.
pub fn table(rows: &[Value], columns: &[Column]) {
    print!("{}", render_table(rows, columns));
}

fn render_table(rows: &[Value], columns: &[Column]) -> String {
    let cells: Vec<Vec<String>> = rows
        .iter()
        .map(|row| columns.iter().map(|(_, path)| cell(row, path)).collect())
        .collect();
    let mut widths: Vec<usize> = columns.iter().map(|(h, _)| h.chars().count()).collect();
    for row in &cells {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    let headers: Vec<String> = columns.iter().map(|(h, _)| (*h).to_owned()).collect();
    for row in std::iter::once(&headers).chain(&cells) {
        let mut line = String::new();
        for (i, (cell, width)) in row.iter().zip(&widths).enumerate() {
            if i > 0 {
                line.push_str("  ");
            }
            line.push_str(cell);
            line.extend(std::iter::repeat_n(' ', width - cell.chars().count()));
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    if rows.is_empty() {
        out.push_str("(none)\n");
    }
    out
}

/// One object as JSON (`--json`) or as `key: value` lines.
pub fn record(as_json: bool, value: &Value) {
    if as_json {
        json(value);
        return;
    }
    let Value::Object(map) = value else {
        println!("{}", text(value, ""));
        return;
    };
    let width = map.keys().map(|k| k.chars().count()).max().unwrap_or(0);
    for (key, field) in map {
        println!("{key:width$}  {}", text(field, key));
    }
}

/// The field at `path` (dots separate levels) of `row`, as table text.
pub fn cell(row: &Value, path: &str) -> String {
    let mut value = row;
    for part in path.split('.') {
        match value.get(part) {
            Some(inner) => value = inner,
            None => return "-".into(),
        }
    }
    text(value, path)
}

/// Whether a field holds a time: `*_at`, `at`, `run_after`.
fn is_time(key: &str) -> bool {
    key.ends_with("_at") || key == "at" || key == "run_after"
}

/// A time as the local time zone shows it.
fn local(time: chrono::DateTime<chrono::Utc>) -> String {
    time.with_timezone(&chrono::Local)
        .format("%Y-%m-%d %H:%M:%S")
        .to_string()
}

/// A value as text: strings bare, lists joined with commas, times (Unix milliseconds or
/// RFC 3339, as the API gives them) as local times, objects as compact JSON.
pub fn text(value: &Value, key: &str) -> String {
    match value {
        Value::Null => "-".into(),
        Value::String(s) if is_time(key) => chrono::DateTime::parse_from_rfc3339(s)
            .map(|t| local(t.to_utc()))
            .unwrap_or_else(|_| s.clone()),
        Value::String(s) => s.clone(),
        Value::Number(n) if is_time(key) => n
            .as_i64()
            .and_then(chrono::DateTime::from_timestamp_millis)
            .map(local)
            .unwrap_or_else(|| n.to_string()),
        Value::Array(items) if items.iter().all(|i| !i.is_object() && !i.is_array()) => {
            if items.is_empty() {
                "-".into()
            } else {
                items
                    .iter()
                    .map(|i| text(i, ""))
                    .collect::<Vec<_>>()
                    .join(",")
            }
        }
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn tables_align_columns_and_reach_into_objects() {
        let rows = vec![
            json!({"id": "j1", "workflow": {"name": "invoices"}, "labels": ["a", "b"]}),
            json!({"id": "job-22", "workflow": {"name": "x"}, "labels": []}),
        ];
        let text = render_table(
            &rows,
            &[
                ("ID", "id"),
                ("WORKFLOW", "workflow.name"),
                ("LABELS", "labels"),
            ],
        );
        assert_eq!(
            text,
            "ID      WORKFLOW  LABELS\nj1      invoices  a,b\njob-22  x         -\n"
        );
        assert_eq!(render_table(&[], &[("ID", "id")]), "ID\n(none)\n");
    }

    #[test]
    fn times_read_the_same_from_milliseconds_and_rfc_3339() {
        let ms = json!(1_767_225_600_000_i64);
        let rfc = json!("2026-01-01T00:00:00+00:00");
        let shown = text(&ms, "created_at");
        assert_eq!(shown, text(&rfc, "created_at"));
        assert_eq!(shown, text(&rfc, "at"));
        assert_eq!(shown.len(), "2026-01-01 00:00:00".len());
        assert_eq!(text(&rfc, "name"), "2026-01-01T00:00:00+00:00");
        assert_eq!(text(&json!("soon"), "run_after"), "soon");
    }
}
