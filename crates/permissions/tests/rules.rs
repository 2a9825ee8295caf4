//! Folder rules: resolution (inheritance, overrides, added levels, globs), fingerprints, and
//! one validation case per check. Resolution cases are data through one `check` helper.

use permissions::{
    validate, IdentityGraph, IdentityKey, PermissionModel, PermissionRules, Problem, Severity,
    ValidationInput,
};
use serde_json::json;

const RULES: &str = r#"
[[rule]]
path = ""
access = "everyone"

[[rule]]
path = "HR"
access = "only"
groups = ["HR Team"]
users = ["boss@example.com"]
provider = "Email Security Provider"

[[rule]]
path = "HR/Handbook"
mode = "add-level-after"
access = "everyone"
level_name = "Everyone else"

[[rule]]
path = "HR/Payroll"
mode = "add-level-before"
access = "everyone-except"
groups = ["Interns"]

[[rule]]
path = "**/drafts"
access = "only"
virtual_groups = ["Editors"]

[[rule]]
path = "Legal"
access = "complete"
model = [{ name = "Level 1", permissionSets = [{ allowAnonymous = true, deniedPermissions = [{ identity = "Contractors", identityType = "GROUP" }] }] }]
"#;

/// Resolves each path and compares the model's JSON (or `null` when no rule applies) and the
/// rules applied.
fn check(rules: &str, cases: &[(&str, serde_json::Value, &[usize])]) {
    let rules = PermissionRules::from_toml_str(rules).unwrap();
    let compiled = rules.compile().unwrap();
    for (path, expected, expected_rules) in cases {
        let resolved = compiled.resolve(path);
        let actual = resolved
            .as_ref()
            .map(|r| serde_json::to_value(&r.model).unwrap());
        assert_eq!(
            actual.unwrap_or(serde_json::Value::Null),
            *expected,
            "model of {path:?}"
        );
        let applied = resolved.map(|r| r.rules).unwrap_or_default();
        assert_eq!(applied, *expected_rules, "rules applied to {path:?}");
    }
}

fn everyone() -> serde_json::Value {
    json!({"allowAnonymous": true, "allowedPermissions": [], "deniedPermissions": []})
}

fn hr_only() -> serde_json::Value {
    json!({"allowAnonymous": false, "allowedPermissions": [
        {"identity": "HR Team", "identityType": "Group", "securityProvider": "Email Security Provider"},
        {"identity": "boss@example.com", "identityType": "User", "securityProvider": "Email Security Provider"}
    ], "deniedPermissions": []})
}

#[test]
fn rules_are_inherited_overridden_and_extended_by_subfolders() {
    check(
        RULES,
        &[
            ("readme.txt", json!([everyone()]), &[0]),
            ("HR/leave.pdf", json!([hr_only()]), &[0, 1]),
            ("HR/2024/q1/leave.pdf", json!([hr_only()]), &[0, 1]),
            ("HRX/file.pdf", json!([everyone()]), &[0]),
            (
                "HR/Handbook/intro.pdf",
                json!([{"permissionSets": [hr_only()]},
                       {"name": "Everyone else", "permissionSets": [everyone()]}]),
                &[0, 1, 2],
            ),
            (
                "HR/Payroll/2024.xlsx",
                json!([{"permissionSets": [{"allowAnonymous": true, "allowedPermissions": [],
                         "deniedPermissions": [{"identity": "Interns", "identityType": "Group"}]}]},
                       {"permissionSets": [hr_only()]}]),
                &[0, 1, 3],
            ),
            (
                "HR/drafts/new.docx",
                json!([{"allowAnonymous": false, "allowedPermissions": [
                    {"identity": "Editors", "identityType": "VirtualGroup"}], "deniedPermissions": []}]),
                &[0, 1, 4],
            ),
            (
                "Legal/contract.pdf",
                json!([{"name": "Level 1", "permissionSets": [{"allowAnonymous": true, "allowedPermissions": [],
                        "deniedPermissions": [{"identity": "Contractors", "identityType": "Group"}]}]}]),
                &[0, 5],
            ),
            // Windows separators and ./ prefixes name the same files.
            (r".\HR\leave.pdf", json!([hr_only()]), &[0, 1]),
        ],
    );
}

#[test]
fn a_glob_applies_at_the_shallowest_folder_it_matches_and_no_rule_means_none() {
    check(
        r#"
[[rule]]
path = "*/archive"
access = "everyone"

[[rule]]
path = "Team"
access = "only"
groups = ["Team"]
"#,
        &[
            ("top.txt", serde_json::Value::Null, &[]),
            // The glob matches at depth 2, after the folder rule at depth 1: it wins.
            ("Team/archive/old.pdf", json!([everyone()]), &[1, 0]),
            // `*` does not cross `/`.
            (
                "Team/x/archive/old.pdf",
                json!([{"allowAnonymous": false, "allowedPermissions": [
                {"identity": "Team", "identityType": "Group"}], "deniedPermissions": []}]),
                &[1],
            ),
        ],
    );
}

#[test]
fn fingerprints_are_stable_and_change_with_the_model() {
    let rules = PermissionRules::from_toml_str(RULES)
        .unwrap()
        .compile()
        .unwrap();
    let a = rules.resolve("HR/a.pdf").unwrap();
    let b = rules.resolve("HR/b/c.pdf").unwrap();
    let c = rules.resolve("readme.txt").unwrap();
    assert_eq!(a.fingerprint, b.fingerprint);
    assert_ne!(a.fingerprint, c.fingerprint);
    assert_eq!(a.fingerprint.len(), 64);
    // A fixed value: the fingerprint must not change between versions for the same JSON, or
    // every item would be re-pushed after an upgrade.
    let model: PermissionModel = serde_json::from_value(json!([everyone()])).unwrap();
    assert_eq!(c.fingerprint, permissions::fingerprint(&model));
    assert_eq!(
        c.fingerprint,
        // printf '%s' '<that JSON>' | sha256sum
        "bb782f893c21c67ba33f87b223bb5080850809bc5a7220f22229caa9735a23f0",
        "canonical JSON: {}",
        serde_json::to_string(&model).unwrap()
    );
}

#[test]
fn rules_round_trip_through_toml() {
    let rules = PermissionRules::from_toml_str(RULES).unwrap();
    let text = rules.to_toml_string().unwrap();
    assert_eq!(
        PermissionRules::from_toml_str(&text).unwrap(),
        rules,
        "{text}"
    );
}

#[test]
fn unknown_keys_and_values_are_refused_with_the_place_and_the_choices() {
    let error = PermissionRules::from_toml_str(
        "[[rule]]\npath = \"x\"\naccess = \"everyone\"\ngroup = [\"a\"]\n",
    )
    .unwrap_err()
    .to_string();
    assert!(
        error.contains("unknown field `group`") && error.contains("groups"),
        "{error}"
    );
    let error = PermissionRules::from_toml_str("[[rule]]\npath = \"x\"\naccess = \"some\"\n")
        .unwrap_err()
        .to_string();
    assert!(error.contains("everyone-except"), "{error}");
}

// ---- validation: one case per check -----------------------------------------------------

fn graph() -> IdentityGraph {
    let mut graph = IdentityGraph::new();
    graph.add_member(
        &IdentityKey::group("P", "HR Team"),
        &IdentityKey::user("P", "hr1@example.com"),
    );
    graph.add_member(
        &IdentityKey::group("P", "Empty parent"),
        &IdentityKey::group("P", "Nobody"),
    );
    graph
}

fn problems(rules: &str, paths: Option<&[String]>, secured: bool) -> Vec<Problem> {
    let rules = PermissionRules::from_toml_str(rules).unwrap();
    let graph = graph();
    let input = ValidationInput {
        graph: Some(&graph),
        default_provider: "P",
        secured,
        paths,
    };
    validate(&rules, &input)
}

fn codes(problems: &[Problem]) -> Vec<(Severity, &str)> {
    problems
        .iter()
        .map(|p| (p.severity, p.code.as_str()))
        .collect()
}

#[test]
fn valid_rules_have_no_problem() {
    let paths = vec!["HR/a.pdf".to_owned(), "b.pdf".to_owned()];
    let found = problems(
        "[[rule]]\npath = \"\"\naccess = \"everyone\"\n[[rule]]\npath = \"HR\"\naccess = \"only\"\ngroups = [\"HR Team\"]\n",
        Some(&paths),
        true,
    );
    assert!(found.is_empty(), "{found:?}");
}

#[test]
fn an_identity_unknown_to_the_provider_is_a_warning() {
    let found = problems(
        "[[rule]]\npath = \"\"\naccess = \"everyone-except\"\ngroups = [\"HR Teem\"]\n",
        None,
        false,
    );
    assert_eq!(codes(&found), [(Severity::Warning, "unknown-identity")]);
    assert!(
        found[0]
            .message
            .contains("group \"HR Teem\" is unknown to provider \"P\""),
        "{}",
        found[0]
    );
    assert!(found[0].message.contains("correct the spelling"));
}

#[test]
fn more_than_5000_permissions_is_an_error() {
    let users: Vec<String> = (0..5001).map(|i| format!("\"u{i}@example.com\"")).collect();
    let rules = format!(
        "[[rule]]\npath = \"\"\naccess = \"everyone-except\"\nprovider = \"Email\"\nusers = [{}]\n",
        users.join(",")
    );
    let found = problems(&rules, None, false);
    assert_eq!(codes(&found), [(Severity::Error, "too-many-permissions")]);
    assert!(
        found[0].message.contains("5001 permissions"),
        "{}",
        found[0]
    );
}

#[test]
fn added_levels_can_exceed_the_limit_together() {
    let half: Vec<String> = (0..2600).map(|i| format!("\"u{i}@example.com\"")).collect();
    let rules = format!(
        "[[rule]]\npath = \"\"\naccess = \"only\"\nprovider = \"Email\"\nusers = [{0}]\n\
         [[rule]]\npath = \"A\"\nmode = \"add-level-after\"\naccess = \"everyone-except\"\nprovider = \"Email\"\nusers = [{0}]\n",
        half.join(",")
    );
    let paths = vec!["A/x.pdf".to_owned()];
    let found = problems(&rules, Some(&paths), false);
    assert_eq!(codes(&found), [(Severity::Error, "too-many-permissions")]);
    assert!(found[0].message.contains("\"A/x.pdf\""), "{}", found[0]);
}

#[test]
fn a_secured_source_where_nobody_could_see_is_a_warning() {
    // "Nobody" is a known group without members: no known user is allowed.
    let found = problems(
        "[[rule]]\npath = \"\"\naccess = \"only\"\ngroups = [\"Nobody\"]\n",
        None,
        true,
    );
    assert_eq!(codes(&found), [(Severity::Warning, "nobody-can-see")]);
    // A complete model that cannot allow anybody at all.
    let found = problems(
        "[[rule]]\npath = \"\"\naccess = \"complete\"\nmodel = [{ allowAnonymous = false }]\n",
        None,
        true,
    );
    assert_eq!(codes(&found), [(Severity::Warning, "nobody-can-see")]);
    assert!(
        found[0].message.contains("no viewer can satisfy it"),
        "{}",
        found[0]
    );
    // On a shared source, permissions are not enforced: no warning.
    assert!(problems(
        "[[rule]]\npath = \"\"\naccess = \"only\"\ngroups = [\"Nobody\"]\n",
        None,
        false
    )
    .is_empty());
}

#[test]
fn files_without_any_rule_on_a_secured_source_are_a_warning() {
    let paths = vec![
        "HR/a.pdf".to_owned(),
        "other/b.pdf".to_owned(),
        "c.pdf".to_owned(),
    ];
    let found = problems(
        "[[rule]]\npath = \"HR\"\naccess = \"only\"\ngroups = [\"HR Team\"]\n",
        Some(&paths),
        true,
    );
    assert_eq!(codes(&found), [(Severity::Warning, "no-rule-applies")]);
    assert!(found[0].message.contains("2 file(s)"), "{}", found[0]);
}

#[test]
fn a_rule_that_matches_nothing_is_a_warning() {
    let paths = vec!["HR/a.pdf".to_owned()];
    let found = problems(
        "[[rule]]\npath = \"\"\naccess = \"everyone\"\n[[rule]]\npath = \"hr\"\naccess = \"only\"\ngroups = [\"HR Team\"]\n",
        Some(&paths),
        false,
    );
    assert_eq!(codes(&found), [(Severity::Warning, "rule-matches-nothing")]);
    assert_eq!(found[0].rule, Some(1));
    assert!(found[0].message.contains("letter case"), "{}", found[0]);
}

#[test]
fn malformed_rules_are_errors_that_say_what_to_do_and_the_rest_is_still_checked() {
    let found = problems(
        "[[rule]]\npath = \"[\"\naccess = \"everyone\"\n\
         [[rule]]\npath = \"A\"\naccess = \"everyone\"\ngroups = [\"x\"]\n\
         [[rule]]\npath = \"B\"\naccess = \"only\"\n\
         [[rule]]\npath = \"C\"\naccess = \"complete\"\n\
         [[rule]]\npath = \"../up\"\naccess = \"everyone\"\n\
         [[rule]]\npath = \"D\"\naccess = \"only\"\ngroups = [\"Unknown one\"]\n\
         [[rule]]\npath = \"E\"\naccess = \"deny\"\ngroups = [\"HR Team\"]\n",
        None,
        false,
    );
    assert_eq!(
        codes(&found),
        [
            (Severity::Error, "invalid-path"),
            (Severity::Error, "invalid-rule"),
            (Severity::Error, "invalid-rule"),
            (Severity::Error, "invalid-rule"),
            (Severity::Error, "invalid-path"),
            (Severity::Error, "invalid-rule"),
            (Severity::Warning, "unknown-identity"),
        ]
    );
    assert!(
        found[5].message.contains("mode = \"add-level-before\""),
        "{}",
        found[5]
    );
    assert!(
        found[1]
            .message
            .contains("remove them, or use access = \"only\""),
        "{}",
        found[1]
    );
    assert!(found[2].message.contains("names nobody"), "{}", found[2]);
    assert!(found[3].message.contains("needs a `model`"), "{}", found[3]);
    let error = PermissionRules::from_toml_str("[[rule]]\npath = \"B\"\naccess = \"only\"\n")
        .unwrap()
        .compile()
        .unwrap_err();
    assert!(
        error.to_string().starts_with("error: rule 1 (\"B\")"),
        "{error}"
    );
}

#[test]
fn a_rule_replaced_by_a_later_one_on_the_same_path_is_a_warning() {
    let found = problems(
        "[[rule]]\npath = \"A\"\naccess = \"everyone\"\n[[rule]]\npath = \"A/\"\naccess = \"only\"\ngroups = [\"HR Team\"]\n",
        None,
        false,
    );
    assert_eq!(codes(&found), [(Severity::Warning, "shadowed-rule")]);
    assert_eq!(found[0].rule, Some(0));
}
