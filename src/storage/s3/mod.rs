//! S3-compatible object storage (AWS S3, MinIO, Ceph RGW, Garage…) through `object_store`.
//! Objects are written by multipart upload and become visible under their key only when
//! the upload completes, which gives the same guarantee as the local folder's rename.

mod download;
mod object_lock;
mod runtime;
mod signed;
mod upload;

use std::io::{self, Read};
use std::sync::Arc;

use futures_util::TryStreamExt;
use object_store::aws::AmazonS3Builder;
use object_store::path::Path;
use object_store::{ClientOptions, ObjectStore, ObjectStoreExt, PutPayload, RetryConfig};

use super::{validate_key, PendingObject, Storage, StoredObject};
use crate::config::{ObjectLock, S3Settings};
use runtime::wait;
use signed::SignedClient;

pub struct S3Storage {
    store: Arc<dyn ObjectStore>,
    /// For the Object Lock requests object_store cannot make.
    signed: Arc<SignedClient>,
    /// Retention set on every object written (`object_lock`), checked before any delete.
    lock: Option<ObjectLock>,
    /// `bucket/prefix` for messages; never the credentials.
    label: String,
    prefix: String,
    part_size: usize,
}

impl S3Storage {
    pub fn new(settings: &S3Settings) -> io::Result<S3Storage> {
        super::install_tls_provider();
        let options = ClientOptions::new()
            .with_connect_timeout(std::time::Duration::from_secs(10))
            // A part of 512 MiB over a slow link takes a while; a stuck request not forever.
            .with_timeout(std::time::Duration::from_secs(600))
            // Set here too (the builder sets it for its own client): the Object Lock
            // requests share these options.
            .with_allow_http(
                settings
                    .endpoint
                    .as_deref()
                    .is_some_and(|e| e.to_ascii_lowercase().starts_with("http://")),
            );
        let mut builder = AmazonS3Builder::new()
            .with_bucket_name(&settings.bucket)
            .with_region(&settings.region)
            .with_access_key_id(&settings.access_key_id)
            .with_secret_access_key(&settings.secret_access_key)
            .with_virtual_hosted_style_request(!settings.path_style)
            .with_unsigned_payload(settings.unsigned_payload)
            .with_retry(RetryConfig {
                max_retries: 5,
                ..RetryConfig::default()
            })
            .with_client_options(options.clone());
        if let Some(endpoint) = &settings.endpoint {
            builder = builder
                .with_endpoint(endpoint)
                .with_allow_http(endpoint.to_ascii_lowercase().starts_with("http://"));
        }
        if let Some(token) = &settings.session_token {
            builder = builder.with_token(token);
        }
        let store = builder
            .build()
            .map_err(|e| io::Error::other(format!("S3 settings are not usable: {e}")))?;
        let where_ = settings.endpoint.as_deref().unwrap_or("AWS");
        let label = if settings.prefix.is_empty() {
            format!("S3 bucket {} at {where_}", settings.bucket)
        } else {
            format!(
                "S3 bucket {}/{} at {where_}",
                settings.bucket, settings.prefix
            )
        };
        Ok(S3Storage {
            store: Arc::new(store),
            signed: Arc::new(SignedClient::new(settings, &options)?),
            lock: None,
            label,
            prefix: settings.prefix.clone(),
            part_size: settings.part_size,
        })
    }

    /// Sets Object Lock retention on every object this target writes, after checking that
    /// the bucket can hold it (see `object_lock.rs`).
    pub fn with_object_lock(mut self, lock: ObjectLock) -> io::Result<S3Storage> {
        let (signed, label) = (self.signed.clone(), self.label.clone());
        wait(async move { object_lock::check_bucket(&signed, &label).await })??;
        self.lock = Some(lock);
        Ok(self)
    }

    /// Refuses to touch `key` while its current version is locked.
    fn refuse_if_locked(&self, key: &str, doing: &str) -> io::Result<()> {
        if self.lock.is_none() {
            return Ok(());
        }
        match self.retain_until(key)? {
            Some(until) if until > chrono::Utc::now() => Err(io::Error::new(
                io::ErrorKind::PermissionDenied,
                format!(
                    "{key} in {} is locked until {} (S3 Object Lock): not {doing}",
                    self.label,
                    until.format("%Y-%m-%d %H:%M UTC")
                ),
            )),
            _ => Ok(()),
        }
    }

    fn path_of(&self, key: &str) -> io::Result<Path> {
        validate_key(key)?;
        Ok(if self.prefix.is_empty() {
            Path::from(key)
        } else {
            Path::from(format!("{}/{key}", self.prefix))
        })
    }

    /// The Coffer key of an object path (the prefix taken off).
    fn key_of(&self, path: &Path) -> Option<String> {
        let full = path.as_ref();
        if self.prefix.is_empty() {
            return Some(full.to_string());
        }
        full.strip_prefix(&self.prefix)?
            .strip_prefix('/')
            .map(str::to_string)
    }
}

/// object_store's errors as io errors; "not found" stays recognisable.
pub(super) fn to_io(e: object_store::Error) -> io::Error {
    match e {
        object_store::Error::NotFound { .. } => {
            io::Error::new(io::ErrorKind::NotFound, e.to_string())
        }
        other => io::Error::other(other.to_string()),
    }
}

impl Storage for S3Storage {
    fn describe(&self) -> String {
        self.label.clone()
    }

    fn create(&self, key: &str) -> io::Result<Box<dyn PendingObject>> {
        let path = self.path_of(key)?;
        self.refuse_if_locked(key, "replaced")?;
        let lock = self.lock.map(|lock| upload::Locking {
            client: self.signed.clone(),
            lock,
        });
        Ok(Box::new(upload::S3Upload::new(
            self.store.clone(),
            path,
            self.part_size,
            lock,
        )))
    }

    fn open(&self, key: &str) -> io::Result<Box<dyn Read + Send>> {
        let (store, path) = (self.store.clone(), self.path_of(key)?);
        let result = wait(async move { store.get(&path).await })?.map_err(to_io)?;
        Ok(Box::new(download::S3Reader::new(result)))
    }

    fn size(&self, key: &str) -> io::Result<Option<u64>> {
        let (store, path) = (self.store.clone(), self.path_of(key)?);
        match wait(async move { store.head(&path).await })? {
            Ok(meta) => Ok(Some(meta.size)),
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(to_io(e)),
        }
    }

    fn delete(&self, key: &str) -> io::Result<()> {
        let (store, path) = (self.store.clone(), self.path_of(key)?);
        // Without this, S3 would accept the delete as a delete marker over the locked
        // version: the object would look gone while the bucket still bills for it.
        self.refuse_if_locked(key, "deleted")?;
        match wait(async move { store.delete(&path).await })? {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(to_io(e)),
        }
    }

    fn list(&self, prefix: &str) -> io::Result<Vec<StoredObject>> {
        let store = self.store.clone();
        let full = match (self.prefix.is_empty(), prefix.trim_matches('/')) {
            (true, "") => None,
            (true, p) => Some(Path::from(p)),
            (false, "") => Some(Path::from(self.prefix.as_str())),
            (false, p) => Some(Path::from(format!("{}/{p}", self.prefix))),
        };
        let metas = wait(async move { store.list(full.as_ref()).try_collect::<Vec<_>>().await })?
            .map_err(to_io)?;
        Ok(metas
            .into_iter()
            .filter_map(|meta| {
                let key = self.key_of(&meta.location)?;
                Some(StoredObject {
                    key,
                    size: meta.size,
                })
            })
            .collect())
    }

    /// Asked only of a target that locks: another's objects are not Coffer's to hold.
    fn retain_until(&self, key: &str) -> io::Result<Option<chrono::DateTime<chrono::Utc>>> {
        if self.lock.is_none() {
            return Ok(None);
        }
        let (signed, path) = (self.signed.clone(), self.path_of(key)?);
        wait(async move { object_lock::retain_until(&signed, &path).await })?
    }

    /// Nothing to sweep: an unfinished upload is never an object (see `upload.rs`).
    fn sweep_abandoned(&self, _older_than: std::time::Duration) -> io::Result<usize> {
        Ok(0)
    }

    /// Writes and removes a small probe object: proves the bucket exists and the credentials
    /// may write, which is what a backup needs.
    fn check(&self) -> io::Result<()> {
        let key = format!(".coffer-check-{}", uuid::Uuid::new_v4().simple());
        let (store, path) = (self.store.clone(), self.path_of(&key)?);
        let probe = path.clone();
        wait(async move { store.put(&probe, PutPayload::from_static(b"coffer")).await })?
            .map_err(to_io)?;
        // Straight to S3, not through `delete`: a bucket's default retention may lock even
        // the probe, and a delete marker is all S3 makes of this delete then.
        let store = self.store.clone();
        wait(async move { store.delete(&path).await })?.map_err(to_io)
    }
}
