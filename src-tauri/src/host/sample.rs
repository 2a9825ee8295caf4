//! "Try the sample folder": a real folder shipped with the app (`src-tauri/sample/`), copied into
//! the data folder, with sample identities (a nested group, an alias) pushed to the Sandbox's
//! provider and folder rules that give the permission preview something to show. The person
//! then checks and confirms its first plan like any folder's: two clicks to View as.

use super::*;

/// The sample folder's name in the folder list (its id).
pub const SAMPLE_FOLDER: &str = "Sample folder";

/// Where the sample is copied, under the data folder.
const SAMPLE_DIR: &str = "sample";

/// The sample's documents (relative path, bytes): text, HTML, a PDF and a Word document, in
/// subfolders with different rules.
const SAMPLE_FILES: &[(&str, &[u8])] = &[
    (
        "Welcome.txt",
        include_bytes!("../../sample/files/Welcome.txt"),
    ),
    (
        "Handbook/Onboarding.html",
        include_bytes!("../../sample/files/Handbook/Onboarding.html"),
    ),
    (
        "Handbook/Benefits.pdf",
        include_bytes!("../../sample/files/Handbook/Benefits.pdf"),
    ),
    (
        "HR/Salaries.txt",
        include_bytes!("../../sample/files/HR/Salaries.txt"),
    ),
    (
        "HR/Reviews/Review notes.txt",
        include_bytes!("../../sample/files/HR/Reviews/Review notes.txt"),
    ),
    (
        "Projects/Roadmap.docx",
        include_bytes!("../../sample/files/Projects/Roadmap.docx"),
    ),
    (
        "Board/Minutes.txt",
        include_bytes!("../../sample/files/Board/Minutes.txt"),
    ),
];

/// The sample identities, in the one CSV format (`name,kind,members,aliases`).
pub(crate) const SAMPLE_IDENTITIES: &str = include_str!("../../sample/identities.csv");

/// The sample folder's permission rules (`[[rule]]` tables).
pub(crate) const SAMPLE_RULES: &str = include_str!("../../sample/rules.toml");

/// The sample's rules, read as every folder's rules are.
pub(crate) fn sample_rules() -> Result<Vec<permissions::rules::FolderRule>, HostError> {
    permissions::rules::PermissionRules::from_toml_str(SAMPLE_RULES)
        .map(|r| r.rules)
        .map_err(|e| internal("the sample folder's rules", e))
}

/// Writes the sample's files under `dir` that are not there yet; a file the person changed or
/// added is left as it is. Each file is written whole (a temporary file, then a rename).
pub(crate) fn copy_sample(dir: &Path) -> std::io::Result<usize> {
    let mut written = 0;
    for (rel, bytes) in SAMPLE_FILES {
        let path = dir.join(rel);
        if path.exists() {
            continue;
        }
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)?;
        }
        let tmp = path.with_file_name(format!(
            ".{}.pushdeck-tmp",
            path.file_name()
                .map(|n| n.to_string_lossy())
                .unwrap_or_default()
        ));
        std::fs::write(&tmp, bytes)?;
        std::fs::rename(&tmp, &path)?;
        written += 1;
    }
    Ok(written)
}

/// The list with the sample identities added: an identity the list has already (same name and
/// kind) is kept as the person wrote it.
pub(crate) fn with_sample_identities(list: Vec<SecurityIdentity>) -> Vec<SecurityIdentity> {
    let sample = identities::parse_csv(SAMPLE_IDENTITIES, &[]);
    let mut out = list;
    for identity in sample.identities {
        if !out
            .iter()
            .any(|i| i.name == identity.name && i.kind == identity.kind)
        {
            out.push(identity);
        }
    }
    out
}

impl Host {
    /// "Try the sample folder": copies the sample into the data folder (files the person
    /// changed there are kept), adds the sample identities to the list and pushes the list to
    /// the Sandbox, and adds the folder with the sample's rules, waiting for its first plan.
    /// If the sample folder is in the list already, returns it as it is.
    pub async fn add_sample_folder(&self) -> Result<FolderSummary, HostError> {
        if self.get_app_state().await?.mode == ConnectionMode::Organization {
            return Err(HostError::new(
                ErrorCode::InvalidInput,
                "The sample folder goes to the Sandbox, not to your organization; switch to the Sandbox to try it.",
            ));
        }
        if let Some(existing) = self
            .list_folders()
            .await?
            .into_iter()
            .find(|f| f.id == SAMPLE_FOLDER)
        {
            return Ok(existing);
        }
        let rules = sample_rules()?;
        let dir = self.paths.data_dir.join(SAMPLE_DIR);
        let copy_to = dir.clone();
        tokio::task::spawn_blocking(move || copy_sample(&copy_to))
            .await
            .map_err(|e| internal("copying the sample folder stopped", e))?
            .map_err(|e| {
                HostError::new(
                    ErrorCode::Internal,
                    format!(
                        "The sample folder could not be copied to {}: {e}. Check that the folder can be written.",
                        dir.display()
                    ),
                )
            })?;
        let list = with_sample_identities(self.list_identities().await?);
        self.save_identities(SaveIdentitiesRequest { identities: list })
            .await?;
        self.push_identities().await?;
        let summary = self
            .add_folder(AddFolderRequest {
                path: dir.display().to_string(),
                name: SAMPLE_FOLDER.into(),
                source_id: String::new(),
                include: Vec::new(),
                exclude: Vec::new(),
            })
            .await?;
        {
            let mut s = lock(&self.settings);
            if let Some(m) = s.awaiting.iter_mut().find(|m| m.name == SAMPLE_FOLDER) {
                m.permission_rules = rules;
            }
            self.save_settings(&s)?;
        }
        Ok(summary)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_sample_has_several_kinds_of_documents_and_valid_rules_and_identities() {
        let kinds: std::collections::BTreeSet<&str> = SAMPLE_FILES
            .iter()
            .filter_map(|(rel, _)| rel.rsplit('.').next())
            .collect();
        for kind in ["txt", "html", "pdf", "docx"] {
            assert!(kinds.contains(kind), "no .{kind} in the sample");
        }
        assert!(SAMPLE_FILES
            .iter()
            .any(|(rel, _)| rel.matches('/').count() >= 2));
        let pdf = SAMPLE_FILES
            .iter()
            .find(|(r, _)| r.ends_with(".pdf"))
            .unwrap();
        assert!(pdf.1.starts_with(b"%PDF-") && pdf.1.ends_with(b"%%EOF\n"));
        let docx = SAMPLE_FILES
            .iter()
            .find(|(r, _)| r.ends_with(".docx"))
            .unwrap();
        assert!(docx.1.starts_with(b"PK\x03\x04"), "a docx is a zip");

        let rules = sample_rules().unwrap();
        let compiled = permissions::rules::PermissionRules {
            rules: rules.clone(),
        }
        .compile();
        assert!(compiled.is_ok(), "{compiled:?}");
        assert!(rules.iter().any(|r| r.path == "Projects"));

        let csv = identities::parse_csv(SAMPLE_IDENTITIES, &[]);
        assert!(csv.problems.is_empty(), "{:?}", csv.problems);
        let emitchell = csv
            .identities
            .iter()
            .find(|i| i.name == "emitchell@example.com")
            .unwrap();
        assert_eq!(emitchell.aliases, ["MysteryUserX"]);
        let team = csv
            .identities
            .iter()
            .find(|i| i.name == "SampleTeam1")
            .unwrap();
        assert_eq!(team.members[0].kind, IdentityKind::Group, "a nested group");
    }

    #[test]
    fn copying_keeps_what_the_person_changed() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(copy_sample(dir.path()).unwrap(), SAMPLE_FILES.len());
        std::fs::write(dir.path().join("Welcome.txt"), "mine").unwrap();
        std::fs::remove_file(dir.path().join("Board/Minutes.txt")).unwrap();
        assert_eq!(copy_sample(dir.path()).unwrap(), 1);
        assert_eq!(
            std::fs::read_to_string(dir.path().join("Welcome.txt")).unwrap(),
            "mine"
        );
        let leftovers: Vec<_> = walk(dir.path())
            .into_iter()
            .filter(|p| p.contains("pushdeck-tmp"))
            .collect();
        assert!(leftovers.is_empty(), "{leftovers:?}");
    }

    #[test]
    fn the_persons_identities_win_over_the_samples() {
        let mine = SecurityIdentity {
            name: "HR".into(),
            kind: IdentityKind::Group,
            members: Vec::new(),
            aliases: Vec::new(),
        };
        let merged = with_sample_identities(vec![mine.clone()]);
        let hr: Vec<_> = merged.iter().filter(|i| i.name == "HR").collect();
        assert_eq!(hr, [&mine]);
        assert!(merged.iter().any(|i| i.name == "SampleTeam1"));
    }

    fn walk(dir: &Path) -> Vec<String> {
        let mut out = Vec::new();
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                out.extend(walk(&path));
            } else {
                out.push(path.display().to_string());
            }
        }
        out
    }
}
