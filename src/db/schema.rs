//! The tables, written by hand once for both backends (see diesel.toml): only types SQLite and
//! PostgreSQL share. Kinds, statuses and roles are Text holding the domain `as_str()` names;
//! JSON documents are Text; timestamps are UTC without a zone.

diesel::table! {
    users (id) {
        id -> Text,
        username -> Text,
        password_hash -> Text,
        role -> Text,
        disabled -> Bool,
        must_change_password -> Bool,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        last_login_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    backup_records (id) {
        id -> Text,
        name -> Text,
        kind -> Text,
        parent_id -> Nullable<Text>,
        status -> Text,
        scope -> Text,
        sources -> Text,
        storage_key -> Nullable<Text>,
        size_bytes -> BigInt,
        sha256 -> Nullable<Text>,
        key_id -> Nullable<Text>,
        file_count -> BigInt,
        warnings -> Nullable<Text>,
        created_by -> Nullable<Text>,
        automatic -> Bool,
        description -> Nullable<Text>,
        error_message -> Nullable<Text>,
        verify_state -> Text,
        verified_at -> Nullable<Timestamp>,
        restore_count -> BigInt,
        last_restored_at -> Nullable<Timestamp>,
        created_at -> Timestamp,
        started_at -> Nullable<Timestamp>,
        finished_at -> Nullable<Timestamp>,
        pinned -> Bool,
        safety -> Bool,
    }
}

diesel::table! {
    restore_reports (task_id) {
        task_id -> Text,
        backup_id -> Text,
        safety_backup_id -> Nullable<Text>,
        report -> Text,
        finished_at -> Timestamp,
    }
}

diesel::table! {
    backup_manifests (backup_id) {
        backup_id -> Text,
        manifest -> Text,
    }
}

diesel::table! {
    backup_tasks (id) {
        id -> Text,
        kind -> Text,
        status -> Text,
        backup_id -> Nullable<Text>,
        params -> Nullable<Text>,
        percent -> Double,
        phase -> Text,
        bytes_done -> BigInt,
        bytes_total -> BigInt,
        files_done -> BigInt,
        files_total -> BigInt,
        eta_seconds -> Nullable<BigInt>,
        heartbeat_at -> Nullable<Timestamp>,
        worker -> Nullable<Text>,
        error -> Nullable<Text>,
        created_by -> Nullable<Text>,
        created_at -> Timestamp,
        started_at -> Nullable<Timestamp>,
        finished_at -> Nullable<Timestamp>,
        progress_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    backup_logs (id) {
        id -> BigInt,
        created_at -> Timestamp,
        level -> Text,
        operation -> Text,
        username -> Nullable<Text>,
        backup_id -> Nullable<Text>,
        task_id -> Nullable<Text>,
        message -> Text,
        details -> Nullable<Text>,
        seq -> Nullable<BigInt>,
        prev_hash -> Nullable<Text>,
        hash -> Nullable<Text>,
    }
}

diesel::table! {
    audit_chain_head (id) {
        id -> Integer,
        seq -> BigInt,
        hash -> Text,
        start_seq -> BigInt,
        start_hash -> Text,
        legacy_sealed -> Bool,
        published_seq -> Nullable<BigInt>,
        published_at -> Nullable<Timestamp>,
        checked_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    backup_schedules (id) {
        id -> Text,
        name -> Text,
        enabled -> Bool,
        cron -> Text,
        timezone -> Text,
        scope -> Text,
        kind -> Text,
        retention_days -> Nullable<BigInt>,
        retention_policy -> Nullable<Text>,
        last_run_at -> Nullable<Timestamp>,
        next_run_at -> Nullable<Timestamp>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        action -> Text,
        drill_every -> Nullable<BigInt>,
        backups_succeeded -> BigInt,
        last_task_id -> Nullable<Text>,
    }
}

diesel::table! {
    sessions (token_hash) {
        token_hash -> Text,
        user_id -> Text,
        csrf_token -> Text,
        created_at -> Timestamp,
        last_seen_at -> Timestamp,
        expires_at -> Timestamp,
        remote_addr -> Nullable<Text>,
        awaiting_second_factor -> Bool,
    }
}

diesel::table! {
    api_tokens (id) {
        id -> Text,
        user_id -> Text,
        name -> Text,
        token_hash -> Text,
        created_at -> Timestamp,
        last_used_at -> Nullable<Timestamp>,
        revoked_at -> Nullable<Timestamp>,
        scopes -> Text,
        expires_at -> Nullable<Timestamp>,
        last_used_addr -> Nullable<Text>,
        expired_use_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    login_throttle (subject) {
        subject -> Text,
        failures -> BigInt,
        last_failure_at -> Timestamp,
        locked_until -> Nullable<Timestamp>,
    }
}

diesel::table! {
    monitor_alerts (subject) {
        subject -> Text,
        raised_at -> Timestamp,
    }
}

diesel::table! {
    monitor_counters (name) {
        name -> Text,
        value -> BigInt,
    }
}

diesel::table! {
    backup_copies (backup_id, storage) {
        backup_id -> Text,
        storage -> Text,
        state -> Text,
        size_bytes -> BigInt,
        error -> Nullable<Text>,
        checked_at -> Nullable<Timestamp>,
        created_at -> Timestamp,
        retain_until -> Nullable<Timestamp>,
    }
}

diesel::table! {
    drills (task_id) {
        task_id -> Text,
        backup_id -> Text,
        backup_name -> Text,
        backup_size -> BigInt,
        passed -> Bool,
        rto_ms -> BigInt,
        report -> Text,
        started_at -> Timestamp,
        finished_at -> Timestamp,
    }
}

diesel::table! {
    drill_sources (task_id, source) {
        task_id -> Text,
        source -> Text,
        service -> Text,
        backup_id -> Text,
        passed -> Bool,
        rto_ms -> BigInt,
        taken_at -> Timestamp,
        finished_at -> Timestamp,
    }
}

diesel::table! {
    totp_secrets (user_id) {
        user_id -> Text,
        secret -> Text,
        created_at -> Timestamp,
        confirmed_at -> Nullable<Timestamp>,
        last_step -> BigInt,
    }
}

diesel::table! {
    pitr_wal_segments (source, name, partial) {
        source -> Text,
        name -> Text,
        partial -> Bool,
        timeline -> BigInt,
        start_lsn -> Nullable<BigInt>,
        size_bytes -> BigInt,
        stored_bytes -> BigInt,
        sha256 -> Text,
        key_id -> Nullable<Text>,
        storage_key -> Text,
        stored_at -> Timestamp,
    }
}

diesel::table! {
    recovery_codes (code_hash) {
        code_hash -> Text,
        user_id -> Text,
        created_at -> Timestamp,
        used_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    pitr_wal_streamers (source) {
        source -> Text,
        owner -> Text,
        renewed_at -> Timestamp,
        streaming -> Bool,
        error -> Nullable<Text>,
    }
}

diesel::joinable!(backup_manifests -> backup_records (backup_id));
diesel::joinable!(backup_copies -> backup_records (backup_id));
diesel::joinable!(drill_sources -> drills (task_id));
diesel::joinable!(sessions -> users (user_id));
diesel::joinable!(api_tokens -> users (user_id));
diesel::joinable!(totp_secrets -> users (user_id));
diesel::joinable!(recovery_codes -> users (user_id));

diesel::allow_tables_to_appear_in_same_query!(
    audit_chain_head,
    users,
    backup_records,
    backup_manifests,
    backup_tasks,
    backup_logs,
    backup_schedules,
    sessions,
    api_tokens,
    login_throttle,
    monitor_alerts,
    monitor_counters,
    backup_copies,
    drills,
    drill_sources,
    restore_reports,
    totp_secrets,
    recovery_codes,
    pitr_wal_segments,
    pitr_wal_streamers,
);
