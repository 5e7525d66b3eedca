//! Parsing user input: one or more YAML or JSON documents.
//!
//! Input is YAML (one or more documents separated by `---`) or JSON (one object, or an array of
//! objects), told apart by its first character. A document may also be a kubectl-style
//! `{apiVersion: v1, kind: List, items: [...]}` (what `drctl get -o yaml|json` prints), whose
//! items are the documents; their errors carry the path `items[i]`.
//!
//! Parsing runs in three stages so that each kind of mistake gets the most useful location:
//! a linear pre-scan (`prescan`) refuses oversized documents, deep nesting, alias bombs and
//! YAML tags before a parser runs; the text is then read into a generic value (syntax errors
//! carry the document index, line and column; JSON objects with a repeated key are refused,
//! as YAML's are); then each value is checked for its kind and converted into the typed
//! document (type errors, missing and unknown fields carry the field path, e.g.
//! `spec.dns.targets.us-east-1.aliasDnsName`).

use std::fmt;

use serde::de::{Deserializer, MapAccess, SeqAccess, Visitor};

use crate::prescan::{self, Format, Refusal, Scan, MAX_ALIASES, MAX_INPUT_BYTES};
use crate::types::{FailoverGroup, API_VERSION, KIND};
use crate::validate::{clip, clip_quoted, validate, FieldError, ValidationErrors, MAX_ECHO_CHARS};

pub use crate::prescan::{Prescan, MAX_DOCUMENT_BYTES, MAX_NESTING_DEPTH};

/// The kubectl list wrapper: `apiVersion: v1`, `kind: List`, `items`.
pub const LIST_KIND: &str = "List";
pub const LIST_API_VERSION: &str = "v1";

/// Where a document is in its input: the YAML document (or JSON array element), and the item
/// when that document is a List.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Position {
    /// 1-based.
    pub document: usize,
    /// 0-based index in the List's `items`.
    pub item: Option<usize>,
}

impl Position {
    /// The prefix of a field path inside this document: `items[3].` for a List item.
    pub fn path_prefix(&self) -> String {
        self.item
            .map(|i| format!("items[{i}]."))
            .unwrap_or_default()
    }
}

impl fmt::Display for Position {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.item {
            Some(item) => write!(f, "document {} (items[{item}])", self.document),
            None => write!(f, "document {}", self.document),
        }
    }
}

/// A parsed document and where it was.
#[derive(Debug, Clone, PartialEq)]
pub struct Located {
    pub position: Position,
    pub doc: FailoverGroup,
}

/// The problems of one document of the input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DocumentErrors {
    /// 1-based position of the document in the input. The problems of a List's items carry
    /// `items[i]` in their paths.
    pub index: usize,
    /// metadata.name, when the document has one.
    pub name: Option<String>,
    pub errors: ValidationErrors,
}

impl DocumentErrors {
    /// `errors` of the document at `position`, their paths placed inside it.
    pub fn at(position: Position, name: Option<String>, errors: ValidationErrors) -> Self {
        let prefix = position.path_prefix();
        let errors = errors
            .0
            .into_iter()
            .map(|e| FieldError::new(format!("{prefix}{}", e.path), e.message))
            .collect();
        DocumentErrors {
            index: position.document,
            name,
            errors: ValidationErrors(errors),
        }
    }
}

impl fmt::Display for DocumentErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let prefix = match &self.name {
            Some(name) => format!("document {} ({})", self.index, clip(name, MAX_ECHO_CHARS)),
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
    #[error("{source_name}: document {document} (from line {line}) is over the per-document limit: {size} bytes read, over the limit of {MAX_DOCUMENT_BYTES} bytes (1 MiB) for one document; refused before parsing")]
    TooLarge {
        source_name: String,
        /// Bytes of the document seen when it was refused (the scan stops there).
        size: usize,
        document: usize,
        line: usize,
    },
    #[error("{source_name}: input is over the limit of {MAX_INPUT_BYTES} bytes (64 MiB) for one file or stream ({size} bytes read); split it into several files")]
    InputTooLarge { source_name: String, size: usize },
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

    /// The error for a pre-scan refusal of the input called `source_name`.
    pub fn refused(source_name: &str, refusal: Refusal) -> ParseError {
        let source_name = source_name.to_string();
        let syntax =
            |document: usize, line: usize, column: usize, message: String| ParseError::Syntax {
                source_name: source_name.clone(),
                document: Some(document),
                line,
                column,
                message,
            };
        match refusal {
            Refusal::DocumentTooLarge {
                document,
                line,
                size,
            } => ParseError::TooLarge {
                source_name,
                size,
                document,
                line,
            },
            Refusal::InputTooLarge { size } => ParseError::InputTooLarge { source_name, size },
            Refusal::TooDeep {
                document,
                line,
                column,
            } => syntax(
                document,
                line,
                column,
                format!(
                    "nested more than {MAX_NESTING_DEPTH} levels deep (brackets and indentation); \
                     refused before parsing"
                ),
            ),
            Refusal::TooManyAliases {
                document,
                line,
                column,
            } => syntax(
                document,
                line,
                column,
                format!(
                    "more than {MAX_ALIASES} aliases (*name) in one document; refused before \
                     parsing, as aliases that expand each other can blow a small input up \
                     without bound"
                ),
            ),
            Refusal::Tag {
                document,
                line,
                column,
                tag,
            } => syntax(
                document,
                line,
                column,
                format!(
                    "YAML tag {} is not supported: a FailoverGroup is plain data, and the tag \
                     would be silently dropped",
                    clip(&tag, MAX_ECHO_CHARS)
                ),
            ),
        }
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

/// Parse (but do not validate) every document in `input`. Checks the limits, UTF-8, syntax,
/// kind and apiVersion, field types, unknown fields, and that no two documents share a name.
/// Every document's problems are reported, not only the first.
pub fn parse_documents(input: &[u8], source_name: &str) -> Result<Vec<FailoverGroup>, ParseError> {
    parse_located(input, source_name, false).map(unlocated)
}

/// `parse_documents`, then `validate` on every document: what a write needs before it touches
/// the store. All documents' problems are reported together.
pub fn parse_and_validate(
    input: &[u8],
    source_name: &str,
) -> Result<Vec<FailoverGroup>, ParseError> {
    parse_located(input, source_name, true).map(unlocated)
}

fn unlocated(docs: Vec<Located>) -> Vec<FailoverGroup> {
    docs.into_iter().map(|l| l.doc).collect()
}

/// Parse every document in `input` with its position, and with `check` validate each.
pub fn parse_located(
    input: &[u8],
    source_name: &str,
    check: bool,
) -> Result<Vec<Located>, ParseError> {
    let source = source_name.to_string();
    let scan = prescan::scan(input).map_err(|r| ParseError::refused(source_name, r))?;
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
    let raw = match scan.format {
        Format::Json => read_json(text, &source)?,
        Format::Yaml => read_yaml(text, &source, &scan)?,
    };
    if raw.iter().all(RawDocument::is_empty) {
        return Err(ParseError::Empty {
            source_name: source,
        });
    }
    let (docs, errors) = type_documents(raw, check);
    if errors.is_empty() {
        Ok(docs)
    } else {
        Err(ParseError::Invalid {
            source_name: source,
            errors,
        })
    }
}

/// A document parsed into a generic value, before it becomes typed.
enum RawDocument {
    Yaml(serde_norway::Value),
    Json(serde_json::Value),
}

/// Expand Lists, convert every document into the typed one, validate it with `check`, and
/// refuse names used twice.
fn type_documents(raw: Vec<RawDocument>, check: bool) -> (Vec<Located>, Vec<DocumentErrors>) {
    let mut docs: Vec<Located> = Vec::new();
    let mut errors = Vec::new();
    for (i, raw) in raw.into_iter().enumerate() {
        let document = i + 1;
        let items = match raw.into_documents() {
            Ok(items) => items,
            Err(errs) => {
                errors.push(DocumentErrors::at(
                    Position {
                        document,
                        item: None,
                    },
                    None,
                    ValidationErrors(errs),
                ));
                continue;
            }
        };
        for (item, raw) in items {
            let position = Position { document, item };
            let name = raw.name();
            let mut errs = Vec::new();
            match raw.into_group() {
                Ok(doc) => {
                    if check {
                        if let Err(v) = validate(&doc) {
                            errs.extend(v.0);
                        }
                    }
                    if let Some(first) = docs
                        .iter()
                        .find(|d| d.doc.metadata.name == doc.metadata.name)
                    {
                        errs.push(FieldError::new(
                            "metadata.name",
                            format!(
                                "{:?} is also the name of {}: names must be unique within one input",
                                doc.metadata.name, first.position
                            ),
                        ));
                    }
                    docs.push(Located { position, doc });
                }
                Err(e) => errs.extend(e),
            }
            if !errs.is_empty() {
                errors.push(DocumentErrors::at(position, name, ValidationErrors(errs)));
            }
        }
    }
    (docs, errors)
}

fn line_column(prefix: &[u8]) -> (usize, usize) {
    let line = prefix.iter().filter(|b| **b == b'\n').count() + 1;
    let column = prefix.iter().rev().take_while(|b| **b != b'\n').count() + 1;
    (line, column)
}

fn read_yaml(text: &str, source: &str, scan: &Scan) -> Result<Vec<RawDocument>, ParseError> {
    let mut docs = Vec::new();
    for (i, de) in serde_norway::Deserializer::from_str(text).enumerate() {
        match serde::Deserialize::deserialize(de) {
            Ok(value) => docs.push(RawDocument::Yaml(value)),
            Err(e) => {
                // After a syntax error the stream cannot be resynchronised: stop at the first.
                let e: serde_norway::Error = e;
                let mut message = e.to_string();
                if let Some(at) = message.find(" at line ") {
                    message.truncate(at);
                }
                let marks = scan.documents.get(i).copied().unwrap_or_default();
                let (line, column) = match e.location() {
                    Some(l) => (l.line(), l.column()),
                    // The expansion limit has no position: point at the first alias.
                    None if message.contains("repetition limit") => {
                        message = "aliases expand to more than 100 times the document's own \
                                   size (nested aliases, a \"billion laughs\" input?); refused"
                            .to_string();
                        marks.first_alias.unwrap_or((marks.start_line.max(1), 1))
                    }
                    None => (marks.start_line.max(1), 1),
                };
                return Err(ParseError::Syntax {
                    source_name: source.to_string(),
                    document: Some(i + 1),
                    line,
                    column,
                    message: clip_quoted(&message),
                });
            }
        }
    }
    Ok(docs)
}

fn read_json(text: &str, source: &str) -> Result<Vec<RawDocument>, ParseError> {
    let mut de = serde_json::Deserializer::from_str(text);
    let value = de
        .deserialize_any(StrictJson)
        .and_then(|v| de.end().map(|()| v))
        .map_err(|e| ParseError::Syntax {
            source_name: source.to_string(),
            document: None,
            line: e.line(),
            column: e.column(),
            message: clip_quoted(&strip_json_location(&e.to_string())),
        })?;
    Ok(match value {
        // A JSON array is a list of documents, the JSON spelling of a multi-document file.
        serde_json::Value::Array(items) => items.into_iter().map(RawDocument::Json).collect(),
        other => vec![RawDocument::Json(other)],
    })
}

/// Builds a JSON value like `serde_json::Value`, but refuses an object with a repeated key
/// (serde_json keeps the last one silently, YAML refuses them: both now refuse).
struct StrictJson;

impl<'de> Visitor<'de> for StrictJson {
    type Value = serde_json::Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_bool<E>(self, v: bool) -> Result<Self::Value, E> {
        Ok(v.into())
    }
    fn visit_i64<E>(self, v: i64) -> Result<Self::Value, E> {
        Ok(v.into())
    }
    fn visit_u64<E>(self, v: u64) -> Result<Self::Value, E> {
        Ok(v.into())
    }
    fn visit_f64<E>(self, v: f64) -> Result<Self::Value, E> {
        Ok(serde_json::Number::from_f64(v)
            .map(serde_json::Value::Number)
            .unwrap_or(serde_json::Value::Null))
    }
    fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
        Ok(v.into())
    }
    fn visit_string<E>(self, v: String) -> Result<Self::Value, E> {
        Ok(v.into())
    }
    fn visit_unit<E>(self) -> Result<Self::Value, E> {
        Ok(serde_json::Value::Null)
    }
    fn visit_none<E>(self) -> Result<Self::Value, E> {
        Ok(serde_json::Value::Null)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element_seed(StrictSeed)? {
            items.push(item);
        }
        Ok(serde_json::Value::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut object = serde_json::Map::new();
        while let Some(key) = map.next_key::<String>()? {
            if object.contains_key(&key) {
                return Err(serde::de::Error::custom(format!(
                    "duplicate key {key:?}: a key may appear only once in an object (JSON \
                     readers disagree on which one wins)"
                )));
            }
            let value = map.next_value_seed(StrictSeed)?;
            object.insert(key, value);
        }
        Ok(serde_json::Value::Object(object))
    }
}

struct StrictSeed;

impl<'de> serde::de::DeserializeSeed<'de> for StrictSeed {
    type Value = serde_json::Value;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(StrictJson)
    }
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

    /// The documents this one stands for: itself, or the items of a kubectl List
    /// (`apiVersion: v1`, `kind: List`, `items`, optional `metadata`), each with its index.
    fn into_documents(self) -> Result<Vec<(Option<usize>, RawDocument)>, Vec<FieldError>> {
        if self.top_str("kind") != Some(Some(LIST_KIND)) {
            return Ok(vec![(None, self)]);
        }
        let mut errs = Vec::new();
        match self.top_str("apiVersion") {
            Some(Some(LIST_API_VERSION)) | None => {}
            Some(other) => errs.push(FieldError::new(
                "apiVersion",
                format!(
                    "{:?} is not supported for kind List: expected {LIST_API_VERSION}",
                    other.unwrap_or("(not a string)")
                ),
            )),
        }
        let known = ["apiVersion", "kind", "items", "metadata"];
        for key in self.top_keys() {
            if !known.contains(&key.as_str()) {
                errs.push(FieldError::new(
                    key.clone(),
                    format!(
                        "unknown field `{key}` of a List, expected one of `apiVersion`, `kind`, \
                         `items`, `metadata`"
                    ),
                ));
            }
        }
        let items: Option<Vec<RawDocument>> = match self {
            RawDocument::Yaml(serde_norway::Value::Mapping(mut m)) => match m.remove("items") {
                Some(serde_norway::Value::Sequence(items)) => {
                    Some(items.into_iter().map(RawDocument::Yaml).collect())
                }
                _ => None,
            },
            RawDocument::Json(serde_json::Value::Object(mut m)) => match m.remove("items") {
                Some(serde_json::Value::Array(items)) => {
                    Some(items.into_iter().map(RawDocument::Json).collect())
                }
                _ => None,
            },
            _ => None,
        };
        match items {
            Some(items) if errs.is_empty() => Ok(items
                .into_iter()
                .enumerate()
                .map(|(i, raw)| (Some(i), raw))
                .collect()),
            Some(_) => Err(errs),
            None => {
                errs.push(FieldError::new(
                    "items",
                    "is required and must be a list of FailoverGroup documents",
                ));
                Err(errs)
            }
        }
    }

    fn top_keys(&self) -> Vec<String> {
        match self {
            RawDocument::Yaml(serde_norway::Value::Mapping(m)) => m
                .keys()
                .map(|k| match k.as_str() {
                    Some(s) => s.to_string(),
                    None => format!("{k:?}"),
                })
                .collect(),
            RawDocument::Json(serde_json::Value::Object(m)) => m.keys().cloned().collect(),
            _ => Vec::new(),
        }
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
        if let RawDocument::Yaml(v) = &self {
            if let Some((path, tag)) = first_tag(v, "") {
                errs.push(FieldError::new(
                    if path.is_empty() {
                        "(document)".to_string()
                    } else {
                        path
                    },
                    format!(
                        "YAML tag {tag} is not supported: a FailoverGroup is plain data, and the \
                         tag would be silently dropped"
                    ),
                ));
            }
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

/// The path and tag of the first tagged value in `value` (the pre-scan refuses tags with their
/// line and column; this is the backstop for any it did not see).
fn first_tag(value: &serde_norway::Value, path: &str) -> Option<(String, String)> {
    use serde_norway::Value;
    let join = |key: &str| {
        if path.is_empty() {
            key.to_string()
        } else {
            format!("{path}.{key}")
        }
    };
    match value {
        Value::Tagged(tagged) => Some((path.to_string(), tagged.tag.to_string())),
        Value::Sequence(items) => items
            .iter()
            .enumerate()
            .find_map(|(i, v)| first_tag(v, &format!("{path}[{i}]"))),
        Value::Mapping(m) => m.iter().find_map(|(k, v)| {
            let key = k
                .as_str()
                .map(str::to_string)
                .unwrap_or_else(|| format!("{k:?}"));
            first_tag(k, &join(&key)).or_else(|| first_tag(v, &join(&key)))
        }),
        _ => None,
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
