//! A pre-parse bound on JSON nesting. (The strict reader of token payloads, which also
//! refuses duplicate member names, is `claims::ClaimsView`.)

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
    fn deep_nesting_is_refused_and_strings_are_skipped() {
        assert!(depth_within(br#"{"a":{"b":[1]}}"#, 3));
        assert!(!depth_within(br#"{"a":{"b":[1]}}"#, 2));
        assert!(depth_within(br#"{"a":"[[[[[[[[[["}"#, 1));
        assert!(depth_within(br#"{"a":"\"[[[["}"#, 1));
        let deep = "[".repeat(10_000);
        assert!(!depth_within(deep.as_bytes(), 32));
    }
}
