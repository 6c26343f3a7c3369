//! Sessions and API tokens: how long a session lives, how often a token's use is written.

use chrono::Duration;
use diesel::prelude::*;

use super::each_backend;
use crate::db::schema::{api_tokens, sessions};
use crate::db::{now, ApiToken, NewUser, Session, TokenCheck, User, MAX_SESSION_AGE};
use crate::domain::{Role, TokenScopes};

fn a_user(conn: &mut crate::db::DbConnection) -> User {
    User::insert(conn, &NewUser::new("sam", "$argon2id$v=19$x", Role::Viewer)).expect("user")
}

#[test]
fn an_active_session_still_ends_after_its_maximum_age() {
    each_backend(|conn, backend| {
        let user = a_user(conn);
        let session = Session::new("h1".into(), &user.id, "c".into(), Duration::hours(1), None);
        Session::insert(conn, &session).expect("insert");
        assert!(Session::find_live(conn, "h1").expect("find").is_some());
        // Seen a minute ago (idle expiry far ahead), but signed in more than 7 days ago.
        diesel::update(sessions::table.find("h1"))
            .set(sessions::created_at.eq(now() - MAX_SESSION_AGE - Duration::minutes(1)))
            .execute(conn)
            .expect("age it");
        Session::touch(conn, "h1", Duration::hours(1)).expect("touch");
        assert!(
            Session::find_live(conn, "h1").expect("find").is_none(),
            "{backend:?}"
        );
    });
}

#[test]
fn token_use_is_written_at_most_once_a_minute() {
    each_backend(|conn, backend| {
        let user = a_user(conn);
        let token = ApiToken::new(&user.id, "script", "th".into(), &TokenScopes::all(), None);
        ApiToken::insert(conn, &token).expect("insert");
        let last_used = |conn: &mut crate::db::DbConnection| {
            api_tokens::table
                .find(&token.id)
                .select(api_tokens::last_used_at)
                .first::<Option<chrono::NaiveDateTime>>(conn)
                .expect("read")
        };
        let usable = |conn: &mut crate::db::DbConnection, addr: &str| {
            matches!(
                ApiToken::authenticate(conn, "th", Some(addr)).expect("find"),
                TokenCheck::Usable { .. }
            )
        };
        assert!(usable(conn, "10.0.0.1"));
        let first = last_used(conn).expect("noted on first use");
        let earlier = first - Duration::seconds(30);
        diesel::update(api_tokens::table.find(&token.id))
            .set(api_tokens::last_used_at.eq(earlier))
            .execute(conn)
            .expect("set");
        assert!(usable(conn, "10.0.0.1"));
        assert_eq!(
            last_used(conn),
            Some(earlier),
            "{backend:?}: 30 s ago is recent"
        );
        // Another address is noted at once.
        assert!(usable(conn, "10.0.0.2"));
        assert!(last_used(conn).expect("noted") > earlier, "{backend:?}");
        let long_ago = first - Duration::minutes(5);
        diesel::update(api_tokens::table.find(&token.id))
            .set(api_tokens::last_used_at.eq(long_ago))
            .execute(conn)
            .expect("set");
        assert!(usable(conn, "10.0.0.2"));
        assert!(last_used(conn).expect("noted") > long_ago, "{backend:?}");
    });
}

#[test]
fn an_expired_token_is_told_apart_and_its_use_audited_once_an_hour() {
    each_backend(|conn, backend| {
        let user = a_user(conn);
        let past = now() - Duration::minutes(1);
        let token = ApiToken::new(
            &user.id,
            "old",
            "old-hash".into(),
            &TokenScopes::all(),
            Some(past),
        );
        ApiToken::insert(conn, &token).expect("insert");
        let check = |conn: &mut crate::db::DbConnection| match ApiToken::authenticate(
            conn, "old-hash", None,
        )
        .expect("find")
        {
            TokenCheck::Expired { noted, .. } => noted,
            other => panic!("{backend:?}: {other:?}"),
        };
        assert!(check(conn), "{backend:?}: the first expired use is audited");
        assert!(!check(conn), "{backend:?}: not again within the hour");
        diesel::update(api_tokens::table.find(&token.id))
            .set(api_tokens::expired_use_at.eq(now() - Duration::hours(2)))
            .execute(conn)
            .expect("set");
        assert!(check(conn), "{backend:?}: again after an hour");
        assert!(matches!(
            ApiToken::authenticate(conn, "unknown", None).expect("find"),
            TokenCheck::Refused
        ));
        ApiToken::revoke(conn, &token.id).expect("revoke");
        assert!(matches!(
            ApiToken::authenticate(conn, "old-hash", None).expect("find"),
            TokenCheck::Refused
        ));
    });
}
