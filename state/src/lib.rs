//! drctl-state: where FailoverGroup documents, their status, their event journal and the
//! controller's leases live.
//!
//! Spec and status are separate records (like Kubernetes' status subresource): a user's edit
//! and a controller's status write never conflict. `resourceVersion` is the version of the
//! spec record only; `generation` counts spec changes. Status and journal writes made by the
//! controller are fenced by a lease epoch checked by the store itself.
//!
//! [`open`] turns a store URL into a store: `file://DIR` ([`FileStore`]) or `dynamodb://TABLE`
//! (`DynamoStore`, feature `dynamodb`). [`rules`] holds the semantics both share; the
//! `testkit` feature exposes the conformance suite every implementation must pass.

#[cfg(feature = "dynamodb")]
pub mod dynamodb;
pub mod file;
pub mod rules;
pub mod store;
#[cfg(any(test, feature = "testkit"))]
pub mod testkit;
pub mod url;

#[cfg(feature = "dynamodb")]
pub use dynamodb::DynamoStore;
pub use file::FileStore;
pub use store::*;
pub use url::{open, StoreUrl, DEFAULT_STORE_URL};
