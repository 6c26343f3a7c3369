//! `/settings`: schedules added, edited and deleted by admins, refused field by field,
//! shown with their next runs.

use chrono::{Duration, NaiveTime, Utc};
use coffer::db::{LogEntry, LogFilter, Schedule};
use coffer::domain::Role;

use super::harness::{location, Browser, TestConsole};
use crate::helpers::BOTH;

/// A schedule form as posted.
type Form = Vec<(&'static str, String)>;

fn daily(name: &str) -> Form {
    vec![
        ("name", name.to_string()),
        ("enabled", "on".into()),
        ("frequency", "daily".into()),
        ("time", "02:30".into()),
        ("weekday", "sunday".into()),
        ("day", "1".into()),
        ("cron", String::new()),
        ("timezone", "Europe/Berlin".into()),
        ("scope", "all".into()),
        ("kind", "full".into()),
        ("retention_days", "30".into()),
    ]
}

fn with(
    mut form: Vec<(&'static str, String)>,
    key: &'static str,
    value: &str,
) -> Vec<(&'static str, String)> {
    form.retain(|(k, _)| *k != key);
    form.push((key, value.to_string()));
    form
}

fn post(
    browser: &Browser,
    path: &str,
    form: &[(&'static str, String)],
) -> reqwest::blocking::Response {
    let fields: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
    browser.post(path, &fields)
}

/// The message shown next to `field`.
fn field_error(html: &str, field: &str) -> String {
    let marker = format!("data-field=\"{field}\">");
    let start = html.find(&marker).expect("the field has an error slot") + marker.len();
    let end = start + html[start..].find("</span>").unwrap();
    html[start..end].trim().to_string()
}

fn schedules(console: &TestConsole) -> Vec<Schedule> {
    Schedule::list(&mut console.app.conn().unwrap()).unwrap()
}

#[test]
fn admins_add_edit_and_delete_schedules_and_each_change_is_logged() {
    for backend in &BOTH {
        let console = TestConsole::start(backend);
        let admin = console.login_as(Role::Admin);

        let added = post(&admin, "/settings/schedules", &daily("nightly"));
        assert_eq!(added.status(), 303, "{}", added.text().unwrap());
        assert_eq!(location(&added), "/settings");
        let stored = schedules(&console);
        assert_eq!(stored.len(), 1);
        let s = &stored[0];
        assert_eq!(
            (s.cron.as_str(), s.timezone.as_str()),
            ("30 2 * * *", "Europe/Berlin")
        );
        assert_eq!(
            (s.scope.as_str(), s.kind.as_str(), s.retention_days),
            ("all", "full", Some(30))
        );
        assert!(s.enabled && s.next_run_at.is_some_and(|t| t > Utc::now().naive_utc()));

        // Edit: weekly on Monday, one chosen source, incremental, disabled.
        let form = with(daily("nightly-inc"), "frequency", "weekly");
        let form = with(form, "weekday", "monday");
        let form = with(form, "scope", "sources");
        let form = with(form, "sources", "files");
        let form = with(form, "kind", "incremental");
        let form = with(form, "enabled", "");
        let edited = post(&admin, &format!("/settings/schedules/{}", s.id), &form);
        assert_eq!(edited.status(), 303, "{}", edited.text().unwrap());
        let s = &schedules(&console)[0];
        assert_eq!(s.name, "nightly-inc");
        assert_eq!(s.cron, "30 2 * * 1");
        assert_eq!(
            (s.scope.as_str(), s.kind.as_str()),
            ("sources:files", "incremental")
        );
        assert!(!s.enabled && s.next_run_at.is_none());

        // The edit form comes back filled with the stored schedule.
        let page = admin.page(&format!("/settings?edit={}", s.id));
        assert!(page.contains("value=\"monday\" selected"), "{page}");
        assert!(page.contains("value=\"files\" checked"));
        assert!(page.contains("every monday at 02:30"));

        let gone = admin.post(&format!("/settings/schedules/{}/delete", s.id), &[]);
        assert_eq!(gone.status(), 303);
        assert!(schedules(&console).is_empty());

        let unknown = admin.post("/settings/schedules/nope/delete", &[]);
        assert_eq!(unknown.status(), 404);
        let unknown = post(&admin, "/settings/schedules/nope", &daily("x"));
        assert_eq!(unknown.status(), 404);

        let log = LogEntry::list(
            &mut console.app.conn().unwrap(),
            &LogFilter {
                operation: Some("settings".into()),
                ..LogFilter::default()
            },
        )
        .unwrap();
        let messages: Vec<&str> = log.iter().map(|e| e.message.as_str()).collect();
        assert!(
            messages
                .iter()
                .any(|m| m.contains("added schedule `nightly`")),
            "{messages:?}"
        );
        assert!(messages
            .iter()
            .any(|m| m.contains("changed schedule `nightly-inc`")));
        assert!(messages
            .iter()
            .any(|m| m.contains("deleted schedule `nightly-inc`")));
    }
}

#[test]
fn bad_input_is_shown_next_to_its_field_and_nothing_is_saved() {
    for backend in &BOTH {
        let console = TestConsole::start(backend);
        let admin = console.login_as(Role::Admin);
        assert_eq!(
            post(&admin, "/settings/schedules", &daily("taken")).status(),
            303
        );
        let cases: Vec<(&str, Form, &str)> = vec![
            (
                "cron",
                with(with(daily("a"), "frequency", "cron"), "cron", "0 25 * * *"),
                "cron",
            ),
            (
                "timezone",
                with(daily("b"), "timezone", "Europe/Atlantis"),
                "Europe/Atlantis",
            ),
            ("time", with(daily("c"), "time", "24:61"), "HH:MM"),
            (
                "sources",
                with(with(daily("d"), "scope", "sources"), "sources", "../etc"),
                "../etc",
            ),
            ("name", daily("   "), "name"),
            ("name", daily("taken"), "already named"),
            (
                "retention_days",
                with(daily("e"), "retention_days", "0"),
                "1 to 3650",
            ),
            (
                "retention_days",
                with(daily("f"), "retention_days", "99999"),
                "1 to 3650",
            ),
            (
                "day",
                with(with(daily("g"), "frequency", "monthly"), "day", "31"),
                "last",
            ),
            (
                "keep_daily",
                with(daily("h"), "keep_daily", "-2"),
                "`-2` is not a count",
            ),
            (
                "keep_weekly",
                with(daily("i"), "keep_weekly", "lots"),
                "whole number",
            ),
            (
                "min_verified",
                with(daily("j"), "min_verified", "10001"),
                "0 to 10000",
            ),
        ];
        for (field, form, expected) in cases {
            let response = post(&admin, "/settings/schedules", &form);
            assert_eq!(response.status(), 400, "{field}");
            let html = response.text().unwrap();
            let message = field_error(&html, field);
            assert!(message.contains(expected), "{field}: `{message}`");
            assert!(html.contains("Nothing was saved"));
        }
        // Editing with bad input leaves the stored schedule as it was.
        let kept = schedules(&console);
        assert_eq!(kept.len(), 1);
        let response = post(
            &admin,
            &format!("/settings/schedules/{}", kept[0].id),
            &with(daily("taken"), "timezone", "Nowhere"),
        );
        assert_eq!(response.status(), 400);
        assert_eq!(schedules(&console), kept);
    }
}

#[test]
fn everyone_reads_schedules_but_only_admins_change_them() {
    for backend in &BOTH {
        let console = TestConsole::start(backend);
        for role in [Role::Viewer, Role::Operator] {
            let browser = console.login_as(role);
            let page = browser.page("/settings");
            assert!(page.contains("Schedules") && !page.contains("Add a schedule"));
            assert_eq!(
                post(&browser, "/settings/schedules", &daily("x")).status(),
                403
            );
        }
        assert!(schedules(&console).is_empty());
        let anonymous = console.anonymous();
        assert_eq!(anonymous.get("/settings").status(), 303);
    }
}

#[test]
fn the_list_shows_the_next_three_runs_in_the_zone_and_in_utc() {
    for backend in &BOTH {
        let console = TestConsole::start(backend);
        let admin = console.login_as(Role::Admin);
        // Tokyo has no daylight saving: 09:00 JST is always 00:00 UTC.
        let form = with(daily("tokyo"), "timezone", "Asia/Tokyo");
        let form = with(form, "time", "09:00");
        assert_eq!(post(&admin, "/settings/schedules", &form).status(), 303);
        let page = admin.page("/settings");
        let now = Utc::now().naive_utc();
        let midnight = NaiveTime::MIN;
        let mut first = now.date().and_time(midnight);
        if first <= now {
            first += Duration::days(1);
        }
        for n in 0..3 {
            let utc = first + Duration::days(n);
            let local = utc + Duration::hours(9);
            let shown = format!(
                "{} JST <span class=\"muted\">({} UTC)</span>",
                local.format("%a %Y-%m-%d %H:%M"),
                utc.format("%Y-%m-%d %H:%M")
            );
            assert!(page.contains(&shown), "missing `{shown}` in {page}");
        }
    }
}

#[test]
fn a_schedules_retention_policy_is_saved_and_previewed_with_reasons() {
    let console = TestConsole::start(&crate::helpers::Backend::Sqlite);
    let admin = console.login_as(Role::Admin);
    for _ in 0..3 {
        let (_, task) = coffer::jobs::backup::record_backup(
            &console.app,
            &coffer::jobs::backup::BackupRequest::new(
                coffer::domain::Scope::All,
                coffer::domain::BackupKind::Full,
            ),
            &crate::helpers::tester(),
        )
        .unwrap();
        console.push_task(&task);
        console.run_pending_jobs();
    }
    let form = with(with(daily("gfs"), "keep_last", "1"), "keep_daily", "7");
    let form = with(form, "retention_days", "1");
    assert_eq!(post(&admin, "/settings/schedules", &form).status(), 303);
    let stored = schedules(&console).remove(0);
    let policy = coffer::jobs::retention::policy_of(&stored).unwrap();
    assert_eq!(policy.keep_last, Some(1));
    assert_eq!(policy.keep_daily, Some(7));
    assert_eq!(policy.keep_within_days, Some(1));

    let list = admin.page("/settings");
    assert!(list.contains("1 days, last 1, 7 daily"), "{list}");
    let editing = admin.page(&format!("/settings?edit={}", stored.id));
    assert!(editing.contains("id=\"retention-preview\""), "{editing}");
    assert!(
        editing.contains("would remove <strong>0</strong>"),
        "{editing}"
    );
    assert!(
        editing.contains("kept: younger than 1 days; one of the last 1; daily"),
        "{editing}"
    );
    assert!(
        editing.contains("value=\"7\""),
        "the form shows the saved counts"
    );
}

#[test]
fn the_form_makes_drill_schedules_and_refuses_retention_on_them() {
    let console = TestConsole::start(&crate::helpers::Backend::Sqlite);
    let admin = console.login_as(Role::Admin);
    // Without scripts the retention fields are sent: a drill schedule refuses them.
    let drill = with(daily("weekly drill"), "action", "drill");
    let drill = with(drill, "frequency", "weekly");
    let drill = with(drill, "scope", "service");
    let drill = with(drill, "service", "app");
    let refused = post(&admin, "/settings/schedules", &drill);
    assert_eq!(refused.status(), 400);
    let html = refused.text().unwrap();
    assert!(
        field_error(&html, "retention_days").contains("drill schedule keeps and prunes nothing"),
        "{html}"
    );
    assert!(schedules(&console).is_empty());
    // With the backup-only fields switched off (what the page's script does), it is saved.
    let drill: Form = drill
        .into_iter()
        .filter(|(k, _)| !matches!(*k, "retention_days" | "kind"))
        .collect();
    let added = post(&admin, "/settings/schedules", &drill);
    assert_eq!(added.status(), 303, "{}", added.text().unwrap());
    let s = &schedules(&console)[0];
    assert_eq!(
        (s.action.as_str(), s.scope.as_str()),
        ("drill", "service:app")
    );
    assert_eq!((s.retention_days, s.drill_every), (None, None));
    let page = admin.page("/settings");
    assert!(
        page.contains("<td data-label=\"Action\">drill</td>"),
        "the list shows the action"
    );
    let page = admin.page(&format!("/settings?edit={}", s.id));
    assert!(page.contains("value=\"drill\" checked"), "{page}");
    assert!(
        !page.contains("retention-preview"),
        "a drill prunes nothing"
    );

    // A backup schedule with a drill cadence, and a bad cadence refused by its field.
    let bad = with(daily("nightly"), "drill_every", "0");
    let refused = post(&admin, "/settings/schedules", &bad);
    assert_eq!(refused.status(), 400);
    assert!(field_error(&refused.text().unwrap(), "drill_every").contains("1 to 1000"));
    let good = with(daily("nightly"), "drill_every", "4");
    assert_eq!(post(&admin, "/settings/schedules", &good).status(), 303);
    let nightly = schedules(&console)
        .into_iter()
        .find(|s| s.name == "nightly")
        .unwrap();
    assert_eq!(
        (nightly.action.as_str(), nightly.drill_every),
        ("backup", Some(4))
    );
    let page = admin.page("/settings");
    assert!(page.contains("<td data-label=\"Action\">backup, full</td>"));
    assert!(page.contains("a drill after every 4. backup"), "{page}");
}

/// Delete asks first (a page naming the schedule, with Cancel), and afterwards the list says
/// which schedule went. The list's Delete is a link to that question, not a form that
/// deletes at once, and reads as a red button.
#[test]
fn deleting_a_schedule_asks_first_and_then_says_what_happened() {
    for backend in &BOTH {
        let console = TestConsole::start(backend);
        let admin = console.login_as(Role::Admin);
        for name in ["nightly", "weekly"] {
            assert_eq!(
                post(&admin, "/settings/schedules", &daily(name)).status(),
                303
            );
        }
        let nightly = schedules(&console)
            .into_iter()
            .find(|s| s.name == "nightly")
            .unwrap();
        let ask = format!("/settings/schedules/{}/delete", nightly.id);
        let list = admin.page("/settings");
        assert!(
            list.contains(&format!(
                "<a href=\"{ask}\" class=\"button small danger\" aria-label=\"Delete nightly\">"
            )),
            "{list}"
        );
        assert!(
            !list.contains(&format!("action=\"{ask}\"")),
            "no form on the list deletes without asking"
        );

        let question = admin.page(&ask);
        assert!(
            question.contains("<h1>Delete schedule nightly?</h1>"),
            "{question}"
        );
        assert!(question.contains(&format!("<form method=\"post\" action=\"{ask}\"")));
        assert!(question.contains("<a href=\"/settings\" class=\"button\">Cancel</a>"));
        assert_eq!(schedules(&console).len(), 2, "asking deletes nothing");

        let gone = admin.post(&ask, &[]);
        assert_eq!(gone.status(), 303);
        assert_eq!(location(&gone), "/settings?deleted=nightly");
        let after = admin.page(&location(&gone));
        assert!(after.contains("Schedule “nightly” was deleted"), "{after}");
        assert_eq!(schedules(&console).len(), 1);
        // A link cannot claim a deletion that did not happen.
        let forged = admin.page("/settings?deleted=weekly");
        assert!(!forged.contains("was deleted"), "{forged}");
        assert_eq!(admin.get("/settings/schedules/nope/delete").status(), 404);
    }
}

/// "Run now" queues the backup the schedule would (its scope, named after it, pruned by its
/// retention), audit-logged under the user who asked; the list then shows the last run and
/// its result, linked to its task.
#[test]
fn run_now_queues_the_schedules_backup_and_the_list_shows_its_last_run_and_result() {
    for backend in &BOTH {
        let console = TestConsole::start(backend);
        let admin = console.login_as(Role::Admin);
        assert_eq!(
            post(&admin, "/settings/schedules", &daily("nightly")).status(),
            303
        );
        let nightly = schedules(&console).remove(0);
        let before = admin.page("/settings");
        assert!(before.contains("never"), "{before}");

        let operator = console.login_as(Role::Operator);
        let page = operator.page("/settings");
        let run = format!("/settings/schedules/{}/run", nightly.id);
        assert!(
            page.contains(&format!("action=\"{run}\"")),
            "operators see Run now"
        );
        assert!(
            !page.contains("aria-label=\"Delete nightly\""),
            "but not Delete"
        );
        let queued = operator.post(&run, &[]);
        assert_eq!(queued.status(), 303, "{}", queued.text().unwrap());
        let task_page = location(&queued);
        let task_id = task_page.trim_start_matches("/tasks/").to_string();
        let mut conn = console.app.conn().unwrap();
        let task = coffer::db::Task::find_by_id(&mut conn, &task_id).unwrap();
        let params: coffer::jobs::params::BackupParams = coffer::jobs::params::read(&task).unwrap();
        assert_eq!(params.schedule_id.as_deref(), Some(nightly.id.as_str()));
        let backup =
            coffer::db::Backup::find_by_id(&mut conn, task.backup_id.as_deref().unwrap()).unwrap();
        assert!(backup.name.starts_with("nightly "), "{}", backup.name);
        assert_eq!(backup.scope, "all");
        let stored = Schedule::find_by_id(&mut conn, &nightly.id).unwrap();
        assert_eq!(stored.last_task_id.as_deref(), Some(task_id.as_str()));
        assert_eq!(
            stored.next_run_at, nightly.next_run_at,
            "its next run stays"
        );
        drop(conn);

        console.run_pending_jobs();
        let list = admin.page("/settings");
        assert!(
            list.contains(&format!(
                "<a href=\"/tasks/{task_id}\" class=\"status-success\" aria-label=\"Last run of nightly: success\">success</a>"
            )),
            "{list}"
        );
        let log = LogEntry::list(
            &mut console.app.conn().unwrap(),
            &LogFilter {
                operation: Some("backup".into()),
                ..LogFilter::default()
            },
        )
        .unwrap();
        assert!(
            log.iter()
                .any(|e| e.message.contains("by Run now of schedule `nightly`")
                    && e.username
                        .as_deref()
                        .is_some_and(|u| u.starts_with("operator"))),
            "{:?}",
            log.iter()
                .map(|e| (&e.message, &e.username))
                .collect::<Vec<_>>()
        );

        let viewer = console.login_as(Role::Viewer);
        assert!(!viewer
            .page("/settings")
            .contains(&format!("action=\"{run}\"")));
        assert_eq!(viewer.post(&run, &[]).status(), 403);
        assert_eq!(
            admin.post("/settings/schedules/nope/run", &[]).status(),
            404
        );
    }
}
