//! gRPC through the gateway: a real tonic client, the gateway in proxy mode (HTTP/2 with prior
//! knowledge on both sides), a real tonic upstream. Statuses travel in trailers, so a call that
//! succeeds proves the trailers went through.
#![allow(missing_docs, unreachable_pub, clippy::unwrap_used)]

mod support;

use tonic::Code;
use tonic::metadata::MetadataValue;
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_client::HealthClient;

use support::{AUD, TempDir, issuer, provider_toml, start};

#[tokio::test]
async fn a_tonic_client_reaches_a_tonic_upstream_through_the_gateway() {
    let (issuer, jwks) = issuer().await;
    let (reporter, health) = tonic_health::server::health_reporter();
    reporter
        .set_service_status("orders", tonic_health::ServingStatus::NotServing)
        .await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let upstream = listener.local_addr().unwrap();
    tokio::spawn(
        tonic::transport::Server::builder()
            .add_service(health)
            .serve_with_incoming(tokio_stream::wrappers::TcpListenerStream::new(listener)),
    );
    let dir = TempDir::new("grpc");
    let config = dir.write(
        "gw.toml",
        &format!(
            "listen = \"127.0.0.1:0\"\nupstream = \"http://{upstream}\"\n{}\n[[routes]]\nprefix = \"/grpc.health.v1.Health\"\nscopes = [\"health:read\"]\n",
            provider_toml(&issuer, &jwks)
        ),
    );
    let gw = start(&config);
    let mut client = HealthClient::new(
        tonic::transport::Channel::from_shared(gw.base.clone())
            .unwrap()
            .connect()
            .await
            .unwrap(),
    );
    let call = |service: &str, token: Option<String>| {
        let mut req = tonic::Request::new(HealthCheckRequest {
            service: service.to_owned(),
        });
        if let Some(t) = token {
            req.metadata_mut().insert(
                "authorization",
                MetadataValue::try_from(format!("Bearer {t}")).unwrap(),
            );
        }
        req
    };
    // The gateway answers these itself, as gRPC statuses.
    let err = client.check(call("", None)).await.unwrap_err();
    assert_eq!(err.code(), Code::Unauthenticated, "{err:?}");
    let plain = issuer.token().audience(AUD).build();
    let err = client.check(call("", Some(plain))).await.unwrap_err();
    assert_eq!(err.code(), Code::PermissionDenied, "{err:?}");
    // Through to the upstream: a success (status SERVING) and an upstream error status, both
    // carried in the upstream's trailers.
    let reader = issuer
        .token()
        .audience(AUD)
        .claim("scope", "health:read".into())
        .build();
    let ok = client.check(call("", Some(reader.clone()))).await.unwrap();
    assert_eq!(ok.into_inner().status, 1, "SERVING");
    let not_serving = client
        .check(call("orders", Some(reader.clone())))
        .await
        .unwrap();
    assert_eq!(not_serving.into_inner().status, 2, "NOT_SERVING");
    let err = client
        .check(call("unknown", Some(reader)))
        .await
        .unwrap_err();
    assert_eq!(
        err.code(),
        Code::NotFound,
        "the upstream's own status: {err:?}"
    );
}
