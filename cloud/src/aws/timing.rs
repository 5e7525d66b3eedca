//! The SDK side of [`crate::instrument::CallObserver`]: an interceptor per service client that
//! notes when an operation starts and reports its duration when it ends.

use std::sync::Arc;
use std::time::Instant;

use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::context::{
    BeforeSerializationInterceptorContextRef, FinalizerInterceptorContextRef,
};
use aws_smithy_runtime_api::client::interceptors::{Intercept, SharedInterceptor};
use aws_smithy_runtime_api::client::orchestrator::Metadata;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::config_bag::{ConfigBag, Storable, StoreReplace};

use crate::error::Service;
use crate::instrument::CallObserver;

/// When the current operation started (kept in the operation's config bag).
#[derive(Debug, Clone, Copy)]
struct Started(Instant);

impl Storable for Started {
    type Storer = StoreReplace<Self>;
}

struct CallTiming {
    service: Service,
    observer: Arc<dyn CallObserver>,
}

impl std::fmt::Debug for CallTiming {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CallTiming")
            .field("service", &self.service)
            .finish_non_exhaustive()
    }
}

/// The interceptor that times the calls of one service's client.
pub(crate) fn interceptor(service: Service, observer: Arc<dyn CallObserver>) -> SharedInterceptor {
    SharedInterceptor::new(CallTiming { service, observer })
}

impl Intercept for CallTiming {
    fn name(&self) -> &'static str {
        "CallTiming"
    }

    fn read_before_execution(
        &self,
        _context: &BeforeSerializationInterceptorContextRef<'_>,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        cfg.interceptor_state().store_put(Started(Instant::now()));
        Ok(())
    }

    fn read_after_execution(
        &self,
        context: &FinalizerInterceptorContextRef<'_>,
        _components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let Some(Started(started)) = cfg.load::<Started>().copied() else {
            return Ok(());
        };
        let operation = cfg
            .load::<Metadata>()
            .map(|m| m.name().to_string())
            .unwrap_or_else(|| "unknown".to_string());
        let ok = matches!(context.output_or_error(), Some(Ok(_)));
        self.observer
            .aws_call(self.service, &operation, started.elapsed(), ok);
        Ok(())
    }
}
