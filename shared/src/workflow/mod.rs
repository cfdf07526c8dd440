//! The workflow language: the file format of `workflow.json`, its strict parser, its
//! validation and its JSON Schema.

mod actions;
mod check;
mod error;
mod expr;
mod inputs;
mod load;
mod locate;
mod model;
mod parse;
mod schema;
mod status;
mod step;
mod validate;

pub use actions::*;
pub use error::{LocatedProblem, Problem, WorkflowError};
pub use expr::{EXPRESSION_ROOTS, environment, exact_expression, referenced_assets};
pub use inputs::{InputProblem, resolve_inputs};
pub use load::{LoadedWorkflow, load, load_in, load_str};
pub use model::*;
pub use parse::parse;
pub use schema::json_schema;
pub use status::{ExpectStatus, StatusRange};
pub use step::{COMMON_FIELDS, Step, StepCommon};
pub use validate::{is_identifier, validate};
