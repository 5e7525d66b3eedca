//! Label selectors as kubectl writes them (`-l`): `team=payments`, `team==payments`,
//! `team!=x`, `tier in (gold,silver)`, `tier notin (bronze)`, `team` (the label exists),
//! `!team` (it does not); a comma between requirements means "and".
//!
//! The semantics are Kubernetes': `!=` and `notin` also match a group without the label, and
//! the empty selector matches every group. Pure: parsing and matching only.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::str::FromStr;

use crate::validate::{label_key, label_value};

/// A parsed selector: every requirement must hold.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Selector {
    requirements: Vec<Requirement>,
}

/// One requirement on one label key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Requirement {
    /// `key`
    Exists(String),
    /// `!key`
    DoesNotExist(String),
    /// `key=value` or `key==value`
    Equals(String, String),
    /// `key!=value`: also true when the label is absent.
    NotEquals(String, String),
    /// `key in (a,b)`
    In(String, BTreeSet<String>),
    /// `key notin (a,b)`: also true when the label is absent.
    NotIn(String, BTreeSet<String>),
}

/// Why a selector was refused: the input, what is wrong, and where (0-based character).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid label selector {input:?}: {message} (at character {position})")]
pub struct SelectorError {
    pub input: String,
    pub message: String,
    pub position: usize,
}

impl SelectorError {
    /// Stable category: a selector is the user's input.
    pub fn category(&self) -> &'static str {
        "invalid_input"
    }
}

impl Selector {
    /// Parse kubectl's selector syntax. The empty (or all-blank) selector selects everything.
    pub fn parse(input: &str) -> Result<Selector, SelectorError> {
        Parser::new(input).selector()
    }

    /// Does a group with these labels satisfy every requirement?
    pub fn matches(&self, labels: &BTreeMap<String, String>) -> bool {
        self.requirements.iter().all(|r| r.matches(labels))
    }

    pub fn requirements(&self) -> &[Requirement] {
        &self.requirements
    }

    pub fn is_empty(&self) -> bool {
        self.requirements.is_empty()
    }
}

impl FromStr for Selector {
    type Err = SelectorError;
    fn from_str(s: &str) -> Result<Selector, SelectorError> {
        Selector::parse(s)
    }
}

impl Requirement {
    pub fn key(&self) -> &str {
        match self {
            Requirement::Exists(k)
            | Requirement::DoesNotExist(k)
            | Requirement::Equals(k, _)
            | Requirement::NotEquals(k, _)
            | Requirement::In(k, _)
            | Requirement::NotIn(k, _) => k,
        }
    }

    pub fn matches(&self, labels: &BTreeMap<String, String>) -> bool {
        let value = labels.get(self.key());
        match self {
            Requirement::Exists(_) => value.is_some(),
            Requirement::DoesNotExist(_) => value.is_none(),
            Requirement::Equals(_, v) => value == Some(v),
            Requirement::NotEquals(_, v) => value != Some(v),
            Requirement::In(_, set) => value.is_some_and(|v| set.contains(v)),
            Requirement::NotIn(_, set) => !value.is_some_and(|v| set.contains(v)),
        }
    }
}

impl fmt::Display for Requirement {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let set = |s: &BTreeSet<String>| s.iter().cloned().collect::<Vec<_>>().join(",");
        match self {
            Requirement::Exists(k) => write!(f, "{k}"),
            Requirement::DoesNotExist(k) => write!(f, "!{k}"),
            Requirement::Equals(k, v) => write!(f, "{k}={v}"),
            Requirement::NotEquals(k, v) => write!(f, "{k}!={v}"),
            Requirement::In(k, s) => write!(f, "{k} in ({})", set(s)),
            Requirement::NotIn(k, s) => write!(f, "{k} notin ({})", set(s)),
        }
    }
}

/// The canonical spelling, e.g. `team=payments,tier in (gold,silver)`.
impl fmt::Display for Selector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, r) in self.requirements.iter().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            write!(f, "{r}")?;
        }
        Ok(())
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Token {
    /// A key or a value: anything but blanks and `=!(),<>`.
    Word(String),
    Equals,
    DoubleEquals,
    NotEquals,
    Bang,
    In,
    NotIn,
    Open,
    Close,
    Comma,
    /// `<` or `>`: Kubernetes' numeric comparisons, which kubectl's label selectors refuse.
    Compare(char),
    End,
}

impl Token {
    fn describe(&self) -> String {
        match self {
            Token::Word(w) => format!("{w:?}"),
            Token::Equals => "'='".into(),
            Token::DoubleEquals => "'=='".into(),
            Token::NotEquals => "'!='".into(),
            Token::Bang => "'!'".into(),
            Token::In => "'in'".into(),
            Token::NotIn => "'notin'".into(),
            Token::Open => "'('".into(),
            Token::Close => "')'".into(),
            Token::Comma => "','".into(),
            Token::Compare(c) => format!("'{c}'"),
            Token::End => "the end".into(),
        }
    }
}

/// Split the input into tokens with their character positions.
fn tokenize(input: &str) -> Vec<(Token, usize)> {
    let chars: Vec<char> = input.chars().collect();
    let mut tokens = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let next = chars.get(i + 1).copied();
        let (token, len) = match c {
            c if c.is_whitespace() => {
                i += 1;
                continue;
            }
            '=' if next == Some('=') => (Token::DoubleEquals, 2),
            '=' => (Token::Equals, 1),
            '!' if next == Some('=') => (Token::NotEquals, 2),
            '!' => (Token::Bang, 1),
            '(' => (Token::Open, 1),
            ')' => (Token::Close, 1),
            ',' => (Token::Comma, 1),
            '<' | '>' => (Token::Compare(c), 1),
            _ => {
                let word: String = chars[i..]
                    .iter()
                    .take_while(|ch| !ch.is_whitespace() && !"=!(),<>".contains(**ch))
                    .collect();
                let len = word.chars().count();
                let token = match word.as_str() {
                    "in" => Token::In,
                    "notin" => Token::NotIn,
                    _ => Token::Word(word),
                };
                (token, len)
            }
        };
        tokens.push((token, i));
        i += len;
    }
    tokens.push((Token::End, chars.len()));
    tokens
}

struct Parser<'a> {
    input: &'a str,
    tokens: Vec<(Token, usize)>,
    at: usize,
}

impl<'a> Parser<'a> {
    fn new(input: &'a str) -> Parser<'a> {
        Parser {
            input,
            tokens: tokenize(input),
            at: 0,
        }
    }

    fn peek(&self) -> &Token {
        self.tokens
            .get(self.at)
            .map(|(t, _)| t)
            .unwrap_or(&Token::End)
    }

    fn position(&self) -> usize {
        self.tokens
            .get(self.at)
            .map(|(_, p)| *p)
            .unwrap_or(self.input.len())
    }

    fn next(&mut self) -> Token {
        let token = self.peek().clone();
        if self.at < self.tokens.len() {
            self.at += 1;
        }
        token
    }

    fn error(&self, position: usize, message: impl Into<String>) -> SelectorError {
        SelectorError {
            input: self.input.to_string(),
            message: message.into(),
            position,
        }
    }

    fn unexpected(&self, expected: &str) -> SelectorError {
        let found = self.peek().describe();
        self.error(
            self.position(),
            format!("expected {expected}, found {found}"),
        )
    }

    fn selector(mut self) -> Result<Selector, SelectorError> {
        let mut requirements = Vec::new();
        if *self.peek() == Token::End {
            return Ok(Selector { requirements });
        }
        loop {
            requirements.push(self.requirement()?);
            match self.next() {
                Token::End => break,
                Token::Comma => {}
                _ => {
                    self.at -= 1;
                    return Err(self.unexpected("',' or the end of the selector"));
                }
            }
        }
        Ok(Selector { requirements })
    }

    fn requirement(&mut self) -> Result<Requirement, SelectorError> {
        if *self.peek() == Token::Bang {
            self.next();
            let key = self.key()?;
            return Ok(Requirement::DoesNotExist(key));
        }
        let key = self.key()?;
        let operator_at = self.position();
        match self.peek().clone() {
            Token::End | Token::Comma => Ok(Requirement::Exists(key)),
            Token::Equals | Token::DoubleEquals => {
                self.next();
                Ok(Requirement::Equals(key, self.value()?))
            }
            Token::NotEquals => {
                self.next();
                Ok(Requirement::NotEquals(key, self.value()?))
            }
            Token::In => {
                self.next();
                Ok(Requirement::In(key, self.set()?))
            }
            Token::NotIn => {
                self.next();
                Ok(Requirement::NotIn(key, self.set()?))
            }
            Token::Compare(c) => Err(self.error(
                operator_at,
                format!("'{c}' is not supported: use =, ==, !=, in, notin, KEY or !KEY"),
            )),
            _ => Err(self.unexpected("=, ==, !=, in, notin, ',' or the end after a key")),
        }
    }

    fn key(&mut self) -> Result<String, SelectorError> {
        let at = self.position();
        match self.peek().clone() {
            Token::Word(key) => {
                self.next();
                label_key(&key)
                    .map_err(|why| self.error(at, format!("label key {key:?} {why}")))?;
                Ok(key)
            }
            _ => Err(self.unexpected("a label key")),
        }
    }

    /// A value after `=`, `==` or `!=`; `key=` means the empty value, as in Kubernetes.
    fn value(&mut self) -> Result<String, SelectorError> {
        let at = self.position();
        match self.peek().clone() {
            Token::Word(value) => {
                self.next();
                label_value(&value)
                    .map_err(|why| self.error(at, format!("label value {value:?} {why}")))?;
                Ok(value)
            }
            Token::End | Token::Comma => Ok(String::new()),
            _ => Err(self.unexpected("a label value")),
        }
    }

    /// `(a, b, c)`: at least one value.
    fn set(&mut self) -> Result<BTreeSet<String>, SelectorError> {
        if self.next() != Token::Open {
            self.at -= 1;
            return Err(self.unexpected("'(' and a list of values, such as (gold,silver)"));
        }
        let mut values = BTreeSet::new();
        loop {
            if *self.peek() == Token::Close && values.is_empty() {
                return Err(self.error(
                    self.position(),
                    "the set of values is empty: give at least one, such as (gold)",
                ));
            }
            let at = self.position();
            match self.next() {
                Token::Word(value) => {
                    label_value(&value)
                        .map_err(|why| self.error(at, format!("label value {value:?} {why}")))?;
                    values.insert(value);
                }
                _ => {
                    self.at -= 1;
                    return Err(self.unexpected("a label value"));
                }
            }
            match self.next() {
                Token::Comma => {}
                Token::Close => return Ok(values),
                _ => {
                    self.at -= 1;
                    return Err(self.unexpected("',' or ')' in the set of values"));
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use super::*;

    fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn matches(selector: &str, pairs: &[(&str, &str)]) -> bool {
        Selector::parse(selector).unwrap().matches(&labels(pairs))
    }

    fn refusal(selector: &str) -> SelectorError {
        Selector::parse(selector).unwrap_err()
    }

    #[test]
    fn equality_matches_only_the_same_value() {
        assert!(matches("team=payments", &[("team", "payments")]));
        assert!(matches("team==payments", &[("team", "payments")]));
        assert!(!matches("team=payments", &[("team", "search")]));
        assert!(!matches("team=payments", &[]));
    }

    #[test]
    fn inequality_also_matches_a_missing_label() {
        assert!(matches("team!=x", &[("team", "payments")]));
        assert!(matches("team!=x", &[]));
        assert!(!matches("team!=x", &[("team", "x")]));
    }

    #[test]
    fn set_membership_in_and_notin() {
        let gold = [("tier", "gold")];
        let bronze = [("tier", "bronze")];
        assert!(matches("tier in (gold,silver)", &gold));
        assert!(matches("tier in ( gold , silver )", &gold));
        assert!(!matches("tier in (gold,silver)", &bronze));
        assert!(!matches("tier in (gold,silver)", &[]));
        assert!(matches("tier notin (gold,silver)", &bronze));
        assert!(matches("tier notin (gold,silver)", &[]));
        assert!(!matches("tier notin (gold,silver)", &gold));
    }

    #[test]
    fn existence_and_absence() {
        assert!(matches("team", &[("team", "")]));
        assert!(!matches("team", &[]));
        assert!(matches("!team", &[]));
        assert!(!matches("!team", &[("team", "a")]));
        assert!(matches(" ! team ", &[]));
    }

    #[test]
    fn a_comma_means_and_outside_parentheses() {
        let sel = "team=payments,tier in (gold,silver),!legacy";
        assert!(matches(sel, &[("team", "payments"), ("tier", "silver")]));
        assert!(!matches(
            sel,
            &[("team", "payments"), ("tier", "silver"), ("legacy", "y")]
        ));
        assert!(!matches(sel, &[("team", "payments"), ("tier", "bronze")]));
        assert_eq!(Selector::parse(sel).unwrap().requirements().len(), 3);
    }

    #[test]
    fn an_empty_value_after_equals_is_the_empty_value() {
        assert!(matches("team=", &[("team", "")]));
        assert!(!matches("team=", &[("team", "a")]));
    }

    #[test]
    fn the_empty_selector_matches_everything() {
        assert!(matches("", &[]));
        assert!(matches("  ", &[("a", "b")]));
        assert!(Selector::parse("").unwrap().is_empty());
    }

    #[test]
    fn prefixed_keys_are_accepted() {
        assert!(matches("drctl.io/tier=gold", &[("drctl.io/tier", "gold")]));
    }

    #[test]
    fn display_is_the_canonical_spelling_and_parses_back() {
        let sel = Selector::parse("team==a , tier in (silver,gold), !x,y notin (z)").unwrap();
        let text = sel.to_string();
        assert_eq!(text, "team=a,tier in (gold,silver),!x,y notin (z)");
        assert_eq!(Selector::parse(&text).unwrap(), sel);
    }

    #[test]
    fn malformed_selectors_are_refused_with_a_position() {
        let cases = [
            ("team=a b", "expected ',' or the end of the selector", 7),
            ("tier in gold", "expected '(' and a list of values", 8),
            ("tier in (gold", "expected ',' or ')'", 13),
            ("tier in ()", "the set of values is empty", 9),
            ("=x", "expected a label key, found '='", 0),
            ("a,", "expected a label key, found the end", 2),
            ("count>3", "'>' is not supported", 5),
            ("team=pay ments", "expected ',' or the end", 9),
            (
                "team=a=b",
                "expected ',' or the end of the selector, found '='",
                6,
            ),
        ];
        for (input, message, position) in cases {
            let err = refusal(input);
            assert!(err.message.contains(message), "{input:?}: {err}");
            assert_eq!(err.position, position, "{input:?}: {err}");
            assert!(err.to_string().contains(&format!("{input:?}")), "{err}");
        }
    }

    #[test]
    fn keys_and_values_must_be_label_syntax() {
        assert!(refusal("Team Payments=x").message.contains("expected"));
        assert!(refusal("-team=x").message.contains("label key \"-team\""));
        assert!(refusal("team=-x").message.contains("label value \"-x\""));
        assert!(refusal("tier in (gold,-x)")
            .message
            .contains("label value \"-x\""));
        assert!(refusal(&format!("team={}", "a".repeat(64)))
            .message
            .contains("at most 63"));
    }
}
