//! `expect_status` of `browser.open` and `browser.goto`: the HTTP statuses a page may
//! answer with, as a number (`200`), a class (`"2xx"`), a range (`"200-299"`) or a list of
//! these.

use std::borrow::Cow;
use std::fmt;
use std::str::FromStr;

use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::Value;

use super::error::nested_message;
use super::{OneOrMany, Param, json_type_name};

/// The lowest and highest HTTP status codes.
const STATUS_CODES: std::ops::RangeInclusive<u16> = 100..=599;

/// The statuses a navigation may end with; any other fails the step.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
#[serde(transparent)]
pub struct ExpectStatus(pub OneOrMany<Param<StatusRange>>);

impl<'de> Deserialize<'de> for ExpectStatus {
    /// By hand: a derived untagged enum would replace every message with "did not match
    /// any variant".
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        fn item(value: Value) -> Result<Param<StatusRange>, String> {
            match value {
                Value::String(text) => Ok(Param::Expr(text)),
                other => StatusRange::from_value(&other).map(Param::Value),
            }
        }
        Ok(ExpectStatus(match Value::deserialize(deserializer)? {
            Value::Array(items) => OneOrMany::Many(
                items
                    .into_iter()
                    .enumerate()
                    .map(|(i, value)| {
                        item(value).map_err(|e| {
                            serde::de::Error::custom(nested_message(&format!("[{i}]"), &e))
                        })
                    })
                    .collect::<Result<_, D::Error>>()?,
            ),
            value => OneOrMany::One(item(value).map_err(serde::de::Error::custom)?),
        }))
    }
}

impl ExpectStatus {
    /// The ranges; an error names the first text that is not a status, class or range.
    pub fn ranges(&self) -> Result<Vec<StatusRange>, String> {
        self.0
            .as_slice()
            .iter()
            .map(|item| match item {
                Param::Value(range) => Ok(*range),
                Param::Expr(text) => text.parse(),
            })
            .collect()
    }

    /// Whether `status` is one of the expected ones.
    pub fn allows(&self, status: u16) -> Result<bool, String> {
        Ok(self.ranges()?.iter().any(|r| r.contains(status)))
    }

    /// The problems `alq validate` reports: texts that are neither a status nor an
    /// expression, and an empty list. Each comes with the field path below `expect_status`.
    pub fn problems(&self) -> Vec<(String, String)> {
        let items = self.0.as_slice();
        if items.is_empty() {
            return vec![(String::new(), "needs at least one status".to_owned())];
        }
        let many = matches!(self.0, OneOrMany::Many(_));
        items
            .iter()
            .enumerate()
            .filter_map(|(i, item)| match item {
                Param::Expr(text) if !text.contains("{{") => {
                    let error = text.parse::<StatusRange>().err()?;
                    Some((
                        if many {
                            format!("[{i}]")
                        } else {
                            String::new()
                        },
                        error,
                    ))
                }
                _ => None,
            })
            .collect()
    }
}

impl fmt::Display for ExpectStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let items: Vec<String> = self
            .0
            .as_slice()
            .iter()
            .map(|item| match item {
                Param::Value(range) => range.to_string(),
                Param::Expr(text) => text.trim().to_owned(),
            })
            .collect();
        f.write_str(&items.join(", "))
    }
}

/// HTTP status codes from `low` to `high`, both included.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StatusRange {
    /// The lowest status of the range.
    pub low: u16,
    /// The highest status of the range.
    pub high: u16,
}

impl StatusRange {
    /// Whether `status` lies in the range.
    pub fn contains(&self, status: u16) -> bool {
        (self.low..=self.high).contains(&status)
    }
}

impl fmt::Display for StatusRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.low == self.high {
            write!(f, "{}", self.low)
        } else if self.low.is_multiple_of(100) && self.high == self.low + 99 {
            write!(f, "{}xx", self.low / 100)
        } else {
            write!(f, "{}-{}", self.low, self.high)
        }
    }
}

/// A single status code, checked against the range HTTP defines.
fn status_code(text: &str) -> Option<u16> {
    let code: u16 = text.trim().parse().ok()?;
    STATUS_CODES.contains(&code).then_some(code)
}

impl FromStr for StatusRange {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let bad = || {
            format!(
                "`{text}` is not an HTTP status (100 to 599), a class like `2xx` or a range like \
                 `200-299`"
            )
        };
        let trimmed = text.trim();
        if let Some(class) = trimmed
            .strip_suffix("xx")
            .or_else(|| trimmed.strip_suffix("XX"))
        {
            let low = status_code(&format!("{class}00")).ok_or_else(bad)?;
            return Ok(StatusRange {
                low,
                high: low + 99,
            });
        }
        if let Some((low, high)) = trimmed.split_once('-') {
            let (low, high) = (
                status_code(low).ok_or_else(bad)?,
                status_code(high).ok_or_else(bad)?,
            );
            if low > high {
                return Err(format!("`{text}` is a range whose start is above its end"));
            }
            return Ok(StatusRange { low, high });
        }
        let code = status_code(trimmed).ok_or_else(bad)?;
        Ok(StatusRange {
            low: code,
            high: code,
        })
    }
}

impl Serialize for StatusRange {
    /// A single status as a number, anything else as its text, so it reads back the same.
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        if self.low == self.high {
            serializer.serialize_u16(self.low)
        } else {
            serializer.serialize_str(&self.to_string())
        }
    }
}

impl StatusRange {
    /// A range from JSON: a number or a text.
    fn from_value(value: &Value) -> Result<StatusRange, String> {
        match value {
            Value::String(text) => text.parse(),
            Value::Number(n) => n.to_string().parse(),
            other => Err(format!(
                "invalid type: {}, expected an HTTP status like 200, \"2xx\" or \"200-299\"",
                json_type_name(other)
            )),
        }
    }
}

impl<'de> Deserialize<'de> for StatusRange {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        StatusRange::from_value(&Value::deserialize(deserializer)?)
            .map_err(serde::de::Error::custom)
    }
}

impl JsonSchema for StatusRange {
    fn schema_name() -> Cow<'static, str> {
        "StatusRange".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "description": "An HTTP status (a number from 100 to 599); a class like \"2xx\" or a range like \"200-299\" is given as a string.",
            "type": "integer",
            "minimum": 100,
            "maximum": 599
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn expect(json: Value) -> Result<ExpectStatus, serde_json::Error> {
        serde_json::from_value(json)
    }

    #[test]
    fn numbers_classes_ranges_and_lists_are_understood() {
        let e = expect(serde_json::json!([200, "3xx", "404-410"])).unwrap();
        for (status, allowed) in [
            (200, true),
            (201, false),
            (302, true),
            (404, true),
            (410, true),
            (411, false),
            (500, false),
        ] {
            assert_eq!(e.allows(status), Ok(allowed), "{status}");
        }
        assert!(e.problems().is_empty());
        assert_eq!(e.to_string(), "200, 3xx, 404-410");
        assert!(
            expect(serde_json::json!("2xx"))
                .unwrap()
                .allows(204)
                .unwrap()
        );
    }

    #[test]
    fn a_round_trip_through_json_keeps_the_meaning() {
        let e = expect(serde_json::json!(["2xx", 404])).unwrap();
        let again = expect(serde_json::to_value(&e).unwrap()).unwrap();
        assert_eq!(again.ranges(), e.ranges());
    }

    #[test]
    fn bad_values_are_refused_with_what_is_wrong() {
        let err = expect(serde_json::json!(999)).unwrap_err().to_string();
        assert!(err.contains("`999` is not an HTTP status"), "{err}");
        assert!(expect(serde_json::json!(true)).is_err());
        assert!(expect(serde_json::json!({"a": 1})).is_err());
        let e = expect(serde_json::json!([
            "2xx",
            "abc",
            "300-200",
            "6xx",
            "{{ inputs.s }}"
        ]))
        .unwrap();
        let problems = e.problems();
        assert_eq!(
            problems.iter().map(|(p, _)| p.as_str()).collect::<Vec<_>>(),
            ["[1]", "[2]", "[3]"]
        );
        assert!(problems[1].1.contains("start is above its end"));
        assert_eq!(expect(serde_json::json!([])).unwrap().problems().len(), 1);
        assert!(
            e.allows(200).is_err(),
            "an unparsed text is an error at run time"
        );
    }
}
