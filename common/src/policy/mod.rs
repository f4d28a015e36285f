//! Who may do what: Ironic's default policy (its secure RBAC personas), enforced as
//! Ironic enforces it through oslo.policy.
//!
//! Clients, deployment tools and operators already know Ironic's rules, its personas
//! and the policy files that tune them; sanlink answers the same requests the same way
//! so that none of that changes. The defaults are Ironic's own, generated from an Ironic
//! release rather than transcribed, and an operator's `policy.yaml` for Ironic works here
//! unchanged: same rule names, same check-string language, same meaning of each value.
//!
//! sanlink enforces only the new defaults and always checks scope, as Ironic does with
//! `enforce_new_defaults` and `enforce_scope`: the pre-RBAC rules they replaced are not
//! loaded. Remote (`http:`) checks are not supported.
//!
//! The policy is parsed once, at start-up, and every problem in it is fatal then; a
//! request only walks the parsed rules, on every call.

mod check;
mod load;
mod parse;
mod rules;
mod values;

#[cfg(test)]
mod tests;

use std::collections::HashMap;
use std::fmt;
use std::path::Path;

use crate::rpc::context::Caller;

use check::{Check, Env};
use values::{Creds, Scopes};

pub use load::{Problem, Warning};
pub use rules::Rule;
pub use values::Target;

/// What the policy says to a request.
#[must_use]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Decision {
    Allowed,
    /// The rule refuses the caller (Ironic answers 403).
    Refused,
    /// The caller's token has a scope (system, domain or project) the rule does not
    /// accept: oslo.policy's `InvalidScope`. Ironic lets it escape its handlers, which
    /// answer 500 (its own RBAC tests expect that), except where a list falls back to
    /// the rule for the caller's own project.
    InvalidScope,
}

impl Decision {
    pub fn is_allowed(self) -> bool {
        self == Decision::Allowed
    }
}

/// The rules in force.
#[derive(Debug)]
pub struct Policy {
    index: HashMap<String, usize>,
    checks: Vec<Check>,
    scopes: Vec<Option<Scopes>>,
    /// Ironic's `config.service_project_name`: set only with elevated service access.
    service_project_name: Option<String>,
}

/// A loaded policy, and what in the policy file looks like a mistake.
#[derive(Debug)]
pub struct Loaded {
    pub policy: Policy,
    pub warnings: Vec<Warning>,
}

/// Why a policy did not load: every problem found.
#[derive(Debug, thiserror::Error)]
pub struct LoadError {
    /// The policy file, or `policy` for the defaults and text given directly.
    pub origin: String,
    pub problems: Vec<Problem>,
}

impl fmt::Display for LoadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: ", self.origin)?;
        for (i, problem) in self.problems.iter().enumerate() {
            let separator = if i == 0 { "" } else { "; " };
            write!(f, "{separator}{problem}")?;
        }
        Ok(())
    }
}

impl Policy {
    /// Ironic's defaults, with the rules of the operator's policy `file` (YAML or JSON)
    /// over them. With `elevated_service_access`, a `service` role in the project named
    /// `service_project_name` acts as a system member (Ironic's
    /// `rbac_service_role_elevated_access` and `rbac_service_project_name`).
    pub fn load(
        file: Option<&Path>,
        elevated_service_access: bool,
        service_project_name: &str,
    ) -> Result<Loaded, LoadError> {
        let Some(file) = file else {
            return Policy::build(
                None,
                "policy",
                elevated_service_access,
                service_project_name,
            );
        };
        let origin = file.display().to_string();
        let text = std::fs::read_to_string(file).map_err(|e| LoadError {
            origin: origin.clone(),
            problems: vec![Problem::Unreadable(e.to_string())],
        })?;
        Policy::build(
            Some(&text),
            &origin,
            elevated_service_access,
            service_project_name,
        )
    }

    /// As [`Policy::load`], with the policy file's text.
    pub fn from_yaml(
        overrides: &str,
        elevated_service_access: bool,
        service_project_name: &str,
    ) -> Result<Loaded, LoadError> {
        let (elevated, name) = (elevated_service_access, service_project_name);
        Policy::build(Some(overrides), "policy", elevated, name)
    }

    fn build(
        overrides: Option<&str>,
        origin: &str,
        elevated_service_access: bool,
        service_project_name: &str,
    ) -> Result<Loaded, LoadError> {
        let (table, warnings) = load::build(overrides).map_err(|problems| LoadError {
            origin: origin.to_string(),
            problems,
        })?;
        let index = (table.names.into_iter().enumerate())
            .map(|(i, name)| (name, i))
            .collect();
        let policy = Policy {
            index,
            checks: table.checks,
            scopes: table.scopes,
            service_project_name: elevated_service_access.then(|| service_project_name.into()),
        };
        Ok(Loaded { policy, warnings })
    }

    /// Whether `caller` may do what `rule` governs on `target`.
    pub fn enforce(&self, rule: Rule, caller: &Caller, target: &Target) -> Decision {
        let Some(&index) = self.index.get(rule.name()) else {
            tracing::error!(%rule, "the policy has no such rule: the request is refused");
            debug_assert!(false, "the policy has no rule {rule}");
            return Decision::Refused;
        };
        let creds = Creds {
            caller,
            service_project_name: self.service_project_name.as_deref(),
        };
        if let Some(scopes) = self.scopes[index]
            && !scopes.contains(creds.scope())
        {
            return Decision::InvalidScope;
        }
        let env = Env {
            rules: &self.checks,
            creds,
            target,
        };
        match self.checks[index].eval(&env) {
            true => Decision::Allowed,
            false => Decision::Refused,
        }
    }
}
