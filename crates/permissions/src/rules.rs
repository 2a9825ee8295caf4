//! Folder rules: how a person maps folders to permission models, stored in Pushdeck's
//! configuration (TOML) and edited in the UI.
//!
//! ```toml
//! [[rule]]
//! path = ""                       # the root: every file
//! access = "everyone"
//!
//! [[rule]]
//! path = "HR"                     # HR and everything below it
//! access = "only"                 # these groups and users
//! groups = ["HR Team"]
//! users = ["boss@example.com"]
//! provider = "Email Security Provider"   # optional: else the source's provider
//!
//! [[rule]]
//! path = "HR/Handbook"            # a subfolder inherits HR's rule, and adds a level:
//! mode = "add-level-after"        # HR Team still decides first; everyone else may read
//! access = "everyone"
//!
//! [[rule]]
//! path = "HR/Payroll"             # interns never, whatever HR's rule says; the
//! mode = "add-level-before"       # others are still decided by HR's rule
//! access = "deny"
//! groups = ["Interns"]
//!
//! [[rule]]
//! path = "**/drafts"              # a glob: any folder named drafts (or a file)
//! access = "everyone-except"
//! groups = ["Contractors"]
//!
//! [[rule]]
//! path = "Legal"
//! access = "complete"             # the full model, as the Push API spells it
//! model = [{ name = "Level 1", permissionSets = [{ allowAnonymous = true }] }]
//! ```
//!
//! Resolving a file's relative path applies every rule that matches the file or one of its
//! folders, from the root down (a rule at `HR/Handbook` after one at `HR`; rules that match
//! the same folder in file order). A `replace` rule (the default) replaces what was inherited;
//! `add-level-before` / `add-level-after` add its permission level(s) before (taking
//! precedence) or after (consulted only when the inherited levels decide nothing) the
//! inherited ones. Each rule applies at most once per file, at the shallowest folder it
//! matches. Paths are relative, `/`-separated and compared case-sensitively.

use std::collections::{BTreeMap, HashMap};
use std::fmt;

use globset::{GlobBuilder, GlobMatcher};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::evaluate::{AccessContext, AccessIndex};
use crate::graph::{IdentityGraph, IdentityKey, Viewer};
use crate::model::{
    IdentityType, PermissionIdentity, PermissionLevel, PermissionModel, PermissionSet,
};

/// The service rejects (later, asynchronously) an item of a secured source naming more than
/// this many permission entries (reference §3.4, DOCS 63).
pub const MAX_PERMISSIONS_PER_ITEM: usize = 5_000;

/// The folder rules of one mapped folder. In TOML, an array of `[[rule]]` tables (the sync
/// engine embeds [`FolderRule`]s under its own key).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PermissionRules {
    #[serde(default, rename = "rule")]
    pub rules: Vec<FolderRule>,
}

/// One rule: which files (folder path or glob), which access, and how it combines with what
/// a parent folder's rule gives.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FolderRule {
    /// A folder or file path relative to the mapped folder (`""` for the root), or a glob
    /// (`**/drafts`, `*.secret.pdf`; `*` does not cross `/`).
    pub path: String,
    #[serde(default, skip_serializing_if = "is_default")]
    pub mode: RuleMode,
    pub access: AccessChoice,
    /// Groups named by `only` and `everyone-except`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub groups: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub virtual_groups: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub users: Vec<String>,
    /// The provider of the named groups and users; absent means the source's provider.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider: Option<String>,
    /// Names the permission level this rule produces (shown in explanations).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub level_name: Option<String>,
    /// The permission model of `access = "complete"` (Push API JSON shape, in TOML).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<PermissionModel>,
}

fn is_default<T: Default + PartialEq>(value: &T) -> bool {
    *value == T::default()
}

/// How a rule combines with the rules of the folders above it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum RuleMode {
    /// Replace what was inherited.
    #[default]
    Replace,
    /// Add this rule's level(s) before the inherited ones: they decide first.
    AddLevelBefore,
    /// Add this rule's level(s) after the inherited ones: consulted only for viewers the
    /// inherited levels neither allow nor deny.
    AddLevelAfter,
}

/// The plain choices of the UI, plus the full model.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum AccessChoice {
    /// Anyone, signed in or not: `allowAnonymous`.
    Everyone,
    /// Only the named groups and users.
    Only,
    /// Anyone except the named groups and users: `allowAnonymous` plus denials.
    EveryoneExcept,
    /// Deny the named groups and users, decide nothing for anyone else: a level for
    /// `mode = "add-level-before"`, so that the inherited levels decide for the others.
    Deny,
    /// The permission model in `model`.
    Complete,
}

impl PermissionRules {
    /// Reads `[[rule]]` tables. The error says where and what is wrong (TOML line and column,
    /// or the unknown key and the keys allowed).
    pub fn from_toml_str(text: &str) -> Result<Self, toml::de::Error> {
        toml::from_str(text)
    }

    pub fn to_toml_string(&self) -> Result<String, toml::ser::Error> {
        toml::to_string(self)
    }

    /// Checks and compiles the rules. Errors are the [`Severity::Error`] problems of
    /// [`validate`] that make a rule meaningless (bad glob, missing names or model).
    pub fn compile(&self) -> Result<CompiledRules, RulesError> {
        let mut problems = Vec::new();
        let mut compiled = Vec::with_capacity(self.rules.len());
        for (index, rule) in self.rules.iter().enumerate() {
            match compile_rule(index, rule) {
                Ok(rule) => compiled.push(rule),
                Err(mut p) => problems.append(&mut p),
            }
        }
        if problems.is_empty() {
            Ok(CompiledRules { rules: compiled })
        } else {
            Err(RulesError { problems })
        }
    }
}

impl FolderRule {
    /// The permission model this rule gives on its own (without inheritance), or a message
    /// saying what to fix.
    pub fn own_model(&self) -> Result<PermissionModel, String> {
        let identities: Vec<PermissionIdentity> = [
            (IdentityType::Group, &self.groups),
            (IdentityType::VirtualGroup, &self.virtual_groups),
            (IdentityType::User, &self.users),
        ]
        .into_iter()
        .flat_map(|(identity_type, names)| {
            names.iter().map(move |name| PermissionIdentity {
                identity: name.clone(),
                identity_type,
                security_provider: self.provider.clone(),
            })
        })
        .collect();
        let named = !identities.is_empty();
        let ignored = |what: &str| {
            format!(
                "access = \"{what}\" does not use groups, virtual_groups or users; remove them, \
                 or use access = \"only\" or \"everyone-except\""
            )
        };
        let set = match self.access {
            AccessChoice::Everyone if named => return Err(ignored("everyone")),
            AccessChoice::Complete if named => return Err(ignored("complete")),
            _ if self.model.is_some() && self.access != AccessChoice::Complete => {
                return Err(
                    "`model` is only read with access = \"complete\"; remove it or set \
                            access = \"complete\""
                        .to_owned(),
                );
            }
            AccessChoice::Complete => {
                return self.model.clone().ok_or_else(|| {
                    "access = \"complete\" needs a `model` (the Push API permissions array)"
                        .to_owned()
                });
            }
            AccessChoice::Everyone => PermissionSet {
                allow_anonymous: true,
                ..Default::default()
            },
            AccessChoice::Only if !named => {
                return Err(
                    "access = \"only\" names nobody; add groups or users, or use \
                            access = \"everyone\""
                        .to_owned(),
                );
            }
            AccessChoice::Only => PermissionSet {
                allow_anonymous: false,
                allowed_permissions: identities,
                denied_permissions: Vec::new(),
            },
            AccessChoice::EveryoneExcept if !named => {
                return Err(
                    "access = \"everyone-except\" names nobody to exclude; add groups or \
                            users, or use access = \"everyone\""
                        .to_owned(),
                );
            }
            AccessChoice::Deny if self.mode != RuleMode::AddLevelBefore => {
                return Err(
                    "access = \"deny\" decides nothing for anyone else, so alone (or \
                            after other levels) nobody could see the files; use it with \
                            mode = \"add-level-before\", or use access = \"everyone-except\""
                        .to_owned(),
                );
            }
            AccessChoice::Deny if !named => {
                return Err("access = \"deny\" names nobody; add groups or users".to_owned());
            }
            AccessChoice::Deny => PermissionSet {
                allow_anonymous: false,
                allowed_permissions: Vec::new(),
                denied_permissions: identities,
            },
            AccessChoice::EveryoneExcept => PermissionSet {
                allow_anonymous: true,
                allowed_permissions: Vec::new(),
                denied_permissions: identities,
            },
        };
        Ok(match &self.level_name {
            None => PermissionModel::Simple(vec![set]),
            Some(name) => PermissionModel::Complete(vec![PermissionLevel {
                name: Some(name.clone()),
                permission_sets: vec![set],
            }]),
        })
    }
}

/// How bad a problem is: an error makes the rules unusable, a warning is worth a look.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Severity {
    Warning,
    Error,
}

/// One finding of [`validate`]: a stable `code` for programs, a `message` for people that
/// says what to do.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Problem {
    pub severity: Severity,
    /// Stable: `invalid-rule`, `invalid-path`, `unknown-identity`, `too-many-permissions`,
    /// `nobody-can-see`, `no-rule-applies`, `rule-matches-nothing`, `shadowed-rule`.
    pub code: String,
    /// The rule concerned (position in the list), if one.
    pub rule: Option<usize>,
    pub message: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let severity = match self.severity {
            Severity::Warning => "warning",
            Severity::Error => "error",
        };
        write!(f, "{severity}: {}", self.message)
    }
}

fn problem(severity: Severity, code: &str, rule: Option<usize>, message: String) -> Problem {
    Problem {
        severity,
        code: code.to_owned(),
        rule,
        message,
    }
}

/// Rules that cannot be compiled; every problem is listed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RulesError {
    pub problems: Vec<Problem>,
}

impl std::error::Error for RulesError {}

impl fmt::Display for RulesError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let lines: Vec<String> = self.problems.iter().map(ToString::to_string).collect();
        f.write_str(&lines.join("; "))
    }
}

/// What a rule's `path` matches.
#[derive(Debug, Clone)]
enum Matcher {
    /// A plain path: these components, and everything below.
    Prefix(Vec<String>),
    Glob(GlobMatcher),
}

#[derive(Debug, Clone)]
struct CompiledRule {
    index: usize,
    matcher: Matcher,
    mode: RuleMode,
    /// The rule's own model as levels, each marked "from a simple model without a name", so
    /// that a lone simple model resolves back to the simple model.
    levels: Vec<(PermissionLevel, bool)>,
}

fn is_glob(path: &str) -> bool {
    path.contains(['*', '?', '[', '{'])
}

/// `./a//b/` and `a\b` → `["a", "b"]`; `""`, `"."`, `"/"` → `[]` (the root).
fn components(path: &str) -> Vec<&str> {
    path.split(['/', '\\'])
        .filter(|c| !c.is_empty() && *c != ".")
        .collect()
}

fn describe(index: usize, rule: &FolderRule) -> String {
    if rule.path.is_empty() {
        format!("rule {} (the root)", index + 1)
    } else {
        format!("rule {} ({:?})", index + 1, rule.path)
    }
}

fn compile_rule(index: usize, rule: &FolderRule) -> Result<CompiledRule, Vec<Problem>> {
    let mut problems = Vec::new();
    let matcher = if is_glob(&rule.path) {
        let pattern = components(&rule.path).join("/");
        match GlobBuilder::new(&pattern).literal_separator(true).build() {
            Ok(glob) => Some(Matcher::Glob(glob.compile_matcher())),
            Err(e) => {
                problems.push(problem(
                    Severity::Error,
                    "invalid-path",
                    Some(index),
                    format!(
                        "{}: {:?} is not a valid glob ({e}); fix the pattern, or escape the \
                         character with [ ] to match it literally",
                        describe(index, rule),
                        rule.path
                    ),
                ));
                None
            }
        }
    } else if components(&rule.path).contains(&"..") {
        problems.push(problem(
            Severity::Error,
            "invalid-path",
            Some(index),
            format!(
                "{}: paths are relative to the mapped folder and cannot go above it with `..`",
                describe(index, rule)
            ),
        ));
        None
    } else {
        Some(Matcher::Prefix(
            components(&rule.path)
                .into_iter()
                .map(str::to_owned)
                .collect(),
        ))
    };
    let levels = match rule.own_model() {
        Ok(model) => Some(model_levels(model)),
        Err(message) => {
            problems.push(problem(
                Severity::Error,
                "invalid-rule",
                Some(index),
                format!("{}: {message}", describe(index, rule)),
            ));
            None
        }
    };
    match (matcher, levels) {
        (Some(matcher), Some(levels)) if problems.is_empty() => Ok(CompiledRule {
            index,
            matcher,
            mode: rule.mode,
            levels,
        }),
        _ => Err(problems),
    }
}

fn model_levels(model: PermissionModel) -> Vec<(PermissionLevel, bool)> {
    match model {
        PermissionModel::Simple(sets) => {
            vec![(
                PermissionLevel {
                    name: None,
                    permission_sets: sets,
                },
                true,
            )]
        }
        PermissionModel::Complete(levels) => levels.into_iter().map(|l| (l, false)).collect(),
    }
}

/// The SHA-256 (hex) of a model's canonical JSON: equal models give equal fingerprints, on
/// every machine and every run; any change to the JSON the Push API would receive changes it.
/// The sync engine stores it to notice permission changes without storing models.
pub fn fingerprint(model: &PermissionModel) -> String {
    // Serializing a model cannot fail (no maps with non-string keys, no foreign types); an
    // empty input would still give a well-defined hash.
    let json = serde_json::to_vec(model).unwrap_or_default();
    hex::encode(Sha256::digest(&json))
}

/// The permissions a file gets from the rules.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ResolvedPermissions {
    pub model: PermissionModel,
    /// [`fingerprint`] of `model`.
    pub fingerprint: String,
    /// The rules applied, in the order applied (positions in the rule list).
    pub rules: Vec<usize>,
}

/// Rules ready to resolve paths (globs compiled, own models built).
#[derive(Debug, Clone)]
pub struct CompiledRules {
    rules: Vec<CompiledRule>,
}

impl CompiledRules {
    /// The rules that apply to `relative_path`, in application order, each with the depth
    /// (number of path components) of the folder where it applies.
    fn applicable(&self, relative_path: &str) -> Vec<(usize, &CompiledRule)> {
        let parts = components(relative_path);
        let mut applicable: Vec<(usize, &CompiledRule)> = self
            .rules
            .iter()
            .filter_map(|rule| {
                let depth = match &rule.matcher {
                    Matcher::Prefix(prefix) => (prefix.len() <= parts.len()
                        && prefix.iter().zip(&parts).all(|(a, b)| a == b))
                    .then_some(prefix.len()),
                    // The shallowest folder (or the file itself) the glob matches.
                    Matcher::Glob(glob) => {
                        (1..=parts.len()).find(|depth| glob.is_match(parts[..*depth].join("/")))
                    }
                }?;
                Some((depth, rule))
            })
            .collect();
        applicable.sort_by_key(|(depth, rule)| (*depth, rule.index));
        applicable
    }

    /// The rules (positions) that apply to `relative_path`, in the order they are applied.
    pub fn matching_rules(&self, relative_path: &str) -> Vec<usize> {
        self.applicable(relative_path)
            .into_iter()
            .map(|(_, r)| r.index)
            .collect()
    }

    /// The permission model of the file at `relative_path` (relative to the mapped folder,
    /// `/` or `\` separated), or `None` when no rule applies.
    pub fn resolve(&self, relative_path: &str) -> Option<ResolvedPermissions> {
        let mut levels: Vec<(PermissionLevel, bool)> = Vec::new();
        let mut applied = Vec::new();
        for (_, rule) in self.applicable(relative_path) {
            applied.push(rule.index);
            let own = rule.levels.iter().cloned();
            match rule.mode {
                RuleMode::Replace => levels = own.collect(),
                RuleMode::AddLevelBefore => levels.splice(0..0, own).for_each(drop),
                RuleMode::AddLevelAfter => levels.extend(own),
            }
        }
        if applied.is_empty() {
            return None;
        }
        let model = match levels.as_slice() {
            [(level, true)] => PermissionModel::Simple(level.permission_sets.clone()),
            _ => PermissionModel::Complete(levels.into_iter().map(|(l, _)| l).collect()),
        };
        let fingerprint = fingerprint(&model);
        Some(ResolvedPermissions {
            model,
            fingerprint,
            rules: applied,
        })
    }
}

/// What [`validate`] checks the rules against. No IO here: the caller lists the files and
/// provides the identities it knows.
#[derive(Debug, Clone, Copy)]
pub struct ValidationInput<'a> {
    /// The identities pushed to the providers; `None` skips the identity checks.
    pub graph: Option<&'a IdentityGraph>,
    /// The provider of entries without one (the source's first provider).
    pub default_provider: &'a str,
    /// True for a SECURED source (item permissions are enforced): then a file nobody could
    /// see is worth a warning.
    pub secured: bool,
    /// The relative paths of the folder's files; `None` skips the checks that need them
    /// (rules matching nothing, files no rule applies to).
    pub paths: Option<&'a [String]>,
}

/// Every problem of the rules, errors first, then in rule order. Never stops at the first.
pub fn validate(rules: &PermissionRules, input: &ValidationInput<'_>) -> Vec<Problem> {
    let mut problems = Vec::new();
    let compiled = match rules.compile() {
        Ok(compiled) => compiled,
        Err(error) => {
            problems.extend(error.problems);
            // Check what can still be checked: the rules that compile.
            CompiledRules {
                rules: rules
                    .rules
                    .iter()
                    .enumerate()
                    .filter_map(|(i, r)| compile_rule(i, r).ok())
                    .collect(),
            }
        }
    };

    let mut own_counts = HashMap::new();
    for rule in &compiled.rules {
        let source = &rules.rules[rule.index];
        let own = PermissionModel::Complete(rule.levels.iter().map(|(l, _)| l.clone()).collect());
        let count = own.permission_count();
        own_counts.insert(rule.index, count);
        if count > MAX_PERMISSIONS_PER_ITEM {
            problems.push(too_many(
                Some(rule.index),
                &describe(rule.index, source),
                count,
            ));
        }
        if let Some(graph) = input.graph {
            for entry in own.entries() {
                let key = IdentityKey::of_entry(entry, input.default_provider);
                let checkable =
                    graph.has_provider(&key.provider) || key.identity_type != IdentityType::User;
                if checkable && !graph.is_known(&key) {
                    problems.push(problem(
                        Severity::Warning,
                        "unknown-identity",
                        Some(rule.index),
                        format!(
                            "{}: {} {:?} is unknown to provider {:?}, so it matches nobody; \
                             push it to the provider first, or correct the spelling",
                            describe(rule.index, source),
                            type_word(key.identity_type),
                            key.name,
                            key.provider
                        ),
                    ));
                }
            }
        }
        if let Some(earlier) = compiled.rules.iter().find(|r| {
            r.index < rule.index
                && rule.mode == RuleMode::Replace
                && components(&rules.rules[r.index].path) == components(&source.path)
        }) {
            problems.push(problem(
                Severity::Warning,
                "shadowed-rule",
                Some(earlier.index),
                format!(
                    "{} and {} name the same path; the later one replaces the earlier, which \
                     has no effect: remove one",
                    describe(earlier.index, &rules.rules[earlier.index]),
                    describe(rule.index, source)
                ),
            ));
        }
    }

    // The models files actually get: from the listed files, or else each plain rule's folder.
    let samples: Vec<String> = match input.paths {
        Some(paths) => paths.to_vec(),
        None => rules
            .rules
            .iter()
            .filter(|r| !is_glob(&r.path))
            .map(|r| r.path.clone())
            .collect(),
    };
    let mut resolved: BTreeMap<String, (PermissionModel, String, usize)> = BTreeMap::new();
    // Models over the limit because one rule alone is: already reported for that rule.
    let mut over_by_one_rule = std::collections::BTreeSet::new();
    let mut unruled = Vec::new();
    let mut matched = vec![false; rules.rules.len()];
    for path in &samples {
        match compiled.resolve(path) {
            Some(r) => {
                r.rules.iter().for_each(|i| matched[*i] = true);
                if r.rules.iter().any(|i| {
                    own_counts
                        .get(i)
                        .is_some_and(|c| *c > MAX_PERMISSIONS_PER_ITEM)
                }) {
                    over_by_one_rule.insert(r.fingerprint.clone());
                }
                let entry = resolved
                    .entry(r.fingerprint)
                    .or_insert((r.model, path.clone(), 0));
                entry.2 += 1;
            }
            None => unruled.push(path),
        }
    }
    for (fingerprint, (model, example, files)) in &resolved {
        let count = model.permission_count();
        if count > MAX_PERMISSIONS_PER_ITEM && !over_by_one_rule.contains(fingerprint) {
            let what = format!("the model of {files} file(s) such as {example:?}");
            problems.push(too_many(None, &what, count));
        }
    }
    if input.secured {
        let index = input.graph.map(|graph| {
            let mut viewers = graph.users();
            viewers.push(Viewer::Anonymous);
            let mut named: Vec<Viewer> = resolved
                .values()
                .flat_map(|(m, _, _)| m.entries())
                .filter(|e| e.identity_type == IdentityType::User)
                .map(|e| Viewer::Identity(IdentityKey::of_entry(e, input.default_provider)))
                .filter(|v| !viewers.contains(v))
                .collect();
            named.sort();
            named.dedup();
            viewers.extend(named);
            AccessIndex::new(AccessContext::new(graph, input.default_provider), viewers)
        });
        for (model, example, files) in resolved.values() {
            let nobody = match &index {
                _ if !could_ever_be_visible(model) => Some("no viewer can satisfy it"),
                Some(index) if index.visible_to(model).is_empty() => {
                    Some("none of the users the providers know (nor anonymous) would be allowed")
                }
                _ => None,
            };
            if let Some(why) = nobody {
                problems.push(problem(
                    Severity::Warning,
                    "nobody-can-see",
                    None,
                    format!(
                        "nobody could see {files} file(s) such as {example:?}: {why}; allow \
                         a group that has members, or use access = \"everyone\""
                    ),
                ));
            }
        }
        if let Some(first) = unruled.first() {
            problems.push(problem(
                Severity::Warning,
                "no-rule-applies",
                None,
                format!(
                    "no rule applies to {} file(s) such as {first:?}; on a secured source they \
                     are pushed without permissions and nobody could see them: add a rule for \
                     the root (path = \"\")",
                    unruled.len()
                ),
            ));
        }
    }
    if input.paths.is_some() {
        for rule in &compiled.rules {
            if !matched[rule.index] {
                problems.push(problem(
                    Severity::Warning,
                    "rule-matches-nothing",
                    Some(rule.index),
                    format!(
                        "{} matches no file of the folder; check the path's spelling and letter \
                         case (paths are relative to the mapped folder), or remove the rule",
                        describe(rule.index, &rules.rules[rule.index])
                    ),
                ));
            }
        }
    }
    // Errors first, then by rule; the sort is stable so messages keep their order otherwise.
    problems.sort_by_key(|p| (std::cmp::Reverse(p.severity), p.rule.unwrap_or(usize::MAX)));
    dedup_problems(problems)
}

fn dedup_problems(problems: Vec<Problem>) -> Vec<Problem> {
    let mut seen = HashMap::new();
    problems
        .into_iter()
        .filter(|p| seen.insert(p.clone(), ()).is_none())
        .collect()
}

fn too_many(rule: Option<usize>, what: &str, count: usize) -> Problem {
    problem(
        Severity::Error,
        "too-many-permissions",
        rule,
        format!(
            "{what} names {count} permissions, more than the {MAX_PERMISSIONS_PER_ITEM} the \
             Push API accepts per item (the item would be rejected); name groups instead of \
             individual users"
        ),
    )
}

fn type_word(t: IdentityType) -> &'static str {
    match t {
        IdentityType::User => "user",
        IdentityType::Group => "group",
        IdentityType::VirtualGroup => "virtual group",
        IdentityType::Unknown => "identity",
    }
}

/// False when no viewer whatsoever could see the item: no level has a set list in which
/// every set allows someone (anonymous or a named identity).
fn could_ever_be_visible(model: &PermissionModel) -> bool {
    let levels: Vec<&[PermissionSet]> = match model {
        PermissionModel::Simple(sets) => vec![sets.as_slice()],
        PermissionModel::Complete(levels) => levels
            .iter()
            .map(|l| l.permission_sets.as_slice())
            .collect(),
    };
    levels.iter().any(|sets| {
        !sets.is_empty()
            && sets
                .iter()
                .all(|s| s.allow_anonymous || !s.allowed_permissions.is_empty())
    })
}
