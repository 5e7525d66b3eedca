//! The DynamoDB store (`dynamodb://TABLE`): one table, string keys `pk` / `sk`.
//!
//! | record                | pk                 | sk                           | attributes                        |
//! | --------------------- | ------------------ | ---------------------------- | --------------------------------- |
//! | spec                  | `group`            | NAME                         | rv (S), generation (N), body (S)  |
//! | status                | `status`           | NAME                         | body                              |
//! | journal counter       | `journal#NAME`     | `seq`                        | seq (N): the last assigned seq    |
//! | journal event         | `journal#NAME`     | `event#` + seq, 20 digits    | seq (N), body                     |
//! | approval              | `approval#NAME`    | OPERATION                    | body                              |
//! | lease                 | `lease`            | LEASE                        | holder (S), epoch, acquired_at, expires_at (N, ms) |
//! | change marker         | `marker`           | `changes`                    | marker (N); missing reads as 0    |
//!
//! `body` is the record as JSON (the same serde form as the file store). Specs and statuses
//! share a partition each so that `list` is two paginated Queries, not a Scan over journals.
//! The change marker is ADDed to in the same TransactWriteItems as every create, update,
//! delete and approve, so a write and its marker bump commit together or not at all; reading
//! it is one consistent GetItem.
//!
//! Every concurrency rule is a ConditionExpression evaluated by DynamoDB: `attribute_not_exists`
//! on create, `rv = :expected` on update/delete, holder+epoch(+expiry) on lease changes. Status,
//! fenced journal and approval writes are TransactWriteItems with a ConditionCheck on the lease
//! (and on the spec item's existence); journal seqs come from a counter item compare-and-set in
//! the same transaction as the event, so there are neither duplicates nor gaps. All reads that
//! feed a write are strongly consistent.
//!
//! Errors: a missing table is `NotInitialized` ("run `drctl init`"); throttling, 5xx, timeouts
//! and every other AWS failure are `Unavailable` with the AWS error code in the message.
//!
//! Every call is bounded by [`Timeouts`] (the cloud clients' values): the SDK sets no
//! operation timeout, so an endpoint that accepts connections and never answers would
//! otherwise hang `drctl get`, `apply` and `failover` indefinitely.

use std::collections::hash_map::RandomState;
use std::collections::HashMap;
use std::hash::BuildHasher;
use std::str::FromStr;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_dynamodb::config::http::HttpResponse;
use aws_sdk_dynamodb::config::interceptors::BeforeTransmitInterceptorContextRef;
use aws_sdk_dynamodb::config::timeout::TimeoutConfig;
use aws_sdk_dynamodb::config::{ConfigBag, Intercept, RuntimeComponents};
use aws_sdk_dynamodb::error::{
    BoxError, BuildError, DisplayErrorContext, ProvideErrorMetadata, SdkError,
};
use aws_sdk_dynamodb::operation::create_table::CreateTableError;
use aws_sdk_dynamodb::operation::describe_table::DescribeTableError;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, AttributeValue, BillingMode, ConditionCheck, Delete, KeySchemaElement,
    KeyType, Put, ReturnValue, ScalarAttributeType, StreamSpecification, StreamViewType,
    TableStatus, TransactWriteItem, Update,
};
use aws_sdk_dynamodb::Client;
use drctl_schema::{FailoverGroup, FailoverGroupStatus, Timestamp};
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::rules;
use crate::store::{
    Approval, ApprovalRecord, ChangeMarker, DamagedRecord, Event, Fence, InitOutcome, Inspection,
    Lease, Listing, Store, StoreError, StoreResult,
};

type Item = HashMap<String, AttributeValue>;

const PK: &str = "pk";
const SK: &str = "sk";
const GROUP_PK: &str = "group";
const STATUS_PK: &str = "status";
const LEASE_PK: &str = "lease";
const SEQ_SK: &str = "seq";
const EVENT_SK_PREFIX: &str = "event#";
const MARKER_PK: &str = "marker";
const MARKER_SK: &str = "changes";
const MARKER_ATTR: &str = "marker";

/// How long `init` waits for a new table to become ACTIVE (real DynamoDB: seconds).
const TABLE_ACTIVE_TIMEOUT: Duration = Duration::from_secs(120);
/// Rounds of read-counter / conditional-write before an append gives up. Each round one of
/// the contenders wins, so this bounds the number of concurrent appenders it can serve.
const APPEND_ATTEMPTS: u32 = 64;
/// Rounds of read / conditional-put for a lease acquisition (a lost race re-reads, and then
/// normally sees the winner's live lease).
const ACQUIRE_ATTEMPTS: u32 = 8;
/// Retries of a transaction cancelled only for TransactionConflict (another transaction was
/// touching one of its items at that instant). Every spec write and approval shares the
/// change-marker item, so concurrent CLI writes, even to different groups, meet there; the
/// jittered backoff spreads the contenders out, and ten rounds serve a burst of them.
const TRANSACTION_CONFLICT_RETRIES: u32 = 10;
/// At most 100 items per transaction; delete keeps three for spec, status and the marker.
const MAX_APPROVALS_IN_DELETE: usize = 97;

const CONDITION_FAILED: &str = "ConditionalCheckFailed";

/// How long the store waits for DynamoDB. The shipped values are the cloud clients' (see
/// `drctl_cloud::aws`), for the same reasons.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timeouts {
    /// A TCP (and TLS) connect: well under a second to any regional endpoint.
    pub connect: Duration,
    /// One attempt of one call: DynamoDB answers in milliseconds.
    pub attempt: Duration,
    /// One call with the SDK's retries. The SDK sets no limit of its own.
    pub operation: Duration,
}

impl Timeouts {
    /// What `drctl` ships with: 3.1 s connect, 10 s attempt, 25 s operation.
    pub const SHIPPED: Timeouts = Timeouts {
        connect: Duration::from_millis(3100),
        attempt: Duration::from_secs(10),
        operation: Duration::from_secs(25),
    };

    fn config(&self) -> TimeoutConfig {
        TimeoutConfig::builder()
            .connect_timeout(self.connect)
            .operation_attempt_timeout(self.attempt)
            .operation_timeout(self.operation)
            .build()
    }
}

impl Default for Timeouts {
    fn default() -> Self {
        Timeouts::SHIPPED
    }
}

#[derive(Debug, Clone)]
pub struct DynamoStore {
    client: Client,
    table: String,
    timeouts: Timeouts,
    endpoint: LastEndpoint,
}

/// The endpoint (scheme and authority) the client last sent a request to, for messages. The
/// SDK resolves it (AWS_ENDPOINT_URL, AWS_ENDPOINT_URL_DYNAMODB, profiles, region and
/// partition), and its timeout errors do not say where the request went.
#[derive(Debug, Clone, Default)]
struct LastEndpoint(Arc<Mutex<Option<String>>>);

impl LastEndpoint {
    fn get(&self) -> Option<String> {
        // A poisoned lock only means a thread panicked while replacing a string; the value
        // is still whole.
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

impl Intercept for LastEndpoint {
    fn name(&self) -> &'static str {
        "DrctlStoreLastEndpoint"
    }

    fn read_before_transmit(
        &self,
        context: &BeforeTransmitInterceptorContextRef<'_>,
        _components: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let origin = url_origin(context.request().uri()).to_string();
        *self.0.lock().unwrap_or_else(PoisonError::into_inner) = Some(origin);
        Ok(())
    }
}

/// `scheme://authority` of a URL (no path or query: nothing request-specific).
fn url_origin(url: &str) -> &str {
    let authority_start = url.find("://").map_or(0, |i| i + 3);
    match url[authority_start..].find(['/', '?']) {
        Some(end) => &url[..authority_start + end],
        None => url,
    }
}

/// How a transaction ended: committed, or cancelled with one reason code per item (`None`
/// for the items that were fine).
enum Transaction {
    Committed,
    Cancelled(Vec<String>),
}

impl Transaction {
    fn failed_at(codes: &[String], index: usize) -> bool {
        codes
            .get(index)
            .is_some_and(|code| code == CONDITION_FAILED)
    }
}

impl DynamoStore {
    /// A store on `table` configured by the standard AWS chain (AWS_ENDPOINT_URL,
    /// AWS_REGION, AWS_PROFILE, instance and container roles, ...), with the shipped
    /// timeouts.
    pub async fn from_env(table: impl Into<String>) -> Self {
        let config = aws_config::defaults(aws_config::BehaviorVersion::latest())
            .load()
            .await;
        DynamoStore::from_sdk_config(&config, table)
    }

    /// A store on `table` from a loaded AWS configuration, with the shipped timeouts.
    pub fn from_sdk_config(config: &aws_config::SdkConfig, table: impl Into<String>) -> Self {
        DynamoStore::with_config(config.into(), table, Timeouts::SHIPPED)
    }

    /// A store on `table` through a client configuration made by the caller (tests point
    /// each store at its own emulator without touching the process environment). `timeouts`
    /// replace any the configuration carries.
    pub fn with_config(
        config: aws_sdk_dynamodb::config::Builder,
        table: impl Into<String>,
        timeouts: Timeouts,
    ) -> Self {
        let endpoint = LastEndpoint::default();
        let config = config
            .timeout_config(timeouts.config())
            .interceptor(endpoint.clone())
            .build();
        DynamoStore {
            client: Client::from_conf(config),
            table: table.into(),
            timeouts,
            endpoint,
        }
    }

    /// The timeouts every call of this store is bounded by.
    pub fn timeouts(&self) -> Timeouts {
        self.timeouts
    }

    pub fn table(&self) -> &str {
        &self.table
    }

    /// Whether the configuration names a region (without one, every call would fail).
    pub fn has_region(&self) -> bool {
        self.client.config().region().is_some()
    }

    // -----------------------------------------------------------------------------------------
    // Error mapping
    // -----------------------------------------------------------------------------------------

    fn aws_error<E>(&self, operation: &str, err: SdkError<E, HttpResponse>) -> StoreError
    where
        E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    {
        let table = &self.table;
        let Some(service_error) = err.as_service_error() else {
            // Timeouts, connection failures, unparseable responses: the request may or may not
            // have been applied.
            let endpoint = self.endpoint_description();
            let within = match &err {
                SdkError::TimeoutError(_) => {
                    let Timeouts {
                        connect,
                        attempt,
                        operation,
                    } = self.timeouts;
                    format!(
                        " within the store's timeouts (operation {operation:?}, attempt \
                         {attempt:?}, connect {connect:?})"
                    )
                }
                _ => String::new(),
            };
            return StoreError::Unavailable {
                message: format!(
                    "DynamoDB {operation} on table {table} at {endpoint} got no answer{within}: \
                     {}",
                    DisplayErrorContext(&err)
                ),
            };
        };
        let Some(code) = service_error.code() else {
            // Something other than DynamoDB answered (a wrong endpoint path or host, a proxy's
            // error page): "UnknownError: no message" said nothing of where to look.
            let status = err.raw_response().map_or_else(
                || "an answer".to_string(),
                |r| format!("HTTP {}", r.status()),
            );
            return StoreError::Unavailable {
                message: format!(
                    "DynamoDB {operation} on table {table}: {} answered with {status} and no \
                     AWS error code, so it is not DynamoDB answering (check the endpoint: \
                     AWS_ENDPOINT_URL, and the region)",
                    self.endpoint_description()
                ),
            };
        };
        let detail = service_error
            .message()
            .unwrap_or("(DynamoDB sent no message)");
        match code {
            "ResourceNotFoundException" => StoreError::NotInitialized {
                message: format!(
                    "DynamoDB table {table} does not exist ({code} from {operation}): run \
                     `drctl init` with the same --store and AWS region to create it"
                ),
            },
            _ => StoreError::Unavailable {
                message: format!("DynamoDB {operation} on table {table} failed: {code}: {detail}"),
            },
        }
    }

    /// Where the requests go, for messages: the endpoint last sent to, or (nothing sent yet,
    /// say the credentials never resolved) the region's.
    fn endpoint_description(&self) -> String {
        self.endpoint.get().unwrap_or_else(|| {
            let region = self.client.config().region().map_or("?", |r| r.as_ref());
            format!("the DynamoDB endpoint of region {region}")
        })
    }

    fn build_error(&self, what: &str, err: BuildError) -> StoreError {
        StoreError::Unavailable {
            message: format!("could not build the DynamoDB {what} request: {err}"),
        }
    }

    /// What a cancellation means when no condition of interest failed.
    fn cancelled(&self, operation: &str, codes: &[String]) -> StoreError {
        StoreError::Unavailable {
            message: format!(
                "DynamoDB {operation} on table {} was cancelled (TransactionCanceledException, \
                 reasons: [{}])",
                self.table,
                codes.join(", ")
            ),
        }
    }

    // -----------------------------------------------------------------------------------------
    // Primitive calls
    // -----------------------------------------------------------------------------------------

    async fn get_item(&self, pk: &str, sk: &str) -> StoreResult<Option<Item>> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key(pk, sk)))
            .consistent_read(true)
            .send()
            .await
            .map_err(|err| self.aws_error("GetItem", err))?;
        Ok(out.item)
    }

    /// Every item of a partition (optionally only sort keys with a prefix), in sort-key order,
    /// following LastEvaluatedKey to the end.
    async fn query_all(&self, pk: &str, sk_prefix: Option<&str>) -> StoreResult<Vec<Item>> {
        let mut items = Vec::new();
        let mut start: Option<Item> = None;
        loop {
            let mut request = self
                .client
                .query()
                .table_name(&self.table)
                .consistent_read(true)
                .expression_attribute_names("#pk", PK)
                .expression_attribute_values(":pk", s(pk))
                .set_exclusive_start_key(start.take());
            request = match sk_prefix {
                Some(prefix) => request
                    .key_condition_expression("#pk = :pk AND begins_with(#sk, :prefix)")
                    .expression_attribute_names("#sk", SK)
                    .expression_attribute_values(":prefix", s(prefix)),
                None => request.key_condition_expression("#pk = :pk"),
            };
            let out = request
                .send()
                .await
                .map_err(|err| self.aws_error("Query", err))?;
            items.extend(out.items.unwrap_or_default());
            match out.last_evaluated_key {
                Some(last) if !last.is_empty() => start = Some(last),
                _ => return Ok(items),
            }
        }
    }

    /// TransactWriteItems; cancellations are returned with their reason codes for the caller
    /// to interpret by item index. A cancellation caused only by TransactionConflict is retried.
    async fn transact(
        &self,
        operation: &str,
        items: Vec<TransactWriteItem>,
    ) -> StoreResult<Transaction> {
        let mut attempt = 0;
        loop {
            attempt += 1;
            let result = self
                .client
                .transact_write_items()
                .set_transact_items(Some(items.clone()))
                .send()
                .await;
            let err = match result {
                Ok(_) => return Ok(Transaction::Committed),
                Err(err) => err,
            };
            let codes: Vec<String> = match err.as_service_error() {
                Some(TransactWriteItemsError::TransactionCanceledException(cancelled)) => cancelled
                    .cancellation_reasons()
                    .iter()
                    .map(|reason| reason.code().unwrap_or("None").to_string())
                    .collect(),
                _ => return Err(self.aws_error(operation, err)),
            };
            let only_conflicts = !codes.iter().any(|code| code == CONDITION_FAILED)
                && codes.iter().any(|code| code == "TransactionConflict");
            if only_conflicts && attempt <= TRANSACTION_CONFLICT_RETRIES {
                tokio::time::sleep(backoff(attempt)).await;
                continue;
            }
            return Ok(Transaction::Cancelled(codes));
        }
    }

    fn put(&self, item: Item, condition: Option<Condition>) -> StoreResult<TransactWriteItem> {
        let mut put = Put::builder().table_name(&self.table).set_item(Some(item));
        if let Some(condition) = condition {
            put = put
                .condition_expression(condition.expression)
                .set_expression_attribute_names(condition.names)
                .set_expression_attribute_values(condition.values);
        }
        let put = put.build().map_err(|err| self.build_error("Put", err))?;
        Ok(TransactWriteItem::builder().put(put).build())
    }

    fn delete_item(
        &self,
        pk: &str,
        sk: &str,
        condition: Option<Condition>,
    ) -> StoreResult<TransactWriteItem> {
        let mut delete = Delete::builder()
            .table_name(&self.table)
            .set_key(Some(key(pk, sk)));
        if let Some(condition) = condition {
            delete = delete
                .condition_expression(condition.expression)
                .set_expression_attribute_names(condition.names)
                .set_expression_attribute_values(condition.values);
        }
        let delete = delete
            .build()
            .map_err(|err| self.build_error("Delete", err))?;
        Ok(TransactWriteItem::builder().delete(delete).build())
    }

    fn condition_check(
        &self,
        pk: &str,
        sk: &str,
        condition: Condition,
    ) -> StoreResult<TransactWriteItem> {
        let check = ConditionCheck::builder()
            .table_name(&self.table)
            .set_key(Some(key(pk, sk)))
            .condition_expression(condition.expression)
            .set_expression_attribute_names(condition.names)
            .set_expression_attribute_values(condition.values)
            .build()
            .map_err(|err| self.build_error("ConditionCheck", err))?;
        Ok(TransactWriteItem::builder().condition_check(check).build())
    }

    /// ConditionCheck that `fence` is still the lease's holder and epoch.
    fn fence_check(&self, fence: &Fence) -> StoreResult<TransactWriteItem> {
        self.condition_check(
            LEASE_PK,
            &fence.lease,
            Condition::new("#holder = :holder AND #epoch = :epoch")
                .name("#holder", "holder")
                .name("#epoch", "epoch")
                .value(":holder", s(&fence.holder))
                .value(":epoch", n(fence.epoch)),
        )
    }

    /// The change-marker bump that rides in the transaction of every create, update, delete
    /// and approve (ADD makes the item, at 1, when it is missing).
    fn marker_bump(&self) -> StoreResult<TransactWriteItem> {
        let update = Update::builder()
            .table_name(&self.table)
            .set_key(Some(key(MARKER_PK, MARKER_SK)))
            .update_expression("ADD #marker :one")
            .expression_attribute_names("#marker", MARKER_ATTR)
            .expression_attribute_values(":one", n(1))
            .build()
            .map_err(|err| self.build_error("Update", err))?;
        Ok(TransactWriteItem::builder().update(update).build())
    }

    /// ConditionCheck that the group's spec item exists.
    fn group_exists_check(&self, name: &str) -> StoreResult<TransactWriteItem> {
        self.condition_check(GROUP_PK, name, Condition::exists())
    }

    // -----------------------------------------------------------------------------------------
    // Records
    // -----------------------------------------------------------------------------------------

    async fn spec(&self, name: &str) -> StoreResult<Option<FailoverGroup>> {
        match self.get_item(GROUP_PK, name).await? {
            Some(item) => spec_from_item(&item).map(Some),
            None => Ok(None),
        }
    }

    async fn status(&self, name: &str) -> StoreResult<Option<FailoverGroupStatus>> {
        match self.get_item(STATUS_PK, name).await? {
            Some(item) => body(&item, &format!("{STATUS_PK}/{name}")).map(Some),
            None => Ok(None),
        }
    }

    async fn lease(&self, lease: &str) -> StoreResult<Option<Lease>> {
        match self.get_item(LEASE_PK, lease).await? {
            Some(item) => lease_from_item(&item).map(Some),
            None => Ok(None),
        }
    }

    /// The lease as an acquirer sees it, and the condition that it is still what was read.
    /// A damaged lease item stands for an expired lease (`rules::stand_in_for_damaged_lease`),
    /// and comes back as the copy to keep beside it.
    async fn lease_for_takeover(&self, lease: &str, now: Timestamp) -> StoreResult<LeaseRead> {
        let Some(item) = self.get_item(LEASE_PK, lease).await? else {
            return Ok(LeaseRead {
                current: None,
                unchanged: Condition::not_exists(),
                damaged: None,
            });
        };
        match lease_from_item(&item) {
            Ok(current) => Ok(LeaseRead {
                unchanged: Condition::lease_unchanged(&current),
                current: Some(current),
                damaged: None,
            }),
            Err(StoreError::Corrupt { key, message }) => {
                tracing::warn!(lease, key = %key, reason = %message, "the lease item is damaged; taking the lease over as expired");
                let mut copy = item.clone();
                copy.insert(SK.into(), s(format!("{lease}.damaged")));
                Ok(LeaseRead {
                    current: Some(rules::stand_in_for_damaged_lease(lease, &key, now)),
                    unchanged: Condition::item_unchanged(&item, LEASE_ATTRIBUTES),
                    damaged: Some(copy),
                })
            }
            Err(err) => Err(err),
        }
    }

    async fn fenced_error(&self, fence: &Fence) -> StoreError {
        match self.lease(&fence.lease).await {
            Ok(current) => rules::fenced(fence, current.as_ref()),
            Err(_) => rules::fenced(fence, None),
        }
    }

    async fn conflict_or_not_found(
        &self,
        name: &str,
        expected: &str,
        yours: Option<&FailoverGroup>,
        retry: &str,
    ) -> StoreError {
        match self.spec(name).await {
            Ok(Some(stored)) => rules::conflict(name, expected, yours, &stored, retry),
            Ok(None) => rules::not_found(name),
            Err(err) => err,
        }
    }

    /// The journal's last assigned seq (0 before the first event).
    async fn last_seq(&self, name: &str) -> StoreResult<u64> {
        let pk = journal_pk(name);
        match self.get_item(&pk, SEQ_SK).await? {
            Some(item) => attr_n::<u64>(&item, "seq", &format!("{pk}/{SEQ_SK}")),
            None => Ok(0),
        }
    }

    /// The two items that append `event` as seq `last + 1`: the counter compare-and-set
    /// and the event itself.
    fn event_items(
        &self,
        name: &str,
        event: &Event,
        last: u64,
    ) -> StoreResult<[TransactWriteItem; 2]> {
        let pk = journal_pk(name);
        let seq = last + 1;
        let counter_condition = if last == 0 {
            Condition::not_exists()
        } else {
            Condition::new("#seq = :last")
                .name("#seq", "seq")
                .value(":last", n(last))
        };
        let mut counter = key(&pk, SEQ_SK);
        counter.insert("seq".into(), n(seq));
        let mut stored_event = event.clone();
        stored_event.seq = seq;
        let sk = event_sk(seq);
        let mut event_item = key(&pk, &sk);
        event_item.insert("seq".into(), n(seq));
        event_item.insert(
            "body".into(),
            to_body(&stored_event, &format!("{pk}/{sk}"))?,
        );
        Ok([
            self.put(counter, Some(counter_condition))?,
            self.put(event_item, Some(Condition::not_exists()))?,
        ])
    }

    /// Run a spec write (`items`, its own condition first) together with the append of
    /// `event`, in one transaction: both commit or neither. A lost race for the journal's
    /// seq re-reads the counter and tries again; a failed condition of the spec write is
    /// returned as `Err(codes)` for the caller to explain.
    /// An approval's write: the group must exist, the first approval stands (who approved
    /// and when is an audit fact), and the change marker moves.
    fn approval_items(
        &self,
        name: &str,
        approval: &ApprovalRecord,
    ) -> StoreResult<Vec<TransactWriteItem>> {
        rules::check_name("failovergroup", name)?;
        rules::check_name("operation", &approval.operation_id)?;
        let pk = approval_pk(name);
        let mut item = key(&pk, &approval.operation_id);
        item.insert(
            "body".into(),
            to_body(approval, &format!("{pk}/{}", approval.operation_id))?,
        );
        Ok(vec![
            self.group_exists_check(name)?,
            self.put(item, Some(Condition::not_exists()))?,
            self.marker_bump()?,
        ])
    }

    async fn transact_with_event(
        &self,
        operation: &str,
        name: &str,
        items: Vec<TransactWriteItem>,
        event: &Event,
    ) -> StoreResult<Result<(), Vec<String>>> {
        let own = items.len();
        for attempt in 1..=APPEND_ATTEMPTS {
            let last = self.last_seq(name).await?;
            let mut all = items.clone();
            all.extend(self.event_items(name, event, last)?);
            match self.transact(operation, all).await? {
                Transaction::Committed => return Ok(Ok(())),
                Transaction::Cancelled(codes) => {
                    if codes[..own.min(codes.len())]
                        .iter()
                        .any(|code| code == CONDITION_FAILED)
                    {
                        return Ok(Err(codes));
                    }
                    let lost_race = codes[own.min(codes.len())..]
                        .iter()
                        .any(|code| code == CONDITION_FAILED || code == "TransactionConflict");
                    if !lost_race {
                        return Err(self.cancelled(operation, &codes));
                    }
                    tokio::time::sleep(backoff(attempt)).await;
                }
            }
        }
        Err(StoreError::Unavailable {
            message: format!(
                "could not write failovergroup/{name} with its journal event: {APPEND_ATTEMPTS} \
                 attempts lost the race for the next sequence number; nothing was written, retry"
            ),
        })
    }

    /// The approval sort keys of a group (for delete).
    async fn approval_keys(&self, name: &str) -> StoreResult<Vec<String>> {
        let approvals = self.query_all(&approval_pk(name), None).await?;
        Ok(approvals
            .iter()
            .filter_map(|item| attr_s(item, SK, "approval/?").ok().map(str::to_string))
            .collect())
    }

    /// The items of a delete: spec (conditional), status, marker, the first approvals.
    fn delete_items(
        &self,
        name: &str,
        expected_resource_version: Option<&str>,
        approvals: &[String],
    ) -> StoreResult<Vec<TransactWriteItem>> {
        let condition = match expected_resource_version {
            Some(expected) => Condition::resource_version(expected),
            None => Condition::exists(),
        };
        let mut items = vec![
            self.delete_item(GROUP_PK, name, Some(condition))?,
            self.delete_item(STATUS_PK, name, None)?,
            self.marker_bump()?,
        ];
        for operation in approvals {
            items.push(self.delete_item(&approval_pk(name), operation, None)?);
        }
        Ok(items)
    }

    async fn delete_refused(
        &self,
        name: &str,
        expected_resource_version: Option<&str>,
    ) -> StoreError {
        match expected_resource_version {
            Some(expected) => {
                self.conflict_or_not_found(name, expected, None, rules::RETRY_DELETE)
                    .await
            }
            None => rules::not_found(name),
        }
    }

    /// Approvals past the ones a delete transaction holds (only a group with more than 97).
    /// Its spec is gone already, so a failure leaves orphaned approvals, which no later group
    /// can reach by accident (operation ids are unique).
    async fn delete_remaining_approvals(&self, name: &str, after: &[String]) {
        for operation in after {
            if let Err(err) = self
                .client
                .delete_item()
                .table_name(&self.table)
                .set_key(Some(key(&approval_pk(name), operation)))
                .send()
                .await
            {
                tracing::warn!(group = name, operation = %operation, error = %DisplayErrorContext(&err), "could not delete an approval of a deleted group");
            }
        }
    }

    async fn wait_until_active(&self) -> StoreResult<()> {
        let deadline = tokio::time::Instant::now() + TABLE_ACTIVE_TIMEOUT;
        loop {
            let out = self
                .client
                .describe_table()
                .table_name(&self.table)
                .send()
                .await
                .map_err(|err| self.aws_error("DescribeTable", err))?;
            let status = out.table.as_ref().and_then(|t| t.table_status().cloned());
            if status == Some(TableStatus::Active) {
                return Ok(());
            }
            if tokio::time::Instant::now() >= deadline {
                return Err(StoreError::Unavailable {
                    message: format!(
                        "DynamoDB table {} is still {:?} after {:?}; run `drctl init` again \
                         later",
                        self.table, status, TABLE_ACTIVE_TIMEOUT
                    ),
                });
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    }

    fn check_key_schema(
        &self,
        table: &aws_sdk_dynamodb::types::TableDescription,
    ) -> StoreResult<()> {
        let keys: Vec<(&str, &KeyType)> = table
            .key_schema()
            .iter()
            .map(|k| (k.attribute_name(), k.key_type()))
            .collect();
        if keys == [(PK, &KeyType::Hash), (SK, &KeyType::Range)] {
            return Ok(());
        }
        Err(StoreError::Corrupt {
            key: format!("dynamodb://{}", self.table),
            message: format!(
                "the table exists but is not a drctl store: its key schema is {keys:?}, drctl \
                 needs pk (HASH, S) and sk (RANGE, S). Choose another table name."
            ),
        })
    }

    async fn create_table(&self) -> StoreResult<bool> {
        let attribute = |name: &str| {
            AttributeDefinition::builder()
                .attribute_name(name)
                .attribute_type(ScalarAttributeType::S)
                .build()
                .map_err(|err| self.build_error("CreateTable", err))
        };
        let key_element = |name: &str, key_type: KeyType| {
            KeySchemaElement::builder()
                .attribute_name(name)
                .key_type(key_type)
                .build()
                .map_err(|err| self.build_error("CreateTable", err))
        };
        let streams = StreamSpecification::builder()
            .stream_enabled(true)
            .stream_view_type(StreamViewType::NewAndOldImages)
            .build()
            .map_err(|err| self.build_error("CreateTable", err))?;
        let result = self
            .client
            .create_table()
            .table_name(&self.table)
            .attribute_definitions(attribute(PK)?)
            .attribute_definitions(attribute(SK)?)
            .key_schema(key_element(PK, KeyType::Hash)?)
            .key_schema(key_element(SK, KeyType::Range)?)
            .billing_mode(BillingMode::PayPerRequest)
            .stream_specification(streams)
            .send()
            .await;
        match result {
            Ok(_) => Ok(true),
            // Someone else (another `drctl init`) created it first.
            Err(err)
                if matches!(
                    err.as_service_error(),
                    Some(CreateTableError::ResourceInUseException(_))
                ) =>
            {
                Ok(false)
            }
            Err(err) => Err(self.aws_error("CreateTable", err)),
        }
    }
}

/// A condition expression with its placeholders.
struct Condition {
    expression: String,
    names: Option<HashMap<String, String>>,
    values: Option<Item>,
}

impl Condition {
    fn new(expression: &str) -> Self {
        Condition {
            expression: expression.to_string(),
            names: None,
            values: None,
        }
    }

    fn exists() -> Self {
        Condition::new("attribute_exists(#pk)").name("#pk", PK)
    }

    fn not_exists() -> Self {
        Condition::new("attribute_not_exists(#pk)").name("#pk", PK)
    }

    /// The spec item's resourceVersion is still `expected`.
    fn resource_version(expected: &str) -> Self {
        Condition::new("#rv = :expected")
            .name("#rv", "rv")
            .value(":expected", s(expected))
    }

    /// The lease item still holds exactly `current`.
    fn lease_unchanged(current: &Lease) -> Self {
        Condition::new("#holder = :holder AND #epoch = :epoch AND #expires = :expires")
            .name("#holder", "holder")
            .name("#epoch", "epoch")
            .name("#expires", "expires_at")
            .value(":holder", s(&current.holder))
            .value(":epoch", n(current.epoch))
            .value(":expires", n(current.expires_at.millis()))
    }

    /// The item still exists and is exactly `item` as read: each of its attributes has the
    /// value read, and each of `expected` that it lacked is still absent (a writer in between
    /// sets at least one of them).
    fn item_unchanged(item: &Item, expected: &[&str]) -> Self {
        let mut clauses = vec!["attribute_exists(#pk)".to_string()];
        let mut condition = Condition::new("").name("#pk", PK);
        let mut attributes: Vec<(&String, &AttributeValue)> = item
            .iter()
            .filter(|(name, _)| *name != PK && *name != SK)
            .collect();
        attributes.sort_by(|a, b| a.0.cmp(b.0));
        for (i, (name, value)) in attributes.into_iter().enumerate() {
            clauses.push(format!("#a{i} = :a{i}"));
            condition = condition
                .name(&format!("#a{i}"), name)
                .value(&format!(":a{i}"), value.clone());
        }
        let absent = expected.iter().filter(|name| !item.contains_key(**name));
        for (i, name) in absent.enumerate() {
            clauses.push(format!("attribute_not_exists(#m{i})"));
            condition = condition.name(&format!("#m{i}"), name);
        }
        condition.expression = clauses.join(" AND ");
        condition
    }

    fn name(mut self, placeholder: &str, attribute: &str) -> Self {
        self.names
            .get_or_insert_with(HashMap::new)
            .insert(placeholder.to_string(), attribute.to_string());
        self
    }

    fn value(mut self, placeholder: &str, value: AttributeValue) -> Self {
        self.values
            .get_or_insert_with(HashMap::new)
            .insert(placeholder.to_string(), value);
        self
    }
}

/// 10 ms per attempt (at most 100 ms) plus as much again at random: contenders that lost
/// together must not retry together.
fn backoff(attempt: u32) -> Duration {
    let base = Duration::from_millis(u64::from(attempt.min(10)) * 10);
    base + jitter(base)
}

/// A random duration in [0, max], from std's per-instance random hasher keys (good enough to
/// spread retries; not for anything secret).
fn jitter(max: Duration) -> Duration {
    let random = RandomState::new().hash_one(0u8);
    let max_nanos = u64::try_from(max.as_nanos()).unwrap_or(u64::MAX);
    Duration::from_nanos(random % max_nanos.saturating_add(1))
}

fn s(value: impl Into<String>) -> AttributeValue {
    AttributeValue::S(value.into())
}

fn n(value: impl ToString) -> AttributeValue {
    AttributeValue::N(value.to_string())
}

fn key(pk: &str, sk: &str) -> Item {
    HashMap::from([(PK.to_string(), s(pk)), (SK.to_string(), s(sk))])
}

fn journal_pk(name: &str) -> String {
    format!("journal#{name}")
}

fn event_sk(seq: u64) -> String {
    format!("{EVENT_SK_PREFIX}{seq:020}")
}

fn approval_pk(name: &str) -> String {
    format!("approval#{name}")
}

fn corrupt(key: &str, message: impl Into<String>) -> StoreError {
    StoreError::Corrupt {
        key: key.to_string(),
        message: message.into(),
    }
}

fn attr_s<'a>(item: &'a Item, attribute: &str, key: &str) -> StoreResult<&'a str> {
    match item.get(attribute) {
        Some(AttributeValue::S(value)) => Ok(value),
        _ => Err(corrupt(
            key,
            format!("attribute {attribute} is missing or not a string"),
        )),
    }
}

fn attr_n<T: FromStr>(item: &Item, attribute: &str, key: &str) -> StoreResult<T> {
    match item.get(attribute) {
        Some(AttributeValue::N(value)) => value.parse().map_err(|_| {
            corrupt(
                key,
                format!("attribute {attribute} = {value} is out of range"),
            )
        }),
        _ => Err(corrupt(
            key,
            format!("attribute {attribute} is missing or not a number"),
        )),
    }
}

fn body<T: DeserializeOwned>(item: &Item, key: &str) -> StoreResult<T> {
    serde_json::from_str(attr_s(item, "body", key)?)
        .map_err(|err| corrupt(key, format!("body is not a valid record: {err}")))
}

fn to_body<T: Serialize>(value: &T, key: &str) -> StoreResult<AttributeValue> {
    serde_json::to_string(value)
        .map(AttributeValue::S)
        .map_err(|err| corrupt(key, format!("cannot serialise: {err}")))
}

fn spec_item(record: &FailoverGroup) -> StoreResult<Item> {
    let name = &record.metadata.name;
    let mut item = key(GROUP_PK, name);
    item.insert("name".into(), s(name));
    item.insert(
        "rv".into(),
        s(record.metadata.resource_version.clone().unwrap_or_default()),
    );
    item.insert(
        "generation".into(),
        n(record.metadata.generation.unwrap_or(1)),
    );
    item.insert(
        "body".into(),
        to_body(record, &format!("{GROUP_PK}/{name}"))?,
    );
    Ok(item)
}

/// The spec record; the `rv` and `generation` attributes (which the conditions test) are the
/// truth if the body disagrees.
fn spec_from_item(item: &Item) -> StoreResult<FailoverGroup> {
    let key = format!("{GROUP_PK}/{}", attr_s(item, SK, "group/?")?);
    let mut record: FailoverGroup = body(item, &key)?;
    record.metadata.resource_version = Some(attr_s(item, "rv", &key)?.to_string());
    record.metadata.generation = Some(attr_n(item, "generation", &key)?);
    record.status = None;
    Ok(record)
}

/// The attributes of a lease item besides its key (see `lease_item`).
const LEASE_ATTRIBUTES: &[&str] = &["holder", "epoch", "acquired_at", "expires_at"];

/// A lease item as an acquirer read it (see `DynamoStore::lease_for_takeover`).
struct LeaseRead {
    current: Option<Lease>,
    unchanged: Condition,
    damaged: Option<Item>,
}

fn lease_item(lease: &Lease) -> Item {
    let mut item = key(LEASE_PK, &lease.name);
    item.insert("holder".into(), s(&lease.holder));
    item.insert("epoch".into(), n(lease.epoch));
    item.insert("acquired_at".into(), n(lease.acquired_at.millis()));
    item.insert("expires_at".into(), n(lease.expires_at.millis()));
    item
}

fn lease_from_item(item: &Item) -> StoreResult<Lease> {
    let name = attr_s(item, SK, "lease/?")?.to_string();
    let key = format!("{LEASE_PK}/{name}");
    Ok(Lease {
        holder: attr_s(item, "holder", &key)?.to_string(),
        epoch: attr_n(item, "epoch", &key)?,
        acquired_at: Timestamp::from_millis(attr_n(item, "acquired_at", &key)?),
        expires_at: Timestamp::from_millis(attr_n(item, "expires_at", &key)?),
        name,
    })
}

#[async_trait]
impl Store for DynamoStore {
    fn url(&self) -> String {
        format!("dynamodb://{}", self.table)
    }

    async fn init(&self) -> StoreResult<InitOutcome> {
        let described = self
            .client
            .describe_table()
            .table_name(&self.table)
            .send()
            .await;
        let outcome = match described {
            Ok(out) => {
                if let Some(table) = out.table.as_ref() {
                    self.check_key_schema(table)?;
                }
                InitOutcome::AlreadyExisted
            }
            Err(err)
                if matches!(
                    err.as_service_error(),
                    Some(DescribeTableError::ResourceNotFoundException(_))
                ) =>
            {
                if self.create_table().await? {
                    InitOutcome::Created
                } else {
                    InitOutcome::AlreadyExisted
                }
            }
            Err(err) => return Err(self.aws_error("DescribeTable", err)),
        };
        self.wait_until_active().await?;
        Ok(outcome)
    }

    async fn get(&self, name: &str) -> StoreResult<Option<FailoverGroup>> {
        rules::check_name("failovergroup", name)?;
        let Some(mut record) = self.spec(name).await? else {
            return Ok(None);
        };
        record.status = self.status(name).await?;
        Ok(Some(record))
    }

    async fn list(&self) -> StoreResult<Vec<FailoverGroup>> {
        let listing = self.list_readable().await?;
        for damaged in &listing.damaged {
            tracing::warn!(group = %damaged.name, key = %damaged.key, reason = %damaged.reason, "left out of the list: a record of this group is damaged (`drctl describe` shows it, `drctl delete` removes it)");
        }
        Ok(listing.groups)
    }

    async fn list_readable(&self) -> StoreResult<Listing> {
        let mut statuses: HashMap<String, StoreResult<FailoverGroupStatus>> = HashMap::new();
        for item in self.query_all(STATUS_PK, None).await? {
            let name = attr_s(&item, SK, "status/?")?.to_string();
            let status = body(&item, &format!("{STATUS_PK}/{name}"));
            statuses.insert(name, status);
        }
        let mut listing = Listing::default();
        for item in self.query_all(GROUP_PK, None).await? {
            let name = attr_s(&item, SK, "group/?")?.to_string();
            let mut damaged = Vec::new();
            let record = spec_from_item(&item).map_err(|err| {
                damaged.extend(DamagedRecord::from_error(&name, &err));
            });
            let status = match statuses.remove(&name).transpose() {
                Ok(status) => status,
                Err(err) => {
                    damaged.extend(DamagedRecord::from_error(&name, &err));
                    None
                }
            };
            match record {
                Ok(mut record) if damaged.is_empty() => {
                    record.status = status;
                    listing.groups.push(record);
                }
                _ => listing.damaged.extend(damaged),
            }
        }
        listing
            .groups
            .sort_by(|a, b| a.metadata.name.cmp(&b.metadata.name));
        listing.damaged.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(listing)
    }

    async fn inspect(&self, name: &str) -> StoreResult<Option<Inspection>> {
        rules::check_name("failovergroup", name)?;
        let Some(item) = self.get_item(GROUP_PK, name).await? else {
            return Ok(None);
        };
        let mut inspection = Inspection::default();
        let spec = match spec_from_item(&item) {
            Ok(spec) => Some(spec),
            Err(err) => {
                inspection
                    .damaged
                    .push(DamagedRecord::from_error(name, &err).ok_or(err)?);
                None
            }
        };
        let status = match self.status(name).await {
            Ok(status) => status,
            Err(err) => {
                inspection
                    .damaged
                    .push(DamagedRecord::from_error(name, &err).ok_or(err)?);
                None
            }
        };
        inspection.doc = spec.map(|mut doc| {
            doc.status = status;
            doc
        });
        Ok(Some(inspection))
    }

    async fn create_with_event(
        &self,
        doc: &FailoverGroup,
        event: &Event,
    ) -> StoreResult<FailoverGroup> {
        let name = doc.metadata.name.as_str();
        rules::check_name("failovergroup", name)?;
        let record = rules::created_record(doc);
        let items = vec![
            self.put(spec_item(&record)?, Some(Condition::not_exists()))?,
            self.delete_item(STATUS_PK, name, None)?,
            self.marker_bump()?,
        ];
        match self
            .transact_with_event("TransactWriteItems (create)", name, items, event)
            .await?
        {
            Ok(()) => Ok(record),
            Err(_) => Err(rules::already_exists(name)),
        }
    }

    async fn update_with_event(
        &self,
        doc: &FailoverGroup,
        expected_resource_version: &str,
        event: &Event,
    ) -> StoreResult<FailoverGroup> {
        let name = doc.metadata.name.as_str();
        rules::check_name("failovergroup", name)?;
        let stored = self.spec(name).await?;
        let record = rules::checked_update(name, stored.as_ref(), doc, expected_resource_version)?;
        let items = vec![
            self.put(
                spec_item(&record)?,
                Some(Condition::resource_version(expected_resource_version)),
            )?,
            self.marker_bump()?,
        ];
        match self
            .transact_with_event("TransactWriteItems (update)", name, items, event)
            .await?
        {
            Ok(()) => Ok(record),
            Err(_) => Err(self
                .conflict_or_not_found(
                    name,
                    expected_resource_version,
                    Some(doc),
                    rules::RETRY_UPDATE,
                )
                .await),
        }
    }

    async fn delete_with_event(
        &self,
        name: &str,
        expected_resource_version: Option<&str>,
        event: &Event,
    ) -> StoreResult<()> {
        rules::check_name("failovergroup", name)?;
        let approvals = self.approval_keys(name).await?;
        // Two items fewer than a plain delete: the journal's counter and event ride along.
        let (in_transaction, after) =
            approvals.split_at(approvals.len().min(MAX_APPROVALS_IN_DELETE - 2));
        let items = self.delete_items(name, expected_resource_version, in_transaction)?;
        if self
            .transact_with_event("TransactWriteItems (delete)", name, items, event)
            .await?
            .is_err()
        {
            return Err(self.delete_refused(name, expected_resource_version).await);
        }
        self.delete_remaining_approvals(name, after).await;
        Ok(())
    }

    async fn create(&self, doc: &FailoverGroup) -> StoreResult<FailoverGroup> {
        let name = doc.metadata.name.as_str();
        rules::check_name("failovergroup", name)?;
        let record = rules::created_record(doc);
        let items = vec![
            self.put(spec_item(&record)?, Some(Condition::not_exists()))?,
            // A status left by an earlier group of this name must not attach to the new one.
            self.delete_item(STATUS_PK, name, None)?,
            self.marker_bump()?,
        ];
        match self.transact("TransactWriteItems (create)", items).await? {
            Transaction::Committed => Ok(record),
            Transaction::Cancelled(codes) if Transaction::failed_at(&codes, 0) => {
                Err(rules::already_exists(name))
            }
            Transaction::Cancelled(codes) => {
                Err(self.cancelled("TransactWriteItems (create)", &codes))
            }
        }
    }

    async fn update(
        &self,
        doc: &FailoverGroup,
        expected_resource_version: &str,
    ) -> StoreResult<FailoverGroup> {
        let name = doc.metadata.name.as_str();
        rules::check_name("failovergroup", name)?;
        let stored = self.spec(name).await?;
        let record = rules::checked_update(name, stored.as_ref(), doc, expected_resource_version)?;
        let condition = Condition::resource_version(expected_resource_version);
        let items = vec![
            self.put(spec_item(&record)?, Some(condition))?,
            self.marker_bump()?,
        ];
        match self.transact("TransactWriteItems (update)", items).await? {
            Transaction::Committed => Ok(record),
            // Someone wrote between our read and our write.
            Transaction::Cancelled(codes) if Transaction::failed_at(&codes, 0) => Err(self
                .conflict_or_not_found(
                    name,
                    expected_resource_version,
                    Some(doc),
                    rules::RETRY_UPDATE,
                )
                .await),
            Transaction::Cancelled(codes) => {
                Err(self.cancelled("TransactWriteItems (update)", &codes))
            }
        }
    }

    async fn delete(&self, name: &str, expected_resource_version: Option<&str>) -> StoreResult<()> {
        rules::check_name("failovergroup", name)?;
        let approvals = self.approval_keys(name).await?;
        let (in_transaction, after) =
            approvals.split_at(approvals.len().min(MAX_APPROVALS_IN_DELETE));
        let items = self.delete_items(name, expected_resource_version, in_transaction)?;
        match self.transact("TransactWriteItems (delete)", items).await? {
            Transaction::Committed => {}
            Transaction::Cancelled(codes) if Transaction::failed_at(&codes, 0) => {
                return Err(self.delete_refused(name, expected_resource_version).await);
            }
            Transaction::Cancelled(codes) => {
                return Err(self.cancelled("TransactWriteItems (delete)", &codes))
            }
        }
        self.delete_remaining_approvals(name, after).await;
        Ok(())
    }

    async fn write_status(
        &self,
        name: &str,
        status: &FailoverGroupStatus,
        fence: &Fence,
    ) -> StoreResult<()> {
        rules::check_name("failovergroup", name)?;
        rules::check_name("lease", &fence.lease)?;
        let mut item = key(STATUS_PK, name);
        item.insert(
            "body".into(),
            to_body(status, &format!("{STATUS_PK}/{name}"))?,
        );
        let items = vec![
            self.fence_check(fence)?,
            self.group_exists_check(name)?,
            self.put(item, None)?,
        ];
        match self.transact("TransactWriteItems (status)", items).await? {
            Transaction::Committed => Ok(()),
            Transaction::Cancelled(codes) if Transaction::failed_at(&codes, 0) => {
                Err(self.fenced_error(fence).await)
            }
            Transaction::Cancelled(codes) if Transaction::failed_at(&codes, 1) => {
                Err(rules::not_found(name))
            }
            Transaction::Cancelled(codes) => {
                Err(self.cancelled("TransactWriteItems (status)", &codes))
            }
        }
    }

    async fn append_event(
        &self,
        name: &str,
        event: &Event,
        fence: Option<&Fence>,
    ) -> StoreResult<u64> {
        rules::check_name("failovergroup", name)?;
        if let Some(fence) = fence {
            rules::check_name("lease", &fence.lease)?;
        }
        for attempt in 1..=APPEND_ATTEMPTS {
            let last = self.last_seq(name).await?;
            let mut items = Vec::with_capacity(3);
            if let Some(fence) = fence {
                items.push(self.fence_check(fence)?);
            }
            let first_own_item = items.len();
            items.extend(self.event_items(name, event, last)?);

            match self.transact("TransactWriteItems (event)", items).await? {
                Transaction::Committed => return Ok(last + 1),
                Transaction::Cancelled(codes) => {
                    if let Some(fence) = fence {
                        if Transaction::failed_at(&codes, 0) {
                            return Err(self.fenced_error(fence).await);
                        }
                    }
                    let lost_race = codes[first_own_item.min(codes.len())..]
                        .iter()
                        .any(|code| code == CONDITION_FAILED || code == "TransactionConflict");
                    if !lost_race {
                        return Err(self.cancelled("TransactWriteItems (event)", &codes));
                    }
                    // Another appender took this seq: read the counter again.
                    tokio::time::sleep(backoff(attempt)).await;
                }
            }
        }
        Err(StoreError::Unavailable {
            message: format!(
                "could not append to the journal of failovergroup/{name}: {APPEND_ATTEMPTS} \
                 attempts lost the race for the next sequence number; retry"
            ),
        })
    }

    async fn events(&self, name: &str) -> StoreResult<Vec<Event>> {
        rules::check_name("failovergroup", name)?;
        let pk = journal_pk(name);
        let items = self.query_all(&pk, Some(EVENT_SK_PREFIX)).await?;
        let mut events = items
            .iter()
            .map(|item| {
                let sk = attr_s(item, SK, &pk)?;
                Ok(
                    body::<Event>(item, &format!("{pk}/{sk}")).unwrap_or_else(|err| Event {
                        // In its place, saying where and what is wrong: the rest still shows.
                        seq: attr_n(item, "seq", sk).unwrap_or(0),
                        at: rules::RELEASED_EXPIRY,
                        actor: "drctl-store".to_string(),
                        reason: crate::file::DAMAGED_EVENT_REASON.to_string(),
                        message: err.to_string(),
                        operation_id: None,
                        step: None,
                        data: None,
                    }),
                )
            })
            .collect::<StoreResult<Vec<Event>>>()?;
        events.sort_by_key(|event| event.seq);
        Ok(events)
    }

    async fn acquire_lease(
        &self,
        lease: &str,
        holder: &str,
        now: Timestamp,
        duration_ms: i64,
    ) -> StoreResult<Option<Lease>> {
        rules::check_name("lease", lease)?;
        for attempt in 1..=ACQUIRE_ATTEMPTS {
            let read = self.lease_for_takeover(lease, now).await?;
            let Some(taken) =
                rules::lease_to_take(read.current.as_ref(), lease, holder, now, duration_ms)
            else {
                return Ok(None);
            };
            // Compare-and-set on exactly what was read: no two acquirers can both win.
            let mut items = vec![self.put(lease_item(&taken), Some(read.unchanged))?];
            if let Some(damaged) = read.damaged {
                // Kept beside, for whoever investigates; in the same write as the takeover.
                items.push(self.put(damaged, None)?);
            }
            match self.transact("TransactWriteItems (lease)", items).await? {
                Transaction::Committed => return Ok(Some(taken)),
                Transaction::Cancelled(codes) if Transaction::failed_at(&codes, 0) => {
                    tokio::time::sleep(backoff(attempt)).await;
                }
                Transaction::Cancelled(codes) => {
                    return Err(self.cancelled("TransactWriteItems (lease)", &codes))
                }
            }
        }
        Err(StoreError::Unavailable {
            message: format!(
                "lease {lease} changed under every one of {ACQUIRE_ATTEMPTS} acquisition \
                 attempts; retry"
            ),
        })
    }

    async fn renew_lease(
        &self,
        lease: &Lease,
        now: Timestamp,
        duration_ms: i64,
    ) -> StoreResult<Lease> {
        rules::check_name("lease", &lease.name)?;
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(LEASE_PK, &lease.name)))
            .update_expression("SET #expires = :expires")
            .condition_expression("#holder = :holder AND #epoch = :epoch")
            .expression_attribute_names("#expires", "expires_at")
            .expression_attribute_names("#holder", "holder")
            .expression_attribute_names("#epoch", "epoch")
            .expression_attribute_values(":expires", n(now.plus_millis(duration_ms).millis()))
            .expression_attribute_values(":holder", s(&lease.holder))
            .expression_attribute_values(":epoch", n(lease.epoch))
            .return_values(ReturnValue::AllNew)
            .send()
            .await;
        match result {
            Ok(out) => match out.attributes {
                Some(item) => lease_from_item(&item),
                None => Ok(Lease {
                    expires_at: now.plus_millis(duration_ms),
                    ..lease.clone()
                }),
            },
            Err(err)
                if err
                    .as_service_error()
                    .is_some_and(|e| e.is_conditional_check_failed_exception()) =>
            {
                // A lease that reads back damaged is lost all the same: nobody holds it.
                let current = self.lease(&lease.name).await.ok().flatten();
                Err(rules::lease_lost(lease, current.as_ref()))
            }
            Err(err) => Err(self.aws_error("UpdateItem (lease)", err)),
        }
    }

    async fn release_lease(&self, lease: &Lease) -> StoreResult<()> {
        rules::check_name("lease", &lease.name)?;
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(LEASE_PK, &lease.name)))
            .update_expression("SET #expires = :expires")
            .condition_expression("#holder = :holder AND #epoch = :epoch")
            .expression_attribute_names("#expires", "expires_at")
            .expression_attribute_names("#holder", "holder")
            .expression_attribute_names("#epoch", "epoch")
            .expression_attribute_values(":expires", n(rules::RELEASED_EXPIRY.millis()))
            .expression_attribute_values(":holder", s(&lease.holder))
            .expression_attribute_values(":epoch", n(lease.epoch))
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            // Not ours any more: nothing to give up.
            Err(err)
                if err
                    .as_service_error()
                    .is_some_and(|e| e.is_conditional_check_failed_exception()) =>
            {
                Ok(())
            }
            Err(err) => Err(self.aws_error("UpdateItem (lease)", err)),
        }
    }

    async fn get_lease(&self, lease: &str) -> StoreResult<Option<Lease>> {
        rules::check_name("lease", lease)?;
        self.lease(lease).await
    }

    async fn approve(&self, name: &str, approval: &ApprovalRecord) -> StoreResult<()> {
        let items = self.approval_items(name, approval)?;
        match self.transact("TransactWriteItems (approve)", items).await? {
            Transaction::Committed => Ok(()),
            Transaction::Cancelled(codes) if Transaction::failed_at(&codes, 0) => {
                Err(rules::not_found(name))
            }
            Transaction::Cancelled(codes) if Transaction::failed_at(&codes, 1) => Ok(()),
            Transaction::Cancelled(codes) => {
                Err(self.cancelled("TransactWriteItems (approve)", &codes))
            }
        }
    }

    async fn approve_with_event(
        &self,
        name: &str,
        approval: &ApprovalRecord,
        event: &Event,
    ) -> StoreResult<Approval> {
        let items = self.approval_items(name, approval)?;
        let operation = "TransactWriteItems (approve)";
        let Err(codes) = self
            .transact_with_event(operation, name, items, event)
            .await?
        else {
            return Ok(Approval::Recorded);
        };
        if Transaction::failed_at(&codes, 0) {
            return Err(rules::not_found(name));
        }
        if !Transaction::failed_at(&codes, 1) {
            return Err(self.cancelled(operation, &codes));
        }
        match self.approval(name, &approval.operation_id).await? {
            Some(earlier) => Ok(Approval::AlreadyApproved(earlier)),
            None => Err(self.cancelled(operation, &codes)),
        }
    }

    async fn approval(
        &self,
        name: &str,
        operation_id: &str,
    ) -> StoreResult<Option<ApprovalRecord>> {
        rules::check_name("failovergroup", name)?;
        rules::check_name("operation", operation_id)?;
        let pk = approval_pk(name);
        match self.get_item(&pk, operation_id).await? {
            Some(item) => body(&item, &format!("{pk}/{operation_id}")).map(Some),
            None => Ok(None),
        }
    }

    async fn change_marker(&self) -> StoreResult<ChangeMarker> {
        match self.get_item(MARKER_PK, MARKER_SK).await? {
            Some(item) => {
                attr_n(&item, MARKER_ATTR, &format!("{MARKER_PK}/{MARKER_SK}")).map(ChangeMarker)
            }
            None => Ok(ChangeMarker(0)),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Instant;

    use tokio::net::TcpListener;

    use super::*;
    use crate::testkit;

    /// A TCP endpoint on loopback that accepts every connection and never answers (nor
    /// closes): what a stalled DynamoDB endpoint looks like from the client. Returns its URL
    /// and a count of the connections it accepted.
    async fn black_hole() -> (String, Arc<Mutex<Vec<tokio::net::TcpStream>>>) {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let held = Arc::new(Mutex::new(Vec::new()));
        let keep = Arc::clone(&held);
        tokio::spawn(async move {
            while let Ok((socket, _)) = listener.accept().await {
                keep.lock().unwrap().push(socket);
            }
        });
        (url, held)
    }

    /// A loopback HTTP endpoint that answers every request 404 with an empty body, as a
    /// wrong endpoint path or a proxy does.
    async fn not_dynamodb() -> String {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move {
            while let Ok((mut socket, _)) = listener.accept().await {
                tokio::spawn(async move {
                    let mut buf = vec![0u8; 64 * 1024];
                    // One read holds the small requests of this test; the answer does not
                    // depend on them.
                    let _ = socket.read(&mut buf).await;
                    let _ = socket
                        .write_all(b"HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\n\r\n")
                        .await;
                });
            }
        });
        url
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn an_answer_without_an_aws_error_code_names_the_status_and_the_endpoint() {
        let url = not_dynamodb().await;
        let store = DynamoStore::with_config(testkit::emulator_config(&url), "drctl", SHORT);
        let err = store.get("web").await.unwrap_err();
        let message = err.to_string();
        assert!(message.contains("404"), "{message}");
        assert!(message.contains("no AWS error code"), "{message}");
        assert!(message.contains("AWS_ENDPOINT_URL"), "{message}");
        assert!(!message.contains("UnknownError"), "{message}");
    }

    /// Short enough for a quick test, long enough that loopback connects always finish.
    const SHORT: Timeouts = Timeouts {
        connect: Duration::from_millis(500),
        attempt: Duration::from_millis(300),
        operation: Duration::from_millis(700),
    };

    // Real time: the endpoint is a real socket, and paused time could fire the connect
    // timeout before the loopback connect completes. Nothing sleeps; the store's timeouts end
    // every call in well under a second.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_stalled_endpoint_makes_every_call_unavailable_within_the_operation_timeout() {
        let (url, accepted) = black_hole().await;
        let store = DynamoStore::with_config(testkit::emulator_config(&url), "drctl", SHORT);
        let lease = Lease {
            name: "controller".into(),
            holder: "controller/a".into(),
            epoch: 1,
            acquired_at: testkit::T0,
            expires_at: testkit::T0,
        };
        let (s, group, fence) = (&store, testkit::group("web"), lease.fence());
        let event = testkit::event("SpecApplied");
        let approval = testkit::approval("op-1", "alice");
        let status = testkit::status(drctl_schema::Phase::Converged, 1);
        let started = Instant::now();
        // All at once: the test costs one operation timeout, not eleven. The outer limit only
        // turns a hang (a store without timeouts) into a failure.
        let all = async {
            tokio::join!(
                s.get("web"),
                s.list(),
                s.create(&group),
                s.update(&group, "1"),
                s.delete("web", None),
                s.write_status("web", &status, &fence),
                s.append_event("web", &event, None),
                s.acquire_lease("controller", "a", testkit::T0, 15_000),
                s.renew_lease(&lease, testkit::T0, 15_000),
                s.approve("web", &approval),
                s.change_marker(),
            )
        };
        let (
            get,
            list,
            create,
            update,
            delete,
            write_status,
            append,
            acquire,
            renew,
            approve,
            marker,
        ) = tokio::time::timeout(Duration::from_secs(30), all)
            .await
            .expect("a stalled store hung its callers");
        let took = started.elapsed();
        let results: Vec<(&str, StoreResult<()>)> = vec![
            ("get", get.map(drop)),
            ("list", list.map(drop)),
            ("create", create.map(drop)),
            ("update", update.map(drop)),
            ("delete", delete),
            ("write_status", write_status),
            ("append_event", append.map(drop)),
            ("acquire_lease", acquire.map(drop)),
            ("renew_lease", renew.map(drop)),
            ("approve", approve),
            ("change_marker", marker.map(drop)),
        ];
        for (call, result) in results {
            match result {
                Err(err @ StoreError::Unavailable { .. }) => {
                    let message = err.to_string();
                    assert!(
                        message.contains(&url),
                        "{call}: endpoint not named: {message}"
                    );
                    assert!(
                        message.contains("operation 700ms, attempt 300ms, connect 500ms"),
                        "{call}: timeouts not named: {message}"
                    );
                    assert_eq!(err.category(), "retryable");
                }
                other => panic!("{call}: expected Unavailable, got {other:?}"),
            }
        }
        // Each call is one store round trip that times out (no store loop retries a
        // timeout): the operation timeout, plus scheduling slack on a busy machine.
        assert!(
            took < SHORT.operation + Duration::from_secs(2),
            "a stalled store held its callers for {took:?}"
        );
        assert!(
            took >= SHORT.attempt,
            "no attempt had its full time: {took:?}"
        );
        assert!(
            !accepted.lock().unwrap().is_empty(),
            "the requests never reached the endpoint"
        );
    }

    #[test]
    fn the_shipped_timeouts_are_3_1_s_connect_10_s_attempt_25_s_operation_and_applied() {
        assert_eq!(
            Timeouts::SHIPPED,
            Timeouts {
                connect: Duration::from_millis(3100),
                attempt: Duration::from_secs(10),
                operation: Duration::from_secs(25),
            }
        );
        assert_eq!(Timeouts::default(), Timeouts::SHIPPED);
        let config = aws_config::SdkConfig::builder()
            .behavior_version(aws_config::BehaviorVersion::latest())
            .region(aws_config::Region::new("us-east-1"))
            .build();
        let store = DynamoStore::from_sdk_config(&config, "drctl");
        assert_eq!(store.timeouts(), Timeouts::SHIPPED);
        let applied = store.client.config().timeout_config().cloned().unwrap();
        assert_eq!(applied.connect_timeout(), Some(Timeouts::SHIPPED.connect));
        assert_eq!(
            applied.operation_attempt_timeout(),
            Some(Timeouts::SHIPPED.attempt)
        );
        assert_eq!(
            applied.operation_timeout(),
            Some(Timeouts::SHIPPED.operation)
        );
    }

    #[test]
    fn messages_name_the_endpoint_by_scheme_and_authority_only() {
        assert_eq!(
            url_origin("https://dynamodb.eu-west-1.amazonaws.com/"),
            "https://dynamodb.eu-west-1.amazonaws.com"
        );
        assert_eq!(url_origin("http://127.0.0.1:5000"), "http://127.0.0.1:5000");
        assert_eq!(
            url_origin("http://localhost:8000/?x=1"),
            "http://localhost:8000"
        );
    }

    #[test]
    fn retry_backoff_is_jittered_within_twice_its_base() {
        let waits: Vec<Duration> = (0..20).map(|_| backoff(3)).collect();
        assert!(waits
            .iter()
            .all(|w| *w >= Duration::from_millis(30) && *w <= Duration::from_millis(60)));
        assert!(
            waits.iter().any(|w| *w != waits[0]),
            "20 retries would wake together: {waits:?}"
        );
    }
}
