//! The emulator as an AWS Organization, through the real SDK clients: `AssumeRole` (also through
//! aws-config's `AssumeRoleProvider`, as the tool uses it) maps credentials to the role's account,
//! what it denies, expired credentials, `ListAccounts` and its pages, SageMaker state kept apart
//! per account, opt-in regions an account has not enabled, and throttles and faults per account.

mod support;

use std::time::Duration;

use aws_sdk_organizations::error::ProvideErrorMetadata;
use aws_sdk_sagemaker::config::{BehaviorVersion, Credentials, Region};
use aws_smithy_types::retry::RetryConfig;
use sm_emulator::{AccountState, AccountThrottle, Behaviour, Emulator, FaultRule, Seed, SeedRole};
use sm_kinds::Kind;
use sm_testkit::{
    ACCESS_ROLE, Failure, REGION, create_definition, describe_definition, error_rule, failure,
    member, start_emulator, sts_client, with_faults,
};
use support::{ListQuery, list_definitions, minimal_request};

const MANAGEMENT: &str = "111111111111";
const PROD: &str = "222222222222";
const STAGING: &str = "333333333333";
const SUSPENDED: &str = "444444444444";

/// A management account and three members: prod (with an auditor role that needs an external
/// id, and an opt-in region not enabled), staging, and a suspended one.
fn organization() -> Seed {
    let mut prod = member(PROD, "ml-prod");
    prod.roles.push(SeedRole {
        name: "Auditor".to_owned(),
        external_id: Some("audit-2024".to_owned()),
    });
    prod.disabled_regions = vec!["eu-south-2".to_owned()];
    let mut suspended = member(SUSPENDED, "ml-old");
    suspended.state = AccountState::Suspended;
    Seed {
        account_id: MANAGEMENT.to_owned(),
        accounts: vec![prod, member(STAGING, "ml-staging"), suspended],
        ..Seed::default()
    }
}

fn role_arn(account: &str, role: &str) -> String {
    format!("arn:aws:iam::{account}:role/{role}")
}

/// `AssumeRole` through the plain STS client with the base credentials.
async fn assume(
    emulator: &Emulator,
    account: &str,
    role: &str,
    external_id: Option<&str>,
) -> Result<aws_sdk_sts::types::Credentials, Failure> {
    sts_client(emulator, REGION)
        .assume_role()
        .role_arn(role_arn(account, role))
        .role_session_name("sm-recreate")
        .set_external_id(external_id.map(str::to_owned))
        .send()
        .await
        .map(|output| output.credentials.expect("credentials"))
        .map_err(failure)
}

fn static_credentials(credentials: &aws_sdk_sts::types::Credentials) -> Credentials {
    Credentials::new(
        credentials.access_key_id(),
        credentials.secret_access_key(),
        Some(credentials.session_token().to_owned()),
        None,
        "assumed",
    )
}

/// A SageMaker client for `region` signing with `credentials`, retries off.
fn sagemaker_as(
    emulator: &Emulator,
    region: &str,
    credentials: Credentials,
) -> aws_sdk_sagemaker::Client {
    let config = aws_sdk_sagemaker::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new(region.to_owned()))
        .endpoint_url(emulator.endpoint_url())
        .credentials_provider(credentials)
        .retry_config(RetryConfig::disabled())
        .build();
    aws_sdk_sagemaker::Client::from_conf(config)
}

fn sts_as(emulator: &Emulator, credentials: Credentials) -> aws_sdk_sts::Client {
    let config = aws_sdk_sts::Config::builder()
        .behavior_version(aws_sdk_sts::config::BehaviorVersion::latest())
        .region(aws_sdk_sts::config::Region::new(REGION))
        .endpoint_url(emulator.endpoint_url())
        .credentials_provider(credentials)
        .retry_config(aws_sdk_sts::config::retry::RetryConfig::disabled())
        .build();
    aws_sdk_sts::Client::from_conf(config)
}

fn organizations_as(
    emulator: &Emulator,
    credentials: Credentials,
) -> aws_sdk_organizations::Client {
    let config = aws_sdk_organizations::Config::builder()
        .behavior_version(aws_sdk_organizations::config::BehaviorVersion::latest())
        .region(aws_sdk_organizations::config::Region::new(REGION))
        .endpoint_url(emulator.endpoint_url())
        .credentials_provider(credentials)
        .retry_config(aws_sdk_organizations::config::retry::RetryConfig::disabled())
        .build();
    aws_sdk_organizations::Client::from_conf(config)
}

fn base_credentials() -> Credentials {
    Credentials::new("AKIDSANDBOX", "sandbox-secret", None, None, "test")
}

/// A SageMaker client acting in `account` through `OrganizationAccountAccessRole`.
async fn member_client(
    emulator: &Emulator,
    account: &str,
    region: &str,
) -> aws_sdk_sagemaker::Client {
    let credentials = assume(emulator, account, ACCESS_ROLE, None)
        .await
        .expect("assume the access role");
    sagemaker_as(emulator, region, static_credentials(&credentials))
}

async fn names(client: &aws_sdk_sagemaker::Client, kind: Kind) -> Result<Vec<String>, Failure> {
    list_definitions(client, kind, &ListQuery::default())
        .await
        .map(|(names, _, _)| names)
}

#[tokio::test]
async fn assumed_credentials_act_in_the_roles_account() {
    let emulator = start_emulator(organization(), Behaviour::default()).await;
    let credentials = assume(&emulator, PROD, ACCESS_ROLE, None)
        .await
        .expect("assume");
    assert!(credentials.access_key_id().starts_with("ASIA"));
    let lifetime = credentials.expiration().secs()
        - aws_smithy_types::DateTime::from(std::time::SystemTime::now()).secs();
    assert!(
        (3590..=3600).contains(&lifetime),
        "an hour by default: {lifetime}"
    );

    let identity = sts_as(&emulator, static_credentials(&credentials))
        .get_caller_identity()
        .send()
        .await
        .expect("identity");
    assert_eq!(identity.account(), Some(PROD));
    assert_eq!(
        identity.arn(),
        Some("arn:aws:sts::222222222222:assumed-role/OrganizationAccountAccessRole/sm-recreate")
    );
    let base = sts_client(&emulator, REGION)
        .get_caller_identity()
        .send()
        .await
        .expect("identity");
    assert_eq!(base.account(), Some(MANAGEMENT));

    let prod = sagemaker_as(&emulator, REGION, static_credentials(&credentials));
    let arn = create_definition(
        &prod,
        Kind::DataQuality,
        &minimal_request(Kind::DataQuality, "churn-dq", "churn"),
    )
    .await
    .expect("create in prod");
    assert_eq!(
        arn,
        "arn:aws:sagemaker:us-east-1:222222222222:data-quality-job-definition/churn-dq"
    );
    assert_eq!(
        emulator
            .account(PROD)
            .definition_names(REGION, Kind::DataQuality),
        ["churn-dq"]
    );
    assert!(
        emulator
            .definition_names(REGION, Kind::DataQuality)
            .is_empty()
    );
    let last = emulator.calls().pop().expect("a call");
    assert_eq!(
        (last.operation.as_str(), last.account_id.as_str()),
        ("CreateDataQualityJobDefinition", PROD)
    );
    emulator.shutdown().await;
}

#[tokio::test]
async fn aws_configs_assume_role_provider_gets_member_credentials() {
    let emulator = start_emulator(organization(), Behaviour::default()).await;
    // As the tool loads its configuration: the standard loader, with the emulator as the
    // endpoint of every service and static base credentials.
    let base = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .region(aws_config::Region::new(REGION))
        .endpoint_url(emulator.endpoint_url())
        .credentials_provider(base_credentials())
        .load()
        .await;
    let provider = aws_config::sts::AssumeRoleProvider::builder(role_arn(STAGING, ACCESS_ROLE))
        .session_name("sm-recreate")
        .configure(&base)
        .build()
        .await;
    let config = aws_sdk_sagemaker::config::Builder::from(&base)
        .credentials_provider(provider)
        .retry_config(RetryConfig::disabled())
        .build();
    let staging = aws_sdk_sagemaker::Client::from_conf(config);
    create_definition(
        &staging,
        Kind::ModelBias,
        &minimal_request(Kind::ModelBias, "pricing-bias", "pricing"),
    )
    .await
    .expect("create through the provider");
    assert_eq!(
        emulator
            .account(STAGING)
            .definition_names(REGION, Kind::ModelBias),
        ["pricing-bias"]
    );
    emulator.shutdown().await;
}

#[tokio::test]
async fn unknown_accounts_and_roles_suspended_accounts_and_wrong_external_ids_are_denied() {
    let emulator = start_emulator(organization(), Behaviour::default()).await;
    for (account, role, external_id) in [
        ("999999999999", ACCESS_ROLE, None),
        (PROD, "Admin", None),
        (SUSPENDED, ACCESS_ROLE, None),
        // The management account has no access role unless the seed lists one.
        (MANAGEMENT, ACCESS_ROLE, None),
        (PROD, "Auditor", None),
        (PROD, "Auditor", Some("audit-2023")),
    ] {
        let denied = assume(&emulator, account, role, external_id)
            .await
            .expect_err("denied");
        assert_eq!(
            (denied.code(), denied.status),
            ("AccessDenied", Some(403)),
            "{account} {role}"
        );
        let message = denied.message.unwrap_or_default();
        assert!(
            message.starts_with("User: arn:aws:iam::111111111111:user/sandbox is not authorized to perform: sts:AssumeRole on resource: arn:aws:iam::"),
            "{message}"
        );
    }
    assume(&emulator, PROD, "Auditor", Some("audit-2024"))
        .await
        .expect("the right external id");
    emulator.shutdown().await;
}

#[tokio::test]
async fn expired_credentials_answer_expired_token() {
    let seed = Seed {
        credential_lifetime: Duration::from_millis(300),
        ..organization()
    };
    let emulator = start_emulator(seed, Behaviour::default()).await;
    let credentials = assume(&emulator, PROD, ACCESS_ROLE, None)
        .await
        .expect("assume");
    let prod = sagemaker_as(&emulator, REGION, static_credentials(&credentials));
    names(&prod, Kind::DataQuality)
        .await
        .expect("fresh credentials work");
    tokio::time::sleep(Duration::from_millis(400)).await;
    let expired = names(&prod, Kind::DataQuality).await.expect_err("expired");
    assert_eq!(
        (expired.code(), expired.status),
        ("ExpiredTokenException", Some(400))
    );
    assert_eq!(
        expired.message.as_deref(),
        Some("The security token included in the request is expired")
    );
    let expired = sts_as(&emulator, static_credentials(&credentials))
        .get_caller_identity()
        .send()
        .await
        .map_err(failure)
        .expect_err("expired");
    assert_eq!(expired.code(), "ExpiredToken");

    // New credentials work again, until a test expires them.
    let staging = member_client(&emulator, STAGING, REGION).await;
    let prod = member_client(&emulator, PROD, REGION).await;
    emulator.expire_credentials(PROD);
    names(&staging, Kind::DataQuality)
        .await
        .expect("staging's are untouched");
    let expired = names(&prod, Kind::DataQuality).await.expect_err("expired");
    assert_eq!(expired.code(), "ExpiredTokenException");
    emulator.shutdown().await;
}

#[tokio::test]
async fn list_accounts_pages_through_the_organization_for_the_management_account_only() {
    let emulator = start_emulator(organization(), Behaviour::default()).await;
    let organizations = organizations_as(&emulator, base_credentials());
    let first = organizations
        .list_accounts()
        .max_results(3)
        .send()
        .await
        .expect("first page");
    assert_eq!(first.accounts().len(), 3);
    let token = first.next_token().expect("a second page");
    let second = organizations
        .list_accounts()
        .max_results(3)
        .next_token(token)
        .send()
        .await
        .expect("second page");
    assert_eq!(second.accounts().len(), 1);
    assert!(second.next_token().is_none());

    let pages: Vec<_> = organizations
        .list_accounts()
        .max_results(2)
        .into_paginator()
        .send()
        .collect::<Result<_, _>>()
        .await
        .expect("paginated");
    assert_eq!(pages.len(), 2);
    let all: Vec<aws_sdk_organizations::types::Account> = pages
        .into_iter()
        .flat_map(|page| page.accounts.unwrap_or_default())
        .collect();
    let ids: Vec<&str> = all.iter().filter_map(|a| a.id()).collect();
    assert_eq!(ids, [MANAGEMENT, PROD, STAGING, SUSPENDED]);
    let prod = &all[1];
    assert_eq!(prod.name(), Some("ml-prod"));
    assert_eq!(prod.email(), Some("ml-prod@example.com"));
    assert_eq!(
        prod.state(),
        Some(&aws_sdk_organizations::types::AccountState::Active)
    );
    assert_eq!(
        all[3].state(),
        Some(&aws_sdk_organizations::types::AccountState::Suspended)
    );
    assert_eq!(
        prod.joined_method(),
        Some(&aws_sdk_organizations::types::AccountJoinedMethod::Created)
    );
    assert!(prod.joined_timestamp().is_some());
    let arn = prod.arn().expect("arn");
    assert!(
        arn.starts_with("arn:aws:organizations::111111111111:account/o-")
            && arn.ends_with("/222222222222"),
        "{arn}"
    );

    let too_many = organizations
        .list_accounts()
        .max_results(21)
        .send()
        .await
        .expect_err("MaxResults is at most 20");
    assert_eq!(too_many.code(), Some("InvalidInputException"));

    let credentials = assume(&emulator, PROD, ACCESS_ROLE, None)
        .await
        .expect("assume");
    let denied = organizations_as(&emulator, static_credentials(&credentials))
        .list_accounts()
        .send()
        .await
        .expect_err("a member may not list");
    assert_eq!(denied.code(), Some("AccessDeniedException"));
    emulator.shutdown().await;

    let lone = start_emulator(Seed::default(), Behaviour::default()).await;
    let error = organizations_as(&lone, base_credentials())
        .list_accounts()
        .send()
        .await
        .expect_err("no organization");
    assert_eq!(error.code(), Some("AWSOrganizationsNotInUseException"));
    lone.shutdown().await;
}

#[tokio::test]
async fn each_account_sees_only_its_own_definitions() {
    let emulator = start_emulator(organization(), Behaviour::default()).await;
    let prod = member_client(&emulator, PROD, REGION).await;
    let staging = member_client(&emulator, STAGING, REGION).await;
    let management = sagemaker_as(&emulator, REGION, base_credentials());
    for client in [&prod, &staging, &management] {
        create_definition(
            client,
            Kind::ModelQuality,
            &minimal_request(Kind::ModelQuality, "same-name", "e"),
        )
        .await
        .expect("the same name in every account");
    }
    create_definition(
        &prod,
        Kind::ModelQuality,
        &minimal_request(Kind::ModelQuality, "prod-only", "e"),
    )
    .await
    .expect("create");
    assert_eq!(
        names(&staging, Kind::ModelQuality).await.expect("list"),
        ["same-name"]
    );
    assert_eq!(
        describe_definition(&staging, Kind::ModelQuality, "prod-only")
            .await
            .expect_err("not staging's")
            .code(),
        "ResourceNotFound"
    );
    let described = describe_definition(&staging, Kind::ModelQuality, "same-name")
        .await
        .expect("staging's own");
    assert_eq!(
        described.arn,
        "arn:aws:sagemaker:us-east-1:333333333333:model-quality-job-definition/same-name"
    );
    assert!(
        emulator
            .definition(REGION, Kind::ModelQuality, "prod-only")
            .is_none()
    );
    assert!(
        emulator
            .account(PROD)
            .definition(REGION, Kind::ModelQuality, "prod-only")
            .is_some()
    );
    assert_eq!(
        emulator.account_ids(),
        [MANAGEMENT, PROD, STAGING, SUSPENDED]
    );
    emulator.shutdown().await;
}

#[tokio::test]
async fn an_opt_in_region_the_account_has_not_enabled_is_unrecognized() {
    let emulator = start_emulator(organization(), Behaviour::default()).await;
    let prod = member_client(&emulator, PROD, "eu-south-2").await;
    let refused = names(&prod, Kind::DataQuality).await.expect_err("disabled");
    assert_eq!(
        (refused.code(), refused.status),
        ("UnrecognizedClientException", Some(400))
    );
    assert_eq!(
        refused.message.as_deref(),
        Some("The security token included in the request is invalid.")
    );
    let staging = member_client(&emulator, STAGING, "eu-south-2").await;
    names(&staging, Kind::DataQuality)
        .await
        .expect("enabled for staging");
    emulator.shutdown().await;
}

#[tokio::test]
async fn one_account_can_be_throttled_hard_and_buckets_are_per_account_region() {
    let behaviour = Behaviour {
        account_throttles: vec![AccountThrottle {
            account_id: PROD.to_owned(),
            rate_per_second: 0.01,
            burst: 2,
        }],
        ..Behaviour::default()
    };
    let emulator = start_emulator(organization(), behaviour).await;
    let prod = member_client(&emulator, PROD, REGION).await;
    for _ in 0..2 {
        names(&prod, Kind::DataQuality)
            .await
            .expect("within the burst");
    }
    let throttled = names(&prod, Kind::DataQuality)
        .await
        .expect_err("throttled");
    assert_eq!(throttled.code(), "ThrottlingException");
    let prod_west = member_client(&emulator, PROD, "us-west-2").await;
    names(&prod_west, Kind::DataQuality)
        .await
        .expect("another region's bucket");
    let staging = member_client(&emulator, STAGING, REGION).await;
    for _ in 0..10 {
        names(&staging, Kind::DataQuality)
            .await
            .expect("staging is not throttled");
    }
    // STS is not throttled: assuming the role again still works.
    member_client(&emulator, PROD, REGION).await;
    emulator.shutdown().await;
}

#[tokio::test]
async fn a_fault_rule_can_aim_at_one_account() {
    let rule = FaultRule {
        account_id: Some(STAGING.to_owned()),
        ..error_rule("*", None, "InternalFailure")
    };
    let emulator = start_emulator(organization(), with_faults(vec![rule])).await;
    let prod = member_client(&emulator, PROD, REGION).await;
    let staging = member_client(&emulator, STAGING, REGION).await;
    names(&prod, Kind::ModelBias).await.expect("prod is spared");
    let failed = names(&staging, Kind::ModelBias)
        .await
        .expect_err("staging fails");
    assert_eq!(failed.code(), "InternalFailure");
    emulator.shutdown().await;
}

#[tokio::test]
async fn the_demo_organization_serves_each_members_definitions() {
    let emulator = start_emulator(Seed::demo_organization(), Behaviour::default()).await;
    let organizations = organizations_as(&emulator, base_credentials());
    let accounts = organizations
        .list_accounts()
        .send()
        .await
        .expect("listed")
        .accounts
        .unwrap_or_default();
    assert_eq!(accounts.len(), 4);
    for account in &accounts[1..] {
        let id = account.id().expect("id");
        for region in ["us-east-1", "us-west-2"] {
            let client = member_client(&emulator, id, region).await;
            let mut total = 0;
            for kind in Kind::ALL {
                let listed = names(&client, kind).await.expect("list");
                assert_eq!(listed, emulator.account(id).definition_names(region, kind));
                total += listed.len();
            }
            assert!(total > 0, "{id} {region} has definitions");
        }
    }
    emulator.shutdown().await;
}
