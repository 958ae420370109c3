//! DPoP (RFC 9449): sender-constrained access tokens. A client proves, with each request, that
//! it holds the private key its token is bound to: `Authorization: DPoP <token>` plus one
//! `DPoP` header carrying a proof, a JWT signed by that key for this request.
//!
//! [`DpopVerifier::verify`] makes the checks of RFC 9449 section 4.3 on a proof, framework
//! free (the caller says which method and URI the request had); the token is then validated
//! with [`Authenticator::authenticate_presented`](crate::Authenticator::authenticate_presented)
//! and [`Presentation::dpop`], which also requires the token to be bound to the proof's key
//! (`cnf.jkt`). A token bound to a key is always refused as a bearer token.
//!
//! ```
//! use oauth2_api::dpop::{DpopVerifier, ProofRequest};
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let verifier = DpopVerifier::builder().build()?;
//! let request = ProofRequest::new("GET", "https://api.example.com/orders?page=2")
//!     .access_token("eyJ...");
//! // A proof that is not one is refused with `invalid_dpop_proof`.
//! let error = verifier.verify("not-a-proof", &request).unwrap_err();
//! assert_eq!(error.kind().oauth_error_code(), Some("invalid_dpop_proof"));
//! # Ok(())
//! # }
//! ```

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use aws_lc_rs::digest;
use serde_json::{Map, Value};

use crate::algorithm::Algorithm;
use crate::base64url::{decode as b64_decode, encode as b64_encode};
use crate::claims::{ClaimsView, Date};
use crate::error::{AuthError, ErrorKind};
use crate::jws::Signed;
use crate::keys::jwk::prepare_jwk;
use crate::mtls::ClientCertificate;
use crate::time::{Clock, SystemClock};

/// The longest proof accepted, in bytes (before decoding).
const MAX_PROOF_BYTES: usize = 8 * 1024;

/// How a token was presented, for
/// [`Authenticator::authenticate_presented`](crate::Authenticator::authenticate_presented):
/// as a bearer token or with a verified DPoP proof, over a connection with or without a
/// client certificate.
///
/// A token bound to a key (`cnf`) is accepted only when every binding it names is met:
/// `jkt` by a DPoP proof of that key, `x5t#S256` by that client certificate (RFC 8705); any
/// other binding is refused. A DPoP presentation also needs a token bound to the proof's key.
#[derive(Debug, Clone, Copy, Default)]
pub struct Presentation<'a> {
    proof: Option<&'a VerifiedProof>,
    certificate: Option<&'a ClientCertificate>,
}

impl<'a> Presentation<'a> {
    /// `Authorization: Bearer`: no proof, so the token must not be bound to a DPoP key.
    #[must_use]
    pub fn bearer() -> Self {
        Self::default()
    }

    /// `Authorization: DPoP` with this verified proof: the token must be bound to its key.
    #[must_use]
    pub fn dpop(proof: &'a VerifiedProof) -> Self {
        Self {
            proof: Some(proof),
            certificate: None,
        }
    }

    /// Over a TLS connection on which the client presented `certificate`: a token bound to
    /// a certificate (`cnf["x5t#S256"]`) must be bound to this one.
    #[must_use]
    pub fn with_certificate(mut self, certificate: &'a ClientCertificate) -> Self {
        self.certificate = Some(certificate);
        self
    }

    /// The proof, when presented with DPoP.
    #[must_use]
    pub fn proof(&self) -> Option<&'a VerifiedProof> {
        self.proof
    }

    /// The client certificate, when the connection had one.
    #[must_use]
    pub fn certificate(&self) -> Option<&'a ClientCertificate> {
        self.certificate
    }

    pub(crate) fn binding(&self) -> Binding<'a> {
        Binding {
            jkt: self.proof.map(VerifiedProof::jkt),
            x5t: self.certificate.map(ClientCertificate::thumbprint),
        }
    }

    /// A proof vouches only for the token whose hash its `ath` carried (RFC 9449 section 4.3,
    /// step 12): a proof verified for another token, or for none, is refused.
    pub(crate) fn check_token(&self, token: &str) -> Result<(), AuthError> {
        match self.proof {
            None => Ok(()),
            Some(proof) if proof.token_hash == Some(sha256(token.as_bytes())) => Ok(()),
            Some(_) => Err(bad("it was not verified for this access token (`ath`)")),
        }
    }
}

/// Whether a provider's tokens may, or must, come with a DPoP proof
/// ([`ProviderBuilder::dpop`](crate::ProviderBuilder::dpop)).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum DpopMode {
    /// Only bearer tokens: a token presented with a proof is refused.
    Disabled,
    /// Bearer tokens, and DPoP-bound tokens with their proof (the default).
    #[default]
    Allowed,
    /// Only DPoP-bound tokens with their proof: a bearer presentation is refused.
    Required,
}

impl DpopMode {
    /// Refuses a presentation this mode does not accept.
    pub(crate) fn check(self, presented: Binding<'_>) -> Result<(), AuthError> {
        let message = match (self, presented.jkt) {
            (Self::Required, None) => "this provider's tokens must be presented with a DPoP proof",
            (Self::Disabled, Some(_)) => "this provider's tokens are not accepted with DPoP",
            _ => return Ok(()),
        };
        Err(AuthError::new(ErrorKind::InvalidClaims, message))
    }
}

/// What a presentation can satisfy of a token's `cnf`: the DPoP key's thumbprint and the
/// client certificate's.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Binding<'a> {
    pub(crate) jkt: Option<&'a str>,
    pub(crate) x5t: Option<&'a str>,
}

fn sha256(bytes: &[u8]) -> [u8; 32] {
    let mut out = [0u8; 32];
    out.copy_from_slice(digest::digest(&digest::SHA256, bytes).as_ref());
    out
}

/// A proof that passed every check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedProof {
    jkt: String,
    jti: String,
    iat: i64,
    /// SHA-256 of the access token its `ath` was checked against; `None` when verified
    /// without one (then it vouches for no token).
    token_hash: Option<[u8; 32]>,
}

impl VerifiedProof {
    /// The RFC 7638 SHA-256 thumbprint of the proof's key (what a bound token's `cnf.jkt` is).
    #[must_use]
    pub fn jkt(&self) -> &str {
        &self.jkt
    }

    /// The proof's unique identifier.
    #[must_use]
    pub fn jti(&self) -> &str {
        &self.jti
    }

    /// When the proof was made (Unix seconds).
    #[must_use]
    pub fn issued_at(&self) -> i64 {
        self.iat
    }
}

/// What the request was, as the proof must name it.
#[derive(Debug, Clone)]
pub struct ProofRequest<'a> {
    method: &'a str,
    uri: &'a str,
    access_token: Option<&'a str>,
    nonce: Option<&'a str>,
}

impl<'a> ProofRequest<'a> {
    /// A request with this method and this absolute URI (as the client addressed it: behind a
    /// proxy, the public one; the query and fragment are ignored).
    #[must_use]
    pub fn new(method: &'a str, uri: &'a str) -> Self {
        Self {
            method,
            uri,
            access_token: None,
            nonce: None,
        }
    }

    /// The access token sent with the proof: the proof's `ath` must be its SHA-256.
    #[must_use]
    pub fn access_token(mut self, token: &'a str) -> Self {
        self.access_token = Some(token);
        self
    }

    /// A nonce the server gave the client (`DPoP-Nonce`): the proof must carry it.
    #[must_use]
    pub fn nonce(mut self, nonce: &'a str) -> Self {
        self.nonce = Some(nonce);
        self
    }
}

/// Why a DPoP configuration was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DpopConfigError(String);

impl fmt::Display for DpopConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for DpopConfigError {}

/// Checks DPoP proofs (RFC 9449 section 4.3). Cheap to clone; clones share the replay cache.
#[derive(Clone)]
pub struct DpopVerifier {
    inner: Arc<Inner>,
}

struct Inner {
    algorithms: Vec<Algorithm>,
    max_age: i64,
    max_skew: i64,
    clock: Arc<dyn Clock>,
    replay: Mutex<Replay>,
    replay_capacity: usize,
    nonces: Option<DpopNonces>,
}

/// The proofs seen and still in their window: by key, and by the time each leaves.
#[derive(Default)]
struct Replay {
    seen: HashMap<[u8; 32], i64>,
    by_expiry: BTreeMap<i64, Vec<[u8; 32]>>,
}

impl Replay {
    /// Forgets the proofs whose window ended before `now` (the oldest first: no scan).
    fn expire(&mut self, now: i64) {
        while let Some(entry) = self.by_expiry.first_entry() {
            if *entry.key() >= now {
                break;
            }
            for key in entry.remove() {
                self.seen.remove(&key);
            }
        }
    }
}

impl fmt::Debug for DpopVerifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DpopVerifier")
            .field("algorithms", &self.inner.algorithms)
            .field("max_age", &self.inner.max_age)
            .finish_non_exhaustive()
    }
}

/// Builds a [`DpopVerifier`].
#[derive(Clone)]
pub struct DpopBuilder {
    algorithms: Vec<Algorithm>,
    max_age: Duration,
    max_skew: Duration,
    clock: Arc<dyn Clock>,
    replay_capacity: usize,
    nonces: Option<DpopNonces>,
}

impl fmt::Debug for DpopBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DpopBuilder")
            .field("algorithms", &self.algorithms)
            .field("max_age", &self.max_age)
            .finish_non_exhaustive()
    }
}

impl DpopVerifier {
    /// A builder with the defaults: ES256, ES384, EdDSA, PS256 and RS256; proofs at most 60 s
    /// old and 5 s ahead of the clock; a replay cache of 100,000 proofs.
    #[must_use]
    pub fn builder() -> DpopBuilder {
        DpopBuilder {
            algorithms: vec![
                Algorithm::ES256,
                Algorithm::ES384,
                Algorithm::EdDSA,
                Algorithm::PS256,
                Algorithm::RS256,
            ],
            max_age: Duration::from_secs(60),
            max_skew: Duration::from_secs(5),
            clock: Arc::new(SystemClock),
            replay_capacity: 100_000,
            nonces: None,
        }
    }

    /// The nonce a client must put in its next proof, when the verifier requires server nonces
    /// (send it in a `DPoP-Nonce` response header); `None` otherwise.
    #[must_use]
    pub fn current_nonce(&self) -> Option<String> {
        let inner = &*self.inner;
        inner
            .nonces
            .as_ref()
            .map(|n| n.issue(inner.clock.now_unix()))
    }

    /// The algorithms proofs may use (for the `algs` of a `DPoP` challenge, and the
    /// `dpop_signing_alg_values_supported` of metadata).
    #[must_use]
    pub fn algorithms(&self) -> &[Algorithm] {
        &self.inner.algorithms
    }

    /// Checks `proof` for `request`: one well-formed JWT; `typ` `dpop+jwt`; an allowed
    /// asymmetric `alg`; the public key in its `jwk` header (no private member; no `jku` or
    /// `x5u` is ever fetched) verifies it; `htm` is the method; `htu` is the URI (scheme and
    /// host in any case, default port or none; query and fragment ignored); `iat` within the
    /// window; `ath` the SHA-256 of the access token, when one is given; the nonce, when one
    /// is expected; and its `jti` not seen before within the window (this process only: with
    /// several replicas, server nonces are what stops a replay to another one). The result
    /// vouches for the access token given here only.
    ///
    /// # Errors
    /// [`ErrorKind::InvalidDpopProof`] (401, `invalid_dpop_proof`) saying which check failed.
    pub fn verify(
        &self,
        proof: &str,
        request: &ProofRequest<'_>,
    ) -> Result<VerifiedProof, AuthError> {
        let inner = &*self.inner;
        let signed = Signed::split(proof, MAX_PROOF_BYTES).map_err(|_| bad("not a JWS"))?;
        let typ_ok = signed
            .header
            .typ
            .as_deref()
            .is_some_and(|t| t.eq_ignore_ascii_case("dpop+jwt"));
        if !typ_ok {
            return Err(bad("`typ` is not `dpop+jwt`"));
        }
        let alg = signed.header.alg;
        if !inner.algorithms.contains(&alg) {
            return Err(bad("`alg` is not allowed for proofs"));
        }
        // The header again, for its `jwk` (`Header` reads only what token checks need).
        let header_b64 = proof.split('.').next().unwrap_or_default();
        let header: Map<String, Value> = b64_decode(header_b64.as_bytes())
            .and_then(|json| serde_json::from_slice(&json).ok())
            .ok_or_else(|| bad("the header is not a JSON object"))?;
        let Some(Value::Object(jwk)) = header.get("jwk") else {
            return Err(bad("no `jwk` header"));
        };
        const PRIVATE: [&str; 8] = ["d", "p", "q", "dp", "dq", "qi", "oth", "k"];
        if PRIVATE.iter().any(|m| jwk.contains_key(*m)) {
            return Err(bad("the `jwk` header holds a private key"));
        }
        let key = prepare_jwk(jwk, &[alg])
            .map_err(|_| bad("the `jwk` header is not a usable public key"))?;
        if !key.verify(alg, signed.signing_input, &signed.signature) {
            return Err(bad(
                "the signature does not verify with the `jwk` header's key",
            ));
        }
        let jkt = jwk_thumbprint(jwk).ok_or_else(|| bad("the `jwk` header has no thumbprint"))?;

        let view = ClaimsView::read(&signed.payload, 4)
            .map_err(|_| bad("the payload is not a JSON object without duplicate members"))?;
        let claims: Map<String, Value> = serde_json::from_slice(&signed.payload)
            .map_err(|_| bad("the payload is not a JSON object"))?;
        let text = |name: &str| claims.get(name).and_then(Value::as_str);
        let jti = text("jti")
            .filter(|j| !j.is_empty())
            .ok_or_else(|| bad("no `jti`"))?;
        if jti.len() > 256 {
            return Err(bad("`jti` is too long"));
        }
        if text("htm") != Some(request.method) {
            return Err(bad("`htm` is not the request's method"));
        }
        let htu = text("htu").ok_or_else(|| bad("no `htu`"))?;
        match (normalized_uri(htu), normalized_uri(request.uri)) {
            (Some(a), Some(b)) if a == b => {}
            _ => return Err(bad("`htu` is not the request's URI")),
        }
        let Date::At(iat) = view.iat else {
            return Err(bad("no numeric `iat`"));
        };
        let now = inner.clock.now_unix();
        if iat < now.saturating_sub(inner.max_age) || iat > now.saturating_add(inner.max_skew) {
            return Err(bad("`iat` is outside the accepted window"));
        }
        let token_hash = request.access_token.map(|t| sha256(t.as_bytes()));
        if let Some(hash) = &token_hash
            && text("ath") != Some(b64_encode(hash).as_str())
        {
            return Err(bad("`ath` is not the access token's hash"));
        }
        if let Some(nonce) = request.nonce
            && text("nonce") != Some(nonce)
        {
            return Err(bad("`nonce` is not the server's"));
        }
        if let Some(nonces) = &inner.nonces
            && !text("nonce").is_some_and(|n| nonces.is_valid(n, now))
        {
            return Err(AuthError::new(
                ErrorKind::UseDpopNonce,
                "DPoP proof refused: it does not carry the server's current nonce",
            ));
        }
        self.remember(&jkt, jti, iat, now)?;
        Ok(VerifiedProof {
            jkt,
            jti: jti.to_owned(),
            iat,
            token_hash,
        })
    }

    /// Records `(jkt, jti)` until the proof's window ends; refuses one seen before. When the
    /// cache holds `replay_capacity` proofs still in their window, a new proof is refused
    /// rather than an old one forgotten: a flood must not make a captured proof replayable.
    fn remember(&self, jkt: &str, jti: &str, iat: i64, now: i64) -> Result<(), AuthError> {
        let inner = &*self.inner;
        let mut ctx = digest::Context::new(&digest::SHA256);
        ctx.update(jkt.as_bytes());
        ctx.update(b"\0");
        ctx.update(jti.as_bytes());
        let mut key = [0u8; 32];
        key.copy_from_slice(ctx.finish().as_ref());
        let until = iat
            .saturating_add(inner.max_age)
            .saturating_add(inner.max_skew);
        let Ok(mut replay) = inner.replay.lock() else {
            return Err(bad("the replay cache is unavailable"));
        };
        replay.expire(now);
        if replay.seen.contains_key(&key) {
            return Err(bad("the proof was used before (`jti` replay)"));
        }
        if replay.seen.len() >= inner.replay_capacity {
            return Err(bad(
                "too many recent proofs to remember another; retry in a moment",
            ));
        }
        replay.seen.insert(key, until);
        replay.by_expiry.entry(until).or_default().push(key);
        Ok(())
    }
}

impl DpopBuilder {
    /// The algorithms proofs may use (asymmetric only).
    #[must_use]
    pub fn algorithms(mut self, algorithms: impl IntoIterator<Item = Algorithm>) -> Self {
        self.algorithms = algorithms.into_iter().collect();
        self
    }

    /// How old a proof may be (its `iat`), and so how long its `jti` is remembered.
    #[must_use]
    pub fn max_age(mut self, age: Duration) -> Self {
        self.max_age = age;
        self
    }

    /// How far ahead of this clock a proof's `iat` may be.
    #[must_use]
    pub fn max_clock_skew(mut self, skew: Duration) -> Self {
        self.max_skew = skew;
        self
    }

    /// The clock (tests).
    #[must_use]
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// How many proofs the replay cache remembers at most.
    #[must_use]
    pub fn replay_capacity(mut self, entries: usize) -> Self {
        self.replay_capacity = entries;
        self
    }

    /// Requires every proof to carry a nonce from `nonces` (RFC 9449 section 8): a proof
    /// without a current one is refused with [`ErrorKind::UseDpopNonce`], and
    /// [`DpopVerifier::current_nonce`] gives the nonce to send back. Replicas built with the
    /// same secret accept each other's nonces, which is what stops a proof replayed to another
    /// replica once its nonce window has passed.
    #[must_use]
    pub fn nonces(mut self, nonces: DpopNonces) -> Self {
        self.nonces = Some(nonces);
        self
    }

    /// The verifier.
    ///
    /// # Errors
    /// No algorithm, an HMAC algorithm (a proof must be signed with a private key), a zero
    /// maximum age or replay capacity.
    pub fn build(self) -> Result<DpopVerifier, DpopConfigError> {
        if self.algorithms.is_empty() {
            return Err(DpopConfigError("no algorithm for DPoP proofs".into()));
        }
        if let Some(a) = self.algorithms.iter().find(|a| a.is_symmetric()) {
            return Err(DpopConfigError(format!(
                "{a} is not an asymmetric algorithm: DPoP proofs are signed with a private key"
            )));
        }
        if self.max_age.is_zero() || self.replay_capacity == 0 {
            return Err(DpopConfigError(
                "the maximum age and the replay capacity must be positive".into(),
            ));
        }
        let secs = |d: Duration| i64::try_from(d.as_secs()).unwrap_or(i64::MAX);
        Ok(DpopVerifier {
            inner: Arc::new(Inner {
                algorithms: self.algorithms,
                max_age: secs(self.max_age),
                max_skew: secs(self.max_skew),
                clock: self.clock,
                replay: Mutex::new(Replay::default()),
                replay_capacity: self.replay_capacity,
                nonces: self.nonces,
            }),
        })
    }
}

/// Server nonces for DPoP (RFC 9449 section 8), stateless: a nonce is the number of its time
/// window and an HMAC-SHA256 of it under a secret, so any replica with the secret checks it
/// without shared state. A nonce is good in its window and the next one.
#[derive(Clone)]
pub struct DpopNonces {
    key: aws_lc_rs::hmac::Key,
    window: i64,
}

impl fmt::Debug for DpopNonces {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DpopNonces")
            .field("window", &self.window)
            .finish_non_exhaustive()
    }
}

impl DpopNonces {
    /// Nonces under `secret` (at least 32 bytes, shared by the replicas), each window
    /// `window` long (at least one second).
    ///
    /// # Errors
    /// A secret shorter than 32 bytes, or a window under a second.
    pub fn new(secret: &[u8], window: Duration) -> Result<Self, DpopConfigError> {
        if secret.len() < 32 {
            return Err(DpopConfigError(
                "the DPoP nonce secret must be at least 32 bytes".into(),
            ));
        }
        let window = i64::try_from(window.as_secs()).unwrap_or(i64::MAX);
        if window < 1 {
            return Err(DpopConfigError(
                "the DPoP nonce window must be at least one second".into(),
            ));
        }
        Ok(Self {
            key: aws_lc_rs::hmac::Key::new(aws_lc_rs::hmac::HMAC_SHA256, secret),
            window,
        })
    }

    fn tag(&self, index: i64) -> aws_lc_rs::hmac::Tag {
        let mut ctx = aws_lc_rs::hmac::Context::with_key(&self.key);
        ctx.update(b"oauth2-api dpop nonce\0");
        ctx.update(&index.to_be_bytes());
        ctx.sign()
    }

    /// The nonce of the window `now` is in.
    #[must_use]
    pub fn issue(&self, now: i64) -> String {
        let index = now.div_euclid(self.window);
        let mut bytes = index.to_be_bytes().to_vec();
        bytes.extend_from_slice(&self.tag(index).as_ref()[..16]);
        b64_encode(&bytes)
    }

    /// Whether `nonce` was issued in the window of `now` or the one before.
    #[must_use]
    pub fn is_valid(&self, nonce: &str, now: i64) -> bool {
        let Some(bytes) = b64_decode(nonce.as_bytes()) else {
            return false;
        };
        let (Some(index), Some(tag)) = (bytes.get(..8), bytes.get(8..)) else {
            return false;
        };
        let Ok(index) = <[u8; 8]>::try_from(index).map(i64::from_be_bytes) else {
            return false;
        };
        let current = now.div_euclid(self.window);
        (index == current || index == current.saturating_sub(1))
            && tag.len() == 16
            && aws_lc_rs::constant_time::verify_slices_are_equal(
                &self.tag(index).as_ref()[..16],
                tag,
            )
            .is_ok()
    }
}

fn bad(why: &str) -> AuthError {
    AuthError::new(
        ErrorKind::InvalidDpopProof,
        format!("DPoP proof refused: {why}"),
    )
}

/// The RFC 7638 SHA-256 thumbprint of a public JWK (EC, RSA or OKP), base64url: the hash of
/// its required members in lexicographic order, as JSON without whitespace. `None` for
/// another key type or a missing member.
///
/// ```
/// use serde_json::json;
/// // RFC 8037 appendix A.3.
/// let jwk = json!({"kty": "OKP", "crv": "Ed25519", "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"});
/// assert_eq!(
///     oauth2_api::dpop::jwk_thumbprint(jwk.as_object().unwrap()).as_deref(),
///     Some("kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k")
/// );
/// ```
#[must_use]
pub fn jwk_thumbprint(jwk: &Map<String, Value>) -> Option<String> {
    let members: &[&str] = match jwk.get("kty")?.as_str()? {
        "EC" => &["crv", "kty", "x", "y"],
        "RSA" => &["e", "kty", "n"],
        "OKP" => &["crv", "kty", "x"],
        _ => return None,
    };
    let mut canonical = String::from("{");
    for (i, name) in members.iter().enumerate() {
        let value = jwk.get(*name)?.as_str()?;
        if i > 0 {
            canonical.push(',');
        }
        canonical.push_str(&format!("\"{name}\":{}", Value::from(value)));
    }
    canonical.push('}');
    Some(b64_encode(
        digest::digest(&digest::SHA256, canonical.as_bytes()).as_ref(),
    ))
}

/// `uri` without query and fragment, in RFC 3986 section 6.2.2 normal form: scheme and host
/// lower-case, a default port dropped, an empty path as `/`, percent-encoding in upper-case
/// hex and unreserved characters decoded. `None` unless it is an absolute `http(s)` URI.
fn normalized_uri(uri: &str) -> Option<String> {
    let uri = uri.split(['#', '?']).next()?;
    let parsed: http::Uri = uri.parse().ok()?;
    let scheme = parsed.scheme_str()?.to_ascii_lowercase();
    let default_port = match scheme.as_str() {
        "https" => 443,
        "http" => 80,
        _ => return None,
    };
    let host = parsed.host()?.to_ascii_lowercase();
    let port = parsed
        .port_u16()
        .filter(|p| *p != default_port)
        .map(|p| format!(":{p}"))
        .unwrap_or_default();
    let path = match parsed.path() {
        "" => "/",
        p => p,
    };
    let mut out = format!("{scheme}://{host}{port}");
    let bytes = path.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && let Some(v) = path
                .get(i + 1..i + 3)
                .filter(|h| h.bytes().all(|b| b.is_ascii_hexdigit()))
                .and_then(|h| u8::from_str_radix(h, 16).ok())
        {
            if v.is_ascii_alphanumeric() || matches!(v, b'-' | b'.' | b'_' | b'~') {
                out.push(char::from(v));
            } else {
                out.push_str(&format!("%{v:02X}"));
            }
            i += 3;
            continue;
        }
        out.push(char::from(bytes[i]));
        i += 1;
    }
    Some(out)
}

#[cfg(all(test, feature = "test-util"))]
mod tests;
