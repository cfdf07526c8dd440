//! The JSON Schema of workflow files, generated from the types (`alq schema`).

use std::borrow::Cow;

use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use serde_json::{Map, Value};

use super::{Action, Step, StepCommon, Workflow};

/// The JSON Schema of a workflow file.
pub fn json_schema() -> Value {
    let schema = schemars::schema_for!(Workflow);
    schema.to_value()
}

impl JsonSchema for Step {
    fn schema_name() -> Cow<'static, str> {
        "Step".into()
    }

    fn json_schema(generator: &mut SchemaGenerator) -> Schema {
        // Each action becomes one object schema holding the common fields, its own
        // fields and a constant `action`, so editors can check and complete both.
        let common = StepCommon::json_schema(generator);
        let common = inline_object(generator, common);
        let variants: Vec<Value> = Action::schemas(generator)
            .into_iter()
            .map(|(name, args)| {
                let args = inline_object(generator, args);
                let mut properties = Map::new();
                properties.insert("action".into(), serde_json::json!({ "const": name }));
                properties.extend(props(&common));
                properties.extend(props(&args));
                let mut required = vec![Value::String("action".into())];
                required.extend(
                    args.get("required")
                        .and_then(Value::as_array)
                        .cloned()
                        .unwrap_or_default(),
                );
                serde_json::json!({
                    "type": "object",
                    "title": name,
                    "description": args.get("description").cloned().unwrap_or(Value::Null),
                    "properties": properties,
                    "required": required,
                    "additionalProperties": false,
                })
            })
            .collect();
        json_schema!({ "oneOf": variants })
    }
}

/// The object schema behind a schema that may be a `$ref` into the definitions.
fn inline_object(generator: &mut SchemaGenerator, schema: Schema) -> Map<String, Value> {
    let value = schema.to_value();
    if let Some(reference) = value.get("$ref").and_then(Value::as_str) {
        let name = reference.rsplit('/').next().unwrap_or_default();
        if let Some(Value::Object(def)) = generator.definitions().get(name) {
            return def.clone();
        }
    }
    match value {
        Value::Object(map) => map,
        _ => Map::new(),
    }
}

fn props(object: &Map<String, Value>) -> Map<String, Value> {
    object
        .get("properties")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default()
}
