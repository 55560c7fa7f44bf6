//! Reads what is there: per region, every definition of the kinds asked for (raw describe JSON,
//! and tags where they matter) and which monitoring schedules reference it. Calls overlap under
//! each account-region's and the process's concurrency bounds; a region or kind that fails is reported
//! without hiding the rest.

use crate::compliance::JobView;
use crate::kinds::{Kind, Subject, refers_to};
use crate::request;
use crate::resource::ResourceKind;
use crate::sagemaker::{
    AwsError, DefinitionSummary, ErrorClass, NotebookSummary, SageMaker, ScheduleSummary, Tag,
};
use serde::Serialize;
use serde_json::Value;
use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;
use tokio::sync::Semaphore;
use tokio::task::JoinSet;

/// A schedule that references a definition by name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct ScheduleRef {
    pub name: String,
    pub status: String,
}

/// One definition as it is now.
#[derive(Debug, Clone, PartialEq)]
pub struct Definition {
    pub region: String,
    pub kind: Kind,
    pub name: String,
    pub arn: String,
    /// The exact JSON `Describe<Noun>` returned; only its essentials
    /// (`JobView::essentials_of_definition`) when the run cannot change the definition (its
    /// `tags` are `None`), as each describe arrives: memory then grows with what the run could
    /// change, not with everything read.
    pub raw: Value,
    /// When `raw` holds only the essentials: `request::snapshot_hash` of the whole describe JSON
    /// (without tags), taken before it was dropped; the plan shows it.
    pub whole_sha256: Option<String>,
    /// `None` when not read: only the tags of what the run could change are listed (see
    /// [`Scope::tags_wanted`]).
    pub tags: Option<Vec<Tag>>,
    pub schedules: Vec<ScheduleRef>,
}

/// A monitoring schedule with an inline `MonitoringJobDefinition` (SageMaker.14, .22), as it is
/// now.
#[derive(Debug, Clone, PartialEq)]
pub struct InlineSchedule {
    pub region: String,
    pub name: String,
    pub arn: String,
    /// The exact JSON `DescribeMonitoringSchedule` returned.
    pub raw: Value,
    /// `None` when not read, as for [`Definition::tags`].
    pub tags: Option<Vec<Tag>>,
}

/// A notebook instance (SageMaker.1, .2, .3, .21), as it is now.
#[derive(Debug, Clone, PartialEq)]
pub struct Notebook {
    pub region: String,
    pub name: String,
    pub arn: String,
    /// The exact JSON `DescribeNotebookInstance` returned.
    pub raw: Value,
    /// Always read: both the in-place fix (its hash) and the rebuild command (its tags) need
    /// them, and notebooks are few.
    pub tags: Vec<Tag>,
}

/// Something the inventory could not read; the rest of the inventory stands.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Problem {
    pub region: String,
    /// A definition's kind, or `notebook-instance`; `None` for what concerns a whole region.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kind: Option<ResourceKind>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    pub message: String,
    /// True when definitions may be missing from the inventory because of this (a listing or a
    /// describe failed); false for what only informs (a definition deleted meanwhile).
    pub incomplete: bool,
}

#[derive(Debug, Default)]
pub struct Inventory {
    /// Sorted by region, kind, name.
    pub definitions: Vec<Definition>,
    /// Schedules with an inline job definition, sorted by region and name.
    pub schedules: Vec<InlineSchedule>,
    /// Notebook instances within the selection, sorted by region and name.
    pub notebooks: Vec<Notebook>,
    pub problems: Vec<Problem>,
    /// Names of definitions (per region and kind) that exist, including ones filtered out: the
    /// planner needs them to pick temporary names that are free.
    pub existing_names: BTreeSet<DefinitionId>,
    /// (region, name) of every notebook instance listed, including ones filtered out: a
    /// rebuild's new name must be free of all of them.
    pub existing_notebooks: BTreeSet<(String, String)>,
}

/// A test on (region, kind, name).
pub type NameFilter = Arc<dyn Fn(&str, Kind, &str) -> bool + Send + Sync>;

/// A test on a schedule's (region, name).
pub type ScheduleFilter = Arc<dyn Fn(&str, &str) -> bool + Send + Sync>;

/// A test on a described definition or inline schedule (its subject and describe JSON).
pub type DescribedFilter = Arc<dyn Fn(Subject, &Value) -> bool + Send + Sync>;

/// (region, kind, name): a definition within the inventory, which is of one account. Outside the
/// inventory a definition is named by `resource::ResourceId`, which adds the account.
pub type DefinitionId = (String, Kind, String);

/// Which definitions to read.
#[derive(Clone)]
pub struct Scope {
    pub kinds: Vec<Kind>,
    /// Read only definitions whose name passes this test (listing is still complete).
    pub name_filter: NameFilter,
    /// Read the schedules with an inline job definition that pass this test; `None`: none.
    pub inline_schedules: Option<ScheduleFilter>,
    /// Read the notebook instances whose (region, name) pass this test; `None`: none (and no
    /// notebook call is made).
    pub notebooks: Option<ScheduleFilter>,
    /// List the tags of the described definitions and inline schedules that pass this test. Tags
    /// matter only where the run could act (the create request, the CloudFormation check, the
    /// plan's diff), i.e. where the run's fixes fail: a compliant definition then costs its
    /// describe alone, its `tags` are `None`, and only its essentials are kept.
    pub tags_wanted: DescribedFilter,
}

impl Scope {
    pub fn everything() -> Scope {
        Scope {
            kinds: Kind::ALL.to_vec(),
            name_filter: Arc::new(|_, _, _| true),
            inline_schedules: Some(Arc::new(|_, _| true)),
            notebooks: None,
            tags_wanted: Arc::new(|_, _| true),
        }
    }
}

/// Bounds on the calls in flight: `global` is shared by everything the process reads (every
/// account), `per_region` bounds each account-region on its own.
#[derive(Clone)]
pub struct CallLimits {
    pub global: Arc<Semaphore>,
    pub per_region: usize,
}

impl CallLimits {
    pub fn new(global: usize, per_region: usize) -> CallLimits {
        CallLimits {
            global: Arc::new(Semaphore::new(global.max(1))),
            per_region: per_region.max(1),
        }
    }
}

/// A bounded pool for one account's API calls: every call takes a permit of its region, then one
/// of the process. The region's first, so a call waiting on a busy (throttled) account-region
/// holds none of the permits the other accounts need.
#[derive(Clone)]
struct CallPool {
    global: Arc<Semaphore>,
    regions: Arc<HashMap<String, Semaphore>>,
}

impl CallPool {
    /// Makes the call once both permits are held, and boxes it. Every listed definition's
    /// describe is spawned as its listing arrives, so thousands of tasks wait here; an SDK call's
    /// future is several kilobytes, and a task holding it inline while it waited made a scan's
    /// peak memory grow with every definition listed (12 KB a task, bench_org).
    async fn run<F: Future>(&self, region: &str, call: impl FnOnce() -> F) -> F::Output {
        let _region = self.regions[region]
            .acquire()
            .await
            .expect("the call pool is never closed");
        let _global = self
            .global
            .acquire()
            .await
            .expect("the call pool is never closed");
        Box::pin(call()).await
    }
}

/// One call's answer, with what it was about.
enum Fetched {
    Listed {
        region: String,
        kind: Kind,
        result: Result<Vec<DefinitionSummary>, AwsError>,
    },
    Schedules {
        region: String,
        result: Result<Vec<ScheduleSummary>, AwsError>,
    },
    Described {
        region: String,
        kind: Kind,
        name: String,
        arn: String,
        result: Result<Value, AwsError>,
    },
    Tagged {
        region: String,
        kind: Kind,
        name: String,
        result: Result<Vec<Tag>, AwsError>,
    },
    ScheduleDescribed {
        region: String,
        name: String,
        arn: String,
        result: Result<Value, AwsError>,
    },
    ScheduleTagged {
        region: String,
        name: String,
        result: Result<Vec<Tag>, AwsError>,
    },
    NotebooksListed {
        region: String,
        result: Result<Vec<NotebookSummary>, AwsError>,
    },
    NotebookDescribed {
        region: String,
        name: String,
        arn: String,
        result: Result<Value, AwsError>,
    },
    NotebookTagged {
        region: String,
        name: String,
        result: Result<Vec<Tag>, AwsError>,
    },
}

type Key = DefinitionId;

/// Reads every region in `clients` (one client per region) within `scope`, in four steps: list
/// each kind and the region's schedules; describe every listed definition the name filter passes,
/// as each listing arrives; list the tags of those described that `scope.tags_wanted` passes, as
/// each describe arrives; then join the answers into definitions.
pub async fn collect(clients: &[SageMaker], scope: &Scope, limits: &CallLimits) -> Inventory {
    let mut reading = Reading {
        scope,
        calls: Calls {
            pool: CallPool {
                global: limits.global.clone(),
                regions: Arc::new(
                    clients
                        .iter()
                        .map(|c| (c.region().to_owned(), Semaphore::new(limits.per_region)))
                        .collect(),
                ),
            },
            tasks: JoinSet::new(),
        },
        by_region: clients
            .iter()
            .map(|c| (c.region().to_owned(), c.clone()))
            .collect(),
        answers: Answers::default(),
    };
    reading.calls.list(clients, scope);
    while let Some(fetched) = reading.calls.next().await {
        reading.take(fetched);
    }
    reading.answers.into_inventory()
}

/// The calls in flight: each takes a permit of the one pool when it runs.
struct Calls {
    pool: CallPool,
    tasks: JoinSet<Fetched>,
}

impl Calls {
    /// Per region, the listing of each kind and of the monitoring schedules (when definitions
    /// or inline schedules are read), and of the notebook instances (when they are).
    fn list(&mut self, clients: &[SageMaker], scope: &Scope) {
        for client in clients {
            let region = client.region().to_owned();
            if scope.notebooks.is_some() {
                let (client, pool, region) = (client.clone(), self.pool.clone(), region.clone());
                self.tasks.spawn(async move {
                    let result = pool
                        .run(client.region(), || client.list_notebook_instances())
                        .await;
                    Fetched::NotebooksListed { region, result }
                });
            }
            if scope.kinds.is_empty() && scope.inline_schedules.is_none() {
                // Notebooks alone: no definition or schedule call, so a role allowed only the
                // notebook calls can scan them.
                continue;
            }
            for &kind in &scope.kinds {
                let (client, pool, region) = (client.clone(), self.pool.clone(), region.clone());
                self.tasks.spawn(async move {
                    let result = pool
                        .run(client.region(), || client.list_definitions(kind))
                        .await;
                    Fetched::Listed {
                        region,
                        kind,
                        result,
                    }
                });
            }
            let (client, pool) = (client.clone(), self.pool.clone());
            self.tasks.spawn(async move {
                let result = pool
                    .run(client.region(), || client.list_schedules(None))
                    .await;
                Fetched::Schedules { region, result }
            });
        }
    }

    /// Describe of one listed definition (its tags, if wanted, once the describe has answered).
    fn describe(
        &mut self,
        client: &SageMaker,
        region: &str,
        kind: Kind,
        summary: DefinitionSummary,
    ) {
        let (client, pool, region) = (client.clone(), self.pool.clone(), region.to_owned());
        self.tasks.spawn(async move {
            let result = pool
                .run(client.region(), || {
                    client.describe_definition(kind, &summary.name)
                })
                .await;
            Fetched::Described {
                region,
                kind,
                name: summary.name,
                arn: summary.arn,
                result,
            }
        });
    }

    /// ListTags of a described definition.
    fn tag(&mut self, client: &SageMaker, key: Key, arn: String) {
        let (client, pool) = (client.clone(), self.pool.clone());
        self.tasks.spawn(async move {
            let result = pool.run(client.region(), || client.list_tags(&arn)).await;
            let (region, kind, name) = key;
            Fetched::Tagged {
                region,
                kind,
                name,
                result,
            }
        });
    }

    /// Describe of a schedule the listing shows without a named definition: it holds its job
    /// definition inline.
    fn describe_schedule(&mut self, client: &SageMaker, region: &str, summary: &ScheduleSummary) {
        let (client, pool) = (client.clone(), self.pool.clone());
        let (region, name, arn) = (region.to_owned(), summary.name.clone(), summary.arn.clone());
        self.tasks.spawn(async move {
            let result = pool
                .run(client.region(), || client.describe_schedule(&name))
                .await
                .map(|described| described.raw);
            Fetched::ScheduleDescribed {
                region,
                name,
                arn,
                result,
            }
        });
    }

    /// ListTags of a described inline schedule.
    fn tag_schedule(&mut self, client: &SageMaker, region: String, name: String, arn: String) {
        let (client, pool) = (client.clone(), self.pool.clone());
        self.tasks.spawn(async move {
            let result = pool.run(client.region(), || client.list_tags(&arn)).await;
            Fetched::ScheduleTagged {
                region,
                name,
                result,
            }
        });
    }

    /// Describe of one listed notebook instance.
    fn describe_notebook(&mut self, client: &SageMaker, region: &str, summary: NotebookSummary) {
        let (client, pool, region) = (client.clone(), self.pool.clone(), region.to_owned());
        self.tasks.spawn(async move {
            let result = pool
                .run(client.region(), || {
                    client.describe_notebook_instance(&summary.name)
                })
                .await
                .map(|described| described.raw);
            Fetched::NotebookDescribed {
                region,
                name: summary.name,
                arn: summary.arn,
                result,
            }
        });
    }

    /// ListTags of a described notebook instance.
    fn tag_notebook(&mut self, client: &SageMaker, region: String, name: String, arn: String) {
        let (client, pool) = (client.clone(), self.pool.clone());
        self.tasks.spawn(async move {
            let result = pool.run(client.region(), || client.list_tags(&arn)).await;
            Fetched::NotebookTagged {
                region,
                name,
                result,
            }
        });
    }

    /// The next answer, in the order they arrive; `None` when every call has answered.
    async fn next(&mut self) -> Option<Fetched> {
        let joined = self.tasks.join_next().await?;
        match joined {
            Ok(fetched) => Some(fetched),
            Err(err) => std::panic::resume_unwind(err.into_panic()),
        }
    }
}

/// One inventory being read: the calls, and the answers so far.
struct Reading<'a> {
    scope: &'a Scope,
    calls: Calls,
    by_region: HashMap<String, SageMaker>,
    answers: Answers,
}

impl Reading<'_> {
    /// Files one answer; a listing starts the describes of what it found, a describe the tag
    /// listing of what the run could change.
    fn take(&mut self, fetched: Fetched) {
        match fetched {
            Fetched::Listed {
                region,
                kind,
                result,
            } => self.listed(region, kind, result),
            Fetched::Schedules { region, result } => {
                if let (Ok(list), Some(filter)) = (&result, &self.scope.inline_schedules) {
                    let client = &self.by_region[&region];
                    for summary in list {
                        if summary.definition_name.is_none() && filter(&region, &summary.name) {
                            self.calls.describe_schedule(client, &region, summary);
                        }
                    }
                }
                self.answers.schedules_listed(region, result)
            }
            Fetched::ScheduleDescribed {
                region,
                name,
                arn,
                result,
            } => match result {
                Ok(raw) => {
                    // A schedule changed to name a definition since it was listed has nothing
                    // inline, and is dropped when the answers are joined.
                    let inline = raw
                        .pointer("/MonitoringScheduleConfig/MonitoringJobDefinition")
                        .is_some();
                    if inline && (self.scope.tags_wanted)(Subject::InlineSchedule, &raw) {
                        let client = &self.by_region[&region];
                        self.calls
                            .tag_schedule(client, region.clone(), name.clone(), arn);
                    }
                    self.answers.schedule_raws.insert((region, name), raw);
                }
                Err(err) => self.answers.schedule_failed(region, name, "describe", &err),
            },
            Fetched::ScheduleTagged {
                region,
                name,
                result,
            } => match result {
                Ok(tags) => {
                    self.answers.schedule_tags.insert((region, name), tags);
                }
                Err(err) => self
                    .answers
                    .schedule_failed(region, name, "list tags", &err),
            },
            Fetched::Described {
                region,
                kind,
                name,
                arn,
                result,
            } => {
                let result = result.map(|raw| {
                    if (self.scope.tags_wanted)(Subject::Definition(kind), &raw) {
                        let client = &self.by_region[&region];
                        self.calls
                            .tag(client, (region.clone(), kind, name.clone()), arn.clone());
                        Described {
                            arn,
                            raw,
                            whole_sha256: None,
                        }
                    } else {
                        Described {
                            arn,
                            whole_sha256: Some(request::snapshot_hash(&raw, &[])),
                            raw: JobView::essentials_of_definition(&raw),
                        }
                    }
                });
                self.answers.described((region, kind, name), result)
            }
            Fetched::Tagged {
                region,
                kind,
                name,
                result,
            } => self.answers.tagged((region, kind, name), result),
            Fetched::NotebooksListed { region, result } => self.notebooks_listed(region, result),
            Fetched::NotebookDescribed {
                region,
                name,
                arn,
                result,
            } => match result {
                Ok(raw) => {
                    let client = &self.by_region[&region];
                    self.calls
                        .tag_notebook(client, region.clone(), name.clone(), arn.clone());
                    self.answers
                        .notebook_raws
                        .insert((region, name), (arn, raw));
                }
                Err(err) => self.answers.notebook_failed(region, name, "describe", &err),
            },
            Fetched::NotebookTagged {
                region,
                name,
                result,
            } => match result {
                Ok(tags) => {
                    self.answers.notebook_tags.insert((region, name), tags);
                }
                // A notebook whose tags are unknown can be neither hashed nor rebuilt whole.
                Err(err) => self
                    .answers
                    .notebook_failed(region, name, "list tags", &err),
            },
        }
    }

    /// Every listed notebook is recorded as existing (a rebuild's new name must be free); those
    /// the selection passes are described.
    fn notebooks_listed(&mut self, region: String, result: Result<Vec<NotebookSummary>, AwsError>) {
        let summaries = match result {
            Ok(summaries) => summaries,
            Err(err) => {
                self.answers.inventory.problems.push(Problem {
                    region,
                    kind: Some(ResourceKind::NotebookInstance),
                    name: None,
                    message: format!("could not list notebook instances: {err}"),
                    incomplete: true,
                });
                return;
            }
        };
        tracing::debug!(%region, count = summaries.len(), "listed notebook instances");
        let client = &self.by_region[&region];
        let filter = self.scope.notebooks.as_ref();
        for summary in summaries {
            self.answers
                .inventory
                .existing_notebooks
                .insert((region.clone(), summary.name.clone()));
            if filter.is_some_and(|passes| passes(&region, &summary.name)) {
                self.calls.describe_notebook(client, &region, summary);
            }
        }
    }

    /// Every listed name is recorded as existing (temporary names must be free of all of them);
    /// those the name filter passes are described.
    fn listed(
        &mut self,
        region: String,
        kind: Kind,
        result: Result<Vec<DefinitionSummary>, AwsError>,
    ) {
        let summaries = match result {
            Ok(summaries) => summaries,
            Err(err) => {
                self.answers.inventory.problems.push(Problem {
                    region,
                    kind: Some(kind.into()),
                    name: None,
                    message: format!("could not list {kind} job definitions: {err}"),
                    incomplete: true,
                });
                return;
            }
        };
        tracing::debug!(%region, %kind, count = summaries.len(), "listed definitions");
        let client = &self.by_region[&region];
        for summary in summaries {
            self.answers.inventory.existing_names.insert((
                region.clone(),
                kind,
                summary.name.clone(),
            ));
            if !(self.scope.name_filter)(&region, kind, &summary.name) {
                continue;
            }
            self.calls.describe(client, &region, kind, summary);
        }
    }
}

/// A definition's describe, as kept: see [`Definition::raw`].
struct Described {
    arn: String,
    raw: Value,
    whole_sha256: Option<String>,
}

/// The answers so far, kept apart until every call has answered: a definition needs its
/// describe, its tags (when listed) and its region's schedules.
#[derive(Default)]
struct Answers {
    /// Existing names and problems are recorded as they arrive; definitions at the end.
    inventory: Inventory,
    raws: HashMap<Key, Described>,
    /// Only for the definitions whose tags were listed.
    tags: HashMap<Key, Vec<Tag>>,
    schedules: HashMap<String, Vec<ScheduleSummary>>,
    /// Definitions dropped because a describe or a tag listing failed.
    failed: BTreeSet<Key>,
    schedule_raws: HashMap<(String, String), Value>,
    schedule_tags: HashMap<(String, String), Vec<Tag>>,
    failed_schedules: BTreeSet<(String, String)>,
    /// Notebooks by (region, name): their ARN and describe.
    notebook_raws: HashMap<(String, String), (String, Value)>,
    notebook_tags: HashMap<(String, String), Vec<Tag>>,
    failed_notebooks: BTreeSet<(String, String)>,
}

impl Answers {
    fn schedules_listed(&mut self, region: String, result: Result<Vec<ScheduleSummary>, AwsError>) {
        match result {
            Ok(list) => {
                self.schedules.insert(region, list);
            }
            Err(err) => self.inventory.problems.push(Problem {
                region,
                kind: None,
                name: None,
                message: format!(
                    "could not list monitoring schedules, so references are unknown \
                     (apply lists them again before touching anything): {err}"
                ),
                incomplete: false,
            }),
        }
    }

    fn described(&mut self, key: Key, result: Result<Described, AwsError>) {
        match result {
            Ok(described) => {
                self.raws.insert(key, described);
            }
            Err(err) => self.record_failure(key, "describe", &err),
        }
    }

    fn tagged(&mut self, key: Key, result: Result<Vec<Tag>, AwsError>) {
        match result {
            Ok(list) => {
                self.tags.insert(key, list);
            }
            // A definition whose tags are unknown cannot be recreated faithfully.
            Err(err) => self.record_failure(key, "list tags", &err),
        }
    }

    /// Drops a schedule whose describe or tags failed, reporting it once.
    fn schedule_failed(&mut self, region: String, name: String, call: &str, err: &AwsError) {
        if !self.failed_schedules.insert((region.clone(), name.clone())) {
            return;
        }
        let gone = err.is(ErrorClass::NotFound);
        self.inventory.problems.push(Problem {
            region,
            kind: None,
            message: if gone {
                format!("monitoring schedule {name} was deleted between list and describe")
            } else {
                format!("could not {call} monitoring schedule {name}: {err}")
            },
            name: Some(name),
            incomplete: !gone,
        });
    }

    /// Drops a notebook whose describe or tags failed, reporting it once.
    fn notebook_failed(&mut self, region: String, name: String, call: &str, err: &AwsError) {
        if !self.failed_notebooks.insert((region.clone(), name.clone())) {
            return;
        }
        let gone = err.is(ErrorClass::NotFound);
        self.inventory.problems.push(Problem {
            region,
            kind: Some(ResourceKind::NotebookInstance),
            message: if gone {
                "deleted between list and describe".to_owned()
            } else {
                format!("could not {call}: {err}")
            },
            name: Some(name),
            incomplete: !gone,
        });
    }

    /// Drops a definition whose describe or tags failed, reporting it once. NotFound means it
    /// was deleted meanwhile: worth a note, but nothing is missing from the inventory.
    fn record_failure(&mut self, key: Key, call: &str, err: &AwsError) {
        if !self.failed.insert(key.clone()) {
            return;
        }
        let gone = err.is(ErrorClass::NotFound);
        let (region, kind, name) = key;
        self.inventory.problems.push(Problem {
            region,
            kind: Some(kind.into()),
            name: Some(name),
            message: if gone {
                "deleted between list and describe".to_owned()
            } else {
                format!("could not {call}: {err}")
            },
            incomplete: !gone,
        });
    }

    /// Joins each described definition with its tags and the schedules that reference it;
    /// sorts definitions and problems.
    fn into_inventory(self) -> Inventory {
        let Answers {
            mut inventory,
            raws,
            mut tags,
            schedules,
            failed,
            schedule_raws,
            mut schedule_tags,
            failed_schedules,
            notebook_raws,
            mut notebook_tags,
            failed_notebooks,
        } = self;
        for (key, (arn, raw)) in notebook_raws {
            if failed_notebooks.contains(&key) {
                continue;
            }
            let tags = notebook_tags.remove(&key).unwrap_or_default();
            let (region, name) = key;
            inventory.notebooks.push(Notebook {
                region,
                name,
                arn,
                raw,
                tags,
            });
        }
        inventory
            .notebooks
            .sort_by(|a, b| (&a.region, &a.name).cmp(&(&b.region, &b.name)));
        for (key, raw) in schedule_raws {
            // A schedule changed to name a definition since it was listed has nothing inline.
            if failed_schedules.contains(&key)
                || raw
                    .pointer("/MonitoringScheduleConfig/MonitoringJobDefinition")
                    .is_none()
            {
                continue;
            }
            let arn = raw["MonitoringScheduleArn"]
                .as_str()
                .unwrap_or_default()
                .to_owned();
            let tags = schedule_tags.remove(&key);
            let (region, name) = key;
            inventory.schedules.push(InlineSchedule {
                region,
                name,
                arn,
                raw,
                tags,
            });
        }
        inventory
            .schedules
            .sort_by(|a, b| (&a.region, &a.name).cmp(&(&b.region, &b.name)));
        for (
            key,
            Described {
                arn,
                raw,
                whole_sha256,
            },
        ) in raws
        {
            if failed.contains(&key) {
                continue;
            }
            let (region, kind, name) = key.clone();
            let references = schedules
                .get(&region)
                .map(|list| {
                    references_among(list, kind, &name, |named| {
                        inventory
                            .existing_names
                            .contains(&(region.clone(), kind, named.to_owned()))
                    })
                })
                .unwrap_or_default();
            inventory.definitions.push(Definition {
                tags: tags.remove(&key),
                region,
                kind,
                name,
                arn,
                raw,
                whole_sha256,
                schedules: references,
            });
        }
        inventory
            .definitions
            .sort_by(|a, b| (&a.region, a.kind, &a.name).cmp(&(&b.region, b.kind, &b.name)));
        inventory.problems.sort_by(|a, b| {
            (&a.region, a.kind, &a.name, &a.message).cmp(&(&b.region, b.kind, &b.name, &b.message))
        });
        inventory
    }
}

impl Inventory {
    /// Could some definitions be missing because a call failed?
    pub fn is_incomplete(&self) -> bool {
        self.problems.iter().any(|p| p.incomplete)
    }
}

/// The schedules in `list` that reference the definition `name` of `kind`. A schedule naming
/// the definition in another case (`mixed-sched` for `Mixed-Sched`) counts (I8): if the service
/// matches names case-insensitively it would refuse to delete the definition while that schedule
/// exists, so the schedule must be moved like any other. Where the other names of the kind are
/// known, use [`references_among`].
pub fn references_to(list: &[ScheduleSummary], kind: Kind, name: &str) -> Vec<ScheduleRef> {
    references_among(list, kind, name, |_| false)
}

/// [`references_to`], knowing which definitions of `kind` exist (`exists_exactly`, by exact
/// name): a schedule naming `mixed-sched` is not `Mixed-Sched`'s when a definition named exactly
/// `mixed-sched` exists too (see [`crate::kinds::refers_to`]).
pub fn references_among(
    list: &[ScheduleSummary],
    kind: Kind,
    name: &str,
    exists_exactly: impl Fn(&str) -> bool,
) -> Vec<ScheduleRef> {
    list.iter()
        .filter(|s| {
            s.definition_name
                .as_deref()
                .is_some_and(|named| refers_to(named, name, &exists_exactly))
                && s.monitoring_type
                    .as_deref()
                    .is_none_or(|t| t == kind.monitoring_type())
        })
        .map(|s| ScheduleRef {
            name: s.name.clone(),
            status: s.status.clone(),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn summary(name: &str, definition: &str, monitoring_type: &str) -> ScheduleSummary {
        ScheduleSummary {
            name: name.to_owned(),
            arn: format!("arn:aws:sagemaker:us-east-1:123456789012:monitoring-schedule/{name}"),
            status: "Scheduled".to_owned(),
            definition_name: Some(definition.to_owned()),
            monitoring_type: Some(monitoring_type.to_owned()),
        }
    }

    #[test]
    fn a_schedule_naming_the_definition_in_another_case_references_it() {
        let list = [
            summary("sched-case", "mixed-sched", "DataQuality"),
            summary("sched-exact", "Mixed-Sched", "DataQuality"),
            summary("other-kind", "mixed-sched", "ModelBias"),
            summary("other-name", "mixed-sched-2", "DataQuality"),
        ];
        let names: Vec<String> = references_to(&list, Kind::DataQuality, "Mixed-Sched")
            .into_iter()
            .map(|r| r.name)
            .collect();
        assert_eq!(names, ["sched-case", "sched-exact"]);
        // With `mixed-sched` existing as a definition of its own, its schedules are its.
        let names: Vec<String> = references_among(&list, Kind::DataQuality, "Mixed-Sched", |n| {
            n == "mixed-sched"
        })
        .into_iter()
        .map(|r| r.name)
        .collect();
        assert_eq!(names, ["sched-exact"]);
    }
}
