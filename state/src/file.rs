//! The embedded store (`file://DIR`): JSON files in a directory, for one machine.
//!
//! Layout (created by `init`, or by the first write: see below):
//!
//! ```text
//! DIR/drctl-store.json                      marker: the directory is a drctl store
//! DIR/lock                                  the lock file (no content)
//! DIR/change-marker                         the change marker (a JSON number)
//! DIR/groups/NAME.json                      spec record (metadata + spec, no status)
//! DIR/status/NAME.json                      status record, written only by the controller
//! DIR/journal/NAME/00000000000000000001.json  one file per event, named by seq
//! DIR/journal/NAME/last-seq                 the last seq assigned (a JSON number)
//! DIR/approvals/NAME/OPERATION.json
//! DIR/leases/NAME.json
//! DIR/tmp/                                  temp files, renamed into place
//! ```
//!
//! Every file is written whole to `tmp/`, fsynced, renamed over its destination and the
//! directory fsynced, so a reader or a crash sees the old record or the new one, never half.
//! Every read-modify-write (compare resourceVersion, check the fence, allocate a seq) runs
//! under an exclusive `flock` of `DIR/lock`; reads take it shared. flock locks belong to the
//! open file, and every operation opens the lock file afresh, so it excludes two processes
//! on the machine and two tasks of one process alike. Not for network filesystems.
//!
//! Nothing that runs often lists a directory: the change marker is one small file read, and
//! an append finds its seq in `last-seq` (see `Layout::next_seq`). Only `list` and `events`
//! list, because what they return is the directory's content.
//!
//! Uninitialised directory: reads return nothing (`get` None, `list` and `events` empty);
//! the first write creates the layout, as `init` would. An embedded store is a local file,
//! like a SQLite database: demanding `drctl init` before the first `drctl apply` would add a
//! step without protecting anything. (The DynamoDB store does answer NotInitialized, because
//! creating a cloud table is a decision with a bill attached.)

use std::fs::{self, File, OpenOptions};
use std::io::{ErrorKind, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use async_trait::async_trait;
use drctl_schema::{FailoverGroup, FailoverGroupStatus, Timestamp};
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::rules;
use crate::store::{
    ApprovalRecord, ChangeMarker, Event, Fence, InitOutcome, Lease, Store, StoreError, StoreResult,
};

const MARKER: &str = "drctl-store.json";
const LOCK: &str = "lock";
const CHANGE_MARKER: &str = "change-marker";
/// In the journal's directory; not `*.json`, so `events` does not take it for an event.
const LAST_SEQ: &str = "last-seq";
const SUBDIRS: [&str; 6] = ["groups", "status", "journal", "approvals", "leases", "tmp"];
/// Zero-padded so that name order is seq order.
const SEQ_WIDTH: usize = 20;

#[derive(Debug, Clone)]
pub struct FileStore {
    layout: Arc<Layout>,
}

impl FileStore {
    /// A store in `dir` (relative paths are relative to the current directory). Nothing is
    /// touched until the first operation.
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        FileStore {
            layout: Arc::new(Layout { root: dir.into() }),
        }
    }

    pub fn dir(&self) -> &Path {
        &self.layout.root
    }

    /// Runs blocking file IO (and the blocking `flock`) off the async executor.
    async fn run<T, F>(&self, op: F) -> StoreResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&Layout) -> StoreResult<T> + Send + 'static,
    {
        let layout = Arc::clone(&self.layout);
        tokio::task::spawn_blocking(move || op(&layout))
            .await
            .map_err(|err| StoreError::Unavailable {
                message: format!("file store task failed: {err}"),
            })?
    }
}

#[derive(Debug)]
struct Layout {
    root: PathBuf,
}

/// Distinguishes temp files of concurrent writers in one process (the pid separates
/// processes).
static TEMP_COUNTER: AtomicU64 = AtomicU64::new(0);

impl Layout {
    fn path(&self, parts: &[&str]) -> PathBuf {
        let mut path = self.root.clone();
        for part in parts {
            path.push(part);
        }
        path
    }

    fn spec_path(&self, name: &str) -> PathBuf {
        self.path(&["groups", &format!("{name}.json")])
    }

    fn status_path(&self, name: &str) -> PathBuf {
        self.path(&["status", &format!("{name}.json")])
    }

    fn journal_dir(&self, name: &str) -> PathBuf {
        self.path(&["journal", name])
    }

    fn event_path(&self, name: &str, seq: u64) -> PathBuf {
        self.journal_dir(name)
            .join(format!("{seq:0width$}.json", width = SEQ_WIDTH))
    }

    fn approvals_dir(&self, name: &str) -> PathBuf {
        self.path(&["approvals", name])
    }

    fn approval_path(&self, name: &str, operation_id: &str) -> PathBuf {
        self.path(&["approvals", name, &format!("{operation_id}.json")])
    }

    fn lease_path(&self, lease: &str) -> PathBuf {
        self.path(&["leases", &format!("{lease}.json")])
    }

    fn io_error(&self, what: &str, path: &Path, err: std::io::Error) -> StoreError {
        StoreError::Unavailable {
            message: format!(
                "file store {}: {what} {}: {err}",
                self.root.display(),
                path.display()
            ),
        }
    }

    /// Creates the layout if missing; true if this call created the marker.
    fn ensure(&self) -> StoreResult<bool> {
        for sub in SUBDIRS {
            let dir = self.path(&[sub]);
            fs::create_dir_all(&dir).map_err(|err| self.io_error("create", &dir, err))?;
        }
        let marker = self.path(&[MARKER]);
        if marker.exists() {
            return Ok(false);
        }
        self.write_json(&marker, &serde_json::json!({ "format": 1 }))?;
        Ok(true)
    }

    fn open_lock(&self) -> StoreResult<File> {
        let path = self.path(&[LOCK]);
        OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(|err| self.io_error("open", &path, err))
    }

    /// The exclusive lock, released when the returned file is dropped. Creates the store's
    /// directory (not its layout) so that the lock file has somewhere to live.
    fn lock_exclusive(&self) -> StoreResult<File> {
        fs::create_dir_all(&self.root).map_err(|err| self.io_error("create", &self.root, err))?;
        let file = self.open_lock()?;
        file.lock()
            .map_err(|err| self.io_error("lock", &self.path(&[LOCK]), err))?;
        Ok(file)
    }

    /// For a read-modify-write: the exclusive lock, with the layout created (under the lock,
    /// so that two first writers agree on who created the store).
    fn lock_for_write(&self) -> StoreResult<File> {
        let file = self.lock_exclusive()?;
        self.ensure()?;
        Ok(file)
    }

    /// For a read: a shared lock, or None when the directory does not exist (nothing to read,
    /// and a read must not create the store).
    fn lock_for_read(&self) -> StoreResult<Option<File>> {
        if !self.root.is_dir() {
            return Ok(None);
        }
        let file = self.open_lock()?;
        file.lock_shared()
            .map_err(|err| self.io_error("lock", &self.path(&[LOCK]), err))?;
        Ok(Some(file))
    }

    fn read_json<T: DeserializeOwned>(&self, path: &Path) -> StoreResult<Option<T>> {
        let bytes = match fs::read(path) {
            Ok(bytes) => bytes,
            Err(err) if err.kind() == ErrorKind::NotFound => return Ok(None),
            Err(err) => return Err(self.io_error("read", path, err)),
        };
        serde_json::from_slice(&bytes)
            .map(Some)
            .map_err(|err| StoreError::Corrupt {
                key: path.display().to_string(),
                message: err.to_string(),
            })
    }

    /// Write whole-file-or-nothing: temp file, fsync, rename over the destination, fsync the
    /// destination's directory (so the rename itself survives a power cut).
    fn write_json<T: Serialize>(&self, path: &Path, value: &T) -> StoreResult<()> {
        let bytes = serde_json::to_vec_pretty(value).map_err(|err| StoreError::Corrupt {
            key: path.display().to_string(),
            message: format!("cannot serialise: {err}"),
        })?;
        let dir = path.parent().unwrap_or(&self.root);
        fs::create_dir_all(dir).map_err(|err| self.io_error("create", dir, err))?;
        let temp = self.path(&[
            "tmp",
            &format!(
                "{}-{}.tmp",
                std::process::id(),
                TEMP_COUNTER.fetch_add(1, Ordering::Relaxed)
            ),
        ]);
        let result = (|| {
            let mut file = File::create(&temp)?;
            file.write_all(&bytes)?;
            file.write_all(b"\n")?;
            file.sync_all()?;
            fs::rename(&temp, path)?;
            File::open(dir)?.sync_all()
        })();
        result.map_err(|err| {
            let _ = fs::remove_file(&temp);
            self.io_error("write", path, err)
        })
    }

    fn remove_file(&self, path: &Path) -> StoreResult<()> {
        match fs::remove_file(path) {
            Ok(()) => Ok(()),
            Err(err) if err.kind() == ErrorKind::NotFound => Ok(()),
            Err(err) => Err(self.io_error("remove", path, err)),
        }
    }

    fn remove_dir(&self, path: &Path) -> StoreResult<()> {
        match fs::remove_dir_all(path) {
            Ok(()) => Ok(()),
            Err(err) if err.kind() == ErrorKind::NotFound => Ok(()),
            Err(err) => Err(self.io_error("remove", path, err)),
        }
    }

    /// The `*.json` entries of a directory as stems, sorted; empty if the directory is missing.
    fn json_stems(&self, dir: &Path) -> StoreResult<Vec<String>> {
        let entries = match fs::read_dir(dir) {
            Ok(entries) => entries,
            Err(err) if err.kind() == ErrorKind::NotFound => return Ok(Vec::new()),
            Err(err) => return Err(self.io_error("list", dir, err)),
        };
        let mut stems = Vec::new();
        for entry in entries {
            let entry = entry.map_err(|err| self.io_error("list", dir, err))?;
            let file_name = entry.file_name();
            if let Some(stem) = file_name.to_str().and_then(|n| n.strip_suffix(".json")) {
                stems.push(stem.to_string());
            }
        }
        stems.sort();
        Ok(stems)
    }

    fn spec(&self, name: &str) -> StoreResult<Option<FailoverGroup>> {
        self.read_json(&self.spec_path(name))
    }

    fn with_status(&self, mut record: FailoverGroup) -> StoreResult<FailoverGroup> {
        record.status = self.read_json(&self.status_path(&record.metadata.name))?;
        Ok(record)
    }

    fn lease(&self, lease: &str) -> StoreResult<Option<Lease>> {
        self.read_json(&self.lease_path(lease))
    }

    fn check_fence(&self, fence: &Fence) -> StoreResult<()> {
        rules::check_fence(fence, self.lease(&fence.lease)?.as_ref())
    }

    /// The seq the next event of `name` gets, without listing the journal: one past
    /// `last-seq`, and past any event file found there (an append that crashed after writing
    /// its event and before `last-seq`; a journal written before `last-seq` existed, probed
    /// once from 1). One stat in the normal case. Call under the exclusive lock.
    fn next_seq(&self, name: &str) -> StoreResult<u64> {
        let counter = self.journal_dir(name).join(LAST_SEQ);
        let mut seq = self.read_json::<u64>(&counter)?.unwrap_or(0) + 1;
        loop {
            let path = self.event_path(name, seq);
            match path.try_exists() {
                Ok(false) => return Ok(seq),
                Ok(true) => seq += 1,
                Err(err) => return Err(self.io_error("stat", &path, err)),
            }
        }
    }

    /// Write `event` as seq `seq`, then record `seq` as the last one. In that order: a crash
    /// in between leaves an event `next_seq` steps over, never a counter ahead of the events
    /// (a gap) or behind an event it would overwrite.
    fn write_event(&self, name: &str, seq: u64, event: &Event) -> StoreResult<()> {
        self.write_json(&self.event_path(name, seq), event)?;
        self.write_json(&self.journal_dir(name).join(LAST_SEQ), &seq)
    }

    fn change_marker(&self) -> StoreResult<ChangeMarker> {
        let marker = self.read_json::<u64>(&self.path(&[CHANGE_MARKER]))?;
        Ok(ChangeMarker(marker.unwrap_or(0)))
    }

    /// Move the change marker on, under the exclusive lock and *before* the write it
    /// announces: readers hold the shared lock, so none sees one without the other, and a
    /// crash in between costs a reader one needless re-list, never a missed change.
    fn bump_change_marker(&self) -> StoreResult<()> {
        let ChangeMarker(current) = self.change_marker()?;
        self.write_json(&self.path(&[CHANGE_MARKER]), &(current + 1))
    }
}

fn check_fence_names(fence: &Fence) -> StoreResult<()> {
    rules::check_name("lease", &fence.lease)
}

#[async_trait]
impl Store for FileStore {
    fn url(&self) -> String {
        format!("file://{}", self.layout.root.display())
    }

    async fn init(&self) -> StoreResult<InitOutcome> {
        self.run(|layout| {
            let _lock = layout.lock_exclusive()?;
            let created = layout.ensure()?;
            Ok(if created {
                InitOutcome::Created
            } else {
                InitOutcome::AlreadyExisted
            })
        })
        .await
    }

    async fn get(&self, name: &str) -> StoreResult<Option<FailoverGroup>> {
        rules::check_name("failovergroup", name)?;
        let name = name.to_string();
        self.run(move |layout| {
            let Some(_lock) = layout.lock_for_read()? else {
                return Ok(None);
            };
            match layout.spec(&name)? {
                Some(record) => layout.with_status(record).map(Some),
                None => Ok(None),
            }
        })
        .await
    }

    async fn list(&self) -> StoreResult<Vec<FailoverGroup>> {
        self.run(|layout| {
            let Some(_lock) = layout.lock_for_read()? else {
                return Ok(Vec::new());
            };
            let mut groups = Vec::new();
            for name in layout.json_stems(&layout.path(&["groups"]))? {
                if rules::check_name("failovergroup", &name).is_err() {
                    continue; // not ours (an editor's backup file, say)
                }
                if let Some(record) = layout.spec(&name)? {
                    groups.push(layout.with_status(record)?);
                }
            }
            Ok(groups)
        })
        .await
    }

    async fn create(&self, doc: &FailoverGroup) -> StoreResult<FailoverGroup> {
        let name = doc.metadata.name.clone();
        rules::check_name("failovergroup", &name)?;
        let record = rules::created_record(doc);
        self.run(move |layout| {
            let _lock = layout.lock_for_write()?;
            if layout.spec(&name)?.is_some() {
                return Err(rules::already_exists(&name));
            }
            layout.bump_change_marker()?;
            // Leftovers of an earlier group of this name (a delete interrupted by a crash)
            // must not attach themselves to the new one.
            layout.remove_file(&layout.status_path(&name))?;
            layout.remove_dir(&layout.approvals_dir(&name))?;
            layout.write_json(&layout.spec_path(&name), &record)?;
            Ok(record)
        })
        .await
    }

    async fn update(
        &self,
        doc: &FailoverGroup,
        expected_resource_version: &str,
    ) -> StoreResult<FailoverGroup> {
        let name = doc.metadata.name.clone();
        rules::check_name("failovergroup", &name)?;
        let doc = doc.clone();
        let expected = expected_resource_version.to_string();
        self.run(move |layout| {
            let _lock = layout.lock_for_write()?;
            let stored = layout.spec(&name)?;
            let record = rules::checked_update(&name, stored.as_ref(), &doc, &expected)?;
            layout.bump_change_marker()?;
            layout.write_json(&layout.spec_path(&name), &record)?;
            Ok(record)
        })
        .await
    }

    async fn delete(&self, name: &str, expected_resource_version: Option<&str>) -> StoreResult<()> {
        rules::check_name("failovergroup", name)?;
        let name = name.to_string();
        let expected = expected_resource_version.map(str::to_string);
        self.run(move |layout| {
            let _lock = layout.lock_for_write()?;
            let stored = layout.spec(&name)?;
            rules::check_delete(&name, stored.as_ref(), expected.as_deref())?;
            layout.bump_change_marker()?;
            // Status and approvals first: a crash midway leaves a group without status (the
            // controller rewrites it), never a status without its group.
            layout.remove_file(&layout.status_path(&name))?;
            layout.remove_dir(&layout.approvals_dir(&name))?;
            layout.remove_file(&layout.spec_path(&name))
        })
        .await
    }

    async fn write_status(
        &self,
        name: &str,
        status: &FailoverGroupStatus,
        fence: &Fence,
    ) -> StoreResult<()> {
        rules::check_name("failovergroup", name)?;
        check_fence_names(fence)?;
        let name = name.to_string();
        let status = status.clone();
        let fence = fence.clone();
        self.run(move |layout| {
            let _lock = layout.lock_for_write()?;
            layout.check_fence(&fence)?;
            if layout.spec(&name)?.is_none() {
                return Err(rules::not_found(&name));
            }
            layout.write_json(&layout.status_path(&name), &status)
        })
        .await
    }

    async fn append_event(
        &self,
        name: &str,
        event: &Event,
        fence: Option<&Fence>,
    ) -> StoreResult<u64> {
        rules::check_name("failovergroup", name)?;
        if let Some(fence) = fence {
            check_fence_names(fence)?;
        }
        let name = name.to_string();
        let mut event = event.clone();
        let fence = fence.cloned();
        self.run(move |layout| {
            let _lock = layout.lock_for_write()?;
            if let Some(fence) = &fence {
                layout.check_fence(fence)?;
            }
            let seq = layout.next_seq(&name)?;
            event.seq = seq;
            layout.write_event(&name, seq, &event)?;
            Ok(seq)
        })
        .await
    }

    async fn events(&self, name: &str) -> StoreResult<Vec<Event>> {
        rules::check_name("failovergroup", name)?;
        let name = name.to_string();
        self.run(move |layout| {
            let Some(_lock) = layout.lock_for_read()? else {
                return Ok(Vec::new());
            };
            let dir = layout.journal_dir(&name);
            let mut events = Vec::new();
            for stem in layout.json_stems(&dir)? {
                if let Some(event) = layout.read_json::<Event>(&dir.join(format!("{stem}.json")))? {
                    events.push(event);
                }
            }
            events.sort_by_key(|event| event.seq);
            Ok(events)
        })
        .await
    }

    async fn acquire_lease(
        &self,
        lease: &str,
        holder: &str,
        now: Timestamp,
        duration_ms: i64,
    ) -> StoreResult<Option<Lease>> {
        rules::check_name("lease", lease)?;
        let lease = lease.to_string();
        let holder = holder.to_string();
        self.run(move |layout| {
            let _lock = layout.lock_for_write()?;
            let current = layout.lease(&lease)?;
            let Some(taken) =
                rules::lease_to_take(current.as_ref(), &lease, &holder, now, duration_ms)
            else {
                return Ok(None);
            };
            layout.write_json(&layout.lease_path(&lease), &taken)?;
            Ok(Some(taken))
        })
        .await
    }

    async fn renew_lease(
        &self,
        lease: &Lease,
        now: Timestamp,
        duration_ms: i64,
    ) -> StoreResult<Lease> {
        rules::check_name("lease", &lease.name)?;
        let ours = lease.clone();
        self.run(move |layout| {
            let _lock = layout.lock_for_write()?;
            let current = layout.lease(&ours.name)?;
            let renewed = rules::renewed(&ours, current.as_ref(), now, duration_ms)?;
            layout.write_json(&layout.lease_path(&ours.name), &renewed)?;
            Ok(renewed)
        })
        .await
    }

    async fn release_lease(&self, lease: &Lease) -> StoreResult<()> {
        rules::check_name("lease", &lease.name)?;
        let ours = lease.clone();
        self.run(move |layout| {
            let _lock = layout.lock_for_write()?;
            match rules::released(&ours, layout.lease(&ours.name)?.as_ref()) {
                Some(released) => layout.write_json(&layout.lease_path(&ours.name), &released),
                None => Ok(()),
            }
        })
        .await
    }

    async fn get_lease(&self, lease: &str) -> StoreResult<Option<Lease>> {
        rules::check_name("lease", lease)?;
        let lease = lease.to_string();
        self.run(move |layout| {
            let Some(_lock) = layout.lock_for_read()? else {
                return Ok(None);
            };
            layout.lease(&lease)
        })
        .await
    }

    async fn approve(&self, name: &str, approval: &ApprovalRecord) -> StoreResult<()> {
        rules::check_name("failovergroup", name)?;
        rules::check_name("operation", &approval.operation_id)?;
        let name = name.to_string();
        let approval = approval.clone();
        self.run(move |layout| {
            let _lock = layout.lock_for_write()?;
            if layout.spec(&name)?.is_none() {
                return Err(rules::not_found(&name));
            }
            let path = layout.approval_path(&name, &approval.operation_id);
            // The first approval stands: who approved and when is an audit fact.
            if layout.read_json::<ApprovalRecord>(&path)?.is_some() {
                return Ok(());
            }
            layout.bump_change_marker()?;
            layout.write_json(&path, &approval)
        })
        .await
    }

    async fn approval(
        &self,
        name: &str,
        operation_id: &str,
    ) -> StoreResult<Option<ApprovalRecord>> {
        rules::check_name("failovergroup", name)?;
        rules::check_name("operation", operation_id)?;
        let path = self.layout.approval_path(name, operation_id);
        self.run(move |layout| {
            let Some(_lock) = layout.lock_for_read()? else {
                return Ok(None);
            };
            layout.read_json(&path)
        })
        .await
    }

    async fn change_marker(&self) -> StoreResult<ChangeMarker> {
        self.run(|layout| {
            let Some(_lock) = layout.lock_for_read()? else {
                return Ok(ChangeMarker(0));
            };
            layout.change_marker()
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testkit;

    async fn fixture() -> (Arc<dyn Store>, tempfile::TempDir) {
        let dir = tempfile::tempdir().unwrap();
        let store: Arc<dyn Store> = Arc::new(FileStore::new(dir.path().join("store")));
        store.init().await.unwrap();
        (store, dir)
    }

    mod conformance {
        crate::store_conformance_tests!(super::fixture);
    }

    #[tokio::test]
    async fn every_case_also_passes_on_one_shared_store() {
        let (store, _dir) = fixture().await;
        testkit::run_all(store).await;
    }

    #[tokio::test]
    async fn init_creates_the_layout_once() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("nested").join("store");
        let store = FileStore::new(&root);
        assert_eq!(store.init().await, Ok(InitOutcome::Created));
        for sub in SUBDIRS {
            assert!(root.join(sub).is_dir(), "{sub} missing");
        }
        assert!(root.join(MARKER).is_file());
        assert_eq!(store.init().await, Ok(InitOutcome::AlreadyExisted));
    }

    #[tokio::test]
    async fn reads_of_a_store_never_initialised_are_empty_and_create_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("store");
        let store = FileStore::new(&root);
        assert_eq!(store.get("web").await, Ok(None));
        assert_eq!(store.list().await, Ok(Vec::new()));
        assert_eq!(store.events("web").await, Ok(Vec::new()));
        assert_eq!(store.get_lease("controller").await, Ok(None));
        assert_eq!(store.approval("web", "op-1").await, Ok(None));
        assert!(!root.exists());
    }

    #[tokio::test]
    async fn the_first_write_creates_the_store_as_init_would() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("store");
        let store = FileStore::new(&root);
        store.create(&testkit::group("web")).await.unwrap();
        assert!(root.join(MARKER).is_file());
        assert_eq!(store.init().await, Ok(InitOutcome::AlreadyExisted));
        assert!(store.get("web").await.unwrap().is_some());
    }

    #[tokio::test]
    async fn records_are_plain_json_files_and_no_temp_file_is_left_behind() {
        let (store, dir) = fixture().await;
        let root = dir.path().join("store");
        store.create(&testkit::group("web")).await.unwrap();
        store
            .append_event("web", &testkit::event("SpecApplied"), None)
            .await
            .unwrap();
        let spec: FailoverGroup =
            serde_json::from_slice(&fs::read(root.join("groups/web.json")).unwrap()).unwrap();
        assert_eq!(spec.metadata.resource_version.as_deref(), Some("1"));
        assert!(root.join("journal/web/00000000000000000001.json").is_file());
        assert_eq!(fs::read_dir(root.join("tmp")).unwrap().count(), 0);
    }

    #[tokio::test]
    async fn a_damaged_record_is_reported_as_corrupt_with_its_path() {
        let (store, dir) = fixture().await;
        store.create(&testkit::group("web")).await.unwrap();
        let path = dir.path().join("store/groups/web.json");
        fs::write(&path, b"{ not json").unwrap();
        match store.get("web").await {
            Err(StoreError::Corrupt { key, .. }) => assert!(key.ends_with("web.json"), "{key}"),
            other => panic!("expected Corrupt, got {other:?}"),
        }
    }

    /// Two stores on one directory stand for two processes: each operation opens its own lock
    /// file description, which is what flock excludes on.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn two_store_instances_on_one_directory_exclude_each_other() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("store");
        let a: Arc<dyn Store> = Arc::new(FileStore::new(&root));
        let b: Arc<dyn Store> = Arc::new(FileStore::new(&root));
        let base = a.create(&testkit::group("web")).await.unwrap();
        let mut tasks = tokio::task::JoinSet::new();
        for i in 0..16 {
            let store = if i % 2 == 0 {
                Arc::clone(&a)
            } else {
                Arc::clone(&b)
            };
            let mut doc = base.clone();
            doc.metadata.labels.insert("by".into(), i.to_string());
            tasks.spawn(async move { store.update(&doc, "1").await.is_ok() });
        }
        let mut wins = 0;
        while let Some(won) = tasks.join_next().await {
            wins += usize::from(won.unwrap());
        }
        assert_eq!(wins, 1);
        let seqs = append_once_from_each(&a, &b).await;
        assert_eq!(seqs, vec![1, 2]);
    }

    fn write_event_file(root: &Path, name: &str, seq: u64, reason: &str) {
        let event = Event {
            seq,
            ..testkit::event(reason)
        };
        let dir = root.join("journal").join(name);
        fs::create_dir_all(&dir).unwrap();
        fs::write(
            dir.join(format!("{seq:020}.json")),
            serde_json::to_vec(&event).unwrap(),
        )
        .unwrap();
    }

    /// Appending must cost the same for the millionth event as for the first: the seq comes
    /// from `last-seq`, so a file that is not the journal's last event (here a stray one far
    /// ahead) does not move it, as a listing would.
    #[tokio::test]
    async fn appends_take_the_next_seq_from_last_seq_without_listing_the_journal() {
        let (store, dir) = fixture().await;
        let root = dir.path().join("store");
        for expected in [1, 2] {
            let seq = store
                .append_event("web", &testkit::event("SpecApplied"), None)
                .await
                .unwrap();
            assert_eq!(seq, expected);
        }
        assert_eq!(
            fs::read_to_string(root.join("journal/web/last-seq"))
                .unwrap()
                .trim(),
            "2"
        );
        write_event_file(&root, "web", 9, "Stray");
        let seq = store
            .append_event("web", &testkit::event("SpecApplied"), None)
            .await
            .unwrap();
        assert_eq!(seq, 3, "the seq was derived from the directory's content");
    }

    #[tokio::test]
    async fn an_append_interrupted_before_last_seq_is_stepped_over_not_overwritten() {
        let (store, dir) = fixture().await;
        let root = dir.path().join("store");
        let e = testkit::event("SpecApplied");
        assert_eq!(store.append_event("web", &e, None).await.unwrap(), 1);
        // A crash after writing event 2 and before recording it in last-seq.
        write_event_file(&root, "web", 2, "WrittenBeforeTheCrash");
        assert_eq!(store.append_event("web", &e, None).await.unwrap(), 3);
        let reasons: Vec<String> = store
            .events("web")
            .await
            .unwrap()
            .into_iter()
            .map(|e| format!("{} {}", e.seq, e.reason))
            .collect();
        assert_eq!(
            reasons,
            ["1 SpecApplied", "2 WrittenBeforeTheCrash", "3 SpecApplied"]
        );
    }

    #[tokio::test]
    async fn a_journal_written_before_last_seq_existed_continues_after_its_last_event() {
        let (store, dir) = fixture().await;
        let root = dir.path().join("store");
        for seq in 1..=3 {
            write_event_file(&root, "web", seq, "Older");
        }
        let seq = store
            .append_event("web", &testkit::event("SpecApplied"), None)
            .await
            .unwrap();
        assert_eq!(seq, 4);
        assert_eq!(store.events("web").await.unwrap().len(), 4);
    }

    #[tokio::test]
    async fn the_change_marker_is_one_small_file_and_reads_zero_before_anything_was_written() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("store");
        let store = FileStore::new(&root);
        assert_eq!(store.change_marker().await, Ok(ChangeMarker(0)));
        assert!(!root.exists(), "reading the marker created the store");
        store.create(&testkit::group("web")).await.unwrap();
        assert_eq!(
            fs::read_to_string(root.join(CHANGE_MARKER)).unwrap().trim(),
            "1"
        );
        assert_eq!(store.change_marker().await, Ok(ChangeMarker(1)));
    }

    async fn append_once_from_each(a: &Arc<dyn Store>, b: &Arc<dyn Store>) -> Vec<u64> {
        let e = testkit::event("SpecApplied");
        let (x, y) = tokio::join!(
            a.append_event("web", &e, None),
            b.append_event("web", &e, None)
        );
        let mut seqs = vec![x.unwrap(), y.unwrap()];
        seqs.sort_unstable();
        seqs
    }
}
