//! Validation rules, one behaviour per test. Each starts from a valid shipped example and
//! breaks exactly one thing, so a failure points at one rule.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::*;
use drctl_schema::{
    validate, validate_transition, ClusterTemplate, DnsRouting, DnsTarget, EcsServiceRef,
    RecordType,
};

#[test]
fn shipped_examples_are_valid() {
    assert_eq!(problems(&alias_group()), Vec::<String>::new());
    assert_eq!(problems(&cname_group()), Vec::<String>::new());
}

#[test]
fn wrong_api_version_is_rejected() {
    let doc = alias_with(|d| d.api_version = "drctl.io/v1".into());
    assert_problem(&doc, "apiVersion", "expected drctl.io/v1alpha1");
}

#[test]
fn wrong_kind_is_rejected() {
    let doc = alias_with(|d| d.kind = "Deployment".into());
    assert_problem(&doc, "kind", "expected FailoverGroup");
}

#[test]
fn name_must_be_a_dns1123_label() {
    for bad in ["MyApp", "-app", "app-", "my_app", "", &"a".repeat(64)] {
        let doc = alias_with(|d| d.metadata.name = bad.to_string());
        assert_problem(&doc, "metadata.name", "DNS-1123 label");
    }
    let ok = alias_with(|d| d.metadata.name = "a".repeat(63));
    assert!(problems(&ok).is_empty());
}

#[test]
fn label_keys_and_values_must_be_kubernetes_style() {
    let doc = alias_with(|d| {
        d.metadata.labels.insert("bad key".into(), "ok".into());
    });
    assert_problem(&doc, "metadata.labels.bad key", "key");
    let doc = alias_with(|d| {
        d.metadata.labels.insert("team".into(), "has space".into());
    });
    assert_problem(&doc, "metadata.labels.team", "value");
    let ok = alias_with(|d| {
        d.metadata
            .labels
            .insert("example.com/owner".into(), "".into());
    });
    assert!(problems(&ok).is_empty());
}

#[test]
fn exactly_two_regions_are_required() {
    let doc = alias_with(|d| d.spec.regions.push("eu-west-1".into()));
    assert_problem(&doc, "spec.regions", "exactly two regions");
    let doc = alias_with(|d| {
        d.spec.regions.pop();
    });
    assert_problem(&doc, "spec.regions", "exactly two regions");
}

#[test]
fn regions_must_be_distinct() {
    let doc = alias_with(|d| d.spec.regions[1] = "us-east-1".into());
    assert_problem(&doc, "spec.regions[1]", "listed twice");
}

#[test]
fn region_names_must_have_aws_syntax() {
    for bad in [
        "useast1",
        "US-EAST-1",
        "us-east",
        "us-east-12",
        "mars-north-1",
    ] {
        let doc = alias_with(|d| d.spec.regions[1] = bad.into());
        assert_problem(&doc, "spec.regions[1]", "not an AWS region name");
    }
    for good in ["us-gov-west-1", "ap-southeast-4", "eu-central-2"] {
        assert!(super_region_ok(good), "{good} should be accepted");
    }
}

fn super_region_ok(region: &str) -> bool {
    drctl_schema::validate::aws_region(region).is_ok()
}

#[test]
fn writer_outside_regions_is_rejected_naming_the_regions() {
    let doc = alias_with(|d| d.spec.writer = "eu-west-9".into());
    assert_problem(
        &doc,
        "spec.writer",
        "\"eu-west-9\" is not one of spec.regions [us-east-1, us-west-2]",
    );
}

#[test]
fn dns_owner_outside_regions_is_rejected() {
    let doc = alias_with(|d| d.spec.dns_owner = Some("eu-west-1".into()));
    assert_problem(&doc, "spec.dnsOwner", "is not one of spec.regions");
}

#[test]
fn absent_dns_owner_is_valid_and_defaults_to_writer() {
    let doc = alias_with(|d| d.spec.dns_owner = None);
    assert!(problems(&doc).is_empty());
    assert_eq!(doc.spec.dns_owner(), "us-east-1");
}

#[test]
fn absurd_max_lag_is_rejected() {
    let doc = alias_with(|d| d.spec.max_lag_seconds = 86_400);
    assert_problem(&doc, "spec.maxLagSeconds", "too large");
    let ok = alias_with(|d| d.spec.max_lag_seconds = 0);
    assert!(problems(&ok).is_empty());
}

#[test]
fn database_clusters_missing_a_region_is_rejected() {
    let doc = alias_with(|d| {
        d.spec.database.clusters.remove("us-west-2");
    });
    assert_problem(
        &doc,
        "spec.database.clusters",
        "missing an entry for region us-west-2",
    );
}

#[test]
fn database_clusters_with_an_extra_region_is_rejected() {
    let doc = alias_with(|d| {
        d.spec.database.clusters.insert(
            "eu-west-1".into(),
            ClusterTemplate {
                identifier: "extra".into(),
                ..Default::default()
            },
        );
    });
    assert_problem(
        &doc,
        "spec.database.clusters.eu-west-1",
        "is not one of spec.regions",
    );
}

#[test]
fn rds_identifiers_must_have_rds_syntax() {
    for bad in ["1abc", "ab--c", "abc-", "ab_c", "", &"a".repeat(64)] {
        let doc = alias_with(|d| {
            d.spec
                .database
                .clusters
                .get_mut("us-west-2")
                .unwrap()
                .identifier = bad.into();
        });
        assert_problem(
            &doc,
            "spec.database.clusters.us-west-2.identifier",
            "RDS identifier",
        );
    }
    let doc = alias_with(|d| d.spec.database.global_cluster_identifier = "bad--id".into());
    assert_problem(
        &doc,
        "spec.database.globalClusterIdentifier",
        "RDS identifier",
    );
}

#[test]
fn unknown_engine_is_rejected() {
    let doc = alias_with(|d| {
        d.spec
            .database
            .clusters
            .get_mut("us-east-1")
            .unwrap()
            .engine = Some("mysql".into());
    });
    assert_problem(
        &doc,
        "spec.database.clusters.us-east-1.engine",
        "not one of [aurora-mysql, aurora-postgresql]",
    );
}

#[test]
fn zero_instances_is_rejected() {
    let doc = alias_with(|d| {
        d.spec
            .database
            .clusters
            .get_mut("us-east-1")
            .unwrap()
            .instance_count = Some(0);
    });
    assert_problem(
        &doc,
        "spec.database.clusters.us-east-1.instanceCount",
        "out of range",
    );
}

#[test]
fn malformed_kms_key_is_rejected() {
    for bad in [
        "not-a-key",
        "arn:aws:kms:us-east-1:123:key/x",
        "arn:aws:s3:::bucket",
    ] {
        let doc = alias_with(|d| {
            d.spec
                .database
                .clusters
                .get_mut("us-east-1")
                .unwrap()
                .kms_key_id = Some(bad.into());
        });
        assert_problem(
            &doc,
            "spec.database.clusters.us-east-1.kmsKeyId",
            "not a KMS key",
        );
    }
}

#[test]
fn kms_key_from_another_region_is_rejected() {
    let doc = alias_with(|d| {
        d.spec
            .database
            .clusters
            .get_mut("us-west-2")
            .unwrap()
            .kms_key_id = Some(
            "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab".into(),
        );
    });
    assert_problem(
        &doc,
        "spec.database.clusters.us-west-2.kmsKeyId",
        "is a key in us-east-1, but this cluster is in us-west-2",
    );
}

#[test]
fn malformed_instance_class_and_security_group_are_rejected() {
    let doc = alias_with(|d| {
        let c = d.spec.database.clusters.get_mut("us-east-1").unwrap();
        c.instance_class = Some("r6g.large".into());
        c.vpc_security_group_ids = vec!["sg-XYZ".into()];
    });
    assert_problem(
        &doc,
        "spec.database.clusters.us-east-1.instanceClass",
        "instance class",
    );
    assert_problem(
        &doc,
        "spec.database.clusters.us-east-1.vpcSecurityGroupIds[0]",
        "security group id",
    );
}

#[test]
fn hosted_zone_id_must_be_up_to_32_uppercase_alphanumerics() {
    for bad in ["z123", "Z12ab", "", "Z-123", &"Z".repeat(33)] {
        let doc = alias_with(|d| d.spec.dns.hosted_zone_id = bad.into());
        assert_problem(&doc, "spec.dns.hostedZoneId", "not a hosted zone id");
    }
    // Route 53 promises only the length; emulators (moto) mint ids without the leading Z.
    for good in [
        "Z0123456789ABC",
        "07L2W0B298DPUUA12EBSPL",
        "Z",
        &"Z".repeat(32),
    ] {
        let doc = alias_with(|d| d.spec.dns.hosted_zone_id = good.into());
        assert_eq!(
            problems(&doc),
            Vec::<String>::new(),
            "{good} is a hosted zone id"
        );
    }
}

#[test]
fn a_hosted_zone_id_pasted_with_its_path_prefix_is_explained() {
    let doc = alias_with(|d| d.spec.dns.hosted_zone_id = "/hostedzone/Z0123456789ABC".into());
    assert_problem(
        &doc,
        "spec.dns.hostedZoneId",
        "without the /hostedzone/ prefix",
    );
}

#[test]
fn record_name_must_be_a_dns_name() {
    for bad in [
        "api",
        "api..example.com",
        "-api.example.com",
        "api example.com",
    ] {
        let doc = alias_with(|d| d.spec.dns.record_name = bad.into());
        assert_problem(&doc, "spec.dns.recordName", "DNS name");
    }
    let ok = alias_with(|d| d.spec.dns.record_name = "*.example.com".into());
    assert!(problems(&ok).is_empty());
}

#[test]
fn ttl_on_an_alias_record_is_rejected() {
    let doc = alias_with(|d| d.spec.dns.ttl = Some(60));
    assert_problem(&doc, "spec.dns.ttl", "must be absent for recordType A");
}

#[test]
fn cname_ttl_out_of_range_is_rejected() {
    for bad in [0, 86_401] {
        let doc = cname_with(|d| d.spec.dns.ttl = Some(bad));
        assert_problem(&doc, "spec.dns.ttl", "out of range");
    }
}

#[test]
fn dns_targets_must_cover_exactly_the_regions() {
    let doc = alias_with(|d| {
        d.spec.dns.targets.remove("us-east-1");
    });
    assert_problem(
        &doc,
        "spec.dns.targets",
        "missing an entry for region us-east-1",
    );
    let doc = alias_with(|d| {
        let t = d.spec.dns.targets["us-west-2"].clone();
        d.spec.dns.targets.insert("ap-south-1".into(), t);
    });
    assert_problem(
        &doc,
        "spec.dns.targets.ap-south-1",
        "is not one of spec.regions",
    );
}

#[test]
fn alias_target_needs_alias_fields_and_no_value() {
    let doc = alias_with(|d| {
        d.spec.dns.targets.insert(
            "us-west-2".into(),
            DnsTarget {
                value: Some("dr.example.com".into()),
                ..Default::default()
            },
        );
    });
    assert_problem(
        &doc,
        "spec.dns.targets.us-west-2.aliasDnsName",
        "is required",
    );
    assert_problem(
        &doc,
        "spec.dns.targets.us-west-2.aliasHostedZoneId",
        "is required",
    );
    assert_problem(&doc, "spec.dns.targets.us-west-2.value", "must be absent");
}

#[test]
fn cname_target_needs_value_only() {
    let doc = cname_with(|d| {
        d.spec.dns.targets.insert(
            "eu-west-1".into(),
            DnsTarget {
                alias_dns_name: Some("x.example.com".into()),
                alias_hosted_zone_id: Some("Z123".into()),
                value: None,
            },
        );
    });
    assert_problem(
        &doc,
        "spec.dns.targets.eu-west-1.value",
        "is required for recordType CNAME",
    );
    assert_problem(
        &doc,
        "spec.dns.targets.eu-west-1.aliasDnsName",
        "must be absent",
    );
    assert_problem(
        &doc,
        "spec.dns.targets.eu-west-1.aliasHostedZoneId",
        "must be absent",
    );
}

#[test]
fn switching_record_type_to_cname_requires_cname_targets() {
    let doc = alias_with(|d| d.spec.dns.record_type = RecordType::Cname);
    assert_problem(&doc, "spec.dns.targets.us-east-1.value", "is required");
}

#[test]
fn service_names_must_be_unique() {
    let doc = alias_with(|d| d.spec.compute.services[1].name = "api".into());
    assert_problem(
        &doc,
        "spec.compute.services[1].name",
        "is also the name of spec.compute.services[0]",
    );
}

#[test]
fn service_regions_must_cover_exactly_the_regions() {
    let doc = alias_with(|d| {
        d.spec.compute.services[0].regions.remove("us-west-2");
        d.spec.compute.services[0].regions.insert(
            "eu-west-1".into(),
            EcsServiceRef {
                cluster: "c".into(),
                service: "s".into(),
            },
        );
    });
    assert_problem(
        &doc,
        "spec.compute.services[0].regions",
        "missing an entry for region us-west-2",
    );
    assert_problem(
        &doc,
        "spec.compute.services[0].regions.eu-west-1",
        "is not one of spec.regions",
    );
}

#[test]
fn min_greater_than_max_is_rejected() {
    let doc = alias_with(|d| {
        let a = &mut d.spec.compute.services[0].active;
        a.min = 30;
        a.desired = 30;
        a.max = 24;
    });
    assert_problem(
        &doc,
        "spec.compute.services[0].active.min",
        "30 is greater than max 24",
    );
}

#[test]
fn desired_outside_min_max_is_rejected_for_standby_too() {
    let doc = alias_with(|d| d.spec.compute.services[1].standby.desired = 13);
    assert_problem(
        &doc,
        "spec.compute.services[1].standby.desired",
        "greater than max 12",
    );
    let doc = alias_with(|d| d.spec.compute.services[0].standby.desired = 0);
    assert_problem(
        &doc,
        "spec.compute.services[0].standby.desired",
        "less than min 1",
    );
}

#[test]
fn active_capacity_of_zero_is_rejected() {
    let doc = alias_with(|d| {
        let a = &mut d.spec.compute.services[0].active;
        a.min = 0;
        a.desired = 0;
    });
    assert_problem(
        &doc,
        "spec.compute.services[0].active.desired",
        "at least 1",
    );
}

#[test]
fn verify_url_must_be_http_and_status_a_real_code() {
    let doc = alias_with(|d| {
        let v = d.spec.verify.as_mut().unwrap();
        v.url = "ftp://api.example.com".into();
        v.expect_status = 700;
    });
    assert_problem(&doc, "spec.verify.url", "http");
    assert_problem(&doc, "spec.verify.expectStatus", "100..=599");
    let ok = alias_with(|d| d.spec.verify.as_mut().unwrap().url = "http://[::1]:8080/h".into());
    assert!(problems(&ok).is_empty());
}

#[test]
fn every_problem_is_reported_at_once() {
    let doc = alias_with(|d| {
        d.metadata.name = "Bad".into();
        d.spec.writer = "eu-west-9".into();
        d.spec.dns.ttl = Some(5);
        d.spec.compute.services[0].active.min = 99;
    });
    let found = problems(&doc);
    assert!(found.len() >= 4, "{found:#?}");
    let text = validate(&doc).unwrap_err().to_string();
    assert_eq!(text.lines().count(), found.len());
}

#[test]
fn immutable_fields_cannot_change() {
    let old = alias_group();
    let new = alias_with(|d| {
        d.spec.database.global_cluster_identifier = "other-global".into();
        d.spec
            .database
            .clusters
            .get_mut("us-west-2")
            .unwrap()
            .identifier = "other".into();
        d.spec.dns.hosted_zone_id = "Z999".into();
        d.spec.dns.record_name = "www.example.com.".into();
    });
    let errs: Vec<String> = validate_transition(&old, &new)
        .unwrap_err()
        .iter()
        .map(ToString::to_string)
        .collect();
    for path in [
        "spec.database.globalClusterIdentifier",
        "spec.database.clusters.us-west-2.identifier",
        "spec.dns.hostedZoneId",
        "spec.dns.recordName",
    ] {
        assert!(
            errs.iter()
                .any(|e| e.starts_with(path) && e.contains("field is immutable")),
            "{path} not reported: {errs:#?}"
        );
    }
}

#[test]
fn regions_cannot_change_but_may_be_reordered() {
    let old = alias_group();
    let moved = alias_with(|d| d.spec.regions[1] = "us-east-2".into());
    let err = validate_transition(&old, &moved).unwrap_err().to_string();
    assert!(err.contains("spec.regions: field is immutable"), "{err}");
    let reordered = alias_with(|d| d.spec.regions.reverse());
    assert!(validate_transition(&old, &reordered).is_ok());
}

#[test]
fn record_type_cannot_change() {
    let old = alias_group();
    let new = alias_with(|d| d.spec.dns.record_type = RecordType::Cname);
    let err = validate_transition(&old, &new).unwrap_err().to_string();
    assert!(
        err.contains("spec.dns.recordType: field is immutable"),
        "{err}"
    );
}

#[test]
fn trailing_dot_of_record_name_is_not_a_change() {
    let old = alias_group();
    let new = alias_with(|d| d.spec.dns.record_name = "api.example.com".into());
    assert!(validate_transition(&old, &new).is_ok());
}

#[test]
fn mutable_fields_change_freely() {
    let old = alias_group();
    let new = alias_with(|d| {
        d.spec.writer = "us-west-2".into();
        d.spec.dns_owner = Some("us-west-2".into());
        d.spec.allow_data_loss = true;
        d.spec.suspended = true;
        d.spec.compute.services[0].active.desired = 10;
        d.metadata.labels.insert("env".into(), "prod".into());
    });
    assert!(validate_transition(&old, &new).is_ok());
}

#[test]
fn the_same_dns_target_in_both_regions_is_refused_naming_the_field() {
    let doc = alias_with(|d| {
        let east = d.spec.dns.targets["us-east-1"].clone();
        let west = d.spec.dns.targets.get_mut("us-west-2").unwrap();
        // Case and the trailing dot do not make another endpoint.
        west.alias_dns_name = east
            .alias_dns_name
            .map(|n| format!("{}.", n.to_uppercase()));
    });
    assert_problem(
        &doc,
        "spec.dns.targets.us-west-2.aliasDnsName",
        "is also the target of spec.dns.targets.us-east-1",
    );
    let doc = cname_with(|d| {
        let first = d.spec.dns.targets.values().next().unwrap().clone();
        for target in d.spec.dns.targets.values_mut() {
            *target = first.clone();
        }
    });
    assert_problem(
        &doc,
        "spec.dns.targets.eu-west-1.value",
        "is also the target of spec.dns.targets.eu-central-1",
    );
}

#[test]
fn objectives_within_bounds_are_valid() {
    let doc = alias_with(|d| {
        d.spec.objectives = Some(drctl_schema::Objectives {
            rto_seconds: Some(300),
            rpo_seconds: Some(0),
        })
    });
    assert!(problems(&doc).is_empty(), "{:?}", problems(&doc));
}

#[test]
fn an_rto_objective_of_zero_or_beyond_a_week_is_rejected() {
    for bad in [0, 7 * 24 * 3600 + 1] {
        let doc = alias_with(|d| {
            d.spec.objectives = Some(drctl_schema::Objectives {
                rto_seconds: Some(bad),
                rpo_seconds: None,
            })
        });
        assert_problem(&doc, "spec.objectives.rtoSeconds", "out of range");
    }
}

const ROUTING_CONTROL_EXAMPLE: &str =
    include_str!("../../examples/failovergroup-routing-control.yaml");

fn routing_control_with(
    change: impl FnOnce(&mut drctl_schema::FailoverGroup),
) -> drctl_schema::FailoverGroup {
    let mut doc = drctl_schema::parse_documents(ROUTING_CONTROL_EXAMPLE.as_bytes(), "rc.yaml")
        .unwrap()
        .remove(0);
    change(&mut doc);
    doc
}

#[test]
fn the_routing_control_example_is_valid_and_keeps_its_mode() {
    let doc = routing_control_with(|_| {});
    assert_eq!(problems(&doc), Vec::<String>::new());
    assert_eq!(doc.spec.dns.routing, DnsRouting::RoutingControl);
    assert_eq!(doc.spec.dns.routing_control.unwrap().controls.len(), 2);
}

#[test]
fn routing_control_mode_without_the_block_is_refused() {
    let doc = routing_control_with(|d| d.spec.dns.routing_control = None);
    assert_problem(
        &doc,
        "spec.dns.routingControl",
        "is required with spec.dns.routing: routingControl",
    );
}

#[test]
fn routing_control_without_controls_is_refused() {
    let doc = routing_control_with(|d| {
        d.spec
            .dns
            .routing_control
            .as_mut()
            .unwrap()
            .controls
            .clear();
    });
    assert_problem(
        &doc,
        "spec.dns.routingControl.controls",
        "one routing control per region",
    );
}

#[test]
fn a_control_for_a_region_outside_the_regions_is_refused() {
    let doc = routing_control_with(|d| {
        let rc = d.spec.dns.routing_control.as_mut().unwrap();
        let arn = rc.controls.remove("us-west-2").unwrap();
        rc.controls.insert("eu-west-1".to_string(), arn);
    });
    assert_problem(
        &doc,
        "spec.dns.routingControl.controls.eu-west-1",
        "is not one of spec.regions",
    );
    assert_problem(
        &doc,
        "spec.dns.routingControl.controls",
        "missing an entry for region us-west-2",
    );
}

#[test]
fn a_region_without_its_control_is_refused() {
    let doc = routing_control_with(|d| {
        d.spec
            .dns
            .routing_control
            .as_mut()
            .unwrap()
            .controls
            .remove("us-east-1");
    });
    assert_problem(
        &doc,
        "spec.dns.routingControl.controls",
        "missing an entry for region us-east-1",
    );
}

#[test]
fn routing_control_block_with_another_mode_is_refused() {
    for mode in [DnsRouting::Upsert, DnsRouting::HealthCheck] {
        let doc = routing_control_with(|d| d.spec.dns.routing = mode);
        assert_problem(
            &doc,
            "spec.dns.routingControl",
            "must be absent unless spec.dns.routing is routingControl",
        );
    }
}

#[test]
fn an_rpo_objective_beyond_a_day_is_rejected() {
    let doc = alias_with(|d| {
        d.spec.objectives = Some(drctl_schema::Objectives {
            rto_seconds: None,
            rpo_seconds: Some(86_401),
        })
    });
    assert_problem(&doc, "spec.objectives.rpoSeconds", "too large");
}

#[test]
fn empty_objectives_are_rejected() {
    let doc = alias_with(|d| d.spec.objectives = Some(drctl_schema::Objectives::default()));
    assert_problem(&doc, "spec.objectives", "rtoSeconds, rpoSeconds or both");
}

#[test]
fn malformed_or_shared_routing_control_arns_are_refused() {
    let doc = routing_control_with(|d| {
        let rc = d.spec.dns.routing_control.as_mut().unwrap();
        rc.cluster_arn = "arn:aws:route53:::cluster/x".to_string();
        let east = rc.controls["us-east-1"].clone();
        rc.controls.insert("us-west-2".to_string(), east);
    });
    assert_problem(
        &doc,
        "spec.dns.routingControl.clusterArn",
        "is not an ARC cluster ARN",
    );
    assert_problem(
        &doc,
        "spec.dns.routingControl.controls.us-west-2",
        "is also the control of spec.dns.routingControl.controls.us-east-1",
    );
    let doc = routing_control_with(|d| {
        let rc = d.spec.dns.routing_control.as_mut().unwrap();
        rc.controls.insert(
            "us-west-2".to_string(),
            "arn:aws:route53-recovery-control::111122223333:cluster/abc".to_string(),
        );
    });
    assert_problem(
        &doc,
        "spec.dns.routingControl.controls.us-west-2",
        "is not an ARC routing control ARN",
    );
}

#[test]
fn health_check_mode_parses_and_validates_without_a_routing_control_block() {
    let doc = alias_with(|d| d.spec.dns.routing = DnsRouting::HealthCheck);
    assert_eq!(problems(&doc), Vec::<String>::new());
}

#[test]
fn an_unknown_routing_mode_is_refused_naming_the_field() {
    let text = ROUTING_CONTROL_EXAMPLE.replace("routing: routingControl", "routing: weighted");
    let err = drctl_schema::parse_documents(text.as_bytes(), "rc.yaml").unwrap_err();
    assert!(
        err.to_string()
            .contains("spec.dns.routing: unknown variant `weighted`"),
        "{err}"
    );
}

#[test]
fn an_upsert_group_serializes_without_a_routing_field() {
    let text = serde_json::to_string(&alias_group()).unwrap();
    assert!(!text.contains("routing"), "{text}");
}

mod rds_identifier_from {
    use drctl_schema::validate::{rds_identifier, rds_identifier_from};
    use proptest::prelude::*;

    #[test]
    fn names_are_made_valid() {
        assert_eq!(
            rds_identifier_from("drctl-stale-Primary_DB-op-7"),
            "drctl-stale-primary-db-op-7"
        );
        assert_eq!(rds_identifier_from("--9abc--"), "s-9abc");
        assert_eq!(rds_identifier_from("---"), "s");
    }

    #[test]
    fn a_63_character_name_starting_with_a_digit_stays_within_63() {
        let raw = format!("9{}", "a".repeat(62));
        let made = rds_identifier_from(&raw);
        assert!(made.len() <= 63, "{} characters", made.len());
        assert_eq!(rds_identifier(&made), Ok(()));
    }

    #[test]
    fn two_long_names_that_differ_only_at_the_end_stay_apart() {
        let cluster = "c".repeat(60);
        let a = rds_identifier_from(&format!("drctl-stale-{cluster}-op-1"));
        let b = rds_identifier_from(&format!("drctl-stale-{cluster}-op-2"));
        assert_ne!(a, b, "the operation ids were cut off");
        assert_eq!(
            a,
            rds_identifier_from(&format!("drctl-stale-{cluster}-op-1")),
            "stable"
        );
    }

    proptest! {
        #[test]
        fn every_name_made_passes_the_validator(raw in ".{0,120}") {
            let made = rds_identifier_from(&raw);
            prop_assert_eq!(rds_identifier(&made), Ok(()), "{:?} -> {:?}", raw, made);
        }
    }
}
