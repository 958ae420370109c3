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

/// A plain HTTP/2 request (not gRPC) goes to the upstream as HTTP/1.1, so an upstream that
/// speaks only HTTP/1.1 keeps working for clients that reach the gateway over HTTP/2.
#[tokio::test]
async fn plain_http2_requests_reach_an_http1_only_upstream() {
    let (issuer, jwks) = issuer().await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let upstream = listener.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                continue;
            };
            tokio::spawn(async move {
                let service = hyper::service::service_fn(|req: http::Request<_>| async move {
                    let version = format!("{:?}", req.version());
                    Ok::<_, std::convert::Infallible>(http::Response::new(
                        http_body_util::Full::new(bytes::Bytes::from(version)),
                    ))
                });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(hyper_util::rt::TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    let dir = TempDir::new("h2-to-h1");
    let config = dir.write(
        "gw.toml",
        &format!(
            "listen = \"127.0.0.1:0\"\nupstream = \"http://{upstream}\"\npublic_paths = [\"/x\"]\n{}",
            provider_toml(&issuer, &jwks)
        ),
    );
    let gw = start(&config);
    let addr = gw.base.strip_prefix("http://").unwrap().to_owned();
    let tcp = tokio::net::TcpStream::connect(&addr).await.unwrap();
    let (mut sender, connection) = hyper::client::conn::http2::handshake(
        hyper_util::rt::TokioExecutor::new(),
        hyper_util::rt::TokioIo::new(tcp),
    )
    .await
    .unwrap();
    tokio::spawn(connection);
    let request = http::Request::get(format!("http://{addr}/x"))
        .body(http_body_util::Empty::<bytes::Bytes>::new())
        .unwrap();
    let response = sender.send_request(request).await.unwrap();
    assert_eq!(response.status(), 200);
    let body = http_body_util::BodyExt::collect(response.into_body())
        .await
        .unwrap()
        .to_bytes();
    assert_eq!(&body[..], b"HTTP/1.1");
}
