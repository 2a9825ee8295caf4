//! The work runtime: every thread that scans, hashes, uploads or runs the embedded Sandbox
//! runs at a lower CPU priority than the window.
//!
//! Why: on a machine without a GPU (a VM, a remote desktop) WebKitGTK draws with the CPU, and a
//! redraw of the whole window takes about 100 ms of it. During a first sync the engine and the
//! Sandbox keep both cores of a small machine busy, so at equal priority a redraw waited for
//! them (frames of 200 to 800 ms measured by `scripts/bench-app.sh --only frames`). Syncthing
//! makes the same choice for its own work ("lower process priority", on by default).
//!
//! How: the app registers this runtime with Tauri before anything starts
//! (`tauri::async_runtime::set`), so commands, the engine, the Sandbox and their blocking pools
//! run on its threads. Each of its threads lowers its own priority when it starts; threads they
//! create (the folder walker, the file watcher, the Sandbox's processing) inherit it. The main
//! thread (the window's event loop) and the web process keep the normal priority.
//!
//! Linux only: niceness per thread is a Linux notion (elsewhere `setpriority` changes the
//! whole process, the window included). On other systems the runtime is built the same way
//! and its threads keep the normal priority; [`this_thread_niceness`] answers `Unsupported`.

/// The niceness of work threads (0 normal, 19 lowest). At 10 a thread gets about a tenth of
/// the CPU share of a normal-priority thread when both want the CPU, and all of the CPU when
/// the window is idle: the sync is not slower on an idle machine.
pub const WORK_NICENESS: i32 = 10;

/// Names the runtime's threads (in `top -H`, `ps -L`, profilers).
const THREAD_NAME: &str = "pushdeck-work";

/// Builds the multi-thread tokio runtime whose threads run at [`WORK_NICENESS`].
pub fn work_runtime() -> std::io::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name(THREAD_NAME)
        .on_thread_start(lower_this_thread)
        .build()
}

/// Lowers the calling thread's priority to [`WORK_NICENESS`]. Lowering one's own priority
/// needs no privilege; if it still fails (a sandbox that forbids the call), the thread keeps
/// the normal priority and works as before.
#[cfg(target_os = "linux")]
fn lower_this_thread() {
    // On Linux the niceness belongs to each thread: PRIO_PROCESS with a thread id changes
    // that thread only.
    // Never raises it: a Pushdeck started with `nice -n 15` stays at 15.
    if this_thread_niceness().unwrap_or(0) < WORK_NICENESS {
        let tid = rustix::thread::gettid();
        if let Err(e) = rustix::process::setpriority_process(Some(tid), WORK_NICENESS) {
            tracing::debug!("work thread keeps the normal priority: {e}");
        }
    }
}

/// Not on Linux: the thread keeps the normal priority (see the module documentation).
#[cfg(not(target_os = "linux"))]
fn lower_this_thread() {}

/// The calling thread's niceness (Linux), for checks and diagnostics.
#[cfg(target_os = "linux")]
pub fn this_thread_niceness() -> std::io::Result<i32> {
    rustix::process::getpriority_process(Some(rustix::thread::gettid())).map_err(Into::into)
}

/// Not on Linux: there is no per-thread niceness to read.
#[cfg(not(target_os = "linux"))]
pub fn this_thread_niceness() -> std::io::Result<i32> {
    Err(std::io::Error::new(
        std::io::ErrorKind::Unsupported,
        "a thread's niceness is read on Linux only",
    ))
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::*;

    #[test]
    fn work_threads_run_below_the_window_and_the_caller_keeps_its_priority() {
        let before = this_thread_niceness().unwrap();
        let runtime = work_runtime().unwrap();
        let (worker, blocking) = runtime.block_on(async {
            let worker = tokio::spawn(async { this_thread_niceness().unwrap() })
                .await
                .unwrap();
            let blocking = tokio::task::spawn_blocking(|| {
                // A thread started by a work thread (as the folder walker is) inherits it.
                let child = std::thread::spawn(|| this_thread_niceness().unwrap());
                (this_thread_niceness().unwrap(), child.join().unwrap())
            })
            .await
            .unwrap();
            (worker, blocking)
        });
        let expected = WORK_NICENESS.max(before);
        assert_eq!(worker, expected, "a runtime worker thread");
        assert_eq!(blocking.0, expected, "a blocking-pool thread");
        assert_eq!(blocking.1, expected, "a thread spawned by a work thread");
        assert_eq!(
            this_thread_niceness().unwrap(),
            before,
            "the thread that built the runtime (the window's main thread) keeps its priority"
        );
    }
}
