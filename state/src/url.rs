//! Store URLs (`--store`, `DRCTL_STORE`): `file://DIR` or `dynamodb://TABLE`.

use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;

use crate::file::FileStore;
use crate::store::{Store, StoreError, StoreResult};

/// The store used when neither `--store` nor `DRCTL_STORE` is given.
pub const DEFAULT_STORE_URL: &str = "file://./.drctl";

const ACCEPTED: &str = "expected file://DIR (relative or absolute, e.g. file://./.drctl or \
                        file:///var/lib/drctl) or dynamodb://TABLE (e.g. dynamodb://drctl)";

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoreUrl {
    File(PathBuf),
    DynamoDb { table: String },
}

impl StoreUrl {
    pub fn parse(url: &str) -> StoreResult<StoreUrl> {
        let invalid = |message: String| StoreError::InvalidUrl {
            url: url.to_string(),
            message,
        };
        if let Some(dir) = url.strip_prefix("file://") {
            if dir.is_empty() {
                return Err(invalid(format!("the directory is missing; {ACCEPTED}")));
            }
            return Ok(StoreUrl::File(PathBuf::from(dir)));
        }
        if let Some(table) = url.strip_prefix("dynamodb://") {
            check_table_name(table).map_err(|problem| invalid(format!("{problem}; {ACCEPTED}")))?;
            return Ok(StoreUrl::DynamoDb {
                table: table.to_string(),
            });
        }
        Err(invalid(ACCEPTED.to_string()))
    }
}

impl fmt::Display for StoreUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StoreUrl::File(dir) => write!(f, "file://{}", dir.display()),
            StoreUrl::DynamoDb { table } => write!(f, "dynamodb://{table}"),
        }
    }
}

/// DynamoDB's own rule, checked here so that a typo fails before any request is made.
fn check_table_name(table: &str) -> Result<(), String> {
    if table.len() < 3 || table.len() > 255 {
        return Err(format!(
            "the table name {table:?} must be 3 to 255 characters long"
        ));
    }
    if !table
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'))
    {
        return Err(format!(
            "the table name {table:?} may contain only letters, digits, '_', '-' and '.'"
        ));
    }
    Ok(())
}

/// Open the store a URL names. `file://` stores are opened lazily (nothing is touched until the
/// first operation, and only `init` creates one). `dynamodb://` loads the standard AWS configuration chain (environment
/// incl. AWS_ENDPOINT_URL and AWS_REGION, profiles, instance roles); no request is made yet.
/// Errors: `InvalidUrl` for anything else (and for `dynamodb://` without the `dynamodb`
/// feature or without any configured region).
pub async fn open(url: &str) -> StoreResult<Arc<dyn Store>> {
    match StoreUrl::parse(url)? {
        StoreUrl::File(dir) => Ok(Arc::new(FileStore::new(dir))),
        StoreUrl::DynamoDb { table } => open_dynamodb(url, table).await,
    }
}

#[cfg(feature = "dynamodb")]
async fn open_dynamodb(url: &str, table: String) -> StoreResult<Arc<dyn Store>> {
    let store = crate::dynamodb::DynamoStore::from_env(table).await;
    if !store.has_region() {
        return Err(StoreError::InvalidUrl {
            url: url.to_string(),
            message: "no AWS region is configured: set AWS_REGION (or a region in your AWS \
                      profile) to the region that holds the table"
                .to_string(),
        });
    }
    Ok(Arc::new(store))
}

#[cfg(not(feature = "dynamodb"))]
async fn open_dynamodb(url: &str, _table: String) -> StoreResult<Arc<dyn Store>> {
    Err(StoreError::InvalidUrl {
        url: url.to_string(),
        message: "this drctl was built without DynamoDB support (cargo feature `dynamodb`)"
            .to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_urls_keep_relative_and_absolute_directories() {
        assert_eq!(
            StoreUrl::parse("file://./.drctl"),
            Ok(StoreUrl::File(PathBuf::from("./.drctl")))
        );
        assert_eq!(
            StoreUrl::parse("file://state"),
            Ok(StoreUrl::File(PathBuf::from("state")))
        );
        assert_eq!(
            StoreUrl::parse("file:///var/lib/drctl"),
            Ok(StoreUrl::File(PathBuf::from("/var/lib/drctl")))
        );
    }

    #[test]
    fn dynamodb_urls_name_the_table() {
        assert_eq!(
            StoreUrl::parse("dynamodb://drctl-prod"),
            Ok(StoreUrl::DynamoDb {
                table: "drctl-prod".to_string()
            })
        );
    }

    #[test]
    fn other_urls_are_invalid_and_the_error_names_url_and_accepted_forms() {
        for url in [
            "s3://bucket",
            "./.drctl",
            "file://",
            "dynamodb://x",
            "dynamodb://a/b",
        ] {
            let err = StoreUrl::parse(url).err();
            let Some(err @ StoreError::InvalidUrl { .. }) = err else {
                panic!("{url}: expected InvalidUrl, got {err:?}");
            };
            let message = err.to_string();
            assert!(message.contains(url), "{message}");
            assert!(message.contains("file://DIR"), "{message}");
            assert!(message.contains("dynamodb://TABLE"), "{message}");
            assert_eq!(err.category(), "invalid_input");
        }
    }

    #[test]
    fn urls_display_as_they_parse() {
        for url in ["file://./.drctl", "file:///tmp/x", "dynamodb://drctl"] {
            assert_eq!(
                StoreUrl::parse(url).map(|u| u.to_string()),
                Ok(url.to_string())
            );
        }
    }

    #[tokio::test]
    async fn opening_a_file_url_touches_nothing_and_a_read_of_no_store_says_so() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("store");
        let store = open(&format!("file://{}", root.display())).await.unwrap();
        assert_eq!(store.url(), format!("file://{}", root.display()));
        assert!(!root.exists());
        assert!(matches!(
            store.list().await,
            Err(StoreError::NotInitialized { .. })
        ));
        assert!(!root.exists(), "a read created the store");
    }
}
