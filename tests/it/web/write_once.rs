//! The console and the API over a write-once (`append_only`) primary folder: a backup is
//! made as usual, its pages say its storage keeps it, and deleting it is refused (409, with
//! the reason) by the page and by `DELETE /api/v1/backups/{id}` alike — its archive stays.

use coffer::config::Protection;
use coffer::db::Backup;
use coffer::domain::Role;

use super::harness::{location, TestConsole};
use super::users::issue_token;
use crate::helpers::{http_client, Backend};

#[test]
fn a_backup_in_a_write_once_folder_cannot_be_deleted_from_the_console_or_the_api() {
    let console = TestConsole::start_with(&Backend::Sqlite, |settings| {
        settings.storage.primary.protection = Protection::AppendOnly;
    });
    let admin = console.login_as(Role::Admin);
    let response = admin.post("/backups", &[("scope", "all"), ("kind", "full")]);
    assert_eq!(response.status(), 303);
    let id = location(&response)
        .trim_start_matches("/backups/")
        .to_string();
    console.run_pending_jobs();
    let backup = Backup::find_by_id(&mut console.app.conn().unwrap(), &id).unwrap();
    assert_eq!(backup.status, "success", "{:?}", backup.error_message);
    let archive = console
        .env
        .path("backups")
        .join(backup.storage_key.as_deref().unwrap());
    assert!(archive.is_file());

    let reason = "kept by write-once storage `primary`";
    assert!(admin.page("/backups").contains(reason));
    let detail = admin.page(&format!("/backups/{id}"));
    assert!(
        detail.contains("id=\"held-note\"") && detail.contains(reason),
        "{detail}"
    );
    let confirm = admin.page(&format!("/backups/{id}/delete"));
    assert!(
        confirm.contains("id=\"delete-blocked\"") && confirm.contains(reason),
        "{confirm}"
    );
    assert!(!confirm.contains("id=\"confirm-delete\""));

    let refused = admin.post(&format!("/backups/{id}/delete"), &[]);
    assert_eq!(refused.status(), 409);
    assert!(refused.text().unwrap().contains(reason));

    console.add_user("script-owner", Role::Admin);
    let token = issue_token(&console, &admin, "script-owner");
    let api = http_client()
        .build()
        .unwrap()
        .delete(console.url(&format!("/api/v1/backups/{id}")))
        .bearer_auth(token)
        .send()
        .unwrap();
    assert_eq!(api.status(), 409);
    assert!(api.text().unwrap().contains(reason));

    assert!(Backup::find_by_id(&mut console.app.conn().unwrap(), &id).is_ok());
    assert!(archive.is_file(), "the archive stays");
}
