//! `spec.dependencies` (docs/design-contract.md §7.5): S3 replication and DynamoDB global
//! tables, observed and reported by drctl, never changed. Their names are checked against
//! AWS's naming rules here so that a typo is refused with its field path instead of showing
//! up later as a bucket that "does not exist".

use std::collections::BTreeSet;

use super::{region_list, Check, ValidationErrors};
use crate::types::{DependenciesSpec, GlobalTableDependency, S3ReplicationDependency};

const PATH: &str = "spec.dependencies";

/// Check `spec.dependencies` against `regions` (spec.regions).
pub(super) fn check(errs: &mut ValidationErrors, deps: &DependenciesSpec, regions: &[String]) {
    if deps.s3_replication.is_none() && deps.dynamodb_global_tables.is_none() {
        errs.push(
            PATH,
            "give s3Replication, dynamodbGlobalTables or both (or leave spec.dependencies out)",
        );
    }
    if let Some(buckets) = &deps.s3_replication {
        check_buckets(errs, buckets, regions);
    }
    if let Some(tables) = &deps.dynamodb_global_tables {
        check_tables(errs, tables, regions);
    }
}

fn check_buckets(
    errs: &mut ValidationErrors,
    buckets: &[S3ReplicationDependency],
    regions: &[String],
) {
    let path = format!("{PATH}.s3Replication");
    if buckets.is_empty() {
        errs.push(
            &path,
            "is empty: list at least one bucket, or leave s3Replication out",
        );
    }
    let listed = region_list(regions);
    let mut seen = BTreeSet::new();
    for (i, dep) in buckets.iter().enumerate() {
        let p = format!("{path}[{i}]");
        if let Err(why) = s3_bucket_name(&dep.bucket) {
            errs.push(format!("{p}.bucket"), format!("{:?} {why}", dep.bucket));
        }
        if let Err(why) = s3_bucket_name(&dep.destination_bucket) {
            errs.push(
                format!("{p}.destinationBucket"),
                format!("{:?} {why}", dep.destination_bucket),
            );
        } else if dep.destination_bucket == dep.bucket {
            errs.push(
                format!("{p}.destinationBucket"),
                format!(
                    "{:?} is the source bucket itself: Cross-Region Replication copies to another bucket",
                    dep.destination_bucket
                ),
            );
        }
        if !regions.contains(&dep.region) {
            errs.push(
                format!("{p}.region"),
                format!("{:?} is not one of spec.regions {listed}", dep.region),
            );
        }
        if !seen.insert(dep.bucket.as_str()) {
            errs.push(
                format!("{p}.bucket"),
                format!("{:?} is listed twice", dep.bucket),
            );
        }
    }
}

fn check_tables(errs: &mut ValidationErrors, tables: &[GlobalTableDependency], regions: &[String]) {
    let path = format!("{PATH}.dynamodbGlobalTables");
    if tables.is_empty() {
        errs.push(
            &path,
            "is empty: list at least one table, or leave dynamodbGlobalTables out",
        );
    }
    let listed = region_list(regions);
    let mut seen = BTreeSet::new();
    for (i, dep) in tables.iter().enumerate() {
        let p = format!("{path}[{i}]");
        if let Err(why) = dynamodb_table_name(&dep.table) {
            errs.push(format!("{p}.table"), format!("{:?} {why}", dep.table));
        }
        if !seen.insert(dep.table.as_str()) {
            errs.push(
                format!("{p}.table"),
                format!("{:?} is listed twice", dep.table),
            );
        }
        if dep.regions.is_empty() {
            errs.push(
                format!("{p}.regions"),
                "is empty: list the regions that must hold an ACTIVE replica",
            );
        }
        let mut in_table = BTreeSet::new();
        for (j, region) in dep.regions.iter().enumerate() {
            if !regions.contains(region) {
                errs.push(
                    format!("{p}.regions[{j}]"),
                    format!("{region:?} is not one of spec.regions {listed}"),
                );
            }
            if !in_table.insert(region.as_str()) {
                errs.push(
                    format!("{p}.regions[{j}]"),
                    format!("{region:?} is listed twice"),
                );
            }
        }
    }
}

/// S3 general purpose bucket naming rules (Amazon S3 User Guide, "General purpose bucket
/// naming rules"): 3 to 63 lowercase letters, digits, dots and hyphens, beginning and ending
/// with a letter or digit, no two adjacent dots, not an IP address, and none of the prefixes
/// and suffixes AWS reserves.
pub fn s3_bucket_name(s: &str) -> Check {
    const RESERVED_PREFIXES: [&str; 3] = ["xn--", "sthree-", "amzn-s3-demo-"];
    const RESERVED_SUFFIXES: [&str; 5] = ["-s3alias", "--ol-s3", ".mrap", "--x-s3", "--table-s3"];
    let edge = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit();
    let syntax = (3..=63).contains(&s.len())
        && s.chars().all(|c| edge(c) || c == '.' || c == '-')
        && s.starts_with(edge)
        && s.ends_with(edge)
        && !s.contains("..");
    if !syntax {
        return Err("is not an S3 bucket name: 3 to 63 lowercase letters, digits, '.' and '-', beginning and ending with a letter or digit, with no two adjacent dots".to_string());
    }
    if s.parse::<std::net::Ipv4Addr>().is_ok() {
        return Err("is not an S3 bucket name: it is formatted as an IP address".to_string());
    }
    if let Some(prefix) = RESERVED_PREFIXES.iter().find(|p| s.starts_with(**p)) {
        return Err(format!(
            "is not an S3 bucket name: it begins with {prefix:?}, a prefix S3 reserves"
        ));
    }
    if let Some(suffix) = RESERVED_SUFFIXES.iter().find(|p| s.ends_with(**p)) {
        return Err(format!(
            "is not an S3 bucket name: it ends with {suffix:?}, a suffix S3 reserves"
        ));
    }
    Ok(())
}

/// DynamoDB table names: 3 to 255 letters, digits, '_', '-' and '.'.
pub fn dynamodb_table_name(s: &str) -> Check {
    let ok = (3..=255).contains(&s.len())
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'));
    if ok {
        Ok(())
    } else {
        Err("is not a DynamoDB table name: 3 to 255 letters, digits, '_', '-' and '.'".to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bucket_names_follow_the_s3_rules() {
        for good in ["shop-assets-east", "a.b-c", "abc", "123"] {
            assert_eq!(s3_bucket_name(good), Ok(()), "{good}");
        }
        for bad in [
            "ab",
            "Shop-Assets",
            "shop_assets",
            "-shop",
            "shop-",
            "shop..assets",
            "192.168.5.4",
            "xn--shop",
            "shop-s3alias",
            &"a".repeat(64),
        ] {
            assert!(s3_bucket_name(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn table_names_follow_the_dynamodb_rules() {
        assert_eq!(dynamodb_table_name("shop-sessions.v2_a"), Ok(()));
        assert!(dynamodb_table_name("ab").is_err());
        assert!(dynamodb_table_name("shop sessions").is_err());
    }
}
