//! Where the secrets are inside a value: a tree that follows the value's keys and list
//! indexes down to the parts computed from a secret.

use std::collections::BTreeMap;

use serde_json::Value;

/// What everything secret is shown as.
pub(crate) const MASK: &str = "***";

/// A derived secret shorter than this is masked only where its own value is shown, not
/// wherever its text appears: masking every `a` of a report would hide everything.
pub(crate) const MIN_MASKED_BY_VALUE: usize = 4;

/// Which parts of a value are secret.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) enum Taint {
    /// Nothing in it comes from a secret.
    #[default]
    Clean,
    /// All of it may hold (something computed from) a secret.
    Whole,
    /// Only these keys (list indexes written as numbers) hold secrets; never empty, and
    /// never with a `Clean` entry.
    Parts(BTreeMap<String, Taint>),
}

impl Taint {
    /// `Whole` when `secret`, else `Clean`.
    pub(crate) fn whole_if(secret: bool) -> Taint {
        if secret { Taint::Whole } else { Taint::Clean }
    }

    /// Whether nothing in the value is secret.
    pub(crate) fn is_clean(&self) -> bool {
        matches!(self, Taint::Clean)
    }

    /// The taint of the part at `path`: what is under a secret is secret; a key that is
    /// not listed is clean.
    pub(crate) fn at<S: AsRef<str>>(&self, path: &[S]) -> Taint {
        let mut node = self;
        for key in path {
            match node {
                Taint::Clean => return Taint::Clean,
                Taint::Whole => return Taint::Whole,
                Taint::Parts(parts) => match parts.get(key.as_ref()) {
                    Some(child) => node = child,
                    None => return Taint::Clean,
                },
            }
        }
        node.clone()
    }

    /// Sets the taint of the part under `key`. A part of a wholly secret value stays
    /// secret whatever is set.
    pub(crate) fn set(&mut self, key: &str, taint: Taint) {
        match self {
            Taint::Whole => {}
            Taint::Clean if taint.is_clean() => {}
            Taint::Clean => *self = Taint::Parts(BTreeMap::from([(key.to_owned(), taint)])),
            Taint::Parts(parts) => {
                if taint.is_clean() {
                    parts.remove(key);
                    if parts.is_empty() {
                        *self = Taint::Clean;
                    }
                } else {
                    parts.insert(key.to_owned(), taint);
                }
            }
        }
    }

    /// A taint with `taint` under `key` and nothing else.
    pub(crate) fn under(key: &str, taint: Taint) -> Taint {
        let mut out = Taint::Clean;
        out.set(key, taint);
        out
    }

    /// The value with every secret part replaced by the mask.
    pub(crate) fn mask(&self, value: &Value) -> Value {
        match (self, value) {
            (Taint::Clean, value) => value.clone(),
            (Taint::Whole, _) => Value::String(MASK.to_owned()),
            (Taint::Parts(_), Value::Object(map)) => Value::Object(
                map.iter()
                    .map(|(k, v)| (k.clone(), self.at(&[k]).mask(v)))
                    .collect(),
            ),
            (Taint::Parts(_), Value::Array(items)) => Value::Array(
                items
                    .iter()
                    .enumerate()
                    .map(|(i, v)| self.at(&[i.to_string()]).mask(v))
                    .collect(),
            ),
            // Parts of a value that has no parts: nothing to keep.
            (Taint::Parts(_), _) => Value::String(MASK.to_owned()),
        }
    }

    /// The texts in the secret parts of `value` long enough to be masked wherever they
    /// appear.
    pub(crate) fn secret_texts(&self, value: &Value, out: &mut Vec<String>) {
        match (self, value) {
            (Taint::Clean, _) => {}
            (Taint::Whole, Value::String(text)) => {
                if text.chars().count() >= MIN_MASKED_BY_VALUE {
                    out.push(text.clone());
                }
            }
            (Taint::Whole, Value::Array(items)) => {
                items.iter().for_each(|v| Taint::Whole.secret_texts(v, out));
            }
            (Taint::Whole, Value::Object(map)) => {
                map.values().for_each(|v| Taint::Whole.secret_texts(v, out));
            }
            (Taint::Whole, _) => {}
            (Taint::Parts(_), Value::Object(map)) => {
                for (k, v) in map {
                    self.at(&[k]).secret_texts(v, out);
                }
            }
            (Taint::Parts(_), Value::Array(items)) => {
                for (i, v) in items.iter().enumerate() {
                    self.at(&[i.to_string()]).secret_texts(v, out);
                }
            }
            (Taint::Parts(_), other) => Taint::Whole.secret_texts(other, out),
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn parts_follow_keys_and_indexes() {
        let mut taint = Taint::Clean;
        taint.set("password", Taint::Whole);
        let value = json!({"username": "bob", "password": "hunter22"});
        assert_eq!(
            taint.mask(&value),
            json!({"username": "bob", "password": "***"})
        );
        assert_eq!(taint.at(&["password", "x"]), Taint::Whole);
        assert_eq!(taint.at(&["username"]), Taint::Clean);
        let list = Taint::under("1", Taint::Whole);
        assert_eq!(list.mask(&json!(["a", "b", "c"])), json!(["a", "***", "c"]));
        taint.set("password", Taint::Clean);
        assert!(taint.is_clean());
    }

    #[test]
    fn a_whole_secret_stays_whole() {
        let mut taint = Taint::Whole;
        taint.set("x", Taint::Clean);
        assert_eq!(taint, Taint::Whole);
        assert_eq!(taint.mask(&json!({"x": 1})), json!("***"));
    }

    #[test]
    fn only_long_enough_texts_are_masked_by_value() {
        let mut out = Vec::new();
        Taint::Whole.secret_texts(&json!(["abc", "abcd", 12345, {"k": "longer"}]), &mut out);
        assert_eq!(out, ["abcd", "longer"]);
    }
}
