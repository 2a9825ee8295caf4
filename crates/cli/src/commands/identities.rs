//! `pushdeck identities push | delete | older-than`: security identities of a provider.

use serde_json::json;

use crate::args::{GlobalArgs, IdentitiesCommand};
use crate::connection::{self, api_error};
use crate::exit::{CliError, Outcome};
use crate::identities_file;
use crate::output::Output;
use crate::parse;

pub async fn run(
    command: &IdentitiesCommand,
    global: &GlobalArgs,
    out: &Output,
) -> Result<Outcome, CliError> {
    match command {
        IdentitiesCommand::Push(args) => {
            let batch = identities_file::read(&args.file)?;
            let conn = connection::connect(&args.connection, global).await?;
            let provider = conn.provider()?.to_string();
            conn.client
                .push_identity_batch(&provider, &batch, None)
                .await
                .map_err(|e| api_error(&e))?;
            conn.settle().await;
            let count = batch.members.len() + batch.mappings.len();
            out.summary(
                json!({"provider": provider, "identities": batch.members.len(), "mappings": batch.mappings.len(), "deleted": batch.deleted.len()}),
                || format!("{count} identit{} accepted by provider {provider}", if count == 1 { "y" } else { "ies" }),
            );
        }
        IdentitiesCommand::Delete(args) => {
            let (name, ty) = parse::identity(&args.identity)?;
            let conn = connection::connect(&args.connection, global).await?;
            let provider = conn.provider()?.to_string();
            let identity = coveo_push::Identity::new(name.clone(), ty);
            conn.client
                .delete_identity(&provider, &identity, None)
                .await
                .map_err(|e| api_error(&e))?;
            conn.settle().await;
            out.summary(
                json!({"provider": provider, "identity": name, "type": ty.as_identity_str()}),
                || {
                    format!(
                        "Coveo accepted to disable {} {name} in provider {provider}.",
                        ty.as_identity_str().to_lowercase()
                    )
                },
            );
        }
        IdentitiesCommand::OlderThan(args) => {
            let ms = parse::epoch_ms(&args.date)?;
            let conn = connection::connect(&args.connection, global).await?;
            let provider = conn.provider()?.to_string();
            // A future date would disable every identity and block the provider: refused
            // before anything is sent.
            conn.client
                .check_identities_older_than(ms)
                .map_err(|e| connection::future_date(&e))?;
            conn.client
                .delete_identities_older_than(&provider, ms, args.queue_delay)
                .await
                .map_err(|e| api_error(&e))?;
            conn.settle().await;
            out.summary(json!({"provider": provider, "older_than_ms": ms}), || {
                format!("Coveo accepted to disable the identities of provider {provider} last pushed before {ms} (epoch ms).")
            });
        }
    }
    Ok(Outcome::ok())
}
