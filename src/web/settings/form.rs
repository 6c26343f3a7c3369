//! The schedule form's posted fields → [`ScheduleInput`] (the checkbox list of sources
//! repeats its field name, so the body is read as pairs). What a new schedule proposes and
//! what an edit starts from live in `jobs::schedules`, shared with the API and the CLI.

use crate::domain::schedule::ScheduleInput;

/// The posted form as `(field, value)` pairs, repeated fields included.
pub type FormPairs = Vec<(String, String)>;

/// Reads the posted fields; unknown ones (the CSRF token) are ignored.
pub fn input_from_pairs(pairs: &FormPairs) -> ScheduleInput {
    let mut input = ScheduleInput::default();
    for (key, value) in pairs {
        let value = value.clone();
        match key.as_str() {
            "name" => input.name = value,
            "enabled" => input.enabled = !value.is_empty(),
            "action" => input.action = value,
            "drill_every" => input.drill_every = value,
            "frequency" => input.frequency = value,
            "time" => input.time = value,
            "weekday" => input.weekday = value,
            "day" => input.day = value,
            "cron" => input.cron = value,
            "timezone" => input.timezone = value,
            "scope" => input.scope = value,
            "service" => input.service = value,
            "sources" => input.sources.push(value),
            "kind" => input.kind = value,
            "retention_days" => input.retention_days = value,
            "keep_last" => input.keep_last = value,
            "keep_daily" => input.keep_daily = value,
            "keep_weekly" => input.keep_weekly = value,
            "keep_monthly" => input.keep_monthly = value,
            "keep_yearly" => input.keep_yearly = value,
            "min_verified" => input.min_verified = value,
            _ => {}
        }
    }
    input
}
