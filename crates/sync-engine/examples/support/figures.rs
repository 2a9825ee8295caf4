// Shared by the benchmark examples (included with `include!`): process figures from /proc.

/// (user + system CPU seconds, peak resident set in MB) of this process, Linux only.
#[allow(dead_code)]
fn process_figures() -> (f64, f64) {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // Fields after the command name (which is in parentheses and may hold spaces).
    let rest = stat.rsplit(')').next().unwrap_or("");
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| fields.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
    // utime and stime are fields 14 and 15 of the whole line, 11 and 12 after the name.
    let cpu = (ticks(11) + ticks(12)) / 100.0;
    (cpu, status_mb("VmHWM:"))
}

/// A memory line of /proc/self/status (e.g. "VmRSS:", "VmHWM:") in MB, 0 when unknown.
#[allow(dead_code)]
fn status_mb(field: &str) -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find(|l| l.starts_with(field))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse::<f64>().ok())
        .unwrap_or(0.0)
        / 1024.0
}
