//! The shared conformance table (`tower_oauth2_api::testing::conformance`) against the actix
//! middleware in a real actix-web server: the same answers as the tower layer's.
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use actix_oauth2_api::{Auth, OAuth2};
use actix_web::{App, HttpRequest, HttpResponse, HttpServer, web};
use serde_json::json;
use tower_oauth2_api::testing::conformance::{self, Profile};

async fn seen(user: Option<Auth>, req: HttpRequest) -> HttpResponse {
    HttpResponse::Ok().json(json!({
        "sub": user.as_ref().and_then(|u| u.subject()),
        "path": req.path(),
        "method": req.method().as_str(),
    }))
}

#[actix_web::test]
async fn the_actix_middleware_answers_as_the_table_says() {
    let issuer = conformance::issuer();
    let keys = issuer.serve().await.unwrap();
    let auth = conformance::authenticator(&keys.jwks_url());
    let mut failures = Vec::new();
    let mut ran = 0;
    for profile in [Profile::JsonMessage, Profile::Rfc6750] {
        let oauth2 = OAuth2::from_layer(conformance::layer(auth.clone(), profile));
        let server = HttpServer::new(move || {
            App::new()
                .wrap(oauth2.clone())
                .default_service(web::to(seen))
        })
        .workers(1)
        .bind(("127.0.0.1", 0))
        .unwrap();
        let addr = server.addrs()[0];
        let server = server.run();
        let handle = server.handle();
        actix_web::rt::spawn(server);
        for case in conformance::cases()
            .into_iter()
            .filter(|c| c.profile == profile)
        {
            let authorization = case.authorization(&issuer);
            let sent = case.clone();
            let (status, headers, body) = actix_web::rt::task::spawn_blocking(move || {
                conformance::send(addr, &sent, &authorization)
            })
            .await
            .unwrap()
            .unwrap();
            ran += 1;
            if let Err(e) = case.check(status, &headers, &body) {
                failures.push(e);
            }
        }
        handle.stop(false).await;
    }
    assert_eq!(ran, conformance::cases().len());
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
