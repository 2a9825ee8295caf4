// No console window on Windows release builds.
#![cfg_attr(not(debug_assertions), windows_subsystem = "windows")]

fn main() {
    // Before any thread exists: it sets environment variables for the web process.
    pushdeck_app::rendering::configure_webview();
    pushdeck_app::run();
}
