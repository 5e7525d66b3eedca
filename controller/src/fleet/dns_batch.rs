//! Route 53 changes batched per hosted zone: during a mass failover the groups' MoveDns calls
//! that arrive while a batch waits for its Route 53 token go out together in one
//! ChangeResourceRecordSets (group commit). With Route 53's control plane paced at a few
//! requests a second per account, one call per group would queue the last group's DNS move
//! behind every other group's.
//!
//! Every group in a batch gets the batch's change id, so each WaitDnsInSync follows the one
//! change that carries its record. Invariant 4 is untouched: only a group whose writer and
//! compute are ready issues MoveDns, and batching only delays nothing. A batch is
//! all-or-nothing at Route 53, so when it is refused as a whole (one group's
//! compare-and-swap found its record moved), its changes are sent again one by one: one stale
//! group never holds the others.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use async_trait::async_trait;
use drctl_cloud::pacing::Pacer;
use drctl_cloud::{
    ChangeInfo, ChangeStatus, CloudError, CloudResult, Dns, DnsRecord, ErrorCategory, RecordChange,
    RecordCursor, RecordPage, Service, ROUTE53_MAX_CHANGES_PER_BATCH,
    ROUTE53_MAX_VALUE_CHARS_PER_BATCH,
};
use tokio::sync::oneshot;

type Waiter = (RecordChange, oneshot::Sender<CloudResult<ChangeInfo>>);

struct Inner {
    /// Everything but the batched changes goes here (paced by its own decorator).
    paced: Arc<dyn Dns>,
    /// The batches go here, paced by `pacer` before the batch is closed.
    raw: Arc<dyn Dns>,
    pacer: Arc<Pacer>,
    linger: Duration,
    pending: Mutex<BTreeMap<String, (Vec<Waiter>, bool)>>,
}

/// The Dns port with MoveDns changes batched per zone.
#[derive(Clone)]
pub struct BatchedDns(Arc<Inner>);

impl BatchedDns {
    pub fn new(
        paced: Arc<dyn Dns>,
        raw: Arc<dyn Dns>,
        pacer: Arc<Pacer>,
        linger: Duration,
    ) -> Self {
        BatchedDns(Arc::new(Inner {
            paced,
            raw,
            pacer,
            linger,
            pending: Mutex::new(BTreeMap::new()),
        }))
    }
}

impl Inner {
    fn lock(&self) -> MutexGuard<'_, BTreeMap<String, (Vec<Waiter>, bool)>> {
        self.pending.lock().unwrap_or_else(|p| p.into_inner())
    }

    async fn flush(self: Arc<Self>, zone: String) {
        tokio::time::sleep(self.linger).await;
        // Group commit: whatever arrives while the token is awaited joins this batch.
        self.pacer.take(Service::Route53, "").await;
        let waiting = {
            let mut pending = self.lock();
            match pending.remove(&zone) {
                Some((waiting, _)) => waiting,
                None => return,
            }
        };
        let mut rest = waiting;
        let mut first = true;
        while !rest.is_empty() {
            let take = batch_len(&rest);
            let tail = rest.split_off(take);
            if !first {
                self.pacer.take(Service::Route53, "").await;
            }
            first = false;
            self.send(&zone, rest).await;
            rest = tail;
        }
    }

    async fn send(&self, zone: &str, batch: Vec<Waiter>) {
        let changes: Vec<RecordChange> = batch.iter().map(|(c, _)| c.clone()).collect();
        let comment = format!("drctl: MoveDns for {} record(s)", changes.len());
        let result = self.raw.change_records(zone, &changes, &comment).await;
        match result {
            Err(e) if changes.len() > 1 && refused_whole(&e) => {
                tracing::info!(zone, records = changes.len(), error = %e, "a DNS batch was refused; sending its changes one by one");
                for (change, tx) in batch {
                    self.pacer.take(Service::Route53, "").await;
                    let one = self
                        .raw
                        .change_records(zone, std::slice::from_ref(&change), "drctl: MoveDns")
                        .await;
                    let _ = tx.send(one);
                }
            }
            result => {
                for (_, tx) in batch {
                    let _ = tx.send(result.clone());
                }
            }
        }
    }
}

/// A batch refused before anything was applied: Route 53 validates a batch as a whole, and
/// an IAM policy written per group (`drctl iam-policy NAME` limits ChangeResourceRecordSets
/// to that group's record) denies a batch that carries another group's record.
fn refused_whole(e: &CloudError) -> bool {
    !e.outcome_unknown && (e.code == "InvalidChangeBatch" || !e.is_retryable())
}

/// How many of `waiting` (from the front) fit in one ChangeResourceRecordSets.
fn batch_len(waiting: &[Waiter]) -> usize {
    let mut elements = 0;
    let mut chars = 0;
    for (i, (change, _)) in waiting.iter().enumerate() {
        let (e, c) = cost(change);
        if i > 0
            && (elements + e > ROUTE53_MAX_CHANGES_PER_BATCH
                || chars + c > ROUTE53_MAX_VALUE_CHARS_PER_BATCH)
        {
            return i;
        }
        elements += e;
        chars += c;
    }
    waiting.len()
}

/// ResourceRecord elements and value characters of one change (a compare-and-swap counts
/// its DELETE and its CREATE; Route 53 counts an UPSERT twice as well).
fn cost(change: &RecordChange) -> (usize, usize) {
    let values = |r: &DnsRecord| {
        (
            r.values.len().max(1),
            r.values.iter().map(String::len).sum::<usize>(),
        )
    };
    let (e, c) = values(&change.desired);
    let (e0, c0) = change.expected.as_ref().map(values).unwrap_or((e, c));
    (e + e0, c + c0)
}

#[async_trait]
impl Dns for BatchedDns {
    async fn get_record(
        &self,
        hosted_zone_id: &str,
        name: &str,
        record_type: &str,
    ) -> CloudResult<Option<DnsRecord>> {
        self.0
            .paced
            .get_record(hosted_zone_id, name, record_type)
            .await
    }

    async fn list_records_page(
        &self,
        hosted_zone_id: &str,
        from: Option<&RecordCursor>,
    ) -> CloudResult<RecordPage> {
        self.0.paced.list_records_page(hosted_zone_id, from).await
    }

    async fn change_record(
        &self,
        hosted_zone_id: &str,
        expected: Option<&DnsRecord>,
        desired: &DnsRecord,
        _comment: &str,
    ) -> CloudResult<ChangeInfo> {
        let change = RecordChange {
            expected: expected.cloned(),
            desired: desired.clone(),
        };
        let rx = {
            let (tx, rx) = oneshot::channel();
            let mut pending = self.0.lock();
            let (waiting, lingering) = pending.entry(hosted_zone_id.to_string()).or_default();
            waiting.push((change, tx));
            if !*lingering {
                *lingering = true;
                tokio::spawn(self.0.clone().flush(hosted_zone_id.to_string()));
            }
            rx
        };
        rx.await.unwrap_or_else(|_| {
            Err(CloudError::new(
                ErrorCategory::Retryable,
                Service::Route53,
                "ChangeResourceRecordSets",
                "BatchDropped",
                "the DNS batch was cancelled; whether it was sent is unknown",
            )
            .with_outcome_unknown())
        })
    }

    async fn change_records(
        &self,
        hosted_zone_id: &str,
        changes: &[RecordChange],
        comment: &str,
    ) -> CloudResult<ChangeInfo> {
        self.0
            .paced
            .change_records(hosted_zone_id, changes, comment)
            .await
    }

    async fn get_change(&self, change_id: &str) -> CloudResult<ChangeStatus> {
        self.0.paced.get_change(change_id).await
    }

    async fn list_failover_records(
        &self,
        hosted_zone_id: &str,
        name: &str,
        record_type: &str,
    ) -> CloudResult<Vec<drctl_cloud::FailoverRecord>> {
        self.0
            .paced
            .list_failover_records(hosted_zone_id, name, record_type)
            .await
    }

    async fn get_health_check(
        &self,
        health_check_id: &str,
    ) -> CloudResult<Option<drctl_cloud::HealthCheckInfo>> {
        self.0.paced.get_health_check(health_check_id).await
    }

    async fn get_health_check_status(
        &self,
        health_check_id: &str,
    ) -> CloudResult<Vec<drctl_cloud::HealthCheckObservation>> {
        self.0.paced.get_health_check_status(health_check_id).await
    }
}

#[cfg(test)]
mod tests {
    use drctl_cloud::AliasTarget;

    use super::*;

    fn alias(name: &str, target: &str) -> DnsRecord {
        DnsRecord {
            name: name.to_string(),
            record_type: "A".to_string(),
            ttl: None,
            alias: Some(AliasTarget {
                dns_name: target.to_string(),
                hosted_zone_id: "Z1".to_string(),
                evaluate_target_health: false,
            }),
            values: Vec::new(),
        }
    }

    fn waiters(n: usize) -> Vec<Waiter> {
        (0..n)
            .map(|i| {
                let (tx, _rx) = oneshot::channel();
                let name = format!("r{i}.example.com.");
                (
                    RecordChange {
                        expected: Some(alias(&name, "east.")),
                        desired: alias(&name, "west."),
                    },
                    tx,
                )
            })
            .collect()
    }

    #[test]
    fn a_batch_holds_at_most_route53s_thousand_elements() {
        // A compare-and-swap of an alias record is two elements.
        assert_eq!(batch_len(&waiters(10)), 10);
        assert_eq!(batch_len(&waiters(700)), ROUTE53_MAX_CHANGES_PER_BATCH / 2);
    }

    #[test]
    fn a_single_oversized_change_still_goes_alone() {
        let (tx, _rx) = oneshot::channel();
        let mut big = alias("big.example.com.", "x.");
        big.alias = None;
        big.values = vec!["v".repeat(ROUTE53_MAX_VALUE_CHARS_PER_BATCH + 1)];
        let w = vec![(
            RecordChange {
                expected: None,
                desired: big,
            },
            tx,
        )];
        assert_eq!(
            batch_len(&w),
            1,
            "the adapter refuses it with a clear error"
        );
    }
}
