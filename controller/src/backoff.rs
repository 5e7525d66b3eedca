//! Retry backoff for requeues, behind a small trait of our own so that the crate providing it
//! (`backon`, the maintained choice kube-rs also moved to; `backoff` is unmaintained,
//! RUSTSEC-2025-0012) can be swapped without touching the controller.

use std::time::Duration;

use backon::{BackoffBuilder, ExponentialBuilder};

pub trait RetryBackoff: Send {
    /// The delay before the next attempt.
    fn next_delay(&mut self) -> Duration;
    /// Forget past failures after a success.
    fn reset(&mut self);
}

/// Exponential backoff from 1 s to 60 s, doubling, without a retry limit (a controller never
/// gives up on a group). No jitter, so simulated runs stay deterministic from their seed; one
/// replica acts at a time, so there is no herd to spread.
pub struct ExponentialBackoff {
    builder: ExponentialBuilder,
    current: backon::ExponentialBackoff,
    max: Duration,
}

impl ExponentialBackoff {
    pub fn new(min: Duration, max: Duration) -> Self {
        let builder = ExponentialBuilder::default()
            .with_min_delay(min)
            .with_max_delay(max)
            .with_factor(2.0)
            .without_max_times();
        ExponentialBackoff {
            current: builder.build(),
            builder,
            max,
        }
    }

    pub fn for_requeue() -> Self {
        ExponentialBackoff::new(Duration::from_secs(1), Duration::from_secs(60))
    }
}

impl RetryBackoff for ExponentialBackoff {
    fn next_delay(&mut self) -> Duration {
        self.current.next().unwrap_or(self.max)
    }

    fn reset(&mut self) {
        self.current = self.builder.build();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_its_cap_and_resets_after_success() {
        let mut b = ExponentialBackoff::new(Duration::from_secs(1), Duration::from_secs(8));
        let delays: Vec<u64> = (0..6).map(|_| b.next_delay().as_secs()).collect();
        assert_eq!(delays, [1, 2, 4, 8, 8, 8]);
        b.reset();
        assert_eq!(b.next_delay(), Duration::from_secs(1));
    }
}
