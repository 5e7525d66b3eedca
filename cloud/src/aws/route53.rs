//! Route 53 (aws-sdk-route53): one record or a whole zone read; changes sent as one
//! all-or-nothing batch.

use async_trait::async_trait;
use aws_sdk_route53::types::{
    AliasTarget as SdkAlias, Change, ChangeAction, ChangeBatch, ResourceRecord, ResourceRecordSet,
    ResourceRecordSetFailover, RrType,
};

use super::errors::{from_build, malformed_response, mapper as err};
use super::operations as ops;
use super::retry::MutationRetryGuard;
use super::AwsCloud;
use crate::error::{CloudError, CloudResult, ErrorCategory};
use crate::model::*;
use crate::ports::Dns;

/// Records per ListResourceRecordSets page when looking for one record. Several records
/// share (name, type) only with weighted/latency/failover routing; a small page usually
/// answers in one call.
const LOOKUP_PAGE_SIZE: i32 = 10;

/// Records per page when listing a whole zone: Route 53's maximum.
const LISTING_PAGE_SIZE: i32 = ROUTE53_RECORD_SETS_PER_PAGE as i32;

fn mutation() -> aws_sdk_route53::config::Builder {
    aws_sdk_route53::config::Builder::default().retry_classifier(MutationRetryGuard)
}

/// A simple-routing record in our terms; None for records with a routing policy
/// (`SetIdentifier`), which drctl does not manage.
pub(crate) fn to_dns_record(r: &ResourceRecordSet) -> Option<DnsRecord> {
    if r.set_identifier().is_some() {
        return None;
    }
    Some(record_of(r))
}

/// A failover-routing record in our terms; None for any other record.
pub(crate) fn to_failover_record(r: &ResourceRecordSet) -> Option<FailoverRecord> {
    let role = match r.failover()? {
        ResourceRecordSetFailover::Primary => FailoverRole::Primary,
        ResourceRecordSetFailover::Secondary => FailoverRole::Secondary,
        _ => return None,
    };
    Some(FailoverRecord {
        set_identifier: r.set_identifier().unwrap_or_default().to_string(),
        role,
        health_check_id: r.health_check_id().map(str::to_string),
        record: record_of(r),
    })
}

fn record_of(r: &ResourceRecordSet) -> DnsRecord {
    DnsRecord {
        name: r.name().to_string(),
        record_type: r.r#type().as_str().to_string(),
        ttl: r.ttl().and_then(|t| u32::try_from(t).ok()),
        alias: r.alias_target().map(|a| AliasTarget {
            dns_name: a.dns_name().to_string(),
            hosted_zone_id: a.hosted_zone_id().to_string(),
            evaluate_target_health: a.evaluate_target_health(),
        }),
        values: r
            .resource_records()
            .iter()
            .map(|v| v.value().to_string())
            .collect(),
    }
}

fn to_record_set(record: &DnsRecord) -> Result<ResourceRecordSet, CloudError> {
    let op = &ops::CHANGE_RESOURCE_RECORD_SETS;
    let mut builder = ResourceRecordSet::builder()
        .name(&record.name)
        .r#type(RrType::from(record.record_type.as_str()));
    if let Some(alias) = &record.alias {
        // An alias record has no TTL and no values: Route 53 rejects them.
        builder = builder.alias_target(
            SdkAlias::builder()
                .dns_name(&alias.dns_name)
                .hosted_zone_id(&alias.hosted_zone_id)
                .evaluate_target_health(alias.evaluate_target_health)
                .build()
                .map_err(|e| from_build(op, e))?,
        );
    } else {
        builder = builder.set_ttl(record.ttl.map(i64::from));
        for value in &record.values {
            builder = builder.resource_records(
                ResourceRecord::builder()
                    .value(value)
                    .build()
                    .map_err(|e| from_build(op, e))?,
            );
        }
    }
    builder.build().map_err(|e| from_build(op, e))
}

fn change(action: ChangeAction, record: &DnsRecord) -> Result<Change, CloudError> {
    Change::builder()
        .action(action)
        .resource_record_set(to_record_set(record)?)
        .build()
        .map_err(|e| from_build(&ops::CHANGE_RESOURCE_RECORD_SETS, e))
}

/// The wire changes of a batch, in order. DELETE(exact old values) + CREATE is a
/// compare-and-swap: Route 53 applies the whole batch or none of it, and the DELETE fails if
/// the record changed since it was read.
pub(crate) fn to_changes(changes: &[RecordChange]) -> Result<Vec<Change>, CloudError> {
    let mut wire = Vec::with_capacity(changes.len() * 2);
    for c in changes {
        match &c.expected {
            Some(old) => {
                wire.push(change(ChangeAction::Delete, old)?);
                wire.push(change(ChangeAction::Create, &c.desired)?);
            }
            None => wire.push(change(ChangeAction::Upsert, &c.desired)?),
        }
    }
    Ok(wire)
}

/// Where the next page of a whole-zone listing starts.
fn next_cursor(
    page: &aws_sdk_route53::operation::list_resource_record_sets::ListResourceRecordSetsOutput,
) -> CloudResult<Option<RecordCursor>> {
    if !page.is_truncated() {
        return Ok(None);
    }
    match (page.next_record_name(), page.next_record_type()) {
        (Some(name), Some(record_type)) => Ok(Some(RecordCursor {
            name: name.to_string(),
            record_type: record_type.as_str().to_string(),
            identifier: page.next_record_identifier().map(str::to_string),
        })),
        _ => Err(malformed_response(
            &ops::LIST_RESOURCE_RECORD_SETS,
            "a truncated page without NextRecordName and NextRecordType",
        )),
    }
}

pub(crate) fn to_change_status(status: &aws_sdk_route53::types::ChangeStatus) -> ChangeStatus {
    match status {
        aws_sdk_route53::types::ChangeStatus::Insync => ChangeStatus::InSync,
        // PENDING, and any status a later API version adds: not known to be in sync.
        _ => ChangeStatus::Pending,
    }
}

fn to_change_info(
    op: &ops::AwsOperation,
    info: Option<&aws_sdk_route53::types::ChangeInfo>,
) -> CloudResult<ChangeInfo> {
    let info = info.ok_or_else(|| malformed_response(op, "response has no ChangeInfo"))?;
    Ok(ChangeInfo {
        // `/change/C123` in the response; GetChange accepts either form.
        id: info.id().trim_start_matches("/change/").to_string(),
        status: to_change_status(info.status()),
    })
}

#[async_trait]
impl Dns for AwsCloud {
    async fn get_record(
        &self,
        hosted_zone_id: &str,
        name: &str,
        record_type: &str,
    ) -> CloudResult<Option<DnsRecord>> {
        let wanted_name = normalize_record_name(name);
        let wanted_type = RrType::from(record_type);
        // ListResourceRecordSets lists the zone in order *starting at* (name, type): the first
        // record returned is the next one in order when ours does not exist, so every record
        // returned is checked. Pages continue only while they still hold our (name, type),
        // i.e. several routing-policy records with set identifiers.
        let mut start_identifier: Option<String> = None;
        let mut saw_routing_policy = false;
        loop {
            let page = self
                .lookup_page(hosted_zone_id, &wanted_name, &wanted_type, start_identifier)
                .await?;
            for set in page.resource_record_sets() {
                if normalize_record_name(set.name()) != wanted_name || *set.r#type() != wanted_type
                {
                    // Past our (name, type) in the zone's order: it does not exist (further).
                    return self.no_simple_record(saw_routing_policy, &wanted_name, record_type);
                }
                match to_dns_record(set) {
                    Some(record) => return Ok(Some(record)),
                    None => saw_routing_policy = true,
                }
            }
            start_identifier = next_lookup_page(&page, &wanted_name, &wanted_type);
            if start_identifier.is_none() {
                return self.no_simple_record(saw_routing_policy, &wanted_name, record_type);
            }
        }
    }

    async fn list_records_page(
        &self,
        hosted_zone_id: &str,
        from: Option<&RecordCursor>,
    ) -> CloudResult<RecordPage> {
        let page = self
            .route53()
            .list_resource_record_sets()
            .hosted_zone_id(hosted_zone_id)
            .set_start_record_name(from.map(|c| c.name.clone()))
            .set_start_record_type(from.map(|c| RrType::from(c.record_type.as_str())))
            .set_start_record_identifier(from.and_then(|c| c.identifier.clone()))
            .max_items(LISTING_PAGE_SIZE)
            .send()
            .await
            .map_err(err(&ops::LIST_RESOURCE_RECORD_SETS))?;
        Ok(RecordPage {
            records: page
                .resource_record_sets()
                .iter()
                .filter_map(to_dns_record)
                .collect(),
            next: next_cursor(&page)?,
        })
    }

    async fn change_records(
        &self,
        hosted_zone_id: &str,
        changes: &[RecordChange],
        comment: &str,
    ) -> CloudResult<ChangeInfo> {
        let op = &ops::CHANGE_RESOURCE_RECORD_SETS;
        check_record_batch(changes)?;
        let batch = ChangeBatch::builder()
            .comment(comment)
            .set_changes(Some(to_changes(changes)?))
            .build()
            .map_err(|e| from_build(op, e))?;
        let out = self
            .route53()
            .change_resource_record_sets()
            .hosted_zone_id(hosted_zone_id)
            .change_batch(batch)
            .customize()
            .config_override(mutation())
            .send()
            .await
            .map_err(err(op))?;
        to_change_info(op, out.change_info())
    }

    async fn get_change(&self, change_id: &str) -> CloudResult<ChangeStatus> {
        let op = &ops::GET_CHANGE;
        let out = self
            .route53()
            .get_change()
            .id(change_id)
            .send()
            .await
            .map_err(err(op))?;
        Ok(to_change_info(op, out.change_info())?.status)
    }

    async fn list_failover_records(
        &self,
        hosted_zone_id: &str,
        name: &str,
        record_type: &str,
    ) -> CloudResult<Vec<FailoverRecord>> {
        let wanted_name = normalize_record_name(name);
        let wanted_type = RrType::from(record_type);
        let mut found = Vec::new();
        let mut start_identifier: Option<String> = None;
        loop {
            let page = self
                .lookup_page(hosted_zone_id, &wanted_name, &wanted_type, start_identifier)
                .await?;
            let ours = |set: &&ResourceRecordSet| {
                normalize_record_name(set.name()) == wanted_name && *set.r#type() == wanted_type
            };
            found.extend(
                page.resource_record_sets()
                    .iter()
                    .take_while(ours)
                    .filter_map(to_failover_record),
            );
            start_identifier = next_lookup_page(&page, &wanted_name, &wanted_type);
            if start_identifier.is_none() {
                return Ok(found);
            }
        }
    }

    async fn get_health_check(
        &self,
        health_check_id: &str,
    ) -> CloudResult<Option<HealthCheckInfo>> {
        let op = &ops::GET_HEALTH_CHECK;
        let out = match self
            .route53()
            .get_health_check()
            .health_check_id(health_check_id)
            .send()
            .await
        {
            Ok(out) => out,
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_no_such_health_check()) =>
            {
                return Ok(None)
            }
            Err(e) => return Err(err(op)(e)),
        };
        let check = out
            .health_check()
            .ok_or_else(|| malformed_response(op, "GetHealthCheck returned no health check"))?;
        let config = check.health_check_config();
        Ok(Some(HealthCheckInfo {
            id: check.id().to_string(),
            check_type: config
                .map(|c| c.r#type().as_str().to_string())
                .unwrap_or_default(),
            routing_control_arn: config
                .and_then(|c| c.routing_control_arn())
                .map(str::to_string),
        }))
    }

    async fn get_health_check_status(
        &self,
        health_check_id: &str,
    ) -> CloudResult<Vec<HealthCheckObservation>> {
        let op = &ops::GET_HEALTH_CHECK_STATUS;
        let out = self
            .route53()
            .get_health_check_status()
            .health_check_id(health_check_id)
            .send()
            .await
            .map_err(err(op))?;
        Ok(out
            .health_check_observations()
            .iter()
            .map(|o| {
                let status = o
                    .status_report()
                    .and_then(|r| r.status())
                    .unwrap_or_default()
                    .to_string();
                HealthCheckObservation {
                    region: o
                        .region()
                        .map(|r| r.as_str().to_string())
                        .unwrap_or_default(),
                    healthy: status.starts_with("Success"),
                    status,
                }
            })
            .collect())
    }
}

/// Where the next page of a lookup of (name, type) starts: Some(its set identifier) while
/// the listing is truncated and the next record is still ours (several routing-policy
/// records of one name and type), None when the lookup is complete. Records without a set
/// identifier are never split over pages (one per name and type).
fn next_lookup_page(
    page: &aws_sdk_route53::operation::list_resource_record_sets::ListResourceRecordSetsOutput,
    wanted_name: &str,
    wanted_type: &RrType,
) -> Option<String> {
    let same_next = page
        .next_record_name()
        .map(normalize_record_name)
        .as_deref()
        == Some(wanted_name)
        && page.next_record_type() == Some(wanted_type);
    if !page.is_truncated() || !same_next {
        return None;
    }
    page.next_record_identifier().map(str::to_string)
}

impl AwsCloud {
    /// One ListResourceRecordSets page from (name, type[, set identifier]): the lookup that
    /// `get_record` and `list_failover_records` share.
    async fn lookup_page(
        &self,
        hosted_zone_id: &str,
        wanted_name: &str,
        wanted_type: &RrType,
        start_identifier: Option<String>,
    ) -> CloudResult<
        aws_sdk_route53::operation::list_resource_record_sets::ListResourceRecordSetsOutput,
    > {
        self.route53()
            .list_resource_record_sets()
            .hosted_zone_id(hosted_zone_id)
            .start_record_name(wanted_name)
            .start_record_type(wanted_type.clone())
            .set_start_record_identifier(start_identifier)
            .max_items(LOOKUP_PAGE_SIZE)
            .send()
            .await
            .map_err(err(&ops::LIST_RESOURCE_RECORD_SETS))
    }

    fn no_simple_record(
        &self,
        saw_routing_policy: bool,
        name: &str,
        record_type: &str,
    ) -> CloudResult<Option<DnsRecord>> {
        if saw_routing_policy {
            // Overwriting a weighted/failover set with a simple record would break someone
            // else's routing: the spec must point at a record drctl owns.
            return Err(CloudError::new(
                ErrorCategory::NeedsSpecChange,
                ops::LIST_RESOURCE_RECORD_SETS.service,
                ops::LIST_RESOURCE_RECORD_SETS.name,
                "UnsupportedRoutingPolicy",
                format!("{name} {record_type} uses a routing policy (SetIdentifier); drctl manages simple records only"),
            ));
        }
        Ok(None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cname(name: &str, value: &str) -> DnsRecord {
        DnsRecord {
            name: name.to_string(),
            record_type: "CNAME".to_string(),
            ttl: Some(60),
            alias: None,
            values: vec![value.to_string()],
        }
    }

    #[test]
    fn a_batch_keeps_each_records_delete_before_its_create_and_upserts_in_place() {
        let changes = [
            RecordChange {
                expected: Some(cname("a.example.com.", "old.example.com")),
                desired: cname("a.example.com.", "new.example.com"),
            },
            RecordChange {
                expected: None,
                desired: cname("b.example.com.", "b.example.com"),
            },
        ];
        let wire: Vec<(String, String, String)> = to_changes(&changes)
            .unwrap()
            .iter()
            .map(|c| {
                let set = c.resource_record_set().unwrap();
                (
                    c.action().as_str().to_string(),
                    set.name().to_string(),
                    set.resource_records()[0].value().to_string(),
                )
            })
            .collect();
        let row = |a: &str, n: &str, v: &str| (a.to_string(), n.to_string(), v.to_string());
        assert_eq!(
            wire,
            [
                row("DELETE", "a.example.com.", "old.example.com"),
                row("CREATE", "a.example.com.", "new.example.com"),
                row("UPSERT", "b.example.com.", "b.example.com"),
            ]
        );
    }
}
