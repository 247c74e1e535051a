//! The operating-system calls ferrokafka makes itself, in one place: descriptors (duplicates,
//! non-blocking mode, eventfd wake-ups) and the fork handler. They
//! are Linux's (the eventfd, the coarse monotonic clock) or POSIX's; a port to another system starts here, in
//! `python/ferrokafka/_platform.py` (the asyncio clients' pipe and eventfd) and at the link-time
//! guard (`build.rs`, `src/librdkafka_fixes.rs`: GNU ld's `--wrap`). docs/index.md, "Platforms",
//! says what macOS and Windows would need.

/// A close-on-exec duplicate of the descriptor `fd` (>= 0), owned by the caller.
pub fn duplicate_fd(fd: std::os::fd::RawFd) -> std::io::Result<std::os::fd::OwnedFd> {
    use std::os::fd::FromRawFd;
    // SAFETY: F_DUPFD_CLOEXEC only reads the descriptor number and returns a new descriptor, or -1
    // (EBADF for a number that is not open); nothing is borrowed.
    let duplicate = unsafe { libc::fcntl(fd, libc::F_DUPFD_CLOEXEC, 0) };
    if duplicate < 0 {
        return Err(std::io::Error::last_os_error());
    }
    // SAFETY: a descriptor fcntl just created, owned by nobody else.
    Ok(unsafe { std::os::fd::OwnedFd::from_raw_fd(duplicate) })
}

/// Makes the descriptor `fd` non-blocking.
pub fn set_nonblocking(fd: &std::os::fd::OwnedFd) -> std::io::Result<()> {
    use std::os::fd::AsRawFd;
    // SAFETY: F_GETFL only reads the status flags of a descriptor we own (borrowed, so open).
    let flags = unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_GETFL) };
    // SAFETY: F_SETFL on the same descriptor, adding O_NONBLOCK; no memory is passed.
    if flags < 0 || unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_SETFL, flags | libc::O_NONBLOCK) } < 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(())
}

/// Adds 1 to the counter of the eventfd `fd` (non-blocking: at an overflow, which one write per
/// wake-up never reaches, the write fails with EAGAIN and the reader is awake anyway).
pub fn signal_eventfd(fd: &std::os::fd::OwnedFd) {
    use std::os::fd::AsRawFd;
    let one: u64 = 1;
    // SAFETY: a descriptor we own (borrowed, so open); a pointer to the 8 readable bytes an
    // eventfd takes.
    let _ = unsafe { libc::write(fd.as_raw_fd(), (&one as *const u64).cast(), 8) };
}

/// Nanoseconds of Linux's `CLOCK_MONOTONIC_COARSE` (a resolution of a few milliseconds, a
/// fraction of the precise clock's cost), or None if the system has no such clock.
pub fn monotonic_coarse_nanos() -> Option<u64> {
    let mut now = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: `now` is a valid, writable timespec, which clock_gettime only writes.
    if unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC_COARSE, &mut now) } != 0 {
        return None;
    }
    let seconds = u64::try_from(now.tv_sec).unwrap_or(0);
    Some(seconds.saturating_mul(1_000_000_000).saturating_add(u64::try_from(now.tv_nsec).unwrap_or(0)))
}

/// Runs `handler` in the child after every `fork()`.
///
/// # Safety
/// `handler` does only async-signal-safe work: the child of a multi-threaded process runs it with
/// every other thread gone and any lock they held frozen (no allocation, no locks, no I/O beyond
/// async-signal-safe calls). It is a function of this library, which is never unloaded.
pub unsafe fn on_fork_in_child(handler: extern "C" fn()) {
    // SAFETY: pthread_atfork only records the handler (the caller's guarantee makes calling it in
    // the child sound); no memory is passed.
    unsafe { libc::pthread_atfork(None, None, Some(handler)) };
}

/// How many times this process image has been forked into a child (0 in the original process).
static FORKS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

extern "C" fn count_fork_in_child() {
    FORKS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
}

/// Counts every `fork()` from now on, in the child ([`fork_generation`]). Idempotent.
pub fn count_forks() {
    static INSTALL: std::sync::Once = std::sync::Once::new();
    INSTALL.call_once(|| {
        // SAFETY: the handler does one atomic add on a static: async-signal-safe, as Rust's
        // AtomicU64 exists only where the hardware has lock-free 64-bit atomics. It is a function
        // of this library.
        unsafe { on_fork_in_child(count_fork_in_child) };
    });
}

/// How many times this process image has been forked into a child: 0 in the process that imported
/// us, 1 in its child, and so on (see fork.rs).
pub fn fork_generation() -> u64 {
    FORKS.load(std::sync::atomic::Ordering::Relaxed)
}
