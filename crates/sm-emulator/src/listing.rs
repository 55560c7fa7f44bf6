//! Pagination and sorting shared by the List operations.
//!
//! A `NextToken` is stateless: the offset of the next item plus a fingerprint of the query, so a
//! token is only accepted with the filters that produced it (AWS answers `ValidationException` to
//! a token it did not issue for the query, and so do we).

use std::cmp::Ordering;
use std::collections::BTreeMap;

use serde_json::Value;
use sha2::{Digest, Sha256};

use super::protocol::{ApiError, Members};
use super::validation::Violations;

/// The page a List call asked for.
pub(crate) struct PageRequest {
    offset: usize,
    limit: usize,
    fingerprint: String,
}

/// The bounds of `MaxResults` for one operation.
pub(crate) struct PageLimits {
    pub default: i64,
    pub min: i64,
    pub max: Option<i64>,
}

/// The definition and schedule List operations: 10 by default, 1–100.
pub(crate) const LIST_LIMITS: PageLimits = PageLimits {
    default: 10,
    min: 1,
    max: Some(100),
};

/// `ListTags`: 50 by default, at least 50.
pub(crate) const TAG_LIMITS: PageLimits = PageLimits {
    default: 50,
    min: 50,
    max: None,
};

impl PageRequest {
    pub(crate) fn parse(
        operation: &str,
        body: Members<'_>,
        limits: &PageLimits,
    ) -> Result<PageRequest, ApiError> {
        let limit = body.integer("MaxResults")?.unwrap_or(limits.default);
        let mut violations = Violations::default();
        violations.integer_range("maxResults", limit, limits.min, limits.max);
        violations.into_result()?;
        let fingerprint = fingerprint(operation, body);
        let offset = match body.string("NextToken")? {
            None => 0,
            Some(token) => parse_token(token, &fingerprint)
                .ok_or_else(|| ApiError::validation("Invalid pagination token"))?,
        };
        Ok(PageRequest {
            offset,
            // `integer_range` guaranteed a positive limit.
            limit: usize::try_from(limit).unwrap_or(usize::MAX),
            fingerprint,
        })
    }

    /// The requested slice of `items` and the token for the next one, if any.
    pub(crate) fn page<T>(&self, items: Vec<T>) -> (Vec<T>, Option<String>) {
        let total = items.len();
        let end = self.offset.saturating_add(self.limit).min(total);
        let page: Vec<T> = items
            .into_iter()
            .skip(self.offset)
            .take(self.limit)
            .collect();
        let next = (end < total).then(|| format!("v1.{end}.{}", self.fingerprint));
        (page, next)
    }
}

fn parse_token(token: &str, fingerprint: &str) -> Option<usize> {
    let rest = token.strip_prefix("v1.")?;
    let (offset, token_fingerprint) = rest.split_once('.')?;
    (token_fingerprint == fingerprint)
        .then(|| offset.parse().ok())
        .flatten()
}

/// A hash of the operation and every request member but the paging ones, independent of the
/// order the client sent them in.
fn fingerprint(operation: &str, body: Members<'_>) -> String {
    let query: BTreeMap<&String, &Value> = body
        .0
        .iter()
        .filter(|(key, _)| key.as_str() != "NextToken" && key.as_str() != "MaxResults")
        .collect();
    let mut hasher = Sha256::new();
    hasher.update(operation.as_bytes());
    hasher.update(serde_json::to_vec(&query).unwrap_or_default());
    hasher.finalize()[..8]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// `SortOrder`: `Ascending` or `Descending` (the default).
pub(crate) fn descending(body: Members<'_>) -> Result<bool, ApiError> {
    match body.string("SortOrder")? {
        None | Some("Descending") => Ok(true),
        Some("Ascending") => Ok(false),
        Some(other) => {
            let mut violations = Violations::default();
            violations.enumeration("sortOrder", other, &["Ascending", "Descending"]);
            violations.into_result().map(|()| true)
        }
    }
}

/// `SortBy`, checked against the operation's allowed keys; the default is `CreationTime`.
pub(crate) fn sort_key<'a>(body: Members<'a>, allowed: &[&str]) -> Result<&'a str, ApiError> {
    let key = body.string("SortBy")?.unwrap_or("CreationTime");
    let mut violations = Violations::default();
    violations.enumeration("sortBy", key, allowed);
    violations.into_result().map(|()| key)
}

/// Compares timestamps that are never NaN (they come from the clock).
pub(crate) fn compare_times(a: f64, b: f64) -> Ordering {
    a.partial_cmp(&b).unwrap_or(Ordering::Equal)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn request(body: &Value) -> Result<PageRequest, ApiError> {
        PageRequest::parse(
            "ListThings",
            Members(body.as_object().expect("object")),
            &LIST_LIMITS,
        )
    }

    #[test]
    fn tokens_chain_through_every_item_once() {
        let items: Vec<u32> = (0..25).collect();
        let mut seen = Vec::new();
        let mut token: Option<String> = None;
        let mut pages = 0;
        loop {
            let body = match &token {
                Some(token) => json!({"NameContains": "x", "NextToken": token}),
                None => json!({"NameContains": "x"}),
            };
            let (page, next) = request(&body).expect("valid").page(items.clone());
            seen.extend(page);
            pages += 1;
            match next {
                Some(next) => token = Some(next),
                None => break,
            }
        }
        assert_eq!(pages, 3);
        assert_eq!(seen, items);
    }

    #[test]
    fn tokens_are_bound_to_their_query_and_limits_are_checked() {
        let (_, next) = request(&json!({"NameContains": "x", "MaxResults": 2}))
            .expect("valid")
            .page(vec![1, 2, 3]);
        let token = next.expect("more");
        assert!(request(&json!({"NameContains": "y", "NextToken": token})).is_err());
        assert!(request(&json!({"NextToken": "garbage"})).is_err());
        assert!(request(&json!({"MaxResults": 0})).is_err());
        assert!(request(&json!({"MaxResults": 101})).is_err());
    }
}
