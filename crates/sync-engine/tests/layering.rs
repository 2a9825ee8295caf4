//! The modules of `src/` depend one way: no module uses another that (directly or around a
//! circle) uses it back. The layering is written in `src/lib.rs`.
//!
//! How edges are found: each `src/*.rs` file is a module (`lib.rs` excepted); every
//! `crate::<module>` path in its code is an edge to that module, `use crate::{a, b}` groups
//! included. Not counted, on purpose:
//! - `#[cfg(test)] mod tests { ... }` blocks: unit tests may reach anywhere in the crate
//!   (fixtures from a higher module), and they are not part of the layering;
//! - comments, doc comments included: a doc link to another module is not a dependency.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// One edge: `from` uses `to`, first seen at `line` of `from`'s file.
type Edges = BTreeMap<String, BTreeMap<String, usize>>;

/// The source as code alone: comments removed, the contents of string and character literals
/// blanked, and `#[cfg(test)] mod ... { ... }` blocks removed. Line breaks are kept, so line
/// numbers stay right.
fn code_only(text: &str) -> String {
    let blanked = strip_comments_and_literals(text);
    let mut out = String::new();
    let mut lines = blanked.lines().peekable();
    while let Some(line) = lines.next() {
        let is_test_mod = line.trim() == "#[cfg(test)]"
            && lines
                .peek()
                .is_some_and(|next| next.trim_start().starts_with("mod ") && next.contains('{'));
        if !is_test_mod {
            out.push_str(line);
            out.push('\n');
            continue;
        }
        // Skip the attribute and the module, braces balanced (literals are blanked).
        out.push('\n');
        let mut depth = 0i64;
        for body in lines.by_ref() {
            out.push('\n');
            depth += body.matches('{').count() as i64;
            depth -= body.matches('}').count() as i64;
            if depth <= 0 && body.contains('}') {
                break;
            }
        }
    }
    out
}

/// Rust source with comments removed and literal contents replaced by spaces (newlines kept):
/// `// ...`, `/* ... */` (nested), `"..."` with escapes, raw strings `r#"..."#`, byte strings,
/// and character literals (told apart from lifetimes).
fn strip_comments_and_literals(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let blank = |c: char| if c == '\n' { '\n' } else { ' ' };
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let next = chars.get(i + 1).copied();
        if c == '/' && next == Some('/') {
            while i < chars.len() && chars[i] != '\n' {
                i += 1;
            }
        } else if c == '/' && next == Some('*') {
            let mut depth = 0;
            while i < chars.len() {
                if chars[i] == '/' && chars.get(i + 1) == Some(&'*') {
                    depth += 1;
                    i += 2;
                } else if chars[i] == '*' && chars.get(i + 1) == Some(&'/') {
                    depth -= 1;
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    out.push(blank(chars[i]));
                    i += 1;
                }
            }
        } else if c == 'r'
            && matches!(next, Some('"') | Some('#'))
            && !chars[..i]
                .last()
                .is_some_and(|p| p.is_ascii_alphanumeric() || *p == '_')
        {
            // A raw string: r"...", r#"..."#, ...
            let mut j = i + 1;
            let mut hashes = 0;
            while chars.get(j) == Some(&'#') {
                hashes += 1;
                j += 1;
            }
            if chars.get(j) != Some(&'"') {
                out.push(c);
                i += 1;
                continue;
            }
            out.push('"');
            j += 1;
            loop {
                match chars.get(j) {
                    None => break,
                    Some('"') if (0..hashes).all(|k| chars.get(j + 1 + k) == Some(&'#')) => {
                        j += 1 + hashes;
                        break;
                    }
                    Some(&other) => {
                        out.push(blank(other));
                        j += 1;
                    }
                }
            }
            out.push('"');
            i = j;
        } else if c == '"' {
            out.push('"');
            i += 1;
            while i < chars.len() && chars[i] != '"' {
                if chars[i] == '\\' {
                    out.push(' ');
                    i += 1;
                }
                if i < chars.len() {
                    out.push(blank(chars[i]));
                    i += 1;
                }
            }
            out.push('"');
            i += 1;
        } else if c == '\'' {
            // A character literal ('x', '\n', '\u{..}') or a lifetime ('a).
            let close = if next == Some('\\') {
                (i + 2..chars.len().min(i + 12)).find(|&k| chars[k] == '\'')
            } else if chars.get(i + 2) == Some(&'\'') {
                Some(i + 2)
            } else {
                None
            };
            match close {
                Some(k) => {
                    out.push_str("' '");
                    i = k + 1;
                }
                None => {
                    out.push(c);
                    i += 1;
                }
            }
        } else {
            out.push(c);
            i += 1;
        }
    }
    out
}

/// The modules `code` names as `crate::<module>`, with the first line of each.
fn references(code: &str, modules: &BTreeSet<String>) -> BTreeMap<String, usize> {
    let mut out = BTreeMap::new();
    let ident = |s: &str| -> String {
        s.chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect()
    };
    for (n, line) in code.lines().enumerate() {
        let mut rest = line;
        while let Some(i) = rest.find("crate::") {
            // `pushdeck_crate::x` or `some_crate::x` are not this crate.
            let before = rest[..i].chars().last();
            rest = &rest[i + "crate::".len()..];
            if before.is_some_and(|c| c.is_ascii_alphanumeric() || c == '_') {
                continue;
            }
            let mut names = Vec::new();
            if let Some(group) = rest.strip_prefix('{') {
                // `crate::{a::X, b}`: the group's top-level names (on this line).
                let mut depth = 0;
                let mut start = true;
                for (k, c) in group.char_indices() {
                    match c {
                        '{' => depth += 1,
                        '}' if depth == 0 => break,
                        '}' => depth -= 1,
                        ',' if depth == 0 => start = true,
                        c if start && !c.is_whitespace() => {
                            start = false;
                            names.push(ident(&group[k..]));
                        }
                        _ => {}
                    }
                }
            } else {
                names.push(ident(rest));
            }
            for name in names {
                if modules.contains(&name) {
                    out.entry(name).or_insert(n + 1);
                }
            }
        }
    }
    out
}

fn edges(src: &Path) -> Edges {
    let mut files = BTreeMap::new();
    for entry in std::fs::read_dir(src).expect("src/ can be listed") {
        let path = entry.expect("src/ entry").path();
        if path.extension().is_some_and(|e| e == "rs") {
            let name = path.file_stem().unwrap().to_string_lossy().into_owned();
            if name != "lib" {
                files.insert(name, std::fs::read_to_string(&path).expect("readable"));
            }
        }
    }
    let modules: BTreeSet<String> = files.keys().cloned().collect();
    files
        .iter()
        .map(|(name, text)| {
            let mut refs = references(&code_only(text), &modules);
            refs.remove(name);
            (name.clone(), refs)
        })
        .collect()
}

/// A cycle of `edges` as its modules in order (the first repeated at the end), if any.
fn find_cycle(edges: &Edges) -> Option<Vec<String>> {
    #[derive(Clone, Copy, PartialEq)]
    enum Mark {
        New,
        Open,
        Done,
    }
    fn visit(
        node: &str,
        edges: &Edges,
        marks: &mut BTreeMap<String, Mark>,
        path: &mut Vec<String>,
    ) -> Option<Vec<String>> {
        marks.insert(node.to_string(), Mark::Open);
        path.push(node.to_string());
        for next in edges.get(node).into_iter().flat_map(|m| m.keys()) {
            match marks.get(next).copied().unwrap_or(Mark::New) {
                Mark::Open => {
                    let start = path.iter().position(|p| p == next).unwrap_or(0);
                    let mut cycle = path[start..].to_vec();
                    cycle.push(next.clone());
                    return Some(cycle);
                }
                Mark::New => {
                    if let Some(c) = visit(next, edges, marks, path) {
                        return Some(c);
                    }
                }
                Mark::Done => {}
            }
        }
        path.pop();
        marks.insert(node.to_string(), Mark::Done);
        None
    }
    let mut marks = BTreeMap::new();
    for node in edges.keys() {
        if marks.get(node).copied().unwrap_or(Mark::New) == Mark::New {
            if let Some(c) = visit(node, edges, &mut marks, &mut Vec::new()) {
                return Some(c);
            }
        }
    }
    None
}

/// The cycle in words: "config uses scan (config.rs line 48), then scan uses config (...)".
fn describe(cycle: &[String], edges: &Edges) -> String {
    cycle
        .windows(2)
        .map(|w| {
            format!(
                "{} uses {} ({}.rs line {})",
                w[0], w[1], w[0], edges[&w[0]][&w[1]]
            )
        })
        .collect::<Vec<_>>()
        .join(", then ")
}

/// Modules in layers, lowest first: each uses only modules of earlier layers.
fn layers(edges: &Edges) -> Vec<Vec<String>> {
    let mut placed: BTreeSet<String> = BTreeSet::new();
    let mut out = Vec::new();
    while placed.len() < edges.len() {
        let layer: Vec<String> = edges
            .iter()
            .filter(|(m, uses)| !placed.contains(*m) && uses.keys().all(|u| placed.contains(u)))
            .map(|(m, _)| m.clone())
            .collect();
        assert!(!layer.is_empty(), "layers of a graph with a cycle");
        placed.extend(layer.iter().cloned());
        out.push(layer);
    }
    out
}

#[test]
fn modules_depend_one_way() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let edges = edges(&src);
    assert!(
        edges.len() > 5,
        "too few modules found in {}",
        src.display()
    );
    if let Some(cycle) = find_cycle(&edges) {
        panic!(
            "the modules of src/ use each other around a circle: {}. Move the shared items to the lower module (see the layering in src/lib.rs).",
            describe(&cycle, &edges)
        );
    }
    for (n, layer) in layers(&edges).iter().enumerate() {
        println!("layer {n}: {}", layer.join(", "));
    }
}

#[test]
fn the_checker_sees_a_circle() {
    let code = "use crate::{scan::{A, B}, state};\nfn f() { crate::plan::g(); }\n// crate::engine in a comment\nconst S: &str = \"crate::engine } in a string\";\n#[cfg(test)]\nmod tests {\n    use crate::config::X;\n    const T: &str = r#\"{ \"crate::engine\" \"#;\n    const C: char = '{';\n}\nfn h<'a>() { crate::engine::go(); }\n";
    let modules: BTreeSet<String> = ["scan", "state", "plan", "engine", "config"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    let refs = references(&code_only(code), &modules);
    assert_eq!(
        refs.into_iter().collect::<Vec<_>>(),
        vec![
            ("engine".to_string(), 11),
            ("plan".to_string(), 2),
            ("scan".to_string(), 1),
            ("state".to_string(), 1)
        ]
    );
    let mut edges = Edges::new();
    edges.entry("a".into()).or_default().insert("b".into(), 3);
    edges.entry("b".into()).or_default().insert("c".into(), 4);
    edges.entry("c".into()).or_default().insert("a".into(), 5);
    let cycle = find_cycle(&edges).expect("a cycle");
    assert_eq!(
        describe(&cycle, &edges),
        "a uses b (a.rs line 3), then b uses c (b.rs line 4), then c uses a (c.rs line 5)"
    );
    edges.get_mut("c").unwrap().clear();
    assert_eq!(find_cycle(&edges), None);
}
