//! `SimWorld`: the call pipeline every port method goes through (pause, latency,
//! reachability, rate limits, drawn and injected faults, the record).

use super::*;

impl SimWorld {
    /// One API call: decide latency and faults, let the request travel (virtual time),
    /// apply it at arrival, record it.
    #[allow(clippy::too_many_arguments)]
    pub(crate) async fn call<T, F>(
        &self,
        caller: &str,
        service: Service,
        op: &'static str,
        region: &str,
        mutating: bool,
        resource: String,
        f: F,
    ) -> CloudResult<T>
    where
        F: FnOnce(&mut State, &Ctx) -> CloudResult<T> + Send,
        T: Send,
    {
        let paused = self.current().pause_left(caller);
        if !paused.is_zero() {
            tokio::time::sleep(paused).await;
        }
        let plan = {
            let mut st = self.current();
            plan_call(&mut st, caller, service, op, region, &resource)
        };
        if plan.delay_ms > 0 {
            tokio::time::sleep(Duration::from_millis(plan.delay_ms)).await;
        }
        let mut st = self.current();
        execute(
            &mut st, caller, service, op, region, mutating, resource, plan, f,
        )
    }
}

fn plan_call(
    st: &mut State,
    caller: &str,
    service: Service,
    op: &str,
    region: &str,
    resource: &str,
) -> CallPlan {
    let unreachable = match service {
        Service::Route53 => !st.route53_up(),
        Service::Http => false,
        Service::Ecs => !st.reachable_by(caller, region) || st.app_tier_down.contains(region),
        _ => !st.reachable_by(caller, region),
    };
    // Always four draws, so that one knob does not shift every later draw.
    let d_latency = st.rng.next_f64();
    let d_throttle = st.rng.next_f64();
    let d_error = st.rng.next_f64();
    let d_lost = st.rng.next_f64();
    let sf = st.cfg.faults.for_service(service);
    let mut delay = ms(st.cfg.timings.latency(SimService::Cloud(service)))
        + (d_latency * ms(sf.extra_latency) as f64) as i64;
    let mut fault = None;
    if let Some(rule) = st.fault_rules.iter_mut().find(|r| {
        r.times > 0
            && r.service.as_deref().is_none_or(|s| s == service.as_str())
            && r.operation.as_deref().is_none_or(|o| o == op)
            && r.region.as_deref().is_none_or(|x| x == region)
            && r.caller.as_deref().is_none_or(|c| c == caller)
            && r.resource.as_deref().is_none_or(|p| resource.contains(p))
    }) {
        rule.times -= 1;
        match rule.kind {
            FaultKind::LatencyMs(extra) => delay += i64::try_from(extra).unwrap_or(0),
            k => fault = Some(k),
        }
    }
    st.fault_rules.retain(|r| r.times > 0);
    if fault.is_none() {
        fault = if d_throttle < sf.throttle {
            Some(FaultKind::Throttle)
        } else if d_error < sf.server_error {
            Some(FaultKind::ServerError)
        } else if d_lost < sf.lost_response {
            Some(FaultKind::LostResponse)
        } else {
            None
        };
    }
    if unreachable {
        delay = ms(st.cfg.timings.unreachable_timeout);
    }
    CallPlan {
        delay_ms: u64::try_from(delay.max(0)).unwrap_or(0),
        unreachable,
        fault,
    }
}

fn throttle_code(service: Service, op: &str) -> &'static str {
    match service {
        Service::Route53 if op == "ChangeResourceRecordSets" => "PriorRequestNotComplete",
        Service::Rds | Service::Route53 | Service::CloudWatch => "Throttling",
        Service::Ecs
        | Service::AutoScaling
        | Service::RoutingControl
        | Service::RecoveryControlConfig
        | Service::DynamoDb => "ThrottlingException",
        Service::S3 => "SlowDown",
        Service::Http => "TooManyRequests",
    }
}

fn server_error_code(service: Service) -> &'static str {
    match service {
        Service::Rds => "InternalFailure",
        Service::Route53 => "ServiceUnavailable",
        Service::Ecs => "ServerException",
        Service::AutoScaling => "InternalServiceException",
        Service::CloudWatch => "InternalServiceFault",
        Service::RoutingControl | Service::RecoveryControlConfig => "InternalServerException",
        Service::Http => "BadGateway",
        Service::S3 => "InternalError",
        Service::DynamoDb => "InternalServerError",
    }
}

#[allow(clippy::too_many_arguments)]
fn execute<T, F>(
    st: &mut State,
    caller: &str,
    service: Service,
    op: &'static str,
    region: &str,
    mutating: bool,
    resource: String,
    plan: CallPlan,
    f: F,
) -> CloudResult<T>
where
    F: FnOnce(&mut State, &Ctx) -> CloudResult<T>,
{
    let now = st.now;
    let seq = st.next_seq();
    let ctx = Ctx {
        seq,
        caller: caller.to_string(),
        now,
    };
    let mut applied = false;
    let result: CloudResult<T> = if plan.unreachable {
        let host = match service {
            Service::Route53 => "route53.amazonaws.com (control plane in us-east-1)".to_string(),
            Service::RoutingControl => {
                format!("the ARC cluster endpoint in {region} (route53-recovery-cluster)")
            }
            Service::RecoveryControlConfig => {
                format!("route53-recovery-control-config.{region}.amazonaws.com")
            }
            s => format!("{}.{region}.amazonaws.com", s.as_str()),
        };
        Err(CloudError::new(
            ErrorCategory::Retryable,
            service,
            op,
            "RequestTimeout",
            format!("could not connect to {host}: connection timed out (the request was not sent)"),
        ))
    } else if plan.fault == Some(FaultKind::Throttle)
        || !rate_ok(st, service, region, mutating, now)
    {
        Err(CloudError::new(
            ErrorCategory::Retryable,
            service,
            op,
            throttle_code(service, op),
            "Rate exceeded",
        ))
    } else if plan.fault == Some(FaultKind::ServerError) {
        Err(CloudError::new(
            ErrorCategory::Retryable,
            service,
            op,
            server_error_code(service),
            "The service encountered an internal error; try again",
        ))
    } else {
        if mutating && service == Service::Rds {
            st.replicate_all(now);
        }
        let r = f(st, &ctx);
        applied = mutating && r.is_ok();
        // Only an RDS mutation (even a refused one, to be safe) can change which cluster
        // accepts writes; the fleet's reads and its ECS and DNS calls cannot.
        if mutating && service == Service::Rds {
            st.refresh_writable(now);
        }
        if plan.fault == Some(FaultKind::LostResponse) {
            Err(CloudError::new(
                ErrorCategory::Retryable,
                service,
                op,
                "ResponseTimeout",
                "the request was sent but no response arrived",
            )
            .with_outcome_unknown())
        } else {
            r
        }
    };
    let outcome = match &result {
        Ok(_) => CallOutcome {
            ok: true,
            code: None,
            category: None,
            applied,
            outcome_unknown: false,
        },
        Err(e) => CallOutcome {
            ok: false,
            code: Some(e.code.clone()),
            category: Some(e.category.as_str().to_string()),
            applied,
            outcome_unknown: e.outcome_unknown,
        },
    };
    let at = st.ts(now);
    st.calls.push(CallRecord {
        seq,
        caller: caller.to_string(),
        at_ms: now,
        at,
        service: service.as_str().to_string(),
        operation: op.to_string(),
        region: region.to_string(),
        resource,
        mutating,
        outcome,
    });
    result
}

fn rate_ok(st: &mut State, service: Service, region: &str, mutating: bool, now: i64) -> bool {
    let Some(limit) = st.cfg.limits.for_service(service) else {
        return true;
    };
    // ARC's data plane limits its updates per endpoint (`region` is the endpoint's).
    if service == Service::RoutingControl && !mutating {
        return true;
    }
    // Route 53 limits are per account; the others per account and region.
    let scope = if service == Service::Route53 {
        "global".to_string()
    } else {
        region.to_string()
    };
    st.api_buckets
        .entry(ApiBucketKey {
            service: service.as_str().to_string(),
            scope,
        })
        .or_default()
        .try_take(now, limit)
}
