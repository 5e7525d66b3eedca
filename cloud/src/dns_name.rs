//! DNS names, and the record a group wants, in one place for the controller, the simulated
//! Route 53 and the IAM policy (they had four spellings of "the same name" between them).
//!
//! Route 53 compares names case-insensitively and stores them fully qualified, with the
//! trailing dot; its IAM condition key `route53:ChangeResourceRecordSetsNormalizedRecordNames`
//! takes them lower-cased without it.

use drctl_schema::{DnsTarget, FailoverGroupSpec, RecordType};

use crate::model::{AliasTarget, DnsRecord};

/// The form Route 53 stores a name in: lower case, one trailing dot.
pub fn fqdn(name: &str) -> String {
    let name = name.trim().to_ascii_lowercase();
    if name.ends_with('.') {
        name
    } else {
        format!("{name}.")
    }
}

/// The form of IAM's record-name condition and of CNAME values compared: lower case, no
/// trailing dot.
pub fn bare(name: &str) -> String {
    name.trim().trim_end_matches('.').to_ascii_lowercase()
}

/// The record the spec wants while `target` (one of `spec.dns.targets`) owns DNS; None when
/// the target lacks what its record type needs (validation refuses such a spec).
pub fn desired_record(spec: &FailoverGroupSpec, target: &DnsTarget) -> Option<DnsRecord> {
    let name = fqdn(&spec.dns.record_name);
    Some(match spec.dns.record_type {
        RecordType::A => DnsRecord {
            name,
            record_type: "A".to_string(),
            ttl: None,
            alias: Some(AliasTarget {
                dns_name: fqdn(target.alias_dns_name.as_deref()?),
                hosted_zone_id: target.alias_hosted_zone_id.clone()?,
                evaluate_target_health: false,
            }),
            values: Vec::new(),
        },
        RecordType::Cname => DnsRecord {
            name,
            record_type: "CNAME".to_string(),
            ttl: Some(spec.dns.effective_ttl()),
            alias: None,
            values: vec![target.value.clone()?],
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_spelling_of_a_name_comes_to_one_form_each() {
        for spelling in ["API.example.com", "api.example.com.", " api.Example.COM. "] {
            assert_eq!(fqdn(spelling), "api.example.com.");
            assert_eq!(bare(spelling), "api.example.com");
        }
    }
}
