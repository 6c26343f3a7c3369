//! The second factor's rows: enrolment replaces only an unconfirmed secret, a step is taken
//! once and never an older one, a recovery code is spent once, removal takes everything.

use chrono::Duration;

use super::each_backend;
use crate::db::{NewUser, RecoveryCode, Session, TotpRow, User};
use crate::domain::Role;

#[test]
fn steps_and_recovery_codes_are_used_once() {
    each_backend(|conn, backend| {
        let user = User::insert(conn, &NewUser::new("sam", "$argon2id$v=19$x", Role::Admin))
            .expect("user");
        let id = user.id.as_str();
        assert!(TotpRow::start_enrolment(conn, id, "AAAA").unwrap());
        // A new start replaces the unconfirmed secret.
        assert!(TotpRow::start_enrolment(conn, id, "BBBB").unwrap());
        assert_eq!(TotpRow::find(conn, id).unwrap().unwrap().secret, "BBBB");
        assert!(TotpRow::find_confirmed(conn, id).unwrap().is_none());
        // Not confirmed: no step can be used yet.
        assert!(!TotpRow::use_step(conn, id, 10).unwrap());
        assert!(TotpRow::confirm(conn, id, 100).unwrap());
        assert!(!TotpRow::confirm(conn, id, 101).unwrap(), "{backend:?}");
        // A confirmed secret is never replaced by a new start.
        assert!(!TotpRow::start_enrolment(conn, id, "CCCC").unwrap());
        assert_eq!(TotpRow::find(conn, id).unwrap().unwrap().secret, "BBBB");

        assert!(
            !TotpRow::use_step(conn, id, 100).unwrap(),
            "the confirming step"
        );
        assert!(!TotpRow::use_step(conn, id, 99).unwrap(), "an older step");
        assert!(TotpRow::use_step(conn, id, 101).unwrap());
        assert!(!TotpRow::use_step(conn, id, 101).unwrap(), "a replay");

        RecoveryCode::replace_all(conn, id, &["h1".into(), "h2".into()]).unwrap();
        assert_eq!(RecoveryCode::unused(conn, id).unwrap(), 2);
        assert!(RecoveryCode::spend(conn, id, "h1").unwrap());
        assert!(!RecoveryCode::spend(conn, id, "h1").unwrap(), "spent");
        assert!(!RecoveryCode::spend(conn, "someone-else", "h2").unwrap());
        assert_eq!(RecoveryCode::unused(conn, id).unwrap(), 1);
        RecoveryCode::replace_all(conn, id, &["h3".into()]).unwrap();
        assert!(!RecoveryCode::spend(conn, id, "h2").unwrap(), "replaced");

        let waiting =
            Session::awaiting_code("w".into(), id, "c".into(), Duration::minutes(10), None);
        Session::insert(conn, &waiting).unwrap();
        Session::insert(
            conn,
            &Session::new("f".into(), id, "c".into(), Duration::hours(1), None),
        )
        .unwrap();
        assert!(
            Session::find_live(conn, "w")
                .unwrap()
                .unwrap()
                .0
                .awaiting_second_factor
        );
        assert!(TotpRow::remove(conn, id).unwrap());
        assert!(!TotpRow::remove(conn, id).unwrap());
        assert_eq!(RecoveryCode::unused(conn, id).unwrap(), 0);
        // A session waiting for a code that no longer exists ends; full ones stay.
        assert!(Session::find_live(conn, "w").unwrap().is_none());
        assert!(Session::find_live(conn, "f").unwrap().is_some());
    });
}
