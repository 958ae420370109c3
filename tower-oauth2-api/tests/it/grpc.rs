//! gRPC through tonic: a real tonic server behind the layer and a real tonic client.

use oauth2_api::Provider;
use tonic::Code;
use tonic::metadata::MetadataValue;
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_client::HealthClient;
use tower_oauth2_api::{AuthLayer, RequireLayer, Requirement};

use crate::support::{AUD, authenticator, setup};

#[tokio::test]
async fn tonic_clients_get_grpc_statuses() {
    let s = setup().await;
    let p: Provider = crate::support::provider("a", &s.issuer, &s.jwks.jwks_url());
    let auth = authenticator(vec![p]);
    let (_reporter, health) = tonic_health::server::health_reporter();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(
        tonic::transport::Server::builder()
            .layer(AuthLayer::new(auth))
            .layer(RequireLayer::new(
                Requirement::new().scopes(["health:read"]),
            ))
            .add_service(health)
            .serve_with_incoming(tokio_stream::wrappers::TcpListenerStream::new(listener)),
    );
    let mut client = HealthClient::new(
        tonic::transport::Channel::from_shared(format!("http://{addr}"))
            .unwrap()
            .connect()
            .await
            .unwrap(),
    );
    let call = |token: Option<String>| {
        let mut req = tonic::Request::new(HealthCheckRequest {
            service: String::new(),
        });
        if let Some(t) = token {
            req.metadata_mut().insert(
                "authorization",
                MetadataValue::try_from(format!("Bearer {t}")).unwrap(),
            );
        }
        req
    };
    let err = client.check(call(None)).await.unwrap_err();
    assert_eq!(err.code(), Code::Unauthenticated);
    assert!(err.message().contains("authorization"), "{}", err.message());
    let err = client
        .check(call(Some(s.issuer.token().audience("other").build())))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::Unauthenticated);
    let err = client
        .check(call(Some(s.issuer.token().audience(AUD).build())))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::PermissionDenied);
    assert!(err.message().contains("health:read"), "{}", err.message());
    let ok = client
        .check(call(Some(
            s.issuer
                .token()
                .audience(AUD)
                .claim("scope", "health:read".into())
                .build(),
        )))
        .await
        .unwrap();
    assert_eq!(ok.into_inner().status, 1, "SERVING");
}
