//! An actix-web API protected by `actix_oauth2_api::OAuth2`, with an in-process test issuer.
//!
//! ```sh
//! cargo run -p actix-oauth2-api --example actix              # port 3000
//! cargo run -p actix-oauth2-api --example actix -- --port 8080
//! ```
//!
//! It prints ready-to-paste `curl` lines: a public route, the protected route with a valid
//! token, a JSON body read after the token (the middleware never consumes the payload), a
//! route that needs a scope (403 without it), no token (400) and a tampered token (401).

use actix_cors::Cors;
use actix_oauth2_api::{Auth, Authorized, OAuth2, Policy, Requirement};
use actix_web::{App, HttpResponse, HttpServer, web};
use oauth2_api::test_util::TestIssuer;
use oauth2_api::{Algorithm, Authenticator, Provider};
use serde_json::{Value, json};

const AUDIENCE: &str = "api://actix-example";

fn port_from_args() -> Result<u16, String> {
    let mut args = std::env::args().skip(1);
    let mut port = 3000;
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--port" => {
                let v = args.next().ok_or("--port needs a value")?;
                port = v
                    .parse()
                    .map_err(|_| format!("--port: `{v}` is not a port number"))?;
            }
            other => return Err(format!("unknown argument `{other}` (only --port N)")),
        }
    }
    Ok(port)
}

async fn claims(Auth(user): Auth) -> HttpResponse {
    HttpResponse::Ok().json(json!({ "provider": user.provider(), "claims": user.claims() }))
}

/// The token first, then the JSON body: both extractors work.
async fn notes(Auth(user): Auth, note: web::Json<Value>) -> HttpResponse {
    HttpResponse::Created().json(json!({ "by": user.subject(), "note": note.into_inner() }))
}

struct Admin;
impl Policy for Admin {
    fn requirement() -> Requirement {
        Requirement::new().scopes(["admin"])
    }
}

async fn admin(Authorized(user, ..): Authorized<Admin>) -> String {
    format!("hello admin {}", user.subject().unwrap_or("?"))
}

#[actix_web::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let port = port_from_args().map_err(|e| {
        eprintln!("error: {e}");
        std::process::exit(2);
    })?;

    // An issuer that lives in this process and serves its JWKS on 127.0.0.1 (plain HTTP,
    // which is why the provider opts in with `dangerous_allow_http`).
    let issuer = TestIssuer::new("https://issuer.actix-example.test")
        .with_key(Algorithm::ES256, "example-es256");
    let jwks = issuer.serve().await?;
    let authenticator = Authenticator::builder()
        .provider(
            Provider::builder("example")
                .issuer(issuer.issuer())
                .audience(AUDIENCE)
                .jwks_url(jwks.jwks_url())
                .dangerous_allow_http()
                .build()?,
        )
        .build()?;

    // Built once, cloned into every worker: one authenticator, one key cache.
    let oauth2 = OAuth2::new(authenticator).public_paths(["/"]);
    let server = HttpServer::new(move || {
        App::new()
            // The last `wrap` runs first: CORS answers preflights before authentication.
            .wrap(oauth2.clone())
            .wrap(Cors::permissive())
            .route("/", web::get().to(|| async { "public: no token needed" }))
            .route("/claims", web::get().to(claims))
            .route("/notes", web::post().to(notes))
            .route("/admin", web::get().to(admin))
    })
    .bind(("127.0.0.1", port))
    .map_err(|e| {
        format!("cannot listen on 127.0.0.1:{port}: {e} (choose another port with --port N)")
    })?;
    let addr = server.addrs()[0];

    let token = |scope: Option<&str>| {
        let mut b = issuer
            .token()
            .audience(AUDIENCE)
            .subject("alice")
            .expires_in(3600);
        if let Some(s) = scope {
            b = b.claim("scope", json!(s));
        }
        b.build()
    };
    let user = token(None);
    let admin_token = token(Some("admin"));
    let tampered = format!("{}x", &user[..user.len() - 1]);
    let base = format!("http://{addr}");
    println!("actix-oauth2-api example listening on {base}");
    println!("issuer JWKS: {}\n", jwks.jwks_url());
    println!("# public route (200)\ncurl -s {base}/\n");
    println!(
        "# a valid token (200, echoes the claims)\ncurl -s -H 'Authorization: Bearer {user}' {base}/claims\n"
    );
    println!(
        "# a JSON body after the token (201)\ncurl -s -H 'Authorization: Bearer {user}' -H 'Content-Type: application/json' -d '{{\"text\":\"hi\"}}' {base}/notes\n"
    );
    println!(
        "# a scope the token lacks (403)\ncurl -s -i -H 'Authorization: Bearer {user}' {base}/admin\n"
    );
    println!(
        "# with the scope (200)\ncurl -s -H 'Authorization: Bearer {admin_token}' {base}/admin\n"
    );
    println!("# no token (400)\ncurl -s -i {base}/claims\n");
    println!(
        "# tampered token (401)\ncurl -s -i -H 'Authorization: Bearer {tampered}' {base}/claims\n"
    );
    println!("Ctrl-C to stop.");
    server.run().await?;
    Ok(())
}
