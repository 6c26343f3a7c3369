use crate::config::Settings;
use crate::db;
use crate::error::Result;

/// Opening the pool applies pending migrations; this reports where things stand.
pub fn run(settings: &Settings) -> Result<()> {
    let pool = db::open(&settings.database_url)?;
    let mut conn = db::get(&pool)?;
    let applied = db::applied_migrations(&mut conn)?;
    println!(
        "database {} is up to date ({} migrations applied)",
        db::redact_url(&settings.database_url),
        applied.len()
    );
    Ok(())
}
