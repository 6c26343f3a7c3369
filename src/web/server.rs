//! Builds the console: binds the listener first (port 0 picks a free one, which tests
//! use), then serves the routes with the identity middleware and security headers.

use std::net::{SocketAddr, TcpListener};

use actix_web::middleware::{from_fn, DefaultHeaders};
use actix_web::{web, App as ActixApp, HttpServer};

use crate::web::identity::identify;
use crate::web::routes;
use crate::web::state::WebState;

pub struct Console {
    server: actix_web::dev::Server,
    address: SocketAddr,
}

impl Console {
    /// Binds `bind` and prepares the server; nothing is served until [`Console::run`].
    pub fn build(state: WebState, bind: SocketAddr) -> std::io::Result<Console> {
        let listener = TcpListener::bind(bind)?;
        let address = listener.local_addr()?;
        let data = web::Data::new(state);
        let server = HttpServer::new(move || {
            ActixApp::new()
                .app_data(data.clone())
                .wrap(from_fn(identify))
                .wrap(security_headers())
                .configure(routes::configure)
                .default_service(web::to(routes::not_found))
        })
        .listen(listener)?
        .disable_signals()
        .run();
        Ok(Console { server, address })
    }

    pub fn address(&self) -> SocketAddr {
        self.address
    }

    /// A handle to stop the server from elsewhere.
    pub fn handle(&self) -> actix_web::dev::ServerHandle {
        self.server.handle()
    }

    pub async fn run(self) -> std::io::Result<()> {
        self.server.await
    }
}

/// Scripts only from this origin (htmx and its SSE extension are served here), no framing,
/// no MIME sniffing. Inline styles are allowed because htmx adds its indicator styles.
fn security_headers() -> DefaultHeaders {
    DefaultHeaders::new()
        .add((
            "Content-Security-Policy",
            "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; \
             img-src 'self' data:; frame-ancestors 'none'; form-action 'self'; base-uri 'none'",
        ))
        .add(("X-Content-Type-Options", "nosniff"))
        .add(("X-Frame-Options", "DENY"))
        .add(("Referrer-Policy", "same-origin"))
}
