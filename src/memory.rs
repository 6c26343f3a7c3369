//! Handing freed memory back to the system between the phases of a large job.
//!
//! A tree of many files means hundreds of thousands of small allocations (paths, entries)
//! that are all freed at once when a manifest is dropped. The allocator keeps those pages
//! for reuse, so the process stays as large as it was; the next phase (a manifest's JSON
//! text, the database's copy of it) then adds its own tens of MiB on top. Trimming after
//! such a drop lets the peak be the larger phase alone rather than both.

/// Returns the allocator's free pages to the system (glibc: `malloc_trim`, which also
/// releases whole free pages in the middle of the heap). Takes a few milliseconds.
pub fn release_free_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only touches the allocator's own free lists.
    unsafe {
        libc::malloc_trim(0);
    }
}
