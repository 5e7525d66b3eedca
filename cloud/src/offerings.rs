//! A fleet-wide memo in front of [`RdsOfferings`]. Every group of a controller shares its
//! `Cloud`, and the facts asked are the account's and the region's, not a group's: a fleet of
//! groups on the same engine, version and class in the same two regions costs a handful of
//! calls per [`OFFERINGS_TTL`], not two per group. One request per key is in flight at a time
//! (the others wait for its answer), and a failed answer is kept for [`OFFERINGS_ERROR_TTL`] so
//! that a dark region is not asked once per group.

use std::collections::HashMap;
use std::future::Future;
use std::hash::Hash;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use async_trait::async_trait;
use tokio::time::Instant;

use crate::error::CloudResult;
use crate::model::DbInstanceQuota;
use crate::ports::RdsOfferings;

/// How long an answer stands: ARC re-evaluates its plans every 30 minutes, and neither an
/// engine's orderable classes nor a quota change faster than someone asks for it.
pub const OFFERINGS_TTL: Duration = Duration::from_secs(30 * 60);
/// How long a failed answer stands before the next group asks again.
pub const OFFERINGS_ERROR_TTL: Duration = Duration::from_secs(60);

type Slot<V> = Arc<tokio::sync::Mutex<Option<(Instant, CloudResult<V>)>>>;

struct Memo<K, V> {
    slots: Mutex<HashMap<K, Slot<V>>>,
}

impl<K: Eq + Hash, V: Clone> Memo<K, V> {
    fn new() -> Self {
        Memo {
            slots: Mutex::new(HashMap::new()),
        }
    }

    async fn get<F>(&self, key: K, ask: F) -> CloudResult<V>
    where
        F: Future<Output = CloudResult<V>>,
    {
        let slot = self
            .slots
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .entry(key)
            .or_default()
            .clone();
        let mut held = slot.lock().await;
        if let Some((at, answer)) = held.as_ref() {
            let ttl = if answer.is_ok() {
                OFFERINGS_TTL
            } else {
                OFFERINGS_ERROR_TTL
            };
            if at.elapsed() < ttl {
                return answer.clone();
            }
        }
        let answer = ask.await;
        *held = Some((Instant::now(), answer.clone()));
        answer
    }
}

type ClassKey = (String, String, String, String);

/// [`RdsOfferings`] with its answers memoized (see the module).
pub struct MemoizedOfferings {
    inner: Arc<dyn RdsOfferings>,
    classes: Memo<ClassKey, bool>,
    quotas: Memo<String, Option<DbInstanceQuota>>,
}

impl MemoizedOfferings {
    pub fn new(inner: Arc<dyn RdsOfferings>) -> Self {
        MemoizedOfferings {
            inner,
            classes: Memo::new(),
            quotas: Memo::new(),
        }
    }
}

#[async_trait]
impl RdsOfferings for MemoizedOfferings {
    async fn instance_class_offered(
        &self,
        region: &str,
        engine: &str,
        engine_version: &str,
        instance_class: &str,
    ) -> CloudResult<bool> {
        let key = (
            region.to_string(),
            engine.to_string(),
            engine_version.to_string(),
            instance_class.to_string(),
        );
        self.classes
            .get(
                key,
                self.inner
                    .instance_class_offered(region, engine, engine_version, instance_class),
            )
            .await
    }

    async fn db_instance_quota(&self, region: &str) -> CloudResult<Option<DbInstanceQuota>> {
        self.quotas
            .get(region.to_string(), self.inner.db_instance_quota(region))
            .await
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;
    use crate::error::{CloudError, ErrorCategory, Service};

    #[derive(Default)]
    struct Counting {
        calls: AtomicUsize,
        fail: bool,
    }

    #[async_trait]
    impl RdsOfferings for Counting {
        async fn instance_class_offered(
            &self,
            _region: &str,
            _engine: &str,
            _engine_version: &str,
            instance_class: &str,
        ) -> CloudResult<bool> {
            self.calls.fetch_add(1, Ordering::SeqCst);
            Ok(instance_class == "db.r6g.large")
        }

        async fn db_instance_quota(&self, _region: &str) -> CloudResult<Option<DbInstanceQuota>> {
            self.calls.fetch_add(1, Ordering::SeqCst);
            if self.fail {
                return Err(CloudError::new(
                    ErrorCategory::Retryable,
                    Service::Rds,
                    "DescribeAccountAttributes",
                    "RequestTimeout",
                    "no answer",
                ));
            }
            Ok(Some(DbInstanceQuota { used: 3, max: 40 }))
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_fleet_asking_the_same_fact_costs_one_call_per_ttl() {
        let inner = Arc::new(Counting::default());
        let memo = Arc::new(MemoizedOfferings::new(inner.clone()));
        let asks = (0..50).map(|_| {
            let memo = memo.clone();
            tokio::spawn(async move { memo.db_instance_quota("us-west-2").await })
        });
        for ask in asks {
            assert_eq!(
                ask.await.unwrap().unwrap(),
                Some(DbInstanceQuota { used: 3, max: 40 })
            );
        }
        assert_eq!(inner.calls.load(Ordering::SeqCst), 1);
        memo.db_instance_quota("us-east-1").await.unwrap();
        assert_eq!(
            inner.calls.load(Ordering::SeqCst),
            2,
            "another region, another call"
        );
        tokio::time::advance(OFFERINGS_TTL).await;
        memo.db_instance_quota("us-west-2").await.unwrap();
        assert_eq!(
            inner.calls.load(Ordering::SeqCst),
            3,
            "asked again after the TTL"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_class_is_memoized_per_engine_version_and_class() {
        let inner = Arc::new(Counting::default());
        let memo = MemoizedOfferings::new(inner.clone());
        let ask = |class: &'static str| {
            memo.instance_class_offered("us-west-2", "postgres", "16.3", class)
        };
        assert!(ask("db.r6g.large").await.unwrap());
        assert!(ask("db.r6g.large").await.unwrap());
        assert!(!ask("db.x2g.16xlarge").await.unwrap());
        assert_eq!(inner.calls.load(Ordering::SeqCst), 2);
    }

    #[tokio::test(start_paused = true)]
    async fn a_failed_answer_stands_only_a_minute() {
        let inner = Arc::new(Counting {
            fail: true,
            ..Default::default()
        });
        let memo = MemoizedOfferings::new(inner.clone());
        assert!(memo.db_instance_quota("us-west-2").await.is_err());
        assert!(memo.db_instance_quota("us-west-2").await.is_err());
        assert_eq!(inner.calls.load(Ordering::SeqCst), 1);
        tokio::time::advance(OFFERINGS_ERROR_TTL).await;
        assert!(memo.db_instance_quota("us-west-2").await.is_err());
        assert_eq!(inner.calls.load(Ordering::SeqCst), 2);
    }
}
