//! DPoP (RFC 9449) in the layer: `Authorization: DPoP <token>` with one `DPoP` proof header,
//! turned on with [`AuthLayer::dpop`](crate::AuthLayer::dpop).
//!
//! The proof must name the request's URI (`htu`). Behind a proxy the server does not see the
//! URI the client used, and the `Host` header is the client's to choose, so the public
//! origins are configured: the request's `Host` only picks one of them (the first when it
//! names none).
//!
//! ```
//! use oauth2_api::dpop::DpopVerifier;
//! use tower_oauth2_api::dpop::DpopSettings;
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let settings = DpopSettings::new(DpopVerifier::builder().build()?, "https://api.example.com")?
//!     .origin("https://api.internal.example:8443")?;
//! # let _ = settings; Ok(()) }
//! ```
//!
//! On success the [`VerifiedProof`] goes into the request's extensions beside the
//! [`Authenticated`](oauth2_api::Authenticated) (its [`jkt`](VerifiedProof::jkt) is the
//! bound key). Failures are 401: `WWW-Authenticate: DPoP algs="..."` is offered beside the
//! `Bearer` challenge, and the error goes in the challenge of the scheme the request used;
//! `use_dpop_nonce` comes with a fresh `DPoP-Nonce` header.

use std::fmt;

use http::header::{AUTHORIZATION, HeaderValue, WWW_AUTHENTICATE};
use http::{HeaderMap, Response, StatusCode};
use oauth2_api::dpop::{DpopVerifier, ProofRequest, VerifiedProof};
use oauth2_api::{AuthError, ErrorKind};

/// The `DPoP` request header (the proof) and response header (`DPoP-Nonce`).
const DPOP: &str = "dpop";
const DPOP_NONCE: &str = "dpop-nonce";

/// How the layer checks DPoP proofs: the verifier, and the public origins requests are
/// addressed to.
#[derive(Clone)]
pub struct DpopSettings {
    verifier: DpopVerifier,
    /// `(authority in lower case, origin as written without a trailing slash)`.
    origins: Vec<(String, String)>,
    /// `DPoP algs="ES256 ..."`.
    challenge: String,
}

impl fmt::Debug for DpopSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DpopSettings")
            .field("verifier", &self.verifier)
            .field(
                "origins",
                &self.origins.iter().map(|(_, o)| o).collect::<Vec<_>>(),
            )
            .finish()
    }
}

/// An origin that is not `http(s)://host[:port]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvalidOrigin(String);

impl fmt::Display for InvalidOrigin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "`{}` is not an origin (https://host[:port], no path, query or fragment)",
            self.0
        )
    }
}

impl std::error::Error for InvalidOrigin {}

impl DpopSettings {
    /// Proofs checked by `verifier`, for requests addressed to `origin`
    /// (`https://api.example.com`, as clients write it in `htu`).
    ///
    /// # Errors
    /// When `origin` is not `http(s)://host[:port]`.
    pub fn new(verifier: DpopVerifier, origin: &str) -> Result<Self, InvalidOrigin> {
        let algs: Vec<&str> = verifier.algorithms().iter().map(|a| a.name()).collect();
        let settings = Self {
            challenge: format!("DPoP algs=\"{}\"", algs.join(" ")),
            verifier,
            origins: Vec::new(),
        };
        settings.origin(origin)
    }

    /// Another public origin of the same API (the request's `Host` picks among them).
    ///
    /// # Errors
    /// When `origin` is not `http(s)://host[:port]`.
    pub fn origin(mut self, origin: &str) -> Result<Self, InvalidOrigin> {
        let invalid = || InvalidOrigin(origin.to_owned());
        let trimmed = origin.strip_suffix('/').unwrap_or(origin);
        let uri: http::Uri = trimmed.parse().map_err(|_| invalid())?;
        let scheme_ok = matches!(uri.scheme_str(), Some("https" | "http"));
        let bare = uri.path_and_query().is_none_or(|p| p.as_str() == "/")
            && !trimmed.contains(['?', '#', '@']);
        let authority = uri.authority().ok_or_else(invalid)?;
        if !scheme_ok || !bare || authority.host().is_empty() {
            return Err(invalid());
        }
        self.origins
            .push((authority.as_str().to_ascii_lowercase(), trimmed.to_owned()));
        Ok(self)
    }

    /// The verifier.
    #[must_use]
    pub fn verifier(&self) -> &DpopVerifier {
        &self.verifier
    }

    /// The origin `htu` must name for a request with these headers: the configured one whose
    /// authority the `Host` header (or the URI's) names, else the first.
    fn origin_for(&self, uri: &http::Uri, headers: &HeaderMap) -> &str {
        let host = uri
            .authority()
            .map(http::uri::Authority::as_str)
            .or_else(|| {
                headers
                    .get(http::header::HOST)
                    .and_then(|h| h.to_str().ok())
            });
        let pick = host.and_then(|h| {
            self.origins
                .iter()
                .find(|(authority, _)| authority.eq_ignore_ascii_case(h))
        });
        pick.or(self.origins.first())
            .map_or("", |(_, origin)| origin.as_str())
    }

    /// Checks the proof of a `DPoP`-scheme request: exactly one `DPoP` header, for this
    /// method, this URI (`path`: the path the client sent) and `token`.
    pub(crate) fn verify(
        &self,
        method: &http::Method,
        uri: &http::Uri,
        path: &str,
        headers: &HeaderMap,
        token: &str,
    ) -> Result<VerifiedProof, AuthError> {
        let mut proofs = headers.get_all(DPOP).iter();
        let (Some(proof), None) = (proofs.next(), proofs.next()) else {
            return Err(AuthError::new(
                ErrorKind::InvalidDpopProof,
                "a DPoP request needs exactly one DPoP header",
            ));
        };
        let proof = proof.to_str().map_err(|_| {
            AuthError::new(ErrorKind::InvalidDpopProof, "the DPoP header is not text")
        })?;
        let htu = format!("{}{path}", self.origin_for(uri, headers));
        self.verifier.verify(
            proof,
            &ProofRequest::new(method.as_str(), &htu).access_token(token),
        )
    }

    /// Adds the `DPoP` challenge to a failure response that has a `Bearer` one: the error
    /// goes to the challenge of the scheme the request used; `use_dpop_nonce` gets a fresh
    /// `DPoP-Nonce`.
    pub(crate) fn challenge<B>(
        &self,
        response: &mut Response<B>,
        dpop_request: bool,
        kind: ErrorKind,
    ) {
        let status = response.status();
        if status == StatusCode::SERVICE_UNAVAILABLE {
            return;
        }
        let headers = response.headers_mut();
        let bearer = headers
            .get(WWW_AUTHENTICATE)
            .and_then(|v| v.to_str().ok())
            .filter(|v| *v == "Bearer" || v.starts_with("Bearer "))
            .map(str::to_owned);
        let params = bearer
            .as_deref()
            .map_or_else(Vec::new, |b| params(b.trim_start_matches("Bearer")));
        let is_error = |name: &str| matches!(name, "error" | "error_description" | "scope");
        let join = |scheme: &str, with_errors: bool| {
            let mut out = scheme.to_owned();
            for (name, value) in &params {
                if with_errors || !is_error(name) {
                    out.push_str(if out.contains('"') { ", " } else { " " });
                    out.push_str(&format!("{name}=\"{value}\""));
                }
            }
            out
        };
        let bearer_value = join("Bearer", !dpop_request);
        let dpop_value = join(&self.challenge, dpop_request);
        headers.remove(WWW_AUTHENTICATE);
        for value in [dpop_value, bearer_value] {
            if let Ok(v) = HeaderValue::from_str(&value) {
                headers.append(WWW_AUTHENTICATE, v);
            }
        }
        if kind == ErrorKind::UseDpopNonce
            && let Some(nonce) = self.verifier.current_nonce()
            && let Ok(v) = HeaderValue::from_str(&nonce)
        {
            headers.insert(DPOP_NONCE, v);
        }
    }
}

/// The token of an `Authorization: DPoP <token>` header, when the request uses that scheme;
/// `None` for any other scheme (or none).
pub(crate) fn dpop_token(headers: &HeaderMap) -> Option<Result<&str, AuthError>> {
    let mut values = headers.get_all(AUTHORIZATION).iter();
    let value = values.next()?.to_str().ok()?;
    let (scheme, rest) = value.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("dpop") {
        return None;
    }
    if values.next().is_some() {
        return Some(Err(AuthError::new(
            ErrorKind::InvalidRequest,
            "more than one authorization header",
        )));
    }
    Some(crate::token::bearer::checked(rest.trim_start_matches(' ')))
}

/// The `name="value"` parameters of a challenge built by this crate (values hold no quotes).
fn params(s: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut rest = s.trim_start_matches([' ', ',']);
    while let Some((name, after)) = rest.split_once("=\"") {
        let Some((value, tail)) = after.split_once('"') else {
            break;
        };
        out.push((name.trim().to_owned(), value.to_owned()));
        rest = tail.trim_start_matches([' ', ',']);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings() -> DpopSettings {
        DpopSettings::new(
            DpopVerifier::builder()
                .algorithms([oauth2_api::Algorithm::ES256, oauth2_api::Algorithm::EdDSA])
                .build()
                .expect("verifier"),
            "https://api.example.com/",
        )
        .expect("origin")
    }

    #[test]
    fn origins_are_scheme_host_and_port_only() {
        let s = settings();
        assert!(s.clone().origin("http://127.0.0.1:8080").is_ok());
        for bad in [
            "api.example.com",
            "ftp://api.example.com",
            "https://api.example.com/v1",
            "https://api.example.com?x",
            "https://user@api.example.com",
            "https://",
        ] {
            assert!(s.clone().origin(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn the_host_picks_among_configured_origins_only() {
        let s = settings().origin("https://Other.example:8443").expect("o");
        let uri: http::Uri = "/x".parse().expect("uri");
        let mut h = HeaderMap::new();
        assert_eq!(s.origin_for(&uri, &h), "https://api.example.com");
        h.insert(
            http::header::HOST,
            HeaderValue::from_static("other.example:8443"),
        );
        assert_eq!(s.origin_for(&uri, &h), "https://Other.example:8443");
        h.insert(http::header::HOST, HeaderValue::from_static("evil.example"));
        assert_eq!(s.origin_for(&uri, &h), "https://api.example.com");
    }

    #[test]
    fn challenges_carry_the_error_in_the_scheme_the_request_used() {
        let s = settings();
        let error = AuthError::new(ErrorKind::Expired, "token has expired");
        let answer = |dpop_request: bool| {
            let mut r = Response::new(());
            *r.status_mut() = StatusCode::UNAUTHORIZED;
            r.headers_mut().insert(
                WWW_AUTHENTICATE,
                HeaderValue::from_static(
                    "Bearer realm=\"api\", error=\"invalid_token\", error_description=\"token has expired, sorry\"",
                ),
            );
            s.challenge(&mut r, dpop_request, error.kind());
            r.headers()
                .get_all(WWW_AUTHENTICATE)
                .iter()
                .map(|v| v.to_str().unwrap_or_default().to_owned())
                .collect::<Vec<_>>()
        };
        assert_eq!(
            answer(true),
            [
                "DPoP algs=\"ES256 EdDSA\", realm=\"api\", error=\"invalid_token\", error_description=\"token has expired, sorry\"",
                "Bearer realm=\"api\"",
            ]
        );
        assert_eq!(
            answer(false),
            [
                "DPoP algs=\"ES256 EdDSA\", realm=\"api\"",
                "Bearer realm=\"api\", error=\"invalid_token\", error_description=\"token has expired, sorry\"",
            ]
        );
    }

    #[test]
    fn only_the_dpop_scheme_is_read_and_its_token_checked() {
        let with = |v: &'static str| {
            let mut h = HeaderMap::new();
            h.insert(AUTHORIZATION, HeaderValue::from_static(v));
            dpop_token(&h).map(|r| r.map(str::to_owned).map_err(|e| e.kind()))
        };
        assert_eq!(with("DPoP abc.def"), Some(Ok("abc.def".to_owned())));
        assert_eq!(with("dpop  abc"), Some(Ok("abc".to_owned())));
        assert_eq!(with("Bearer abc"), None);
        assert_eq!(with("DPoP a!b"), Some(Err(ErrorKind::Malformed)));
    }
}
