//! A small tmpfs mounted for one test (the test runs as root), unmounted when dropped, and a
//! file that fills it to the last byte.

use std::fs::File;
use std::io::{ErrorKind, Write};
use std::path::{Path, PathBuf};
use std::process::Command;

pub struct Tmpfs {
    pub path: PathBuf,
}

impl Tmpfs {
    /// Mounts a tmpfs of `size` (`8m`) on `path` (created if missing).
    pub fn mount(path: &Path, size: &str) -> Tmpfs {
        std::fs::create_dir_all(path).unwrap();
        let out = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(path)
            .output()
            .expect("mount runs");
        assert!(
            out.status.success(),
            "mounting a tmpfs on {} (the fault tests run as root): {}",
            path.display(),
            String::from_utf8_lossy(&out.stderr)
        );
        Tmpfs {
            path: path.to_path_buf(),
        }
    }

    /// Writes `name` until the filesystem has no byte left; the caller removes it.
    pub fn fill(&self, name: &str) -> PathBuf {
        let path = self.path.join(name);
        let mut file = File::create(&path).unwrap();
        let block = vec![0u8; 64 * 1024];
        let mut size = block.len();
        loop {
            match file.write(&block[..size]) {
                Ok(0) => break,
                Ok(_) => {}
                // Down to single bytes, so not even a small write fits afterwards.
                Err(e) if e.raw_os_error() == Some(libc::ENOSPC) && size > 1 => size /= 2,
                Err(e) if e.raw_os_error() == Some(libc::ENOSPC) => break,
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e) => panic!("filling {}: {e}", path.display()),
            }
        }
        path
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        // Lazy: a process of the test that still holds a file there cannot keep it mounted.
        let _ = Command::new("umount").arg("-l").arg(&self.path).status();
    }
}
