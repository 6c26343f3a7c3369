use std::path::Path;

use super::*;

fn parse(text: &str) -> Result<SourceConfig, String> {
    SourceConfig::from_toml(text)
}

#[test]
fn each_kind_holds_what_it_needs_with_the_defaults() {
    let dir =
        parse("name = 'up'\nkind = 'directory'\npath = '/srv/up'\nexclude = ['cache/**']").unwrap();
    assert_eq!(
        (dir.service.as_str(), dir.rpo_minutes),
        ("main_service", 26 * 60)
    );
    let SourceSpec::Directory { path, filters } = &dir.spec else {
        panic!("{dir:?}");
    };
    assert_eq!(path, Path::new("/srv/up"));
    assert_eq!(filters.exclude, ["cache/**"]);

    let pg = parse("name = 'pg'\nkind = 'postgres'\nurl = 'postgres://u@h/shop'").unwrap();
    let SourceSpec::Postgres {
        server,
        databases,
        globals,
        pitr,
    } = &pg.spec
    else {
        panic!("{pg:?}");
    };
    assert_eq!(
        databases,
        &["shop"],
        "the URL's database when none are listed"
    );
    assert!(!globals && !server.keep_replaced && server.password.is_none() && pitr.is_none());
    assert_eq!(server.connect_timeout_seconds, 10);

    let my = parse(
        "name = 'my'\nkind = 'mysql'\nurl = 'mysql://u@h'\ndatabases = ['a', 'b']\n\
         password_env = 'PW'\nkeep_replaced = true",
    )
    .unwrap();
    assert_eq!(my.databases(), ["a", "b"]);
    assert!(my.keeps_replaced());
    assert!(matches!(
        my.server().unwrap().password,
        Some(PasswordFrom::Env(ref var)) if var == "PW"
    ));

    // Accepted as it always was; the restore warns that Redis keeps nothing replaced.
    let redis =
        parse("name = 'c'\nkind = 'redis'\nurl = 'redis://h/2'\nkeep_replaced = true").unwrap();
    assert!(matches!(redis.spec, SourceSpec::Redis { .. }) && redis.keeps_replaced());
    assert!(redis.databases().is_empty() && redis.path().is_none());
}

#[test]
fn keys_of_another_kind_or_of_none_are_refused_by_name() {
    let cases = [
        (
            "kind = 'file'\npath = '/x'\nurl = 'postgres://u@h/db'",
            "`url`: applies to database server sources, not to a file source",
        ),
        (
            "kind = 'postgres'\nurl = 'postgres://u@h/db'\npath = '/x'",
            "`path`: a postgres source is reached by its url, not a path",
        ),
        (
            "kind = 'redis'\nurl = 'redis://h/0'\nglobals = true",
            "`globals`: applies to postgres sources only",
        ),
        (
            "kind = 'redis'\nurl = 'redis://h/0'\ndatabases = ['x']",
            "`databases`: a redis source names its database number in the url",
        ),
        (
            "kind = 'sqlite'\npath = '/x'\nexclude = ['*.tmp']",
            "`exclude`: include/exclude apply to directory sources only",
        ),
        (
            "kind = 'file'\npath = '/x'\npaht = 1",
            "`paht`: unknown key; a file source takes name, service, kind, rpo_minutes, rpo_hours, rto_minutes, before, after, hook_timeout_seconds, path",
        ),
        (
            "kind = 'directory'\npath = '/x'\nrpo_hours = 'daily'",
            "`rpo_hours`: invalid type: string \"daily\", expected u32",
        ),
        (
            "kind = 'directory'",
            "`path`: a directory source needs a path",
        ),
        ("kind = 'redis'", "`url`: a redis source needs a url"),
    ];
    for (keys, expected) in cases {
        let err = parse(&format!("name = 'a'\n{keys}")).unwrap_err();
        assert!(err.contains(expected), "expected `{expected}` in: {err}");
    }
}

#[test]
fn keys_of_another_kind_at_their_defaults_are_accepted_as_before() {
    let file = parse(
        "name = 'f'\nkind = 'file'\npath = '/x'\nglobals = false\nkeep_replaced = false\n\
         databases = []\ninclude = []\nexclude = []\nconnect_timeout_seconds = 10",
    )
    .unwrap();
    assert!(matches!(file.spec, SourceSpec::File { .. }));
    let err =
        parse("name = 'f'\nkind = 'file'\npath = '/x'\nconnect_timeout_seconds = 5").unwrap_err();
    assert!(err.contains("`connect_timeout_seconds`"), "{err}");
}

#[test]
fn bad_urls_are_refused_without_echoing_them() {
    let err = |kind: &str, url: &str| {
        parse(&format!("name = 'db'\nkind = '{kind}'\nurl = '{url}'")).unwrap_err()
    };
    let wrong = err("mysql", "postgres://x@h/db");
    assert!(
        wrong.contains("`url`: scheme `postgres` does not fit a mysql source"),
        "{wrong}"
    );
    let number = err("redis", "redis://h/zero");
    assert!(number.contains("not a Redis database number"), "{number}");
    let none = err("postgres", "postgres://u:pw@h");
    assert!(none.starts_with("`databases`"), "{none}");
    let garbled = err("postgres", "not a url :pw");
    assert!(
        garbled.starts_with("`url`") && !garbled.contains(":pw"),
        "{garbled}"
    );
    let twice =
        parse("name = 'db'\nkind = 'mysql'\nurl = 'mysql://u:pw@h/db'\npassword_file = '/run/pw'")
            .unwrap_err();
    assert!(twice.contains("one place only"), "{twice}");
}

#[test]
fn a_password_in_the_url_is_never_shown_by_debug() {
    let source =
        parse("name = 'db'\nkind = 'postgres'\nurl = 'postgres://app:s3cret@h/shop'").unwrap();
    let shown = format!("{source:?}");
    assert!(
        !shown.contains("s3cret") && shown.contains("app:***@h"),
        "{shown}"
    );
}

#[test]
fn recovery_targets_take_minutes_and_the_older_hours() {
    let base = "name = 'up'\nkind = 'directory'\npath = '/srv/up'\n";
    let minutes = parse(&format!("{base}rpo_minutes = 5\nrto_minutes = 30")).unwrap();
    assert_eq!((minutes.rpo_minutes, minutes.rto_minutes), (5, Some(30)));
    let hours = parse(&format!("{base}rpo_hours = 2")).unwrap();
    assert_eq!((hours.rpo_minutes, hours.rto_minutes), (120, None));
    let both = parse(&format!("{base}rpo_hours = 2\nrpo_minutes = 5")).unwrap_err();
    assert!(both.contains("not both"), "{both}");
    let zero = parse(&format!("{base}rto_minutes = 0")).unwrap_err();
    assert!(zero.contains("`rto_minutes`: 0 is out of range"), "{zero}");
}

#[test]
fn pitr_takes_its_wal_keys_with_defaults_and_refuses_them_without_it() {
    let pg = parse("name = 'Shop.db'\nkind = 'postgres'\nurl = 'postgres://u@h/shop'\npitr = true")
        .unwrap();
    assert_eq!(
        pg.pitr(),
        Some(&PitrSettings {
            flush_seconds: DEFAULT_WAL_FLUSH_SECONDS,
            synchronous: false,
            slot: "coffer_shop_db".into(),
        })
    );
    let set = parse(
        "name = 'pg'\nkind = 'postgres'\nurl = 'postgres://u@h/shop'\npitr = true\n\
         wal_flush_seconds = 5\nwal_synchronous = true\nreplication_slot = 'mine'",
    )
    .unwrap();
    assert_eq!(
        set.pitr(),
        Some(&PitrSettings {
            flush_seconds: 5,
            synchronous: true,
            slot: "mine".into(),
        })
    );
    let refused = |extra: &str, kind_url: &str| {
        parse(&format!("name = 'pg'\n{kind_url}\n{extra}")).unwrap_err()
    };
    let pg_url = "kind = 'postgres'\nurl = 'postgres://u@h/shop'";
    assert!(refused("wal_flush_seconds = 5", pg_url).contains("only with `pitr = true`"));
    assert!(refused("pitr = true\nwal_flush_seconds = 0", pg_url).contains("out of range"));
    assert!(
        refused("pitr = true\nreplication_slot = 'Bad-Slot'", pg_url)
            .contains("not a replication slot name")
    );
    assert!(
        refused("pitr = true", "kind = 'mysql'\nurl = 'mysql://u@h/shop'")
            .contains("postgres sources only")
    );
    assert!(refused("pitr = true", "kind = 'directory'\npath = '/srv'").contains("`pitr`"));
    assert!(parse("name = 'my'\nkind = 'mysql'\nurl = 'mysql://u@h/a'\npitr = false").is_ok());
}

#[test]
fn a_drill_server_is_a_server_url_of_the_kind_without_password_or_database() {
    let pg = parse(
        "name = 'pg'\nkind = 'postgres'\nurl = 'postgres://u@h/shop'\n\
         drill_url = 'postgres://u@drills:5433'",
    )
    .unwrap();
    let drill = pg.server().unwrap().drill_url.as_ref().unwrap();
    assert_eq!(drill.as_url().host_str(), Some("drills"));
    let refused = |kind_url: &str, drill: &str| {
        parse(&format!("name = 'x'\n{kind_url}\ndrill_url = '{drill}'")).unwrap_err()
    };
    let pg_url = "kind = 'postgres'\nurl = 'postgres://u@h/shop'";
    assert!(refused(pg_url, "mysql://u@h").contains("does not fit"));
    assert!(refused(pg_url, "postgres://u:secret@h").contains("password"));
    assert!(refused(pg_url, "postgres://u@h/other").contains("not a database"));
    assert!(refused("kind = 'redis'\nurl = 'redis://h/0'", "redis://h2")
        .contains("temporary redis-server"));
    assert!(refused("kind = 'directory'\npath = '/srv'", "postgres://u@h").contains("drill_url"));
}
