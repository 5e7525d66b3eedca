//! The facts the continuous pre-flight checks read (DescribeOrderableDBInstanceOptions and
//! DescribeAccountAttributes): every class is orderable everywhere unless a test withdraws it,
//! and a region's DB-instance quota is AWS's default of 40 with the world's own instances in
//! use, unless a test sets it.

use std::collections::{BTreeMap, BTreeSet};

use drctl_cloud::DbInstanceQuota;

use crate::state::State;
use crate::world::SimWorld;

/// RDS's default DB-instance quota per region (Service Quotas, "DB instances").
pub const DEFAULT_DB_INSTANCE_QUOTA: u64 = 40;

#[derive(Debug, Clone, Default)]
pub struct Offerings {
    /// (region, instance class) not orderable there.
    pub withdrawn: BTreeSet<(String, String)>,
    /// A region's quota as set by a test (else the default, with the world's instances).
    pub quotas: BTreeMap<String, DbInstanceQuota>,
}

impl State {
    pub(crate) fn instance_class_offered(&self, region: &str, instance_class: &str) -> bool {
        !self
            .offerings
            .withdrawn
            .contains(&(region.to_string(), instance_class.to_string()))
    }

    pub(crate) fn db_instance_quota(&self, region: &str) -> DbInstanceQuota {
        if let Some(q) = self.offerings.quotas.get(region) {
            return *q;
        }
        let used = self.instances.keys().filter(|k| k.region == region).count();
        DbInstanceQuota {
            used: u64::try_from(used).unwrap_or(u64::MAX),
            max: DEFAULT_DB_INSTANCE_QUOTA,
        }
    }
}

/// Knobs for tests and drills.
impl SimWorld {
    /// `instance_class` is no longer orderable in `region` (for any engine).
    pub fn withdraw_instance_class(&self, region: &str, instance_class: &str) {
        self.current()
            .offerings
            .withdrawn
            .insert((region.to_string(), instance_class.to_string()));
    }

    /// Set the DB-instance quota of `region`.
    pub fn set_db_instance_quota(&self, region: &str, quota: DbInstanceQuota) {
        self.current()
            .offerings
            .quotas
            .insert(region.to_string(), quota);
    }
}
