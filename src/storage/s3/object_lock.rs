//! S3 Object Lock on a target with `object_lock`: each object version Coffer writes gets a
//! retention date (PutObjectRetention on the exact version the upload created), after which
//! S3 itself refuses to delete or overwrite that version until the date — whoever asks, with
//! whatever credentials (governance: unless they may bypass it; compliance: nobody).
//!
//! object_store sends no `x-amz-object-lock-*` headers on uploads (its attributes are content
//! headers and user metadata only), hence the retention request right after the upload
//! completes: a failure there fails the commit, so no backup is recorded unlocked.
//! The bucket must have been created with Object Lock enabled; `check_bucket` asks at
//! start-up, so a target that cannot keep the promise is refused before any backup.

use std::io;

use chrono::{DateTime, Duration, SecondsFormat, Utc};
use object_store::path::Path;

use super::signed::{xml_value, SignedClient};
use crate::config::ObjectLock;

/// Refuses a bucket without Object Lock (S3 cannot add it to a bucket created without it
/// on every implementation). Transport failures are only warned about: the bucket may be
/// unreachable for a moment, and every backup's retention request will ask again.
pub(super) async fn check_bucket(client: &SignedClient, label: &str) -> io::Result<()> {
    let url = client.bucket_url("?object-lock");
    let answer = match client.send(http::Method::GET, &url, &[], Vec::new()).await {
        Ok(answer) => answer,
        Err(e) => {
            tracing::warn!("cannot check Object Lock of {label} now: {e}");
            return Ok(());
        }
    };
    let enabled = answer.status == 200
        && xml_value(&answer.body, "ObjectLockEnabled").is_some_and(|v| v == "Enabled");
    if enabled {
        return Ok(());
    }
    let why = match (answer.status, answer.code()) {
        (404, "ObjectLockConfigurationNotFoundError") | (200, _) => {
            "the bucket does not have Object Lock enabled".to_string()
        }
        (403, _) => "the credentials may not read its Object Lock configuration (s3:GetBucketObjectLockConfiguration)".to_string(),
        (status, code) => format!("asking its Object Lock configuration gave HTTP {status} {code}"),
    };
    Err(io::Error::new(
        io::ErrorKind::InvalidInput,
        format!(
            "object_lock is set but {label} cannot lock objects: {why}. Create the bucket with \
             Object Lock enabled (aws s3api create-bucket --object-lock-enabled-for-bucket), \
             or remove object_lock and object_lock_days from this target"
        ),
    ))
}

/// Locks the version `version` of `path` (the current one when S3 gave no version id) until
/// `lock.days` from now; returns the date set.
pub(super) async fn lock_version(
    client: &SignedClient,
    path: &Path,
    version: Option<&str>,
    lock: ObjectLock,
) -> io::Result<DateTime<Utc>> {
    let until = Utc::now() + Duration::days(i64::from(lock.days));
    // Whole seconds, as S3 and the catalogue keep it.
    let until = DateTime::from_timestamp(until.timestamp(), 0).unwrap_or(until);
    let body = format!(
        "<Retention xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><Mode>{}</Mode><RetainUntilDate>{}</RetainUntilDate></Retention>",
        lock.mode.as_s3(),
        until.to_rfc3339_opts(SecondsFormat::Secs, true)
    );
    let query = match version {
        Some(v) => format!(
            "?retention&versionId={}",
            percent_encoding::utf8_percent_encode(v, percent_encoding::NON_ALPHANUMERIC)
        ),
        None => "?retention".to_string(),
    };
    let url = client.object_url(path, &query);
    // S3 wants a checksum of the body on every Object Lock request.
    let md5 = {
        use md5::Digest;
        base64::Engine::encode(
            &base64::engine::general_purpose::STANDARD,
            md5::Md5::digest(body.as_bytes()),
        )
    };
    let answer = client
        .send(
            http::Method::PUT,
            &url,
            &[
                ("content-md5", md5),
                ("content-type", "application/xml".into()),
            ],
            body.into_bytes(),
        )
        .await?;
    if answer.status != 200 {
        return Err(io::Error::other(format!(
            "setting Object Lock retention on {path}: HTTP {} {}",
            answer.status,
            answer.code()
        )));
    }
    Ok(until)
}

/// The retention date of the current version of `path` (a HEAD request: S3 names it in
/// `x-amz-object-lock-retain-until-date`), `None` when the object is missing or unlocked.
pub(super) async fn retain_until(
    client: &SignedClient,
    path: &Path,
) -> io::Result<Option<DateTime<Utc>>> {
    let url = client.object_url(path, "");
    let answer = client
        .send(http::Method::HEAD, &url, &[], Vec::new())
        .await?;
    match answer.status {
        200 => {}
        404 => return Ok(None),
        status => {
            return Err(io::Error::other(format!(
                "reading the Object Lock retention of {path}: HTTP {status}"
            )))
        }
    }
    let Some(value) = answer.headers.get("x-amz-object-lock-retain-until-date") else {
        return Ok(None);
    };
    let text = value.to_str().unwrap_or_default();
    DateTime::parse_from_rfc3339(text)
        .map(|t| Some(t.with_timezone(&Utc)))
        .map_err(|e| {
            io::Error::other(format!(
                "{path}: S3 gave an unreadable retention date `{text}`: {e}"
            ))
        })
}
