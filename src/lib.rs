//! sm-recreate: recreate SageMaker model-monitor job definitions with inter-container traffic
//! encryption enabled, safely. The binary in `main.rs` is a thin dispatcher over this library.

pub mod accounts;
pub mod apply;
pub mod cli;
pub mod commands;
pub mod compliance;
pub mod confirm;
pub mod exit;
pub mod guard;
pub mod inventory;
pub mod journal;
pub mod kinds;
pub mod logging;
pub mod output;
pub mod plan;
pub mod redact;
pub mod render;
pub mod request;
pub mod resource;
pub mod sagemaker;
pub mod securityhub;
pub mod settings;
pub mod shell;
