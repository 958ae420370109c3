//! A reference for tests (feature `test-util`): how the most permissive common servers read a
//! request path, to check that [`canonical_path`](crate::canonical_path) and the rules never
//! disagree with them.

/// `s` with every valid `%XX` decoded (invalid ones kept), lossily as UTF-8.
#[must_use]
pub fn percent_decode_lossy(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if let Some(v) = (b[i] == b'%')
            .then(|| s.get(i + 1..i + 3))
            .flatten()
            .and_then(|h| u8::from_str_radix(h, 16).ok())
        {
            out.push(v);
            i += 3;
            continue;
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The resource a permissive server serves for `path`: Tomcat's order (strip `;parameters`
/// from each segment, decode, remove dot segments), then a second decode (IIS), `\` as `/`
/// and merged slashes. Case is kept (lower-case it to model a case-insensitive server).
///
/// ```
/// use tower_oauth2_api::testing::permissive_path;
/// assert_eq!(permissive_path("/docs/..;/admin"), "/admin");
/// assert_eq!(permissive_path("/docs/%252e%252e/admin"), "/admin");
/// assert_eq!(permissive_path("//a/./b/"), "/a/b");
/// ```
#[must_use]
pub fn permissive_path(path: &str) -> String {
    let stripped: Vec<&str> = path
        .split('/')
        .map(|seg| seg.split(';').next().unwrap_or(""))
        .collect();
    let decoded =
        percent_decode_lossy(&percent_decode_lossy(&stripped.join("/"))).replace('\\', "/");
    let mut out: Vec<&str> = Vec::new();
    for seg in decoded.split('/') {
        match seg {
            "" | "." => {}
            ".." => {
                out.pop();
            }
            s => out.push(s),
        }
    }
    format!("/{}", out.join("/"))
}

pub mod conformance;
