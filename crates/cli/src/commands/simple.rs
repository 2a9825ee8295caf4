//! The one-request commands: `delete`, `status`, `source create`, `provider create`.

use coveo_push::{SourceStatus, SourceVisibility};
use serde_json::json;

use crate::args::{
    DeleteArgs, GlobalArgs, ProviderCreateArgs, SourceCreateArgs, StatusArgs, StatusState,
    Visibility,
};
use crate::connection::{self, api_error, is_fatal};
use crate::exit::{CliError, Outcome};
use crate::output::Output;
use crate::parse;

pub async fn delete(
    args: &DeleteArgs,
    global: &GlobalArgs,
    out: &Output,
) -> Result<Outcome, CliError> {
    let older_than = args
        .older_than
        .as_deref()
        .map(parse::epoch_ms)
        .transpose()?;
    let conn = connection::connect(&args.connection, global).await?;
    let source = conn.source()?.to_string();
    if let Some(ms) = older_than {
        // A future date would empty the source and block it: refused before anything is sent.
        conn.client
            .check_older_than(ms)
            .map_err(|e| connection::future_date(&e))?;
        conn.client
            .delete_older_than(&source, ms, args.queue_delay)
            .await
            .map_err(|e| api_error(&e))?;
        conn.settle().await;
        out.summary(json!({"source": source, "older_than_ms": ms, "queue_delay_minutes": args.queue_delay}), || {
            let delay = args.queue_delay.map(|d| format!("{d} minute(s)")).unwrap_or_else(|| "15 minutes (Coveo's default)".into());
            format!("Coveo accepted to delete the items of source {source} last pushed before {ms} (epoch ms), after {delay}.")
        });
        return Ok(Outcome::ok());
    }
    let mut failed = 0;
    for uri in &args.uris {
        match conn
            .client
            .delete_document(&source, uri, args.children, None)
            .await
        {
            Ok(()) => out.event("item_deleted", json!({"document_id": uri}), || {
                format!("delete accepted: {uri}")
            }),
            Err(e) if is_fatal(&e) => return Err(api_error(&e)),
            Err(e) => {
                failed += 1;
                out.problem(
                    "item_failed",
                    json!({"document_id": uri, "code": e.code(), "message": e.explanation()}),
                    || format!("failed: {uri}: {}", e.explanation()),
                );
            }
        }
    }
    conn.settle().await;
    let accepted = args.uris.len() - failed;
    out.summary(
        json!({"source": source, "accepted": accepted, "failed": failed}),
        || {
            format!(
                "{accepted} delete(s) accepted by source {source}{}",
                if failed > 0 {
                    format!("; {failed} failed")
                } else {
                    String::new()
                }
            )
        },
    );
    Ok(Outcome { failed })
}

pub async fn status(
    args: &StatusArgs,
    global: &GlobalArgs,
    out: &Output,
) -> Result<Outcome, CliError> {
    let conn = connection::connect(&args.connection, global).await?;
    let source = conn.source()?.to_string();
    if let Some(state) = args.set {
        let status = match state {
            StatusState::Rebuild => SourceStatus::Rebuild,
            StatusState::Refresh => SourceStatus::Refresh,
            StatusState::Incremental => SourceStatus::Incremental,
            StatusState::Idle => SourceStatus::Idle,
        };
        conn.client
            .set_source_status(&source, status)
            .await
            .map_err(|e| api_error(&e))?;
        out.summary(json!({"source": source, "status": status.as_str()}), || {
            format!("Source {source} is now {}.", status.as_str())
        });
        return Ok(Outcome::ok());
    }
    let info = conn
        .client
        .get_source(&source)
        .await
        .map_err(|e| api_error(&e))?;
    let refusal = info.refusal();
    out.summary(
        json!({
            "target": conn.target, "origin": conn.origin, "organization": conn.organization,
            "source": {"id": info.id, "name": info.name, "type": info.source_type, "visibility": info.source_visibility},
            "provider": conn.provider, "key_from": conn.key_from, "pushable": refusal.is_none(), "refusal": refusal,
        }),
        || {
            let mut lines = vec![
                format!("target:       {}{}", conn.target, if conn.is_sandbox() { " (local Sandbox)" } else { "" }),
                format!("organization: {}", conn.organization),
                format!("source:       {} ({:?}, {} source{})", info.id, info.name, info.source_type,
                    info.source_visibility.as_deref().map(|v| format!(", {}", v.to_lowercase())).unwrap_or_default()),
                format!("provider:     {}", conn.provider.as_deref().unwrap_or("(none)")),
                format!("api key from: {}", conn.key_from),
            ];
            if let Some(reason) = &refusal {
                lines.push(format!("warning: Pushdeck will not push into this source: {reason}"));
            }
            lines.join("\n")
        },
    );
    Ok(Outcome::ok())
}

pub async fn source_create(
    args: &SourceCreateArgs,
    global: &GlobalArgs,
    out: &Output,
) -> Result<Outcome, CliError> {
    let conn = connection::connect(&args.connection, global).await?;
    let visibility = match args.visibility {
        Visibility::Secured => SourceVisibility::Secured,
        Visibility::Shared => SourceVisibility::Shared,
        Visibility::Private => SourceVisibility::Private,
    };
    let info = conn
        .client
        .create_push_source(&args.name, visibility)
        .await
        .map_err(|e| api_error(&e))?;
    out.summary(json!({"organization": conn.organization, "source": info.id, "name": info.name}), || {
        format!("Created Push source {:?} with ID {} in organization {}; pass --source {} to push into it.", info.name, info.id, conn.organization, info.id)
    });
    Ok(Outcome::ok())
}

pub async fn provider_create(
    args: &ProviderCreateArgs,
    global: &GlobalArgs,
    out: &Output,
) -> Result<Outcome, CliError> {
    let conn = connection::connect(&args.connection, global).await?;
    let source = conn.source()?.to_string();
    conn.client
        .create_security_provider(&args.id, &source)
        .await
        .map_err(|e| api_error(&e))?;
    out.summary(json!({"organization": conn.organization, "provider": args.id, "source": source}), || {
        format!("Created security identity provider {} for source {source} (cascading to the Email Security Provider); pass --provider {} to push identities.", args.id, args.id)
    });
    Ok(Outcome::ok())
}
