//! Errors that name the file, the line and the field.

use std::fmt;
use std::ops::Range;
use std::path::{Path, PathBuf};

/// A config file error: file, line, field, message (`FILE:LINE: `field`: message`).
#[derive(Debug)]
pub struct FileError {
    path: PathBuf,
    line: Option<usize>,
    field: String,
    message: String,
}

impl FileError {
    pub(super) fn unreadable(path: &Path, reason: &str) -> Self {
        Self {
            path: path.to_owned(),
            line: None,
            field: String::new(),
            message: format!("cannot read the file: {reason}"),
        }
    }
}

impl std::error::Error for FileError {}

impl fmt::Display for FileError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.path.display())?;
        if let Some(line) = self.line {
            write!(f, ":{line}")?;
        }
        if !self.field.is_empty() {
            write!(f, ": `{}`", self.field)?;
        }
        write!(f, ": {}", self.message)
    }
}

pub(super) struct Ctx<'a> {
    pub(super) path: &'a Path,
    pub(super) text: &'a str,
}

impl Ctx<'_> {
    pub(super) fn line(&self, span: Range<usize>) -> usize {
        let end = span.start.min(self.text.len());
        self.text[..end].bytes().filter(|b| *b == b'\n').count() + 1
    }

    pub(super) fn err(
        &self,
        span: Option<Range<usize>>,
        field: impl Into<String>,
        message: impl Into<String>,
    ) -> FileError {
        FileError {
            path: self.path.to_owned(),
            line: span.map(|s| self.line(s)),
            field: field.into(),
            message: message.into(),
        }
    }
}
