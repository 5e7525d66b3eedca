//! The scheduler: a delay queue keyed by group name, like kube-runtime's `scheduler`.
//!
//! - One entry per group (dedupe): scheduling a group that is already queued keeps the
//!   earlier of the two due times and the more urgent of the two reasons.
//! - Among the groups that are due, the most urgent class goes first (a spec change, then a
//!   running operation, then a converged resync), earliest due first within a class. With a
//!   thousand converged groups due for their resync, an operator's failover of the 1,000th is
//!   still the next pass to start.
//!
//! Pure data structure on tokio's `Instant`: no IO, no clock of its own (`now` is passed in),
//! so it is tested on paused time.

use std::collections::{BTreeSet, HashMap};

use tokio::time::Instant;

/// Why a group is scheduled, most urgent first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Urgency {
    /// The spec changed (an operator's decision) or the group is new.
    SpecChange = 0,
    /// An operation is running, or the last pass failed and is retried.
    Operation = 1,
    /// A converged group's periodic look.
    Resync = 2,
}

impl Urgency {
    const ALL: [Urgency; 3] = [Urgency::SpecChange, Urgency::Operation, Urgency::Resync];

    fn index(self) -> usize {
        self as usize
    }
}

/// A position in one urgency class's queue: due time, then insertion order (ties are FIFO).
type Slot = (Instant, u64, String);

#[derive(Debug, Default)]
pub struct Scheduler {
    entries: HashMap<String, (Urgency, Slot)>,
    queues: [BTreeSet<Slot>; 3],
    next_seq: u64,
}

impl Scheduler {
    pub fn new() -> Self {
        Scheduler::default()
    }

    /// Queue `name` at `due`, merged with an entry already queued: the earlier due time and
    /// the more urgent reason.
    pub fn schedule(&mut self, name: &str, due: Instant, urgency: Urgency) {
        let (mut due, mut urgency) = (due, urgency);
        if let Some((queued_urgency, (queued_due, _, _))) = self.entries.get(name) {
            if *queued_due <= due && *queued_urgency <= urgency {
                return;
            }
            due = due.min(*queued_due);
            urgency = urgency.min(*queued_urgency);
            self.remove(name);
        }
        self.next_seq += 1;
        let slot = (due, self.next_seq, name.to_string());
        if let Some(queue) = self.queues.get_mut(urgency.index()) {
            queue.insert(slot.clone());
        }
        self.entries.insert(name.to_string(), (urgency, slot));
    }

    /// Forget a group (deleted, or its shard is no longer ours).
    pub fn remove(&mut self, name: &str) {
        if let Some((urgency, slot)) = self.entries.remove(name) {
            if let Some(queue) = self.queues.get_mut(urgency.index()) {
                queue.remove(&slot);
            }
        }
    }

    /// The most urgent group due at `now`, removed from the queue.
    pub fn pop_due(&mut self, now: Instant) -> Option<(String, Urgency)> {
        let urgency = Urgency::ALL.into_iter().find(|u| {
            self.queues
                .get(u.index())
                .and_then(|q| q.first())
                .is_some_and(|(due, _, _)| *due <= now)
        })?;
        let (_, _, name) = self.queues.get_mut(urgency.index())?.pop_first()?;
        self.entries.remove(&name);
        Some((name, urgency))
    }

    /// When the next group falls due, if any is queued.
    pub fn next_due(&self) -> Option<Instant> {
        self.queues
            .iter()
            .filter_map(|q| q.first().map(|(due, _, _)| *due))
            .min()
    }

    pub fn contains(&self, name: &str) -> bool {
        self.entries.contains_key(name)
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn secs(s: u64) -> Duration {
        Duration::from_secs(s)
    }

    #[tokio::test(start_paused = true)]
    async fn nothing_is_handed_out_before_it_is_due() {
        let t0 = Instant::now();
        let mut s = Scheduler::new();
        s.schedule("a", t0 + secs(5), Urgency::Resync);
        assert_eq!(s.pop_due(t0), None);
        assert_eq!(s.next_due(), Some(t0 + secs(5)));
        assert_eq!(
            s.pop_due(t0 + secs(5)),
            Some(("a".to_string(), Urgency::Resync))
        );
        assert!(s.is_empty());
    }

    #[tokio::test(start_paused = true)]
    async fn a_group_is_queued_once_at_its_earliest_due_time() {
        let t0 = Instant::now();
        let mut s = Scheduler::new();
        s.schedule("a", t0 + secs(30), Urgency::Resync);
        s.schedule("a", t0 + secs(1), Urgency::SpecChange);
        s.schedule("a", t0 + secs(60), Urgency::Resync);
        assert_eq!(s.len(), 1);
        assert_eq!(s.next_due(), Some(t0 + secs(1)));
        assert_eq!(
            s.pop_due(t0 + secs(1)),
            Some(("a".to_string(), Urgency::SpecChange))
        );
        assert_eq!(
            s.pop_due(t0 + secs(100)),
            None,
            "the later requests were merged"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_spec_change_goes_before_a_thousand_due_resyncs() {
        let t0 = Instant::now();
        let mut s = Scheduler::new();
        for i in 0..1000 {
            s.schedule(&format!("g{i:04}"), t0, Urgency::Resync);
        }
        s.schedule("g0999", t0 + secs(1), Urgency::SpecChange);
        s.schedule("op", t0 + secs(1), Urgency::Operation);
        let now = t0 + secs(1);
        assert_eq!(s.pop_due(now).map(|(n, _)| n).as_deref(), Some("g0999"));
        assert_eq!(s.pop_due(now).map(|(n, _)| n).as_deref(), Some("op"));
        assert_eq!(s.pop_due(now).map(|(n, _)| n).as_deref(), Some("g0000"));
    }

    #[tokio::test(start_paused = true)]
    async fn within_a_class_the_earliest_due_goes_first_and_ties_are_fifo() {
        let t0 = Instant::now();
        let mut s = Scheduler::new();
        s.schedule("late", t0 + secs(2), Urgency::Resync);
        s.schedule("first", t0 + secs(1), Urgency::Resync);
        s.schedule("second", t0 + secs(1), Urgency::Resync);
        let order: Vec<String> =
            std::iter::from_fn(|| s.pop_due(t0 + secs(10)).map(|(n, _)| n)).collect();
        assert_eq!(order, ["first", "second", "late"]);
    }

    #[tokio::test(start_paused = true)]
    async fn a_removed_group_is_never_handed_out() {
        let t0 = Instant::now();
        let mut s = Scheduler::new();
        s.schedule("a", t0, Urgency::Operation);
        s.schedule("b", t0, Urgency::Operation);
        s.remove("a");
        assert!(!s.contains("a"));
        assert_eq!(s.pop_due(t0).map(|(n, _)| n).as_deref(), Some("b"));
        assert_eq!(s.pop_due(t0), None);
    }
}
