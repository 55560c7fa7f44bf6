//! The member role template (docs/member-role.template.json) grants exactly the actions
//! docs/iam-policy.md lists for the same commands, so the two cannot drift apart; its trust policy
//! asks for `sts:ExternalId` only when the `ExternalId` parameter is set. The template is read as
//! CloudFormation would, for given parameter values: conditions evaluated, `Fn::If` resolved,
//! `AWS::NoValue` dropped.

use serde_json::{Map, Value, json};
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

fn read(path: &str) -> String {
    let full = Path::new(env!("CARGO_MANIFEST_DIR")).join(path);
    std::fs::read_to_string(&full).unwrap_or_else(|e| panic!("{}: {e}", full.display()))
}

fn template() -> Value {
    serde_json::from_str(&read("docs/member-role.template.json")).expect("the template is JSON")
}

/// The first ```json block after the line `heading` in the markdown.
fn json_block_after<'a>(markdown: &'a str, heading: &str) -> &'a str {
    let start = markdown
        .lines()
        .position(|line| line == heading)
        .unwrap_or_else(|| panic!("docs/iam-policy.md has no heading `{heading}`"));
    let rest: Vec<&str> = markdown.lines().skip(start + 1).collect();
    let open = rest
        .iter()
        .position(|line| *line == "```json")
        .unwrap_or_else(|| panic!("no JSON block after `{heading}`"));
    let close = open
        + rest[open..]
            .iter()
            .position(|line| *line == "```")
            .expect("the JSON block is closed");
    let first = rest[open + 1];
    let last = rest[close - 1];
    let from = first.as_ptr() as usize - markdown.as_ptr() as usize;
    let to = last.as_ptr() as usize - markdown.as_ptr() as usize + last.len();
    &markdown[from..to]
}

/// The statements of a block: a whole policy document, one statement, or (the apply section)
/// statements to add to one, separated by commas.
fn statements_of(block: &str) -> Vec<Value> {
    match serde_json::from_str::<Value>(block) {
        Ok(statement) if statement.get("Effect").is_some() => vec![statement],
        Ok(policy) => policy["Statement"]
            .as_array()
            .expect("a policy document has a Statement list")
            .clone(),
        Err(_) => serde_json::from_str(&format!("[{block}]"))
            .unwrap_or_else(|e| panic!("neither a policy nor statements ({e}):\n{block}")),
    }
}

/// Every action the statements allow, each once.
fn actions(statements: &[Value]) -> BTreeSet<String> {
    let mut all = BTreeSet::new();
    for statement in statements {
        assert_eq!(statement["Effect"], "Allow", "{statement}");
        match &statement["Action"] {
            Value::String(action) => {
                all.insert(action.clone());
            }
            Value::Array(list) => {
                for action in list {
                    let action = action.as_str().expect("an action is a string");
                    assert!(all.insert(action.to_owned()), "{action} listed twice");
                }
            }
            other => panic!("an Action is a string or a list, not {other}"),
        }
    }
    all
}

/// The actions docs/iam-policy.md grants for scan and plan, and for apply, resume and restore.
fn documented_actions() -> (BTreeSet<String>, BTreeSet<String>) {
    let markdown = read("docs/iam-policy.md");
    let read_only = actions(&statements_of(json_block_after(
        &markdown,
        "## scan and plan (read-only)",
    )));
    let mut apply = read_only.clone();
    apply.extend(actions(&statements_of(json_block_after(
        &markdown,
        "## apply, resume and restore",
    ))));
    (read_only, apply)
}

/// The parameters' values: the template's defaults, overridden by `given`. A parameter without a
/// default must be given.
fn parameters(template: &Value, given: &[(&str, &str)]) -> BTreeMap<String, String> {
    let declared = template["Parameters"].as_object().expect("Parameters");
    for (name, _) in given {
        assert!(declared.contains_key(*name), "no parameter {name}");
    }
    declared
        .iter()
        .map(|(name, spec)| {
            let value = given
                .iter()
                .find(|(n, _)| n == name)
                .map(|(_, v)| (*v).to_owned())
                .or_else(|| spec["Default"].as_str().map(str::to_owned))
                .unwrap_or_else(|| panic!("parameter {name} has no default: give it"));
            (name.clone(), value)
        })
        .collect()
}

/// A string operand of a condition: a literal or a parameter's value.
fn operand(value: &Value, parameters: &BTreeMap<String, String>) -> String {
    match value {
        Value::String(text) => text.clone(),
        Value::Object(map) if map.len() == 1 && map.contains_key("Ref") => {
            let name = map["Ref"].as_str().expect("Ref names a parameter");
            parameters
                .get(name)
                .unwrap_or_else(|| panic!("Ref to unknown parameter {name}"))
                .clone()
        }
        other => panic!("unexpected operand in a condition: {other}"),
    }
}

/// Evaluates a condition function as CloudFormation does.
fn condition(expression: &Value, template: &Value, parameters: &BTreeMap<String, String>) -> bool {
    let map = expression.as_object().expect("a condition is a function");
    assert_eq!(map.len(), 1, "one function: {expression}");
    let (function, arguments) = map.iter().next().unwrap();
    let list = || arguments.as_array().expect("a list of arguments");
    match function.as_str() {
        "Fn::Equals" => {
            let pair = list();
            assert_eq!(pair.len(), 2);
            operand(&pair[0], parameters) == operand(&pair[1], parameters)
        }
        "Fn::Not" => !condition(&list()[0], template, parameters),
        "Fn::And" => list().iter().all(|c| condition(c, template, parameters)),
        "Fn::Or" => list().iter().any(|c| condition(c, template, parameters)),
        "Condition" => named_condition(arguments.as_str().unwrap(), template, parameters),
        other => panic!("condition function {other} is not evaluated here"),
    }
}

fn named_condition(name: &str, template: &Value, parameters: &BTreeMap<String, String>) -> bool {
    let expression = template["Conditions"]
        .get(name)
        .unwrap_or_else(|| panic!("no condition {name}"));
    condition(expression, template, parameters)
}

fn is_no_value(value: &Value) -> bool {
    *value == json!({"Ref": "AWS::NoValue"})
}

/// `value` with every `Fn::If` resolved and `AWS::NoValue` dropped from lists and objects; other
/// intrinsic functions are kept as they are.
fn resolve(value: &Value, template: &Value, parameters: &BTreeMap<String, String>) -> Value {
    match value {
        Value::Object(map) if map.len() == 1 && map.contains_key("Fn::If") => {
            let arguments = map["Fn::If"].as_array().expect("Fn::If takes a list");
            assert_eq!(arguments.len(), 3, "Fn::If [condition, then, else]");
            let name = arguments[0].as_str().expect("Fn::If names a condition");
            let chosen = if named_condition(name, template, parameters) {
                &arguments[1]
            } else {
                &arguments[2]
            };
            resolve(chosen, template, parameters)
        }
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| (k.clone(), resolve(v, template, parameters)))
                .filter(|(_, v)| !is_no_value(v))
                .collect::<Map<_, _>>(),
        ),
        Value::Array(list) => Value::Array(
            list.iter()
                .map(|v| resolve(v, template, parameters))
                .filter(|v| !is_no_value(v))
                .collect(),
        ),
        other => other.clone(),
    }
}

/// The member role's properties, for these parameter values.
fn role(given: &[(&str, &str)]) -> Value {
    let template = template();
    let parameters = parameters(&template, given);
    let roles: Vec<&Value> = template["Resources"]
        .as_object()
        .expect("Resources")
        .values()
        .filter(|r| r["Type"] == "AWS::IAM::Role")
        .collect();
    assert_eq!(roles.len(), 1, "one role");
    resolve(&roles[0]["Properties"], &template, &parameters)
}

fn role_actions(properties: &Value) -> BTreeSet<String> {
    let mut all = BTreeSet::new();
    for policy in properties["Policies"].as_array().expect("inline Policies") {
        for action in actions(policy["PolicyDocument"]["Statement"].as_array().unwrap()) {
            assert!(all.insert(action.clone()), "{action} granted twice");
        }
    }
    all
}

const PRINCIPAL: (&str, &str) = (
    "TrustedPrincipalArn",
    "arn:aws:iam::111111111111:role/sm-recreate-runner",
);

#[test]
fn the_member_role_grants_exactly_the_documented_actions_of_each_mode() {
    let (read_only, apply) = documented_actions();
    assert!(read_only.contains("sagemaker:ListTags"), "{read_only:?}");
    assert!(apply.contains("iam:PassRole"), "{apply:?}");
    assert!(read_only.len() < apply.len());

    let by_default = role(&[PRINCIPAL]);
    assert_eq!(
        role_actions(&by_default),
        read_only,
        "the default is read-only"
    );
    let scan_only = role(&[PRINCIPAL, ("AllowApply", "false")]);
    assert_eq!(role_actions(&scan_only), read_only);
    let applying = role(&[PRINCIPAL, ("AllowApply", "true")]);
    assert_eq!(role_actions(&applying), apply);
}

/// The actions docs/iam-policy.md grants for notebook instances: to read them, and to turn their
/// root access off.
fn documented_notebook_actions() -> (BTreeSet<String>, BTreeSet<String>) {
    let markdown = read("docs/iam-policy.md");
    let section = markdown
        .split_once("## Notebook instances (SageMaker.1, .2, .3, .21)")
        .expect("docs/iam-policy.md has a notebook section")
        .1;
    let read = actions(&statements_of(json_block_after(section, "scan and plan:")));
    let apply = actions(&statements_of(json_block_after(
        section,
        "apply and resume (root access turned off in place: stop when running and consented to, update,",
    )));
    (read, apply)
}

#[test]
fn notebook_permissions_are_granted_only_when_asked_for_and_exactly_as_documented() {
    let (read_only, apply) = documented_actions();
    let (notebook_read, notebook_apply) = documented_notebook_actions();
    assert!(notebook_apply.contains("sagemaker:UpdateNotebookInstance"));
    let union = |a: &BTreeSet<String>, b: &BTreeSet<String>| -> BTreeSet<String> {
        a.union(b).cloned().collect()
    };
    for allow_apply in ["false", "true"] {
        let without = role(&[PRINCIPAL, ("AllowApply", allow_apply)]);
        assert!(
            !role_actions(&without)
                .iter()
                .any(|action| action.contains("Notebook")),
            "no notebook permission by default"
        );
    }
    let reading = role(&[PRINCIPAL, ("AllowNotebooks", "true")]);
    assert_eq!(role_actions(&reading), union(&read_only, &notebook_read));
    let applying = role(&[
        PRINCIPAL,
        ("AllowNotebooks", "true"),
        ("AllowApply", "true"),
    ]);
    assert_eq!(
        role_actions(&applying),
        union(&union(&apply, &notebook_read), &notebook_apply)
    );
    let changes = applying["Policies"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|p| p["PolicyDocument"]["Statement"].as_array().unwrap().clone())
        .find(|s| s["Sid"] == "TurnNotebookRootAccessOff")
        .expect("the notebook statement");
    assert_eq!(
        changes["Resource"],
        json!({"Fn::Sub": "arn:${AWS::Partition}:sagemaker:*:${AWS::AccountId}:notebook-instance/*"}),
        "only the account's own notebook instances"
    );
}

#[test]
fn the_member_role_passes_only_the_job_roles_of_its_account_to_sagemaker() {
    let applying = role(&[PRINCIPAL, ("AllowApply", "true")]);
    let statements: Vec<Value> = applying["Policies"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|p| p["PolicyDocument"]["Statement"].as_array().unwrap().clone())
        .collect();
    let pass = statements
        .iter()
        .find(|s| s["Action"] == "iam:PassRole")
        .expect("a PassRole statement");
    assert_eq!(
        pass["Resource"],
        json!({"Fn::Sub": "arn:${AWS::Partition}:iam::${AWS::AccountId}:role/${JobRolePattern}"})
    );
    assert_eq!(
        pass["Condition"],
        json!({"StringEquals": {"iam:PassedToService": "sagemaker.amazonaws.com"}})
    );
}

#[test]
fn the_trust_policy_asks_for_the_external_id_only_when_it_is_set() {
    let without = role(&[PRINCIPAL]);
    let with = role(&[PRINCIPAL, ("ExternalId", "a-shared-secret")]);
    for (properties, external) in [(&without, false), (&with, true)] {
        let statements = properties["AssumeRolePolicyDocument"]["Statement"]
            .as_array()
            .expect("a trust policy");
        assert_eq!(statements.len(), 1);
        let trust = &statements[0];
        assert_eq!(trust["Effect"], "Allow");
        assert_eq!(trust["Action"], "sts:AssumeRole");
        assert_eq!(
            trust["Condition"]["ArnLike"]["aws:PrincipalArn"],
            json!({"Ref": "TrustedPrincipalArn"}),
            "only the trusted principal, whatever the external id"
        );
        if external {
            assert_eq!(
                trust["Condition"]["StringEquals"],
                json!({"sts:ExternalId": {"Ref": "ExternalId"}})
            );
        } else {
            assert!(
                !trust.to_string().contains("sts:ExternalId"),
                "no external id condition without one: {trust}"
            );
        }
    }
    let template = template();
    assert_eq!(template["Parameters"]["ExternalId"]["Default"], "");
    assert_eq!(template["Parameters"]["ExternalId"]["NoEcho"], true);
}

#[test]
fn the_role_is_where_the_tool_and_the_docs_look_for_it() {
    // The tool assumes arn:PARTITION:iam::ACCOUNT:role/NAME: a role with a path is not found.
    let properties = role(&[PRINCIPAL]);
    assert!(properties.get("Path").is_none(), "the role has no path");
    assert_eq!(properties["RoleName"], json!({"Ref": "RoleName"}));
    let template = template();
    let name = template["Parameters"]["RoleName"]["Default"]
        .as_str()
        .expect("RoleName has a default");
    assert_ne!(name, "OrganizationAccountAccessRole");
    let markdown = read("docs/iam-policy.md");
    assert!(
        markdown.contains(&format!("--role-name {name}")),
        "docs/iam-policy.md recommends --role-name {name}"
    );
    let caller = statements_of(json_block_after(&markdown, "### The caller"));
    let assume = caller
        .iter()
        .find(|s| s["Action"] == "sts:AssumeRole")
        .expect("the caller may assume the member role");
    assert_eq!(
        assume["Resource"],
        json!(format!("arn:aws:iam::*:role/{name}"))
    );
    assert_eq!(
        template["Outputs"]["RoleArn"]["Value"],
        json!({"Fn::GetAtt": ["MemberRole", "Arn"]})
    );
}
