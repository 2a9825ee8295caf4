//! Filters: which files of a folder are synced, from ordered include/exclude rules.
//!
//! Rules are written `+ PATTERN` (include) or `- PATTERN` (exclude), gitignore-like patterns
//! relative to the folder; the first rule matching a file or one of its parent directories
//! decides, and a file no rule matches is included. [`DEFAULT_EXCLUDES`] come after a folder's
//! own rules (see `FolderMapping::compiled_filters` in [`crate::config`]).
//!
//! Pure: no IO. The walks that apply the filters live in [`crate::scan`] (the sync's parallel
//! walk, and `list_matches`, the preview of every file's decision).

use std::fmt;
use std::path::PathBuf;

use ignore::gitignore::{Gitignore, GitignoreBuilder};
use serde::Serialize;

/// Files that are never worth indexing (editor and OS droppings). Applied after the folder's own
/// filters, so a folder can still include them explicitly with an earlier `+` rule.
pub const DEFAULT_EXCLUDES: &[&str] = &[
    "- .git/",
    "- .svn/",
    "- .DS_Store",
    "- Thumbs.db",
    "- desktop.ini",
    "- ~$*",
    "- .~lock.*#",
    "- *.tmp",
    "- *.swp",
    "- *.part",
    "- *.crdownload",
];

/// One compiled filter rule.
#[derive(Debug, Clone)]
struct FilterRule {
    include: bool,
    text: String,
    matcher: Gitignore,
}

/// Ordered include/exclude rules, first match wins, nothing matched = included.
#[derive(Debug, Clone)]
pub struct Filters {
    rules: Vec<FilterRule>,
    /// Every rule in one matcher (one automaton pass per path instead of one per rule), added
    /// in reverse order so that its highest-precedence match is our first rule; each glob's
    /// `from` carries its rule index.
    combined: Gitignore,
}

/// The decision of [`Filters`] for one path.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FilterDecision {
    pub included: bool,
    /// The rule that decided, as written (`None`: no rule matched, included by default).
    pub rule: Option<String>,
}

impl Filters {
    /// Compiles rules written `+ PATTERN` or `- PATTERN`.
    pub fn new(rules: &[&str]) -> Result<Self, String> {
        let mut out = Vec::with_capacity(rules.len());
        for text in rules {
            let trimmed = text.trim();
            let (include, pattern) = if let Some(p) = trimmed.strip_prefix("+ ") {
                (true, p.trim())
            } else if let Some(p) = trimmed.strip_prefix("- ") {
                (false, p.trim())
            } else {
                return Err(format!(
                    "filter {text:?} does not start with \"+ \" (include) or \"- \" (exclude)"
                ));
            };
            if pattern.is_empty() || pattern.starts_with('!') {
                return Err(format!(
                    "filter {text:?} has an empty or negated pattern; use + or - instead of !"
                ));
            }
            let mut builder = GitignoreBuilder::new("");
            builder
                .add_line(None, pattern)
                .map_err(|e| format!("filter {text:?} is not a valid pattern: {e}"))?;
            let matcher = builder
                .build()
                .map_err(|e| format!("filter {text:?} is not valid: {e}"))?;
            out.push(FilterRule {
                include,
                text: trimmed.to_string(),
                matcher,
            });
        }
        let mut builder = GitignoreBuilder::new("");
        for (index, text) in rules.iter().enumerate().rev() {
            let pattern = text.trim()[2..].trim();
            builder
                .add_line(Some(PathBuf::from(index.to_string())), pattern)
                .map_err(|e| format!("filter {text:?} is not a valid pattern: {e}"))?;
        }
        let combined = builder
            .build()
            .map_err(|e| format!("the filters are not valid: {e}"))?;
        Ok(Self {
            rules: out,
            combined,
        })
    }

    /// The first rule matching `path` itself (not its parents).
    fn first_match(&self, path: &str, is_dir: bool) -> Option<usize> {
        match self.combined.matched(path, is_dir) {
            ignore::Match::Ignore(g) | ignore::Match::Whitelist(g) => g
                .from()
                .and_then(|f| f.to_str())
                .and_then(|f| f.parse().ok()),
            ignore::Match::None => None,
        }
    }

    /// Whether the file at `rel_path` (relative, `/`-separated) is included.
    pub fn decide(&self, rel_path: &str) -> FilterDecision {
        for rule in &self.rules {
            if rule
                .matcher
                .matched_path_or_any_parents(rel_path, false)
                .is_ignore()
            {
                return FilterDecision {
                    included: rule.include,
                    rule: Some(rule.text.clone()),
                };
            }
        }
        FilterDecision {
            included: true,
            rule: None,
        }
    }

    /// The first rule matching the directory `rel_dir` itself or one of its parents, given that
    /// value for its parent (`None` for the folder's root). The walk computes it top-down once
    /// per directory, so [`Filters::includes_file`] matches each rule against the file alone.
    pub fn dir_rule(&self, rel_dir: &str, parent: Option<usize>) -> Option<usize> {
        match (self.first_match(rel_dir, true), parent) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// The same answer as `decide(rel_path).included`, given the file's directory's
    /// [`Filters::dir_rule`]: a rule matching the file or any parent, the first one wins.
    pub fn includes_file(&self, rel_path: &str, dir_rule: Option<usize>) -> bool {
        let first = match (self.first_match(rel_path, false), dir_rule) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        first.is_none_or(|i| self.rules[i].include)
    }

    /// Whether the walk may skip the directory `rel_dir` entirely: true only when every file
    /// under it is excluded whatever its name, i.e. the first rule matching the directory is a
    /// directory exclude and no include rule comes before it.
    pub fn prunes_dir(&self, rel_dir: &str) -> bool {
        for rule in &self.rules {
            if rule.include {
                return false;
            }
            if rule
                .matcher
                .matched_path_or_any_parents(rel_dir, true)
                .is_ignore()
            {
                return true;
            }
        }
        false
    }
}

impl fmt::Display for FilterDecision {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let verdict = if self.included {
            "included"
        } else {
            "excluded"
        };
        match &self.rule {
            Some(rule) => write!(f, "{verdict} by {rule:?}"),
            None => write!(f, "{verdict} (no rule matched)"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filters_first_match_wins() {
        let f = Filters::new(&["- drafts/", "+ *.pdf", "- *", "+ *.txt"]).unwrap();
        let check = |p: &str| f.decide(p).included;
        assert!(check("a/b.pdf"));
        assert!(!check("drafts/b.pdf"));
        assert!(!check("x/drafts/b.pdf"));
        assert!(!check("a/b.txt"), "- * comes before + *.txt");
        assert!(f.prunes_dir("drafts"));
        assert!(!f.prunes_dir("other"));
        let f = Filters::new(&["+ keep/**", "- *.log"]).unwrap();
        assert!(f.decide("keep/x.log").included);
        assert!(!f.decide("other/x.log").included);
        assert!(f.decide("other/x.txt").included);
        assert_eq!(f.decide("other/x.txt").rule, None);
        assert!(!f.prunes_dir("other"));
    }

    #[test]
    fn the_walk_shortcut_decides_like_decide() {
        let rule_sets: &[&[&str]] = &[
            &["- drafts/", "+ *.pdf", "- *", "+ *.txt"],
            &["+ keep/**", "- *.log", "- a/b/"],
            &["- *.tmp", "+ a/**/x.txt", "- a/"],
            DEFAULT_EXCLUDES,
        ];
        let paths = [
            "a.pdf",
            "drafts/b.pdf",
            "x/drafts/b.pdf",
            "a/b.txt",
            "keep/x.log",
            "other/x.log",
            "a/b/c.txt",
            "a/q/x.txt",
            "a/x.txt",
            "a/y.tmp",
            ".git/config",
            "d/~$doc.docx",
            "d/e/f/g.bin",
        ];
        for rules in rule_sets {
            let f = Filters::new(rules).unwrap();
            for path in paths {
                let mut dir_rule = None;
                let parts: Vec<&str> = path.split('/').collect();
                for i in 1..parts.len() {
                    dir_rule = f.dir_rule(&parts[..i].join("/"), dir_rule);
                }
                assert_eq!(
                    f.includes_file(path, dir_rule),
                    f.decide(path).included,
                    "{rules:?} {path}"
                );
            }
        }
    }
}
