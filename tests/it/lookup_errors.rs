//! A database failure while looking up a backup is reported as what it is, never as
//! "backup not found" (which would send an operator hunting for a deleted record).

use coffer::domain::VerifyDepth;
use coffer::error::Error;
use coffer::jobs::restore::RestoreRequest;
use coffer::jobs::verify::{record_verify, VerifyRequest};
use diesel::connection::SimpleConnection;

use crate::helpers::{tester, TestEnv, BOTH};

#[test]
fn only_a_missing_record_is_not_found() {
    for backend in &BOTH {
        let env = TestEnv::with_directory(backend);
        let app = env.app();
        let missing = record_verify(
            &app,
            &VerifyRequest::new("no-such-id", VerifyDepth::Quick),
            &tester(),
        );
        assert!(
            matches!(missing, Err(Error::NotFound { .. })),
            "{missing:?}"
        );

        // The table is gone: every lookup now fails for another reason.
        let mut conn = app.conn().unwrap();
        conn.batch_execute("ALTER TABLE backup_records RENAME TO backup_records_away")
            .unwrap();
        drop(conn);
        let verify = record_verify(
            &app,
            &VerifyRequest::new("no-such-id", VerifyDepth::Quick),
            &tester(),
        );
        let restore = coffer::jobs::restore::record_restore(
            &app,
            &RestoreRequest {
                backup_id: "no-such-id".into(),
                confirmed: true,
                ..RestoreRequest::default()
            },
            &tester(),
        );
        let export = coffer::jobs::export::export_backup(&app, "no-such-id", Vec::new(), None);
        for (what, error) in [
            ("verify", verify.map(|_| ()).unwrap_err()),
            ("restore", restore.map(|_| ()).unwrap_err()),
            ("export", export.map(|_| ()).unwrap_err()),
        ] {
            assert!(!matches!(error, Error::NotFound { .. }), "{what}: {error}");
            assert!(!error.to_string().contains("not found"), "{what}: {error}");
        }
    }
}
