//! drctl-cloud: the only code that talks to AWS.
//!
//! The controller sees AWS through the ports in [`ports`], one trait per service, speaking the
//! observed-world types of [`model`] rather than SDK types. Two implementations exist: the AWS
//! SDK adapters (feature `aws`, module `aws`) and the simulated world in `drctl-sim`.

#[cfg(feature = "aws")]
pub mod aws;
pub mod dns_name;
pub mod error;
pub mod instrument;
pub mod model;
pub mod offerings;
pub mod pacing;
pub mod ports;

pub use error::{CloudError, CloudResult, ErrorCategory, Service};
pub use instrument::CallObserver;
pub use model::*;
pub use ports::*;
