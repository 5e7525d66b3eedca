//! A linear pre-scan of raw input, before any parser sees it.
//!
//! The YAML parser is quadratic in flow nesting (100,000 `[` took 27 s to refuse) and expands
//! aliases before anything can look at the result, and a reader of standard input must stop
//! before memory runs out. So the input is first scanned once, byte by byte, and refused early
//! (with a real line and column) when one document is over the per-document size limit, when
//! nesting is deeper than `MAX_NESTING_DEPTH`, when a YAML document uses more than
//! `MAX_ALIASES` aliases, or when it carries a YAML tag the document model would silently drop.
//!
//! The scan is incremental (`feed` chunk by chunk, then `finish`), so the CLI can run it while
//! it reads and stop reading `/dev/zero` at the limit. It tokenises only as far as the limits
//! need: quoted scalars, comments, block scalars, flow brackets, indentation, document markers
//! (`---`, `...`), sequence entries at column 0 (the items of a `kind: List`), anchors, aliases
//! and tags. Anything it misjudges only makes it more lenient; the parser still has the final
//! word on syntax.

/// Largest document (the text of one YAML document or List item, or one JSON array element or
/// List item). Each group is one DynamoDB item (at most 400 KB), so this bounds a document's
/// text, comments included, not a file: a file or directory of 1,000 groups is fine.
pub const MAX_DOCUMENT_BYTES: usize = 1024 * 1024;
/// Largest input (one file, or standard input): bounds memory, not the number of groups.
pub const MAX_INPUT_BYTES: usize = 64 * 1024 * 1024;
/// Deepest nesting of brackets and indentation levels. A FailoverGroup nests about 8 deep.
pub const MAX_NESTING_DEPTH: usize = 64;
/// Most aliases (`*name`) in one YAML document.
pub const MAX_ALIASES: usize = 64;
/// The YAML core schema's own tags, which the parser honours (`!!str 16.3` is the string).
pub const ALLOWED_TAGS: [&str; 5] = ["!!str", "!!int", "!!float", "!!bool", "!!null"];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Yaml,
    Json,
}

/// Why the scan refused the input. Lines and columns are 1-based (columns in characters);
/// `document` is the 1-based document (YAML) or top-level element (JSON) it happened in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    DocumentTooLarge {
        document: usize,
        line: usize,
        size: usize,
    },
    InputTooLarge {
        size: usize,
    },
    TooDeep {
        document: usize,
        line: usize,
        column: usize,
    },
    TooManyAliases {
        document: usize,
        line: usize,
        column: usize,
    },
    Tag {
        document: usize,
        line: usize,
        column: usize,
        tag: String,
    },
}

/// What the scan learnt of one YAML document, for errors the parser cannot place.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct DocumentMarks {
    /// Line of the document's marker or first content.
    pub start_line: usize,
    /// Line and column of its first alias.
    pub first_alias: Option<(usize, usize)>,
}

/// The result of a complete scan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scan {
    pub format: Format,
    /// YAML only: one entry per document, in order.
    pub documents: Vec<DocumentMarks>,
}

/// Scan a whole input at once.
pub fn scan(input: &[u8]) -> Result<Scan, Refusal> {
    let mut scanner = Prescan::new();
    scanner.feed(input)?;
    scanner.finish()
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Quote {
    Single,
    Double,
}

#[derive(Debug, Default)]
struct JsonState {
    /// Open brackets, innermost last.
    stack: Vec<u8>,
    in_string: bool,
    escape: bool,
    /// A value may start here (after `[`, `,` or `:`, or at the top).
    expect_value: bool,
    column: usize,
    /// Elements seen in an array directly inside the top-level object (a List's items).
    items_seen: bool,
}

#[derive(Debug, Default)]
struct YamlState {
    quote: Option<Quote>,
    flow_depth: usize,
    /// Indentations of the open block levels, outermost first.
    indents: Vec<usize>,
    /// Inside a block scalar (`|`, `>`) of a line with this indentation.
    block_scalar_parent: Option<usize>,
    /// A document is open (a `...` closes it; the next content opens another).
    open: bool,
    aliases: usize,
}

/// The incremental scanner: `feed` the input in chunks, then `finish`.
#[derive(Debug)]
pub struct Prescan {
    format: Option<Format>,
    /// Bytes consumed so far.
    offset: usize,
    /// 1-based line of the next byte (JSON, and YAML lines being processed).
    line: usize,
    /// YAML: the incomplete last line (also the leading blanks before the format is known).
    tail: Vec<u8>,
    /// Offset where the current document (for the size limit) began.
    doc_start: usize,
    /// 1-based index of the current document, 0 before the first.
    doc_index: usize,
    /// Line where the current document (for the size limit) began.
    doc_line: usize,
    documents: Vec<DocumentMarks>,
    json: JsonState,
    yaml: YamlState,
}

impl Default for Prescan {
    fn default() -> Self {
        Prescan::new()
    }
}

fn is_blank(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\r' | b'\n')
}

fn is_flow_indicator(b: u8) -> bool {
    matches!(b, b',' | b'[' | b']' | b'{' | b'}')
}

/// 1-based character column of byte `i` of `line`.
fn column_at(line: &[u8], i: usize) -> usize {
    line[..i.min(line.len())]
        .iter()
        .filter(|b| (**b & 0xC0) != 0x80)
        .count()
        + 1
}

impl Prescan {
    pub fn new() -> Prescan {
        Prescan {
            format: None,
            offset: 0,
            line: 1,
            tail: Vec::new(),
            doc_start: 0,
            doc_index: 0,
            doc_line: 1,
            documents: Vec::new(),
            json: JsonState {
                expect_value: true,
                column: 1,
                ..JsonState::default()
            },
            yaml: YamlState::default(),
        }
    }

    /// Bytes fed so far.
    pub fn bytes_seen(&self) -> usize {
        self.offset + self.tail.len()
    }

    /// Scan the next chunk of input.
    pub fn feed(&mut self, chunk: &[u8]) -> Result<(), Refusal> {
        let total = self.bytes_seen() + chunk.len();
        if total > MAX_INPUT_BYTES {
            return Err(Refusal::InputTooLarge { size: total });
        }
        let mut rest = chunk;
        if self.format.is_none() {
            rest = self.detect(rest);
        }
        match self.format {
            Some(Format::Json) => self.json_bytes(rest),
            Some(Format::Yaml) => self.yaml_bytes(rest),
            None => self.check_document_size(self.bytes_seen()),
        }
    }

    /// The input is complete: scan what is left and report.
    pub fn finish(mut self) -> Result<Scan, Refusal> {
        if self.format == Some(Format::Yaml) && !self.tail.is_empty() {
            let line = std::mem::take(&mut self.tail);
            let start = self.offset;
            self.offset += line.len();
            self.yaml_line(&line, start)?;
        }
        Ok(Scan {
            format: self.format.unwrap_or(Format::Yaml),
            documents: self.documents,
        })
    }

    /// Skip a byte-order mark and blanks; the first other byte decides the format: `{` or
    /// `[` is JSON, anything else YAML (as the parser decides). Returns the bytes left.
    fn detect<'a>(&mut self, chunk: &'a [u8]) -> &'a [u8] {
        const BOM: [u8; 3] = [0xEF, 0xBB, 0xBF];
        for (i, &b) in chunk.iter().enumerate() {
            let at = self.tail.len();
            if at < 3 && b == BOM[at] && self.tail[..] == BOM[..at] {
                self.tail.push(b);
                continue;
            }
            if is_blank(b) {
                self.tail.push(b);
                continue;
            }
            let pending = std::mem::take(&mut self.tail);
            let skip = if pending.starts_with(&BOM) { 3 } else { 0 };
            if matches!(b, b'{' | b'[') {
                self.format = Some(Format::Json);
                for &p in &pending[skip..] {
                    self.json_advance_position(p);
                }
                self.offset += pending.len();
            } else {
                self.format = Some(Format::Yaml);
                // The lines before the first content are blank: only count them. The current
                // line's blanks stay, so that it keeps its indentation.
                let last_newline = pending.iter().rposition(|p| *p == b'\n');
                let keep = last_newline.map_or(skip, |n| n + 1);
                self.line += pending[..keep].iter().filter(|p| **p == b'\n').count();
                self.offset += keep;
                self.tail = pending[keep..].to_vec();
            }
            return &chunk[i..];
        }
        &[]
    }

    fn check_document_size(&self, end: usize) -> Result<(), Refusal> {
        let size = end.saturating_sub(self.doc_start);
        if size > MAX_DOCUMENT_BYTES {
            return Err(Refusal::DocumentTooLarge {
                document: self.doc_index.max(1),
                line: self.doc_line,
                size,
            });
        }
        Ok(())
    }

    // -----------------------------------------------------------------------------------------
    // JSON: bracket depth outside strings; documents are the top-level value, the elements of
    // a top-level array, and the elements of an array directly inside a top-level object (the
    // `items` of a List).
    // -----------------------------------------------------------------------------------------

    fn json_advance_position(&mut self, b: u8) {
        if b == b'\n' {
            self.line += 1;
            self.json.column = 1;
        } else if (b & 0xC0) != 0x80 {
            self.json.column += 1;
        }
    }

    fn json_bytes(&mut self, chunk: &[u8]) -> Result<(), Refusal> {
        for &b in chunk {
            self.json_byte(b)?;
            self.json_advance_position(b);
            self.offset += 1;
        }
        self.check_document_size(self.offset)
    }

    fn json_byte(&mut self, b: u8) -> Result<(), Refusal> {
        let j = &mut self.json;
        if j.in_string {
            if j.escape {
                j.escape = false;
            } else if b == b'\\' {
                j.escape = true;
            } else if b == b'"' {
                j.in_string = false;
            }
            return Ok(());
        }
        match b {
            b if is_blank(b) => {}
            b',' | b':' => self.json.expect_value = true,
            b']' | b'}' => {
                self.json.stack.pop();
                self.json.expect_value = false;
            }
            _ => {
                if self.json.expect_value {
                    self.json_value_starts(b)?;
                }
                self.json.expect_value = false;
                match b {
                    b'"' => self.json.in_string = true,
                    b'[' | b'{' => {
                        self.json.stack.push(b);
                        self.json.expect_value = true;
                        if self.json.stack.len() > MAX_NESTING_DEPTH {
                            return Err(Refusal::TooDeep {
                                document: self.doc_index.max(1),
                                line: self.line,
                                column: self.json.column,
                            });
                        }
                    }
                    _ => {}
                }
            }
        }
        Ok(())
    }

    /// A value starts at the current byte `b`: is it a new document? Before a new one starts,
    /// the one before it is checked against the size limit.
    fn json_value_starts(&mut self, b: u8) -> Result<(), Refusal> {
        let index = match self.json.stack.as_slice() {
            // A top-level array is not a document; its elements are.
            [] => Some(if b == b'[' { 0 } else { 1 }),
            [b'['] => Some(self.doc_index + 1),
            // The first item of a List is document 1 again: the wrapper is not a group.
            [b'{', b'['] if self.json.items_seen => Some(self.doc_index + 1),
            [b'{', b'['] => {
                self.json.items_seen = true;
                Some(1)
            }
            _ => None,
        };
        if let Some(index) = index {
            self.check_document_size(self.offset)?;
            self.doc_index = index;
            self.doc_start = self.offset;
            self.doc_line = self.line;
        }
        Ok(())
    }

    // -----------------------------------------------------------------------------------------
    // YAML: line by line.
    // -----------------------------------------------------------------------------------------

    fn yaml_bytes(&mut self, chunk: &[u8]) -> Result<(), Refusal> {
        let mut rest = chunk;
        while let Some(nl) = rest.iter().position(|b| *b == b'\n') {
            let (line, after) = rest.split_at(nl);
            let start = self.offset;
            if self.tail.is_empty() {
                self.offset += line.len() + 1;
                self.yaml_line(line, start)?;
            } else {
                let mut whole = std::mem::take(&mut self.tail);
                whole.extend_from_slice(line);
                self.offset += whole.len() + 1;
                self.yaml_line(&whole, start)?;
            }
            self.line += 1;
            self.check_document_size(self.offset)?;
            rest = &after[1..];
        }
        // An incomplete line is kept, up to the document limit: /dev/zero stops here.
        self.tail.extend_from_slice(rest);
        self.check_document_size(self.offset + self.tail.len())
    }

    fn begin_document(&mut self, start: usize) {
        self.documents.push(DocumentMarks {
            start_line: self.line,
            first_alias: None,
        });
        self.doc_index = self.documents.len();
        self.doc_start = start;
        self.doc_line = self.line;
        self.yaml = YamlState {
            open: true,
            ..YamlState::default()
        };
    }

    /// One line without its newline; `start` is its offset in the input.
    fn yaml_line(&mut self, line: &[u8], start: usize) -> Result<(), Refusal> {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        let indent = line.iter().take_while(|b| **b == b' ').count();
        let body = &line[indent..];
        let blank = body.iter().all(|b| is_blank(*b));
        if let Some(parent) = self.yaml.block_scalar_parent {
            if blank || indent > parent {
                return Ok(());
            }
            self.yaml.block_scalar_parent = None;
        }
        let mut from = indent;
        if self.yaml.quote.is_none() {
            let marker = |m: &[u8]| line.starts_with(m) && line.get(3).is_none_or(|b| is_blank(*b));
            if marker(b"---") {
                self.begin_document(start);
                from = 3;
            } else if marker(b"...") {
                self.yaml.open = false;
                return Ok(());
            } else if blank || body.starts_with(b"#") || line.starts_with(b"%") {
                return Ok(());
            } else {
                if !self.yaml.open {
                    self.begin_document(start);
                }
                if self.yaml.flow_depth == 0 && indent == 0 && is_entry(line) {
                    // A column-0 entry: the items of a List are documents for the size limit.
                    self.doc_start = start;
                    self.doc_line = self.line;
                }
                if self.yaml.flow_depth == 0 {
                    self.open_block_level(indent);
                    self.depth_check(0, line, indent)?;
                }
            }
        }
        self.yaml_tokens(line, from, indent)
    }

    fn open_block_level(&mut self, indent: usize) {
        let indents = &mut self.yaml.indents;
        while indents.last().is_some_and(|top| *top > indent) {
            indents.pop();
        }
        if indents.last().is_none_or(|top| *top < indent) {
            indents.push(indent);
        }
    }

    fn depth_check(&self, extra: usize, line: &[u8], i: usize) -> Result<(), Refusal> {
        if self.yaml.indents.len() + extra + self.yaml.flow_depth > MAX_NESTING_DEPTH {
            return Err(Refusal::TooDeep {
                document: self.doc_index.max(1),
                line: self.line,
                column: column_at(line, i),
            });
        }
        Ok(())
    }

    /// The tokens of one line from byte `from`; `indent` is the line's indentation.
    fn yaml_tokens(&mut self, line: &[u8], from: usize, indent: usize) -> Result<(), Refusal> {
        // At the start of a node: indicators, quotes, anchors, aliases and tags mean something
        // here; elsewhere they are characters of a plain scalar.
        let mut node_start = true;
        let mut after_blank = true;
        // Compact nesting on this line (`- - x`).
        let mut entries = 0;
        let mut i = from;
        while i < line.len() {
            let b = line[i];
            if let Some(quote) = self.yaml.quote {
                i += quoted_len(line, i, quote, &mut self.yaml.quote);
                node_start = false;
                after_blank = false;
                continue;
            }
            if is_blank(b) {
                after_blank = true;
                i += 1;
                continue;
            }
            if b == b'#' && after_blank {
                break;
            }
            let next_blank = line.get(i + 1).is_none_or(|n| is_blank(*n));
            let in_flow = self.yaml.flow_depth > 0;
            after_blank = false;
            if !node_start {
                match b {
                    b':' if next_blank => node_start = true,
                    b',' if in_flow => node_start = true,
                    b']' | b'}' if in_flow => self.yaml.flow_depth -= 1,
                    _ => {}
                }
                i += 1;
                continue;
            }
            match b {
                b'"' => self.yaml.quote = Some(Quote::Double),
                b'\'' => self.yaml.quote = Some(Quote::Single),
                b'[' | b'{' => {
                    self.yaml.flow_depth += 1;
                    self.depth_check(entries, line, i)?;
                }
                b']' | b'}' if in_flow => {
                    self.yaml.flow_depth -= 1;
                    node_start = false;
                }
                b',' if in_flow => {}
                b'-' | b'?' | b':' if next_blank => {
                    if b == b'-' && !in_flow {
                        entries += 1;
                        self.depth_check(entries, line, i)?;
                    }
                }
                b'&' => {
                    i += name_len(line, i);
                    continue;
                }
                b'*' => {
                    self.alias(line, i)?;
                    i += name_len(line, i);
                    node_start = false;
                    continue;
                }
                b'!' => {
                    let len = name_len(line, i);
                    let tag = String::from_utf8_lossy(&line[i..i + len]).into_owned();
                    if !ALLOWED_TAGS.contains(&tag.as_str()) {
                        return Err(Refusal::Tag {
                            document: self.doc_index.max(1),
                            line: self.line,
                            column: column_at(line, i),
                            tag,
                        });
                    }
                    i += len;
                    continue;
                }
                b'|' | b'>' if !in_flow => {
                    self.yaml.block_scalar_parent = Some(indent);
                    break;
                }
                _ => node_start = false,
            }
            i += 1;
        }
        Ok(())
    }

    fn alias(&mut self, line: &[u8], i: usize) -> Result<(), Refusal> {
        self.yaml.aliases += 1;
        let position = (self.line, column_at(line, i));
        if let Some(doc) = self.documents.last_mut() {
            doc.first_alias.get_or_insert(position);
        }
        if self.yaml.aliases > MAX_ALIASES {
            return Err(Refusal::TooManyAliases {
                document: self.doc_index.max(1),
                line: position.0,
                column: position.1,
            });
        }
        Ok(())
    }
}

/// `- ` or a lone `-` at the start of the line: a block sequence entry.
fn is_entry(line: &[u8]) -> bool {
    line.first() == Some(&b'-') && line.get(1).is_none_or(|b| is_blank(*b))
}

/// Length of an anchor, alias or tag token starting at `i` (its indicator included).
fn name_len(line: &[u8], i: usize) -> usize {
    1 + line[i + 1..]
        .iter()
        .take_while(|b| !is_blank(**b) && !is_flow_indicator(**b))
        .count()
}

/// Bytes of a quoted scalar from `i` (its opening quote already seen, or a continuation line)
/// up to and including its closing quote, or to the end of the line; clears `state` when the
/// scalar closes.
fn quoted_len(line: &[u8], i: usize, quote: Quote, state: &mut Option<Quote>) -> usize {
    let mut j = i;
    while j < line.len() {
        match (quote, line[j]) {
            (Quote::Double, b'\\') => j += 2,
            (Quote::Double, b'"') => {
                *state = None;
                return j + 1 - i;
            }
            (Quote::Single, b'\'') if line.get(j + 1) == Some(&b'\'') => j += 2,
            (Quote::Single, b'\'') => {
                *state = None;
                return j + 1 - i;
            }
            _ => j += 1,
        }
    }
    line.len().saturating_sub(i).max(1)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use super::*;

    fn refusal(input: &str) -> Refusal {
        scan(input.as_bytes()).unwrap_err()
    }

    #[test]
    fn ordinary_documents_pass_and_the_format_is_told_by_the_first_character() {
        let yaml = "apiVersion: v1\nkind: List\nitems:\n- a: [1, {b: 2}]\n  c: \"x\"\n";
        assert_eq!(scan(yaml.as_bytes()).unwrap().format, Format::Yaml);
        let json = "\u{feff}  \n{\"a\": [1, {\"b\": \"[[[\"}]}";
        assert_eq!(scan(json.as_bytes()).unwrap().format, Format::Json);
    }

    #[test]
    fn yaml_document_markers_count_documents() {
        let input = "# lead\n---\na: 1\n---\nb: 2\n...\nc: 3\n";
        let scan = scan(input.as_bytes()).unwrap();
        let lines: Vec<usize> = scan.documents.iter().map(|d| d.start_line).collect();
        assert_eq!(lines, [2, 4, 7]);
    }

    #[test]
    fn deep_flow_nesting_is_refused_at_the_bracket_that_is_too_deep() {
        let input = format!("a:\n  b: {}", "[".repeat(100_000));
        assert_eq!(
            refusal(&input),
            Refusal::TooDeep {
                document: 1,
                line: 2,
                // Two block levels, then brackets: the 63rd bracket is the 65th level.
                column: 6 + 62,
            }
        );
        let json = "[".repeat(100_000);
        assert_eq!(
            refusal(&json),
            Refusal::TooDeep {
                document: 1,
                line: 1,
                column: 65
            }
        );
    }

    #[test]
    fn deep_block_nesting_is_refused() {
        let mut input = String::new();
        for depth in 0..100 {
            input.push_str(&format!("{}k{depth}:\n", " ".repeat(depth)));
        }
        assert!(matches!(refusal(&input), Refusal::TooDeep { line: 65, .. }));
        let compact = format!("{}x\n", "- ".repeat(100));
        assert!(matches!(
            refusal(&compact),
            Refusal::TooDeep {
                line: 1,
                column: 127,
                ..
            }
        ));
    }

    #[test]
    fn brackets_in_strings_comments_and_block_scalars_do_not_count() {
        let deep = "[".repeat(200);
        let input = format!(
            "a: \"{deep}\"\nb: '{deep}'\nc: x{deep}\n# {deep}\nd: |\n  {deep}\n  \"unclosed\ne: 1\n"
        );
        scan(input.as_bytes()).unwrap();
        let json = format!("{{\"a\": \"{deep}\\\"{deep}\"}}");
        scan(json.as_bytes()).unwrap();
    }

    #[test]
    fn too_many_aliases_are_refused_at_the_first_one_over() {
        let mut input = String::from("a: &a [x, x]\n");
        for i in 0..70 {
            input.push_str(&format!("b{i}: *a\n"));
        }
        assert_eq!(
            refusal(&input),
            Refusal::TooManyAliases {
                document: 1,
                line: 66,
                column: 6
            }
        );
    }

    #[test]
    fn the_first_alias_of_each_document_is_remembered() {
        let input = "a: &x 1\nb: *x\n---\nc: [*y]\n";
        let scan = scan(input.as_bytes()).unwrap();
        assert_eq!(scan.documents[0].first_alias, Some((2, 4)));
        assert_eq!(scan.documents[1].first_alias, Some((4, 5)));
    }

    #[test]
    fn application_tags_are_refused_core_tags_pass() {
        assert_eq!(
            refusal("a:\n  b: !Ref x\n"),
            Refusal::Tag {
                document: 1,
                line: 2,
                column: 6,
                tag: "!Ref".into()
            }
        );
        assert!(matches!(refusal("- !GetAtt x.y\n"), Refusal::Tag { .. }));
        scan(b"a: !!str 16.3\nb: x!y\nc: 'x !y'\n").unwrap();
    }

    #[test]
    fn a_document_over_the_limit_is_refused_even_without_a_newline() {
        let zeros = vec![0u8; MAX_DOCUMENT_BYTES + 10];
        let mut scanner = Prescan::new();
        let mut result = Ok(());
        for chunk in zeros.chunks(4096) {
            result = scanner.feed(chunk);
            if result.is_err() {
                break;
            }
        }
        assert!(matches!(
            result,
            Err(Refusal::DocumentTooLarge { document: 1, line: 1, size }) if size > MAX_DOCUMENT_BYTES
        ));
        assert!(scanner.bytes_seen() < MAX_DOCUMENT_BYTES + 8192);
    }

    #[test]
    fn the_limit_is_per_document_not_per_input() {
        let doc = format!("a: {}\n", "x".repeat(1000));
        let many = format!("---\n{doc}").repeat(2000);
        assert!(many.len() > MAX_DOCUMENT_BYTES);
        scan(many.as_bytes()).unwrap();
        // The items of one List document, and the elements of a JSON array.
        let list = format!("kind: List\nitems:\n{}", format!("- {doc}").repeat(2000));
        scan(list.as_bytes()).unwrap();
        let element = format!("{{\"a\": \"{}\"}}", "x".repeat(1000));
        let array = format!("[{}]", vec![element.clone(); 2000].join(","));
        scan(array.as_bytes()).unwrap();
        let items = format!(
            "{{\"kind\": \"List\", \"items\": [{}]}}",
            vec![element; 2000].join(",")
        );
        scan(items.as_bytes()).unwrap();
    }

    #[test]
    fn one_large_document_in_many_is_named() {
        let small = "a: 1\n";
        let big = format!("b: {}\n", "x".repeat(MAX_DOCUMENT_BYTES));
        let input = format!("{small}---\n{small}---\n{big}");
        assert!(matches!(
            refusal(&input),
            Refusal::DocumentTooLarge {
                document: 3,
                line: 4,
                ..
            }
        ));
        let json = format!("[{{}}, \"{}\"]", "x".repeat(MAX_DOCUMENT_BYTES));
        assert!(matches!(
            refusal(&json),
            Refusal::DocumentTooLarge { document: 2, .. }
        ));
    }

    #[test]
    fn the_input_limit_bounds_memory() {
        let mut scanner = Prescan::new();
        scanner.feed("---\na: 1\n".repeat(1000).as_bytes()).unwrap();
        // Refused on the byte count, before the chunk is scanned.
        let rest = vec![b'\n'; MAX_INPUT_BYTES];
        assert!(matches!(
            scanner.feed(&rest),
            Err(Refusal::InputTooLarge { size }) if size > MAX_INPUT_BYTES
        ));
    }

    #[test]
    fn chunk_boundaries_do_not_change_the_outcome() {
        let input = format!("a: &a [x]\nb:\n  c: {}\n", "[".repeat(70));
        let whole = refusal(&input);
        for size in [1, 2, 3, 7] {
            let mut scanner = Prescan::new();
            let mut result = Ok(());
            for chunk in input.as_bytes().chunks(size) {
                result = scanner.feed(chunk);
                if result.is_err() {
                    break;
                }
            }
            let result = result.and_then(|()| scanner.finish().map(|_| ()));
            assert_eq!(result, Err(whole.clone()), "chunks of {size}");
        }
    }
}
