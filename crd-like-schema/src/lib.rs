//! drctl-schema: the FailoverGroup document (docs/design-contract.md §1), its defaults, its validation and
//! its JSON Schema. Pure: no IO, no clock (the wall clock in `Timestamp::now` is the one
//! exception, used only by callers at the edge).

pub mod admission;
pub mod parse;
pub mod prescan;
pub mod selector;
pub mod stable_hash;
pub mod time;
pub mod types;
pub mod validate;

pub use crate::time::Timestamp;
pub use admission::{find_clashes, Claim, Clash};
pub use parse::{parse_documents, ParseError, MAX_DOCUMENT_BYTES};
pub use prescan::{MAX_INPUT_BYTES, MAX_NESTING_DEPTH};
pub use selector::{Selector, SelectorError};
pub use types::*;
pub use validate::{
    validate, validate_objectives, validate_transition, FieldError, ValidationErrors,
};

/// The JSON Schema of the document, generated from the types (what `drctl schema` prints).
pub fn json_schema() -> serde_json::Value {
    let schema = schemars::schema_for!(FailoverGroup);
    schema.to_value()
}
