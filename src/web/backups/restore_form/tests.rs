use super::*;

fn held() -> Vec<Held> {
    vec![
        Held {
            name: "files".into(),
            kind: SourceKind::Directory,
            no_original: None,
        },
        Held {
            name: "shopdb".into(),
            kind: SourceKind::Postgres,
            no_original: None,
        },
        Held {
            name: "cache".into(),
            kind: SourceKind::Redis,
            no_original: None,
        },
    ]
}

fn form(fields: impl FnOnce(&mut RestoreForm)) -> RestoreForm {
    let mut form = RestoreForm {
        sources: vec!["shopdb".into()],
        confirm: Some("yes".into()),
        ..RestoreForm::default()
    };
    fields(&mut form);
    form
}

#[test]
fn the_ticked_sources_are_what_is_restored() {
    let choice = check(&form(|f| f.sources = vec!["files".into()]), &held())
        .unwrap_or_else(|e| panic!("{}", e.sources));
    assert_eq!(choice.sources, ["files"]);
    assert_eq!(choice.target, None);
    let errors = check(&form(|f| f.sources.clear()), &held()).err().unwrap();
    assert!(
        errors.sources.contains("at least one"),
        "{}",
        errors.sources
    );
}

#[test]
fn each_kind_is_checked_against_its_own_target_field() {
    let choice = check(&form(|f| f.target_database = "shop_check".into()), &held())
        .unwrap_or_else(|e| panic!("{}", e.target_database));
    assert_eq!(choice.target.as_deref(), Some(Path::new("shop_check")));

    let redis = |text: &str| {
        check(
            &form(|f| {
                f.sources = vec!["cache".into()];
                f.target_redis = text.into();
            }),
            &held(),
        )
    };
    assert_eq!(redis("3").ok().unwrap().target.unwrap(), Path::new("3"));
    assert!(redis("/srv/x")
        .err()
        .unwrap()
        .target_redis
        .contains("number"));
    let bad_name = check(&form(|f| f.target_database = "/srv/x".into()), &held());
    assert!(!bad_name.err().unwrap().target_database.is_empty());
    let password = check(
        &form(|f| f.target_database = "postgres://u:secret@db2/shop".into()),
        &held(),
    );
    assert!(password.err().unwrap().target_database.contains("password"));
}

#[test]
fn half_original_half_elsewhere_and_mixed_targets_are_refused() {
    // A folder elsewhere and Redis left to its original place.
    let errors = check(
        &form(|f| {
            f.sources = vec!["files".into(), "cache".into()];
            f.target_dir = "/srv/elsewhere".into();
        }),
        &held(),
    )
    .err()
    .unwrap();
    assert!(
        errors.target_redis.contains("untick “cache”"),
        "{}",
        errors.target_redis
    );
    assert!(
        errors.sources.contains("one after the other"),
        "{}",
        errors.sources
    );

    // Two database sources cannot share one database target.
    let errors = check(
        &form(|f| {
            f.sources = vec!["shopdb".into(), "cache".into()];
            f.target_database = "a".into();
            f.target_redis = "3".into();
        }),
        &held(),
    )
    .err()
    .unwrap();
    assert!(!errors.sources.is_empty());
}

#[test]
fn tables_keys_and_merge_reach_the_choice_and_misfits_are_named() {
    let choice = check(
        &form(|f| {
            f.tables = " orders, public.customers ,".into();
            f.merge = Some("yes".into());
        }),
        &held(),
    )
    .unwrap_or_else(|e| panic!("{}", e.selection));
    assert_eq!(choice.selection.tables, ["orders", "public.customers"]);
    assert!(choice.merge);

    let errors = check(&form(|f| f.keys = "user:*".into()), &held())
        .err()
        .unwrap();
    assert!(errors.selection.contains("--keys"), "{}", errors.selection);
}

#[test]
fn a_target_for_no_ticked_source_is_not_ignored() {
    let errors = check(
        &form(|f| {
            f.sources = vec!["cache".into()];
            f.target_dir = "/srv/elsewhere".into();
        }),
        &held(),
    )
    .err()
    .unwrap();
    assert!(
        errors.target_dir.contains("No folder"),
        "{}",
        errors.target_dir
    );
}

#[test]
fn a_source_without_its_original_place_needs_a_target() {
    let mut sources = held();
    sources[0].no_original = Some("no longer configured".into());
    let errors = check(&form(|f| f.sources = vec!["files".into()]), &sources)
        .err()
        .unwrap();
    assert!(
        errors.sources.contains("“files” cannot go back"),
        "{}",
        errors.sources
    );
    let choice = check(
        &form(|f| {
            f.sources = vec!["files".into()];
            f.target_dir = "/srv/elsewhere-for-a-test".into();
        }),
        &sources,
    );
    assert!(choice.is_ok());
}
