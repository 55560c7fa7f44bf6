//! The four Security Hub controls on SageMaker notebook instances as one table: the setting each
//! reads, what fails it, its AWS Config managed rule, and whether the setting can be changed in
//! place (only `RootAccess` can; the others are fixed when the notebook is created).

/// A setting of a notebook instance that a control judges.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum NotebookSetting {
    /// `DirectInternetAccess`: `Enabled` fails (SageMaker.1).
    DirectInternetAccess,
    /// `SubnetId`: absent fails, the notebook is not in a VPC of yours (SageMaker.2).
    SubnetId,
    /// `RootAccess`: `Enabled` fails; AWS documents `Enabled` as the default (SageMaker.3).
    RootAccess,
    /// `KmsKeyId`: absent fails (SageMaker.21).
    KmsKeyId,
}

impl NotebookSetting {
    /// The member of `DescribeNotebookInstance` (and `CreateNotebookInstance`) that holds it.
    pub fn member(self) -> &'static str {
        match self {
            NotebookSetting::DirectInternetAccess => "DirectInternetAccess",
            NotebookSetting::SubnetId => "SubnetId",
            NotebookSetting::RootAccess => "RootAccess",
            NotebookSetting::KmsKeyId => "KmsKeyId",
        }
    }
}

/// Static facts about one notebook control.
#[derive(Debug, PartialEq, Eq)]
pub struct NotebookControlInfo {
    /// `SageMaker.3`.
    pub id: &'static str,
    pub setting: NotebookSetting,
    /// The AWS Config managed rule behind the control.
    pub config_rule: &'static str,
    /// Whether `UpdateNotebookInstance` can change the setting (only while the notebook is
    /// stopped); otherwise only a new notebook has it.
    pub in_place: bool,
}

/// Every notebook control, by number.
pub const NOTEBOOK_CONTROLS: [NotebookControlInfo; 4] = [
    NotebookControlInfo {
        id: "SageMaker.1",
        setting: NotebookSetting::DirectInternetAccess,
        config_rule: "sagemaker-notebook-no-direct-internet-access",
        in_place: false,
    },
    NotebookControlInfo {
        id: "SageMaker.2",
        setting: NotebookSetting::SubnetId,
        config_rule: "sagemaker-notebook-instance-inside-vpc",
        in_place: false,
    },
    NotebookControlInfo {
        id: "SageMaker.3",
        setting: NotebookSetting::RootAccess,
        config_rule: "sagemaker-notebook-instance-root-access-check",
        in_place: true,
    },
    NotebookControlInfo {
        id: "SageMaker.21",
        setting: NotebookSetting::KmsKeyId,
        config_rule: "sagemaker-notebook-instance-kms-key-configured",
        in_place: false,
    },
];

/// A notebook control, by reference into [`NOTEBOOK_CONTROLS`].
pub type NotebookControl = &'static NotebookControlInfo;

impl NotebookControlInfo {
    /// Accepts `SageMaker.3` (any case) or the bare number.
    pub fn find(id: &str) -> Option<NotebookControl> {
        let wanted = id.trim();
        NOTEBOOK_CONTROLS.iter().find(|c| {
            c.id.eq_ignore_ascii_case(wanted) || c.id.strip_prefix("SageMaker.") == Some(wanted)
        })
    }

    /// The control that judges `setting`.
    pub fn of(setting: NotebookSetting) -> NotebookControl {
        NOTEBOOK_CONTROLS
            .iter()
            .find(|c| c.setting == setting)
            .expect("every setting has a control")
    }

    /// Whether a notebook passes the control, as its Config rule reads it, given the value of
    /// the control's [`NotebookSetting::member`] in the notebook's describe (`None`: absent).
    pub fn passes(&self, value: Option<&str>) -> bool {
        match self.setting {
            NotebookSetting::DirectInternetAccess => value != Some("Enabled"),
            NotebookSetting::SubnetId | NotebookSetting::KmsKeyId => {
                value.is_some_and(|v| !v.is_empty())
            }
            // Absent reads as AWS's default, `Enabled`.
            NotebookSetting::RootAccess => value == Some("Disabled"),
        }
    }

    /// The number after `SageMaker.`, for ordering controls as Security Hub lists them.
    pub fn number(&self) -> u32 {
        self.id
            .strip_prefix("SageMaker.")
            .and_then(|n| n.parse().ok())
            .unwrap_or(u32::MAX)
    }
}

/// All notebook control ids, for help text and errors.
pub fn notebook_control_ids() -> String {
    let ids: Vec<&str> = NOTEBOOK_CONTROLS.iter().map(|c| c.id).collect();
    ids.join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value, json};

    fn passes(control: &NotebookControlInfo, describe: &Value) -> bool {
        control.passes(
            describe
                .get(control.setting.member())
                .and_then(Value::as_str),
        )
    }

    #[test]
    fn notebook_controls_are_found_by_id_or_number_and_not_confused_with_others() {
        assert_eq!(
            NotebookControlInfo::find("sagemaker.3").unwrap().setting,
            NotebookSetting::RootAccess
        );
        assert_eq!(NotebookControlInfo::find("21").unwrap().id, "SageMaker.21");
        assert!(NotebookControlInfo::find("SageMaker.9").is_none());
        assert!(crate::ControlInfo::find("SageMaker.3").is_none());
        let only_in_place: Vec<&str> = NOTEBOOK_CONTROLS
            .iter()
            .filter(|c| c.in_place)
            .map(|c| c.id)
            .collect();
        assert_eq!(only_in_place, ["SageMaker.3"]);
    }

    #[test]
    fn each_control_fails_only_what_its_config_rule_fails() {
        let open = json!({"DirectInternetAccess": "Enabled"});
        let locked = json!({
            "DirectInternetAccess": "Disabled", "SubnetId": "subnet-0abc1234",
            "RootAccess": "Disabled", "KmsKeyId": "alias/notebooks",
        });
        for control in &NOTEBOOK_CONTROLS {
            assert!(!passes(control, &open), "{}", control.id);
            assert!(passes(control, &locked), "{}", control.id);
        }
        // An empty subnet or key is no subnet or key.
        let empty = json!({"SubnetId": "", "KmsKeyId": ""});
        assert!(!passes(
            NotebookControlInfo::of(NotebookSetting::SubnetId),
            &empty
        ));
        assert!(!passes(
            NotebookControlInfo::of(NotebookSetting::KmsKeyId),
            &empty
        ));
        // Direct internet access absent is not Enabled.
        assert!(passes(
            NotebookControlInfo::of(NotebookSetting::DirectInternetAccess),
            &empty
        ));
    }
}
