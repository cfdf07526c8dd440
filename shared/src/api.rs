//! Public API types shared by the control plane, the CLI and robots: the error shape
//! and its stable codes.

use serde::{Deserialize, Serialize};

/// Every error the API returns has this shape.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ErrorBody {
    /// A stable code scripts can match on.
    pub code: ErrorCode,
    /// What happened, for people.
    pub message: String,
    /// More about it (the field that is wrong, the allowed values, ...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub details: Option<serde_json::Value>,
}

/// The stable error codes of the API, each with its HTTP status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// The request body or a parameter is malformed or fails validation (400).
    InvalidRequest,
    /// The workflow file is not valid (422).
    InvalidWorkflow,
    /// The job's inputs do not fit the workflow (422).
    InvalidInputs,
    /// No token, or an unknown, expired or revoked one (401).
    Unauthenticated,
    /// The token's role does not allow this (403).
    Forbidden,
    /// No such object in this tenant, or no such route (404).
    NotFound,
    /// The route exists, but not with this HTTP method (405; `Allow` lists the methods).
    MethodNotAllowed,
    /// The object exists already, or its state does not allow the change (409).
    Conflict,
    /// The lease token is not the job's current one: another robot owns the job (409).
    StaleLease,
    /// The body is larger than allowed (413).
    PayloadTooLarge,
    /// The body is not of a type this endpoint takes (415).
    UnsupportedMediaType,
    /// Too many requests (429).
    RateLimited,
    /// The server failed; the details are in its log (500).
    Internal,
    /// A dependency (database, Redis) is not reachable (503).
    Unavailable,
}

impl ErrorCode {
    /// The HTTP status of this code.
    pub fn status(self) -> u16 {
        match self {
            ErrorCode::InvalidRequest => 400,
            ErrorCode::Unauthenticated => 401,
            ErrorCode::Forbidden => 403,
            ErrorCode::NotFound => 404,
            ErrorCode::MethodNotAllowed => 405,
            ErrorCode::Conflict | ErrorCode::StaleLease => 409,
            ErrorCode::PayloadTooLarge => 413,
            ErrorCode::UnsupportedMediaType => 415,
            ErrorCode::InvalidWorkflow | ErrorCode::InvalidInputs => 422,
            ErrorCode::RateLimited => 429,
            ErrorCode::Internal => 500,
            ErrorCode::Unavailable => 503,
        }
    }

    /// The code for an error status that came without one (a proxy, the HTTP layer).
    pub fn for_status(status: u16) -> ErrorCode {
        match status {
            401 => ErrorCode::Unauthenticated,
            403 => ErrorCode::Forbidden,
            404 => ErrorCode::NotFound,
            405 => ErrorCode::MethodNotAllowed,
            409 => ErrorCode::Conflict,
            413 => ErrorCode::PayloadTooLarge,
            415 => ErrorCode::UnsupportedMediaType,
            429 => ErrorCode::RateLimited,
            400..=499 => ErrorCode::InvalidRequest,
            503 => ErrorCode::Unavailable,
            _ => ErrorCode::Internal,
        }
    }
}

/// A role within a tenant; each includes the ones before it (`Viewer < Operator <
/// Admin`).
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    utoipa::ToSchema,
    strum::Display,
    strum::EnumString,
    strum::IntoStaticStr,
    strum::VariantArray,
    strum::VariantNames,
)]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum Role {
    /// Reads everything of the tenant.
    Viewer,
    /// Also starts, cancels and retries jobs, pushes workflows, sets assets.
    Operator,
    /// Also manages tokens and robots, reads the audit log.
    Admin,
}

impl Role {
    /// The name stored and shown.
    pub fn as_str(self) -> &'static str {
        self.into()
    }

    /// Parses a stored or given name.
    pub fn parse(name: &str) -> Option<Role> {
        name.parse().ok()
    }
}

/// The type of an asset.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    Serialize,
    Deserialize,
    utoipa::ToSchema,
    strum::Display,
    strum::EnumString,
    strum::IntoStaticStr,
    strum::VariantArray,
    strum::VariantNames,
)]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum AssetKind {
    /// Text.
    Text,
    /// A number.
    Number,
    /// true or false.
    Boolean,
    /// Any JSON value.
    Json,
    /// A username and a password, encrypted at rest and never shown again.
    Credential,
}

impl AssetKind {
    /// The name stored and shown.
    pub fn as_str(self) -> &'static str {
        self.into()
    }

    /// Parses a stored or given name.
    pub fn parse(name: &str) -> Option<AssetKind> {
        name.parse().ok()
    }
}

#[cfg(test)]
mod tests {
    use strum::{VariantArray, VariantNames};

    use super::*;
    use crate::protocol::JobState;

    /// The names strum gives, serde writes and the database stores are one list.
    #[test]
    fn names_round_trip_through_every_form() {
        fn check<T>(variants: &[T], names: &[&str])
        where
            T: Copy + PartialEq + std::fmt::Debug + Serialize + std::str::FromStr,
            &'static str: From<T>,
        {
            assert_eq!(variants.len(), names.len());
            for (variant, name) in variants.iter().zip(names) {
                let text: &str = (*variant).into();
                assert_eq!(text, *name);
                assert_eq!(serde_json::to_value(variant).unwrap(), *name);
                assert!(name.parse::<T>().ok() == Some(*variant));
            }
        }
        check(
            <JobState as VariantArray>::VARIANTS,
            <JobState as VariantNames>::VARIANTS,
        );
        check(
            <Role as VariantArray>::VARIANTS,
            <Role as VariantNames>::VARIANTS,
        );
        check(
            <AssetKind as VariantArray>::VARIANTS,
            <AssetKind as VariantNames>::VARIANTS,
        );
        assert_eq!(
            <JobState as VariantNames>::VARIANTS,
            [
                "pending",
                "running",
                "succeeded",
                "failed",
                "cancelled",
                "dead"
            ]
        );
        assert!(Role::Viewer < Role::Operator && Role::Operator < Role::Admin);
        assert_eq!(Role::parse("owner"), None);
    }
}
