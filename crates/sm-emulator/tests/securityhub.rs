//! Security Hub through the real `aws-sdk-securityhub` client: control findings generated from
//! the emulator's own definitions, `GetFindings` and each filter comparison, paging, an
//! evaluation after a fix, `BatchUpdateFindings` and what it refuses, the administrator and its
//! members, the seed's placed findings, and fault rules aimed at Security Hub.

mod support;

use aws_sdk_securityhub::config::{BehaviorVersion, Credentials, Region};
use aws_sdk_securityhub::error::ProvideErrorMetadata;
use aws_sdk_securityhub::types::{
    AwsSecurityFinding, AwsSecurityFindingFilters, AwsSecurityFindingIdentifier, NoteUpdate,
    StringFilter, StringFilterComparison, WorkflowStatus, WorkflowUpdate,
};
use aws_smithy_types::retry::RetryConfig;
use serde_json::{Value, json};
use sm_emulator::{
    ComplianceStatus, Emulator, FindingResourceKind, RecordState, Seed, SeedDefinition,
    SeedFinding, SeedSecurityHub,
};
use sm_kinds::Kind;
use sm_testkit::{
    ACCESS_ROLE, ACCOUNT, Failure, REGION, client, create_definition, delete_definition,
    error_rule, failure, member, start_emulator, sts_client, with_faults,
};
use support::minimal_request;

const PRODUCT_ARN: &str = "arn:aws:securityhub:us-east-1::product/aws/securityhub";
const MANAGEMENT: &str = "111111111111";
const PROD: &str = "222222222222";
const STAGING: &str = "333333333333";

/// A Security Hub client signing with `credentials` for `region`, retries off.
fn securityhub_as(
    emulator: &Emulator,
    region: &str,
    credentials: Credentials,
) -> aws_sdk_securityhub::Client {
    let config = aws_sdk_securityhub::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new(region.to_owned()))
        .endpoint_url(emulator.endpoint_url())
        .credentials_provider(credentials)
        .retry_config(RetryConfig::disabled())
        .build();
    aws_sdk_securityhub::Client::from_conf(config)
}

/// With the base credentials: the seed's own (management) account.
fn securityhub(emulator: &Emulator, region: &str) -> aws_sdk_securityhub::Client {
    let credentials = Credentials::new("AKIDSANDBOX", "sandbox-secret", None, None, "test");
    securityhub_as(emulator, region, credentials)
}

/// In a member account, through `OrganizationAccountAccessRole`.
async fn member_securityhub(emulator: &Emulator, account: &str) -> aws_sdk_securityhub::Client {
    let assumed = sts_client(emulator, REGION)
        .assume_role()
        .role_arn(format!("arn:aws:iam::{account}:role/{ACCESS_ROLE}"))
        .role_session_name("test")
        .send()
        .await
        .expect("assume the access role")
        .credentials
        .expect("credentials");
    let credentials = Credentials::new(
        assumed.access_key_id(),
        assumed.secret_access_key(),
        Some(assumed.session_token().to_owned()),
        None,
        "assumed",
    );
    securityhub_as(emulator, REGION, credentials)
}

/// A definition creation request: `encryption` and `isolation` are the `NetworkConfig` flags
/// (left out when `None`), on `instances` instances.
fn request(
    kind: Kind,
    name: &str,
    encryption: Option<bool>,
    isolation: Option<bool>,
    instances: u32,
) -> Value {
    let mut request = minimal_request(kind, name, "endpoint");
    request["JobResources"]["ClusterConfig"]["InstanceCount"] = json!(instances);
    let mut network = serde_json::Map::new();
    if let Some(flag) = encryption {
        network.insert("EnableInterContainerTrafficEncryption".into(), json!(flag));
    }
    if let Some(flag) = isolation {
        network.insert("EnableNetworkIsolation".into(), json!(flag));
    }
    if !network.is_empty() {
        request["NetworkConfig"] = Value::Object(network);
    }
    request
}

fn seeded(account: Option<&str>, region: &str, kind: Kind, request: Value) -> SeedDefinition {
    SeedDefinition {
        account_id: account.map(str::to_owned),
        kind,
        region: region.to_owned(),
        request,
    }
}

fn arn(account: &str, region: &str, kind: Kind, name: &str) -> String {
    format!(
        "arn:aws:sagemaker:{region}:{account}:{}/{name}",
        kind.arn_type()
    )
}

fn string_filter(comparison: StringFilterComparison, value: &str) -> StringFilter {
    StringFilter::builder()
        .comparison(comparison)
        .value(value)
        .build()
}

fn equals(value: &str) -> StringFilter {
    string_filter(StringFilterComparison::Equals, value)
}

/// Every finding the filters select, following `NextToken`; also returns the page count.
async fn all_findings(
    client: &aws_sdk_securityhub::Client,
    filters: AwsSecurityFindingFilters,
    page_size: Option<i32>,
) -> Result<(Vec<AwsSecurityFinding>, usize), Failure> {
    let mut findings = Vec::new();
    let mut token = None;
    let mut pages = 0;
    loop {
        let output = client
            .get_findings()
            .filters(filters.clone())
            .set_max_results(page_size)
            .set_next_token(token)
            .send()
            .await
            .map_err(failure)?;
        pages += 1;
        findings.extend(output.findings().iter().cloned());
        token = output.next_token().map(str::to_owned);
        if token.is_none() {
            return Ok((findings, pages));
        }
    }
}

/// (control, resource ARN, compliance, workflow, record state) of each finding, sorted.
fn summary(findings: &[AwsSecurityFinding]) -> Vec<(String, String, String, String, String)> {
    let mut rows: Vec<_> = findings
        .iter()
        .map(|finding| {
            let compliance = finding.compliance().expect("compliance");
            (
                compliance
                    .security_control_id()
                    .unwrap_or_default()
                    .to_owned(),
                finding.resources()[0].id().unwrap_or_default().to_owned(),
                compliance.status().expect("status").as_str().to_owned(),
                finding
                    .workflow()
                    .and_then(|workflow| workflow.status())
                    .expect("workflow")
                    .as_str()
                    .to_owned(),
                finding
                    .record_state()
                    .expect("record state")
                    .as_str()
                    .to_owned(),
            )
        })
        .collect();
    rows.sort();
    rows
}

fn row(
    control: &str,
    arn: &str,
    compliance: &str,
    workflow: &str,
    record: &str,
) -> (String, String, String, String, String) {
    (
        control.to_owned(),
        arn.to_owned(),
        compliance.to_owned(),
        workflow.to_owned(),
        record.to_owned(),
    )
}

/// The filters `--from-securityhub` will send: failing, active, not suppressed findings of the
/// given controls.
fn actionable(controls: &[&str]) -> AwsSecurityFindingFilters {
    AwsSecurityFindingFilters::builder()
        .set_compliance_security_control_id(Some(controls.iter().map(|c| equals(c)).collect()))
        .compliance_status(equals("FAILED"))
        .record_state(equals("ACTIVE"))
        .workflow_status(string_filter(
            StringFilterComparison::NotEquals,
            "SUPPRESSED",
        ))
        .build()
}

fn identifier(finding: &AwsSecurityFinding) -> AwsSecurityFindingIdentifier {
    AwsSecurityFindingIdentifier::builder()
        .set_id(finding.id().map(str::to_owned))
        .set_product_arn(finding.product_arn().map(str::to_owned))
        .build()
}

/// One data-quality definition failing SageMaker.9 (two instances, encryption off) and passing
/// .11 (isolation left out), one passing both, and a model-bias definition in us-west-2.
fn one_account() -> Seed {
    Seed {
        definitions: vec![
            seeded(
                None,
                REGION,
                Kind::DataQuality,
                request(Kind::DataQuality, "dq-off", Some(false), None, 2),
            ),
            seeded(
                None,
                REGION,
                Kind::DataQuality,
                request(Kind::DataQuality, "dq-on", Some(true), Some(true), 2),
            ),
            seeded(
                None,
                "us-west-2",
                Kind::ModelBias,
                request(Kind::ModelBias, "bias-west", Some(false), Some(false), 2),
            ),
        ],
        ..Seed::default()
    }
}

#[tokio::test]
async fn findings_are_generated_per_control_and_resource_in_asff() {
    let emulator = start_emulator(one_account(), Default::default()).await;
    let hub = securityhub(&emulator, REGION);
    let (findings, _) = all_findings(&hub, AwsSecurityFindingFilters::builder().build(), None)
        .await
        .expect("get findings");
    let dq_off = arn(ACCOUNT, REGION, Kind::DataQuality, "dq-off");
    let dq_on = arn(ACCOUNT, REGION, Kind::DataQuality, "dq-on");
    // Only the signed region: the us-west-2 definition's findings are not here.
    assert_eq!(
        summary(&findings),
        vec![
            row("SageMaker.11", &dq_off, "PASSED", "RESOLVED", "ACTIVE"),
            row("SageMaker.11", &dq_on, "PASSED", "RESOLVED", "ACTIVE"),
            row("SageMaker.9", &dq_off, "FAILED", "NEW", "ACTIVE"),
            row("SageMaker.9", &dq_on, "PASSED", "RESOLVED", "ACTIVE"),
        ]
    );
    let failed = findings
        .iter()
        .find(|f| {
            f.resources()[0].id() == Some(dq_off.as_str())
                && f.generator_id() == Some("security-control/SageMaker.9")
        })
        .expect("the failing finding");
    let id_prefix =
        format!("arn:aws:securityhub:{REGION}:{ACCOUNT}:security-control/SageMaker.9/finding/");
    let failed_id = failed.id().expect("an id");
    assert!(failed_id.starts_with(&id_prefix), "{failed_id}");
    assert_eq!(failed.schema_version(), Some("2018-10-08"));
    assert_eq!(failed.product_arn(), Some(PRODUCT_ARN));
    assert_eq!(failed.product_name(), Some("Security Hub"));
    assert_eq!(failed.company_name(), Some("AWS"));
    assert_eq!(failed.aws_account_id(), Some(ACCOUNT));
    assert_eq!(failed.region(), Some(REGION));
    assert_eq!(
        failed
            .severity()
            .and_then(|s| s.label())
            .map(|l| l.as_str()),
        Some("MEDIUM")
    );
    assert!(
        failed.title().unwrap_or_default().contains("data quality"),
        "{}",
        failed.title().unwrap_or_default()
    );
    assert!(failed.note().is_none());
    let resource = &failed.resources()[0];
    assert_eq!(resource.region(), Some(REGION));
    assert_eq!(resource.partition().map(|p| p.as_str()), Some("aws"));
    let standards = failed
        .compliance()
        .expect("compliance")
        .associated_standards();
    assert!(!standards.is_empty());
    // RFC 3339 in UTC, as the SDK's own timestamp type would parse it.
    for stamp in [failed.created_at(), failed.updated_at()] {
        let stamp = stamp.expect("a timestamp");
        assert!(
            aws_smithy_types::DateTime::from_str(
                stamp,
                aws_smithy_types::date_time::Format::DateTime
            )
            .is_ok(),
            "{stamp}"
        );
    }
    // Findings are not re-evaluated by reading them: the same ids come back.
    let (again, _) = all_findings(&hub, AwsSecurityFindingFilters::builder().build(), None)
        .await
        .expect("get findings");
    let ids = |findings: &[AwsSecurityFinding]| {
        findings
            .iter()
            .map(|f| f.id().unwrap_or_default().to_owned())
            .collect::<Vec<_>>()
    };
    assert_eq!(ids(&again), ids(&findings), "a stable order and stable ids");
    let west = securityhub(&emulator, "us-west-2");
    let (west_findings, _) =
        all_findings(&west, actionable(&["SageMaker.12", "SageMaker.15"]), None)
            .await
            .expect("get findings");
    assert_eq!(west_findings.len(), 2, "bias-west fails .12 and .15");
    emulator.shutdown().await;
}

#[tokio::test]
async fn every_comparison_filters_as_documented() {
    let emulator = start_emulator(one_account(), Default::default()).await;
    let hub = securityhub(&emulator, REGION);
    let dq_off = arn(ACCOUNT, REGION, Kind::DataQuality, "dq-off");
    let dq_on = arn(ACCOUNT, REGION, Kind::DataQuality, "dq-on");
    let select = |filters: AwsSecurityFindingFilters| {
        let hub = hub.clone();
        async move {
            let (findings, _) = all_findings(&hub, filters, None).await?;
            Ok::<_, Failure>(
                summary(&findings)
                    .into_iter()
                    .map(|(control, arn, ..)| (control, arn))
                    .collect::<Vec<_>>(),
            )
        }
    };
    let pair = |control: &str, arn: &str| (control.to_owned(), arn.to_owned());
    let filters = AwsSecurityFindingFilters::builder();
    assert_eq!(
        select(filters.clone().compliance_status(equals("FAILED")).build())
            .await
            .expect("EQUALS"),
        vec![pair("SageMaker.9", &dq_off)]
    );
    // EQUALS values on one field are ORed.
    let either = filters
        .clone()
        .compliance_security_control_id(equals("SageMaker.9"))
        .compliance_security_control_id(equals("SageMaker.13"))
        .resource_id(equals(&dq_on))
        .build();
    assert_eq!(
        select(either).await.expect("EQUALS OR"),
        vec![pair("SageMaker.9", &dq_on)]
    );
    let prefix = filters
        .clone()
        .resource_id(string_filter(
            StringFilterComparison::Prefix,
            &format!("{}-of", &dq_off[..dq_off.len() - 4]),
        ))
        .build();
    assert_eq!(
        select(prefix).await.expect("PREFIX"),
        vec![pair("SageMaker.11", &dq_off), pair("SageMaker.9", &dq_off)]
    );
    // NOT_EQUALS values are ANDed: neither .11 nor the passing definition's findings.
    let neither = filters
        .clone()
        .compliance_security_control_id(string_filter(
            StringFilterComparison::NotEquals,
            "SageMaker.11",
        ))
        .resource_id(string_filter(StringFilterComparison::NotEquals, &dq_on))
        .build();
    assert_eq!(
        select(neither).await.expect("NOT_EQUALS"),
        vec![pair("SageMaker.9", &dq_off)]
    );
    let prefix_not = filters
        .clone()
        .compliance_security_control_id(string_filter(
            StringFilterComparison::PrefixNotEquals,
            "SageMaker.1",
        ))
        .build();
    assert_eq!(
        select(prefix_not).await.expect("PREFIX_NOT_EQUALS"),
        vec![pair("SageMaker.9", &dq_off), pair("SageMaker.9", &dq_on)]
    );
    // PREFIX first, then the exclusions.
    let narrowed = filters
        .clone()
        .resource_id(string_filter(
            StringFilterComparison::Prefix,
            "arn:aws:sagemaker:",
        ))
        .resource_id(string_filter(StringFilterComparison::NotEquals, &dq_off))
        .compliance_security_control_id(equals("SageMaker.9"))
        .build();
    assert_eq!(
        select(narrowed).await.expect("PREFIX then NOT_EQUALS"),
        vec![pair("SageMaker.9", &dq_on)]
    );
    for (field, value) in [
        ("AwsAccountId", ACCOUNT),
        ("Region", REGION),
        ("ProductArn", PRODUCT_ARN),
    ] {
        let builder = filters.clone();
        let builder = match field {
            "AwsAccountId" => builder.aws_account_id(equals(value)),
            "Region" => builder.region(equals(value)),
            _ => builder.product_arn(equals(value)),
        };
        assert_eq!(
            select(builder.build()).await.expect(field).len(),
            4,
            "{field}"
        );
    }
    assert!(
        select(
            filters
                .clone()
                .aws_account_id(equals("999999999999"))
                .build()
        )
        .await
        .expect("none")
        .is_empty()
    );

    // Refused: a field the emulator does not implement, a documented bad mix, a V2-only comparison.
    let refused = [
        filters
            .clone()
            .confidence(
                aws_sdk_securityhub::types::NumberFilter::builder()
                    .gte(1.0)
                    .build(),
            )
            .build(),
        filters
            .clone()
            .compliance_status(equals("FAILED"))
            .compliance_status(string_filter(StringFilterComparison::NotEquals, "PASSED"))
            .build(),
        filters
            .clone()
            .title(string_filter(StringFilterComparison::ContainsWord, "data"))
            .build(),
    ];
    for filters in refused {
        let error = hub
            .get_findings()
            .filters(filters)
            .send()
            .await
            .expect_err("refused");
        assert!(
            error
                .as_service_error()
                .is_some_and(|e| e.is_invalid_input_exception()),
            "{error:?}"
        );
        assert_eq!(error.raw_response().map(|r| r.status().as_u16()), Some(400));
    }
    emulator.shutdown().await;
}

#[tokio::test]
async fn more_than_a_hundred_findings_come_in_pages() {
    let definitions = (0..130)
        .map(|n| {
            let name = format!("dq-{n:03}");
            seeded(
                None,
                REGION,
                Kind::DataQuality,
                request(Kind::DataQuality, &name, Some(false), None, 2),
            )
        })
        .collect();
    let seed = Seed {
        definitions,
        ..Seed::default()
    };
    let emulator = start_emulator(seed, Default::default()).await;
    let hub = securityhub(&emulator, REGION);
    let (findings, pages) = all_findings(&hub, actionable(&["SageMaker.9"]), None)
        .await
        .expect("pages");
    assert_eq!((findings.len(), pages), (130, 2), "100 a page by default");
    let mut ids: Vec<&str> = findings.iter().filter_map(|f| f.id()).collect();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), 130, "every finding exactly once");
    let (small_pages, count) = all_findings(&hub, actionable(&["SageMaker.9"]), Some(40))
        .await
        .expect("pages");
    assert_eq!((small_pages.len(), count), (130, 4));
    for bad in [0, 101] {
        let error = hub
            .get_findings()
            .max_results(bad)
            .send()
            .await
            .expect_err("out of range");
        assert!(
            error
                .as_service_error()
                .is_some_and(|e| e.is_invalid_input_exception()),
            "{bad}: {error:?}"
        );
    }
    let error = hub
        .get_findings()
        .next_token("not-a-token")
        .send()
        .await
        .expect_err("bad token");
    assert!(
        error
            .as_service_error()
            .is_some_and(|e| e.is_invalid_input_exception())
    );
    emulator.shutdown().await;
}

#[tokio::test]
async fn batch_updates_are_visible_and_unknown_or_repeated_ids_are_unprocessed() {
    let emulator = start_emulator(one_account(), Default::default()).await;
    let hub = securityhub(&emulator, REGION);
    let (failing, _) = all_findings(&hub, actionable(&["SageMaker.9"]), None)
        .await
        .expect("get");
    let [finding] = failing.as_slice() else {
        panic!("one failing finding: {failing:?}");
    };
    let unknown = AwsSecurityFindingIdentifier::builder()
        .id(format!("{}0", finding.id().unwrap_or_default()))
        .product_arn(PRODUCT_ARN)
        .build();
    let output = hub
        .batch_update_findings()
        .finding_identifiers(identifier(finding))
        .finding_identifiers(unknown.clone())
        .finding_identifiers(identifier(finding))
        .workflow(
            WorkflowUpdate::builder()
                .status(WorkflowStatus::Notified)
                .build(),
        )
        .note(
            NoteUpdate::builder()
                .text("sm-recreate run r1 started")
                .updated_by("sm-recreate")
                .build(),
        )
        .send()
        .await
        .expect("batch update");
    assert_eq!(output.processed_findings(), [identifier(finding)]);
    let unprocessed: Vec<(String, &str)> = output
        .unprocessed_findings()
        .iter()
        .map(|u| {
            (
                u.finding_identifier()
                    .and_then(|i| i.id())
                    .map(str::to_owned)
                    .unwrap_or_default(),
                u.error_code().unwrap_or_default(),
            )
        })
        .collect();
    assert_eq!(
        unprocessed,
        vec![
            (
                unknown.id().unwrap_or_default().to_owned(),
                "FindingNotFound"
            ),
            (
                finding.id().unwrap_or_default().to_owned(),
                "DuplicatedFindingIdentifier",
            ),
        ]
    );
    let (after, _) = all_findings(
        &hub,
        AwsSecurityFindingFilters::builder()
            .id(equals(finding.id().unwrap_or_default()))
            .build(),
        None,
    )
    .await
    .expect("get");
    let updated = &after[0];
    assert_eq!(
        updated.workflow().and_then(|w| w.status()),
        Some(&WorkflowStatus::Notified)
    );
    assert_eq!(
        updated.workflow_state().map(|s| s.as_str()),
        Some("ASSIGNED")
    );
    let note = updated.note().expect("a note");
    assert_eq!(
        (note.text(), note.updated_by()),
        (Some("sm-recreate run r1 started"), Some("sm-recreate"))
    );
    // Documented: BatchUpdateFindings leaves UpdatedAt alone.
    assert_eq!(updated.updated_at(), finding.updated_at());
    // A NOTIFIED finding is still failing and active: the tool's own filter still selects it.
    assert_eq!(
        all_findings(&hub, actionable(&["SageMaker.9"]), None)
            .await
            .expect("get")
            .0
            .len(),
        1
    );

    let too_long = NoteUpdate::builder()
        .text("x".repeat(513))
        .updated_by("sm-recreate")
        .build();
    let nothing = hub
        .batch_update_findings()
        .finding_identifiers(identifier(finding));
    let refusals = [
        nothing
            .clone()
            .note(too_long)
            .send()
            .await
            .expect_err("note too long"),
        nothing.clone().send().await.expect_err("nothing to update"),
        hub.batch_update_findings()
            .set_finding_identifiers(Some(vec![identifier(finding); 101]))
            .workflow(
                WorkflowUpdate::builder()
                    .status(WorkflowStatus::Resolved)
                    .build(),
            )
            .send()
            .await
            .expect_err("more than 100"),
    ];
    for error in refusals {
        assert!(
            error
                .as_service_error()
                .is_some_and(|e| e.is_invalid_input_exception()),
            "{error:?}"
        );
    }
    let recorded: Vec<(String, String, String)> = emulator
        .calls()
        .into_iter()
        .filter(|call| call.operation == "BatchUpdateFindings")
        .map(|call| (call.account_id, call.region, call.outcome))
        .collect();
    assert_eq!(recorded.len(), 4);
    assert_eq!(
        recorded[0],
        (ACCOUNT.to_owned(), REGION.to_owned(), "ok".to_owned())
    );
    assert_eq!(recorded[1].2, "InvalidInputException");
    emulator.shutdown().await;
}

#[tokio::test]
async fn an_evaluation_after_a_fix_resolves_and_a_deletion_archives() {
    let emulator = start_emulator(one_account(), Default::default()).await;
    let hub = securityhub(&emulator, REGION);
    let sagemaker = client(&emulator, REGION);
    let dq_off = arn(ACCOUNT, REGION, Kind::DataQuality, "dq-off");
    let of_dq_off = || {
        AwsSecurityFindingFilters::builder()
            .resource_id(equals(&dq_off))
            .compliance_security_control_id(equals("SageMaker.9"))
            .build()
    };
    let (before, _) = all_findings(&hub, of_dq_off(), None).await.expect("get");
    hub.batch_update_findings()
        .finding_identifiers(identifier(&before[0]))
        .workflow(
            WorkflowUpdate::builder()
                .status(WorkflowStatus::Notified)
                .build(),
        )
        .send()
        .await
        .expect("notify");
    // The fix: recreate with encryption on.
    delete_definition(&sagemaker, Kind::DataQuality, "dq-off")
        .await
        .expect("delete");
    create_definition(
        &sagemaker,
        Kind::DataQuality,
        &request(Kind::DataQuality, "dq-off", Some(true), None, 2),
    )
    .await
    .expect("create");
    let (unevaluated, _) = all_findings(&hub, of_dq_off(), None).await.expect("get");
    assert_eq!(
        summary(&unevaluated),
        vec![row("SageMaker.9", &dq_off, "FAILED", "NOTIFIED", "ACTIVE")],
        "reading findings does not evaluate them"
    );
    emulator.evaluate_findings();
    let (fixed, _) = all_findings(&hub, of_dq_off(), None).await.expect("get");
    assert_eq!(
        summary(&fixed),
        vec![row("SageMaker.9", &dq_off, "PASSED", "RESOLVED", "ACTIVE")]
    );
    assert_eq!(fixed[0].id(), before[0].id(), "the same finding, resolved");
    assert!(fixed[0].updated_at() >= before[0].updated_at());

    delete_definition(&sagemaker, Kind::DataQuality, "dq-off")
        .await
        .expect("delete");
    emulator.evaluate_findings();
    let (gone, _) = all_findings(&hub, of_dq_off(), None).await.expect("get");
    // PASSED → NOT_AVAILABLE reopens a RESOLVED finding, as documented.
    assert_eq!(
        summary(&gone),
        vec![row(
            "SageMaker.9",
            &dq_off,
            "NOT_AVAILABLE",
            "NEW",
            "ARCHIVED"
        )]
    );

    create_definition(
        &sagemaker,
        Kind::DataQuality,
        &request(Kind::DataQuality, "dq-off", Some(false), None, 2),
    )
    .await
    .expect("create");
    emulator.evaluate_findings();
    let (back, _) = all_findings(&hub, actionable(&["SageMaker.9"]), None)
        .await
        .expect("get");
    assert_eq!(
        summary(&back),
        vec![row("SageMaker.9", &dq_off, "FAILED", "NEW", "ACTIVE")]
    );
    emulator.shutdown().await;
}

/// An organization of the management account and two members, with definitions in each.
fn organization(security_hub: SeedSecurityHub) -> Seed {
    let failing = |account: Option<&str>, name: &str| {
        seeded(
            account,
            REGION,
            Kind::ModelBias,
            request(Kind::ModelBias, name, Some(false), Some(true), 2),
        )
    };
    Seed {
        account_id: MANAGEMENT.to_owned(),
        accounts: vec![member(PROD, "ml-prod"), member(STAGING, "ml-staging")],
        definitions: vec![
            failing(None, "billing"),
            failing(Some(PROD), "churn"),
            failing(Some(STAGING), "pricing"),
        ],
        security_hub,
        ..Seed::default()
    }
}

fn accounts_of(findings: &[AwsSecurityFinding]) -> Vec<&str> {
    let mut accounts: Vec<&str> = findings.iter().filter_map(|f| f.aws_account_id()).collect();
    accounts.sort_unstable();
    accounts.dedup();
    accounts
}

#[tokio::test]
async fn the_administrator_sees_and_updates_members_and_a_member_only_itself() {
    let emulator =
        start_emulator(organization(SeedSecurityHub::default()), Default::default()).await;
    assert_eq!(
        emulator.security_hub_administrator().as_deref(),
        Some(MANAGEMENT)
    );
    let administrator = securityhub(&emulator, REGION);
    let prod = member_securityhub(&emulator, PROD).await;
    let (everyone, _) = all_findings(&administrator, actionable(&["SageMaker.15"]), None)
        .await
        .expect("get");
    assert_eq!(accounts_of(&everyone), vec![MANAGEMENT, PROD, STAGING]);
    let (own, _) = all_findings(&prod, actionable(&["SageMaker.15"]), None)
        .await
        .expect("get");
    assert_eq!(accounts_of(&own), vec![PROD]);

    let of = |account: &str| {
        everyone
            .iter()
            .find(|f| f.aws_account_id() == Some(account))
            .expect("a finding")
    };
    let resolve = |client: &aws_sdk_securityhub::Client, finding: &AwsSecurityFinding| {
        client
            .batch_update_findings()
            .finding_identifiers(identifier(finding))
            .workflow(
                WorkflowUpdate::builder()
                    .status(WorkflowStatus::Resolved)
                    .build(),
            )
            .send()
    };
    let by_member = resolve(&prod, of(STAGING)).await.expect("answered");
    assert!(
        by_member.processed_findings().is_empty(),
        "a member may not update another account's finding"
    );
    assert_eq!(
        by_member.unprocessed_findings()[0]
            .error_code()
            .unwrap_or_default(),
        "FindingNotFound"
    );
    let by_member = resolve(&prod, of(MANAGEMENT)).await.expect("answered");
    assert!(
        by_member.processed_findings().is_empty(),
        "nor the administrator's"
    );
    let own = resolve(&prod, of(PROD)).await.expect("answered");
    assert_eq!(own.processed_findings().len(), 1);
    let by_administrator = resolve(&administrator, of(STAGING))
        .await
        .expect("answered");
    assert_eq!(by_administrator.processed_findings().len(), 1);
    let (after, _) = all_findings(&administrator, actionable(&["SageMaker.15"]), None)
        .await
        .expect("get");
    let resolved_filter = AwsSecurityFindingFilters::builder()
        .workflow_status(equals("RESOLVED"))
        .compliance_status(equals("FAILED"))
        .build();
    let (resolved, _) = all_findings(&administrator, resolved_filter, None)
        .await
        .expect("get");
    assert_eq!(accounts_of(&resolved), vec![PROD, STAGING]);
    assert_eq!(
        after.len(),
        3,
        "still failing and active: the filter does not exclude RESOLVED"
    );
    emulator.shutdown().await;
}

#[tokio::test]
async fn without_an_administrator_or_with_security_hub_off_accounts_see_less() {
    let alone = SeedSecurityHub {
        administrator_account_id: Some(None),
        disabled_accounts: vec![STAGING.to_owned()],
        ..SeedSecurityHub::default()
    };
    let emulator = start_emulator(organization(alone), Default::default()).await;
    assert_eq!(emulator.security_hub_administrator(), None);
    let (own, _) = all_findings(
        &securityhub(&emulator, REGION),
        actionable(&["SageMaker.15"]),
        None,
    )
    .await
    .expect("get");
    assert_eq!(accounts_of(&own), vec![MANAGEMENT]);
    assert!(
        emulator
            .findings()
            .iter()
            .all(|f| f["AwsAccountId"] != STAGING)
    );
    let staging = member_securityhub(&emulator, STAGING).await;
    let error = staging
        .get_findings()
        .send()
        .await
        .expect_err("not enabled");
    assert!(
        error
            .as_service_error()
            .is_some_and(|e| e.is_invalid_access_exception()),
        "{error:?}"
    );
    assert_eq!(error.raw_response().map(|r| r.status().as_u16()), Some(401));
    emulator.shutdown().await;

    // Without accounts there is no organization, and so no administrator by default.
    let emulator = start_emulator(one_account(), Default::default()).await;
    assert_eq!(emulator.security_hub_administrator(), None);
    emulator.shutdown().await;
}

#[tokio::test]
async fn placed_findings_are_served_until_the_next_evaluation_judges_them() {
    let place = |name: &str, control: &str| SeedFinding {
        account_id: None,
        region: REGION.to_owned(),
        kind: FindingResourceKind::Definition(Kind::DataQuality),
        name: name.to_owned(),
        control: control.to_owned(),
        compliance_status: None,
        record_state: None,
        workflow_status: None,
    };
    let mut seed = Seed::default();
    for name in ["archived", "passed", "suppressed", "plain"] {
        seed.definitions.push(seeded(
            None,
            REGION,
            Kind::DataQuality,
            request(Kind::DataQuality, name, Some(false), None, 2),
        ));
    }
    seed.security_hub.findings = vec![
        SeedFinding {
            record_state: Some(RecordState::Archived),
            ..place("archived", "SageMaker.9")
        },
        SeedFinding {
            compliance_status: Some(ComplianceStatus::Passed),
            ..place("passed", "SageMaker.9")
        },
        SeedFinding {
            workflow_status: Some(sm_emulator::WorkflowStatus::Suppressed),
            ..place("suppressed", "SageMaker.9")
        },
        place("left-behind", "SageMaker.9"),
    ];
    let emulator = start_emulator(seed, Default::default()).await;
    let hub = securityhub(&emulator, REGION);
    let name_of = |findings: &[AwsSecurityFinding]| {
        let mut names: Vec<String> = findings
            .iter()
            .map(|f| {
                f.resources()[0]
                    .id()
                    .unwrap_or_default()
                    .rsplit('/')
                    .next()
                    .unwrap_or_default()
                    .to_owned()
            })
            .collect();
        names.sort();
        names
    };
    let (acted_on, _) = all_findings(&hub, actionable(&["SageMaker.9"]), None)
        .await
        .expect("get");
    assert_eq!(name_of(&acted_on), ["left-behind", "plain"]);
    let (everything, _) = all_findings(
        &hub,
        AwsSecurityFindingFilters::builder()
            .compliance_security_control_id(equals("SageMaker.9"))
            .build(),
        None,
    )
    .await
    .expect("get");
    let placed = summary(&everything);
    let dq = |name: &str| arn(ACCOUNT, REGION, Kind::DataQuality, name);
    assert_eq!(
        placed,
        vec![
            row("SageMaker.9", &dq("archived"), "FAILED", "NEW", "ARCHIVED"),
            row("SageMaker.9", &dq("left-behind"), "FAILED", "NEW", "ACTIVE"),
            row("SageMaker.9", &dq("passed"), "PASSED", "RESOLVED", "ACTIVE"),
            row("SageMaker.9", &dq("plain"), "FAILED", "NEW", "ACTIVE"),
            row(
                "SageMaker.9",
                &dq("suppressed"),
                "FAILED",
                "SUPPRESSED",
                "ACTIVE"
            ),
        ]
    );
    emulator.evaluate_findings();
    let (judged, _) = all_findings(
        &hub,
        AwsSecurityFindingFilters::builder()
            .compliance_security_control_id(equals("SageMaker.9"))
            .build(),
        None,
    )
    .await
    .expect("get");
    assert_eq!(
        summary(&judged),
        vec![
            row("SageMaker.9", &dq("archived"), "FAILED", "NEW", "ACTIVE"),
            row(
                "SageMaker.9",
                &dq("left-behind"),
                "NOT_AVAILABLE",
                "NEW",
                "ARCHIVED"
            ),
            row("SageMaker.9", &dq("passed"), "FAILED", "NEW", "ACTIVE"),
            row("SageMaker.9", &dq("plain"), "FAILED", "NEW", "ACTIVE"),
            row(
                "SageMaker.9",
                &dq("suppressed"),
                "FAILED",
                "SUPPRESSED",
                "ACTIVE"
            ),
        ]
    );
    emulator.shutdown().await;
}

#[tokio::test]
async fn fault_rules_aim_at_security_hub_operations_by_name_only() {
    let behaviour = with_faults(vec![
        error_rule("BatchUpdateFindings", None, "InternalException"),
        error_rule("*", None, "ThrottlingException"),
    ]);
    let emulator = start_emulator(one_account(), behaviour).await;
    let hub = securityhub(&emulator, REGION);
    // A `*` rule is aimed at SageMaker: Security Hub reads are untouched.
    let (failing, _) = all_findings(&hub, actionable(&["SageMaker.9"]), None)
        .await
        .expect("get");
    let error = hub
        .batch_update_findings()
        .finding_identifiers(identifier(&failing[0]))
        .workflow(
            WorkflowUpdate::builder()
                .status(WorkflowStatus::Resolved)
                .build(),
        )
        .send()
        .await
        .expect_err("faulted");
    assert!(
        error
            .as_service_error()
            .is_some_and(|e| e.is_internal_exception()),
        "{error:?}"
    );
    assert_eq!(error.code(), Some("InternalException"));
    assert_eq!(error.raw_response().map(|r| r.status().as_u16()), Some(500));
    let (unchanged, _) = all_findings(&hub, actionable(&["SageMaker.9"]), None)
        .await
        .expect("get");
    assert_eq!(
        summary(&unchanged),
        summary(&failing),
        "a faulted update changes nothing"
    );
    let outcomes: Vec<(String, String)> = emulator
        .calls()
        .into_iter()
        .filter(|call| call.operation != "GetFindings")
        .map(|call| (call.operation, call.outcome))
        .collect();
    assert_eq!(
        outcomes,
        [(
            "BatchUpdateFindings".to_owned(),
            "InternalException".to_owned()
        )]
    );

    let limited = with_faults(vec![error_rule(
        "GetFindings",
        None,
        "LimitExceededException",
    )]);
    emulator.set_behaviour(limited);
    let error = hub.get_findings().send().await.expect_err("limited");
    assert!(
        error
            .as_service_error()
            .is_some_and(|e| e.is_limit_exceeded_exception()),
        "{error:?}"
    );
    assert_eq!(error.raw_response().map(|r| r.status().as_u16()), Some(429));
    emulator.shutdown().await;
}

#[tokio::test]
async fn the_demo_organization_has_failing_findings_in_every_member() {
    let emulator = start_emulator(Seed::demo_organization(), Default::default()).await;
    let hub = securityhub(&emulator, REGION);
    let every_control: Vec<&str> = sm_kinds::CONTROLS.iter().map(|c| c.id).collect();
    let (failing, _) = all_findings(&hub, actionable(&every_control), None)
        .await
        .expect("get");
    let accounts = accounts_of(&failing);
    assert!(
        accounts.contains(&PROD) && accounts.contains(&STAGING),
        "{accounts:?}"
    );
    // Every failing finding names a definition the member really has.
    for finding in &failing {
        let resource = finding.resources()[0].id().expect("a resource ARN");
        let parsed = sm_kinds::DefinitionArn::parse(resource).expect("a definition ARN");
        let names = emulator
            .account(&parsed.account_id)
            .definition_names(&parsed.region, parsed.kind);
        assert!(
            names.iter().any(|n| n.eq_ignore_ascii_case(&parsed.name)),
            "{resource}"
        );
    }
    emulator.shutdown().await;
}
