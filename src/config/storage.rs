//! `[storage]`: where archives are written (the primary target) and where each backup is
//! copied afterwards (`[[storage.replicas]]`, for 3-2-1). Every target is a local folder or
//! an S3-compatible bucket (AWS S3, MinIO, Ceph RGW, Garage…).
//!
//! ```toml
//! [storage]                      # the primary target: a local folder by default
//! path = "./backups"
//!
//! [[storage.replicas]]
//! name = "offsite"
//! kind = "s3"
//! endpoint = "https://s3.eu-central-1.amazonaws.com"   # omit for AWS's own endpoint
//! region = "eu-central-1"
//! bucket = "acme-backups"
//! prefix = "coffer/"
//! path_style = false             # true for MinIO, Ceph and most self-hosted stores
//! access_key_id = "AKIA…"        # or access_key_id_env; default: $AWS_ACCESS_KEY_ID
//! secret_access_key_env = "OFFSITE_SECRET"   # or secret_access_key_file; default: $AWS_SECRET_ACCESS_KEY
//! object_lock = "compliance"     # every object written gets S3 Object Lock retention…
//! object_lock_days = 90          # …until this many days after it was written
//!
//! [[storage.replicas]]
//! name = "usb"
//! path = "/mnt/usb/coffer"
//! append_only = true             # a write-once folder: Coffer never deletes nor replaces a backup there
//! ```
//!
//! Object Lock days are a property of the target, not of a schedule's retention policy: one
//! bucket holds the backups of every schedule, and a lock is set once, when the object is
//! written, and can never be shortened (compliance) — so it is the target's promise.

use std::path::PathBuf;

use serde::Deserialize;

use super::EnvLookup;

/// The validated `[storage]` section.
#[derive(Debug, Clone)]
pub struct StorageSettings {
    pub primary: StorageTarget,
    pub replicas: Vec<StorageTarget>,
}

impl StorageSettings {
    /// Every target, the primary first.
    pub fn targets(&self) -> impl Iterator<Item = &StorageTarget> {
        std::iter::once(&self.primary).chain(&self.replicas)
    }

    pub fn target(&self, name: &str) -> Option<&StorageTarget> {
        self.targets().find(|t| t.name == name)
    }
}

#[derive(Debug, Clone)]
pub struct StorageTarget {
    /// Names the target in copies, messages and `coffer catalog rebuild --storage NAME`.
    pub name: String,
    pub location: StorageLocation,
    /// What keeps Coffer itself (and whoever holds its credentials) from removing a backup.
    pub protection: Protection,
}

/// How a target protects what is written to it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Protection {
    #[default]
    None,
    /// A local folder Coffer only adds to: deletes and overwrites are refused (`append_only`).
    AppendOnly,
    /// An S3 bucket with Object Lock: every object gets a retention date when written.
    ObjectLock(ObjectLock),
}

/// S3 Object Lock retention set on every object a target writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ObjectLock {
    pub mode: LockMode,
    /// The object stays undeletable this many days after it was written.
    pub days: u32,
}

/// S3's two retention modes: governance can be lifted by a user with
/// `s3:BypassGovernanceRetention`, compliance by nobody, the account's root user included.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LockMode {
    Governance,
    Compliance,
}

impl LockMode {
    /// The word S3's API uses.
    pub fn as_s3(self) -> &'static str {
        match self {
            LockMode::Governance => "GOVERNANCE",
            LockMode::Compliance => "COMPLIANCE",
        }
    }
}

#[derive(Debug, Clone)]
pub enum StorageLocation {
    Local(PathBuf),
    S3(S3Settings),
}

#[derive(Clone)]
pub struct S3Settings {
    /// `None`: AWS's endpoint for the region.
    pub endpoint: Option<String>,
    pub region: String,
    pub bucket: String,
    /// Prepended to every key (`coffer/` → `coffer/2026/11/<id>.tar.gz.enc`); may be empty.
    pub prefix: String,
    pub path_style: bool,
    pub access_key_id: String,
    /// Never logged or shown (`Debug` hides it).
    pub secret_access_key: String,
    pub session_token: Option<String>,
    /// Bytes per multipart part: memory per upload is about this × (parts in flight + 1).
    pub part_size: usize,
    /// Sign requests without hashing their bodies (`UNSIGNED-PAYLOAD`): saves a SHA-256 pass
    /// over every uploaded byte on both ends. By default on over HTTPS, where TLS already
    /// guards the bytes in transit (as the AWS CLI does), off over plain HTTP; either way the
    /// archive's own SHA-256 (on the record, checked by every verification and restore)
    /// and its AES-GCM tags cover its content end to end.
    pub unsigned_payload: bool,
}

impl std::fmt::Debug for S3Settings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("S3Settings")
            .field("endpoint", &self.endpoint)
            .field("region", &self.region)
            .field("bucket", &self.bucket)
            .field("prefix", &self.prefix)
            .field("path_style", &self.path_style)
            .field("access_key_id", &self.access_key_id)
            .field("secret_access_key", &"<hidden>")
            .field("part_size", &self.part_size)
            .field("unsigned_payload", &self.unsigned_payload)
            .finish()
    }
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub(super) enum StorageKind {
    #[default]
    Local,
    S3,
}

/// One target as written in the file; `[storage]` itself is one, with `replicas`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct TargetConfig {
    name: Option<String>,
    #[serde(default)]
    kind: StorageKind,
    pub(super) path: Option<PathBuf>,
    endpoint: Option<String>,
    region: Option<String>,
    bucket: Option<String>,
    prefix: Option<String>,
    path_style: Option<bool>,
    access_key_id: Option<String>,
    access_key_id_env: Option<String>,
    secret_access_key: Option<String>,
    secret_access_key_env: Option<String>,
    secret_access_key_file: Option<PathBuf>,
    part_size_mib: Option<u32>,
    unsigned_payload: Option<bool>,
    object_lock: Option<LockMode>,
    object_lock_days: Option<u32>,
    append_only: Option<bool>,
    #[serde(default)]
    replicas: Vec<TargetConfig>,
}

/// Longer than any backup needs to stay, short enough to catch a typo (36500 for 100 days).
const MAX_LOCK_DAYS: u32 = 3650;

const DEFAULT_PART_MIB: u32 = 16;

/// A config problem: the key (relative to the file) and what is wrong.
type Problem = (String, String);

impl TargetConfig {
    /// Checks the whole section. `COFFER_STORAGE_PATH` overrides the primary's folder.
    pub(super) fn validate(self, env: EnvLookup) -> Result<StorageSettings, Problem> {
        let mut replicas_config = Vec::new();
        let mut primary_config = self;
        std::mem::swap(&mut replicas_config, &mut primary_config.replicas);
        if let Some(path) = env("COFFER_STORAGE_PATH") {
            primary_config.path = Some(PathBuf::from(path));
        }
        let primary = primary_config.target("storage", "primary", env)?;
        let mut replicas: Vec<StorageTarget> = Vec::new();
        for (i, replica) in replicas_config.into_iter().enumerate() {
            let key = format!("storage.replicas[{i}]");
            if !replica.replicas.is_empty() {
                return Err((
                    format!("{key}.replicas"),
                    "a replica has no replicas".into(),
                ));
            }
            if replica.name.is_none() {
                return Err((format!("{key}.name"), "every replica needs a name".into()));
            }
            let target = replica.target(&key, "", env)?;
            if target.name == primary.name || replicas.iter().any(|r| r.name == target.name) {
                return Err((
                    format!("{key}.name"),
                    format!("`{}` names two storage targets", target.name),
                ));
            }
            replicas.push(target);
        }
        Ok(StorageSettings { primary, replicas })
    }

    fn target(
        self,
        key: &str,
        default_name: &str,
        env: EnvLookup,
    ) -> Result<StorageTarget, Problem> {
        let at = |field: &str| format!("{key}.{field}");
        let name = self
            .name
            .clone()
            .unwrap_or_else(|| default_name.to_string());
        crate::domain::check_plain_name(&name).map_err(|m| (at("name"), m))?;
        let protection = self.protection(key)?;
        let location = match self.kind {
            StorageKind::Local => {
                self.only_local(key)?;
                let path = match key {
                    "storage" => self.path.unwrap_or_else(|| PathBuf::from("./backups")),
                    _ => self
                        .path
                        .ok_or_else(|| (at("path"), "a local replica needs a path".into()))?,
                };
                if path.as_os_str().is_empty() {
                    return Err((at("path"), "is empty".into()));
                }
                StorageLocation::Local(path)
            }
            StorageKind::S3 => StorageLocation::S3(self.s3(key, env)?),
        };
        Ok(StorageTarget {
            name,
            location,
            protection,
        })
    }

    /// `append_only` (local folders) or `object_lock` + `object_lock_days` (S3 buckets).
    fn protection(&self, key: &str) -> Result<Protection, Problem> {
        let at = |field: &str| format!("{key}.{field}");
        match self.kind {
            StorageKind::Local => {
                if self.object_lock.is_some() || self.object_lock_days.is_some() {
                    let field = if self.object_lock.is_some() {
                        "object_lock"
                    } else {
                        "object_lock_days"
                    };
                    return Err((
                        at(field),
                        "S3 Object Lock applies to `kind = \"s3\"` targets; a local folder can be `append_only = true`".into(),
                    ));
                }
                Ok(match self.append_only {
                    Some(true) => Protection::AppendOnly,
                    _ => Protection::None,
                })
            }
            StorageKind::S3 => {
                if self.append_only.is_some() {
                    return Err((
                        at("append_only"),
                        "applies to local folders; an s3 target is made immutable with `object_lock` and `object_lock_days`".into(),
                    ));
                }
                match (self.object_lock, self.object_lock_days) {
                    (None, None) => Ok(Protection::None),
                    (Some(_), None) => Err((
                        at("object_lock_days"),
                        "`object_lock` needs `object_lock_days`: how many days each object stays locked".into(),
                    )),
                    (None, Some(_)) => Err((
                        at("object_lock"),
                        "`object_lock_days` needs `object_lock = \"governance\"` or `\"compliance\"`".into(),
                    )),
                    (Some(mode), Some(days)) if (1..=MAX_LOCK_DAYS).contains(&days) => {
                        Ok(Protection::ObjectLock(ObjectLock { mode, days }))
                    }
                    (Some(_), Some(days)) => Err((
                        at("object_lock_days"),
                        format!("{days} is out of range 1..={MAX_LOCK_DAYS}"),
                    )),
                }
            }
        }
    }

    fn only_local(&self, key: &str) -> Result<(), Problem> {
        let s3_fields = [
            ("endpoint", self.endpoint.is_some()),
            ("region", self.region.is_some()),
            ("bucket", self.bucket.is_some()),
            ("prefix", self.prefix.is_some()),
            ("path_style", self.path_style.is_some()),
            ("access_key_id", self.access_key_id.is_some()),
            ("access_key_id_env", self.access_key_id_env.is_some()),
            ("secret_access_key", self.secret_access_key.is_some()),
            (
                "secret_access_key_env",
                self.secret_access_key_env.is_some(),
            ),
            (
                "secret_access_key_file",
                self.secret_access_key_file.is_some(),
            ),
            ("part_size_mib", self.part_size_mib.is_some()),
            ("unsigned_payload", self.unsigned_payload.is_some()),
        ];
        match s3_fields.iter().find(|(_, set)| *set) {
            Some((field, _)) => Err((
                format!("{key}.{field}"),
                "applies to `kind = \"s3\"` targets, not to a local folder".into(),
            )),
            None => Ok(()),
        }
    }

    fn s3(self, key: &str, env: EnvLookup) -> Result<S3Settings, Problem> {
        let at = |field: &str| format!("{key}.{field}");
        if self.path.is_some() {
            return Err((at("path"), "an s3 target has a bucket, not a path".into()));
        }
        let bucket = self
            .bucket
            .filter(|b| !b.is_empty())
            .ok_or_else(|| (at("bucket"), "an s3 target needs a bucket".into()))?;
        let valid_bucket = (3..=63).contains(&bucket.len())
            && bucket
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '-' | '.'));
        if !valid_bucket {
            return Err((
                at("bucket"),
                format!(
                    "`{bucket}` is not a bucket name (3–63 lowercase letters, digits, `-`, `.`)"
                ),
            ));
        }
        let endpoint = match self.endpoint.filter(|e| !e.is_empty()) {
            Some(endpoint) => {
                let parsed = url::Url::parse(&endpoint)
                    .map_err(|e| (at("endpoint"), format!("`{endpoint}` is not a URL: {e}")))?;
                if !matches!(parsed.scheme(), "http" | "https") || parsed.host_str().is_none() {
                    return Err((
                        at("endpoint"),
                        format!("`{endpoint}` must be an http:// or https:// URL with a host"),
                    ));
                }
                if !parsed.username().is_empty() || parsed.password().is_some() {
                    return Err((
                        at("endpoint"),
                        "credentials do not belong in the endpoint URL: use access_key_id and secret_access_key_env".into(),
                    ));
                }
                Some(endpoint.trim_end_matches('/').to_string())
            }
            None => None,
        };
        let region = self
            .region
            .filter(|r| !r.is_empty())
            .or_else(|| env("AWS_REGION"))
            .unwrap_or_else(|| "us-east-1".into());
        let prefix = self.prefix.unwrap_or_default();
        let prefix = prefix.trim_matches('/').to_string();
        if prefix.split('/').any(|p| p == "." || p == "..")
            || (!prefix.is_empty() && prefix.split('/').any(str::is_empty))
        {
            return Err((
                at("prefix"),
                format!("`{prefix}` is not a usable key prefix"),
            ));
        }
        let part_mib = self.part_size_mib.unwrap_or(DEFAULT_PART_MIB);
        if !(5..=512).contains(&part_mib) {
            return Err((
                at("part_size_mib"),
                format!("{part_mib} is out of range 5..=512 (S3 parts are at least 5 MiB)"),
            ));
        }
        let access_key_id = match (self.access_key_id, self.access_key_id_env) {
            (Some(_), Some(_)) => {
                return Err((
                    at("access_key_id_env"),
                    "set access_key_id or access_key_id_env, not both".into(),
                ))
            }
            (Some(id), None) => Some(id),
            (None, Some(var)) => Some(env(&var).ok_or_else(|| {
                (
                    at("access_key_id_env"),
                    format!("the variable `{var}` is not set"),
                )
            })?),
            (None, None) => env("AWS_ACCESS_KEY_ID"),
        };
        let secret = secret_of(
            &at,
            self.secret_access_key,
            self.secret_access_key_env,
            self.secret_access_key_file,
            env,
        )?;
        let (access_key_id, secret_access_key) = match (access_key_id, secret) {
            (Some(id), Some(secret)) if !id.is_empty() => (id, secret),
            _ => {
                return Err((
                    at("access_key_id"),
                    "credentials are missing: set access_key_id and secret_access_key_env (or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY)".into(),
                ))
            }
        };
        // AWS's own endpoint (no `endpoint` given) is always HTTPS.
        let over_tls = endpoint
            .as_deref()
            .is_none_or(|url| url.to_ascii_lowercase().starts_with("https://"));
        Ok(S3Settings {
            endpoint,
            region,
            bucket,
            prefix,
            path_style: self.path_style.unwrap_or(false),
            access_key_id,
            secret_access_key,
            session_token: env("AWS_SESSION_TOKEN"),
            part_size: part_mib as usize * 1024 * 1024,
            unsigned_payload: self.unsigned_payload.unwrap_or(over_tls),
        })
    }
}

/// The secret key from exactly one of: the file's value, a variable, a file; else
/// `$AWS_SECRET_ACCESS_KEY`.
fn secret_of(
    at: &dyn Fn(&str) -> String,
    inline: Option<String>,
    var: Option<String>,
    file: Option<PathBuf>,
    env: EnvLookup,
) -> Result<Option<String>, Problem> {
    match (inline, var, file) {
        (Some(secret), None, None) => Ok(Some(secret)),
        (None, Some(var), None) => env(&var).map(Some).ok_or_else(|| {
            (
                at("secret_access_key_env"),
                format!("the variable `{var}` is not set"),
            )
        }),
        (None, None, Some(path)) => std::fs::read_to_string(&path)
            .map(|text| Some(text.trim().to_string()))
            .map_err(|e| {
                (
                    at("secret_access_key_file"),
                    format!("cannot read {}: {e}", path.display()),
                )
            }),
        (None, None, None) => Ok(env("AWS_SECRET_ACCESS_KEY")),
        _ => Err((
            at("secret_access_key"),
            "set one of secret_access_key, secret_access_key_env, secret_access_key_file".into(),
        )),
    }
}

#[cfg(test)]
mod tests {
    use crate::config::{Settings, StorageLocation};

    fn env_with(vars: &'static [(&'static str, &'static str)]) -> impl Fn(&str) -> Option<String> {
        move |name| {
            vars.iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| v.to_string())
        }
    }

    #[test]
    fn s3_targets_and_replicas_are_read_with_their_credentials() {
        let text = r#"
[storage]
kind = "s3"
endpoint = "http://minio:9000/"
bucket = "coffer"
prefix = "/prod/"
path_style = true
access_key_id_env = "KEY_ID"
secret_access_key_env = "SECRET"

[[storage.replicas]]
name = "usb"
path = "/mnt/usb"

[[storage.replicas]]
name = "offsite"
kind = "s3"
bucket = "far-away"
region = "eu-central-1"
"#;
        let env = env_with(&[
            ("KEY_ID", "id-1"),
            ("SECRET", "s3cr3t"),
            ("AWS_ACCESS_KEY_ID", "aws-id"),
            ("AWS_SECRET_ACCESS_KEY", "aws-secret"),
        ]);
        let s = Settings::from_toml(text, "t.toml", &env).unwrap();
        let StorageLocation::S3(primary) = &s.storage.primary.location else {
            panic!("primary is s3");
        };
        assert_eq!(s.storage.primary.name, "primary");
        assert_eq!(primary.endpoint.as_deref(), Some("http://minio:9000"));
        assert_eq!(primary.prefix, "prod");
        assert_eq!(primary.region, "us-east-1");
        assert_eq!(primary.access_key_id, "id-1");
        assert_eq!(primary.secret_access_key, "s3cr3t");
        assert!(primary.path_style);
        assert_eq!(primary.part_size, 16 << 20);
        assert!(
            !format!("{s:?}").contains("s3cr3t"),
            "secrets stay out of Debug"
        );
        assert_eq!(s.local_storage_path(), None);
        let names: Vec<&str> = s.storage.replicas.iter().map(|r| r.name.as_str()).collect();
        assert_eq!(names, ["usb", "offsite"]);
        let StorageLocation::S3(offsite) = &s.storage.replicas[1].location else {
            panic!("offsite is s3");
        };
        assert_eq!(
            offsite.access_key_id, "aws-id",
            "AWS_* variables are the default"
        );
        assert_eq!(offsite.endpoint, None);
        assert!(
            !primary.unsigned_payload && offsite.unsigned_payload,
            "bodies are hashed for signing over plain HTTP only (AWS's endpoint is HTTPS)"
        );
    }

    #[test]
    fn targets_say_how_they_protect_what_they_hold() {
        use crate::config::{LockMode, ObjectLock, Protection};
        let text = r#"
[storage]
path = "/srv/backups"
append_only = true

[[storage.replicas]]
name = "vault"
kind = "s3"
bucket = "vault"
access_key_id = "a"
secret_access_key = "b"
object_lock = "compliance"
object_lock_days = 90

[[storage.replicas]]
name = "plain"
path = "/mnt/plain"
"#;
        let s = Settings::from_toml(text, "t.toml", &env_with(&[])).unwrap();
        assert_eq!(s.storage.primary.protection, Protection::AppendOnly);
        assert_eq!(
            s.storage.replicas[0].protection,
            Protection::ObjectLock(ObjectLock {
                mode: LockMode::Compliance,
                days: 90
            })
        );
        assert_eq!(s.storage.replicas[1].protection, Protection::None);
    }

    #[test]
    fn unsigned_payload_follows_the_scheme_unless_set() {
        let read = |endpoint: &str, setting: &str| {
            let text = format!(
                "[storage]\nkind = \"s3\"\nbucket = \"b-1\"\nendpoint = \"{endpoint}\"\naccess_key_id = \"a\"\nsecret_access_key = \"b\"\n{setting}"
            );
            let s = Settings::from_toml(&text, "t.toml", &env_with(&[])).unwrap();
            let StorageLocation::S3(target) = &s.storage.primary.location else {
                panic!("s3");
            };
            target.unsigned_payload
        };
        assert!(read("https://s3.example.net", ""));
        assert!(read("HTTPS://s3.example.net", ""));
        assert!(!read("http://minio:9000", ""));
        assert!(read("http://minio:9000", "unsigned_payload = true"));
        assert!(!read("https://s3.example.net", "unsigned_payload = false"));
    }

    #[test]
    fn bad_storage_settings_name_their_key() {
        let cases = [
            ("[storage]\nkind = \"s3\"\naccess_key_id = \"a\"\nsecret_access_key = \"b\"", "storage.bucket"),
            ("[storage]\nkind = \"s3\"\nbucket = \"B_ad\"\naccess_key_id = \"a\"\nsecret_access_key = \"b\"", "storage.bucket"),
            ("[storage]\nkind = \"s3\"\nbucket = \"ok-bucket\"", "storage.access_key_id"),
            ("[storage]\nkind = \"s3\"\nbucket = \"ok-bucket\"\nendpoint = \"minio:9000\"\naccess_key_id = \"a\"\nsecret_access_key = \"b\"", "storage.endpoint"),
            ("[storage]\nkind = \"s3\"\nbucket = \"ok-bucket\"\naccess_key_id = \"a\"\nsecret_access_key = \"b\"\npart_size_mib = 1", "storage.part_size_mib"),
            ("[storage]\nkind = \"s3\"\nbucket = \"ok-bucket\"\naccess_key_id = \"a\"\nsecret_access_key_env = \"NOPE\"", "storage.secret_access_key_env"),
            ("[storage]\nkind = \"s3\"\nbucket = \"ok-bucket\"\naccess_key_id = \"a\"\nsecret_access_key = \"b\"\nsecret_access_key_env = \"X\"", "storage.secret_access_key"),
            ("[storage]\npath = \"/x\"\nbucket = \"b\"", "storage.bucket"),
            ("[storage]\nkind = \"ftp\"", "kind"),
            ("[[storage.replicas]]\npath = \"/x\"", "storage.replicas[0].name"),
            ("[[storage.replicas]]\nname = \"r\"", "storage.replicas[0].path"),
            ("[[storage.replicas]]\nname = \"primary\"\npath = \"/x\"", "storage.replicas[0].name"),
            ("[[storage.replicas]]\nname = \"a\"\npath = \"/x\"\n[[storage.replicas]]\nname = \"a\"\npath = \"/y\"", "storage.replicas[1].name"),
            ("[storage]\nkind = \"s3\"\nbucket = \"ok-bucket\"\naccess_key_id = \"a\"\nsecret_access_key = \"b\"\nobject_lock = \"compliance\"", "storage.object_lock_days"),
            ("[storage]\nkind = \"s3\"\nbucket = \"ok-bucket\"\naccess_key_id = \"a\"\nsecret_access_key = \"b\"\nobject_lock_days = 3", "storage.object_lock"),
            ("[storage]\nkind = \"s3\"\nbucket = \"ok-bucket\"\naccess_key_id = \"a\"\nsecret_access_key = \"b\"\nobject_lock = \"governance\"\nobject_lock_days = 0", "storage.object_lock_days"),
            ("[storage]\nkind = \"s3\"\nbucket = \"ok-bucket\"\naccess_key_id = \"a\"\nsecret_access_key = \"b\"\nobject_lock = \"forever\"\nobject_lock_days = 3", "object_lock"),
            ("[storage]\nkind = \"s3\"\nbucket = \"ok-bucket\"\naccess_key_id = \"a\"\nsecret_access_key = \"b\"\nappend_only = true", "storage.append_only"),
            ("[[storage.replicas]]\nname = \"usb\"\npath = \"/x\"\nobject_lock = \"governance\"", "storage.replicas[0].object_lock"),
        ];
        let no_env = |_: &str| None;
        for (text, key) in cases {
            let err = Settings::from_toml(text, "my.toml", &no_env)
                .expect_err(text)
                .to_string();
            assert!(
                err.contains("my.toml") && err.contains(key),
                "{text}\n→ {err}"
            );
        }
    }
}
