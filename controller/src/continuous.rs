//! Continuous evaluation of the pre-flight facts (issue 13, "as ARC does every 30 minutes"):
//! between operations, what a Preflight or a RecreateSecondary would find wrong is reported
//! as conditions while there is time to fix it, not when someone needs the standby.
//!
//! The first three facts come from the cluster descriptions every full pass already reads (and light
//! passes reuse), so they cost no call:
//!
//! - `EngineVersionParity`: both clusters run the same engine at the same major.minor
//!   version (SwitchoverGlobalCluster refuses otherwise).
//! - `StandbyHasInstances`: the standby cluster has at least one DB instance (a headless
//!   secondary cannot be promoted).
//! - `StandbyKmsKeyReady`: an encrypted standby reports a KmsKeyId in its own region (a key of
//!   another region, or none, is what makes a recreated secondary fail: seed 000's gotcha).
//!   DescribeKey would need aws-sdk-kms, a new SDK crate: the key's existence and state are
//!   not read.
//!
//! rdsReplica groups get the same facts from their DB instances (DescribeDBInstances, read
//! every pass): engine and version parity (the exact version, as their Preflight requires)
//! and the standby replica's key. A headless secondary is an Aurora notion: not reported.
//!
//! Two facts need calls of their own ([`capacity`], memoized fleet-wide for 30 minutes):
//!
//! - `StandbyInstanceClassOffered`: the class a recreated standby would get (the spec's
//!   template, else for rdsReplica the writer's class) is orderable in the standby region
//!   for the writer's engine version (DescribeOrderableDBInstanceOptions).
//! - `StandbyDbInstanceQuota`: the standby region has room for one more DB instance under the
//!   account's quota (DescribeAccountAttributes, `DBInstances`).

pub mod capacity;

use drctl_schema::{ConditionStatus, FailoverGroupSpec, FailoverGroupStatus, Timestamp};

use crate::observed::{ObservedWorld, Seen};
use crate::planner::status::set_condition;

pub const ENGINE_VERSION_PARITY: &str = "EngineVersionParity";
pub const STANDBY_HAS_INSTANCES: &str = "StandbyHasInstances";
pub const STANDBY_KMS_KEY_READY: &str = "StandbyKmsKeyReady";
pub const STANDBY_INSTANCE_CLASS_OFFERED: &str = "StandbyInstanceClassOffered";
pub const STANDBY_DB_INSTANCE_QUOTA: &str = "StandbyDbInstanceQuota";

/// One evaluated fact.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fact {
    pub type_: &'static str,
    pub status: ConditionStatus,
    pub reason: &'static str,
    pub message: String,
}

fn fact(
    type_: &'static str,
    ok: bool,
    reason: (&'static str, &'static str),
    message: String,
) -> Fact {
    Fact {
        type_,
        status: if ok {
            ConditionStatus::True
        } else {
            ConditionStatus::False
        },
        reason: if ok { reason.0 } else { reason.1 },
        message,
    }
}

fn major_minor(version: &str) -> String {
    version.split('.').take(2).collect::<Vec<_>>().join(".")
}

/// One side of the database as the facts read it: an Aurora cluster or an RDS instance.
struct Side<'a> {
    identifier: &'a str,
    engine: &'a str,
    engine_version: &'a str,
    storage_encrypted: bool,
    kms_key_id: Option<&'a str>,
    /// Aurora only: the cluster's DB instances.
    instances: Option<usize>,
}

fn sides<'a>(
    spec: &FailoverGroupSpec,
    world: &'a ObservedWorld,
    writer: &str,
    standby: &str,
) -> Option<(Side<'a>, Side<'a>)> {
    if crate::planner::steps::rds_replica::is_rds(spec) {
        let pair = world.instances.as_ref()?;
        let side = |region: &str| {
            pair.instance(region).map(|i| Side {
                identifier: &i.identifier,
                engine: &i.engine,
                engine_version: &i.engine_version,
                storage_encrypted: i.storage_encrypted,
                kms_key_id: i.kms_key_id.as_deref(),
                instances: None,
            })
        };
        return Some((side(writer)?, side(standby)?));
    }
    let side = |region: &str| {
        world
            .region(region)
            .and_then(|r| r.cluster.as_ref())
            .map(|c| Side {
                identifier: &c.identifier,
                engine: &c.engine,
                engine_version: &c.engine_version,
                storage_encrypted: c.storage_encrypted,
                kms_key_id: c.kms_key_id.as_deref(),
                instances: Some(c.instances.len()),
            })
    };
    Some((side(writer)?, side(standby)?))
}

/// The facts the world shows, for the writer it shows (else spec.writer). Empty when a
/// side is not described (a region that did not answer): the last facts then stand.
pub fn evaluate(spec: &FailoverGroupSpec, world: &ObservedWorld) -> Vec<Fact> {
    let writer = world.writer_region().unwrap_or(&spec.writer);
    let Some(standby) = spec.other_region(writer) else {
        return Vec::new();
    };
    let Some((w, s)) = sides(spec, world, writer, standby) else {
        return Vec::new();
    };
    let mut facts = vec![parity(spec, &w, &s, writer, standby)];
    if let Some(count) = s.instances {
        facts.push(headed(&s, count, standby));
    }
    facts.push(kms_key(&s, standby));
    if let Some(view) = world.capacity.as_ref().filter(|v| v.region == standby) {
        facts.extend(class_offered(view));
        facts.push(quota(view));
    }
    facts
}

fn parity(
    spec: &FailoverGroupSpec,
    w: &Side<'_>,
    s: &Side<'_>,
    writer: &str,
    standby: &str,
) -> Fact {
    // A read replica runs its source's exact version (and the rdsReplica Preflight requires
    // it); Aurora's switchover needs the same major.minor.
    let (same_version, needs) = if crate::planner::steps::rds_replica::is_rds(spec) {
        (
            w.engine_version == s.engine_version,
            "the same engine version",
        )
    } else {
        (
            major_minor(w.engine_version) == major_minor(s.engine_version),
            "the same engine and major.minor version",
        )
    };
    let same = w.engine == s.engine && same_version;
    let what = if s.instances.is_some() {
        "clusters"
    } else {
        "instances"
    };
    fact(
        ENGINE_VERSION_PARITY,
        same,
        ("SameEngineAndVersion", "EngineOrVersionDiffers"),
        if same {
            format!("both {what} run {} {}", w.engine, w.engine_version)
        } else {
            format!(
                "{writer} runs {} {}, {standby} runs {} {}: a switchover needs {needs}",
                w.engine, w.engine_version, s.engine, s.engine_version
            )
        },
    )
}

fn headed(s: &Side<'_>, count: usize, standby: &str) -> Fact {
    let headed = count > 0;
    fact(
        STANDBY_HAS_INSTANCES,
        headed,
        ("StandbyHasInstances", "HeadlessSecondary"),
        if headed {
            format!("{} in {standby} has {count} DB instance(s)", s.identifier)
        } else {
            format!(
                "{} in {standby} has no DB instance (headless): it cannot be promoted; add an instance",
                s.identifier
            )
        },
    )
}

fn kms_key(s: &Side<'_>, standby: &str) -> Fact {
    let key_ok = !s.storage_encrypted
        || s.kms_key_id
            .is_some_and(|k| drctl_cloud::region_of_arn(k).is_none_or(|r| r == standby));
    fact(
        STANDBY_KMS_KEY_READY,
        key_ok,
        ("StandbyKeyReported", "StandbyKeyMissing"),
        match (s.kms_key_id, s.storage_encrypted, key_ok) {
            (_, false, _) => format!("{} in {standby} is not encrypted: no key needed", s.identifier),
            (Some(k), true, true) => format!(
                "{} in {standby} is encrypted with {k} (its existence and state are not read: DescribeKey is not called)",
                s.identifier
            ),
            (Some(k), true, false) => format!(
                "{} in {standby} is encrypted with {k}, a key of another region: a secondary needs a key of its own region",
                s.identifier
            ),
            (None, true, _) => format!(
                "{} in {standby} is encrypted but reports no KmsKeyId",
                s.identifier
            ),
        },
    )
}

fn unknown(type_: &'static str, reason: &'static str, message: String) -> Fact {
    Fact {
        type_,
        status: ConditionStatus::Unknown,
        reason,
        message,
    }
}

fn class_offered(view: &capacity::CapacityView) -> Option<Fact> {
    let c = view.class.as_ref()?;
    let region = &view.region;
    Some(match &c.offered {
        Seen::Known(offered) => fact(
            STANDBY_INSTANCE_CLASS_OFFERED,
            *offered,
            ("InstanceClassOffered", "InstanceClassNotOffered"),
            if *offered {
                format!(
                    "{} ({}) is orderable in {region} for {} {}",
                    c.instance_class, c.source, c.engine, c.engine_version
                )
            } else {
                format!(
                    "{} ({}) is not orderable in {region} for {} {}: a recreated secondary there would fail; choose a class the region offers",
                    c.instance_class, c.source, c.engine, c.engine_version
                )
            },
        ),
        Seen::Unreachable(e) => unknown(
            STANDBY_INSTANCE_CLASS_OFFERED,
            "OfferingsUnreadable",
            format!("cannot read the orderable classes of {region}: {e}"),
        ),
    })
}

fn quota(view: &capacity::CapacityView) -> Fact {
    let region = &view.region;
    match &view.quota {
        Seen::Known(Some(q)) => {
            let room = q.room() > 0;
            fact(
                STANDBY_DB_INSTANCE_QUOTA,
                room,
                ("QuotaHasRoom", "QuotaReached"),
                if room {
                    format!(
                        "{} of {} DB instances used in {region}: room for {} more",
                        q.used,
                        q.max,
                        q.room()
                    )
                } else {
                    format!(
                        "{} of {} DB instances used in {region}: the quota is reached, so a recreated secondary or an added instance there would fail; ask for an increase",
                        q.used, q.max
                    )
                },
            )
        }
        Seen::Known(None) => unknown(
            STANDBY_DB_INSTANCE_QUOTA,
            "QuotaNotListed",
            format!("DescribeAccountAttributes in {region} lists no DBInstances quota"),
        ),
        Seen::Unreachable(e) => unknown(
            STANDBY_DB_INSTANCE_QUOTA,
            "QuotaUnreadable",
            format!("cannot read the DB-instance quota of {region}: {e}"),
        ),
    }
}

/// Set the facts as conditions, between operations only: during one, clusters are expected
/// to change (a recreated secondary is headless for a while), and the last facts stand.
pub fn set_conditions(
    status: &mut FailoverGroupStatus,
    spec: &FailoverGroupSpec,
    world: &ObservedWorld,
    now: Timestamp,
) {
    if status.operation.is_some() {
        return;
    }
    for f in evaluate(spec, world) {
        set_condition(
            &mut status.conditions,
            f.type_,
            f.status,
            f.reason,
            &f.message,
            now,
        );
    }
}

#[cfg(test)]
mod tests {
    use super::capacity::{CapacityView, ClassReading};
    use super::*;
    use drctl_cloud::DbInstanceQuota;

    fn view(quota: Seen<Option<DbInstanceQuota>>, offered: Seen<bool>) -> CapacityView {
        CapacityView {
            region: "us-west-2".to_string(),
            class: Some(ClassReading {
                engine: "postgres".to_string(),
                engine_version: "16.3".to_string(),
                instance_class: "db.r6g.large".to_string(),
                source: "spec.database.instances.us-west-2.instanceClass".to_string(),
                offered,
            }),
            quota,
        }
    }

    #[test]
    fn one_free_instance_under_the_quota_is_room_and_none_is_not() {
        let room = quota(&view(
            Seen::Known(Some(DbInstanceQuota { used: 39, max: 40 })),
            Seen::Known(true),
        ));
        assert_eq!(room.status, ConditionStatus::True);
        assert_eq!(
            room.message,
            "39 of 40 DB instances used in us-west-2: room for 1 more"
        );
        let full = quota(&view(
            Seen::Known(Some(DbInstanceQuota { used: 41, max: 40 })),
            Seen::Known(true),
        ));
        assert_eq!(full.status, ConditionStatus::False);
        assert_eq!(full.reason, "QuotaReached");
    }

    #[test]
    fn unreadable_offerings_and_quota_are_unknown_naming_the_region_and_the_error() {
        let v = view(
            Seen::Unreachable("rds DescribeAccountAttributes: Throttling".to_string()),
            Seen::Unreachable("rds DescribeOrderableDBInstanceOptions: timeout".to_string()),
        );
        let q = quota(&v);
        assert_eq!(q.status, ConditionStatus::Unknown);
        assert!(q.message.contains("us-west-2") && q.message.contains("Throttling"));
        let c = class_offered(&v).unwrap();
        assert_eq!(c.status, ConditionStatus::Unknown);
        assert!(c.message.contains("timeout"), "{c:?}");
        let listed_none = quota(&view(Seen::Known(None), Seen::Known(true)));
        assert_eq!(listed_none.reason, "QuotaNotListed");
    }

    #[test]
    fn without_a_class_to_ask_about_no_class_fact_is_made() {
        let mut v = view(Seen::Known(None), Seen::Known(true));
        v.class = None;
        assert!(class_offered(&v).is_none());
    }
}
