//! The one CSV format for security identities, read the same way by every front (the CLI's
//! `identities push` and `access --identities`, the app's CSV import): pure, from `&str`.
//!
//! ```csv
//! name,kind,members,aliases
//! SampleTeam1,group,asmith;bjones
//! SampleGroup,virtualGroup,cbrown
//! asmith,user
//! emitchell@example.com,user,,MysteryUserX
//! ```
//!
//! One line per identity: its name, its kind (`user`, `group` or `virtualGroup`, in any letter
//! case, with or without `_`/`-`), the members of a group or virtual group and the aliases of a
//! user, several separated by `;`. The header line is optional; quotes work as in any CSV; a
//! byte-order mark is ignored. The kind of a member is the kind of the identity of that name in
//! the file or in `known` (what the caller already holds), otherwise user for a name with `@`
//! and group for any other.
//!
//! Each line that cannot be read is a [`CsvProblem`] with its line number and what to write
//! instead; the other lines are read ([`IdentitiesCsv`]). A front that needs all or nothing
//! (the CLI) refuses the file when there is any problem; an editor (the app) imports the good
//! lines and shows the problems.
//!
//! [`IdentitiesCsv::to_batch`] turns the identities into the Push API identity batch
//! (reference §5): every identity in `members`, every alias in `mappings`, mapped to its user
//! in the provider the caller names, or (none) in the provider the identities' provider
//! cascades to, as Coveo expects (for Pushdeck's providers: the Email Security Provider).

use std::collections::{BTreeMap, HashMap};

use serde::{Deserialize, Serialize};

use crate::graph::{IdentityBatch, IdentityBody, IdentityMapping, MappedIdentityBody};
use crate::model::{Identity, IdentityType};

/// The columns, in order, as the header line and the messages write them.
pub const IDENTITIES_CSV_COLUMNS: &str = "name,kind,members,aliases";

/// One identity read from a line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CsvIdentity {
    pub name: String,
    /// User, group or virtual group (never unknown).
    pub identity_type: IdentityType,
    /// The members of a group or virtual group (empty for a user), each with its kind.
    pub members: Vec<Identity>,
    /// Other names of a user (empty for a group).
    pub aliases: Vec<String>,
}

/// A line that could not be read, and what to write instead.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CsvProblem {
    /// 1-based line number in the text.
    pub line: u32,
    pub message: String,
}

/// What a CSV text holds: the identities of the lines that could be read, in file order, and a
/// problem per line that could not.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct IdentitiesCsv {
    pub identities: Vec<CsvIdentity>,
    pub problems: Vec<CsvProblem>,
}

fn kind_of_text(text: &str) -> Option<IdentityType> {
    match IdentityType::parse(text) {
        Some(IdentityType::Unknown) | None => None,
        known => known,
    }
}

fn word(kind: IdentityType) -> &'static str {
    match kind {
        IdentityType::User => "user",
        IdentityType::Group => "group",
        IdentityType::VirtualGroup => "virtual group",
        IdentityType::Unknown => "identity",
    }
}

fn split_list(text: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for part in text.split(';').map(str::trim).filter(|p| !p.is_empty()) {
        if !out.iter().any(|o| o == part) {
            out.push(part.to_owned());
        }
    }
    out
}

/// Reads `name,kind,members,aliases` lines (see the module documentation). `known`: identities
/// the caller already holds, consulted for the kind of a member the text does not declare.
pub fn parse_identities_csv(text: &str, known: &[Identity]) -> IdentitiesCsv {
    struct Row {
        name: String,
        kind: IdentityType,
        members: Vec<String>,
        aliases: Vec<String>,
    }
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .trim(csv::Trim::All)
        .from_reader(text.as_bytes());
    let mut rows: Vec<Row> = Vec::new();
    let mut problems: Vec<CsvProblem> = Vec::new();
    let mut first_line: HashMap<String, u64> = HashMap::new();
    for record in reader.records() {
        let record = match record {
            Ok(r) => r,
            Err(e) => {
                let line = e.position().map(|p| p.line()).unwrap_or(0);
                problems.push(CsvProblem {
                    line: u32::try_from(line).unwrap_or(u32::MAX),
                    message: format!("This line cannot be read as CSV ({e}); check its quotes."),
                });
                continue;
            }
        };
        let line = record.position().map(|p| p.line()).unwrap_or(0);
        let mut problem = |message: String| {
            problems.push(CsvProblem {
                line: u32::try_from(line).unwrap_or(u32::MAX),
                message,
            })
        };
        if record.iter().all(str::is_empty) {
            continue;
        }
        let field = |i: usize| record.get(i).unwrap_or("");
        let (name, kind, members, aliases) = (field(0), field(1), field(2), field(3));
        if line == 1 && name.eq_ignore_ascii_case("name") {
            continue;
        }
        if line == 1 && name.eq_ignore_ascii_case("group") && kind.eq_ignore_ascii_case("member") {
            // The CLI's earlier format (one membership per row): say how to write it now,
            // once, instead of a problem on every line.
            problems.push(CsvProblem {
                line: 1,
                message: format!(
                    "This is the older group,member format; write one line per identity instead: {IDENTITIES_CSV_COLUMNS} (e.g. HR,group,ann@example.com;bob@example.com), with members and aliases separated by ;."
                ),
            });
            return IdentitiesCsv {
                identities: Vec::new(),
                problems,
            };
        }
        if record.iter().skip(4).any(|f| !f.is_empty()) {
            problem(format!(
                "This line has {} columns; write {IDENTITIES_CSV_COLUMNS}, and separate several members or aliases with ; (not with a comma).",
                record.len()
            ));
            continue;
        }
        if name.is_empty() {
            problem("The name is empty.".into());
            continue;
        }
        let Some(kind) = kind_of_text(kind) else {
            problem(if kind.is_empty() {
                "The kind is empty; write user, group or virtualGroup after the name.".into()
            } else {
                format!("\"{kind}\" is not a kind; use user, group or virtualGroup.")
            });
            continue;
        };
        let (members, aliases) = (split_list(members), split_list(aliases));
        if kind == IdentityType::User && !members.is_empty() {
            problem(format!(
                "{name} is a user, and users have no members; put the members on the line of their group, or write group as the kind."
            ));
            continue;
        }
        if kind != IdentityType::User && !aliases.is_empty() {
            problem(format!(
                "{name} is a {}, and only users have aliases; leave the fourth column empty, or write user as the kind.",
                word(kind)
            ));
            continue;
        }
        if let Some(earlier) = first_line.get(&name.to_lowercase()) {
            problem(format!(
                "{name} is on line {earlier} already; keep one line per identity."
            ));
            continue;
        }
        first_line.insert(name.to_lowercase(), line);
        rows.push(Row {
            name: name.to_owned(),
            kind,
            members,
            aliases,
        });
    }
    let mut kinds: HashMap<&str, IdentityType> = known
        .iter()
        .filter(|i| i.identity_type != IdentityType::Unknown)
        .map(|i| (i.name.as_str(), i.identity_type))
        .collect();
    kinds.extend(rows.iter().map(|r| (r.name.as_str(), r.kind)));
    let kind_of = |name: &str| {
        kinds.get(name).copied().unwrap_or(if name.contains('@') {
            IdentityType::User
        } else {
            IdentityType::Group
        })
    };
    let identities = rows
        .iter()
        .map(|r| CsvIdentity {
            name: r.name.clone(),
            identity_type: r.kind,
            members: r
                .members
                .iter()
                .map(|m| Identity::new(m.clone(), kind_of(m)))
                .collect(),
            aliases: r.aliases.clone(),
        })
        .collect();
    IdentitiesCsv {
        identities,
        problems,
    }
}

impl IdentitiesCsv {
    /// The identity batch of the identities (problems aside): every user, group and virtual
    /// group as a member body (pushing a group replaces its member list), and every alias as
    /// a USER mapped to its user(s) in `alias_provider` (`None`: no provider in the mapping,
    /// so the provider the batch is pushed to cascades it, reference §5).
    pub fn to_batch(&self, alias_provider: Option<&str>) -> IdentityBatch {
        let mut batch = IdentityBatch::default();
        for i in &self.identities {
            batch.members.push(
                IdentityBody::new(Identity::new(i.name.clone(), i.identity_type))
                    .members(i.members.clone()),
            );
        }
        batch.mappings = alias_bodies(
            self.identities.iter().flat_map(|i| {
                i.aliases
                    .iter()
                    .map(move |alias| (i.name.as_str(), alias.as_str()))
            }),
            alias_provider,
        );
        batch
    }
}

/// The mapping bodies of aliases given as (user, alias) pairs: one USER body per alias name
/// (sorted by name), mapped to every user that has it, in the order given, in
/// `alias_provider` (`None`: no provider in the mapping, so the provider the batch is pushed
/// to cascades it, reference §5, as Coveo expects). The one way both fronts write aliases.
pub fn alias_bodies<'a>(
    pairs: impl IntoIterator<Item = (&'a str, &'a str)>,
    alias_provider: Option<&str>,
) -> Vec<MappedIdentityBody> {
    // alias → the users it names, in the order given.
    let mut alias_targets: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for (user, alias) in pairs {
        let users = alias_targets.entry(alias).or_default();
        if !users.contains(&user) {
            users.push(user);
        }
    }
    alias_targets
        .into_iter()
        .map(|(alias, users)| MappedIdentityBody {
            identity: Identity::new(alias, IdentityType::User),
            mappings: users
                .iter()
                .map(|u| IdentityMapping::user(*u, alias_provider.map(str::to_owned)))
                .collect(),
            well_knowns: Vec::new(),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_documented_columns_and_reports_lines() {
        let csv = parse_identities_csv(
            "name,kind,members,aliases\n\
             SampleTeam1,group,asmith;bjones\n\
             SampleGroup,VIRTUAL_GROUP,cbrown\n\
             \"emitchell@example.com\",user,,MysteryUserX\n\
             asmith,user\n\
             ,user\n\
             bad,robot\n\
             cbrown,user,x\n\
             HR,group,,alias\n\
             asmith,user\n\
             a,b,c,d,e\n",
            &[Identity::new("cbrown", IdentityType::User)],
        );
        let lines: Vec<u32> = csv.problems.iter().map(|p| p.line).collect();
        assert_eq!(lines, [6, 7, 8, 9, 10, 11], "{:#?}", csv.problems);
        assert!(csv.problems[1].message.contains("\"robot\" is not a kind"));
        assert_eq!(csv.identities.len(), 4);
        let team = &csv.identities[0];
        assert_eq!(team.identity_type, IdentityType::Group);
        // asmith has a line of its own (user); bjones has none and no @: a group by guess.
        assert_eq!(
            team.members,
            [
                Identity::new("asmith", IdentityType::User),
                Identity::new("bjones", IdentityType::Group)
            ]
        );
        // cbrown's kind comes from `known`.
        assert_eq!(
            csv.identities[1].members,
            [Identity::new("cbrown", IdentityType::User)]
        );
        let batch = csv.to_batch(None);
        assert_eq!(batch.members.len(), 4);
        assert_eq!(batch.mappings.len(), 1);
        assert_eq!(batch.mappings[0].identity.name, "MysteryUserX");
        assert_eq!(batch.mappings[0].mappings[0].name, "emitchell@example.com");
        assert_eq!(batch.mappings[0].mappings[0].provider, None);
        let into_p = csv.to_batch(Some("P"));
        assert_eq!(
            into_p.mappings[0].mappings[0].provider.as_deref(),
            Some("P")
        );
    }

    #[test]
    fn the_older_format_is_named_once() {
        let csv = parse_identities_csv("group,member\nHR,ann@example.com\n", &[]);
        assert!(csv.identities.is_empty());
        assert_eq!(csv.problems.len(), 1);
        assert!(csv.problems[0]
            .message
            .contains("older group,member format"));
    }

    #[test]
    fn a_byte_order_mark_and_blank_lines_are_ignored() {
        let csv = parse_identities_csv("\u{feff}HR,group,Everyone;nobody\n\n", &[]);
        assert!(csv.problems.is_empty());
        assert_eq!(csv.identities[0].name, "HR");
        let unclosed = parse_identities_csv("\"unclosed,ann@example.com\n", &[]);
        assert!(!unclosed.problems.is_empty());
    }
}
