//! A pre-parse bound on JSON nesting, and a JSON object parser that refuses duplicate
//! member names (RFC 7519 section 4 lets a JWT parser reject them; accepting the last one is
//! how parser differentials between services become exploits).

use std::fmt;

use serde::de::{self, DeserializeSeed, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Number, Value};

/// Parses `bytes` as a JSON object nested at most `max_depth` deep, refusing duplicate member
/// names at any depth. One pass: the depth is counted while parsing.
pub(crate) fn strict_object(
    bytes: &[u8],
    max_depth: usize,
) -> Result<Map<String, Value>, serde_json::Error> {
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let value = StrictValue {
        depth_left: max_depth,
    }
    .deserialize(&mut de)?;
    de.end()?;
    match value {
        Value::Object(m) => Ok(m),
        _ => Err(de::Error::custom("not an object")),
    }
}

struct StrictValue {
    depth_left: usize,
}

impl<'de> DeserializeSeed<'de> for StrictValue {
    type Value = Value;

    fn deserialize<D: de::Deserializer<'de>>(self, deserializer: D) -> Result<Value, D::Error> {
        deserializer.deserialize_any(StrictVisitor {
            depth_left: self.depth_left,
        })
    }
}

struct StrictVisitor {
    depth_left: usize,
}

impl StrictVisitor {
    fn nested<E: de::Error>(&self) -> Result<StrictValue, E> {
        match self.depth_left.checked_sub(1) {
            Some(depth_left) => Ok(StrictValue { depth_left }),
            None => Err(E::custom("nested too deeply")),
        }
    }
}

impl<'de> Visitor<'de> for StrictVisitor {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }

    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::Number(v.into()))
    }

    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::Number(v.into()))
    }

    fn visit_f64<E>(self, v: f64) -> Result<Value, E> {
        Ok(Number::from_f64(v).map_or(Value::Null, Value::Number))
    }

    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_owned()))
    }

    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }

    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let inner = self.nested()?;
        let mut items = Vec::new();
        while let Some(v) = seq.next_element_seed(StrictValue {
            depth_left: inner.depth_left,
        })? {
            items.push(v);
        }
        Ok(Value::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let inner = self.nested()?;
        let mut out = Map::new();
        while let Some(key) = map.next_key::<String>()? {
            // One search per member: the vacant slot is filled once the value is parsed.
            let serde_json::map::Entry::Vacant(slot) = out.entry(key) else {
                return Err(de::Error::custom("duplicate member name"));
            };
            slot.insert(map.next_value_seed(StrictValue {
                depth_left: inner.depth_left,
            })?);
        }
        Ok(Value::Object(out))
    }
}

/// Returns whether `bytes` nests objects and arrays at most `max` deep. Brackets inside
/// strings are skipped. Runs in one pass with no allocation; the real parse follows.
pub(crate) fn depth_within(bytes: &[u8], max: usize) -> bool {
    let mut depth = 0usize;
    let mut in_string = false;
    let mut escaped = false;
    for &b in bytes {
        if in_string {
            if escaped {
                escaped = false;
            } else if b == b'\\' {
                escaped = true;
            } else if b == b'"' {
                in_string = false;
            }
            continue;
        }
        match b {
            b'"' => in_string = true,
            b'{' | b'[' => {
                depth += 1;
                if depth > max {
                    return false;
                }
            }
            b'}' | b']' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    true
}

/// The deepest JSON nesting accepted in tokens and key documents.
pub(crate) const MAX_DEPTH: usize = 16;

/// Whether a JSON document nests no deeper than [`MAX_DEPTH`].
pub(crate) fn depth_ok(bytes: &[u8]) -> bool {
    depth_within(bytes, MAX_DEPTH)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strict_object_refuses_duplicates_and_keeps_values() {
        let m =
            strict_object(br#"{"a":1,"b":[true,null,1.5,"x"],"c":{"d":-2}}"#, 16).expect("object");
        assert_eq!(
            Value::Object(m),
            serde_json::json!({"a":1,"b":[true,null,1.5,"x"],"c":{"d":-2}})
        );
        assert!(strict_object(br#"{"a":1,"a":1}"#, 16).is_err());
        assert!(strict_object(br#"{"a":{"b":1,"b":2}}"#, 16).is_err());
        assert!(strict_object(br#"{"a":1} x"#, 16).is_err());
        assert!(strict_object(b"[1]", 16).is_err());
        assert!(strict_object(br#"{"a":[[1]]}"#, 3).is_ok());
        assert!(strict_object(br#"{"a":[[[1]]]}"#, 3).is_err());
        let deep = format!("{{\"a\":{}1{}}}", "[".repeat(5000), "]".repeat(5000));
        assert!(strict_object(deep.as_bytes(), 16).is_err());
    }

    #[test]
    fn deep_nesting_is_refused_and_strings_are_skipped() {
        assert!(depth_within(br#"{"a":{"b":[1]}}"#, 3));
        assert!(!depth_within(br#"{"a":{"b":[1]}}"#, 2));
        assert!(depth_within(br#"{"a":"[[[[[[[[[["}"#, 1));
        assert!(depth_within(br#"{"a":"\"[[[["}"#, 1));
        let deep = "[".repeat(10_000);
        assert!(!depth_within(deep.as_bytes(), 32));
    }
}
