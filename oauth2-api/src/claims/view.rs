//! A strict read of a JWT payload that keeps only what the checks need, borrowed from the
//! payload's bytes.
//!
//! One pass over the JSON: it refuses duplicate member names at any depth (RFC 7519 section 4
//! lets a JWT parser reject them; accepting the last one is how parser differentials between
//! services become exploits), nesting deeper than the bound, and trailing bytes. It keeps the
//! top-level member names and the registered claims the checks read (`iss`, `aud`, `exp`,
//! `nbf`, `iat`, `tid`), borrowed unless a string has escapes. Nothing else is built: the
//! claims map handed to handlers is parsed from the same bytes only for a token that verified,
//! and only when it is read (`Authenticated::claims`).

use std::borrow::Cow;
use std::fmt;

use serde::de::{self, DeserializeSeed, Deserializer as _, MapAccess, SeqAccess, Visitor};

/// A time claim (RFC 7519 NumericDate) as the payload carries it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Date {
    Absent,
    /// A JSON number: an integer, or a finite fraction floored, saturated to the `i64` range.
    At(i64),
    /// Something other than a number (a string, a boolean, an object).
    NotANumber,
}

/// The `aud` claim as the payload carries it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Audience<'a> {
    Absent,
    One(Cow<'a, str>),
    /// An array: its string members (others cannot match an audience and are skipped).
    Many(Vec<Cow<'a, str>>),
    /// Anything else (a number, an object).
    Other,
}

/// What the checks read of a payload.
#[derive(Debug, Clone)]
pub(crate) struct ClaimsView<'a> {
    names: Vec<Cow<'a, str>>,
    /// `iss`, when a string.
    pub(crate) iss: Option<Cow<'a, str>>,
    pub(crate) aud: Audience<'a>,
    pub(crate) exp: Date,
    pub(crate) nbf: Date,
    pub(crate) iat: Date,
    /// `tid`, when a string.
    pub(crate) tid: Option<Cow<'a, str>>,
    /// `cnf` (RFC 7800: the token is bound to a key): the names of its members, empty when it
    /// is not an object; `None` without `cnf`.
    pub(crate) cnf: Option<Vec<Cow<'a, str>>>,
    /// `cnf.jkt` (RFC 9449: the SHA-256 thumbprint of the DPoP key), when a string.
    pub(crate) cnf_jkt: Option<Cow<'a, str>>,
    /// `cnf["x5t#S256"]` (RFC 8705: the SHA-256 thumbprint of the client certificate), when a
    /// string.
    pub(crate) cnf_x5t: Option<Cow<'a, str>>,
}

impl<'a> ClaimsView<'a> {
    /// Reads `bytes`: a JSON object nested at most `max_depth` deep (the object itself counts
    /// one), without duplicate member names at any depth, and nothing after it.
    pub(crate) fn read(bytes: &'a [u8], max_depth: usize) -> Result<Self, serde_json::Error> {
        let mut de = serde_json::Deserializer::from_slice(bytes);
        let view = de.deserialize_map(Top { max_depth })?;
        de.end()?;
        Ok(view)
    }

    /// Whether the payload has a top-level member `name`.
    pub(crate) fn has(&self, name: &str) -> bool {
        self.names.iter().any(|n| n == name)
    }

    /// The audience as a log field: the string or the list of strings.
    pub(crate) fn audience_for_log(&self) -> String {
        match &self.aud {
            Audience::Absent => String::new(),
            Audience::One(a) => a.to_string(),
            Audience::Many(list) => format!("{list:?}"),
            Audience::Other => "(not a string)".to_owned(),
        }
    }
}

/// What a member's value is read as.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Want {
    Nothing,
    Text,
    Date,
    Audience,
    /// An object's member names.
    Names,
}

/// What was kept of a member's value.
enum Kept<'a> {
    Nothing,
    Text(Cow<'a, str>),
    Number(Date),
    List(Vec<Cow<'a, str>>),
    /// An object's member names, and its `jkt` and `x5t#S256` when strings.
    Names(
        Vec<Cow<'a, str>>,
        Option<Cow<'a, str>>,
        Option<Cow<'a, str>>,
    ),
}

struct Top {
    max_depth: usize,
}

impl<'de> Visitor<'de> for Top {
    type Value = ClaimsView<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let depth_left = self
            .max_depth
            .checked_sub(1)
            .ok_or_else(|| de::Error::custom("nested too deeply"))?;
        let mut view = ClaimsView {
            names: Vec::with_capacity(16),
            iss: None,
            aud: Audience::Absent,
            exp: Date::Absent,
            nbf: Date::Absent,
            iat: Date::Absent,
            tid: None,
            cnf: None,
            cnf_jkt: None,
            cnf_x5t: None,
        };
        while let Some(name) = map.next_key_seed(Name)? {
            let want = match &*name {
                "iss" | "tid" => Want::Text,
                "exp" | "nbf" | "iat" => Want::Date,
                "aud" => Want::Audience,
                "cnf" => Want::Names,
                _ => Want::Nothing,
            };
            let kept = map.next_value_seed(Member { depth_left, want })?;
            match (&*name, kept) {
                ("iss", Kept::Text(s)) => view.iss = Some(s),
                ("tid", Kept::Text(s)) => view.tid = Some(s),
                ("exp", Kept::Number(d)) => view.exp = d,
                ("nbf", Kept::Number(d)) => view.nbf = d,
                ("iat", Kept::Number(d)) => view.iat = d,
                ("exp", _) => view.exp = Date::NotANumber,
                ("nbf", _) => view.nbf = Date::NotANumber,
                ("iat", _) => view.iat = Date::NotANumber,
                ("aud", Kept::Text(s)) => view.aud = Audience::One(s),
                ("aud", Kept::List(l)) => view.aud = Audience::Many(l),
                ("aud", _) => view.aud = Audience::Other,
                ("cnf", Kept::Names(names, jkt, x5t)) => {
                    view.cnf = Some(names);
                    view.cnf_jkt = jkt;
                    view.cnf_x5t = x5t;
                }
                ("cnf", _) => view.cnf = Some(Vec::new()),
                _ => {}
            }
            view.names.push(name);
        }
        if has_duplicate(&view.names) {
            return Err(de::Error::custom("duplicate member name"));
        }
        Ok(view)
    }
}

/// Whether two names are equal. Few names: compared pairwise; many: sorted first, so a large
/// payload costs `n log n`, not `n²`.
fn has_duplicate(names: &[Cow<'_, str>]) -> bool {
    if names.len() <= 16 {
        names
            .iter()
            .enumerate()
            .any(|(i, a)| names[i + 1..].iter().any(|b| a == b))
    } else {
        let mut sorted: Vec<&str> = names.iter().map(AsRef::as_ref).collect();
        sorted.sort_unstable();
        sorted.windows(2).any(|w| w[0] == w[1])
    }
}

/// A member name, borrowed unless it has escapes.
struct Name;

impl<'de> DeserializeSeed<'de> for Name {
    type Value = Cow<'de, str>;

    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for Name {
    type Value = Cow<'de, str>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a string")
    }

    fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Self::Value, E> {
        Ok(Cow::Borrowed(v))
    }

    fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
        Ok(Cow::Owned(v.to_owned()))
    }

    fn visit_string<E>(self, v: String) -> Result<Self::Value, E> {
        Ok(Cow::Owned(v))
    }
}

/// Any JSON value, walked strictly; `want` says what to keep of it.
#[derive(Clone, Copy)]
struct Member {
    depth_left: usize,
    want: Want,
}

impl Member {
    fn nested<E: de::Error>(&self, want: Want) -> Result<Member, E> {
        match self.depth_left.checked_sub(1) {
            Some(depth_left) => Ok(Member { depth_left, want }),
            None => Err(E::custom("nested too deeply")),
        }
    }
}

impl<'de> DeserializeSeed<'de> for Member {
    type Value = Kept<'de>;

    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Member {
    type Value = Kept<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_bool<E>(self, _: bool) -> Result<Self::Value, E> {
        Ok(Kept::Nothing)
    }

    fn visit_unit<E>(self) -> Result<Self::Value, E> {
        Ok(Kept::Nothing)
    }

    fn visit_i64<E>(self, v: i64) -> Result<Self::Value, E> {
        Ok(Kept::Number(Date::At(v)))
    }

    fn visit_u64<E>(self, v: u64) -> Result<Self::Value, E> {
        Ok(Kept::Number(Date::At(i64::try_from(v).unwrap_or(i64::MAX))))
    }

    fn visit_f64<E>(self, v: f64) -> Result<Self::Value, E> {
        // serde_json refuses numbers out of the f64 range, so `v` is finite; the cast
        // saturates.
        #[allow(clippy::cast_possible_truncation)]
        Ok(Kept::Number(Date::At(v.floor() as i64)))
    }

    fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Self::Value, E> {
        Ok(match self.want {
            Want::Text | Want::Audience => Kept::Text(Cow::Borrowed(v)),
            _ => Kept::Nothing,
        })
    }

    fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
        Ok(match self.want {
            Want::Text | Want::Audience => Kept::Text(Cow::Owned(v.to_owned())),
            _ => Kept::Nothing,
        })
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let keep = self.want == Want::Audience;
        let inner = self.nested(if keep { Want::Text } else { Want::Nothing })?;
        let mut list = Vec::new();
        while let Some(item) = seq.next_element_seed(inner)? {
            if let (true, Kept::Text(s)) = (keep, item) {
                list.push(s);
            }
        }
        Ok(if keep {
            Kept::List(list)
        } else {
            Kept::Nothing
        })
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let inner = self.nested(Want::Nothing)?;
        let keep = self.want == Want::Names;
        let mut names = Vec::new();
        let mut jkt = None;
        let mut x5t = None;
        while let Some(name) = map.next_key_seed(Name)? {
            if keep && (name == "jkt" || name == "x5t#S256") {
                if let Kept::Text(t) = map.next_value_seed(Member {
                    want: Want::Text,
                    ..inner
                })? {
                    if name == "jkt" {
                        jkt = Some(t);
                    } else {
                        x5t = Some(t);
                    }
                }
            } else {
                map.next_value_seed(inner)?;
            }
            names.push(name);
        }
        if has_duplicate(&names) {
            return Err(de::Error::custom("duplicate member name"));
        }
        Ok(if keep {
            Kept::Names(names, jkt, x5t)
        } else {
            Kept::Nothing
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(json: &str) -> Result<ClaimsView<'_>, serde_json::Error> {
        ClaimsView::read(json.as_bytes(), 16)
    }

    #[test]
    fn registered_claims_are_kept_and_borrowed() {
        let json = r#"{"iss":"https://a","aud":["x",1,"y"],"exp":10,"nbf":2.7,"iat":-3,"tid":"t","sub":{"a":[1]}}"#;
        let v = read(json).expect("reads");
        assert_eq!(v.iss.as_deref(), Some("https://a"));
        assert!(matches!(v.iss, Some(Cow::Borrowed(_))));
        assert_eq!(v.aud, Audience::Many(vec!["x".into(), "y".into()]));
        assert_eq!(
            (v.exp, v.nbf, v.iat),
            (Date::At(10), Date::At(2), Date::At(-3))
        );
        assert_eq!(v.tid.as_deref(), Some("t"));
        assert!(v.has("sub") && !v.has("jti"));
        assert_eq!(v.cnf, None);
        let v = read(r#"{"cnf":{"jkt":"abc","x":{"y":1}}}"#).expect("reads");
        assert_eq!(v.cnf, Some(vec!["jkt".into(), "x".into()]));
        assert_eq!(v.cnf_x5t, None);
        assert_eq!(v.cnf_jkt.as_deref(), Some("abc"));
        let v = read(r#"{"cnf":{"x5t#S256":"h","jkt":1}}"#).expect("reads");
        assert_eq!(v.cnf_x5t.as_deref(), Some("h"));
        assert_eq!(v.cnf_jkt, None);
        let v = read(r#"{"cnf":"not an object"}"#).expect("reads");
        assert_eq!(v.cnf, Some(vec![]));
    }

    #[test]
    fn escaped_strings_are_decoded() {
        let v = read(r#"{"i\u0073s":"a\/b","aud":"\u00e9"}"#).expect("reads");
        assert_eq!(v.iss.as_deref(), Some("a/b"));
        assert_eq!(v.aud, Audience::One("é".into()));
    }

    #[test]
    fn other_shapes_are_told_apart() {
        let v = read(r#"{"iss":1,"aud":{"a":1},"exp":"10","nbf":true,"iat":null}"#).expect("reads");
        assert_eq!(v.iss, None);
        assert_eq!(v.aud, Audience::Other);
        assert_eq!(
            (v.exp, v.nbf, v.iat),
            (Date::NotANumber, Date::NotANumber, Date::NotANumber)
        );
        let v = read(r#"{"exp":18446744073709551615,"nbf":-1e300}"#).expect("reads");
        assert_eq!((v.exp, v.nbf), (Date::At(i64::MAX), Date::At(i64::MIN)));
    }

    #[test]
    fn duplicates_at_any_depth_depth_and_trailing_bytes_are_refused() {
        assert!(read(r#"{"a":1,"a":1}"#).is_err());
        assert!(read(r#"{"a":1,"\u0061":2}"#).is_err(), "escaped spelling");
        assert!(read(r#"{"a":{"b":1,"b":2}}"#).is_err());
        assert!(read(r#"{"a":[{"b":1,"b":2}]}"#).is_err());
        assert!(read(r#"{"a":1} x"#).is_err());
        assert!(read("[1]").is_err());
        assert!(read(r#""s""#).is_err());
        assert!(read(r#"{"a":1e400}"#).is_err());
        assert!(ClaimsView::read(br#"{"a":[[1]]}"#, 3).is_ok());
        assert!(ClaimsView::read(br#"{"a":[[[1]]]}"#, 3).is_err());
        let deep = format!("{{\"a\":{}1{}}}", "[".repeat(5000), "]".repeat(5000));
        assert!(read(&deep).is_err());
    }

    #[test]
    fn many_members_are_checked_for_duplicates_too() {
        let mut members: Vec<String> = (0..100).map(|i| format!("\"m{i}\":{i}")).collect();
        let unique = format!("{{{}}}", members.join(","));
        assert!(read(&unique).is_ok());
        members.push("\"m57\":0".to_owned());
        let twice = format!("{{{}}}", members.join(","));
        assert!(read(&twice).is_err());
    }
}
