//! `GET /backups/{id}`: everything about one backup — the record, its object in storage, its
//! place in an incremental chain, what each source holds (the files themselves are in the
//! file browser, `files.rs`, so they never push the rest down), its tasks with their
//! progress, its audit log — and the actions the user's role allows: Download and Restore
//! first, Delete small and apart (it asks for confirmation, `delete.rs`). While the backup
//! runs, its status badges follow its task live, "Cancel backup" is offered and Delete and
//! Pin are not; when the task ends, the page's content is fetched again.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;

use crate::app::App;
use crate::db::{Backup, BackupCopy, LogEntry, LogFilter, Manifest, Task};
use crate::domain::{Status, TaskKind};
use crate::engine::manifest::Manifest as ManifestDoc;
use crate::error::Error as CofferError;
use crate::jobs::run::live::LiveProgress;
use crate::present::{human_bytes, Timing};
use crate::web::auth::Viewer;
use crate::web::backups::manifest_view::{source_lines, Counts, SourceLine};
use crate::web::backups::rows::TaskLine;
use crate::web::backups::safety::{safety_note, SafetyNote};
use crate::web::error::WebResult;
use crate::web::layout::{html_response, Layout};
use crate::web::state::WebState;
use crate::web::tasks::progress::ProgressView;
use crate::web::view::timestamp;
use crate::web::view::LogRow;

/// A chain deeper than this is shown cut short (a loop in hand-edited rows cannot hang us).
const MAX_CHAIN: usize = 500;
const LOG_LINES: i64 = 100;

/// A neighbour in the chain: a parent or a child.
pub struct ChainLink {
    pub id: String,
    pub name: String,
    pub kind: String,
    pub status: String,
    pub created_at: String,
}

impl From<&Backup> for ChainLink {
    fn from(b: &Backup) -> ChainLink {
        ChainLink {
            id: b.id.clone(),
            name: b.name.clone(),
            kind: b.kind.clone(),
            status: b.status.clone(),
            created_at: timestamp(&b.created_at),
        }
    }
}

/// One copy of the archive (primary storage target or a replica) as last seen.
pub struct CopyLine {
    pub storage: String,
    pub state: String,
    pub checked_at: String,
    pub error: String,
    /// Until when its storage refuses to delete it (S3 Object Lock), empty when unlocked.
    pub retain_until: String,
}

impl From<&BackupCopy> for CopyLine {
    fn from(c: &BackupCopy) -> CopyLine {
        CopyLine {
            storage: c.storage.clone(),
            state: c.state.clone(),
            checked_at: c.checked_at.as_ref().map(timestamp).unwrap_or_default(),
            error: c.error.clone().unwrap_or_default(),
            retain_until: c
                .retain_until
                .map(|t| t.format("%Y-%m-%d %H:%M UTC").to_string())
                .unwrap_or_default(),
        }
    }
}

/// The record's fields as text (empty when unset).
pub struct Facts {
    pub size: String,
    pub stored_size: String,
    pub object_present: bool,
    /// "yes (key …)" or "no" once the archive exists; "—" before (pending, running) and
    /// when none was written (failed, cancelled).
    pub encrypted: String,
    pub created_at: String,
    pub started_at: String,
    pub finished_at: String,
    /// How long it waited for a worker and how long it ran, apart.
    pub timing: Timing,
    pub verified_at: String,
    pub last_restored_at: String,
    pub sources: String,
    pub warnings: Vec<String>,
}

#[derive(Template)]
#[template(path = "backups/detail.html")]
struct DetailPage {
    layout: Layout,
    backup: Backup,
    facts: Facts,
    /// Oldest first, ending with the direct parent.
    ancestors: Vec<ChainLink>,
    children: Vec<ChainLink>,
    /// Its copies in the storage targets (empty for backups made before copies were kept).
    copies: Vec<CopyLine>,
    /// Some copy has a retention date (the table shows the column then).
    any_locked: bool,
    /// Why its storage keeps it now ("locked until …"): retention keeps it, Delete is refused.
    hold: Option<String>,
    /// Each source with what it holds; empty until the manifest exists.
    sources: Vec<SourceLine>,
    /// Files, folders and links of the whole backup, from its manifest.
    counts: Option<Counts>,
    manifest_problem: Option<String>,
    tasks: Vec<TaskLine>,
    /// The running task, else the backup's own task: a live bar while it runs.
    progress: Option<ProgressView>,
    /// The backup's own task while it is pending or running: the backup's status badges
    /// follow it live, and it is what "Cancel backup" cancels.
    live_task: Option<String>,
    /// Pending or running: nothing to delete or pin yet.
    in_progress: bool,
    logs: Vec<LogRow>,
    /// Only a successful backup can be downloaded, verified or restored.
    succeeded: bool,
    /// A restore's safety backup: which restore it belongs to.
    safety: Option<SafetyNote>,
}

pub async fn show(
    state: web::Data<WebState>,
    user: Viewer,
    id: web::Path<String>,
    request: HttpRequest,
) -> WebResult<HttpResponse> {
    let id = id.into_inner();
    let layout = Layout::new(&user.identity, "backups");
    let live = state.live.clone();
    // What the live bar fetches again when its task ends: this page, as the user filtered it.
    let here = request
        .uri()
        .path_and_query()
        .map_or_else(|| format!("/backups/{id}"), |p| p.to_string());
    let page = state
        .blocking(move |app| gather(app, &live, &id, layout, &here))
        .await?;
    Ok(html_response(StatusCode::OK, page.render()?))
}

fn gather(
    app: &App,
    live: &LiveProgress,
    id: &str,
    layout: Layout,
    here: &str,
) -> Result<DetailPage, CofferError> {
    let mut conn = app.conn()?;
    let backup = Backup::find_by_id(&mut conn, id)?;
    let mut ancestors = Vec::new();
    let mut next = backup.parent_id.clone();
    while let Some(parent_id) = next.take() {
        if ancestors.len() >= MAX_CHAIN {
            break;
        }
        match Backup::find_by_id(&mut conn, &parent_id) {
            Ok(parent) => {
                next = parent.parent_id.clone();
                ancestors.push(ChainLink::from(&parent));
            }
            Err(_) => break,
        }
    }
    ancestors.reverse();
    let children = Backup::list_children(&mut conn, &backup.id)?
        .iter()
        .map(ChainLink::from)
        .collect();
    let task_rows = Task::list_for_backup(&mut conn, &backup.id)?;
    let tasks: Vec<TaskLine> = task_rows.iter().map(TaskLine::from).collect();
    let progress = task_rows
        .iter()
        .find(|t| !t.status().is_finished())
        .or_else(|| task_rows.iter().find(|t| t.kind == "backup"))
        .map(|t| ProgressView::for_task(live, t).on_page(here));
    let live_task = task_rows
        .iter()
        .find(|t| t.kind == TaskKind::Backup.as_str() && !t.status().is_finished())
        .map(|t| t.id.clone());
    // The record (read first) may say `pending` while its task has started since: then
    // the stream must say `status`, so that the record's times are fetched again.
    let progress = progress.map(|p| match &live_task {
        Some(task) if *task == p.task_id => p.seen_as(&backup.status),
        _ => p,
    });
    let logs = LogEntry::list(
        &mut conn,
        &LogFilter {
            backup_id: Some(backup.id.clone()),
            limit: Some(LOG_LINES),
            ..LogFilter::default()
        },
    )?
    .iter()
    .map(LogRow::from)
    .collect();
    let (sources, counts, manifest_problem) = match Manifest::load(&mut conn, &backup.id)? {
        None => (Vec::new(), None, None),
        Some(json) => match ManifestDoc::from_json(&json) {
            Ok(doc) => (source_lines(&doc), Some(Counts::of(&doc)), None),
            Err(problem) => (Vec::new(), None, Some(problem)),
        },
    };
    let copies: Vec<CopyLine> = BackupCopy::of_backup(&mut conn, &backup.id)?
        .iter()
        .map(CopyLine::from)
        .collect();
    let any_locked = copies.iter().any(|c| !c.retain_until.is_empty());
    let hold = crate::jobs::retention::hold::hold_of(&mut conn, &app.settings.storage, &backup)?
        .map(|h| h.to_string());
    let safety = safety_note(&mut conn, &backup)?;
    drop(conn);
    let stored = match &backup.storage_key {
        Some(key) => app.storage.size(key).ok().flatten(),
        None => None,
    };
    let facts = Facts {
        size: human_bytes(backup.size_bytes),
        stored_size: stored.map_or(String::new(), human_bytes),
        object_present: stored.is_some(),
        encrypted: match (&backup.storage_key, &backup.key_id) {
            (None, _) => "—".into(),
            (Some(_), Some(key)) => format!("yes (key {key})"),
            (Some(_), None) => "no".into(),
        },
        created_at: timestamp(&backup.created_at),
        started_at: backup
            .started_at
            .as_ref()
            .map(timestamp)
            .unwrap_or_default(),
        finished_at: backup
            .finished_at
            .as_ref()
            .map(timestamp)
            .unwrap_or_default(),
        timing: Timing::of(backup.created_at, backup.started_at, backup.finished_at),
        verified_at: backup
            .verified_at
            .as_ref()
            .map(timestamp)
            .unwrap_or_default(),
        last_restored_at: backup
            .last_restored_at
            .as_ref()
            .map(timestamp)
            .unwrap_or_default(),
        sources: backup.sources().unwrap_or_default().join(", "),
        warnings: backup.warnings(),
    };
    let succeeded = backup.status == Status::Succeeded.as_str();
    let in_progress = [Status::Pending, Status::Running]
        .iter()
        .any(|s| backup.status == s.as_str());
    Ok(DetailPage {
        safety,
        layout,
        backup,
        facts,
        ancestors,
        children,
        copies,
        any_locked,
        hold,
        sources,
        counts,
        manifest_problem,
        tasks,
        progress,
        live_task,
        in_progress,
        logs,
        succeeded,
    })
}
