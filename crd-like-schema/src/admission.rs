//! Store-wide admission: no two groups may manage the same AWS resource.
//!
//! Each group drives its global cluster, its regional clusters and its DNS record towards its
//! own spec. Two groups claiming one of them would fight (one fails over, the other fails
//! back), so a write is refused when a candidate claims what another group already claims,
//! like a Kubernetes admission check: against the documents already stored and against the
//! other candidates of the same write. Pure: the caller passes both sets in.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use crate::types::FailoverGroup;

/// An AWS resource that one group manages exclusively. Identifiers are compared as AWS
/// compares them: RDS identifiers and DNS names without regard to case, a record name with
/// or without its trailing dot.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Claim {
    GlobalCluster {
        identifier: String,
    },
    Cluster {
        region: String,
        identifier: String,
    },
    DnsRecord {
        hosted_zone_id: String,
        record_name: String,
        record_type: String,
    },
    /// An RDS DB instance of an rdsReplica group.
    Instance {
        region: String,
        identifier: String,
    },
}

impl fmt::Display for Claim {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Claim::GlobalCluster { identifier } => write!(f, "global cluster {identifier:?}"),
            Claim::Cluster { region, identifier } => {
                write!(f, "cluster {identifier:?} in {region}")
            }
            Claim::Instance { region, identifier } => {
                write!(f, "DB instance {identifier:?} in {region}")
            }
            Claim::DnsRecord {
                hosted_zone_id,
                record_name,
                record_type,
            } => write!(
                f,
                "DNS record {record_name} {record_type} in hosted zone {hosted_zone_id}"
            ),
        }
    }
}

/// The resources a document claims, each with the field path that claims it.
pub fn claims(doc: &FailoverGroup) -> Vec<(String, Claim)> {
    let spec = &doc.spec;
    let mut out = Vec::new();
    // An rdsReplica group has no global cluster: nothing to claim (two of them would
    // otherwise clash on the empty identifier).
    if !spec.database.global_cluster_identifier.is_empty() {
        out.push((
            "spec.database.globalClusterIdentifier".to_string(),
            Claim::GlobalCluster {
                identifier: spec.database.global_cluster_identifier.to_ascii_lowercase(),
            },
        ));
    }
    for (region, instance) in &spec.database.instances {
        out.push((
            format!("spec.database.instances.{region}.identifier"),
            Claim::Instance {
                region: region.clone(),
                identifier: instance.identifier.to_ascii_lowercase(),
            },
        ));
    }
    for (region, cluster) in &spec.database.clusters {
        out.push((
            format!("spec.database.clusters.{region}.identifier"),
            Claim::Cluster {
                region: region.clone(),
                identifier: cluster.identifier.to_ascii_lowercase(),
            },
        ));
    }
    out.push((
        "spec.dns.recordName".to_string(),
        Claim::DnsRecord {
            hosted_zone_id: spec.dns.hosted_zone_id.clone(),
            record_name: spec
                .dns
                .record_name
                .trim_end_matches('.')
                .to_ascii_lowercase(),
            record_type: spec.dns.record_type.as_str().to_string(),
        },
    ));
    out
}

/// One candidate claiming what another group claims.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Clash {
    /// Index of the refused document in `candidates`.
    pub candidate: usize,
    /// metadata.name of the refused document.
    pub name: String,
    /// The field of the refused document that makes the claim.
    pub path: String,
    pub claim: Claim,
    /// metadata.name of the group that claimed it first.
    pub other: String,
    /// When that group is another candidate (an earlier one), its index in `candidates`;
    /// None when it is a stored group.
    pub other_candidate: Option<usize>,
}

impl Clash {
    /// The refusal without the field path, naming the other group followed by `where_other`
    /// (for example the file and document it is in).
    pub fn message(&self, where_other: &str) -> String {
        format!(
            "{} is already managed by failovergroup/{}{where_other}: two groups must not \
             manage the same resource (they would drive it in opposite directions)",
            self.claim, self.other
        )
    }
}

impl fmt::Display for Clash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let where_other = if self.other_candidate.is_some() {
            " (in the same input)"
        } else {
            ""
        };
        write!(f, "{}: {}", self.path, self.message(where_other))
    }
}

/// Every clash of `candidates` with the stored groups and with each other. A stored group
/// with the name of a candidate is that candidate's previous version (it is being replaced)
/// and claims nothing. Between two candidates the later one is refused, naming the earlier.
pub fn find_clashes(candidates: &[FailoverGroup], stored: &[FailoverGroup]) -> Vec<Clash> {
    let replaced: BTreeSet<&str> = candidates
        .iter()
        .map(|c| c.metadata.name.as_str())
        .collect();
    let mut owners: BTreeMap<Claim, (&str, Option<usize>)> = BTreeMap::new();
    for doc in stored
        .iter()
        .filter(|s| !replaced.contains(s.metadata.name.as_str()))
    {
        for (_, claim) in claims(doc) {
            owners.entry(claim).or_insert((&doc.metadata.name, None));
        }
    }
    let mut clashes = Vec::new();
    for (index, doc) in candidates.iter().enumerate() {
        let name = doc.metadata.name.as_str();
        for (path, claim) in claims(doc) {
            match owners.get(&claim) {
                Some((owner, other_candidate)) if *owner != name => clashes.push(Clash {
                    candidate: index,
                    name: name.to_string(),
                    path,
                    claim,
                    other: owner.to_string(),
                    other_candidate: *other_candidate,
                }),
                Some(_) => {}
                None => {
                    owners.insert(claim, (name, Some(index)));
                }
            }
        }
    }
    clashes
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use super::*;
    use crate::parse::parse_documents;

    const EXAMPLE: &str = include_str!("../../examples/failovergroup.yaml");

    fn group(name: &str) -> FailoverGroup {
        let mut docs = parse_documents(EXAMPLE.as_bytes(), "example").unwrap();
        let mut doc = docs.remove(0);
        doc.metadata.name = name.to_string();
        let spec = &mut doc.spec;
        spec.database.global_cluster_identifier = format!("{name}-global");
        for (region, cluster) in spec.database.clusters.iter_mut() {
            cluster.identifier = format!("{name}-{region}");
        }
        spec.dns.record_name = format!("{name}.example.com.");
        doc
    }

    fn paths(clashes: &[Clash]) -> Vec<(&str, &str, &str)> {
        clashes
            .iter()
            .map(|c| (c.name.as_str(), c.path.as_str(), c.other.as_str()))
            .collect()
    }

    #[test]
    fn groups_with_their_own_resources_do_not_clash() {
        let stored = [group("a"), group("b")];
        assert_eq!(find_clashes(&[group("c")], &stored), vec![]);
        assert_eq!(find_clashes(&[group("c"), group("d")], &[]), vec![]);
    }

    #[test]
    fn a_new_version_of_a_stored_group_does_not_clash_with_itself() {
        let stored = [group("a")];
        let mut update = group("a");
        update.spec.writer = "us-west-2".into();
        assert_eq!(find_clashes(&[update], &stored), vec![]);
    }

    #[test]
    fn the_same_global_cluster_as_a_stored_group_is_refused_naming_it() {
        let mut b = group("b");
        b.spec.database.global_cluster_identifier = "A-GLOBAL".into();
        let clashes = find_clashes(&[b], &[group("a")]);
        assert_eq!(
            paths(&clashes),
            [("b", "spec.database.globalClusterIdentifier", "a")]
        );
        assert_eq!(clashes[0].other_candidate, None);
        assert!(clashes[0]
            .to_string()
            .contains("global cluster \"a-global\" is already managed by failovergroup/a"));
    }

    #[test]
    fn the_same_cluster_in_the_same_region_is_refused() {
        let mut b = group("b");
        b.spec
            .database
            .clusters
            .get_mut("us-west-2")
            .unwrap()
            .identifier = "a-us-west-2".into();
        assert_eq!(
            paths(&find_clashes(&[b], &[group("a")])),
            [("b", "spec.database.clusters.us-west-2.identifier", "a")]
        );
    }

    #[test]
    fn the_same_cluster_name_in_another_region_is_another_cluster() {
        let mut b = group("b");
        b.spec
            .database
            .clusters
            .get_mut("us-west-2")
            .unwrap()
            .identifier = "a-us-east-1".into();
        assert_eq!(find_clashes(&[b], &[group("a")]), vec![]);
    }

    #[test]
    fn the_same_dns_record_is_refused_whatever_the_case_and_trailing_dot() {
        let mut b = group("b");
        b.spec.dns.record_name = "A.Example.com".into();
        assert_eq!(
            paths(&find_clashes(&[b.clone()], &[group("a")])),
            [("b", "spec.dns.recordName", "a")]
        );
        // Another zone, or another type, is another record.
        b.spec.dns.hosted_zone_id = "Z999".into();
        assert_eq!(find_clashes(&[b], &[group("a")]), vec![]);
    }

    #[test]
    fn between_candidates_the_later_one_is_refused_naming_the_earlier() {
        let a = group("a");
        let mut b = group("b");
        b.spec.database.global_cluster_identifier =
            a.spec.database.global_cluster_identifier.clone();
        let clashes = find_clashes(&[a, b], &[]);
        assert_eq!(
            paths(&clashes),
            [("b", "spec.database.globalClusterIdentifier", "a")]
        );
        assert_eq!(clashes[0].candidate, 1);
        assert_eq!(clashes[0].other_candidate, Some(0));
        assert!(clashes[0].to_string().contains("(in the same input)"));
    }

    #[test]
    fn a_resource_freed_by_a_candidate_can_be_taken_by_another() {
        // a moves to a new record; c takes a's old one in the same write.
        let mut a = group("a");
        a.spec.dns.record_name = "a2.example.com".into();
        let mut c = group("c");
        c.spec.dns.record_name = "a.example.com.".into();
        assert_eq!(find_clashes(&[a, c], &[group("a")]), vec![]);
    }

    #[test]
    fn every_claim_of_a_copy_is_reported() {
        let mut copy = group("a");
        copy.metadata.name = "copy".into();
        let clashes = find_clashes(&[copy], &[group("a")]);
        let fields: Vec<&str> = clashes.iter().map(|c| c.path.as_str()).collect();
        assert_eq!(
            fields,
            [
                "spec.database.globalClusterIdentifier",
                "spec.database.clusters.us-east-1.identifier",
                "spec.database.clusters.us-west-2.identifier",
                "spec.dns.recordName",
            ]
        );
    }
}
