//! `csv.read`, `csv.write`, `json.parse`.

use alq_shared::workflow::{CsvReadArgs, CsvWriteArgs, JsonParseArgs};

use super::{ActionCtx, ActionError, ActionResult};

/// `csv.read`: rows as objects keyed by the header.
pub async fn csv_read(_args: &CsvReadArgs, _ctx: &ActionCtx<'_>) -> ActionResult {
    Err(ActionError::app("not built yet"))
}

/// `csv.write`.
pub async fn csv_write(_args: &CsvWriteArgs, _ctx: &ActionCtx<'_>) -> ActionResult {
    Err(ActionError::app("not built yet"))
}

/// `json.parse`.
pub fn json_parse(args: &JsonParseArgs) -> ActionResult {
    serde_json::from_str(args.text.as_str())
        .map_err(|e| ActionError::app(format!("not valid JSON: {e}")))
}
