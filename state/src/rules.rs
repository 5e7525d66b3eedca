//! The store semantics every implementation shares, as pure functions: which names a store
//! accepts, how resourceVersion and generation move, who may take a lease, and what a
//! conflict or a fence says. Each backend only adds the atomicity (a file lock, a DynamoDB
//! condition); the decisions are made here once, so the backends cannot drift apart. The
//! simulated world's in-memory store can reuse them too.

use drctl_schema::{FailoverGroup, Timestamp};

use crate::store::{Fence, Lease, StoreError, StoreResult};

/// Longest name a store accepts (a DNS-1123 subdomain; group names are stricter labels, which
/// the schema validates).
pub const MAX_NAME_LEN: usize = 253;

/// Accept names that are safe as a file name and as a key part: ASCII letters, digits, `.`,
/// `_` and `-`, not starting with `.` or `-`. Group names are validated more strictly by the
/// schema; this is the store's own guard (a name such as `../x` must never become a path).
pub fn check_name(what: &str, name: &str) -> StoreResult<()> {
    let invalid = |message: &str| {
        Err(StoreError::InvalidName {
            what: what.to_string(),
            name: name.to_string(),
            message: message.to_string(),
        })
    };
    if name.is_empty() {
        return invalid("must not be empty");
    }
    if name.len() > MAX_NAME_LEN {
        return invalid("must be at most 253 characters");
    }
    if name.starts_with('.') || name.starts_with('-') {
        return invalid("must not start with '.' or '-'");
    }
    if !name
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
    {
        return invalid("may contain only ASCII letters, digits, '.', '_' and '-'");
    }
    Ok(())
}

/// The stored form of a new document: metadata.resourceVersion "1", generation 1, no status.
pub fn created_record(doc: &FailoverGroup) -> FailoverGroup {
    let mut record = doc.clone();
    record.metadata.resource_version = Some("1".to_string());
    record.metadata.generation = Some(1);
    record.status = None;
    record
}

/// The stored resourceVersion as a number (the stores only ever write decimal strings).
pub fn resource_version_number(record: &FailoverGroup) -> StoreResult<u64> {
    let raw = record.metadata.resource_version.as_deref().unwrap_or("");
    raw.parse::<u64>().map_err(|_| StoreError::Corrupt {
        key: format!("failovergroup/{}", record.metadata.name),
        message: format!("stored resourceVersion {raw:?} is not a decimal number"),
    })
}

/// `stored` updated with `doc`'s labels and spec: resourceVersion + 1 always, generation + 1
/// only when the spec changed (a labels-only edit is not something the controller must act
/// on). apiVersion and kind stay as stored. The caller has checked the expected version.
pub fn updated_record(stored: &FailoverGroup, doc: &FailoverGroup) -> StoreResult<FailoverGroup> {
    let version = resource_version_number(stored)?;
    let generation = stored.metadata.generation.unwrap_or(1);
    let mut record = stored.clone();
    record.metadata.labels = doc.metadata.labels.clone();
    record.metadata.resource_version = Some((version + 1).to_string());
    if doc.spec != stored.spec {
        record.spec = doc.spec.clone();
        record.metadata.generation = Some(generation + 1);
    }
    record.status = None;
    Ok(record)
}

/// What to tell the user whose write lost an optimistic-concurrency race. `yours` is the
/// document they sent (its generation, when it carries one, says whether the spec moved
/// under them); `stored` is what the store holds now; `retry` ends the message.
pub fn conflict(
    name: &str,
    expected_resource_version: &str,
    yours: Option<&FailoverGroup>,
    stored: &FailoverGroup,
    retry: &str,
) -> StoreError {
    let current = stored.metadata.resource_version.as_deref().unwrap_or("?");
    let stored_generation = stored.metadata.generation.unwrap_or(0);
    let what_changed = match yours.and_then(|doc| doc.metadata.generation) {
        Some(yours) if yours != stored_generation => {
            format!(
                " (the spec changed since you read it: generation {yours} -> {stored_generation})"
            )
        }
        Some(_) => {
            " (the spec did not change since you read it; labels or a no-op update did)".to_string()
        }
        None => String::new(),
    };
    StoreError::Conflict {
        name: name.to_string(),
        message: format!(
            "was modified concurrently: you had resourceVersion {expected_resource_version}, \
             the store has {current}{what_changed}. Re-read it with `drctl get {name} -o yaml` \
             and {retry}"
        ),
    }
}

/// Retry advice for a stale update.
pub const RETRY_UPDATE: &str = "re-apply your change on top of that version";
/// Retry advice for a stale delete.
pub const RETRY_DELETE: &str = "delete again with the current resourceVersion (or without one)";

/// The record an update of `stored` with `doc` leaves, or why it is refused: no such group,
/// a stale resourceVersion (conflict), or a forbidden transition. Every store decides with
/// this; only how it reads and writes differs.
pub fn checked_update(
    name: &str,
    stored: Option<&FailoverGroup>,
    doc: &FailoverGroup,
    expected_resource_version: &str,
) -> StoreResult<FailoverGroup> {
    let stored = stored.ok_or_else(|| not_found(name))?;
    if stored.metadata.resource_version.as_deref() != Some(expected_resource_version) {
        return Err(conflict(
            name,
            expected_resource_version,
            Some(doc),
            stored,
            RETRY_UPDATE,
        ));
    }
    updated_record(stored, doc)
}

/// Why deleting `stored` is refused, if it is: no such group, or a stale resourceVersion
/// when the caller gave one.
pub fn check_delete(
    name: &str,
    stored: Option<&FailoverGroup>,
    expected_resource_version: Option<&str>,
) -> StoreResult<()> {
    let stored = stored.ok_or_else(|| not_found(name))?;
    match expected_resource_version {
        Some(expected) if stored.metadata.resource_version.as_deref() != Some(expected) => {
            Err(conflict(name, expected, None, stored, RETRY_DELETE))
        }
        _ => Ok(()),
    }
}

/// Ok if `fence` still holds against the lease the store has now, else why not.
pub fn check_fence(fence: &Fence, current: Option<&Lease>) -> StoreResult<()> {
    if fence_holds(fence, current) {
        Ok(())
    } else {
        Err(fenced(fence, current))
    }
}

/// Is `current` (the store's lease now) still the lease `ours` was given?
fn still_ours(ours: &Lease, current: &Lease) -> bool {
    current.holder == ours.holder && current.epoch == ours.epoch
}

/// The lease a renewal of `ours` leaves (expiring `duration_ms` from `now`), or
/// LeaseLost when the store's lease is no longer ours.
pub fn renewed(
    ours: &Lease,
    current: Option<&Lease>,
    now: Timestamp,
    duration_ms: i64,
) -> StoreResult<Lease> {
    match current {
        Some(current) if still_ours(ours, current) => Ok(Lease {
            expires_at: now.plus_millis(duration_ms),
            ..current.clone()
        }),
        other => Err(lease_lost(ours, other)),
    }
}

/// The lease a release of `ours` leaves (expired, epoch kept), or None when it is no longer
/// ours: releasing someone else's lease does nothing.
pub fn released(ours: &Lease, current: Option<&Lease>) -> Option<Lease> {
    current.filter(|c| still_ours(ours, c)).map(|c| Lease {
        expires_at: RELEASED_EXPIRY,
        ..c.clone()
    })
}

/// A create of a group that exists.
pub fn already_exists(name: &str) -> StoreError {
    StoreError::AlreadyExists {
        name: name.to_string(),
    }
}

/// The lease `holder` gets if it asks now, or None while another holder's lease is live.
/// Free or expired: taken, and a new holder gets epoch + 1 (so every write of the previous
/// holder is fenced off). Already ours: extended, same epoch.
pub fn lease_to_take(
    existing: Option<&Lease>,
    lease: &str,
    holder: &str,
    now: Timestamp,
    duration_ms: i64,
) -> Option<Lease> {
    let expires_at = now.plus_millis(duration_ms);
    match existing {
        None => Some(Lease {
            name: lease.to_string(),
            holder: holder.to_string(),
            epoch: 1,
            acquired_at: now,
            expires_at,
        }),
        Some(current) if current.holder == holder => Some(Lease {
            // A holder that lets its lease lapse and takes it back (nobody else held it in
            // between, or the holder would differ) keeps its epoch: no other writer exists.
            acquired_at: if current.expires_at > now {
                current.acquired_at
            } else {
                now
            },
            expires_at,
            ..current.clone()
        }),
        Some(current) if current.expires_at <= now => Some(Lease {
            name: lease.to_string(),
            holder: holder.to_string(),
            epoch: current.epoch + 1,
            acquired_at: now,
            expires_at,
        }),
        Some(_) => None,
    }
}

/// The expiry a released lease gets: the Unix epoch, in the past for every clock (real or
/// simulated). Holder and epoch are kept, so the next holder still gets epoch + 1.
pub const RELEASED_EXPIRY: Timestamp = Timestamp::from_millis(0);

/// Whether `fence` is still the lease's current holder and epoch. Expiry alone does not
/// fence: an expired lease nobody took has no other writer. A takeover does (epoch + 1).
pub fn fence_holds(fence: &Fence, current: Option<&Lease>) -> bool {
    current.is_some_and(|lease| lease.holder == fence.holder && lease.epoch == fence.epoch)
}

/// The error for a write whose fence no longer holds.
pub fn fenced(fence: &Fence, current: Option<&Lease>) -> StoreError {
    let now_held = match current {
        Some(lease) => format!(
            "is now held by {} at epoch {} (until {})",
            lease.holder, lease.epoch, lease.expires_at
        ),
        None => "does not exist".to_string(),
    };
    StoreError::Fenced {
        message: format!(
            "lease {} {now_held}, but this write came from {} at epoch {}: the writer lost its \
             lease and must stop acting",
            fence.lease, fence.holder, fence.epoch
        ),
    }
}

/// The error for renewing a lease that changed hands or epoch.
/// What an acquirer takes a damaged lease record (`key`) for: an expired lease at epoch
/// `now` in milliseconds. Nobody can show it still holds a lease it cannot read, and the
/// taker gets an epoch above any counter epoch an earlier holder can have had, so (as for any
/// takeover) an earlier holder's fence fails.
pub fn stand_in_for_damaged_lease(lease: &str, key: &str, now: Timestamp) -> Lease {
    Lease {
        name: lease.to_string(),
        holder: format!("<damaged {key}>"),
        epoch: u64::try_from(now.millis()).unwrap_or(0),
        acquired_at: RELEASED_EXPIRY,
        expires_at: RELEASED_EXPIRY,
    }
}

pub fn lease_lost(ours: &Lease, current: Option<&Lease>) -> StoreError {
    let now_held = match current {
        Some(lease) => format!("is held by {} at epoch {}", lease.holder, lease.epoch),
        None => "no longer exists".to_string(),
    };
    StoreError::LeaseLost {
        lease: ours.name.clone(),
        message: format!(
            "{now_held}; {} had epoch {}: stop acting and re-acquire",
            ours.holder, ours.epoch
        ),
    }
}

/// The error for a status or approval write to a group that does not exist.
pub fn not_found(name: &str) -> StoreError {
    StoreError::NotFound {
        name: name.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const T0: Timestamp = Timestamp::from_millis(1_767_225_600_000);

    fn lease(holder: &str, epoch: u64, expires_at: Timestamp) -> Lease {
        Lease {
            name: "controller".to_string(),
            holder: holder.to_string(),
            epoch,
            acquired_at: T0,
            expires_at,
        }
    }

    #[test]
    fn names_that_could_escape_a_directory_are_rejected() {
        for bad in ["", "../x", "a/b", ".hidden", "-x", "a b", "é"] {
            assert!(
                matches!(
                    check_name("group", bad),
                    Err(StoreError::InvalidName { .. })
                ),
                "{bad:?} accepted"
            );
        }
        for good in ["myapp-prod", "op-20260101.1", "Controller_1"] {
            assert_eq!(check_name("group", good), Ok(()));
        }
    }

    #[test]
    fn a_live_lease_of_another_holder_is_not_taken() {
        let held = lease("a", 3, T0.plus_millis(10));
        assert_eq!(
            lease_to_take(Some(&held), "controller", "b", T0, 15_000),
            None
        );
    }

    #[test]
    fn an_expired_lease_goes_to_the_new_holder_with_the_next_epoch() {
        let held = lease("a", 3, T0);
        let taken = lease_to_take(Some(&held), "controller", "b", T0, 15_000);
        assert_eq!(
            taken.map(|l| (l.holder, l.epoch)),
            Some(("b".to_string(), 4))
        );
    }

    #[test]
    fn the_same_holder_keeps_its_epoch_when_it_re_acquires() {
        let held = lease("a", 3, T0.plus_millis(5));
        let taken = lease_to_take(Some(&held), "controller", "a", T0, 15_000);
        assert_eq!(
            taken.map(|l| (l.epoch, l.expires_at)),
            Some((3, T0.plus_millis(15_000)))
        );
    }

    #[test]
    fn conflict_message_says_both_versions_what_changed_and_how_to_retry() {
        let mut stored = crate::testkit::group("web");
        stored.metadata.resource_version = Some("5".to_string());
        stored.metadata.generation = Some(3);
        let mut yours = stored.clone();
        yours.metadata.generation = Some(2);
        let message = conflict("web", "4", Some(&yours), &stored, RETRY_UPDATE).to_string();
        assert!(message.contains("you had resourceVersion 4"), "{message}");
        assert!(message.contains("the store has 5"), "{message}");
        assert!(message.contains("generation 2 -> 3"), "{message}");
        assert!(message.contains("drctl get web -o yaml"), "{message}");
    }
}
