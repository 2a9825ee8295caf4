//! `pushdeck login` and `pushdeck logout`: the API key in the keyring.

use std::io::{IsTerminal, Read};

use serde_json::json;

use crate::args::{LoginArgs, LogoutArgs};
use crate::exit::{CliError, Outcome};
use crate::keystore;
use crate::output::Output;

/// API keys are short; anything longer read from standard input is a mistake (a file piped in).
const MAX_KEY_LEN: usize = 4096;

pub async fn login(args: &LoginArgs, out: &Output) -> Result<Outcome, CliError> {
    let org = check_org(&args.org)?;
    let key = read_key(org).await?;
    keystore::store(org, key).await?;
    out.summary(json!({"organization": org, "stored": true}), || {
        format!("Stored the API key for organization {org} in the keyring (service \"{}\", account \"{org}\").", keystore::KEYRING_SERVICE)
    });
    Ok(Outcome::ok())
}

pub async fn logout(args: &LogoutArgs, out: &Output) -> Result<Outcome, CliError> {
    let org = check_org(&args.org)?;
    let removed = keystore::remove(org).await?;
    out.summary(json!({"organization": org, "removed": removed}), || {
        if removed {
            format!("Removed the API key of organization {org} from the keyring.")
        } else {
            format!("The keyring holds no API key for organization {org}; nothing to remove.")
        }
    });
    Ok(Outcome::ok())
}

fn check_org(org: &str) -> Result<&str, CliError> {
    let org = org.trim();
    if org.is_empty() {
        return Err(CliError::usage(
            "invalid_org",
            "the organization ID is empty; pass it as --org ORG",
        ));
    }
    Ok(org)
}

/// From a hidden prompt at a terminal, else from standard input (first line, trimmed).
async fn read_key(org: &str) -> Result<String, CliError> {
    let prompt = format!("API key for organization {org} (input hidden): ");
    let key = tokio::task::spawn_blocking(move || -> Result<String, CliError> {
        if std::io::stdin().is_terminal() {
            rpassword::prompt_password(prompt).map_err(|e| {
                CliError::usage("no_key_input", format!("cannot read the key from the terminal ({e}); pipe it on standard input instead"))
            })
        } else {
            let mut text = String::new();
            std::io::stdin()
                .take(MAX_KEY_LEN as u64 + 1)
                .read_to_string(&mut text)
                .map_err(|e| CliError::usage("no_key_input", format!("cannot read the key from standard input ({e})")))?;
            if text.len() > MAX_KEY_LEN {
                return Err(CliError::usage("no_key_input", "standard input is too long for an API key; pipe only the key"));
            }
            Ok(text.lines().next().unwrap_or("").to_string())
        }
    })
    .await
    .map_err(|_| CliError::usage("no_key_input", "reading the key stopped unexpectedly"))??;
    let key = key.trim().to_string();
    if key.is_empty() {
        return Err(CliError::usage(
            "no_key_input",
            "no API key was given; type it at the prompt or pipe it on standard input, e.g. printf '%s' \"$KEY\" | pushdeck login --org ORG",
        ));
    }
    Ok(key)
}
