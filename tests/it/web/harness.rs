//! The console under test: the real app on 127.0.0.1:0 with a fresh database (SQLite or
//! PostgreSQL), its own data, storage and a directory source, served from a background
//! thread; and a cookie-keeping HTTP client that acts like a signed-in browser.

use std::sync::Arc;

use coffer::app::App;
use coffer::application::{Application, Loops};
use coffer::auth::hash_password;
use coffer::db::{NewUser, User};
use coffer::domain::Role;
use coffer::jobs::queue::JobQueue;
use coffer::jobs::run::live::LiveProgress;
use reqwest::blocking::{Client, Response};
use reqwest::redirect::Policy;

use crate::helpers::{Backend, TestEnv};

pub const PASSWORD: &str = "correct horse battery";

#[allow(dead_code)] // parts used as more pages get tests
pub struct TestConsole {
    pub env: TestEnv,
    pub app: Arc<App>,
    pub queue: JobQueue,
    pub live: LiveProgress,
    /// `http://127.0.0.1:PORT`.
    pub base: String,
    runtime: tokio::runtime::Runtime,
    handle: actix_web::dev::ServerHandle,
}

#[allow(dead_code)]
impl TestConsole {
    /// A console over one directory source `files` (service `app`) holding two small files.
    pub fn start(backend: &Backend) -> TestConsole {
        TestConsole::start_with(backend, |_| {})
    }

    /// Like [`TestConsole::start`], with the settings changed by `adjust` first.
    pub fn start_with(
        backend: &Backend,
        adjust: impl FnOnce(&mut coffer::config::Settings),
    ) -> TestConsole {
        let env = TestEnv::with_directory(backend);
        std::fs::write(env.path("files/hello.txt"), "hello from coffer\n").unwrap();
        std::fs::create_dir_all(env.path("files/sub")).unwrap();
        std::fs::write(env.path("files/sub/data.bin"), vec![7u8; 64 * 1024]).unwrap();
        let mut settings = coffer::config::Settings::load(Some(&env.config)).unwrap();
        adjust(&mut settings);
        let started = coffer::jobs::startup::start(settings, coffer::app::KeyPolicy::FirstRunOnly);
        let app = Arc::new(started.unwrap().app);
        // The console process as `coffer serve` builds it, without its loops: jobs run
        // only when a test drains the queue, and nothing checks behind a test's back.
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let bind = "127.0.0.1:0".parse().unwrap();
        let application = runtime
            .block_on(Application::build(app.clone(), bind, Loops::CONSOLE_ONLY))
            .expect("the console starts");
        let (queue, live) = (application.queue().clone(), application.live().clone());
        let (address, handle) = (application.address(), application.handle());
        // Stopped through `handle` when the test ends.
        runtime.spawn(application.run_until(std::future::pending()));
        TestConsole {
            env,
            app,
            queue,
            live,
            base: format!("http://{address}"),
            runtime,
            handle,
        }
    }

    /// Queues the job of a task recorded by a `record_*` call.
    pub fn push_task(&self, task: &coffer::db::Task) {
        let job = coffer::jobs::queue::Job::for_task(task).unwrap();
        self.runtime.block_on(self.queue.push(job)).unwrap();
    }

    /// Runs every queued job to its end, as the worker pool would.
    pub fn run_pending_jobs(&self) {
        self.runtime
            .block_on(self.queue.run_pending(self.app.clone(), &self.live))
            .expect("queued jobs run");
    }

    /// Starts the worker pool in the background (for tests that watch live progress).
    pub fn start_workers(&self) -> coffer::jobs::queue::WorkerControl {
        let control = coffer::jobs::queue::WorkerControl::new();
        self.runtime.spawn(coffer::jobs::queue::run_workers(
            self.app.clone(),
            self.queue.clone(),
            self.live.clone(),
            control.clone(),
        ));
        control
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// Records a user directly in the catalogue.
    pub fn add_user(&self, username: &str, role: Role) -> User {
        let mut conn = self.app.conn().unwrap();
        let hash = hash_password(PASSWORD).unwrap();
        User::insert(&mut conn, &NewUser::new(username, &hash, role)).unwrap()
    }

    /// A browser with no session.
    pub fn anonymous(&self) -> Browser {
        Browser {
            client: crate::helpers::http_client()
                .cookie_store(true)
                .redirect(Policy::none())
                .build()
                .unwrap(),
            base: self.base.clone(),
            csrf: String::new(),
        }
    }

    /// A new user with `role`, signed in.
    pub fn login_as(&self, role: Role) -> Browser {
        let username = format!(
            "{}-{}",
            role.as_str(),
            &uuid::Uuid::new_v4().simple().to_string()[..6]
        );
        self.add_user(&username, role);
        let mut browser = self.anonymous();
        let response = browser.login(&username, PASSWORD);
        assert_eq!(response.status(), 303, "sign-in of {username} failed");
        browser.refresh_csrf("/");
        browser
    }
}

impl Drop for TestConsole {
    fn drop(&mut self) {
        let handle = self.handle.clone();
        let stopped = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            runtime.block_on(handle.stop(false));
        });
        let _ = stopped.join();
    }
}

/// An HTTP client that keeps cookies and knows its session's CSRF token.
pub struct Browser {
    pub client: Client,
    pub base: String,
    pub csrf: String,
}

impl Browser {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub fn get(&self, path: &str) -> Response {
        self.client.get(self.url(path)).send().unwrap()
    }

    /// A page's body, asserting a 200.
    pub fn page(&self, path: &str) -> String {
        let response = self.get(path);
        let status = response.status();
        let body = response.text().unwrap();
        assert_eq!(status, 200, "GET {path}: {body}");
        body
    }

    /// Posts a form with this session's CSRF token added.
    pub fn post(&self, path: &str, fields: &[(&str, &str)]) -> Response {
        let mut all: Vec<(&str, &str)> = fields.to_vec();
        all.push(("csrf_token", &self.csrf));
        self.post_raw(path, &all)
    }

    /// Posts exactly `fields` (no CSRF token added).
    pub fn post_raw(&self, path: &str, fields: &[(&str, &str)]) -> Response {
        self.client
            .post(self.url(path))
            .form(fields)
            .send()
            .unwrap()
    }

    /// Fills in and sends the sign-in form.
    pub fn login(&mut self, username: &str, password: &str) -> Response {
        let token = self.sign_in_token();
        self.post_raw(
            "/login",
            &[
                ("username", username),
                ("password", password),
                ("csrf_token", &token),
                ("next", "/"),
            ],
        )
    }

    /// Opens the sign-in form (setting its cookie) and returns its CSRF token.
    pub fn sign_in_token(&self) -> String {
        let form = self.page("/login");
        hidden_field(&form, "csrf_token").expect("sign-in form has a CSRF token")
    }

    /// Reads the session's CSRF token from a page.
    pub fn refresh_csrf(&mut self, path: &str) {
        let page = self.page(path);
        self.csrf = hidden_field(&page, "csrf_token").expect("page has a CSRF token");
    }
}

/// The value of `<input type="hidden" name="NAME" value="…">` in a page.
pub fn hidden_field(html: &str, name: &str) -> Option<String> {
    let marker = format!("name=\"{name}\" value=\"");
    let start = html.find(&marker)? + marker.len();
    let end = start + html[start..].find('"')?;
    Some(html[start..end].to_string())
}

/// The `Location` header of a redirect.
pub fn location(response: &Response) -> String {
    response
        .headers()
        .get("location")
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default()
}
