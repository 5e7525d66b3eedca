//! Helpers for the end-to-end tests.
pub mod bin;
pub mod moto;
