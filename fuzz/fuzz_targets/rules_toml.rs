//! Folder rules (TOML): reading never panics; what reads writes back to TOML that reads to
//! the same rules; compiling, resolving and validating never panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use permissions::{validate, IdentityGraph, IdentityKey, PermissionRules, ValidationInput};

const PATHS: &[&str] = &[
    "",
    "a.pdf",
    "HR/x.pdf",
    "HR/sub/deep/y.docx",
    "drafts/z",
    r"win\path\f.txt",
];

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(rules) = PermissionRules::from_toml_str(text) else {
        return;
    };
    if let Ok(written) = rules.to_toml_string() {
        let again = PermissionRules::from_toml_str(&written).expect("written TOML reads back");
        assert_eq!(
            again, rules,
            "TOML round trip changed the rules:\n{written}"
        );
    }
    if let Ok(compiled) = rules.compile() {
        for path in PATHS {
            if let Some(resolved) = compiled.resolve(path) {
                assert_eq!(
                    resolved.fingerprint,
                    permissions::fingerprint(&resolved.model)
                );
            }
        }
    }
    let mut graph = IdentityGraph::new();
    graph.add_member(&IdentityKey::group("P", "HR"), &IdentityKey::user("P", "u"));
    let paths: Vec<String> = PATHS.iter().map(|p| (*p).to_owned()).collect();
    let input = ValidationInput {
        graph: Some(&graph),
        default_provider: "P",
        secured: true,
        paths: Some(&paths),
    };
    for problem in validate(&rules, &input) {
        assert!(!problem.message.is_empty());
    }
});
