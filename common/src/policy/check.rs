//! A check string parsed once into a tree, so that a request only walks it: rule
//! references are indices, role names are lowercased and keys are resolved in advance.

use std::borrow::Cow;

use super::values::{Creds, Key, Target, TargetKey};

/// A parsed check. `R` is how a `rule:` reference is held: by name while parsing, by
/// index into the policy's rules once resolved.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) enum Check<R = usize> {
    /// `@`, or the empty check string.
    Always,
    /// `!`.
    Never,
    Rule(R),
    Role(Role),
    Generic(Generic),
    Not(Box<Check<R>>),
    And(Vec<Check<R>>),
    Or(Vec<Check<R>>),
}

/// `role:NAME`: whether the caller has the role, compared lowercased.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) enum Role {
    /// Lowercased.
    Name(Box<str>),
    Template(Template),
}

/// `KEY:VALUE`: whether the value, formatted with the target, is the `str()` of the
/// key (a Python literal, or a path into the credentials).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct Generic {
    pub key: Left,
    pub value: Template,
}

/// The left side of a generic check.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) enum Left {
    /// Python's `str()` of a literal.
    Literal(Box<str>),
    Value(Key),
    /// A path the credentials never hold: the check is false.
    Missing,
}

/// The right side of a check, with its `%(key)s` substitutions from the target.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) enum Template {
    Text(Box<str>),
    Key(TargetKey),
    Parts(Vec<Part>),
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) enum Part {
    Text(Box<str>),
    Key(TargetKey),
}

/// What a check is evaluated against.
pub(super) struct Env<'a> {
    pub rules: &'a [Check],
    pub creds: Creds<'a>,
    pub target: &'a Target<'a>,
}

impl<R> Check<R> {
    /// The same tree with every `rule:` reference mapped by `f`.
    pub(super) fn map_rules<S>(self, f: &mut impl FnMut(R) -> S) -> Check<S> {
        match self {
            Check::Always => Check::Always,
            Check::Never => Check::Never,
            Check::Rule(r) => Check::Rule(f(r)),
            Check::Role(role) => Check::Role(role),
            Check::Generic(generic) => Check::Generic(generic),
            Check::Not(check) => Check::Not(Box::new(check.map_rules(f))),
            Check::And(checks) => Check::And(checks.into_iter().map(|c| c.map_rules(f)).collect()),
            Check::Or(checks) => Check::Or(checks.into_iter().map(|c| c.map_rules(f)).collect()),
        }
    }

    /// Every `rule:` reference, in the order written.
    pub(super) fn rules(&self) -> Vec<&R> {
        let mut out = Vec::new();
        self.collect_rules(&mut out);
        out
    }

    fn collect_rules<'s>(&'s self, out: &mut Vec<&'s R>) {
        match self {
            Check::Rule(r) => out.push(r),
            Check::Not(check) => check.collect_rules(out),
            Check::And(checks) | Check::Or(checks) => {
                checks.iter().for_each(|c| c.collect_rules(out));
            }
            Check::Always | Check::Never | Check::Role(_) | Check::Generic(_) => {}
        }
    }
}

impl Check {
    pub(super) fn eval(&self, env: &Env) -> bool {
        match self {
            Check::Always => true,
            Check::Never => false,
            Check::Rule(index) => env.rules[*index].eval(env),
            Check::Role(role) => role.eval(env),
            Check::Generic(generic) => generic.eval(env),
            Check::Not(check) => !check.eval(env),
            Check::And(checks) => checks.iter().all(|c| c.eval(env)),
            Check::Or(checks) => checks.iter().any(|c| c.eval(env)),
        }
    }
}

impl Role {
    fn eval(&self, env: &Env) -> bool {
        match self {
            Role::Name(name) => env.creds.has_role(name),
            Role::Template(template) => template
                .render(env)
                .is_some_and(|name| env.creds.has_role(&name.to_lowercase())),
        }
    }
}

impl Generic {
    fn eval(&self, env: &Env) -> bool {
        // A substitution the target lacks makes the check false, whatever the key.
        let Some(value) = self.value.render(env) else {
            return false;
        };
        match &self.key {
            Left::Literal(literal) => **literal == *value,
            Left::Value(key) => env.creds.get(*key).is_some_and(|v| v.holds(&value)),
            Left::Missing => false,
        }
    }
}

impl Template {
    /// The text with the target's values in, or `None` when the target lacks one.
    fn render<'e>(&'e self, env: &Env<'e>) -> Option<Cow<'e, str>> {
        let lookup = |key: TargetKey| env.creds.target(env.target, key).map(|v| v.py_str());
        match self {
            Template::Text(text) => Some(Cow::Borrowed(text)),
            Template::Key(key) => lookup(*key),
            Template::Parts(parts) => {
                let mut out = String::new();
                for part in parts {
                    match part {
                        Part::Text(text) => out.push_str(text),
                        Part::Key(key) => out.push_str(&lookup(*key)?),
                    }
                }
                Some(Cow::Owned(out))
            }
        }
    }
}
