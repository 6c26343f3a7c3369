use super::each_backend;
use crate::db::{now, DbError, NewUser, User, UserChanges};
use crate::domain::Role;

#[test]
fn users_are_created_found_listed_and_changed() {
    each_backend(|conn, backend| {
        assert_eq!(
            User::count(conn).expect("count"),
            0,
            "{backend:?}: first run"
        );
        let admin = User::insert(
            conn,
            &NewUser::new("root", "$argon2id$v=19$x", Role::Admin).must_change_password(),
        )
        .expect("insert");
        let viewer = User::insert(conn, &NewUser::new("eve", "$argon2id$v=19$y", Role::Viewer))
            .expect("insert");

        assert_eq!(
            admin,
            User::find_by_id(conn, &admin.id).expect("find"),
            "{backend:?}"
        );
        assert_eq!(
            User::find_by_username(conn, "eve").expect("find"),
            Some(viewer.clone())
        );
        assert_eq!(User::find_by_username(conn, "nobody").expect("find"), None);
        let printed = format!("{viewer:?}");
        assert!(
            printed.contains("eve") && !printed.contains("argon2id"),
            "Debug leaves the hash out: {printed}"
        );
        assert!(matches!(
            User::find_by_id(conn, "nope"),
            Err(DbError::NotFound { what: "user", .. })
        ));
        assert_eq!(
            (admin.role(), admin.must_change_password, admin.disabled),
            (Role::Admin, true, false)
        );
        let names: Vec<_> = User::list(conn)
            .expect("list")
            .into_iter()
            .map(|u| u.username)
            .collect();
        assert_eq!(names, ["eve", "root"]);
        assert_eq!(
            (
                User::count(conn).expect("count"),
                User::count_enabled_admins(conn).expect("admins")
            ),
            (2, 1)
        );

        let taken =
            User::insert(conn, &NewUser::new("eve", "h", Role::Operator)).expect_err("taken");
        assert!(taken.is_unique_violation(), "{backend:?}: {taken}");
        let bad_role = NewUser {
            role: "superuser".into(),
            ..NewUser::new("mallory", "h", Role::Viewer)
        };
        assert!(
            User::insert(conn, &bad_role).is_err(),
            "{backend:?}: CHECK keeps unknown roles out"
        );

        let promoted = User::update(
            conn,
            &viewer.id,
            &UserChanges::default().with_role(Role::Operator),
        )
        .expect("promote");
        assert_eq!(promoted.role(), Role::Operator);
        assert!(promoted.updated_at >= viewer.updated_at);
        let at = now();
        let signed_in = User::update(conn, &admin.id, &UserChanges::logged_in(at)).expect("login");
        assert_eq!(signed_in.last_login_at, Some(at));
        let disabled = UserChanges {
            disabled: Some(true),
            must_change_password: Some(false),
            ..Default::default()
        };
        User::update(conn, &admin.id, &disabled).expect("disable");
        assert_eq!(User::count_enabled_admins(conn).expect("admins"), 0);
        assert!(matches!(
            User::update(conn, "nope", &disabled),
            Err(DbError::NotFound { .. })
        ));

        User::delete(conn, &viewer.id).expect("delete");
        assert_eq!(User::count(conn).expect("count"), 1);
        let json = serde_json::to_string(&signed_in).expect("json");
        assert!(
            !json.contains("argon2"),
            "the hash is never serialized: {json}"
        );
    });
}
