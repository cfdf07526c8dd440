//! TEXT columns that hold a name (a job state, a role, an asset type) or JSON (labels,
//! inputs, outputs), read into typed fields by `#[derive(sqlx::FromRow)]` with
//! `#[sqlx(try_from = "Text")]`.
//!
//! Both backends keep these as TEXT so one query text serves both; sqlx's own
//! `Json<T>` only reads PostgreSQL's `json`/`jsonb` columns, hence this small type.

use serde_json::{Map, Value};
use sqlx::Database;
use sqlx::error::BoxDynError;

use alq_shared::api::{AssetKind, Role};
use alq_shared::protocol::JobState;

/// A TEXT column as stored, `None` for NULL.
pub struct Text(Option<String>);

impl<DB: Database> sqlx::Type<DB> for Text
where
    String: sqlx::Type<DB>,
{
    fn type_info() -> DB::TypeInfo {
        <String as sqlx::Type<DB>>::type_info()
    }

    fn compatible(ty: &DB::TypeInfo) -> bool {
        <String as sqlx::Type<DB>>::compatible(ty)
    }
}

impl<'r, DB: Database> sqlx::Decode<'r, DB> for Text
where
    Option<String>: sqlx::Decode<'r, DB>,
{
    fn decode(value: <DB as Database>::ValueRef<'r>) -> Result<Self, BoxDynError> {
        <Option<String> as sqlx::Decode<'r, DB>>::decode(value).map(Text)
    }
}

impl Text {
    fn required(self) -> Result<String, String> {
        self.0
            .ok_or_else(|| "NULL where a value is required".to_owned())
    }

    fn json<T: serde::de::DeserializeOwned>(self) -> Result<T, String> {
        let text = self.0.unwrap_or_else(|| "null".to_owned());
        serde_json::from_str(&text).map_err(|e| format!("not the JSON expected: {e}"))
    }
}

/// Names kept as text: parsed by the one list of names each enum has.
macro_rules! named {
    ($($kind:ty),* $(,)?) => {
        $(
            impl TryFrom<Text> for $kind {
                type Error = String;

                fn try_from(text: Text) -> Result<Self, String> {
                    let name = text.required()?;
                    name.parse()
                        .map_err(|_| format!("unknown {} `{name}`", stringify!($kind)))
                }
            }

            impl TryFrom<Text> for Option<$kind> {
                type Error = String;

                fn try_from(text: Text) -> Result<Self, String> {
                    match text.0 {
                        None => Ok(None),
                        some => <$kind>::try_from(Text(some)).map(Some),
                    }
                }
            }
        )*
    };
}

named!(JobState, Role, AssetKind, super::tokens::TokenKind);

/// JSON kept as text.
macro_rules! json {
    ($($kind:ty),* $(,)?) => {
        $(
            impl TryFrom<Text> for $kind {
                type Error = String;

                fn try_from(text: Text) -> Result<Self, String> {
                    text.json()
                }
            }
        )*
    };
}

json!(
    Vec<String>,
    Option<Vec<String>>,
    Map<String, Value>,
    Value,
    Option<Value>,
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_json_decode_or_say_what_is_wrong() {
        let text = |s: Option<&str>| Text(s.map(str::to_owned));
        assert_eq!(JobState::try_from(text(Some("dead"))), Ok(JobState::Dead));
        assert!(
            JobState::try_from(text(Some("lost")))
                .unwrap_err()
                .contains("unknown JobState `lost`")
        );
        assert!(JobState::try_from(text(None)).is_err());
        assert_eq!(Option::<Role>::try_from(text(None)), Ok(None));
        assert_eq!(
            Option::<Role>::try_from(text(Some("admin"))),
            Ok(Some(Role::Admin))
        );
        assert_eq!(
            Vec::<String>::try_from(text(Some(r#"["a","b"]"#))),
            Ok(vec!["a".to_owned(), "b".to_owned()])
        );
        assert!(Vec::<String>::try_from(text(Some("{"))).is_err());
        assert_eq!(Option::<Value>::try_from(text(None)), Ok(None));
        assert_eq!(Value::try_from(text(None)), Ok(Value::Null));
    }
}
