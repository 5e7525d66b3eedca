//! Continuous evaluation of the pre-flight facts (issue 13, "as ARC does every 30 minutes"):
//! between operations, what a Preflight or a RecreateSecondary would find wrong is reported
//! as conditions while there is time to fix it, not when someone needs the standby.
//!
//! These facts come from the cluster descriptions every full pass already reads (and light
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
//! Not built: the instance class offered in the standby region
//! (DescribeOrderableDBInstanceOptions) and the DB-instance quota (DescribeAccountAttributes),
//! which need calls of their own on a slow, fleet-spread period.

use drctl_schema::{ConditionStatus, FailoverGroupSpec, FailoverGroupStatus, Timestamp};

use crate::planner::status::set_condition;
use crate::world::ObservedWorld;

pub const ENGINE_VERSION_PARITY: &str = "EngineVersionParity";
pub const STANDBY_HAS_INSTANCES: &str = "StandbyHasInstances";
pub const STANDBY_KMS_KEY_READY: &str = "StandbyKmsKeyReady";

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

/// The facts the world shows, for the writer it shows (else spec.writer). Empty when a
/// cluster is not described (a region that did not answer): the last facts then stand.
pub fn evaluate(spec: &FailoverGroupSpec, world: &ObservedWorld) -> Vec<Fact> {
    let writer = world.writer_region().unwrap_or(&spec.writer);
    let Some(standby) = spec.other_region(writer) else {
        return Vec::new();
    };
    let cluster = |region: &str| world.region(region).and_then(|r| r.cluster.as_ref());
    let (Some(w), Some(s)) = (cluster(writer), cluster(standby)) else {
        return Vec::new();
    };
    let same =
        w.engine == s.engine && major_minor(&w.engine_version) == major_minor(&s.engine_version);
    let parity = fact(
        ENGINE_VERSION_PARITY,
        same,
        ("SameEngineAndVersion", "EngineOrVersionDiffers"),
        if same {
            format!("both clusters run {} {}", w.engine, w.engine_version)
        } else {
            format!(
                "{writer} runs {} {}, {standby} runs {} {}: a switchover needs the same engine and major.minor version",
                w.engine, w.engine_version, s.engine, s.engine_version
            )
        },
    );
    let headed = !s.instances.is_empty();
    let instances = fact(
        STANDBY_HAS_INSTANCES,
        headed,
        ("StandbyHasInstances", "HeadlessSecondary"),
        if headed {
            format!(
                "{} in {standby} has {} DB instance(s)",
                s.identifier,
                s.instances.len()
            )
        } else {
            format!(
                "{} in {standby} has no DB instance (headless): it cannot be promoted; add an instance",
                s.identifier
            )
        },
    );
    let key_ok = !s.storage_encrypted
        || s.kms_key_id
            .as_deref()
            .is_some_and(|k| drctl_cloud::region_of_arn(k).is_none_or(|r| r == standby));
    let key = fact(
        STANDBY_KMS_KEY_READY,
        key_ok,
        ("StandbyKeyReported", "StandbyKeyMissing"),
        match (&s.kms_key_id, s.storage_encrypted, key_ok) {
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
    );
    vec![parity, instances, key]
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
