use diesel::prelude::*;

use super::TestDatabase;
use crate::db::schema::users;
use crate::db::{applied_migrations, revert_all_migrations, run_migrations, DbConnection};

const MIGRATION_COUNT: usize = 7;

fn user_rows(conn: &mut DbConnection) -> QueryResult<i64> {
    users::table.count().get_result(conn)
}

#[test]
fn migrations_go_up_down_and_up_again() {
    for db in TestDatabase::both().expect("test databases") {
        let name = db.backend().name();
        let mut conn = DbConnection::connect(db.url()).expect("connect");

        let applied = run_migrations(&mut conn).expect("first run");
        assert_eq!(applied.len(), MIGRATION_COUNT, "{name}: {applied:?}");
        assert_eq!(user_rows(&mut conn).expect("users table"), 0, "{name}");
        assert!(
            run_migrations(&mut conn).expect("second run").is_empty(),
            "{name}"
        );

        let reverted = revert_all_migrations(&mut conn).expect("revert");
        assert_eq!(reverted.len(), MIGRATION_COUNT, "{name}");
        assert!(
            user_rows(&mut conn).is_err(),
            "{name}: users table survived the revert"
        );
        assert!(
            applied_migrations(&mut conn).expect("applied").is_empty(),
            "{name}"
        );

        let again = run_migrations(&mut conn).expect("run after revert");
        assert_eq!(again, applied, "{name}");
        assert_eq!(
            applied_migrations(&mut conn).expect("applied").len(),
            MIGRATION_COUNT
        );
    }
}

#[test]
fn open_migrates_and_a_second_open_finds_nothing_to_do() {
    for db in TestDatabase::both().expect("test databases") {
        let name = db.backend().name();
        let pool = db.open().expect("open");
        let mut conn = pool.get().expect("pooled connection");
        assert_eq!(
            applied_migrations(&mut conn).expect("applied").len(),
            MIGRATION_COUNT
        );
        drop(conn);
        let again = db.open().expect("second open");
        let mut conn = again.get().expect("pooled connection");
        assert!(run_migrations(&mut conn).expect("run").is_empty(), "{name}");
    }
}
