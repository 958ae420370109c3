//! A tonic gRPC server (the standard health service) protected by `AuthLayer`, with a per-route
//! scope, and a tonic client calling it three ways. Failures arrive as gRPC statuses
//! (UNAUTHENTICATED, PERMISSION_DENIED), never as HTTP errors.
//!
//! ```sh
//! cargo run -p tower-oauth2-api --example grpc
//! ```

use oauth2_api::test_util::TestIssuer;
use oauth2_api::{Algorithm, Authenticator, Provider};
use tonic::metadata::MetadataValue;
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_client::HealthClient;
use tower_oauth2_api::{AuthLayer, RequireLayer, Requirement};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let issuer =
        TestIssuer::new("https://issuer.grpc.test").with_key(Algorithm::ES256, "grpc-es256");
    let auth = Authenticator::builder()
        .provider(
            Provider::builder("grpc")
                .issuer(issuer.issuer())
                .audience("grpc-api")
                .jwks(issuer.jwks())
                .build()?,
        )
        .build()?;

    let (_reporter, health) = tonic_health::server::health_reporter();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
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
        tonic::transport::Channel::from_shared(format!("http://{addr}"))?
            .connect()
            .await?,
    );
    let call = |token: Option<String>| {
        let mut req = tonic::Request::new(HealthCheckRequest {
            service: String::new(),
        });
        if let Some(t) = token {
            req.metadata_mut().insert(
                "authorization",
                MetadataValue::try_from(format!("Bearer {t}")).expect("ascii"),
            );
        }
        req
    };
    let no_token = client
        .check(call(None))
        .await
        .map(|r| r.into_inner().status);
    println!("no token:        {no_token:?}");
    let no_scope = issuer.token().audience("grpc-api").build();
    println!(
        "without scope:   {:?}",
        client
            .check(call(Some(no_scope)))
            .await
            .map(|r| r.into_inner().status)
    );
    let good = issuer
        .token()
        .audience("grpc-api")
        .claim("scope", "health:read".into())
        .build();
    println!(
        "with the scope:  {:?}",
        client
            .check(call(Some(good)))
            .await
            .map(|r| r.into_inner().status)
    );
    Ok(())
}
