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
mod source;
mod status;
mod step;
mod validate;

pub use actions::*;
pub use error::{LocatedProblem, Problem, WorkflowError};
pub use expr::{EXPRESSION_ROOTS, environment, exact_expression, referenced_assets};
pub use inputs::{InputProblem, resolve_inputs};
pub use load::{Guard, LoadedWorkflow, load, load_guarded, load_in, load_str, load_str_guarded};
pub use model::*;
pub use parse::parse;
pub use schema::json_schema;
pub use source::{MAX_WORKFLOW_BYTES, SourceError, check_regular, read_source, strip_bom};
pub use status::{ExpectStatus, StatusRange};
pub use step::{COMMON_FIELDS, Step, StepCommon};
pub use validate::{is_identifier, validate};
