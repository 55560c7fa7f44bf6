//! Verify: describe the definition and list its tags, and compare them with what the step
//! expects (step 8 of the staged recreate, and the rollback's look at the restored original).

use super::Job;
use crate::apply::ops::{comparable, holds};
use crate::request::is_reserved_tag;
use crate::sagemaker::{AwsError, Tag};
use serde_json::Value;
use std::collections::BTreeSet;

impl Job<'_> {
    /// Describes the definition and its tags and compares them with what is expected.
    /// `Some(difference)` when they differ.
    pub(super) async fn verify(
        &self,
        expected: &Value,
        tags: &[Tag],
    ) -> Result<Option<String>, AwsError> {
        let Some((live, live_tags)) = self
            .ops()
            .find_with_tags(self.name(), &self.snapshot.arn)
            .await?
        else {
            return Ok(Some("the definition does not exist".to_owned()));
        };
        if !holds(&live, expected) {
            return Ok(Some(describe_difference(&live, expected)));
        }
        let live_tags: BTreeSet<Tag> = live_tags.into_iter().collect();
        let expected: BTreeSet<Tag> = tags
            .iter()
            .filter(|t| !is_reserved_tag(t))
            .cloned()
            .collect();
        // The create sets every tag it carries or fails, so a tag beyond them was added by
        // someone since: theirs to keep. A missing or changed one is a difference.
        if !live_tags.is_superset(&expected) {
            return Ok(Some(format!(
                "tags differ: expected {:?}, found {:?}",
                expected.iter().map(|t| &t.key).collect::<Vec<_>>(),
                live_tags.iter().map(|t| &t.key).collect::<Vec<_>>()
            )));
        }
        Ok(None)
    }
}

/// A short description of how a live definition differs from the request.
fn describe_difference(live: &Value, request: &Value) -> String {
    let live = comparable(live);
    let wanted = comparable(request);
    let (Value::Object(live), Value::Object(wanted)) = (&live, &wanted) else {
        return "the definition is not a JSON object".to_owned();
    };
    let mut differing: Vec<&str> = wanted
        .iter()
        .filter(|(k, v)| live.get(*k) != Some(v))
        .map(|(k, _)| k.as_str())
        .collect();
    differing.extend(
        live.keys()
            .filter(|k| !wanted.contains_key(*k))
            .map(String::as_str),
    );
    format!("members differ from the snapshot: {}", differing.join(", "))
}
