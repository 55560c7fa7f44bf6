//! One schedule with an inline data-quality job definition (`inline-nightly`), as the tests of
//! in-place fixes seed it, and the configurations they compare it with.

use super::REGION;
use super::apply::Env;
use serde_json::{Value, json};
use sm_emulator::{Seed, SeedSchedule};

pub const INLINE: &str = "inline-nightly";

pub fn inline_config(network: Option<Value>) -> Value {
    let mut job = json!({
        "BaselineConfig": {"ConstraintsResource": {"S3Uri": "s3://bucket/baseline/constraints.json"}},
        "MonitoringInputs": [{"EndpointInput": {
            "EndpointName": "churn-endpoint",
            "LocalPath": "/opt/ml/processing/input",
            "S3InputMode": "File",
            "S3DataDistributionType": "FullyReplicated"
        }}],
        "MonitoringOutputConfig": {"MonitoringOutputs": [{"S3Output": {
            "S3Uri": "s3://bucket/reports", "LocalPath": "/opt/ml/processing/output", "S3UploadMode": "EndOfJob"
        }}]},
        "MonitoringResources": {"ClusterConfig": {"InstanceCount": 2, "InstanceType": "ml.m5.xlarge", "VolumeSizeInGB": 20}},
        "MonitoringAppSpecification": {"ImageUri": "123456789012.dkr.ecr.us-east-1.amazonaws.com/model-monitor:latest"},
        "StoppingCondition": {"MaxRuntimeInSeconds": 1800},
        "RoleArn": "arn:aws:iam::123456789012:role/monitor"
    });
    if let Some(network) = network {
        job["NetworkConfig"] = network;
    }
    json!({
        "ScheduleConfig": {"ScheduleExpression": "cron(0 * ? * * *)"},
        "MonitoringJobDefinition": job,
        "MonitoringType": "DataQuality"
    })
}

pub fn named_seed(name: &str, network: Option<Value>) -> Seed {
    Seed {
        schedules: vec![SeedSchedule {
            account_id: None,
            region: REGION.to_owned(),
            request: json!({
                "MonitoringScheduleName": name,
                "MonitoringScheduleConfig": inline_config(network),
                "Tags": [{"Key": "team", "Value": "ml"}],
            }),
            status: None,
            last_monitoring_execution_summary: None,
        }],
        ..Seed::default()
    }
}

pub fn inline_seed(network: Option<Value>) -> Seed {
    named_seed(INLINE, network)
}

pub fn encryption_off() -> Option<Value> {
    Some(json!({"EnableInterContainerTrafficEncryption": false, "EnableNetworkIsolation": false}))
}

pub fn original_config() -> Value {
    inline_config(encryption_off())
}

pub fn fixed_config() -> Value {
    inline_config(Some(
        json!({"EnableInterContainerTrafficEncryption": true, "EnableNetworkIsolation": false}),
    ))
}

pub fn status_of(env: &Env) -> String {
    env.emulator.schedule(REGION, INLINE).expect("schedule")["MonitoringScheduleStatus"]
        .as_str()
        .unwrap()
        .to_owned()
}

pub const APPLY: [&str; 6] = [
    "apply",
    "--yes",
    "--control",
    "SageMaker.22",
    "--format",
    "json",
];
