//! The modules of coveo-push depend one way (issue 16). This reads `src/lib.rs` and every
//! module's `src/<module>.rs`, collects the modules each one names through `crate::<module>`
//! (or `super::<module>`, which at a module's top level is the crate root), and fails on an
//! import cycle, naming it, and on an edge that goes up the layering written in `lib.rs`.
//!
//! What counts: every path outside `//` comment lines (doc links are not dependencies and may
//! point up), `#[cfg(test)]` modules included: a test module is compiled into the crate too, and
//! may not reach up either. `use super::*` in a file's `mod tests` names that file, not another
//! module, so it is no edge. A path through a re-export at the crate root (`crate::ErrorKind`)
//! is refused (a test of its own), because it would hide the edge: name the module
//! (`crate::error::ErrorKind`).

use std::collections::BTreeMap;
use std::path::PathBuf;

/// module -> (module it names -> first line naming it).
type Graph = BTreeMap<String, BTreeMap<String, usize>>;

fn src(file: &str) -> (String, String) {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("src")
        .join(file);
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    (file.to_string(), text)
}

/// The modules `lib.rs` declares (`mod x;`, `pub mod x;`, `pub(crate) mod x;`).
fn modules(lib: &str) -> Vec<String> {
    lib.lines()
        .filter_map(|l| {
            let words: Vec<&str> = l.split_whitespace().collect();
            match words.as_slice() {
                [.., "mod", name] if words.len() <= 3 => name.strip_suffix(';'),
                _ => None,
            }
        })
        .map(str::to_string)
        .collect()
}

fn is_ident(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

/// The first identifier of each top-level item of `a::X, b::{Y, Z}, c,` (the text between the
/// braces of `crate::{...}`), with its offset in `group`.
fn group_heads(group: &str) -> Vec<(usize, String)> {
    let mut heads = Vec::new();
    let (mut depth, mut start) = (0, 0);
    for (i, c) in group.char_indices().chain([(group.len(), ',')]) {
        match c {
            '{' => depth += 1,
            '}' => depth -= 1,
            ',' if depth == 0 => {
                let item = group[start..i].trim_end();
                let item_start = start + (item.len() - item.trim_start().len());
                if !item.trim_start().is_empty() {
                    let head = group[item_start..].chars().take_while(|c| is_ident(*c));
                    heads.push((item_start, head.collect()));
                }
                start = i + 1;
            }
            _ => {}
        }
    }
    heads
}

/// The modules `code` names (other than `me`), with the first line naming each, and the paths
/// that go through the crate root instead (`file:line: crate::Item`).
fn references(
    file: &str,
    me: &str,
    code: &str,
    modules: &[String],
) -> (BTreeMap<String, usize>, Vec<String>) {
    // Comment lines are blanked, not removed, so line numbers stay right.
    let code: String = code
        .lines()
        .map(|l| {
            if l.trim_start().starts_with("//") {
                ""
            } else {
                l
            }
        })
        .collect::<Vec<_>>()
        .join("\n");
    let (mut refs, mut through_root) = (BTreeMap::new(), Vec::new());
    for prefix in ["crate::", "super::"] {
        for (at, _) in code.match_indices(prefix) {
            if code[..at].chars().next_back().is_some_and(is_ident) {
                continue; // e.g. `mycrate::`
            }
            let rest_at = at + prefix.len();
            let rest = &code[rest_at..];
            let heads = match rest.strip_prefix('{') {
                Some(group) => {
                    let mut depth = 1;
                    let end = group
                        .char_indices()
                        .find(|(_, c)| {
                            match c {
                                '{' => depth += 1,
                                '}' => depth -= 1,
                                _ => {}
                            }
                            depth == 0
                        })
                        .map_or(group.len(), |(i, _)| i);
                    let heads = group_heads(&group[..end]);
                    heads
                        .into_iter()
                        .map(|(i, h)| (rest_at + 1 + i, h))
                        .collect()
                }
                None => vec![(rest_at, rest.chars().take_while(|c| is_ident(*c)).collect())],
            };
            for (head_at, head) in heads {
                let line = code[..head_at].matches('\n').count() + 1;
                if modules.contains(&head) {
                    if head != me {
                        refs.entry(head).or_insert(line);
                    }
                } else if prefix == "crate::" {
                    through_root.push(format!("{file}:{line}: crate::{head}"));
                }
                // `super::*` or `super::item` inside a nested module: its own file.
            }
        }
    }
    (refs, through_root)
}

/// The module graph, `lib.rs`, and the paths through the crate root.
fn graph() -> (Graph, String, Vec<String>) {
    let (_, lib) = src("lib.rs");
    let modules = modules(&lib);
    assert!(
        modules.len() > 5,
        "lib.rs declares too few modules: {modules:?}"
    );
    let (mut graph, mut through_root) = (Graph::new(), Vec::new());
    for m in &modules {
        let (file, text) = src(&format!("{m}.rs"));
        let (refs, root) = references(&file, m, &text, &modules);
        graph.insert(m.clone(), refs);
        through_root.extend(root);
    }
    (graph, lib, through_root)
}

/// A cycle as the list of its modules, the first repeated at the end.
fn find_cycle(graph: &Graph) -> Option<Vec<String>> {
    fn visit(
        graph: &Graph,
        m: &str,
        path: &mut Vec<String>,
        done: &mut Vec<String>,
    ) -> Option<Vec<String>> {
        if let Some(at) = path.iter().position(|p| p == m) {
            let mut cycle = path[at..].to_vec();
            cycle.push(m.to_string());
            return Some(cycle);
        }
        if done.iter().any(|d| d == m) {
            return None;
        }
        path.push(m.to_string());
        for next in graph[m].keys() {
            if let Some(cycle) = visit(graph, next, path, done) {
                return Some(cycle);
            }
        }
        path.pop();
        done.push(m.to_string());
        None
    }
    let mut done = Vec::new();
    graph
        .keys()
        .find_map(|m| visit(graph, m, &mut Vec::new(), &mut done))
}

#[test]
fn modules_import_each_other_without_a_cycle() {
    let (graph, _, _) = graph();
    if let Some(cycle) = find_cycle(&graph) {
        let words: Vec<String> = cycle
            .windows(2)
            .map(|w| format!("{}.rs:{} uses {}", w[0], graph[&w[0]][&w[1]], w[1]))
            .collect();
        panic!(
            "import cycle {}: {}",
            cycle.join(" → "),
            words.join(", which ")
        );
    }
}

/// The paragraph of `lib.rs` that starts with "Layers, lowest first" names every module once, in
/// order, and every module uses only modules named before it.
#[test]
fn modules_use_only_the_layers_below_them() {
    let (graph, lib, _) = graph();
    let paragraph: Vec<&str> = lib
        .lines()
        .skip_while(|l| !l.contains("Layers, lowest first"))
        .take_while(|l| l.trim() != "//!" && l.starts_with("//!"))
        .collect();
    assert!(
        !paragraph.is_empty(),
        "lib.rs has no `//! Layers, lowest first` paragraph"
    );
    let order: Vec<String> = paragraph
        .join(" ")
        .split('`')
        .skip(1)
        .step_by(2)
        .filter(|w| graph.contains_key(*w))
        .map(str::to_string)
        .collect();
    for m in graph.keys() {
        let n = order.iter().filter(|o| *o == m).count();
        assert_eq!(
            n, 1,
            "lib.rs's layering names module `{m}` {n} times, not once"
        );
    }
    let rank = |m: &str| order.iter().position(|o| o == m).unwrap();
    for (m, uses) in &graph {
        for (used, line) in uses {
            assert!(
                rank(used) < rank(m),
                "{m}.rs:{line} uses {used}, which lib.rs's layering puts above {m}: {}",
                order.join(" → ")
            );
        }
    }
}

/// `crate::ErrorKind` would hide that the module uses `error`.
#[test]
fn no_module_reaches_another_through_the_crate_root() {
    let (_, _, through_root) = graph();
    assert!(
        through_root.is_empty(),
        "these paths go through a re-export at the crate root, which hides the module they \
         use; name the module (`crate::<module>::Item`):\n{}",
        through_root.join("\n")
    );
}

#[test]
fn the_reader_finds_each_kind_of_path() {
    let modules: Vec<String> = ["a", "b", "c", "d"].map(String::from).to_vec();
    let code = "//! [`x`](crate::d::X)\nuse crate::{\n    b::{X, Y},\n    c,\n};\n\
                mod tests {\n    use super::*;\n    fn f() { super::d::g(); }\n}\n";
    let (refs, through_root) = references("a.rs", "a", code, &modules);
    assert!(through_root.is_empty());
    let found: Vec<(&str, usize)> = refs.iter().map(|(m, l)| (m.as_str(), *l)).collect();
    assert_eq!(found, [("b", 3), ("c", 4), ("d", 8)]);
    let (_, through_root) = references("a.rs", "a", "fn f() -> crate::Item {}", &modules);
    assert_eq!(through_root, ["a.rs:1: crate::Item"]);
    let mut graph = Graph::new();
    for (m, uses) in [("a", vec!["b"]), ("b", vec!["c"]), ("c", vec!["a"])] {
        let uses = uses.into_iter().map(|u| (u.to_string(), 1)).collect();
        graph.insert(m.to_string(), uses);
    }
    assert_eq!(find_cycle(&graph).unwrap(), ["a", "b", "c", "a"]);
    graph.get_mut("c").unwrap().clear();
    assert_eq!(find_cycle(&graph), None);
}
