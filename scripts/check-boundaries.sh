#!/usr/bin/env bash
# Checks the dependency boundaries of ARCHITECTURE.md ("Invariants", invariant 2) and exits 1,
# with one "boundary broken: ..." sentence per broken rule, when one does not hold:
#
#   - only src-tauri (pushdeck-app) depends on tauri (any crate named tauri*);
#   - only files under ui/src/ipc/ import @tauri-apps/*;
#   - push-emulator is never a normal dependency of coveo-push or sync-engine (dev only);
#   - permissions depends on no workspace crate;
#   - coveo-push depends on no workspace crate but permissions;
#   - nothing depends on the fronts, pushdeck-app and pushdeck-cli (a test crate may
#     dev-depend on them).
#
#   scripts/check-boundaries.sh           # this repository
#   scripts/check-boundaries.sh ROOT      # another copy (tests/tests/boundaries.rs breaks rules
#                                         # in a temp copy and expects exit 1)
#
# How: "depends on" means a normal dependency, direct or transitive: [dependencies],
# [build-dependencies] and every [target.'cfg(..)'.*dependencies] count, on every platform;
# [dev-dependencies] do not. The workspace crates' own dependencies come from
# `cargo metadata --no-deps --offline` (cargo reads the manifests itself, so `workspace = true`,
# renames, paths and target tables mean what they mean to cargo; it needs no network, no lock
# resolution and no build, unlike `cargo tree --locked`, which refuses a manifest its lock does
# not match, i.e. the very change this check must name). What external crates pull in comes from Cargo.lock, read as text
# (its edges cover every target and feature the workspace can enable, so a tauri crate reached
# through any external crate is found too). The UI rule is a regex over ui/src for an import,
# export ... from, dynamic import() or require() of "@tauri-apps/...". Needs cargo ($CARGO if
# set) and python3 (standard library only; no tomllib, so any Python 3 will do).
# A crate that breaks a rule only through another workspace crate breaking the same rule is not
# named again: the sentences point at the manifest to fix.
# Exit codes: 0 every rule holds, 1 a rule is broken, 2 the check could not run.
set -euo pipefail
ROOT="$(cd "${1:-$(dirname "$0")/..}" && pwd)"
exec python3 - "$ROOT" <<'PY'
import json, os, re, subprocess, sys
from collections import deque

root = sys.argv[1]
run = subprocess.run(
    [os.environ.get("CARGO", "cargo"), "metadata", "--no-deps", "--format-version", "1", "--offline",
     "--manifest-path", os.path.join(root, "Cargo.toml")],
    stdout=subprocess.PIPE, text=True)
if run.returncode != 0:
    print(f"boundary check could not run: cargo metadata failed in {root}", file=sys.stderr)
    sys.exit(2)
meta = json.loads(run.stdout)
broken = []

def fail(sentence):
    broken.append("boundary broken: " + sentence)

# The workspace crates and their normal dependencies (kind None = normal, "build"; not "dev").
members = {p["name"]: p for p in meta["packages"] if p["id"] in meta["workspace_members"]}
for needed in ("coveo-push", "permissions", "push-emulator", "sync-engine", "pushdeck-cli", "pushdeck-app"):
    if needed not in members:
        print(f"boundary check could not run: no workspace crate named {needed} in {root}", file=sys.stderr)
        sys.exit(2)
member_dirs = {os.path.realpath(os.path.dirname(p["manifest_path"])): name for name, p in members.items()}

def normal_deps(name):
    out = []
    for dep in members[name]["dependencies"]:
        if dep["kind"] == "dev":
            continue
        path = dep.get("path")
        out.append(member_dirs.get(os.path.realpath(path), dep["name"]) if path else dep["name"])
    return out

# What each external crate depends on, from Cargo.lock (every version of a name merged).
lock_path = os.path.join(root, "Cargo.lock")
if not os.path.exists(lock_path):
    print(f"boundary check could not run: no Cargo.lock in {root}", file=sys.stderr)
    sys.exit(2)
external = {}
with open(lock_path, encoding="utf-8") as f:
    for block in f.read().split("[[package]]")[1:]:
        name = re.search(r'^name = "([^"]+)"', block, re.M)
        if not name or not re.search(r"^source = ", block, re.M):
            continue  # a workspace crate: its edges come from its manifest, dev ones excluded
        deps = re.search(r"^dependencies = \[(.*?)\]", block, re.M | re.S)
        names = re.findall(r'"([^" ]+)[^"]*"', deps.group(1)) if deps else []
        external.setdefault(name.group(1), set()).update(names)

def is_tauri(name):
    return name == "tauri" or name.startswith("tauri-") or name.startswith("tauri_")

FRONTS = ("pushdeck-app", "pushdeck-cli")

def closure(start):
    """Every crate start depends on (normal/build, transitively) -> the path that reaches it.
    Neither a tauri crate nor a front is followed further: reaching one is the news."""
    seen = {}
    queue = deque((dep, [dep]) for dep in normal_deps(start))
    while queue:
        name, path = queue.popleft()
        if name in seen or name == start:
            continue
        seen[name] = path
        if is_tauri(name) or name in FRONTS:
            continue
        nexts = normal_deps(name) if name in members else sorted(external.get(name, ()))
        queue.extend((dep, path + [dep]) for dep in nexts)
    return seen

# (crate, rule, offender, path, sentence) for every broken rule, before the filter below.
found = []
def broken_rule(crate, rule, offender, path, sentence):
    through = "" if len(path) == 1 else " (through " + " -> ".join(path[:-1]) + ")"
    found.append((crate, rule, offender, path, sentence + through))

for name in sorted(members):
    reached = closure(name)
    for dep, path in sorted(reached.items()):
        if is_tauri(dep) and name != "pushdeck-app":
            broken_rule(name, "tauri", dep, path, f"only src-tauri (pushdeck-app) may depend on tauri, but {name} depends on {dep}")
        if dep in FRONTS:
            broken_rule(name, "fronts", dep, path, f"nothing may depend on the fronts (pushdeck-app, pushdeck-cli), but {name} depends on {dep}")
        if dep == "push-emulator" and name in ("coveo-push", "sync-engine"):
            broken_rule(name, "emulator", dep, path, f"push-emulator may only be a dev-dependency of coveo-push and sync-engine, but {name} depends on it")
        # Layering names the first workspace crate on a path, not what that one pulls in.
        if dep in members and name == "permissions" and not any(p in members for p in path[:-1]):
            broken_rule(name, "layering", dep, path, f"permissions may depend on no workspace crate, but permissions depends on {dep}")
        if (dep in members and dep != "permissions" and name == "coveo-push"
                and all(p == "permissions" or p not in members for p in path[:-1])):
            broken_rule(name, "layering", dep, path, f"coveo-push may depend on no workspace crate but permissions, but coveo-push depends on {dep}")

# A crate that breaks a rule only through another workspace crate that breaks the same rule
# with the same offender is not named again: the one whose manifest is wrong is.
blamed = {(crate, rule, offender) for crate, rule, offender, _, _ in found}
for crate, rule, offender, path, sentence in found:
    if not any((via, rule, offender) in blamed for via in path[:-1]):
        fail(sentence)

# Only ui/src/ipc/ imports @tauri-apps/*.
ui_src = os.path.join(root, "ui", "src")
if not os.path.isdir(ui_src):
    print(f"boundary check could not run: no ui/src in {root}", file=sys.stderr)
    sys.exit(2)
tauri_import = re.compile(r"""(?:\bfrom|\bimport|\brequire)\s*\(?\s*["'`](@tauri-apps/[^"'`]*)""")
ipc = os.path.join(ui_src, "ipc") + os.sep
ui_files = 0
for dirpath, dirnames, filenames in os.walk(ui_src):
    dirnames.sort()
    for file in sorted(filenames):
        if not file.endswith((".ts", ".tsx", ".mts", ".cts", ".js", ".jsx", ".mjs", ".cjs", ".svelte")):
            continue
        path = os.path.join(dirpath, file)
        ui_files += 1
        if path.startswith(ipc):
            continue
        with open(path, encoding="utf-8", errors="replace") as f:
            for number, line in enumerate(f, 1):
                for module in tauri_import.findall(line):
                    rel = os.path.relpath(path, root)
                    fail(f"only ui/src/ipc/ may import @tauri-apps/*, but {rel}:{number} imports {module}")

if broken:
    print("\n".join(broken))
    sys.exit(1)
print(f"boundaries hold: {len(members)} workspace crates, {ui_files} files under ui/src")
PY
