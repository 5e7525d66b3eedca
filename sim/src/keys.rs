//! The keys the world files its resources under. Each is a struct with named fields, so a
//! read says which part it wants; the fields are declared in the order the keys sort by
//! (the world's maps iterate in that order, and a run's determinism rests on it).

use std::fmt;

/// A regional resource (a cluster, an instance, a snapshot, a scalable target, an alarm):
/// its region and its identifier there.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) struct RegionalId {
    pub region: String,
    pub id: String,
}

impl RegionalId {
    pub(crate) fn new(region: impl Into<String>, id: impl Into<String>) -> Self {
        RegionalId {
            region: region.into(),
            id: id.into(),
        }
    }
}

/// `region/id`: how the world's logs name a regional resource.
impl fmt::Display for RegionalId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.region, self.id)
    }
}

/// An ECS service: its region, cluster and name.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) struct ServiceKey {
    pub region: String,
    pub cluster: String,
    pub service: String,
}

impl ServiceKey {
    pub(crate) fn new(
        region: impl Into<String>,
        cluster: impl Into<String>,
        service: impl Into<String>,
    ) -> Self {
        ServiceKey {
            region: region.into(),
            cluster: cluster.into(),
            service: service.into(),
        }
    }
}

/// A record in a zone, as Route 53 compares them: its normalized name and its type.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) struct RecordKey {
    pub name: String,
    pub record_type: String,
}

/// A scheduled event: when it is due (virtual ms), then the order it was scheduled in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) struct EventKey {
    pub at: i64,
    pub seq: u64,
}

/// An endpoint a health check or routing control watches: its group (index into the
/// world's groups) and the region it serves.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) struct EndpointKey {
    pub group: usize,
    pub region: String,
}

/// The link between one caller and one region's endpoints.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) struct CallerLink {
    pub caller: String,
    pub region: String,
}

impl CallerLink {
    pub(crate) fn new(caller: impl Into<String>, region: impl Into<String>) -> Self {
        CallerLink {
            caller: caller.into(),
            region: region.into(),
        }
    }
}

/// A failover record pair of a `routing: routingControl` or `healthCheck` group: its hosted
/// zone, then the record's normalized name and type.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) struct FailoverRecordKey {
    pub hosted_zone_id: String,
    pub name: String,
    pub record_type: String,
}

/// An operation's approval in the store: its group's name and the operation's id.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) struct ApprovalKey {
    pub group: String,
    pub operation_id: String,
}

/// An API rate limit's token bucket: the service, then "global" (Route 53, limited per
/// account) or the region (the others, limited per account and region).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) struct ApiBucketKey {
    pub service: String,
    pub scope: String,
}
