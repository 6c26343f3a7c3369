//! S3-compatible object storage (AWS S3, MinIO, Ceph RGW, Garage…) through `object_store`.
//! Objects are written by multipart upload and become visible under their key only when
//! the upload completes, which gives the same guarantee as the local folder's rename.

mod download;
mod runtime;
mod upload;

use std::io::{self, Read};
use std::sync::Arc;

use futures_util::TryStreamExt;
use object_store::aws::AmazonS3Builder;
use object_store::path::Path;
use object_store::{ClientOptions, ObjectStore, ObjectStoreExt, PutPayload, RetryConfig};

use super::{validate_key, PendingObject, Storage, StoredObject};
use crate::config::S3Settings;
use runtime::wait;

pub struct S3Storage {
    store: Arc<dyn ObjectStore>,
    /// `bucket/prefix` for messages; never the credentials.
    label: String,
    prefix: String,
    part_size: usize,
}

impl S3Storage {
    pub fn new(settings: &S3Settings) -> io::Result<S3Storage> {
        super::install_tls_provider();
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
            .with_client_options(
                ClientOptions::new()
                    .with_connect_timeout(std::time::Duration::from_secs(10))
                    // A part of 512 MiB over a slow link takes a while; a stuck request not forever.
                    .with_timeout(std::time::Duration::from_secs(600)),
            );
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
            label,
            prefix: settings.prefix.clone(),
            part_size: settings.part_size,
        })
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
        Ok(Box::new(upload::S3Upload::new(
            self.store.clone(),
            path,
            self.part_size,
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
        self.delete(&key)
    }
}
