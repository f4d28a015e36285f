//! oslo.policy's check-string language, read as oslo.policy reads it.
//!
//! Operators' policy files are written for Ironic, so a check string must mean here
//! what it means there: the same tokens, the same precedence (`not` over `and` over
//! `or`), the same literals. Where oslo.policy quietly turns a string it cannot read
//! into a check that always fails, this parser refuses it with the column, so that a
//! mistake in a policy file stops the service instead of locking callers out.

use super::check::{Check, Generic, Left, Part, Role, Template};
use super::values::{Key, TargetKey};

/// A `rule:NAME` reference before it is resolved.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct Named {
    pub name: Box<str>,
    pub column: usize,
}

/// Why a check string cannot be read, and where (a 1-based column, in characters).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct Syntax {
    pub column: usize,
    pub message: String,
}

/// A parsed check string, with the credential paths it names that never exist.
#[derive(Debug)]
pub(super) struct Parsed {
    pub check: Check<Named>,
    /// (column, path): generic checks that are always false.
    pub missing: Vec<(usize, String)>,
}

pub(super) fn parse(text: &str) -> Result<Parsed, Syntax> {
    // Only the empty string is `@`: blanks alone are a failed parse in oslo.policy.
    if text.is_empty() {
        return Ok(Parsed {
            check: Check::Always,
            missing: Vec::new(),
        });
    }
    let mut parser = Parser {
        text,
        tokens: tokenize(text),
        next: 0,
        missing: Vec::new(),
    };
    let check = parser.expression()?;
    if let Some(token) = parser.peek() {
        return Err(parser.error(token.offset, format!("unexpected `{}`", token.text)));
    }
    Ok(Parsed {
        check,
        missing: parser.missing,
    })
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Open,
    Close,
    And,
    Or,
    Not,
    /// A quoted word standing alone: oslo.policy's parser has no place for it.
    Quoted,
    Check,
}

#[derive(Clone, Copy, Debug)]
struct Token<'t> {
    kind: Kind,
    text: &'t str,
    /// Byte offset in the check string.
    offset: usize,
}

/// Python's `\s`: Unicode white space, and the separators `str.isspace()` counts.
fn is_space(c: char) -> bool {
    c.is_whitespace() || ('\x1c'..='\x1f').contains(&c)
}

/// The words between blanks, with their byte offsets.
fn words(text: &str) -> Vec<(usize, &str)> {
    let mut out = Vec::new();
    let mut start = None;
    for (i, c) in text.char_indices() {
        match (is_space(c), start) {
            (true, Some(s)) => {
                out.push((s, &text[s..i]));
                start = None;
            }
            (false, None) => start = Some(i),
            _ => {}
        }
    }
    if let Some(s) = start {
        out.push((s, &text[s..]));
    }
    out
}

/// oslo.policy's tokens: words split on blanks, each word's leading `(` and trailing
/// `)` are parentheses, and what is left is a keyword, a quoted string or a check.
fn tokenize(text: &str) -> Vec<Token<'_>> {
    let mut tokens = Vec::new();
    for (offset, word) in words(text) {
        let rest = word.trim_start_matches('(');
        let opened = word.len() - rest.len();
        tokens.extend((0..opened).map(|i| token(Kind::Open, &word[i..=i], offset + i)));
        let offset = offset + opened;
        let clean = rest.trim_end_matches(')');
        if !clean.is_empty() {
            tokens.push(token(word_kind(rest, clean), clean, offset));
        }
        let closed =
            (clean.len()..rest.len()).map(|i| token(Kind::Close, &rest[i..=i], offset + i));
        tokens.extend(closed);
    }
    tokens
}

fn token(kind: Kind, text: &str, offset: usize) -> Token<'_> {
    Token { kind, text, offset }
}

/// `rest` is the word without its leading parentheses, `clean` without its trailing ones
/// too: oslo.policy tells a quoted string from the former.
fn word_kind(rest: &str, clean: &str) -> Kind {
    let lowered = clean.to_ascii_lowercase();
    match lowered.as_str() {
        "and" => Kind::And,
        "or" => Kind::Or,
        "not" => Kind::Not,
        _ if is_quoted(rest) => Kind::Quoted,
        _ => Kind::Check,
    }
}

fn is_quoted(word: &str) -> bool {
    let bytes = word.as_bytes();
    bytes.len() >= 2 && matches!(bytes[0], b'"' | b'\'') && bytes[0] == bytes[bytes.len() - 1]
}

struct Parser<'t> {
    text: &'t str,
    tokens: Vec<Token<'t>>,
    next: usize,
    missing: Vec<(usize, String)>,
}

impl<'t> Parser<'t> {
    fn peek(&self) -> Option<Token<'t>> {
        self.tokens.get(self.next).copied()
    }

    fn eat(&mut self, kind: Kind) -> Option<Token<'t>> {
        let token = self.peek().filter(|t| t.kind == kind)?;
        self.next += 1;
        Some(token)
    }

    fn error(&self, offset: usize, message: String) -> Syntax {
        Syntax {
            column: self.column(offset),
            message,
        }
    }

    /// The 1-based column, in characters, of a byte offset.
    fn column(&self, offset: usize) -> usize {
        self.text[..offset].chars().count() + 1
    }

    /// `a or b or …`, each an `and` expression.
    fn expression(&mut self) -> Result<Check<Named>, Syntax> {
        let mut items = vec![self.conjunction()?];
        while self.eat(Kind::Or).is_some() {
            items.push(self.conjunction()?);
        }
        Ok(one_or(items, Check::Or))
    }

    /// `a and b and …`, each a negation.
    fn conjunction(&mut self) -> Result<Check<Named>, Syntax> {
        let mut items = vec![self.negation()?];
        while self.eat(Kind::And).is_some() {
            items.push(self.negation()?);
        }
        Ok(one_or(items, Check::And))
    }

    fn negation(&mut self) -> Result<Check<Named>, Syntax> {
        if self.eat(Kind::Not).is_some() {
            return Ok(Check::Not(Box::new(self.negation()?)));
        }
        self.atom()
    }

    fn atom(&mut self) -> Result<Check<Named>, Syntax> {
        let Some(token) = self.peek() else {
            let end = self.text.len();
            return Err(self.error(
                end,
                "the check string ends where a check is expected".into(),
            ));
        };
        self.next += 1;
        match token.kind {
            Kind::Open => self.parenthesised(token),
            Kind::Check => self.check(token),
            Kind::Quoted => Err(self.error(
                token.offset,
                format!("a quoted string ({}) is not a check", token.text),
            )),
            Kind::Close | Kind::And | Kind::Or | Kind::Not => Err(self.error(
                token.offset,
                format!("`{}` where a check is expected", token.text),
            )),
        }
    }

    fn parenthesised(&mut self, open: Token<'t>) -> Result<Check<Named>, Syntax> {
        let inner = self.expression()?;
        if self.eat(Kind::Close).is_none() {
            return Err(self.error(open.offset, "this parenthesis is never closed".into()));
        }
        Ok(inner)
    }

    fn check(&mut self, token: Token<'t>) -> Result<Check<Named>, Syntax> {
        let column = self.column(token.offset);
        let at = |message: String| Syntax { column, message };
        match token.text {
            "@" => return Ok(Check::Always),
            "!" => return Ok(Check::Never),
            _ => {}
        }
        let Some((kind, value)) = token.text.split_once(':') else {
            let text = token.text;
            return Err(at(format!(
                "`{text}` is not a check: expected KIND:VALUE, `@` or `!`"
            )));
        };
        match kind {
            "rule" => Ok(Check::Rule(Named {
                name: value.into(),
                column,
            })),
            "role" => role(value).map(Check::Role).map_err(at),
            "http" | "https" => Err(at(format!(
                "`{}`: remote ({kind}:) checks are not supported",
                token.text
            ))),
            _ => {
                let generic = generic(kind, value).map_err(at)?;
                if generic.key == Left::Missing {
                    self.missing.push((column, kind.to_string()));
                }
                Ok(Check::Generic(generic))
            }
        }
    }
}

fn one_or<R>(mut items: Vec<Check<R>>, many: fn(Vec<Check<R>>) -> Check<R>) -> Check<R> {
    if items.len() == 1 {
        items.pop().expect("one item")
    } else {
        many(items)
    }
}

fn role(value: &str) -> Result<Role, String> {
    Ok(match template(value)? {
        Template::Text(name) => Role::Name(name.to_lowercase().into()),
        other => Role::Template(other),
    })
}

fn generic(kind: &str, value: &str) -> Result<Generic, String> {
    Ok(Generic {
        key: left(kind)?,
        value: template(value)?,
    })
}

/// The right side of a check: text with `%(key)s` substitutions and `%%`, the only
/// forms of Python's `%` formatting that make sense for a string compared as text.
fn template(value: &str) -> Result<Template, String> {
    let mut parts = Vec::new();
    let mut text = String::new();
    let mut rest = value;
    while let Some(at) = rest.find('%') {
        text.push_str(&rest[..at]);
        let spec = &rest[at + 1..];
        if let Some(after) = spec.strip_prefix('%') {
            text.push('%');
            rest = after;
            continue;
        }
        let (key, after) = substitution(spec).ok_or_else(|| {
            format!("`{value}`: only %(key)s substitutions and %% are supported after `%`")
        })?;
        if !text.is_empty() {
            parts.push(Part::Text(std::mem::take(&mut text).into()));
        }
        parts.push(Part::Key(TargetKey::named(key)));
        rest = after;
    }
    text.push_str(rest);
    if !text.is_empty() {
        parts.push(Part::Text(text.into()));
    }
    Ok(match parts.as_slice() {
        [] => Template::Text("".into()),
        [Part::Text(text)] => Template::Text(text.clone()),
        [Part::Key(key)] => Template::Key(*key),
        _ => Template::Parts(parts),
    })
}

/// `(key)s…` after a `%`: the key (parentheses nest, as in Python) and what follows.
fn substitution(spec: &str) -> Option<(&str, &str)> {
    let inner = spec.strip_prefix('(')?;
    let mut depth = 1;
    for (i, c) in inner.char_indices() {
        match c {
            '(' => depth += 1,
            ')' => depth -= 1,
            _ => {}
        }
        if depth == 0 {
            let after = inner[i + 1..].strip_prefix('s')?;
            return Some((&inner[..i], after));
        }
    }
    None
}

/// The left side of a generic check: a Python literal when `ast.literal_eval` reads
/// one, else a dotted path into the credentials.
fn left(kind: &str) -> Result<Left, String> {
    if let Some(literal) = literal(kind)? {
        return Ok(Left::Literal(literal.into()));
    }
    // A path of more than one segment goes through a value that is no mapping.
    Ok(Key::named(kind)
        .filter(|_| !kind.contains('.'))
        .map_or(Left::Missing, Left::Value))
}

/// Python's `str()` of `kind` read as a literal, `None` when it is no literal. Literals
/// beyond constants, strings and integers are refused rather than approximated.
fn literal(kind: &str) -> Result<Option<String>, String> {
    match kind {
        "True" | "False" | "None" => return Ok(Some(kind.to_string())),
        _ => {}
    }
    let first = kind.chars().next().unwrap_or(' ');
    if let Some(quoted) = string_prefix(kind) {
        return string_literal(quoted)
            .map(Some)
            .ok_or_else(|| format!("`{kind}`: unsupported string literal"));
    }
    if first.is_ascii_digit() || matches!(first, '+' | '-' | '.') {
        return integer_literal(kind)
            .map(Some)
            .ok_or_else(|| format!("`{kind}`: only integer numbers are supported"));
    }
    if matches!(first, '[' | '{' | '(') {
        return Err(format!("`{kind}`: container literals are not supported"));
    }
    Ok(None)
}

/// The quoted part of a Python string literal, without a `u` prefix; `None` when
/// `kind` does not start like a string literal.
fn string_prefix(kind: &str) -> Option<&str> {
    let letters = kind.find(['\'', '"'])?;
    let prefix = &kind[..letters];
    let plausible = prefix.len() <= 2 && prefix.chars().all(|c| c.is_ascii_alphabetic());
    match prefix {
        "" | "u" | "U" => Some(&kind[letters..]),
        // b'', r'', f''…: a literal this parser does not read.
        _ if plausible => Some(""),
        _ => None,
    }
}

/// The value of a single-quoted or double-quoted literal with simple escapes.
fn string_literal(quoted: &str) -> Option<String> {
    let quote = quoted.chars().next()?;
    let body = quoted.strip_prefix(quote)?.strip_suffix(quote)?;
    let mut out = String::new();
    let mut chars = body.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => out.push(match chars.next()? {
                'n' => '\n',
                't' => '\t',
                'r' => '\r',
                e @ ('\\' | '\'' | '"') => e,
                _ => return None,
            }),
            c if c == quote => return None,
            c => out.push(c),
        }
    }
    Some(out)
}

/// Python's `str()` of a decimal integer literal (`+1_000` is `1000`).
fn integer_literal(kind: &str) -> Option<String> {
    let (negative, digits) = match kind.as_bytes()[0] {
        b'-' => (true, &kind[1..]),
        b'+' => (false, &kind[1..]),
        _ => (false, kind),
    };
    let valid = !digits.is_empty()
        && !digits.starts_with('_')
        && !digits.ends_with('_')
        && !digits.contains("__")
        && digits.bytes().all(|b| b.is_ascii_digit() || b == b'_');
    if !valid {
        return None;
    }
    let digits: String = digits.chars().filter(|c| *c != '_').collect();
    let significant = digits.trim_start_matches('0');
    match (significant, negative) {
        ("", _) => Some("0".into()),
        // Python refuses leading zeros in a non-zero decimal literal.
        _ if significant.len() != digits.len() => None,
        (_, true) => Some(format!("-{significant}")),
        (_, false) => Some(significant.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The tree as oslo.policy prints it, for comparing shapes.
    fn show(check: &Check<Named>) -> String {
        let join = |checks: &[Check<Named>], op: &str| {
            let items: Vec<String> = checks.iter().map(show).collect();
            format!("({})", items.join(op))
        };
        match check {
            Check::Always => "@".into(),
            Check::Never => "!".into(),
            Check::Rule(named) => format!("rule:{}", named.name),
            Check::Role(Role::Name(name)) => format!("role:{name}"),
            Check::Role(Role::Template(t)) => format!("role:{t:?}"),
            Check::Generic(g) => format!("{:?}:{:?}", g.key, g.value),
            Check::Not(inner) => format!("not {}", show(inner)),
            Check::And(checks) => join(checks, " and "),
            Check::Or(checks) => join(checks, " or "),
        }
    }

    fn shape(text: &str) -> String {
        show(
            &parse(text)
                .unwrap_or_else(|e| panic!("{text}: {e:?}"))
                .check,
        )
    }

    fn error(text: &str) -> (usize, String) {
        let e = parse(text).expect_err(text);
        (e.column, e.message)
    }

    #[test]
    fn precedence_is_not_then_and_then_or() {
        // The shapes oslo.policy 6.0.1 prints for the same strings.
        assert_eq!(
            shape("rule:a or rule:b and rule:c"),
            "(rule:a or (rule:b and rule:c))"
        );
        assert_eq!(
            shape("rule:a and rule:b or rule:c"),
            "((rule:a and rule:b) or rule:c)"
        );
        assert_eq!(shape("not rule:a and rule:b"), "(not rule:a and rule:b)");
        assert_eq!(shape("not (rule:a and rule:b)"), "not (rule:a and rule:b)");
        assert_eq!(
            shape("rule:a or not rule:b and rule:c or rule:d"),
            "(rule:a or (not rule:b and rule:c) or rule:d)"
        );
        assert_eq!(shape("not not rule:a"), "not not rule:a");
        assert_eq!(
            shape("(rule:a or rule:b) and rule:c"),
            "((rule:a or rule:b) and rule:c)"
        );
        assert_eq!(
            shape("rule:a AND rule:b Or rule:c"),
            "((rule:a and rule:b) or rule:c)"
        );
    }

    #[test]
    fn parentheses_stick_to_words() {
        assert_eq!(shape("((rule:a))"), "rule:a");
        assert_eq!(shape("(@)"), "@");
        assert_eq!(shape("( rule:a )"), "rule:a");
        // `%(…)s` keeps its parentheses: they are inside the word.
        assert_eq!(
            shape("(project_id:%(node.owner)s)"),
            "Value(ProjectId):Key(NodeOwner)"
        );
    }

    #[test]
    fn the_empty_string_is_always_and_blanks_are_an_error() {
        assert_eq!(shape(""), "@");
        assert_eq!(
            error("   "),
            (4, "the check string ends where a check is expected".into())
        );
    }

    #[test]
    fn roles_are_lowercased_and_keys_resolved() {
        assert_eq!(shape("role:Admin"), "role:admin");
        assert_eq!(shape("Role:admin"), "Missing:Text(\"admin\")");
        assert_eq!(
            shape("system_scope:all"),
            "Value(SystemScope):Text(\"all\")"
        );
        assert_eq!(
            shape("project_name:%(config.service_project_name)s"),
            "Value(ProjectName):Key(Value(ServiceProjectName))"
        );
        assert_eq!(shape("user.id:x"), "Missing:Text(\"x\")");
        assert_eq!(
            parse("a:1 and Role:x").unwrap().missing,
            vec![(1, "a".to_string()), (9, "Role".to_string())]
        );
    }

    #[test]
    fn literals_read_as_python_prints_them() {
        let key = |kind: &str| left(kind).unwrap();
        let literal = |s: &str| Left::Literal(s.into());
        assert_eq!(key("True"), literal("True"));
        assert_eq!(key("None"), literal("None"));
        assert_eq!(key("'Member'"), literal("Member"));
        assert_eq!(key("u\"it's\""), literal("it's"));
        assert_eq!(key("'a\\'b'"), literal("a'b"));
        assert_eq!(key("42"), literal("42"));
        assert_eq!(key("+1_000"), literal("1000"));
        assert_eq!(key("-0"), literal("0"));
        assert_eq!(key("00"), literal("0"));
        assert_eq!(key("true"), Left::Missing);
        for refused in [
            "007", "1.5", "1e3", "0x1f", "b'x'", "'a''b'", "[1]", "'\\d'",
        ] {
            assert!(left(refused).is_err(), "{refused}");
        }
    }

    #[test]
    fn templates_substitute_target_keys() {
        assert_eq!(template("abc").unwrap(), Template::Text("abc".into()));
        assert_eq!(template("100%%").unwrap(), Template::Text("100%".into()));
        assert_eq!(
            template("%(node.owner)s").unwrap(),
            Template::Key(TargetKey::NodeOwner)
        );
        assert_eq!(
            template("p-%(node.lessee)s!").unwrap(),
            Template::Parts(vec![
                Part::Text("p-".into()),
                Part::Key(TargetKey::NodeLessee),
                Part::Text("!".into()),
            ])
        );
        for refused in ["50%", "%s", "%(node.owner)d", "%(node.owner", "%(x)-5s"] {
            assert!(template(refused).is_err(), "{refused}");
        }
    }

    #[test]
    fn errors_carry_their_column() {
        assert_eq!(
            error("role:a and"),
            (11, "the check string ends where a check is expected".into())
        );
        assert_eq!(error("role:a role:b"), (8, "unexpected `role:b`".into()));
        assert_eq!(
            error("(role:a or role:b"),
            (1, "this parenthesis is never closed".into())
        );
        assert_eq!(error("role:a)"), (7, "unexpected `)`".into()));
        assert_eq!(error("()"), (2, "`)` where a check is expected".into()));
        assert_eq!(
            error("and role:a"),
            (1, "`and` where a check is expected".into())
        );
        assert_eq!(error("not(role:a)"), (11, "unexpected `)`".into()));
        assert_eq!(
            error("role:a or 'x'"),
            (11, "a quoted string ('x') is not a check".into())
        );
        assert_eq!(
            error("role:é or admin"),
            (
                11,
                "`admin` is not a check: expected KIND:VALUE, `@` or `!`".into()
            )
        );
        assert_eq!(
            error("role:a or http://example.com/check"),
            (
                11,
                "`http://example.com/check`: remote (http:) checks are not supported".into()
            )
        );
        let (column, message) = error("role:a and 'x':%(y)d");
        assert_eq!(column, 12);
        assert!(message.contains("%(key)s"), "{message}");
    }
}
