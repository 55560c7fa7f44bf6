//! One identity for every resource the tool reads or changes: account, region, resource kind and
//! name. The journal, snapshots, the executor, plans and findings all name a resource this way.

use crate::kinds::Kind;
use serde::{Deserialize, Serialize};
use std::fmt;

/// What kind of SageMaker resource an identity names. Job definitions are what the tool
/// recreates today; schedules and notebook instances are resources it will change in place.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(into = "String", try_from = "String")]
pub enum ResourceKind {
    /// A model-monitor job definition of one of the four kinds.
    Definition(Kind),
    MonitoringSchedule,
    NotebookInstance,
}

impl ResourceKind {
    /// The name on the command line and in JSON: a definition's kind name (`data-quality`, as
    /// sm-recreate 0.1 journaled it), `monitoring-schedule` or `notebook-instance`.
    pub fn cli_name(self) -> &'static str {
        match self {
            ResourceKind::Definition(kind) => kind.cli_name(),
            ResourceKind::MonitoringSchedule => "monitoring-schedule",
            ResourceKind::NotebookInstance => "notebook-instance",
        }
    }

    pub fn from_cli_name(name: &str) -> Option<ResourceKind> {
        match name {
            "monitoring-schedule" => Some(ResourceKind::MonitoringSchedule),
            "notebook-instance" => Some(ResourceKind::NotebookInstance),
            _ => Kind::from_cli_name(name).map(ResourceKind::Definition),
        }
    }
}

impl fmt::Display for ResourceKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.cli_name())
    }
}

impl From<ResourceKind> for String {
    fn from(kind: ResourceKind) -> String {
        kind.cli_name().to_owned()
    }
}

impl TryFrom<String> for ResourceKind {
    type Error = String;

    fn try_from(name: String) -> Result<ResourceKind, String> {
        ResourceKind::from_cli_name(&name).ok_or_else(|| format!("unknown resource kind `{name}`"))
    }
}

impl From<Kind> for ResourceKind {
    fn from(kind: Kind) -> ResourceKind {
        ResourceKind::Definition(kind)
    }
}

/// A resource's identity. Names compare exactly here; where AWS compares them case-insensitively
/// the caller says so (`kinds::same_name`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct ResourceId {
    /// Empty only while reading a journal sm-recreate 0.1 wrote (its items carry no account);
    /// the journal's reader fills it in from the run.
    #[serde(default)]
    pub account_id: String,
    pub region: String,
    pub kind: ResourceKind,
    pub name: String,
}

impl ResourceId {
    pub fn definition(account_id: &str, region: &str, kind: Kind, name: &str) -> ResourceId {
        ResourceId {
            account_id: account_id.to_owned(),
            region: region.to_owned(),
            kind: ResourceKind::Definition(kind),
            name: name.to_owned(),
        }
    }

    /// The job-definition kind, for identities of job definitions.
    pub fn definition_kind(&self) -> Option<Kind> {
        match self.kind {
            ResourceKind::Definition(kind) => Some(kind),
            _ => None,
        }
    }
}

impl fmt::Display for ResourceId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.account_id.is_empty() {
            write!(f, "{} {} ({})", self.kind, self.name, self.region)
        } else {
            write!(
                f,
                "{} {} ({}, account {})",
                self.kind, self.name, self.region, self.account_id
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_definition_reads_and_writes_as_sm_recreate_0_1_journaled_it() {
        let old = json!({"region": "us-east-1", "kind": "model-bias", "name": "nightly"});
        let read: ResourceId = serde_json::from_value(old).unwrap();
        assert_eq!(
            read,
            ResourceId::definition("", "us-east-1", Kind::ModelBias, "nightly")
        );
        let written = serde_json::to_value(ResourceId::definition(
            "123456789012",
            "us-east-1",
            Kind::ModelBias,
            "nightly",
        ))
        .unwrap();
        assert_eq!(
            written,
            json!({"account_id": "123456789012", "region": "us-east-1", "kind": "model-bias", "name": "nightly"})
        );
    }

    #[test]
    fn every_resource_kind_round_trips_through_its_name() {
        let kinds = Kind::ALL.into_iter().map(ResourceKind::Definition).chain([
            ResourceKind::MonitoringSchedule,
            ResourceKind::NotebookInstance,
        ]);
        for kind in kinds {
            let name: String = kind.into();
            assert_eq!(ResourceKind::try_from(name), Ok(kind));
        }
        assert!(ResourceKind::try_from("endpoint".to_owned()).is_err());
    }
}
