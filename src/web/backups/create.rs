//! `GET /backups/new` and `POST /backups`: start a backup of everything, one service or chosen
//! sources. The handler only submits it (`jobs::submit`: recorded and queued); the browser
//! goes to the backup's page at once. A wrong field re-renders the form with the message
//! next to that field (400).

use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use askama::Template;

use crate::config::Settings;
use crate::domain::{BackupKind, Scope};
use crate::error::Error as CofferError;
use crate::jobs::backup::{BackupRequest, MAX_DESCRIPTION, MAX_NAME};
use crate::jobs::requester::Requester;
use crate::jobs::submit::submit_backup;
use crate::web::auth::Operator;
use crate::web::error::{see_other, WebResult};
use crate::web::layout::{html_response, Layout};
use crate::web::state::WebState;

/// What the user typed, shown again when something is wrong.
#[derive(Debug, Default, Clone)]
pub struct CreateForm {
    pub scope: String,
    pub service: String,
    pub sources: Vec<String>,
    pub kind: String,
    pub name: String,
    pub description: String,
}

/// A message per field; `general` for what no single field caused.
#[derive(Debug, Default)]
pub struct FieldErrors {
    pub scope: Option<String>,
    pub service: Option<String>,
    pub sources: Option<String>,
    pub kind: Option<String>,
    pub name: Option<String>,
    pub description: Option<String>,
    pub general: Option<String>,
}

struct SourceChoice {
    name: String,
    service: String,
    kind: String,
    checked: bool,
}

#[derive(Template)]
#[template(path = "backups/new.html")]
struct NewPage {
    layout: Layout,
    form: CreateForm,
    errors: FieldErrors,
    services: Vec<String>,
    sources: Vec<SourceChoice>,
}

pub async fn show(state: web::Data<WebState>, user: Operator) -> WebResult<HttpResponse> {
    let form = CreateForm {
        scope: "all".into(),
        kind: "full".into(),
        ..CreateForm::default()
    };
    render(&state.app.settings, &user, form, FieldErrors::default())
}

pub async fn submit(
    state: web::Data<WebState>,
    user: Operator,
    body: web::Bytes,
) -> WebResult<HttpResponse> {
    let form = CreateForm::parse(&body);
    let request = match form.check(&state.app.settings) {
        Ok(request) => request,
        Err(errors) => return render(&state.app.settings, &user, form, *errors),
    };
    let by = Requester::Console(user.username().to_string());
    let submitted = state
        .submit(move |app, queue| submit_backup(app, queue, request, by))
        .await;
    match submitted {
        Ok((backup, _)) => Ok(see_other(&format!("/backups/{}", backup.id))),
        Err(CofferError::Refused(message)) => {
            let errors = FieldErrors {
                general: Some(message),
                ..FieldErrors::default()
            };
            render(&state.app.settings, &user, form, errors)
        }
        Err(other) => Err(other.into()),
    }
}

fn render(
    settings: &Settings,
    user: &Operator,
    form: CreateForm,
    errors: FieldErrors,
) -> WebResult<HttpResponse> {
    let status = if errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::BAD_REQUEST
    };
    let services = crate::web::view::service_names(&settings.sources);
    let sources = settings
        .sources
        .iter()
        .map(|s| SourceChoice {
            name: s.name.clone(),
            service: s.service.clone(),
            kind: s.kind().to_string(),
            checked: form.sources.contains(&s.name),
        })
        .collect();
    let page = NewPage {
        layout: Layout::new(&user.identity, "backups"),
        form,
        errors,
        services,
        sources,
    };
    Ok(html_response(status, page.render()?))
}

impl FieldErrors {
    fn is_empty(&self) -> bool {
        [
            &self.scope,
            &self.service,
            &self.sources,
            &self.kind,
            &self.name,
            &self.description,
            &self.general,
        ]
        .iter()
        .all(|e| e.is_none())
    }
}

impl CreateForm {
    /// Reads the urlencoded body by hand: `sources` repeats, which serde_urlencoded cannot
    /// collect. Unknown fields (the CSRF token) are ignored.
    pub fn parse(body: &[u8]) -> CreateForm {
        let mut form = CreateForm::default();
        for (key, value) in form_urlencoded::parse(body) {
            let value = value.into_owned();
            match key.as_ref() {
                "scope" => form.scope = value,
                "service" => form.service = value,
                "sources" => form.sources.push(value),
                "kind" => form.kind = value,
                "name" => form.name = value,
                "description" => form.description = value,
                _ => {}
            }
        }
        form
    }

    /// The request the form describes, or what is wrong with each field.
    pub fn check(&self, settings: &Settings) -> Result<BackupRequest, Box<FieldErrors>> {
        let mut errors = FieldErrors::default();
        let scope = match self.scope.trim() {
            "all" | "" => Some(Scope::All),
            "service" => {
                let service = self.service.trim();
                if settings.sources.iter().any(|s| s.service == service) {
                    Some(Scope::Service(service.to_string()))
                } else {
                    errors.service = Some(if service.is_empty() {
                        "Choose a service.".into()
                    } else {
                        format!("No configured source belongs to a service `{service}`.")
                    });
                    None
                }
            }
            "sources" => {
                let mut names: Vec<String> = Vec::new();
                for name in self.sources.iter().map(|n| n.trim()) {
                    if settings.source(name).is_none() {
                        errors.sources = Some(format!("There is no source named `{name}`."));
                    } else if !names.iter().any(|n| n == name) {
                        names.push(name.to_string());
                    }
                }
                if names.is_empty() && errors.sources.is_none() {
                    errors.sources = Some("Choose at least one source.".into());
                }
                errors.sources.is_none().then_some(Scope::Sources(names))
            }
            other => {
                errors.scope = Some(format!(
                    "`{other}` is not a scope: choose all, service or sources."
                ));
                None
            }
        };
        // A browser always sends the checked radio; a script may leave it out.
        let kind_text = if self.kind.trim().is_empty() {
            "full"
        } else {
            &self.kind
        };
        let kind = match kind_text.parse::<BackupKind>() {
            Ok(kind) => Some(kind),
            Err(message) => {
                errors.kind = Some(message);
                None
            }
        };
        let name = self.name.trim();
        if name.chars().count() > MAX_NAME {
            errors.name = Some(format!("Use at most {MAX_NAME} characters."));
        }
        let description = self.description.trim();
        if description.chars().count() > MAX_DESCRIPTION {
            errors.description = Some(format!("Use at most {MAX_DESCRIPTION} characters."));
        }
        match (scope, kind) {
            (Some(scope), Some(kind)) if errors.is_empty() => {
                let mut request = BackupRequest::new(scope, kind);
                request.name = (!name.is_empty()).then(|| name.to_string());
                request.description = (!description.is_empty()).then(|| description.to_string());
                Ok(request)
            }
            _ => Err(Box::new(errors)),
        }
    }
}
