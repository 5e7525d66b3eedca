//! `drctl report NAME [--operation ID] -o html|json|md`: one operation of a stored group, from
//! its status and journal (docs/design-contract.md §7.4). An unknown group or operation is
//! exit 1, as `get` and `describe` treat an unknown name.

use std::path::Path;

use super::common::{get_existing, open_store, store_error, to_json};
use crate::cli::args::ReportFormat;
use crate::cli::exit::{CliError, CliResult, ExitStatus};
use crate::report::{html, markdown, OperationReport, Page};

pub async fn run(
    store_url: &str,
    name: &str,
    operation: Option<&str>,
    output: ReportFormat,
) -> CliResult<ExitStatus> {
    let store = open_store(store_url).await?;
    let doc = get_existing(store.as_ref(), name).await?;
    let journal = store.events(name).await.map_err(store_error)?;
    let report = OperationReport::from_status(&doc, &journal, operation)
        .map_err(|e| CliError::failure(anyhow::Error::new(e)))?;
    match output {
        ReportFormat::Json => crate::outln!("{}", to_json(&report)?),
        ReportFormat::Md => crate::out!("{}", markdown::render(&report)),
        ReportFormat::Html => crate::out!("{}", html::render_page(&Page::single(report))),
    }
    Ok(ExitStatus::Success)
}

/// `--html FILE` of `drill` and `sim`, checked before the run: its directory must exist
/// (exit 2 naming the flag, nothing run or written).
pub fn check_html_target(file: &Path) -> CliResult<()> {
    let dir = match file.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    };
    if file.is_dir() || !dir.is_dir() {
        return Err(CliError::invalid(anyhow::anyhow!(
            "--html: cannot write {}: {}",
            file.display(),
            if file.is_dir() {
                "it is a directory"
            } else {
                "its directory does not exist"
            }
        )));
    }
    Ok(())
}

/// Write the page of a run to `--html FILE` (exit 1 naming it when that fails).
pub fn write_page(file: &Path, page: &Page) -> CliResult<()> {
    std::fs::write(file, html::render_page(page)).map_err(|e| {
        CliError::failure(anyhow::anyhow!(
            "--html: cannot write {}: {e}",
            file.display()
        ))
    })
}
