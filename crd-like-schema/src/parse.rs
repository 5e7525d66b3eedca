//! Parsing user input: one or more YAML or JSON documents.
//!
//! Input is YAML (one or more documents separated by `---`) or JSON (one object, or an array of
//! objects), told apart by its first character. Parsing runs in two stages so that each kind of
//! mistake gets the most useful location: the text is first read into a generic value (syntax
//! errors carry the document index, line and column), then each value is checked for its kind
//! and converted into the typed document (type errors, missing and unknown fields carry the
//! field path, e.g. `spec.dns.targets.us-east-1.aliasDnsName`).

use std::fmt;

use serde::de::Deserializer;

use crate::types::{FailoverGroup, API_VERSION, KIND};
use crate::validate::{validate, FieldError, ValidationErrors};

/// Larger inputs are refused before parsing.
pub const MAX_DOCUMENT_BYTES: usize = 1024 * 1024;

/// The problems of one document of the input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DocumentErrors {
    /// 1-based position of the document in the input.
    pub index: usize,
    /// metadata.name, when the document has one.
    pub name: Option<String>,
    pub errors: ValidationErrors,
}

impl fmt::Display for DocumentErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let prefix = match &self.name {
            Some(name) => format!("document {} ({name})", self.index),
            None => format!("document {}", self.index),
        };
        for (i, e) in self.errors.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{prefix}: {e}")?;
        }
        Ok(())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    #[error("{source_name}: input is {size} bytes, over the limit of {MAX_DOCUMENT_BYTES} bytes (1 MiB); refused before parsing")]
    TooLarge { source_name: String, size: usize },
    #[error(
        "{source_name}: input is not valid UTF-8: invalid byte at line {line}, column {column}"
    )]
    NotUtf8 {
        source_name: String,
        line: usize,
        column: usize,
    },
    #[error("{source_name}: input is empty: expected at least one FailoverGroup document")]
    Empty { source_name: String },
    #[error("{source_name}: {}syntax error at line {line}, column {column}: {message}", document_prefix(*.document))]
    Syntax {
        source_name: String,
        /// 1-based document index, when known (YAML; not inside a JSON array).
        document: Option<usize>,
        line: usize,
        column: usize,
        message: String,
    },
    #[error("{}", invalid_message(source_name, errors))]
    Invalid {
        source_name: String,
        errors: Vec<DocumentErrors>,
    },
}

impl ParseError {
    /// Stable category: every parse error is the user's input.
    pub fn category(&self) -> &'static str {
        "invalid_input"
    }
}

fn document_prefix(document: Option<usize>) -> String {
    document
        .map(|d| format!("document {d}: "))
        .unwrap_or_default()
}

fn invalid_message(source_name: &str, errors: &[DocumentErrors]) -> String {
    let mut out = String::new();
    for doc in errors {
        for line in doc.to_string().lines() {
            if !out.is_empty() {
                out.push('\n');
            }
            out.push_str(source_name);
            out.push_str(": ");
            out.push_str(line);
        }
    }
    out
}

/// Parse (but do not validate) every document in `input`. Checks the size limit, UTF-8,
/// syntax, kind and apiVersion, field types, unknown fields, and that no two documents share
/// a name. Every document's problems are reported, not only the first.
pub fn parse_documents(input: &[u8], source_name: &str) -> Result<Vec<FailoverGroup>, ParseError> {
    parse(input, source_name, false)
}

/// `parse_documents`, then `validate` on every document: what a write needs before it touches
/// the store. All documents' problems are reported together.
pub fn parse_and_validate(
    input: &[u8],
    source_name: &str,
) -> Result<Vec<FailoverGroup>, ParseError> {
    parse(input, source_name, true)
}

/// A document parsed into a generic value, before it becomes typed.
enum RawDocument {
    Yaml(serde_norway::Value),
    Json(serde_json::Value),
}

fn parse(input: &[u8], source_name: &str, check: bool) -> Result<Vec<FailoverGroup>, ParseError> {
    let source = source_name.to_string();
    if input.len() > MAX_DOCUMENT_BYTES {
        return Err(ParseError::TooLarge {
            source_name: source,
            size: input.len(),
        });
    }
    let text = match std::str::from_utf8(input) {
        Ok(text) => text,
        Err(e) => {
            let (line, column) = line_column(&input[..e.valid_up_to()]);
            return Err(ParseError::NotUtf8 {
                source_name: source,
                line,
                column,
            });
        }
    };
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    if text.trim().is_empty() {
        return Err(ParseError::Empty {
            source_name: source,
        });
    }
    let raw = if text.trim_start().starts_with(['{', '[']) {
        read_json(text, &source)?
    } else {
        read_yaml(text, &source)?
    };
    if raw.iter().all(RawDocument::is_empty) {
        return Err(ParseError::Empty {
            source_name: source,
        });
    }

    let mut docs = Vec::new();
    let mut errors = Vec::new();
    let mut first_index_of_name: Vec<(String, usize)> = Vec::new();
    for (i, raw) in raw.into_iter().enumerate() {
        let index = i + 1;
        let name = raw.name();
        let mut errs = Vec::new();
        match raw.into_group() {
            Ok(doc) => {
                if check {
                    if let Err(v) = validate(&doc) {
                        errs.extend(v.0);
                    }
                }
                if let Some((_, first)) = first_index_of_name
                    .iter()
                    .find(|(n, _)| *n == doc.metadata.name)
                {
                    errs.push(FieldError::new(
                        "metadata.name",
                        format!(
                            "{:?} is also the name of document {first}: names must be unique within one input",
                            doc.metadata.name
                        ),
                    ));
                } else {
                    first_index_of_name.push((doc.metadata.name.clone(), index));
                }
                docs.push(doc);
            }
            Err(e) => errs.extend(e),
        }
        if !errs.is_empty() {
            errors.push(DocumentErrors {
                index,
                name,
                errors: ValidationErrors(errs),
            });
        }
    }
    if errors.is_empty() {
        Ok(docs)
    } else {
        Err(ParseError::Invalid {
            source_name: source,
            errors,
        })
    }
}

fn line_column(prefix: &[u8]) -> (usize, usize) {
    let line = prefix.iter().filter(|b| **b == b'\n').count() + 1;
    let column = prefix.iter().rev().take_while(|b| **b != b'\n').count() + 1;
    (line, column)
}

fn read_yaml(text: &str, source: &str) -> Result<Vec<RawDocument>, ParseError> {
    let mut docs = Vec::new();
    for (i, de) in serde_norway::Deserializer::from_str(text).enumerate() {
        match serde::Deserialize::deserialize(de) {
            Ok(value) => docs.push(RawDocument::Yaml(value)),
            Err(e) => {
                // After a syntax error the stream cannot be resynchronised: stop at the first.
                let e: serde_norway::Error = e;
                let (line, column) = e
                    .location()
                    .map(|l| (l.line(), l.column()))
                    .unwrap_or((0, 0));
                let mut message = e.to_string();
                if let Some(at) = message.find(" at line ") {
                    message.truncate(at);
                }
                return Err(ParseError::Syntax {
                    source_name: source.to_string(),
                    document: Some(i + 1),
                    line,
                    column,
                    message,
                });
            }
        }
    }
    Ok(docs)
}

fn read_json(text: &str, source: &str) -> Result<Vec<RawDocument>, ParseError> {
    let value: serde_json::Value = serde_json::from_str(text).map_err(|e| ParseError::Syntax {
        source_name: source.to_string(),
        document: None,
        line: e.line(),
        column: e.column(),
        message: strip_json_location(&e.to_string()),
    })?;
    Ok(match value {
        // A JSON array is a list of documents, the JSON spelling of a multi-document file.
        serde_json::Value::Array(items) => items.into_iter().map(RawDocument::Json).collect(),
        other => vec![RawDocument::Json(other)],
    })
}

fn strip_json_location(message: &str) -> String {
    match message.find(" at line ") {
        Some(at) => message[..at].to_string(),
        None => message.to_string(),
    }
}

impl RawDocument {
    fn is_empty(&self) -> bool {
        match self {
            RawDocument::Yaml(v) => v.is_null(),
            RawDocument::Json(v) => v.is_null(),
        }
    }

    /// The generic shape of the value, for messages.
    fn shape(&self) -> &'static str {
        match self {
            RawDocument::Yaml(v) => match v {
                serde_norway::Value::Null => "nothing (an empty document)",
                serde_norway::Value::Bool(_) => "a boolean",
                serde_norway::Value::Number(_) => "a number",
                serde_norway::Value::String(_) => "a string",
                serde_norway::Value::Sequence(_) => "a list",
                serde_norway::Value::Mapping(_) => "a mapping",
                serde_norway::Value::Tagged(_) => "a tagged value",
            },
            RawDocument::Json(v) => match v {
                serde_json::Value::Null => "null",
                serde_json::Value::Bool(_) => "a boolean",
                serde_json::Value::Number(_) => "a number",
                serde_json::Value::String(_) => "a string",
                serde_json::Value::Array(_) => "an array",
                serde_json::Value::Object(_) => "an object",
            },
        }
    }

    fn is_mapping(&self) -> bool {
        match self {
            RawDocument::Yaml(v) => v.is_mapping(),
            RawDocument::Json(v) => v.is_object(),
        }
    }

    /// A top-level string field, if present and a string.
    fn top_str(&self, key: &str) -> Option<Option<&str>> {
        match self {
            RawDocument::Yaml(v) => v.get(key).map(|f| f.as_str()),
            RawDocument::Json(v) => v.get(key).map(|f| f.as_str()),
        }
    }

    fn name(&self) -> Option<String> {
        let name = match self {
            RawDocument::Yaml(v) => v
                .get("metadata")
                .and_then(|m| m.get("name"))
                .and_then(|n| n.as_str()),
            RawDocument::Json(v) => v
                .get("metadata")
                .and_then(|m| m.get("name"))
                .and_then(|n| n.as_str()),
        };
        name.map(str::to_string)
    }

    /// Check kind and apiVersion first (a document of another kind gets one clear error, not a
    /// list of unknown fields), then convert into the typed document.
    fn into_group(self) -> Result<FailoverGroup, Vec<FieldError>> {
        if self.is_empty() {
            return Err(vec![FieldError::new(
                "(document)",
                "is empty: remove the extra `---` or add a FailoverGroup document",
            )]);
        }
        if !self.is_mapping() {
            return Err(vec![FieldError::new(
                "(document)",
                format!("expected a FailoverGroup mapping, got {}", self.shape()),
            )]);
        }
        let mut errs = Vec::new();
        match self.top_str("kind") {
            Some(Some(KIND)) | None => {}
            Some(Some(other)) => errs.push(FieldError::new(
                "kind",
                format!("{other:?} is not supported: expected {KIND}"),
            )),
            Some(None) => errs.push(FieldError::new("kind", "must be a string")),
        }
        match self.top_str("apiVersion") {
            Some(Some(API_VERSION)) | None => {}
            Some(Some(other)) => errs.push(FieldError::new(
                "apiVersion",
                format!("{other:?} is not supported: expected {API_VERSION}"),
            )),
            Some(None) => errs.push(FieldError::new("apiVersion", "must be a string")),
        }
        if !errs.is_empty() {
            return Err(errs);
        }
        let result = match self {
            RawDocument::Yaml(v) => typed(v),
            RawDocument::Json(v) => typed(v),
        };
        result.map_err(|e| vec![e])
    }
}

/// Convert a generic value into the typed document, keeping the path of the first error.
fn typed<'de, D>(value: D) -> Result<FailoverGroup, FieldError>
where
    D: Deserializer<'de>,
    D::Error: fmt::Display,
{
    serde_path_to_error::deserialize(value).map_err(|e| {
        let path = e.path().to_string();
        field_error(&path, &e.inner().to_string())
    })
}

/// Turn serde's wording into `path: message` with the offending field in the path:
/// `spec: missing field `writer`` becomes `spec.writer: is required`.
fn field_error(path: &str, message: &str) -> FieldError {
    let join = |field: &str| {
        if path.is_empty() || path == "." {
            field.to_string()
        } else {
            format!("{path}.{field}")
        }
    };
    if let Some(field) = backticked_after(message, "missing field `") {
        return FieldError::new(join(field), "is required (missing field)");
    }
    if let Some(field) = backticked_after(message, "unknown field `") {
        // serde_path_to_error already records the unknown key in the path for some inputs.
        let p = if path.rsplit('.').next() == Some(field) {
            path.to_string()
        } else {
            join(field)
        };
        return FieldError::new(p, message.to_string());
    }
    let p = if path.is_empty() || path == "." {
        "(document)".to_string()
    } else {
        path.to_string()
    };
    FieldError::new(p, message.to_string())
}

fn backticked_after<'a>(message: &'a str, marker: &str) -> Option<&'a str> {
    let start = message.find(marker)? + marker.len();
    let rest = &message[start..];
    rest.find('`').map(|end| &rest[..end])
}
