//! The embedded store (`file://DIR`): JSON files in a directory, for one machine.
//!
//! Layout (created by `init`; nothing else creates a store, see below):
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
//! under an exclusive `flock` of `DIR/lock`; reads take it shared, through a read-only open,
//! so a store on a read-only directory (a mounted backup, another user's store) can still
//! be read, and a lock file that cannot be opened at all leaves reads unlocked (each record
//! is still whole). flock locks belong to the open file, and every operation opens the lock
//! file afresh, so it excludes two processes on the machine and two tasks of one process
//! alike. Not for network filesystems.
//!
//! Every write is under the exclusive lock, so a file in `tmp/` seen under it is a leftover
//! of a writer killed mid-write: the first write of each `FileStore` (and `init`) removes
//! them.
//!
//! A damaged record (a file that is not the JSON it should be) is reported with its path
//! and what is wrong, and the rest of the store keeps working: `list` leaves the group out
//! (`list_readable` names it), `inspect` shows what does read, `delete` without a
//! resourceVersion removes it, a damaged journal event reads as a `DamagedRecord` event in
//! its place, a damaged `last-seq` is rebuilt from the journal's files, and a damaged lease
//! fences every holder and can be taken over with an epoch above any earlier one.
//!
//! Nothing that runs often lists a directory: the change marker is one small file read, and
//! an append finds its seq in `last-seq` (see `Layout::next_seq`). Only `list` and `events`
//! list, because what they return is the directory's content.
//!
//! Only `init` creates a store. Every other operation on a directory without the marker
//! (missing, empty, not a directory, or someone else's directory: a mistyped path) is
//! `NotInitialized`, naming the path and `drctl init`, as the DynamoDB store answers for a
//! missing table; otherwise a typo reads as an empty store ("No resources found", exit 0)
//! and the first `apply` scatters a store into whatever directory was named. A marker of a
//! format this build does not know (a newer drctl's) is refused, never read or rewritten.

use std::fs::{self, File, OpenOptions};
use std::io::{ErrorKind, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;

use async_trait::async_trait;
use drctl_schema::{FailoverGroup, FailoverGroupStatus, Timestamp};
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::rules;
use crate::store::{
    Approval, ApprovalRecord, ChangeMarker, DamagedRecord, Event, Fence, InitOutcome, Inspection,
    Lease, Listing, Store, StoreError, StoreResult,
};

const MARKER: &str = "drctl-store.json";
/// The layout this build reads and writes (`{"format": 1}` in the marker).
const FORMAT: u64 = 1;
/// The reason of the stand-in event for a journal file that does not read back.
pub const DAMAGED_EVENT_REASON: &str = "DamagedRecord";
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
            layout: Arc::new(Layout {
                root: dir.into(),
                swept: AtomicBool::new(false),
            }),
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
    /// Whether this store has removed the temp files killed writers left in `tmp/`.
    swept: AtomicBool,
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

    fn url(&self) -> String {
        format!("file://{}", self.root.display())
    }

    /// Creates the layout if missing; true if this call created the marker. Only `init`.
    fn ensure(&self) -> StoreResult<bool> {
        self.ensure_subdirs()?;
        if self.check_marker()? {
            return Ok(false);
        }
        self.write_json(
            &self.path(&[MARKER]),
            &serde_json::json!({ "format": FORMAT }),
        )?;
        Ok(true)
    }

    fn ensure_subdirs(&self) -> StoreResult<()> {
        for sub in SUBDIRS {
            let dir = self.path(&[sub]);
            fs::create_dir_all(&dir).map_err(|err| self.io_error("create", &dir, err))?;
        }
        Ok(())
    }

    /// Whether the directory is a drctl store: true if the marker is there with our format,
    /// false if there is no marker, an error if the marker is of another format or damaged.
    fn check_marker(&self) -> StoreResult<bool> {
        let path = self.path(&[MARKER]);
        let bytes = match fs::read(&path) {
            Ok(bytes) => bytes,
            Err(err) if matches!(err.kind(), ErrorKind::NotFound | ErrorKind::NotADirectory) => {
                return Ok(false)
            }
            Err(err) => return Err(self.io_error("read", &path, err)),
        };
        let damaged = |message: String| StoreError::Corrupt {
            key: path.display().to_string(),
            message,
        };
        let marker: serde_json::Value = serde_json::from_slice(&bytes)
            .map_err(|err| damaged(format!("the store marker is not JSON: {err}")))?;
        match marker.get("format").and_then(serde_json::Value::as_u64) {
            Some(FORMAT) => Ok(true),
            Some(other) => Err(damaged(format!(
                "the store is in format {other}, and this drctl reads only format {FORMAT} (a \
                 newer drctl made it?); nothing was read or written"
            ))),
            None => Err(damaged(format!(
                "the store marker has no numeric \"format\" (this drctl reads format {FORMAT})"
            ))),
        }
    }

    /// Ok if the directory is a store of our format, else NotInitialized naming the path.
    fn require_store(&self) -> StoreResult<()> {
        if self.check_marker()? {
            return Ok(());
        }
        let root = self.root.display();
        let what = if !self.root.exists() {
            "does not exist".to_string()
        } else if !self.root.is_dir() {
            "is not a directory".to_string()
        } else {
            format!("has no {MARKER}")
        };
        Err(StoreError::NotInitialized {
            message: format!(
                "{} is not a drctl store: {root} {what}. Check the path, or create the store \
                 with `drctl --store {} init`",
                self.url(),
                self.url()
            ),
        })
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

    /// The exclusive lock, released when the returned file is dropped. The directory must
    /// exist.
    fn lock_exclusive(&self) -> StoreResult<File> {
        let file = self.open_lock()?;
        file.lock()
            .map_err(|err| self.io_error("lock", &self.path(&[LOCK]), err))?;
        Ok(file)
    }

    /// For a read-modify-write: the exclusive lock of an initialised store, with its
    /// subdirectories there and (once per store) killed writers' temp files removed.
    fn lock_for_write(&self) -> StoreResult<File> {
        self.require_store()?;
        let file = self.lock_exclusive()?;
        self.ensure_subdirs()?;
        self.sweep_temp_files()?;
        Ok(file)
    }

    /// For a read: the shared lock of an initialised store, through a read-only open (a
    /// read-only store can be read). None when the lock file cannot be opened at all: the
    /// read goes ahead unlocked, each record still whole thanks to the renames.
    fn lock_for_read(&self) -> StoreResult<Option<File>> {
        self.require_store()?;
        let path = self.path(&[LOCK]);
        let file = match File::open(&path) {
            Ok(file) => file,
            Err(err)
                if matches!(
                    err.kind(),
                    ErrorKind::NotFound | ErrorKind::PermissionDenied
                ) =>
            {
                return Ok(None)
            }
            Err(err) => return Err(self.io_error("open", &path, err)),
        };
        file.lock_shared()
            .map_err(|err| self.io_error("lock", &path, err))?;
        Ok(Some(file))
    }

    /// Remove what writers killed mid-write left in `tmp/`. Call under the exclusive lock
    /// (then no write is in flight). Once per store: the directory is not listed per write.
    fn sweep_temp_files(&self) -> StoreResult<()> {
        if self.swept.swap(true, Ordering::Relaxed) {
            return Ok(());
        }
        let dir = self.path(&["tmp"]);
        let entries = match fs::read_dir(&dir) {
            Ok(entries) => entries,
            Err(err) if err.kind() == ErrorKind::NotFound => return Ok(()),
            Err(err) => return Err(self.io_error("list", &dir, err)),
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_file() {
                tracing::info!(path = %path.display(), "removing a temp file a killed writer left behind");
                self.remove_file(&path)?;
            }
        }
        Ok(())
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

    /// A damaged lease fences every holder: nobody can show it still holds it.
    fn check_fence(&self, fence: &Fence) -> StoreResult<()> {
        match self.lease(&fence.lease) {
            Ok(current) => rules::check_fence(fence, current.as_ref()),
            Err(StoreError::Corrupt { key, message }) => Err(StoreError::Fenced {
                message: format!(
                    "lease {} cannot be read ({key}: {message}); whoever held it must stop",
                    fence.lease
                ),
            }),
            Err(err) => Err(err),
        }
    }

    /// The lease as an acquirer sees it: a damaged lease file stands for an expired one
    /// (`rules::stand_in_for_damaged_lease`). The damaged file is kept beside, for whoever
    /// investigates.
    fn lease_or_stand_in(&self, lease: &str, now: Timestamp) -> StoreResult<Option<Lease>> {
        match self.lease(lease) {
            Err(StoreError::Corrupt { key, message }) => {
                let path = self.lease_path(lease);
                let aside = path.with_extension("json.damaged");
                fs::rename(&path, &aside).map_err(|err| self.io_error("move", &path, err))?;
                tracing::warn!(lease, key = %key, reason = %message, kept = %aside.display(), "the lease file is damaged; taking the lease over as expired");
                Ok(Some(rules::stand_in_for_damaged_lease(lease, &key, now)))
            }
            other => other,
        }
    }

    /// The group as far as it reads back (see `Store::inspect`).
    fn inspect(&self, name: &str) -> StoreResult<Option<Inspection>> {
        let mut inspection = Inspection::default();
        let spec = match self.spec(name) {
            Ok(None) => return Ok(None),
            Ok(Some(spec)) => Some(spec),
            Err(err) => {
                inspection
                    .damaged
                    .push(DamagedRecord::from_error(name, &err).ok_or(err)?);
                None
            }
        };
        let status = match self.read_json(&self.status_path(name)) {
            Ok(status) => status,
            Err(err) => {
                inspection
                    .damaged
                    .push(DamagedRecord::from_error(name, &err).ok_or(err)?);
                None
            }
        };
        inspection.doc = spec.map(|mut doc| {
            doc.status = status;
            doc
        });
        Ok(Some(inspection))
    }

    /// Create under the exclusive lock.
    fn create(&self, name: &str, record: &FailoverGroup) -> StoreResult<()> {
        if self.spec_path(name).exists() {
            return Err(rules::already_exists(name));
        }
        self.bump_change_marker()?;
        // Leftovers of an earlier group of this name (a delete interrupted by a crash)
        // must not attach themselves to the new one.
        self.remove_file(&self.status_path(name))?;
        self.remove_dir(&self.approvals_dir(name))?;
        self.write_json(&self.spec_path(name), record)
    }

    /// Update under the exclusive lock.
    fn update(
        &self,
        name: &str,
        doc: &FailoverGroup,
        expected: &str,
    ) -> StoreResult<FailoverGroup> {
        let stored = self.spec(name)?;
        let record = rules::checked_update(name, stored.as_ref(), doc, expected)?;
        self.bump_change_marker()?;
        self.write_json(&self.spec_path(name), &record)?;
        Ok(record)
    }

    /// Delete under the exclusive lock. Without an expected version the spec need not read
    /// back: a damaged group can be deleted.
    fn delete(&self, name: &str, expected: Option<&str>) -> StoreResult<()> {
        match expected {
            Some(expected) => {
                rules::check_delete(name, self.spec(name)?.as_ref(), Some(expected))?;
            }
            None => {
                let path = self.spec_path(name);
                match path.try_exists() {
                    Ok(true) => {}
                    Ok(false) => return Err(rules::not_found(name)),
                    Err(err) => return Err(self.io_error("stat", &path, err)),
                }
            }
        }
        self.bump_change_marker()?;
        // Status and approvals first: a crash midway leaves a group without status (the
        // controller rewrites it), never a status without its group.
        self.remove_file(&self.status_path(name))?;
        self.remove_dir(&self.approvals_dir(name))?;
        self.remove_file(&self.spec_path(name))
    }

    /// Write the event of a spec write just made, as seq `seq` (allocated before the spec
    /// write, so that a journal that cannot take events stops it). Should the event still
    /// fail, the spec write is undone (`previous`: the record it replaced; None: it was a
    /// create), so the change is not saved without its event.
    fn write_event_or_undo(
        &self,
        name: &str,
        seq: u64,
        event: &mut Event,
        previous: Option<&FailoverGroup>,
    ) -> StoreResult<()> {
        event.seq = seq;
        let Err(err) = self.write_event(name, seq, event) else {
            return Ok(());
        };
        let undone = match previous {
            Some(previous) => self.write_json(&self.spec_path(name), previous),
            None => self.remove_file(&self.spec_path(name)),
        };
        if let Err(undo) = undone {
            tracing::error!(group = name, error = %undo, "could not undo a spec write whose journal event failed");
        }
        Err(err)
    }

    /// Append under the exclusive lock; returns the seq given.
    fn append(&self, name: &str, event: &mut Event) -> StoreResult<u64> {
        let seq = self.next_seq(name)?;
        event.seq = seq;
        self.write_event(name, seq, event)?;
        Ok(seq)
    }

    /// The seq the next event of `name` gets, without listing the journal: one past
    /// `last-seq`, and past any event file found there (an append that crashed after writing
    /// its event and before `last-seq`; a journal written before `last-seq` existed, probed
    /// once from 1). One stat in the normal case. Call under the exclusive lock.
    fn next_seq(&self, name: &str) -> StoreResult<u64> {
        let counter = self.journal_dir(name).join(LAST_SEQ);
        let last = match self.read_json::<u64>(&counter) {
            Ok(last) => last.unwrap_or(0),
            // Rebuilt from the journal's own files (the next write repairs the counter).
            Err(StoreError::Corrupt { .. }) => self.last_event_seq(name)?,
            Err(err) => return Err(err),
        };
        let mut seq = last + 1;
        loop {
            let path = self.event_path(name, seq);
            match path.try_exists() {
                Ok(false) => return Ok(seq),
                Ok(true) => seq += 1,
                Err(err) => return Err(self.io_error("stat", &path, err)),
            }
        }
    }

    /// The highest seq among the journal's event files (0 if none): one listing, only when
    /// `last-seq` is damaged.
    fn last_event_seq(&self, name: &str) -> StoreResult<u64> {
        Ok(self
            .json_stems(&self.journal_dir(name))?
            .iter()
            .filter_map(|stem| stem.parse::<u64>().ok())
            .max()
            .unwrap_or(0))
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
        let next = match self.change_marker() {
            Ok(ChangeMarker(current)) => current + 1,
            // A damaged marker is replaced by one no reader can have seen: the time in ms.
            Err(StoreError::Corrupt { .. }) => {
                u64::try_from(Timestamp::now().millis()).unwrap_or(u64::MAX)
            }
            Err(err) => return Err(err),
        };
        self.write_json(&self.path(&[CHANGE_MARKER]), &next)
    }
}

/// The stand-in for a journal file that does not read back: in its place (seq from the file
/// name), saying where and what is wrong, so that `history` and `describe` still show the rest.
fn damaged_event(path: &Path, stem: &str, err: &StoreError) -> Event {
    let at = fs::metadata(path)
        .and_then(|m| m.modified())
        .ok()
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .and_then(|d| i64::try_from(d.as_millis()).ok())
        .map_or(rules::RELEASED_EXPIRY, Timestamp::from_millis);
    Event {
        seq: stem.parse().unwrap_or(0),
        at,
        actor: "drctl-store".to_string(),
        reason: DAMAGED_EVENT_REASON.to_string(),
        message: err.to_string(),
        operation_id: None,
        step: None,
        data: None,
    }
}

fn check_fence_names(fence: &Fence) -> StoreResult<()> {
    rules::check_name("lease", &fence.lease)
}

#[async_trait]
impl Store for FileStore {
    fn url(&self) -> String {
        self.layout.url()
    }

    async fn init(&self) -> StoreResult<InitOutcome> {
        self.run(|layout| {
            fs::create_dir_all(&layout.root)
                .map_err(|err| layout.io_error("create", &layout.root, err))?;
            let _lock = layout.lock_exclusive()?;
            let created = layout.ensure()?;
            layout.sweep_temp_files()?;
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
            let _lock = layout.lock_for_read()?;
            match layout.spec(&name)? {
                Some(record) => layout.with_status(record).map(Some),
                None => Ok(None),
            }
        })
        .await
    }

    async fn list(&self) -> StoreResult<Vec<FailoverGroup>> {
        let listing = self.list_readable().await?;
        for damaged in &listing.damaged {
            tracing::warn!(group = %damaged.name, key = %damaged.key, reason = %damaged.reason, "left out of the list: a record of this group is damaged (`drctl describe` shows it, `drctl delete` removes it)");
        }
        Ok(listing.groups)
    }

    async fn list_readable(&self) -> StoreResult<Listing> {
        self.run(|layout| {
            let _lock = layout.lock_for_read()?;
            let mut listing = Listing::default();
            for name in layout.json_stems(&layout.path(&["groups"]))? {
                if rules::check_name("failovergroup", &name).is_err() {
                    continue; // not ours (an editor's backup file, say)
                }
                match layout.inspect(&name)? {
                    Some(Inspection {
                        doc: Some(doc),
                        damaged,
                    }) if damaged.is_empty() => listing.groups.push(doc),
                    Some(inspection) => listing.damaged.extend(inspection.damaged),
                    None => {}
                }
            }
            Ok(listing)
        })
        .await
    }

    async fn inspect(&self, name: &str) -> StoreResult<Option<Inspection>> {
        rules::check_name("failovergroup", name)?;
        let name = name.to_string();
        self.run(move |layout| {
            let _lock = layout.lock_for_read()?;
            layout.inspect(&name)
        })
        .await
    }

    async fn create(&self, doc: &FailoverGroup) -> StoreResult<FailoverGroup> {
        let name = doc.metadata.name.clone();
        rules::check_name("failovergroup", &name)?;
        let record = rules::created_record(doc);
        self.run(move |layout| {
            let _lock = layout.lock_for_write()?;
            layout.create(&name, &record)?;
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
            layout.update(&name, &doc, &expected)
        })
        .await
    }

    async fn delete(&self, name: &str, expected_resource_version: Option<&str>) -> StoreResult<()> {
        rules::check_name("failovergroup", name)?;
        let name = name.to_string();
        let expected = expected_resource_version.map(str::to_string);
        self.run(move |layout| {
            let _lock = layout.lock_for_write()?;
            layout.delete(&name, expected.as_deref())
        })
        .await
    }

    async fn create_with_event(
        &self,
        doc: &FailoverGroup,
        event: &Event,
    ) -> StoreResult<FailoverGroup> {
        let name = doc.metadata.name.clone();
        rules::check_name("failovergroup", &name)?;
        let record = rules::created_record(doc);
        let mut event = event.clone();
        self.run(move |layout| {
            let _lock = layout.lock_for_write()?;
            let seq = layout.next_seq(&name)?;
            layout.create(&name, &record)?;
            layout.write_event_or_undo(&name, seq, &mut event, None)?;
            Ok(record)
        })
        .await
    }

    async fn update_with_event(
        &self,
        doc: &FailoverGroup,
        expected_resource_version: &str,
        event: &Event,
    ) -> StoreResult<FailoverGroup> {
        let name = doc.metadata.name.clone();
        rules::check_name("failovergroup", &name)?;
        let doc = doc.clone();
        let expected = expected_resource_version.to_string();
        let mut event = event.clone();
        self.run(move |layout| {
            let _lock = layout.lock_for_write()?;
            let seq = layout.next_seq(&name)?;
            let previous = layout.spec(&name)?;
            let record = layout.update(&name, &doc, &expected)?;
            layout.write_event_or_undo(&name, seq, &mut event, previous.as_ref())?;
            Ok(record)
        })
        .await
    }

    async fn delete_with_event(
        &self,
        name: &str,
        expected_resource_version: Option<&str>,
        event: &Event,
    ) -> StoreResult<()> {
        rules::check_name("failovergroup", name)?;
        let name = name.to_string();
        let expected = expected_resource_version.map(str::to_string);
        let mut event = event.clone();
        self.run(move |layout| {
            let _lock = layout.lock_for_write()?;
            // The seq first: a journal that cannot take the event stops the delete.
            let seq = layout.next_seq(&name)?;
            layout.delete(&name, expected.as_deref())?;
            event.seq = seq;
            layout.write_event(&name, seq, &event)
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
            layout.append(&name, &mut event)
        })
        .await
    }

    async fn events(&self, name: &str) -> StoreResult<Vec<Event>> {
        rules::check_name("failovergroup", name)?;
        let name = name.to_string();
        self.run(move |layout| {
            let _lock = layout.lock_for_read()?;
            let dir = layout.journal_dir(&name);
            let mut events = Vec::new();
            for stem in layout.json_stems(&dir)? {
                let path = dir.join(format!("{stem}.json"));
                match layout.read_json::<Event>(&path) {
                    Ok(Some(event)) => events.push(event),
                    Ok(None) => {}
                    Err(err @ StoreError::Corrupt { .. }) => {
                        events.push(damaged_event(&path, &stem, &err))
                    }
                    Err(err) => return Err(err),
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
            let current = layout.lease_or_stand_in(&lease, now)?;
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
            // A damaged lease is no longer ours: the holder stops acting.
            let current = layout.lease(&ours.name).unwrap_or(None);
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
            let current = layout.lease(&ours.name).unwrap_or(None);
            match rules::released(&ours, current.as_ref()) {
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
            let _lock = layout.lock_for_read()?;
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

    async fn approve_with_event(
        &self,
        name: &str,
        approval: &ApprovalRecord,
        event: &Event,
    ) -> StoreResult<Approval> {
        rules::check_name("failovergroup", name)?;
        rules::check_name("operation", &approval.operation_id)?;
        let name = name.to_string();
        let approval = approval.clone();
        let mut event = event.clone();
        self.run(move |layout| {
            let _lock = layout.lock_for_write()?;
            if layout.spec(&name)?.is_none() {
                return Err(rules::not_found(&name));
            }
            let path = layout.approval_path(&name, &approval.operation_id);
            if let Some(earlier) = layout.read_json::<ApprovalRecord>(&path)? {
                return Ok(Approval::AlreadyApproved(earlier));
            }
            // The seq first: a journal that cannot take the event stops the approval.
            let seq = layout.next_seq(&name)?;
            layout.bump_change_marker()?;
            layout.write_json(&path, &approval)?;
            event.seq = seq;
            if let Err(err) = layout.write_event(&name, seq, &event) {
                if let Err(undo) = layout.remove_file(&path) {
                    tracing::error!(group = %name, error = %undo, "could not undo an approval whose journal event failed");
                }
                return Err(err);
            }
            Ok(Approval::Recorded)
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
            let _lock = layout.lock_for_read()?;
            layout.read_json(&path)
        })
        .await
    }

    async fn change_marker(&self) -> StoreResult<ChangeMarker> {
        self.run(|layout| {
            let _lock = layout.lock_for_read()?;
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

    fn assert_not_a_store<T: std::fmt::Debug>(result: StoreResult<T>, root: &Path) {
        match result {
            Err(err @ StoreError::NotInitialized { .. }) => {
                let message = err.to_string();
                assert!(
                    message.contains(&root.display().to_string()),
                    "path not named: {message}"
                );
                assert!(message.contains("drctl"), "{message}");
                assert!(message.contains("init"), "no hint: {message}");
            }
            other => panic!("expected NotInitialized, got {other:?}"),
        }
    }

    /// A typo'd path (missing, an existing directory that is not a store, a file) must not
    /// read as an empty store, nor be turned into one by the first write.
    #[tokio::test]
    async fn every_operation_but_init_on_a_directory_that_is_not_a_store_is_not_initialized() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("store");
        let foreign = dir.path().join("someone-elses");
        fs::create_dir(&foreign).unwrap();
        fs::write(foreign.join("notes.txt"), b"mine").unwrap();
        let a_file = dir.path().join("passwd");
        fs::write(&a_file, b"root:x:0:0\n").unwrap();
        for root in [&missing, &foreign, &a_file] {
            let store = FileStore::new(root);
            assert_not_a_store(store.get("web").await, root);
            assert_not_a_store(store.list().await, root);
            assert_not_a_store(store.events("web").await, root);
            assert_not_a_store(store.get_lease("controller").await, root);
            assert_not_a_store(store.approval("web", "op-1").await, root);
            assert_not_a_store(store.change_marker().await, root);
            assert_not_a_store(store.create(&testkit::group("web")).await, root);
            assert_not_a_store(
                store
                    .append_event("web", &testkit::event("SpecApplied"), None)
                    .await,
                root,
            );
            assert_not_a_store(
                store
                    .acquire_lease("controller", "a", testkit::T0, 15_000)
                    .await,
                root,
            );
        }
        assert!(!missing.exists(), "an operation created the store");
        let entries: Vec<_> = fs::read_dir(&foreign).unwrap().flatten().collect();
        assert_eq!(entries.len(), 1, "an operation wrote into {foreign:?}");
        assert_eq!(fs::read(&a_file).unwrap(), b"root:x:0:0\n");
    }

    #[tokio::test]
    async fn a_store_of_an_unknown_format_is_refused_for_reads_writes_and_init() {
        let (store, dir) = fixture().await;
        let root = dir.path().join("store");
        store.create(&testkit::group("web")).await.unwrap();
        fs::write(root.join(MARKER), br#"{"format": 99}"#).unwrap();
        let refused = |result: StoreResult<()>| match result {
            Err(err @ StoreError::Corrupt { .. }) => {
                let message = err.to_string();
                assert!(message.contains("format 99"), "{message}");
                assert!(message.contains(MARKER), "{message}");
            }
            other => panic!("expected the format refused, got {other:?}"),
        };
        refused(store.get("web").await.map(drop));
        refused(store.list().await.map(drop));
        refused(store.delete("web", None).await);
        refused(store.init().await.map(drop));
        assert_eq!(
            fs::read(root.join(MARKER)).unwrap(),
            br#"{"format": 99}"#,
            "the marker was rewritten"
        );
    }

    /// Reads open the lock file read-only and never create it: a store on a read-only
    /// directory reads. (As root, permissions do not bind; the lock file's absence shows
    /// that reads do not need to write.)
    #[tokio::test]
    async fn a_read_only_store_can_be_read_and_reads_write_nothing() {
        use std::os::unix::fs::PermissionsExt;
        let (store, dir) = fixture().await;
        let root = dir.path().join("store");
        store.create(&testkit::group("web")).await.unwrap();
        fs::remove_file(root.join(LOCK)).unwrap();
        assert!(store.get("web").await.unwrap().is_some());
        assert_eq!(store.list().await.unwrap().len(), 1);
        assert!(!root.join(LOCK).exists(), "a read created the lock file");

        store.init().await.unwrap(); // the lock file again
        let mode = |path: &Path, mode: u32| {
            fs::set_permissions(path, fs::Permissions::from_mode(mode)).unwrap()
        };
        mode(&root.join(LOCK), 0o444);
        mode(&root, 0o555);
        let reads = async {
            (
                store.get("web").await,
                store.list().await,
                store.events("web").await,
                store.change_marker().await,
            )
        };
        let (get, list, events, marker) = reads.await;
        let write = store.create(&testkit::group("db")).await;
        mode(&root, 0o755);
        mode(&root.join(LOCK), 0o644);
        assert!(get.unwrap().is_some());
        assert_eq!(list.unwrap().len(), 1);
        events.unwrap();
        marker.unwrap();
        // Only a non-root user is refused the write; root may write anyway.
        if let Err(err) = write {
            assert!(err.to_string().contains("lock"), "{err}");
        }
    }

    #[tokio::test]
    async fn temp_files_a_killed_writer_left_are_removed_by_the_next_write() {
        let (_, dir) = fixture().await;
        let root = dir.path().join("store");
        fs::write(root.join("tmp/4242-0.tmp"), b"{ half a rec").unwrap();
        let store = FileStore::new(&root);
        store.get("web").await.unwrap();
        assert!(root.join("tmp/4242-0.tmp").exists(), "a read removed it");
        store.create(&testkit::group("web")).await.unwrap();
        assert_eq!(fs::read_dir(root.join("tmp")).unwrap().count(), 0);
    }

    #[tokio::test]
    async fn a_damaged_group_or_status_is_reported_and_the_others_still_list() {
        let (store, dir) = fixture().await;
        let root = dir.path().join("store");
        for name in ["a-ok", "b-bad-spec", "c-bad-status", "d-ok"] {
            store.create(&testkit::group(name)).await.unwrap();
        }
        fs::write(root.join("groups/b-bad-spec.json"), b"{ not json").unwrap();
        fs::write(root.join("status/c-bad-status.json"), b"[1, 2").unwrap();
        let names = |groups: &[FailoverGroup]| {
            groups
                .iter()
                .map(|g| g.metadata.name.clone())
                .collect::<Vec<_>>()
        };
        assert_eq!(names(&store.list().await.unwrap()), ["a-ok", "d-ok"]);
        let listing = store.list_readable().await.unwrap();
        assert_eq!(names(&listing.groups), ["a-ok", "d-ok"]);
        let damaged: Vec<(&str, bool)> = listing
            .damaged
            .iter()
            .map(|d| {
                (
                    d.name.as_str(),
                    d.key.ends_with(".json") && !d.reason.is_empty(),
                )
            })
            .collect();
        assert_eq!(damaged, [("b-bad-spec", true), ("c-bad-status", true)]);
        assert!(listing.damaged[1].key.contains("status/c-bad-status.json"));

        let bad_status = store.inspect("c-bad-status").await.unwrap().unwrap();
        assert!(bad_status.doc.as_ref().is_some_and(|d| d.status.is_none()));
        assert_eq!(bad_status.damaged.len(), 1);
        let bad_spec = store.inspect("b-bad-spec").await.unwrap().unwrap();
        assert!(bad_spec.doc.is_none());
        assert!(bad_spec.damaged[0].key.ends_with("groups/b-bad-spec.json"));
        assert_eq!(store.inspect("nobody").await.unwrap(), None);

        store.delete("b-bad-spec", None).await.unwrap();
        store.delete("c-bad-status", None).await.unwrap();
        assert!(store.list_readable().await.unwrap().damaged.is_empty());
    }

    #[tokio::test]
    async fn a_damaged_journal_event_reads_in_its_place_and_a_damaged_last_seq_is_rebuilt() {
        let (store, dir) = fixture().await;
        let root = dir.path().join("store");
        let e = testkit::event("SpecApplied");
        for _ in 0..3 {
            store.append_event("web", &e, None).await.unwrap();
        }
        fs::write(root.join("journal/web/00000000000000000002.json"), b"{").unwrap();
        fs::write(root.join("journal/web/last-seq"), b"garbage").unwrap();
        assert_eq!(store.append_event("web", &e, None).await.unwrap(), 4);
        let events = store.events("web").await.unwrap();
        let seen: Vec<(u64, &str)> = events.iter().map(|e| (e.seq, e.reason.as_str())).collect();
        assert_eq!(
            seen,
            [
                (1, "SpecApplied"),
                (2, DAMAGED_EVENT_REASON),
                (3, "SpecApplied"),
                (4, "SpecApplied")
            ]
        );
        assert!(events[1].message.contains("00000000000000000002.json"));
    }

    #[tokio::test]
    async fn a_damaged_lease_fences_its_holder_and_is_taken_over_at_a_higher_epoch() {
        let (store, dir) = fixture().await;
        store.create(&testkit::group("web")).await.unwrap();
        let old = store
            .acquire_lease("controller", "controller/a", testkit::T0, 15_000)
            .await
            .unwrap()
            .unwrap();
        let path = dir.path().join("store/leases/controller.json");
        fs::write(&path, b"{ \"holder\": ").unwrap();
        let status = testkit::status(drctl_schema::Phase::Converged, 1);
        assert!(matches!(
            store.write_status("web", &status, &old.fence()).await,
            Err(StoreError::Fenced { .. })
        ));
        assert!(matches!(
            store.renew_lease(&old, testkit::T0, 15_000).await,
            Err(StoreError::LeaseLost { .. })
        ));
        let new = store
            .acquire_lease("controller", "controller/b", testkit::T0, 15_000)
            .await
            .unwrap()
            .unwrap();
        assert!(new.epoch > old.epoch, "{new:?}");
        store
            .write_status("web", &status, &new.fence())
            .await
            .unwrap();
        assert!(matches!(
            store.write_status("web", &status, &old.fence()).await,
            Err(StoreError::Fenced { .. })
        ));
        assert!(
            path.with_extension("json.damaged").is_file(),
            "the evidence was lost"
        );
    }

    #[tokio::test]
    async fn spec_writes_with_events_are_journaled_in_write_order() {
        let (store, _dir) = fixture().await;
        testkit::spec_writes_with_events_are_journaled_in_write_order(store).await;
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
        a.init().await.unwrap();
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
        let (store, dir) = fixture().await;
        let root = dir.path().join("store");
        assert_eq!(store.change_marker().await, Ok(ChangeMarker(0)));
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
