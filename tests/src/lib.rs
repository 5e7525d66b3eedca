//! Helpers for the end-to-end tests.
pub mod bin;
pub mod cli_env;
pub mod moto;
pub mod sent;
