//! Route 53 in the world: zones and records, listed a page at a time, all-or-nothing change
//! batches of many records (DELETE with the exact old values + CREATE is a compare-and-swap),
//! PENDING then INSYNC, and a data plane that answers with a change only once it is INSYNC
//! (aws-facts.md, "Route 53").

use std::ops::Bound;

use drctl_cloud::{
    AliasTarget, ChangeInfo, ChangeStatus, CloudError, CloudResult, DnsRecord, ErrorCategory,
    RecordChange, Service,
};

use crate::keys::*;
use crate::record::{DnsChangeRecord, FactKind};
use crate::state::*;

const R53: Service = Service::Route53;

fn r53_err(cat: ErrorCategory, op: &'static str, code: &str, msg: impl Into<String>) -> CloudError {
    cloud_err(cat, R53, op, code, msg)
}

/// A record as Route 53 stores and returns it: names lower case and fully qualified.
pub(crate) fn normalize(r: &DnsRecord) -> DnsRecord {
    DnsRecord {
        name: norm_name(&r.name),
        record_type: r.record_type.to_ascii_uppercase(),
        ttl: r.ttl,
        alias: r.alias.as_ref().map(|a| AliasTarget {
            dns_name: norm_name(&a.dns_name),
            hosted_zone_id: a.hosted_zone_id.clone(),
            evaluate_target_health: a.evaluate_target_health,
        }),
        values: r.values.clone(),
    }
}

fn same_record(a: &DnsRecord, b: &DnsRecord) -> bool {
    let (a, b) = (normalize(a), normalize(b));
    let values = |r: &DnsRecord| -> Vec<String> {
        r.values
            .iter()
            .map(|v| drctl_cloud::dns_name::bare(v))
            .collect()
    };
    a.name == b.name
        && a.record_type == b.record_type
        && a.ttl == b.ttl
        && a.alias == b.alias
        && values(&a) == values(&b)
}

fn validate(op: &'static str, r: &DnsRecord) -> CloudResult<()> {
    let problem = match (r.alias.is_some(), r.values.is_empty(), r.ttl.is_some()) {
        (true, false, _) => Some("an alias record cannot also have values"),
        (true, true, true) => Some("an alias record cannot have a TTL"),
        (false, true, _) => Some("a record needs values or an alias target"),
        (false, false, false) => Some("a non-alias record needs a TTL"),
        _ => None,
    };
    match problem {
        Some(p) => Err(r53_err(
            ErrorCategory::NeedsSpecChange,
            op,
            "InvalidInput",
            format!("{}: {p}", r.name),
        )),
        None => Ok(()),
    }
}

fn record_key(r: &DnsRecord) -> RecordKey {
    RecordKey {
        name: norm_name(&r.name),
        record_type: r.record_type.to_ascii_uppercase(),
    }
}

/// A compare-and-swap's DELETE must name the record exactly as it is, and its CREATE must not
/// land on another record that exists.
fn check_swap(zone: &Zone, change: &RecordChange) -> CloudResult<()> {
    const OP: &str = "ChangeResourceRecordSets";
    let Some(exp) = &change.expected else {
        return Ok(());
    };
    let ekey = record_key(exp);
    let dkey = record_key(&change.desired);
    let refuse = |what: String| {
        Err(r53_err(
            ErrorCategory::Retryable,
            OP,
            "InvalidChangeBatch",
            what,
        ))
    };
    match zone.records.get(&ekey).and_then(|e| e.current.as_ref()) {
        None => {
            return refuse(format!(
                "Tried to delete resource record set [name='{}', type='{}'] but it was not found",
                ekey.name, ekey.record_type
            ))
        }
        Some(cur) if !same_record(cur, exp) => {
            return refuse(format!(
                "Tried to delete resource record set [name='{}', type='{}'] but the values provided do not match the current values",
                ekey.name, ekey.record_type
            ))
        }
        Some(_) => {}
    }
    if ekey != dkey && zone.records.get(&dkey).is_some_and(|e| e.current.is_some()) {
        return refuse(format!(
            "Tried to create resource record set [name='{}', type='{}'] but it already exists",
            dkey.name, dkey.record_type
        ));
    }
    Ok(())
}

/// Apply one checked change; the data plane answers with it from `insync_at`. Returns the
/// record as stored.
fn apply(zone: &mut Zone, change: &RecordChange, insync_at: i64) -> DnsRecord {
    let desired = normalize(&change.desired);
    let dkey = record_key(&desired);
    if let Some(exp) = &change.expected {
        let ekey = record_key(exp);
        if ekey != dkey {
            let e = zone.records.entry(ekey).or_default();
            e.current = None;
            e.history.push((insync_at, None));
        }
    }
    let e = zone.records.entry(dkey).or_default();
    e.current = Some(desired.clone());
    e.history.push((insync_at, Some(desired.clone())));
    desired
}

impl State {
    pub(crate) fn get_record(
        &self,
        zone_id: &str,
        name: &str,
        record_type: &str,
    ) -> CloudResult<Option<DnsRecord>> {
        let zone = self.zone(zone_id, "ListResourceRecordSets")?;
        let key = RecordKey {
            name: norm_name(name),
            record_type: record_type.to_ascii_uppercase(),
        };
        Ok(zone.records.get(&key).and_then(|e| e.current.clone()))
    }

    /// One ListResourceRecordSets page of the whole zone from `start` (inclusive), in the
    /// zone's order, and where the next page starts if there is one.
    pub(crate) fn records_page(
        &self,
        zone_id: &str,
        start: Option<&RecordKey>,
        page_size: usize,
    ) -> CloudResult<(Vec<DnsRecord>, Option<RecordKey>)> {
        let zone = self.zone(zone_id, "ListResourceRecordSets")?;
        // A range from the start key, not a scan of the zone: a listing costs its pages.
        let from = match start {
            Some(s) => Bound::Included(s),
            None => Bound::Unbounded,
        };
        let mut live = zone
            .records
            .range::<RecordKey, _>((from, Bound::Unbounded))
            .filter_map(|(key, e)| e.current.as_ref().map(|r| (key, r)));
        let page: Vec<DnsRecord> = live
            .by_ref()
            .take(page_size)
            .map(|(_, r)| r.clone())
            .collect();
        let next = live.next().map(|(key, _)| key.clone());
        Ok((page, next))
    }

    fn zone(&self, zone_id: &str, op: &'static str) -> CloudResult<&Zone> {
        self.zones.get(zone_id).ok_or_else(|| {
            r53_err(
                ErrorCategory::NeedsSpecChange,
                op,
                "NoSuchHostedZone",
                format!("No hosted zone found with ID: {zone_id}"),
            )
        })
    }

    /// ChangeResourceRecordSets: every change is checked against the zone before anything
    /// changes (all or nothing), then all are applied under one change id that becomes INSYNC
    /// at one time for every record. The caller has refused batches Route 53 rejects as a
    /// whole (`check_record_batch`), so no record is changed twice.
    pub(crate) fn change_records(
        &mut self,
        ctx: &Ctx,
        zone_id: &str,
        changes: &[RecordChange],
    ) -> CloudResult<ChangeInfo> {
        const OP: &str = "ChangeResourceRecordSets";
        for change in changes {
            validate(OP, &change.desired)?;
        }
        let zone = self.zone(zone_id, OP)?;
        for change in changes {
            check_swap(zone, change)?;
        }
        let insync = self.op_duration(self.cfg.timings.dns_insync);
        let insync_at = ctx.now + insync;
        self.change_counter += 1;
        let id = format!("/change/C{:012X}", self.change_counter);
        let zone = self.zones.entry(zone_id.to_string()).or_default();
        let mut applied = Vec::with_capacity(changes.len());
        for change in changes {
            applied.push(apply(zone, change, insync_at));
        }
        self.changes.insert(id.clone(), Change { insync_at });
        self.push_event(insync_at, Event::ChangeInSync(id.clone()));
        for desired in &applied {
            self.log_dns_change(ctx, zone_id, desired, &id);
        }
        Ok(ChangeInfo {
            id,
            status: ChangeStatus::Pending,
        })
    }

    /// Remember the world at the moment DNS moved (invariant 4).
    fn log_dns_change(&mut self, ctx: &Ctx, zone_id: &str, rec: &DnsRecord, id: &str) {
        let group = self.group_of_record(zone_id, &rec.name);
        let to_region = group.and_then(|g| self.record_region(g, rec));
        self.log_dns_move(ctx, group, to_region, zone_id, &rec.name, id);
    }

    /// Remember the world at the moment `group`'s traffic was sent to `to_region` (by a
    /// record change or a routing-control flip): invariant 4 is checked on this log.
    pub(crate) fn log_dns_move(
        &mut self,
        ctx: &Ctx,
        group: Option<usize>,
        to_region: Option<String>,
        zone_id: &str,
        record_name: &str,
        id: &str,
    ) {
        let spec = group
            .and_then(|g| self.groups.get(g))
            .map(|g| g.spec.clone());
        let global = spec
            .as_ref()
            .map(|s| s.database.global_cluster_identifier.clone());
        let writer = global
            .as_ref()
            .and_then(|g| self.globals.get(g))
            .and_then(|g| g.writer.clone());
        let writer_writable = writer.as_ref().is_some_and(|w| self.accepts_writes(w));
        let mut services = Vec::new();
        if let (Some(spec), Some(region)) = (&spec, &to_region) {
            for s in &spec.compute.services {
                if let Some(r) = s.regions.get(region) {
                    let k = ServiceKey::new(region.clone(), r.cluster.clone(), r.service.clone());
                    let (running, desired) = self
                        .services
                        .get(&k)
                        .map_or((0, 0), |x| (x.running, x.desired));
                    services.push((s.name.clone(), running, desired));
                }
            }
        }
        self.dns_log.push(DnsChangeRecord {
            call_seq: ctx.seq,
            at_ms: ctx.now,
            caller: ctx.caller.clone(),
            change_id: id.to_string(),
            hosted_zone_id: zone_id.to_string(),
            record_name: record_name.to_string(),
            to_region,
            global,
            writer_region: writer.map(|w| w.region),
            writer_writable,
            services,
        });
    }

    pub(crate) fn get_change(&self, change_id: &str) -> CloudResult<ChangeStatus> {
        let id = if change_id.starts_with("/change/") {
            change_id.to_string()
        } else {
            format!("/change/{change_id}")
        };
        let c = self.changes.get(&id).ok_or_else(|| {
            r53_err(
                ErrorCategory::NeedsSpecChange,
                "GetChange",
                "NoSuchChange",
                format!("A change with the specified change ID does not exist: {change_id}"),
            )
        })?;
        Ok(if self.now >= c.insync_at {
            ChangeStatus::InSync
        } else {
            ChangeStatus::Pending
        })
    }

    pub(crate) fn change_insync(&mut self, t: i64, id: String) {
        // One fact per record the change wrote (a batch writes several).
        let written: Vec<(String, Option<String>)> = self
            .dns_log
            .iter()
            .filter(|d| d.change_id == id)
            .map(|d| (d.record_name.clone(), d.to_region.clone()))
            .collect();
        for (record, region) in written {
            self.fact(
                t,
                FactKind::DnsInSync {
                    change_id: id.clone(),
                    record,
                    region,
                },
            );
        }
    }

    /// The health-check answer for `url` (the `Verify` step): 200 when the region DNS
    /// answers with is up and its compute has running tasks; 503 when it has none; a connect
    /// error when the region is down.
    pub(crate) fn probe(&self, url: &str) -> CloudResult<u16> {
        const OP: &str = "GET";
        let host = url
            .split("://")
            .nth(1)
            .unwrap_or(url)
            .split(['/', ':'])
            .next()
            .unwrap_or("");
        let group = self
            .groups
            .iter()
            .find(|g| g.spec.verify.as_ref().is_some_and(|v| v.url == url))
            .or_else(|| {
                self.groups
                    .iter()
                    .find(|g| norm_name(&g.spec.dns.record_name) == norm_name(host))
            })
            .ok_or_else(|| {
                cloud_err(
                    ErrorCategory::NeedsSpecChange,
                    Service::Http,
                    OP,
                    "NameResolutionFailure",
                    format!("{host}: no such host in the simulated world"),
                )
            })?;
        let region = self.data_plane_region(group, self.now).ok_or_else(|| {
            cloud_err(
                ErrorCategory::Retryable,
                Service::Http,
                OP,
                "NameResolutionFailure",
                format!("{host} does not resolve to a known target"),
            )
        })?;
        if !self.compute_up(&region) {
            return Err(cloud_err(
                ErrorCategory::Retryable,
                Service::Http,
                OP,
                "ConnectTimeout",
                format!("{url}: connection to the load balancer in {region} timed out"),
            ));
        }
        let all_running = group.spec.compute.services.iter().all(|s| {
            s.regions.get(&region).is_some_and(|r| {
                self.services
                    .get(&ServiceKey::new(
                        region.clone(),
                        r.cluster.clone(),
                        r.service.clone(),
                    ))
                    .is_some_and(|x| x.running > 0)
            })
        });
        Ok(if all_running { 200 } else { 503 })
    }
}
