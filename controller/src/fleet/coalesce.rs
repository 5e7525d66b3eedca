//! The coalescer: many groups' reads of one kind, due at about the same time, answered by one
//! call (or one paginated listing) per key, in the manner of a data loader.
//!
//! - A request joins the batch of its key that has not been sent yet; the first request of a
//!   batch waits `linger` (milliseconds) for the others, then one call answers them all.
//! - A read that may be a little old (`Freshness::MaxAge`, the converged groups' light
//!   passes) is answered from what an earlier batch already fetched, if it is young enough.
//!   A read that must be fresh (`Freshness::Fresh`: operations, full passes) is only answered
//!   by a call sent after it was asked, so every group's cache is invalidated on its own: a
//!   group that just mutated never reads a listing taken before its mutation.
//! - Each key remembers which items the fleet asks for (its *interest*). A batch fills the
//!   calls it has to make anyway with the stalest interesting items, so neighbours (the other
//!   services of an ECS cluster, say) are refreshed at no extra call.
//! - A converged group's resync (`Freshness::Resync`) is answered by a *refresh*: one fetch
//!   of every interesting item of the key (a listing, or full chunks), when that costs fewer
//!   calls than one per item. Resyncs that miss while a refresh is in flight wait for it
//!   instead of calling. The age a resync accepts is derived from the rate budget: at least
//!   `1 / REFRESH_SHARE` times as long as the last refresh took, so refreshes, which are
//!   paced with every other call, take at most that share of the time. A steady fleet then
//!   costs its pages, not its groups, and at 10,000 groups its resyncs cannot outgrow the
//!   account's rate and starve the groups that have work to do.
//! - An endpoint (service and region) whose call failed retryably is *dark*: its reads fail at
//!   once, without a call, and every `PROBE_INTERVAL` one call is sent as a probe *beside*
//!   the passes (nobody waits for it); when it answers, the endpoint is read again. Only the
//!   first batch to meet an outage waits for its timeout, never a later group's pass, so the
//!   outage's timeouts never sit on the recovery path.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use async_trait::async_trait;
use drctl_cloud::pacing::Pacer;
use drctl_cloud::{Cloud, CloudError, CloudResult, ErrorCategory, Service};
use tokio::sync::oneshot;
use tokio::time::Instant;

/// How old an answer a read accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Freshness {
    /// Only a call sent after the read was asked.
    Fresh,
    /// An answer from a call sent at or after this instant (a group's previous pass ended
    /// then: anything sent later already shows what that pass did).
    Since(Instant),
    /// An answer fetched at most this long ago.
    MaxAge(Duration),
    /// A converged group's resync: at most this old, or as old as the rate budget requires
    /// (see the module comment), answered by a refresh of the whole key where that is cheaper.
    Resync(Duration),
}

impl Freshness {
    /// The earliest send time of an answer this read accepts (None: a new call only).
    fn floor(self, now: Instant) -> Option<Instant> {
        match self {
            Freshness::Fresh => None,
            Freshness::Since(t) => Some(t),
            Freshness::MaxAge(age) | Freshness::Resync(age) => {
                Some(now.checked_sub(age).unwrap_or(now))
            }
        }
    }
}

/// How often a dark endpoint is asked again.
pub const PROBE_INTERVAL: Duration = Duration::from_secs(30);

/// An interesting item not asked for this long is forgotten (a deleted group's, say). Longer
/// than the slowest regular reader: full observations come every tenth 30 s resync.
pub const INTEREST_TTL: Duration = Duration::from_secs(900);

/// How often interest is swept of what `INTEREST_TTL` forgets.
const SWEEP_INTERVAL: Duration = Duration::from_secs(60);

/// The share of the time a key's refreshes may take: a resync accepts answers up to
/// `1 / REFRESH_SHARE` times as old as the last refresh took. A quarter leaves the rest of
/// a service's rate to the groups with work to do (first passes, operations), which read
/// fresh.
pub const REFRESH_SHARE: f64 = 0.25;

/// The longest refresh the budget counts: resyncs never accept answers older than
/// `MAX_REFRESH_BUDGET / REFRESH_SHARE` (4 minutes), however slow the account's rate made the
/// last refresh, so a converged group still notices an outage within minutes.
pub const MAX_REFRESH_BUDGET: Duration = Duration::from_secs(60);

/// The age a resync of `asked` accepts, given how long the key's last refresh took.
pub fn resync_age(asked: Duration, last_refresh: Option<Duration>) -> Duration {
    let budgeted = last_refresh.map_or(Duration::ZERO, |took| took.div_f64(REFRESH_SHARE));
    asked.max(budgeted)
}

/// One kind of read: what a key is (one call's scope), what one reader asks for, and what it
/// gets back.
#[async_trait]
pub trait ReadKind: Send + Sync + 'static {
    type Key: Ord + Clone + Send + Sync + std::fmt::Debug + 'static;
    type Item: Ord + Clone + Send + Sync + 'static;
    type Out: Clone + Send + Sync + 'static;

    const SERVICE: Service;
    const OPERATION: &'static str;

    /// The region the key's calls go to (darkness is tracked per service and region).
    fn region(key: &Self::Key) -> &str;

    /// How many items one call answers, for kinds that `pad` their calls with interest
    /// (None: a listing, which answers every item, so all interest is offered).
    const PER_CALL: Option<usize> = None;

    /// About how many calls one fetch of `interest` items of `key` makes (a refresh pays
    /// only when this is fewer than one call per item). Listings override it with the pages
    /// they took last time.
    fn refresh_calls(&self, _key: &Self::Key, interest: usize) -> usize {
        interest.div_ceil(Self::PER_CALL.unwrap_or(1).max(1))
    }

    /// `asked` padded with `interest` up to what the calls `asked` needs can carry.
    fn padded(asked: Vec<Self::Item>, interest: &[Self::Item]) -> Vec<Self::Item> {
        pad(asked, interest, Self::PER_CALL.unwrap_or(usize::MAX))
    }

    /// Answer every item of `asked`, and whichever of `interest` (stalest first) fit in the
    /// calls made anyway. Items left out of the answer are not covered by it.
    async fn fetch(
        &self,
        cloud: &Cloud,
        key: &Self::Key,
        asked: Vec<Self::Item>,
        interest: Vec<Self::Item>,
    ) -> CloudResult<Vec<(Self::Item, Self::Out)>>;
}

/// How many items the calls that `asked` items need can carry.
fn call_capacity(asked: usize, per_call: usize) -> usize {
    let per_call = per_call.max(1);
    asked.div_ceil(per_call).saturating_mul(per_call)
}

/// `asked`, padded with `interest` items up to the capacity of the calls `asked` needs.
pub fn pad<T: Ord + Clone>(asked: Vec<T>, interest: &[T], per_call: usize) -> Vec<T> {
    let capacity = call_capacity(asked.len(), per_call);
    let mut items: BTreeSet<T> = asked.into_iter().collect();
    for item in interest {
        if items.len() >= capacity {
            break;
        }
        items.insert(item.clone());
    }
    items.into_iter().collect()
}

/// A reader waiting for the batch: what it asked for, and where its answer goes.
type Waiter<R> = (
    <R as ReadKind>::Item,
    oneshot::Sender<CloudResult<<R as ReadKind>::Out>>,
);

/// A refresh of every interesting item of a key, in flight: the items it fetches, and the
/// resyncs waiting for it.
struct Refresh<R: ReadKind> {
    items: BTreeSet<R::Item>,
    waiting: Vec<Waiter<R>>,
}

struct Slot<R: ReadKind> {
    waiting: Vec<Waiter<R>>,
    refresh: Option<Refresh<R>>,
    /// How long the last refresh took, from its first call to its answer.
    last_refresh: Option<Duration>,
    /// A batch is lingering for more readers (not sent yet).
    lingering: bool,
    /// Item -> when a reader last asked for it.
    interest: BTreeMap<R::Item, Instant>,
    /// Item -> the answer and when the call that fetched it was sent.
    answers: BTreeMap<R::Item, (Instant, R::Out)>,
    /// The interesting items, stalest answer first (never answered before all): a batch
    /// pads its calls from the front, at a cost of the items it takes, not of the interest.
    by_age: BTreeSet<(Option<Instant>, R::Item)>,
    /// When interest was last swept of items nobody asked for in `INTEREST_TTL`.
    swept: Option<Instant>,
}

impl<R: ReadKind> Slot<R> {
    fn sent(&self, item: &R::Item) -> Option<Instant> {
        self.answers.get(item).map(|(sent, _)| *sent)
    }

    /// A reader asks for `item` now.
    fn note_interest(&mut self, item: &R::Item, now: Instant) {
        if self.interest.insert(item.clone(), now).is_none() {
            self.by_age.insert((self.sent(item), item.clone()));
        }
    }

    fn store_answer(&mut self, item: R::Item, sent: Instant, out: R::Out) {
        if self.interest.contains_key(&item) {
            self.by_age.remove(&(self.sent(&item), item.clone()));
            self.by_age.insert((Some(sent), item.clone()));
        }
        self.answers.insert(item, (sent, out));
    }

    /// Forget interest nobody showed for `INTEREST_TTL`, and its answers; at most once per
    /// `SWEEP_INTERVAL`, so that a batch does not pay for the whole interest each time.
    fn sweep(&mut self, now: Instant) {
        if self.swept.is_some_and(|t| now - t < SWEEP_INTERVAL) {
            return;
        }
        self.swept = Some(now);
        self.interest.retain(|_, asked| now - *asked < INTEREST_TTL);
        let interest = &self.interest;
        self.answers.retain(|item, _| interest.contains_key(item));
        self.by_age.retain(|(_, item)| interest.contains_key(item));
    }

    /// Up to `limit` interesting items not in `asked`, stalest first (all if None).
    fn stalest(&self, asked: &BTreeSet<&R::Item>, limit: Option<usize>) -> Vec<R::Item> {
        self.by_age
            .iter()
            .map(|(_, item)| item)
            .filter(|item| !asked.contains(item))
            .take(limit.unwrap_or(usize::MAX))
            .cloned()
            .collect()
    }
}

impl<R: ReadKind> Default for Slot<R> {
    fn default() -> Self {
        Slot {
            waiting: Vec::new(),
            refresh: None,
            last_refresh: None,
            lingering: false,
            interest: BTreeMap::new(),
            answers: BTreeMap::new(),
            by_age: BTreeSet::new(),
            swept: None,
        }
    }
}

/// Dark endpoints: (service, region) -> (when last asked, the error that made it dark).
#[derive(Debug, Default)]
pub struct Darkness {
    endpoints: Mutex<HashMap<(Service, String), (Instant, String)>>,
}

impl Darkness {
    fn lock(&self) -> MutexGuard<'_, HashMap<(Service, String), (Instant, String)>> {
        self.endpoints.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Is the endpoint dark? Then the error to return without calling, and whether this
    /// caller should send the probe (once every `PROBE_INTERVAL`).
    fn check(
        &self,
        service: Service,
        operation: &'static str,
        region: &str,
    ) -> Option<(CloudError, bool)> {
        let mut dark = self.lock();
        let (asked, error) = dark.get_mut(&(service, region.to_string()))?;
        let now = Instant::now();
        let probe = now - *asked >= PROBE_INTERVAL;
        if probe {
            *asked = now;
        }
        let next = PROBE_INTERVAL.saturating_sub(now - *asked).as_secs();
        let err = CloudError::new(
            ErrorCategory::Retryable,
            service,
            operation,
            "EndpointDark",
            format!(
                "{service} in {region} did not answer recently ({error}); asked again in {next} s"
            ),
        );
        Some((err, probe))
    }

    fn record<T>(&self, service: Service, region: &str, result: &CloudResult<T>) {
        let key = (service, region.to_string());
        match result {
            Err(e) if e.is_retryable() && e.code != "EndpointDark" && !is_throttling(e) => {
                self.lock().insert(key, (Instant::now(), e.to_string()));
            }
            // Any answer, even a refusal, proves the endpoint is up.
            Ok(_) | Err(_) => {
                self.lock().remove(&key);
            }
        }
    }

    /// The regions of `service` that are dark now.
    pub fn dark_regions(&self, service: Service) -> Vec<String> {
        self.lock()
            .keys()
            .filter(|(s, _)| *s == service)
            .map(|(_, r)| r.clone())
            .collect()
    }
}

/// Throttling says the endpoint is up, only busy.
fn is_throttling(e: &CloudError) -> bool {
    matches!(
        e.code.as_str(),
        "Throttling"
            | "ThrottlingException"
            | "PriorRequestNotComplete"
            | "TooManyRequestsException"
    )
}

/// Shared by every coalescer of one fleet.
pub struct Context {
    pub cloud: Cloud,
    pub linger: Duration,
    pub darkness: Darkness,
    /// The pacer of `cloud`'s calls: a batch stays open while its service has no token free.
    pub pacer: Arc<Pacer>,
}

/// Send each waiter its item's answer, or the fetch's error.
fn answer<R: ReadKind>(waiting: Vec<Waiter<R>>, result: &CloudResult<BTreeMap<R::Item, R::Out>>) {
    for (item, tx) in waiting {
        let out = match result {
            Ok(answers) => answers.get(&item).cloned().ok_or_else(|| {
                CloudError::new(
                    ErrorCategory::Terminal,
                    R::SERVICE,
                    R::OPERATION,
                    "NotCovered",
                    "the shared read did not answer this item (a bug)",
                )
            }),
            Err(e) => Err(e.clone()),
        };
        let _ = tx.send(out);
    }
}

pub struct Coalescer<R: ReadKind> {
    kind: R,
    slots: Mutex<BTreeMap<R::Key, Slot<R>>>,
}

impl<R: ReadKind> Coalescer<R> {
    pub fn new(kind: R) -> Arc<Self> {
        Arc::new(Coalescer {
            kind,
            slots: Mutex::new(BTreeMap::new()),
        })
    }

    fn lock(&self) -> MutexGuard<'_, BTreeMap<R::Key, Slot<R>>> {
        self.slots.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Read `item` under `key`.
    pub async fn get(
        self: &Arc<Self>,
        ctx: &Arc<Context>,
        key: R::Key,
        item: R::Item,
        freshness: Freshness,
    ) -> CloudResult<R::Out> {
        let rx = {
            let now = Instant::now();
            let mut slots = self.lock();
            let slot = slots.entry(key.clone()).or_default();
            slot.note_interest(&item, now);
            let freshness = match freshness {
                Freshness::Resync(age) => Freshness::Resync(resync_age(age, slot.last_refresh)),
                other => other,
            };
            // Once the endpoint is known dark, the outage is the news, not an answer from
            // before it, whatever age the reader accepts: a pass that starts an operation on
            // a cached "writer available" from before the outage picks a switchover AWS will
            // refuse (campaign seed 5939).
            let resync = matches!(freshness, Freshness::Resync(_));
            if let Some((err, probe)) =
                ctx.darkness
                    .check(R::SERVICE, R::OPERATION, R::region(&key))
            {
                if probe {
                    tokio::spawn(self.clone().probe(ctx.clone(), key, item));
                }
                return Err(err);
            }
            if let (Some(floor), Some((sent, out))) =
                (freshness.floor(now), slot.answers.get(&item))
            {
                if *sent >= floor {
                    return Ok(out.clone());
                }
            }
            let (tx, rx) = oneshot::channel();
            self.enqueue(ctx, key, slot, (item, tx), resync);
            rx
        };
        rx.await.unwrap_or_else(|_| {
            Err(CloudError::new(
                ErrorCategory::Retryable,
                R::SERVICE,
                R::OPERATION,
                "BatchDropped",
                "the shared read was cancelled before it answered",
            ))
        })
    }

    /// Queue a reader: a resync joins the key's refresh (in flight, or started now when a
    /// refresh costs fewer calls than one per interesting item); anything else joins the
    /// lingering batch.
    fn enqueue(
        self: &Arc<Self>,
        ctx: &Arc<Context>,
        key: R::Key,
        slot: &mut Slot<R>,
        waiter: Waiter<R>,
        resync: bool,
    ) {
        if resync {
            match slot.refresh.as_mut() {
                Some(refresh) if refresh.items.contains(&waiter.0) => {
                    refresh.waiting.push(waiter);
                    return;
                }
                Some(_) => {}
                None if self.kind.refresh_calls(&key, slot.interest.len())
                    < slot.interest.len() =>
                {
                    slot.refresh = Some(Refresh {
                        items: slot.interest.keys().cloned().collect(),
                        waiting: vec![waiter],
                    });
                    tokio::spawn(self.clone().refresh(ctx.clone(), key));
                    return;
                }
                None => {}
            }
        }
        slot.waiting.push(waiter);
        if !slot.lingering {
            slot.lingering = true;
            tokio::spawn(self.clone().flush(ctx.clone(), key));
        }
    }

    /// One fetch of every item the key's refresh holds, answering the resyncs that wait
    /// for it; how long it took sets the age the next resyncs accept.
    async fn refresh(self: Arc<Self>, ctx: Arc<Context>, key: R::Key) {
        ctx.pacer.ready(R::SERVICE, R::region(&key)).await;
        let items: Vec<R::Item> = self
            .lock()
            .get(&key)
            .and_then(|slot| slot.refresh.as_ref())
            .map(|refresh| refresh.items.iter().cloned().collect())
            .unwrap_or_default();
        let sent = Instant::now();
        let result = self.kind.fetch(&ctx.cloud, &key, items, Vec::new()).await;
        ctx.darkness.record(R::SERVICE, R::region(&key), &result);
        let result = result.map(|answers| answers.into_iter().collect::<BTreeMap<_, _>>());
        let waiting = {
            let mut slots = self.lock();
            let Some(slot) = slots.get_mut(&key) else {
                return;
            };
            // Only a refresh that answered sets the budget: a failed or timed-out one says
            // nothing of what the next costs, and would stretch the age resyncs accept.
            if result.is_ok() {
                slot.last_refresh = Some(sent.elapsed().min(MAX_REFRESH_BUDGET));
            }
            if let Ok(answers) = &result {
                for (item, out) in answers {
                    slot.store_answer(item.clone(), sent, out.clone());
                }
            }
            slot.refresh.take().map(|r| r.waiting).unwrap_or_default()
        };
        answer::<R>(waiting, &result);
    }

    async fn flush(self: Arc<Self>, ctx: Arc<Context>, key: R::Key) {
        tokio::time::sleep(ctx.linger).await;
        // Group commit: readers that arrive while the service has no token free join.
        ctx.pacer.ready(R::SERVICE, R::region(&key)).await;
        let (waiting, interest) = self.take_batch(&key);
        if waiting.is_empty() {
            return;
        }
        let asked: Vec<R::Item> = waiting
            .iter()
            .map(|(item, _)| item.clone())
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        let sent = Instant::now();
        let result = self.kind.fetch(&ctx.cloud, &key, asked, interest).await;
        ctx.darkness.record(R::SERVICE, R::region(&key), &result);
        let result = result.map(|answers| answers.into_iter().collect::<BTreeMap<_, _>>());
        answer::<R>(waiting, &result);
        if let Ok(answers) = result {
            self.remember(&key, sent, answers);
        }
    }

    /// One call for `item` beside the passes: its answer lights the endpoint up again.
    async fn probe(self: Arc<Self>, ctx: Arc<Context>, key: R::Key, item: R::Item) {
        let sent = Instant::now();
        let result = self
            .kind
            .fetch(&ctx.cloud, &key, vec![item], Vec::new())
            .await;
        ctx.darkness.record(R::SERVICE, R::region(&key), &result);
        if let Ok(answers) = result {
            self.remember(&key, sent, answers);
        }
    }

    fn remember(
        &self,
        key: &R::Key,
        sent: Instant,
        answers: impl IntoIterator<Item = (R::Item, R::Out)>,
    ) {
        let mut slots = self.lock();
        if let Some(slot) = slots.get_mut(key) {
            for (item, out) in answers {
                slot.store_answer(item, sent, out);
            }
        }
    }

    /// Take the lingering batch of `key`, with the interesting items not asked, stalest
    /// first, as many as its calls can carry.
    fn take_batch(&self, key: &R::Key) -> (Vec<Waiter<R>>, Vec<R::Item>) {
        let now = Instant::now();
        let mut slots = self.lock();
        let Some(slot) = slots.get_mut(key) else {
            return (Vec::new(), Vec::new());
        };
        slot.lingering = false;
        slot.sweep(now);
        let waiting = std::mem::take(&mut slot.waiting);
        let asked: BTreeSet<&R::Item> = waiting.iter().map(|(item, _)| item).collect();
        let room = R::PER_CALL.map(|per_call| call_capacity(asked.len(), per_call) - asked.len());
        let interest = slot.stalest(&asked, room);
        drop(asked);
        (waiting, interest)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    /// Answers `item * 10` for every item asked, 3 items a call, counting calls.
    struct Tens {
        calls: Arc<AtomicUsize>,
        fail: Arc<Mutex<Option<CloudError>>>,
        /// How long one fetch takes.
        takes: Arc<Mutex<Duration>>,
    }

    #[async_trait]
    impl ReadKind for Tens {
        type Key = String;
        type Item = u32;
        type Out = u32;
        const SERVICE: Service = Service::Ecs;
        const OPERATION: &'static str = "DescribeServices";
        const PER_CALL: Option<usize> = Some(3);

        fn region(key: &String) -> &str {
            key
        }

        async fn fetch(
            &self,
            _cloud: &Cloud,
            _key: &String,
            asked: Vec<u32>,
            interest: Vec<u32>,
        ) -> CloudResult<Vec<(u32, u32)>> {
            let items = Self::padded(asked, &interest);
            self.calls
                .fetch_add(items.len().div_ceil(3), Ordering::SeqCst);
            let takes = *self.takes.lock().unwrap();
            tokio::time::sleep(takes).await;
            if let Some(e) = self.fail.lock().unwrap().clone() {
                return Err(e);
            }
            Ok(items.into_iter().map(|i| (i, i * 10)).collect())
        }
    }

    struct Fixture {
        ctx: Arc<Context>,
        co: Arc<Coalescer<Tens>>,
        calls: Arc<AtomicUsize>,
        fail: Arc<Mutex<Option<CloudError>>>,
        takes: Arc<Mutex<Duration>>,
    }

    fn fixture() -> Fixture {
        let world = drctl_sim::SimWorld::new(drctl_sim::SimConfig::new(1));
        let calls = Arc::new(AtomicUsize::new(0));
        let fail = Arc::new(Mutex::new(None));
        let takes = Arc::new(Mutex::new(Duration::from_millis(100)));
        Fixture {
            ctx: Arc::new(Context {
                cloud: world.cloud("test"),
                linger: Duration::from_millis(10),
                darkness: Darkness::default(),
                pacer: Pacer::new(drctl_cloud::pacing::PaceLimits::none()),
            }),
            co: Coalescer::new(Tens {
                calls: calls.clone(),
                fail: fail.clone(),
                takes: takes.clone(),
            }),
            calls,
            fail,
            takes,
        }
    }

    async fn read_all(f: &Fixture, items: &[u32], freshness: Freshness) -> Vec<CloudResult<u32>> {
        let reads = items.iter().map(|i| {
            let (co, ctx) = (f.co.clone(), f.ctx.clone());
            let i = *i;
            tokio::spawn(async move { co.get(&ctx, "us-east-1".into(), i, freshness).await })
        });
        let mut out = Vec::new();
        for r in reads.collect::<Vec<_>>() {
            out.push(r.await.unwrap());
        }
        out
    }

    #[tokio::test(start_paused = true)]
    async fn reads_asked_together_share_one_call_per_capacity() {
        let f = fixture();
        let out = read_all(&f, &[1, 2, 3, 4, 5, 6], Freshness::Fresh).await;
        assert_eq!(
            out.into_iter().map(Result::unwrap).collect::<Vec<_>>(),
            [10, 20, 30, 40, 50, 60]
        );
        assert_eq!(f.calls.load(Ordering::SeqCst), 2, "six items, three a call");
    }

    #[tokio::test(start_paused = true)]
    async fn a_young_answer_serves_a_light_read_but_never_a_fresh_one() {
        let f = fixture();
        read_all(&f, &[1], Freshness::Fresh).await;
        assert_eq!(f.calls.load(Ordering::SeqCst), 1);
        let light = Freshness::MaxAge(Duration::from_secs(5));
        read_all(&f, &[1], light).await;
        assert_eq!(f.calls.load(Ordering::SeqCst), 1, "served from the answer");
        read_all(&f, &[1], Freshness::Fresh).await;
        assert_eq!(f.calls.load(Ordering::SeqCst), 2, "fresh means a new call");
        tokio::time::sleep(Duration::from_secs(6)).await;
        read_all(&f, &[1], light).await;
        assert_eq!(
            f.calls.load(Ordering::SeqCst),
            3,
            "too old for the light read"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_read_since_an_instant_takes_answers_sent_after_it_only() {
        let f = fixture();
        let before = Instant::now();
        tokio::time::sleep(Duration::from_secs(1)).await;
        read_all(&f, &[1], Freshness::Fresh).await;
        let after = Instant::now();
        read_all(&f, &[1], Freshness::Since(before)).await;
        assert_eq!(f.calls.load(Ordering::SeqCst), 1, "sent after `before`");
        read_all(&f, &[1], Freshness::Since(after)).await;
        assert_eq!(f.calls.load(Ordering::SeqCst), 2, "sent before `after`");
    }

    #[tokio::test(start_paused = true)]
    async fn interest_fills_the_calls_made_anyway_so_neighbours_read_for_free() {
        let f = fixture();
        read_all(&f, &[1, 2, 3], Freshness::Fresh).await;
        assert_eq!(f.calls.load(Ordering::SeqCst), 1);
        // One item asked: the call carries the two others the fleet is interested in.
        read_all(&f, &[1], Freshness::Fresh).await;
        assert_eq!(f.calls.load(Ordering::SeqCst), 2);
        let light = Freshness::MaxAge(Duration::from_secs(5));
        read_all(&f, &[2, 3], light).await;
        assert_eq!(
            f.calls.load(Ordering::SeqCst),
            2,
            "refreshed by the padded call"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_dark_endpoint_fails_fast_until_its_probe_interval_then_recovers() {
        let f = fixture();
        *f.fail.lock().unwrap() = Some(CloudError::new(
            ErrorCategory::Retryable,
            Service::Ecs,
            "DescribeServices",
            "RequestTimeout",
            "connection timed out",
        ));
        assert!(read_all(&f, &[1], Freshness::Fresh).await[0].is_err());
        assert_eq!(f.calls.load(Ordering::SeqCst), 1);
        let start = Instant::now();
        let err = read_all(&f, &[1], Freshness::Fresh)
            .await
            .remove(0)
            .unwrap_err();
        assert_eq!(err.code, "EndpointDark");
        assert_eq!(Instant::now(), start, "no wait, no call");
        assert_eq!(f.calls.load(Ordering::SeqCst), 1);
        *f.fail.lock().unwrap() = None;
        tokio::time::sleep(PROBE_INTERVAL).await;
        let due = Instant::now();
        let err = read_all(&f, &[1], Freshness::Fresh)
            .await
            .remove(0)
            .unwrap_err();
        assert_eq!(err.code, "EndpointDark", "the probe runs beside the read");
        assert_eq!(Instant::now(), due, "nobody waits for the probe");
        tokio::time::sleep(Duration::from_millis(200)).await;
        assert_eq!(f.calls.load(Ordering::SeqCst), 2, "the probe");
        assert_eq!(read_all(&f, &[2], Freshness::Fresh).await[0], Ok(20));
    }

    #[tokio::test(start_paused = true)]
    async fn throttling_does_not_make_an_endpoint_dark() {
        let f = fixture();
        *f.fail.lock().unwrap() = Some(CloudError::new(
            ErrorCategory::Retryable,
            Service::Ecs,
            "DescribeServices",
            "ThrottlingException",
            "Rate exceeded",
        ));
        read_all(&f, &[1], Freshness::Fresh).await;
        *f.fail.lock().unwrap() = None;
        assert_eq!(read_all(&f, &[1], Freshness::Fresh).await[0], Ok(10));
    }

    const ITEMS: [u32; 6] = [1, 2, 3, 4, 5, 6];

    #[tokio::test(start_paused = true)]
    async fn resyncs_of_a_key_share_one_refresh_of_all_its_interest() {
        let f = fixture();
        read_all(&f, &ITEMS, Freshness::Fresh).await;
        assert_eq!(f.calls.load(Ordering::SeqCst), 2, "six items, three a call");
        tokio::time::sleep(Duration::from_secs(6)).await;
        // Each resync on its own, a little apart: the first starts the refresh of all six,
        // the others find it in flight and wait for it.
        let (co, ctx) = (f.co.clone(), f.ctx.clone());
        let first = tokio::spawn(async move {
            co.get(
                &ctx,
                "us-east-1".into(),
                1,
                Freshness::Resync(Duration::from_secs(5)),
            )
            .await
        });
        tokio::time::sleep(Duration::from_millis(50)).await;
        let rest = read_all(
            &f,
            &[2, 3, 4, 5, 6],
            Freshness::Resync(Duration::from_secs(5)),
        )
        .await;
        assert_eq!(first.await.unwrap(), Ok(10));
        assert_eq!(
            rest.into_iter().map(Result::unwrap).collect::<Vec<_>>(),
            [20, 30, 40, 50, 60]
        );
        assert_eq!(
            f.calls.load(Ordering::SeqCst),
            4,
            "one refresh (two calls) for six resyncs, not a batch each"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_resync_accepts_answers_as_old_as_the_refresh_budget_requires() {
        let f = fixture();
        read_all(&f, &ITEMS, Freshness::Fresh).await;
        // A refresh that takes 4 s (paced behind other calls, say) may use a quarter of the
        // time: its answers then serve resyncs for 16 s, not the 5 s they ask for.
        *f.takes.lock().unwrap() = Duration::from_secs(4);
        tokio::time::sleep(Duration::from_secs(6)).await;
        let resync = Freshness::Resync(Duration::from_secs(5));
        read_all(&f, &[1], resync).await;
        assert_eq!(f.calls.load(Ordering::SeqCst), 4, "the refresh");
        tokio::time::sleep(Duration::from_secs(10)).await;
        read_all(&f, &ITEMS, resync).await;
        assert_eq!(
            f.calls.load(Ordering::SeqCst),
            4,
            "14 s old and within budget"
        );
        read_all(&f, &[1], Freshness::MaxAge(Duration::from_secs(5))).await;
        assert_eq!(
            f.calls.load(Ordering::SeqCst),
            5,
            "a read with a strict age is not stretched"
        );
        // That call (sent at 20 s) carried items 2 and 3 too; item 6 is from the refresh at
        // 6 s, and at 27 s past its 16 s.
        tokio::time::sleep(Duration::from_secs(3)).await;
        read_all(&f, &[6], resync).await;
        assert_eq!(f.calls.load(Ordering::SeqCst), 7, "21 s old: refreshed");
    }

    /// A resync, or a read of answers sent after a floor: once the endpoint is known dark,
    /// the outage is the news, not an answer cached before it (0.2 s old here).
    #[tokio::test(start_paused = true)]
    async fn any_read_of_a_dark_endpoint_gets_the_outage_not_the_answer_from_before_it() {
        let before = Instant::now();
        for freshness in [
            Freshness::Resync(Duration::from_secs(60)),
            Freshness::Since(before),
        ] {
            let f = fixture();
            read_all(&f, &ITEMS, Freshness::Fresh).await;
            *f.fail.lock().unwrap() = Some(CloudError::new(
                ErrorCategory::Retryable,
                Service::Ecs,
                "DescribeServices",
                "RequestTimeout",
                "connection timed out",
            ));
            assert!(read_all(&f, &[1], Freshness::Fresh).await[0].is_err());
            let err = read_all(&f, &[2], freshness).await.remove(0).unwrap_err();
            assert_eq!(err.code, "EndpointDark", "{freshness:?}");
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_failed_refresh_does_not_stretch_the_age_resyncs_accept() {
        let f = fixture();
        read_all(&f, &ITEMS, Freshness::Fresh).await;
        tokio::time::sleep(Duration::from_secs(6)).await;
        *f.takes.lock().unwrap() = Duration::from_secs(20);
        *f.fail.lock().unwrap() = Some(CloudError::new(
            ErrorCategory::Retryable,
            Service::Ecs,
            "DescribeServices",
            "ThrottlingException",
            "Rate exceeded",
        ));
        let resync = Freshness::Resync(Duration::from_secs(5));
        assert!(
            read_all(&f, &[1], resync).await[0].is_err(),
            "the refresh failed"
        );
        *f.fail.lock().unwrap() = None;
        *f.takes.lock().unwrap() = Duration::from_millis(100);
        let before = f.calls.load(Ordering::SeqCst);
        read_all(&f, &[1], resync).await;
        assert!(
            f.calls.load(Ordering::SeqCst) > before,
            "26 s old answers are refreshed: the failed 20 s refresh set no 80 s budget"
        );
    }

    #[test]
    fn the_resync_age_is_what_was_asked_or_four_times_the_last_refresh() {
        let s = Duration::from_secs;
        assert_eq!(resync_age(s(5), None), s(5));
        assert_eq!(resync_age(s(5), Some(s(1))), s(5));
        assert_eq!(resync_age(s(5), Some(s(10))), s(40));
    }

    #[test]
    fn padding_never_adds_a_call() {
        assert_eq!(pad(vec![5], &[1, 2, 3, 4], 3), [1, 2, 5]);
        assert_eq!(pad(vec![1, 2, 3, 4], &[9, 8], 3), [1, 2, 3, 4, 8, 9]);
        assert_eq!(pad(Vec::<u32>::new(), &[1], 3), Vec::<u32>::new());
    }
}
