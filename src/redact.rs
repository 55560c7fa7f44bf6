//! Hiding `Environment` values: container environments routinely carry credentials, and plans
//! end up in tickets. The plan file always holds the redacted views; `render` redacts every
//! rendering unless `--show-secrets` asks otherwise (text diffs only).

use serde_json::Value;

pub const REDACTED: &str = "(redacted)";

/// A copy of `value` with every `Environment` map's values replaced.
pub fn redact(value: &Value) -> Value {
    match value {
        Value::Object(members) => Value::Object(
            members
                .iter()
                .map(|(key, member)| {
                    let rendered = match member {
                        Value::Object(environment) if key == "Environment" => Value::Object(
                            environment
                                .keys()
                                .map(|k| (k.clone(), Value::String(REDACTED.to_owned())))
                                .collect(),
                        ),
                        other => redact(other),
                    };
                    (key.clone(), rendered)
                })
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(redact).collect()),
        other => other.clone(),
    }
}

/// `value` as a person sees it: redacted unless they asked to see secrets.
pub fn shown(value: &Value, show_secrets: bool) -> Value {
    if show_secrets {
        value.clone()
    } else {
        redact(value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn environment_values_are_redacted_at_any_depth() {
        let value = json!({
            "DataQualityAppSpecification": {"ImageUri": "x", "Environment": {"DB_PASSWORD": "hunter2", "MODE": "fast"}},
            "List": [{"Environment": {"K": "secret"}}],
            "Environment": "not a map stays",
        });
        let redacted = redact(&value);
        assert_eq!(
            redacted["DataQualityAppSpecification"]["Environment"],
            json!({"DB_PASSWORD": REDACTED, "MODE": REDACTED})
        );
        assert_eq!(redacted["List"][0]["Environment"]["K"], json!(REDACTED));
        assert_eq!(redacted["Environment"], json!("not a map stays"));
        assert!(!redacted.to_string().contains("hunter2"));
    }
}
