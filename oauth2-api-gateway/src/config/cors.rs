//! `[cors]`.

use std::time::Duration;

use http::{HeaderValue, Method};
use toml::Spanned;
use tower_http::cors::{AllowHeaders, AllowMethods, AllowOrigin, CorsLayer, ExposeHeaders};

use super::error::{Ctx, FileError};
use super::schema::CorsConfig;
use super::upstream::header_name;

pub(super) fn parse_cors(ctx: &Ctx<'_>, c: &Spanned<CorsConfig>) -> Result<CorsLayer, FileError> {
    let span = Some(c.span());
    let c = c.get_ref();
    let mut layer = CorsLayer::new();
    if c.allow_origins.iter().any(|o| o == "*") {
        if c.allow_credentials {
            return Err(ctx.err(
                span,
                "cors.allow_origins",
                "\"*\" cannot be combined with allow_credentials",
            ));
        }
        layer = layer.allow_origin(AllowOrigin::any());
    } else {
        let origins = c
            .allow_origins
            .iter()
            .map(|o| {
                HeaderValue::from_str(o).map_err(|_| {
                    ctx.err(
                        span.clone(),
                        "cors.allow_origins",
                        format!("`{o}` is not a valid origin"),
                    )
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        layer = layer.allow_origin(AllowOrigin::list(origins));
    }
    let methods = c
        .allow_methods
        .iter()
        .map(|m| {
            Method::from_bytes(m.as_bytes()).map_err(|_| {
                ctx.err(
                    span.clone(),
                    "cors.allow_methods",
                    format!("`{m}` is not a method"),
                )
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    layer = layer.allow_methods(AllowMethods::list(methods));
    let headers = c
        .allow_headers
        .iter()
        .map(|h| header_name(ctx, "cors.allow_headers", h))
        .collect::<Result<Vec<_>, _>>()?;
    layer = layer.allow_headers(AllowHeaders::list(headers));
    let expose = c
        .expose_headers
        .iter()
        .map(|h| header_name(ctx, "cors.expose_headers", h))
        .collect::<Result<Vec<_>, _>>()?;
    layer = layer.expose_headers(ExposeHeaders::list(expose));
    if c.allow_credentials {
        layer = layer.allow_credentials(true);
    }
    if let Some(age) = c.max_age_seconds {
        layer = layer.max_age(Duration::from_secs(age));
    }
    Ok(layer)
}
