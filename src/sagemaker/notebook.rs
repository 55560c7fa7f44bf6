//! Notebook instances (SageMaker.1, .2, .3, .21): listed, described as raw JSON, and changed only
//! in place (stop, `UpdateNotebookInstance RootAccess=Disabled`, start). A notebook is never
//! deleted: its ML storage volume holds its users' work.

use super::pace::Call;
use super::raw::CaptureBody;
use super::{AwsError, SageMaker, parse_body, single_attempt};
use serde_json::Value;

/// One listed notebook instance.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotebookSummary {
    pub name: String,
    pub arn: String,
    /// `NotebookInstanceStatus`: `Pending`, `InService`, `Stopping`, `Stopped`, `Failed`,
    /// `Deleting` or `Updating`.
    pub status: String,
}

/// A described notebook instance: the raw JSON plus the members the tool decides on.
#[derive(Debug, Clone, PartialEq)]
pub struct NotebookDescription {
    pub raw: Value,
    pub name: String,
    pub arn: String,
    pub status: String,
    /// `Enabled` or `Disabled`; AWS documents `Enabled` as the default when absent.
    pub root_access: String,
    pub failure_reason: Option<String>,
}

impl NotebookDescription {
    pub fn from_raw(raw: Value) -> NotebookDescription {
        let text = |member: &str| raw.get(member).and_then(Value::as_str).map(str::to_owned);
        NotebookDescription {
            name: text("NotebookInstanceName").unwrap_or_default(),
            arn: text("NotebookInstanceArn").unwrap_or_default(),
            status: text("NotebookInstanceStatus").unwrap_or_default(),
            root_access: text("RootAccess").unwrap_or_else(|| "Enabled".to_owned()),
            failure_reason: text("FailureReason"),
            raw,
        }
    }
}

impl SageMaker {
    /// Every notebook instance in the region, across all pages.
    pub async fn list_notebook_instances(&self) -> Result<Vec<NotebookSummary>, AwsError> {
        let mut notebooks = Vec::new();
        let mut next_token: Option<String> = None;
        loop {
            let request = self
                .client
                .list_notebook_instances()
                .max_results(100)
                .set_next_token(next_token.take());
            let output = self
                .paced(Call::Look, || async {
                    request
                        .clone()
                        .send()
                        .await
                        .map_err(|e| AwsError::from_sdk("ListNotebookInstances", e))
                })
                .await?;
            notebooks.extend(output.notebook_instances().iter().map(|n| {
                NotebookSummary {
                    name: n.notebook_instance_name().unwrap_or_default().to_owned(),
                    arn: n.notebook_instance_arn().unwrap_or_default().to_owned(),
                    status: n
                        .notebook_instance_status()
                        .map(|s| s.as_str().to_owned())
                        .unwrap_or_default(),
                }
            }));
            match output.next_token() {
                Some(token) if !token.is_empty() => next_token = Some(token.to_owned()),
                _ => return Ok(notebooks),
            }
        }
    }

    /// The exact JSON `DescribeNotebookInstance` returned.
    pub async fn describe_notebook_instance(
        &self,
        name: &str,
    ) -> Result<NotebookDescription, AwsError> {
        let operation = "DescribeNotebookInstance";
        let capture = CaptureBody::default();
        let request = self
            .client
            .describe_notebook_instance()
            .notebook_instance_name(name);
        self.paced(Call::Look, || async {
            request
                .clone()
                .customize()
                .interceptor(capture.clone())
                .send()
                .await
                .map_err(|e| AwsError::from_sdk(operation, e))
        })
        .await?;
        Ok(NotebookDescription::from_raw(parse_body(
            operation,
            capture.take(),
        )?))
    }

    /// `StopNotebookInstance`, sent once (see `single_attempt`).
    pub async fn stop_notebook_instance(&self, name: &str) -> Result<(), AwsError> {
        let request = self
            .client
            .stop_notebook_instance()
            .notebook_instance_name(name);
        self.paced(Call::Change, || async {
            request
                .clone()
                .customize()
                .config_override(single_attempt())
                .send()
                .await
                .map_err(|e| AwsError::from_sdk("StopNotebookInstance", e))
        })
        .await?;
        Ok(())
    }

    /// `StartNotebookInstance`, sent once (see `single_attempt`).
    pub async fn start_notebook_instance(&self, name: &str) -> Result<(), AwsError> {
        let request = self
            .client
            .start_notebook_instance()
            .notebook_instance_name(name);
        self.paced(Call::Change, || async {
            request
                .clone()
                .customize()
                .config_override(single_attempt())
                .send()
                .await
                .map_err(|e| AwsError::from_sdk("StartNotebookInstance", e))
        })
        .await?;
        Ok(())
    }

    /// `UpdateNotebookInstance` with only `RootAccess` set (every other setting is left as it
    /// is: the update changes only the members it is sent), sent once (see `single_attempt`).
    /// The service accepts it only while the notebook is `Stopped`.
    pub async fn update_notebook_root_access(
        &self,
        name: &str,
        root_access: &str,
    ) -> Result<(), AwsError> {
        let request = self
            .client
            .update_notebook_instance()
            .notebook_instance_name(name)
            .root_access(root_access.into());
        self.paced(Call::Change, || async {
            request
                .clone()
                .customize()
                .config_override(single_attempt())
                .send()
                .await
                .map_err(|e| AwsError::from_sdk("UpdateNotebookInstance", e))
        })
        .await?;
        Ok(())
    }
}
