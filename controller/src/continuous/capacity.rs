//! The two pre-flight facts that need calls of their own: is the instance class a recreated
//! or added standby instance would get orderable in the standby region
//! (DescribeOrderableDBInstanceOptions), and is there room under the region's DB-instance
//! quota (DescribeAccountAttributes)?
//!
//! Asked only on full passes of a group with no operation running. The answers are the
//! account's and the region's, so the `Cloud` memoizes them fleet-wide for 30 minutes
//! (`drctl_cloud::offerings`): a fleet on the same engine and class costs a few calls per
//! half hour, as ARC's own evaluation does.

use std::collections::BTreeMap;

use drctl_cloud::{Cloud, DbInstanceQuota};
use drctl_schema::FailoverGroupSpec;

use crate::observed::{InstancePairView, RegionView, Seen};
use crate::planner::steps::rds_replica::is_rds;

/// The class asked about, and the answer.
#[derive(Debug, Clone, PartialEq)]
pub struct ClassReading {
    pub engine: String,
    pub engine_version: String,
    pub instance_class: String,
    /// Where the class comes from, for the message (`spec.database.instances.us-west-2.instanceClass`,
    /// or the writer's instance).
    pub source: String,
    pub offered: Seen<bool>,
}

/// What one read of the standby region found.
#[derive(Debug, Clone, PartialEq)]
pub struct CapacityView {
    /// The standby region asked (the other region of the observed writer).
    pub region: String,
    /// None: no class known to ask about (an Aurora template without instanceClass).
    pub class: Option<ClassReading>,
    pub quota: Seen<Option<DbInstanceQuota>>,
}

/// The last reading of one group, kept between its passes.
#[derive(Debug, Clone, Default)]
pub struct CapacityCache {
    view: Option<CapacityView>,
}

/// (standby region, engine, version, class and where it comes from) as this pass sees them.
struct Asked {
    region: String,
    class: Option<(String, String, String, String)>,
}

fn asked(
    spec: &FailoverGroupSpec,
    regions: &BTreeMap<String, RegionView>,
    instances: Option<&InstancePairView>,
) -> Option<Asked> {
    let writer = regions
        .values()
        .find(|r| r.membership == crate::observed::Membership::Writer)
        .map_or(spec.writer.as_str(), |r| r.region.as_str());
    let standby = spec.other_region(writer)?.to_string();
    let class = if is_rds(spec) {
        let source = instances.and_then(|p| p.instance(writer))?;
        let template = spec
            .database
            .instances
            .get(&standby)
            .and_then(|t| t.instance_class.clone());
        let (class, from) = match template {
            Some(c) => (
                c,
                format!("spec.database.instances.{standby}.instanceClass"),
            ),
            None => (
                source.instance_class.clone(),
                format!("{}'s class (the replica's default)", source.identifier),
            ),
        };
        Some((
            source.engine.clone(),
            source.engine_version.clone(),
            class,
            from,
        ))
    } else {
        let cluster = regions.get(writer).and_then(|r| r.cluster.as_ref())?;
        spec.database
            .clusters
            .get(&standby)
            .and_then(|t| t.instance_class.clone())
            .map(|class| {
                (
                    cluster.engine.clone(),
                    cluster.engine_version.clone(),
                    class,
                    format!("spec.database.clusters.{standby}.instanceClass"),
                )
            })
    };
    Some(Asked {
        region: standby,
        class,
    })
}

fn seen<T>(answer: drctl_cloud::CloudResult<T>) -> Seen<T> {
    match answer {
        Ok(v) => Seen::Known(v),
        Err(e) => Seen::Unreachable(e.to_string()),
    }
}

/// This pass's reading (`idle_full`: a full pass with no operation running), else the last
/// one. Nothing is asked before the writer's side has been described.
pub async fn observe(
    cloud: &Cloud,
    spec: &FailoverGroupSpec,
    regions: &BTreeMap<String, RegionView>,
    instances: Option<&InstancePairView>,
    idle_full: bool,
    cache: &mut CapacityCache,
) -> Option<CapacityView> {
    if !idle_full {
        return cache.view.clone();
    }
    let Some(asked) = asked(spec, regions, instances) else {
        return cache.view.clone();
    };
    let region = asked.region.as_str();
    let class = async {
        let (engine, version, class, source) = asked.class.clone()?;
        let offered = cloud
            .offerings
            .instance_class_offered(region, &engine, &version, &class)
            .await;
        Some(ClassReading {
            engine,
            engine_version: version,
            instance_class: class,
            source,
            offered: seen(offered),
        })
    };
    let (class, quota) = tokio::join!(class, cloud.offerings.db_instance_quota(region));
    let view = CapacityView {
        region: asked.region.clone(),
        class,
        quota: seen(quota),
    };
    cache.view = Some(view.clone());
    Some(view)
}
