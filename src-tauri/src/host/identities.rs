//! Security identities: listing them (from the Sandbox's provider).

use super::*;

impl Host {
    // ---- identities (read from the Sandbox's provider) ----------------------------------------

    /// The security identities of the Sandbox's provider (what the Sandbox's "search as" knows).
    /// With a real organization this is not available yet (the Push API cannot list them).
    pub async fn list_identities(&self) -> Result<Vec<SecurityIdentity>, HostError> {
        if self.get_app_state().await?.mode == ConnectionMode::Organization {
            return Err(not_yet("Listing an organization's security identities"));
        }
        let answer = self
            .inspect(&format!(
                "/organizations/{SANDBOX_ORG}/providers/{SANDBOX_PROVIDER}/identities"
            ))
            .await?;
        // The emulator writes identities as the permissions crate serializes them.
        let kind_of = |v: &serde_json::Value| {
            serde_json::from_value::<permissions::Identity>(v.clone())
                .map(|i| IdentityKind::from(i.identity_type))
                .unwrap_or(IdentityKind::Unknown)
        };
        let reference = |v: &serde_json::Value| IdentityRef {
            name: v["name"].as_str().unwrap_or_default().to_owned(),
            kind: kind_of(v),
        };
        let list = answer["identities"].as_array().cloned().unwrap_or_default();
        Ok(list
            .iter()
            .map(|r| SecurityIdentity {
                name: r["identity"]["name"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned(),
                kind: kind_of(&r["identity"]),
                members: r["members"]
                    .as_array()
                    .map(|m| m.iter().map(reference).collect())
                    .unwrap_or_default(),
                aliases: r["mappings"]
                    .as_array()
                    .map(|m| {
                        m.iter()
                            .filter_map(|a| a["identity"]["name"].as_str().or(a["name"].as_str()))
                            .map(str::to_owned)
                            .collect()
                    })
                    .unwrap_or_default(),
            })
            .collect())
    }
}
