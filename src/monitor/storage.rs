//! How full the file system holding the local storage folder is (statvfs), and the
//! "storage nearly full" alert: raised once when use crosses `[monitor]
//! storage_full_percent`, again only after it dropped below and crossed once more.

use std::ffi::CString;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

use crate::app::App;
use crate::db::MonitorAlert;
use crate::error::{Error, Result};
use crate::notify::Event;

const SUBJECT: &str = "storage";

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Usage {
    pub total_bytes: u64,
    /// Available to Coffer (not root's reserve).
    pub free_bytes: u64,
}

impl Usage {
    /// Percent used, counting root's reserve as used (that is what Coffer cannot write).
    pub fn used_percent(&self) -> f64 {
        if self.total_bytes == 0 {
            return 0.0;
        }
        100.0 * (self.total_bytes - self.free_bytes.min(self.total_bytes)) as f64
            / self.total_bytes as f64
    }
}

/// Size and free space of the file system holding `path` (its nearest existing folder: the
/// storage folder is created by the first backup).
pub fn usage(path: &Path) -> Result<Usage> {
    let path = path
        .ancestors()
        .find(|p| p.exists())
        .unwrap_or(Path::new("."));
    let io = |e: std::io::Error| Error::Io {
        context: format!("reading the free space of {}", path.display()),
        source: e,
    };
    let c_path = CString::new(path.as_os_str().as_bytes())
        .map_err(|e| io(std::io::Error::new(std::io::ErrorKind::InvalidInput, e)))?;
    let mut stat: libc::statvfs = unsafe { std::mem::zeroed() };
    // SAFETY: c_path is a valid NUL-terminated string and stat a writable statvfs.
    if unsafe { libc::statvfs(c_path.as_ptr(), &mut stat) } != 0 {
        return Err(io(std::io::Error::last_os_error()));
    }
    let block = stat.f_frsize as u64;
    Ok(Usage {
        total_bytes: stat.f_blocks as u64 * block,
        free_bytes: stat.f_bavail as u64 * block,
    })
}

/// Raises [`Event::StorageNearlyFull`] when use is at or past the threshold and was not
/// already; clears the alert when use is below it. Returns the usage seen; `None` when the
/// primary target is an object store (it has no file system to fill; the provider's quota
/// is not visible through the S3 API).
pub fn check_storage(app: &App) -> Result<Option<Usage>> {
    let Some(path) = app.settings.local_storage_path() else {
        return Ok(None);
    };
    let found = usage(path)?;
    let threshold = app.settings.monitor.storage_full_percent;
    let used = found.used_percent();
    let mut conn = app.conn()?;
    if used >= threshold {
        if MonitorAlert::raise_once(&mut conn, SUBJECT, crate::db::now())? {
            drop(conn);
            app.notifier().raise(Event::StorageNearlyFull {
                used_percent: used,
                threshold_percent: threshold,
                free_bytes: found.free_bytes,
            });
        }
    } else {
        MonitorAlert::clear(&mut conn, SUBJECT)?;
    }
    Ok(Some(found))
}
