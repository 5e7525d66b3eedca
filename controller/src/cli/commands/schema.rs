//! `drctl schema`: the JSON Schema of the document, generated from the types.

use crate::cli::exit::{CliError, CliResult, ExitStatus};

pub fn run() -> CliResult<ExitStatus> {
    let schema = drctl_schema::json_schema();
    let text = serde_json::to_string_pretty(&schema)
        .map_err(|e| CliError::failure(anyhow::Error::new(e)))?;
    crate::outln!("{text}");
    Ok(ExitStatus::Success)
}
