//! `pushdeck push FILE...`: files as items, or folders of Coveo JSON item files, through
//! coveo-push's batcher (file containers), with a progress bar fed by its "batch accepted"
//! events.

use std::path::Path;
use std::sync::Arc;

use coveo_push::{
    Batcher, BatcherConfig, Content, Document, MetadataValue, PermissionModel, ProgressEvent,
};
use permissions::PermissionSet;
use serde_json::json;

use crate::args::{GlobalArgs, PushArgs};
use crate::connection::{self, api_error, is_fatal};
use crate::exit::{CliError, Outcome};
use crate::items;
use crate::output::Output;
use crate::parse;

pub async fn run(
    args: &PushArgs,
    global: &GlobalArgs,
    out: &Arc<Output>,
) -> Result<Outcome, CliError> {
    // Everything is read and checked before connecting: a malformed file costs no request.
    let docs = collect(args)?;
    if docs.is_empty() {
        return Err(CliError::usage(
            "nothing_to_push",
            "no item to push: the folders hold no *.json item file",
        ));
    }
    let conn = connection::connect(&args.connection, global).await?;
    let source = conn.source()?.to_string();
    let total = docs.len() as u64;
    let bar = out.start_progress(total, "pushing");
    let sink_out = out.clone();
    let sink_bar = bar.clone();
    let client = conn.client.with_progress(Arc::new(move |event| match event {
        ProgressEvent::BatchAccepted { batch, added, deleted, .. } => {
            sink_bar.inc(added.len() as u64);
            sink_out.event(
                "batch_accepted",
                json!({"batch": batch, "added": added, "deleted": deleted}),
                || format!("batch {batch} accepted: {} item(s)", added.len()),
            );
        }
        ProgressEvent::RetryWaiting { operation, attempt, wait, reason } => {
            sink_out.notice(
                "retry",
                json!({"operation": operation, "attempt": attempt, "wait_ms": wait.as_millis() as u64, "reason": reason}),
                || format!("retrying {operation} in {:.1}s (attempt {attempt}): {reason}", wait.as_secs_f64()),
            );
        }
        _ => {}
    }));
    let mut batcher = Batcher::new(client, BatcherConfig::new(source.clone()));
    for doc in docs {
        batcher.add(doc).await.map_err(|e| api_error(&e))?;
    }
    let summary = batcher.finish().await.map_err(|e| api_error(&e))?;
    conn.settle().await;
    let mut failed = 0usize;
    if let Some(problem) = summary.batch_problems.iter().find(|p| is_fatal(&p.error)) {
        return Err(api_error(&problem.error));
    }
    for (id, err) in &summary.item_problems {
        failed += 1;
        out.problem(
            "item_failed",
            json!({"document_id": id, "code": err.code(), "message": err.explanation()}),
            || format!("failed: {id}: {}", err.explanation()),
        );
    }
    for problem in &summary.batch_problems {
        for id in &problem.added {
            failed += 1;
            out.problem(
                "item_failed",
                json!({"document_id": id, "code": problem.error.code(), "message": problem.error.explanation()}),
                || format!("failed: {id}: {}", problem.error.explanation()),
            );
        }
    }
    let accepted = summary.added.len();
    out.summary(
        json!({
            "organization": conn.organization, "source": source, "target": conn.target,
            "accepted": accepted, "failed": failed, "batches": summary.batches_accepted,
        }),
        || {
            let mut line = format!(
                "{accepted} item(s) accepted by source {source} of organization {}",
                conn.organization
            );
            if conn.is_sandbox() {
                line.push_str(" (Sandbox)");
            }
            if failed > 0 {
                line.push_str(&format!("; {failed} failed (listed above)"));
            }
            line
        },
    );
    Ok(Outcome { failed })
}

/// The documents named on the command line, in order.
fn collect(args: &PushArgs) -> Result<Vec<Document>, CliError> {
    let mut docs = Vec::new();
    if let Some(file) = &args.item_file {
        docs.extend(items::read_item_file(file)?);
    }
    let plain_files = args.files.iter().filter(|p| !p.is_dir()).count();
    if plain_files != 1 && (args.title.is_some() || args.uri.is_some()) {
        return Err(CliError::usage(
            "ambiguous_flags",
            "--title and --uri apply to exactly one FILE; push several files without them",
        ));
    }
    let meta: Vec<(String, String)> = args
        .meta
        .iter()
        .map(|m| parse::metadata(m))
        .collect::<Result<_, _>>()?;
    let permissions = permissions(args)?;
    for path in &args.files {
        if path.is_dir() {
            for file in items::json_files(path)? {
                docs.extend(items::read_item_file(&file)?);
            }
        } else if path.is_file() {
            let mut doc = file_document(path, args.uri.as_deref())?;
            if let Some(title) = &args.title {
                doc = doc.title(title.clone());
            }
            for (key, value) in &meta {
                doc = doc.metadata(key.clone(), MetadataValue::String(value.clone()));
            }
            if let Some(model) = &permissions {
                doc = doc.permissions(model.clone());
            }
            docs.push(doc);
        } else {
            return Err(CliError::usage(
                "no_such_file",
                format!(
                    "{} does not exist (or is not a file or folder); check the path",
                    path.display()
                ),
            ));
        }
    }
    Ok(docs)
}

fn file_document(path: &Path, uri: Option<&str>) -> Result<Document, CliError> {
    let absolute = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
    let doc =
        Document::from_path(&absolute).map_err(|e| CliError::usage(e.code(), e.explanation()))?;
    let Some(uri) = uri else { return Ok(doc) };
    let mut custom = Document::new(uri).content(Content::File(absolute.clone()));
    if let Some(name) = absolute.file_name().and_then(|n| n.to_str()) {
        custom = custom.title(name);
    }
    if let Some(ext) = doc.file_extension_ref() {
        custom = custom.file_extension(ext);
    }
    Ok(custom)
}

fn permissions(args: &PushArgs) -> Result<Option<PermissionModel>, CliError> {
    if args.allow.is_empty() && args.deny.is_empty() && !args.anonymous {
        return Ok(None);
    }
    let set = PermissionSet {
        allow_anonymous: args.anonymous,
        allowed_permissions: args
            .allow
            .iter()
            .map(|a| parse::permission_identity(a))
            .collect::<Result<_, _>>()?,
        denied_permissions: args
            .deny
            .iter()
            .map(|d| parse::permission_identity(d))
            .collect::<Result<_, _>>()?,
    };
    Ok(Some(PermissionModel::Simple(vec![set])))
}
