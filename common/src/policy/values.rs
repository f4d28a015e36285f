//! What a check can look at: the caller's policy values and the target of the request.
//!
//! A check string names these values by the keys Ironic's policy sees, so that an
//! operator's policy file written for Ironic means the same here. Each key is resolved
//! once, when the policy is loaded; a request only reads the caller and the target.

use std::borrow::Cow;

use crate::rpc::context::Caller;
use crate::schema::py_str;

/// A policy value of the caller: oslo.context's `to_policy_values()` with Ironic's
/// additions, and the `system` key oslo.policy adds for a system-scoped caller.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Key {
    UserId,
    UserDomainId,
    SystemScope,
    DomainId,
    ProjectId,
    ProjectDomainId,
    Roles,
    IsAdminProject,
    ServiceUserId,
    ServiceUserDomainId,
    ServiceProjectId,
    ServiceProjectDomainId,
    ServiceRoles,
    ProjectName,
    IsPublicApi,
    /// `config.service_project_name`: only when the service role has elevated access.
    ServiceProjectName,
    /// Only in the credentials, never in the target, and only for a system scope.
    System,
}

const KEYS: [(&str, Key); 16] = [
    ("user_id", Key::UserId),
    ("user_domain_id", Key::UserDomainId),
    ("system_scope", Key::SystemScope),
    ("domain_id", Key::DomainId),
    ("project_id", Key::ProjectId),
    ("project_domain_id", Key::ProjectDomainId),
    ("roles", Key::Roles),
    ("is_admin_project", Key::IsAdminProject),
    ("service_user_id", Key::ServiceUserId),
    ("service_user_domain_id", Key::ServiceUserDomainId),
    ("service_project_id", Key::ServiceProjectId),
    ("service_project_domain_id", Key::ServiceProjectDomainId),
    ("service_roles", Key::ServiceRoles),
    ("project_name", Key::ProjectName),
    ("is_public_api", Key::IsPublicApi),
    ("config.service_project_name", Key::ServiceProjectName),
];

impl Key {
    /// The key of a policy value, as the credentials hold it (`system` included).
    pub(super) fn named(name: &str) -> Option<Key> {
        if name == "system" {
            return Some(Key::System);
        }
        KEYS.iter().find(|(n, _)| *n == name).map(|(_, key)| *key)
    }
}

/// A key of the target, as a `%(…)s` substitution names it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum TargetKey {
    /// Ironic's target is a copy of the caller's policy values (without `system`).
    Value(Key),
    NodeOwner,
    NodeLessee,
    /// A key sanlink never puts in a target (`allocation.owner`, …): the check is false.
    Absent,
}

impl TargetKey {
    pub(super) fn named(name: &str) -> TargetKey {
        match name {
            "node.owner" => TargetKey::NodeOwner,
            "node.lessee" => TargetKey::NodeLessee,
            "system" => TargetKey::Absent,
            _ => Key::named(name).map_or(TargetKey::Absent, TargetKey::Value),
        }
    }
}

/// A value as the check sees it; Python's `str()` of it is what a check compares.
#[derive(Clone, Copy, Debug)]
pub(super) enum Value<'a> {
    None,
    Bool(bool),
    Str(&'a str),
    List(&'a [String]),
}

impl<'a> Value<'a> {
    fn of(value: &'a Option<String>) -> Value<'a> {
        value.as_deref().map_or(Value::None, Value::Str)
    }

    /// Python's `str()` of the value: `None`, `True`, `['a', 'b']`…
    pub(super) fn py_str(self) -> Cow<'a, str> {
        match self {
            Value::None => Cow::Borrowed("None"),
            Value::Bool(true) => Cow::Borrowed("True"),
            Value::Bool(false) => Cow::Borrowed("False"),
            Value::Str(s) => Cow::Borrowed(s),
            Value::List(items) => {
                let items: Vec<String> = items.iter().map(|s| py_str(s)).collect();
                Cow::Owned(format!("[{}]", items.join(", ")))
            }
        }
    }

    /// Whether `expected` is the value's `str()`, or that of one of a list's items (as
    /// oslo.policy looks into a list at the end of a credentials path).
    pub(super) fn holds(self, expected: &str) -> bool {
        match self {
            Value::List(items) => items.iter().any(|item| item == expected),
            other => other.py_str() == expected,
        }
    }
}

/// The object a request is about, as far as the policy looks at it.
///
/// Ironic's target is the caller's own policy values, plus the owner and lessee of the
/// node when the request is about one.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Target<'a> {
    node: Option<NodeTarget<'a>>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct NodeTarget<'a> {
    owner: Option<&'a str>,
    lessee: Option<&'a str>,
}

impl<'a> Target<'a> {
    /// A request about no particular object: the target holds the caller's values only.
    pub fn caller() -> Target<'static> {
        Target { node: None }
    }

    /// A request about a node (or one of its ports, volumes…), with its owner and lessee
    /// projects.
    pub fn node(owner: Option<&'a str>, lessee: Option<&'a str>) -> Target<'a> {
        Target {
            node: Some(NodeTarget { owner, lessee }),
        }
    }
}

/// The caller's policy values, with the settings that add to them.
#[derive(Clone, Copy, Debug)]
pub(super) struct Creds<'a> {
    pub caller: &'a Caller,
    /// Some only when the service role has elevated access.
    pub service_project_name: Option<&'a str>,
}

impl<'a> Creds<'a> {
    /// The value under `key`, or `None` when the credentials have no such key.
    pub(super) fn get(&self, key: Key) -> Option<Value<'a>> {
        let caller = self.caller;
        Some(match key {
            Key::UserId => Value::of(&caller.user_id),
            Key::UserDomainId => Value::of(&caller.user_domain_id),
            Key::SystemScope => Value::of(&caller.system_scope),
            Key::DomainId => Value::of(&caller.domain_id),
            Key::ProjectId => Value::of(&caller.project_id),
            Key::ProjectDomainId => Value::of(&caller.project_domain_id),
            Key::ProjectName => Value::of(&caller.project_name),
            Key::Roles => Value::List(&caller.roles),
            // Keystone's admin project is not configured: every project is one.
            Key::IsAdminProject => Value::Bool(true),
            // No service token is carried: oslo.context's values are None.
            Key::ServiceUserId
            | Key::ServiceUserDomainId
            | Key::ServiceProjectId
            | Key::ServiceProjectDomainId => Value::None,
            Key::ServiceRoles => Value::List(&[]),
            // Policy is enforced only on authenticated routes.
            Key::IsPublicApi => Value::Bool(false),
            Key::ServiceProjectName => Value::Str(self.service_project_name?),
            Key::System => Value::Str(nonempty(&caller.system_scope)?),
        })
    }

    /// The value under a target key, or `None` when the target has no such key.
    pub(super) fn target<'t>(&self, target: &Target<'t>, key: TargetKey) -> Option<Value<'t>>
    where
        'a: 't,
    {
        match key {
            TargetKey::Value(key) => self.get(key),
            TargetKey::NodeOwner => target.node.map(|n| n.owner.map_or(Value::None, Value::Str)),
            // Ironic adds the lessee to the target only when the node has one.
            TargetKey::NodeLessee => target
                .node
                .and_then(|n| n.lessee)
                .filter(|l| !l.is_empty())
                .map(Value::Str),
            TargetKey::Absent => None,
        }
    }

    /// The scope of the caller's token, as oslo.policy tells it from the credentials.
    pub(super) fn scope(&self) -> Scope {
        if nonempty(&self.caller.system_scope).is_some() {
            Scope::System
        } else if nonempty(&self.caller.domain_id).is_some() {
            Scope::Domain
        } else {
            Scope::Project
        }
    }

    /// Whether the caller has `role`, already lowercased, compared lowercased.
    pub(super) fn has_role(&self, role: &str) -> bool {
        self.caller.roles.iter().any(|r| lower_eq(r, role))
    }
}

/// A value Python would find true: present and not empty.
fn nonempty(value: &Option<String>) -> Option<&str> {
    value.as_deref().filter(|s| !s.is_empty())
}

/// `candidate.lower() == lowered`, without allocating for an ASCII candidate.
fn lower_eq(candidate: &str, lowered: &str) -> bool {
    if candidate.is_ascii() {
        candidate.len() == lowered.len()
            && candidate
                .bytes()
                .zip(lowered.bytes())
                .all(|(c, l)| c.to_ascii_lowercase() == l)
    } else {
        candidate.to_lowercase() == lowered
    }
}

/// The scope of a token, and of the rules that accept it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Scope {
    System,
    Domain,
    Project,
}

impl Scope {
    pub(super) fn named(name: &str) -> Option<Scope> {
        match name {
            "system" => Some(Scope::System),
            "domain" => Some(Scope::Domain),
            "project" => Some(Scope::Project),
            _ => None,
        }
    }

    fn bit(self) -> u8 {
        match self {
            Scope::System => 1,
            Scope::Domain => 2,
            Scope::Project => 4,
        }
    }
}

/// The scopes a rule accepts.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(super) struct Scopes(u8);

impl Scopes {
    pub(super) fn with(self, scope: Scope) -> Scopes {
        Scopes(self.0 | scope.bit())
    }

    pub(super) fn contains(self, scope: Scope) -> bool {
        self.0 & scope.bit() != 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn caller() -> Caller {
        Caller {
            project_id: Some("p1".into()),
            roles: vec!["Admin".into(), "reader".into()],
            ..Caller::default()
        }
    }

    #[test]
    fn values_read_as_python_prints_them() {
        let caller = caller();
        let creds = Creds {
            caller: &caller,
            service_project_name: None,
        };
        let get = |key| creds.get(key).map(|v| v.py_str().into_owned());
        assert_eq!(get(Key::ProjectId).as_deref(), Some("p1"));
        assert_eq!(get(Key::UserId).as_deref(), Some("None"));
        assert_eq!(get(Key::IsAdminProject).as_deref(), Some("True"));
        assert_eq!(get(Key::Roles).as_deref(), Some("['Admin', 'reader']"));
        assert_eq!(get(Key::ServiceProjectName), None);
        assert_eq!(get(Key::System), None);
        assert!(creds.get(Key::Roles).unwrap().holds("reader"));
        assert!(!creds.get(Key::Roles).unwrap().holds("admin"));
    }

    #[test]
    fn roles_compare_lowercased() {
        let mut caller = caller();
        caller.roles.push("ÉDITEUR".into());
        let creds = Creds {
            caller: &caller,
            service_project_name: None,
        };
        assert!(creds.has_role("admin"));
        assert!(creds.has_role("éditeur"));
        assert!(!creds.has_role("member"));
    }

    #[test]
    fn the_token_scope_is_system_then_domain_then_project() {
        let mut caller = caller();
        let scope = |c: &Caller| {
            Creds {
                caller: c,
                service_project_name: None,
            }
            .scope()
        };
        assert_eq!(scope(&caller), Scope::Project);
        caller.domain_id = Some("d1".into());
        assert_eq!(scope(&caller), Scope::Domain);
        caller.system_scope = Some("all".into());
        assert_eq!(scope(&caller), Scope::System);
        caller.system_scope = Some(String::new());
        assert_eq!(scope(&caller), Scope::Domain);
    }

    #[test]
    fn a_node_target_has_an_owner_and_a_lessee_only_when_set() {
        let caller = caller();
        let creds = Creds {
            caller: &caller,
            service_project_name: None,
        };
        let show = |v: Value| v.py_str().into_owned();
        let owner = |t: &Target| creds.target(t, TargetKey::NodeOwner).map(show);
        let lessee = |t: &Target| creds.target(t, TargetKey::NodeLessee).map(show);
        assert_eq!(owner(&Target::caller()), None);
        assert_eq!(owner(&Target::node(None, None)).as_deref(), Some("None"));
        assert_eq!(lessee(&Target::node(None, None)), None);
        assert_eq!(lessee(&Target::node(None, Some(""))), None);
        assert_eq!(
            lessee(&Target::node(None, Some("p2"))).as_deref(),
            Some("p2")
        );
        assert_eq!(TargetKey::named("system"), TargetKey::Absent);
        assert_eq!(TargetKey::named("allocation.owner"), TargetKey::Absent);
    }
}
