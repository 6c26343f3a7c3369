//! An accessibility check of a page with axe-core, the engine behind most accessibility
//! audits, injected into the page the browser shows. Only serious and critical violations
//! fail a test: moderate and minor ones are matters of taste that axe itself rates lower.
//!
//! axe-core comes from the npm registry (`tools/axe`, pinned in its package-lock.json);
//! `.ci/run` installs it with `npm ci --prefix tools/axe`.

use std::path::PathBuf;
use std::sync::OnceLock;

use fantoccini::Client;
use serde_json::Value;

/// axe-core's script, read once per test run.
fn axe_script() -> &'static str {
    static SCRIPT: OnceLock<String> = OnceLock::new();
    SCRIPT.get_or_init(|| {
        let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("tools/axe/node_modules/axe-core/axe.min.js");
        std::fs::read_to_string(&path).unwrap_or_else(|error| {
            panic!(
                "axe-core is missing at {} ({error}): run `npm ci --prefix tools/axe` \
                 (.ci/run does)",
                path.display()
            )
        })
    })
}

/// Runs axe-core on the page the browser shows and returns each serious or critical
/// violation as a line: the page, the rule, its impact and the first elements it names.
pub(super) async fn serious_violations(browser: &Client, page: &str) -> Vec<String> {
    let loaded = browser
        .execute(&format!("{}\nreturn typeof axe;", axe_script()), vec![])
        .await
        .expect("axe-core loads into the page");
    assert_eq!(loaded, Value::from("object"), "axe-core did not load");
    let found = browser
        .execute_async(
            r#"
const done = arguments[arguments.length - 1];
axe.run(document, { resultTypes: ['violations'] })
  .then(result => done(result.violations
    .filter(v => v.impact === 'serious' || v.impact === 'critical')
    .map(v => ({ id: v.id, impact: v.impact, help: v.help,
                 nodes: v.nodes.slice(0, 3).map(n => n.target.join(' ')) }))))
  .catch(error => done([{ id: 'axe-error', impact: 'critical', help: String(error), nodes: [] }]));
"#,
            vec![],
        )
        .await
        .expect("axe-core runs");
    found
        .as_array()
        .expect("axe-core returns a list")
        .iter()
        .map(|violation| {
            format!(
                "{page}: {} ({}): {} at {}",
                violation["id"].as_str().unwrap_or_default(),
                violation["impact"].as_str().unwrap_or_default(),
                violation["help"].as_str().unwrap_or_default(),
                violation["nodes"]
            )
        })
        .collect()
}
