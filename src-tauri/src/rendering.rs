//! How the window draws on a machine without a GPU (Linux).
//!
//! WebKitGTK paints with Skia on the GPU when OpenGL works. Without a GPU (a VM, a remote
//! desktop, Xvfb) OpenGL still "works" through Mesa's llvmpipe, which draws on the CPU and
//! compiles each new shader with LLVM: the first time the window draws something new (a
//! progress bar, a notice) a frame can take several hundred milliseconds, and a redraw of the
//! whole window takes about 100 ms. Skia's own CPU painting, on every core, does the same
//! redraw in about 60 ms and compiles nothing (measured with `scripts/bench-app.sh --only
//! frames`, see docs/benchmarks.md).
//!
//! So when the machine has no GPU render node (`/dev/dri/renderD*`), the app asks WebKit for
//! CPU painting on all cores before the web process starts. A variable the person set
//! themselves always wins.
//!
//! Linux only: [`configure_webview`] does nothing on Windows (WebView2) and macOS (WKWebView),
//! which pick their own renderer. The decisions ([`webview_env`], [`has_render_node`] over any
//! folder) are plain functions, compiled and tested on every OS.

use std::path::Path;

/// WebKitGTK (2.46 and later): paint with Skia on the CPU instead of through OpenGL.
pub const CPU_RENDERING_ENV: &str = "WEBKIT_SKIA_ENABLE_CPU_RENDERING";
/// WebKitGTK (2.46 and later): how many threads paint when painting on the CPU (WebKit's
/// default is half the cores, one on a 2-core machine).
pub const CPU_PAINTING_THREADS_ENV: &str = "WEBKIT_SKIA_CPU_PAINTING_THREADS";
/// Where Linux lists GPUs that can render.
#[cfg(target_os = "linux")]
const DRI_DIR: &str = "/dev/dri";

/// Whether `dri_dir` holds a render node (`renderD128`, ...): a GPU that can draw.
pub fn has_render_node(dri_dir: &Path) -> bool {
    std::fs::read_dir(dri_dir)
        .map(|entries| {
            entries
                .flatten()
                .any(|e| e.file_name().to_string_lossy().starts_with("renderD"))
        })
        .unwrap_or(false)
}

/// The variables to set for the web process: none when there is a GPU; otherwise CPU
/// painting on `cores` threads, leaving alone any variable already set (`is_set`).
pub fn webview_env(
    has_gpu: bool,
    cores: usize,
    is_set: impl Fn(&str) -> bool,
) -> Vec<(&'static str, String)> {
    if has_gpu {
        return Vec::new();
    }
    [
        (CPU_RENDERING_ENV, "1".to_owned()),
        (CPU_PAINTING_THREADS_ENV, cores.clamp(1, 8).to_string()),
    ]
    .into_iter()
    .filter(|(name, _)| !is_set(name))
    .collect()
}

/// Applies [`webview_env`] to this process (inherited by the web process). Call first thing
/// in `main`, before any other thread exists.
#[cfg(target_os = "linux")]
pub fn configure_webview() {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let vars = webview_env(has_render_node(Path::new(DRI_DIR)), cores, |name| {
        std::env::var_os(name).is_some()
    });
    for (name, value) in vars {
        std::env::set_var(name, value);
    }
}

/// Not on Linux: the system's web view chooses how it draws; nothing to set.
#[cfg(not(target_os = "linux"))]
pub fn configure_webview() {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn without_a_gpu_the_window_paints_on_every_core_unless_the_person_chose() {
        let none_set = |_: &str| false;
        assert_eq!(
            webview_env(false, 2, none_set),
            vec![
                (CPU_RENDERING_ENV, "1".to_owned()),
                (CPU_PAINTING_THREADS_ENV, "2".to_owned())
            ]
        );
        assert!(
            webview_env(true, 2, none_set).is_empty(),
            "a GPU: WebKit decides"
        );
        let threads_set = |name: &str| name == CPU_PAINTING_THREADS_ENV;
        assert_eq!(
            webview_env(false, 16, threads_set),
            vec![(CPU_RENDERING_ENV, "1".to_owned())],
            "a variable set by the person is kept"
        );
        assert_eq!(
            webview_env(false, 64, none_set)[1].1,
            "8",
            "at most 8 painters"
        );
    }

    #[test]
    fn a_render_node_is_a_gpu() {
        let dir = tempfile::tempdir().unwrap();
        assert!(!has_render_node(dir.path()), "an empty /dev/dri");
        assert!(!has_render_node(&dir.path().join("missing")), "no /dev/dri");
        std::fs::write(dir.path().join("card0"), "").unwrap();
        assert!(
            !has_render_node(dir.path()),
            "a display card without a render node"
        );
        std::fs::write(dir.path().join("renderD128"), "").unwrap();
        assert!(has_render_node(dir.path()));
    }
}
