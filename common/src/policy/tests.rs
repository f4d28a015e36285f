//! Ironic's personas against its default rules, and operators' policy files.
//!
//! The expected decisions are those of Ironic 39.0.0 with oslo.policy 6.0.1, for the
//! same callers and targets.

use super::*;

const TENANT: &str = "p-tenant";

fn policy(elevated: bool) -> Policy {
    let loaded = Policy::load(None, elevated, "service").expect("the defaults load");
    assert_eq!(loaded.warnings, []);
    loaded.policy
}

fn overrides(yaml: &str) -> Loaded {
    Policy::from_yaml(yaml, false, "service").unwrap_or_else(|e| panic!("{e}"))
}

fn problems(yaml: &str) -> Vec<Problem> {
    Policy::from_yaml(yaml, false, "service")
        .map(|_| ())
        .expect_err("the policy is refused")
        .problems
}

fn caller(roles: &[&str]) -> Caller {
    Caller {
        user_id: Some("u-1".into()),
        roles: roles.iter().map(|r| r.to_string()).collect(),
        user_domain_id: Some("default".into()),
        ..Caller::default()
    }
}

fn system(roles: &[&str]) -> Caller {
    Caller {
        system_scope: Some("all".into()),
        ..caller(roles)
    }
}

fn project(id: &str, name: &str, roles: &[&str]) -> Caller {
    Caller {
        project_id: Some(id.into()),
        project_name: Some(name.into()),
        project_domain_id: Some("default".into()),
        ..caller(roles)
    }
}

fn tenant(roles: &[&str]) -> Caller {
    project(TENANT, "tenant", roles)
}

const RULES: [Rule; 10] = [
    Rule::VOLUME_GET,
    Rule::VOLUME_LIST,
    Rule::VOLUME_LIST_ALL,
    Rule::VOLUME_CREATE,
    Rule::VOLUME_VIEW_TARGET_PROPERTIES,
    Rule::NODE_GET,
    Rule::NODE_CREATE,
    Rule::NODE_SET_PROVISION_STATE,
    Rule::CHASSIS_GET,
    Rule::DRIVER_GET,
];

/// The decisions of `RULES`, in order, two letters each: with a node owned by no
/// project, then with one owned by the tenant. A: allowed, R: refused, S: invalid scope.
fn assert_decisions(policy: &Policy, persona: &str, caller: &Caller, expected: &str) {
    let letter = |d| match d {
        Decision::Allowed => 'A',
        Decision::Refused => 'R',
        Decision::InvalidScope => 'S',
    };
    let actual: Vec<String> = RULES
        .iter()
        .map(|&rule| {
            let unowned = policy.enforce(rule, caller, &Target::node(None, None));
            let owned = policy.enforce(rule, caller, &Target::node(Some(TENANT), None));
            [letter(unowned), letter(owned)].iter().collect()
        })
        .collect();
    assert_eq!(actual.join(" "), expected, "{persona}");
}

/// The personas whose decisions do not depend on the service role's elevated access.
fn personas() -> Vec<(&'static str, Caller, &'static str)> {
    vec![
        (
            "system admin",
            system(&["admin", "member", "reader"]),
            "AA AA AA AA AA AA AA AA AA AA",
        ),
        (
            "system member",
            system(&["member", "reader"]),
            "AA AA AA AA AA AA RR AA AA AA",
        ),
        (
            "system reader",
            system(&["reader"]),
            "AA AA AA RR AA AA RR RR AA AA",
        ),
        (
            "project admin",
            tenant(&["admin", "member", "reader"]),
            "RA AA RR RA AA RA RR RA SS SS",
        ),
        (
            "project member",
            tenant(&["member", "reader"]),
            "RA AA RR RR RR RA RR RA SS SS",
        ),
        (
            "project reader",
            tenant(&["reader"]),
            "RA AA RR RR RR RA RR RR SS SS",
        ),
        ("no role", tenant(&[]), "RR RR RR RR RR RR RR RR SS SS"),
    ]
}

#[test]
fn personas_get_ironics_decisions() {
    for elevated in [false, true] {
        let policy = policy(elevated);
        for (persona, caller, expected) in personas() {
            assert_decisions(&policy, persona, &caller, expected);
        }
    }
}

#[test]
fn the_service_role_acts_as_a_system_member_only_with_elevated_access() {
    let service = project("p-service", "service", &["service"]);
    let expected = "RR AA RR RR RR RR RR RR SS SS";
    assert_decisions(&policy(false), "service", &service, expected);
    let expected = "AA AA AA AA AA AA RR AA SS SS";
    assert_decisions(&policy(true), "service, elevated", &service, expected);
    // Only in the project configured as the service project.
    let other = project("p-other", "other", &["service"]);
    let expected = "RR AA RR RR RR RR RR RR SS SS";
    assert_decisions(&policy(true), "service elsewhere", &other, expected);
}

#[test]
fn roles_compare_case_insensitively() {
    let policy = policy(false);
    let caller = system(&["Reader"]);
    assert_eq!(
        policy.enforce(Rule::NODE_GET, &caller, &Target::caller()),
        Decision::Allowed
    );
}

#[test]
fn a_domain_token_has_the_wrong_scope() {
    let policy = policy(false);
    let caller = Caller {
        domain_id: Some("default".into()),
        ..caller(&["admin"])
    };
    let node = Target::node(None, None);
    assert_eq!(
        policy.enforce(Rule::NODE_GET, &caller, &node),
        Decision::InvalidScope
    );
}

#[test]
fn a_lessee_reads_its_leased_node() {
    let policy = policy(false);
    let node = Target::node(Some("p-owner"), Some(TENANT));
    let decide = |rule| policy.enforce(rule, &tenant(&["reader"]), &node);
    assert_eq!(decide(Rule::NODE_GET), Decision::Allowed);
    assert_eq!(decide(Rule::NODE_SET_PROVISION_STATE), Decision::Refused);
}

#[test]
fn every_named_rule_is_one_of_ironics() {
    let policy = policy(false);
    for rule in Rule::ALL {
        assert!(policy.index.contains_key(rule.name()), "{rule}");
    }
}

#[test]
#[cfg(debug_assertions)]
#[should_panic(expected = "the policy has no rule nope")]
fn asking_for_a_rule_the_policy_lacks_is_a_bug() {
    let _ = policy(false).enforce(Rule("nope"), &tenant(&[]), &Target::caller());
}

#[test]
fn none_compares_as_the_text_none() {
    // oslo.policy formats a missing owner as 'None', and a caller without a project has
    // project_id None: they match. Every project-scoped caller has a project.
    let loaded = overrides("baremetal:node:get: 'project_id:%(node.owner)s'");
    let node = Target::node(None, None);
    let decide = |caller: &Caller| loaded.policy.enforce(Rule::NODE_GET, caller, &node);
    assert_eq!(decide(&tenant(&["admin"])), Decision::Refused);
    assert_eq!(decide(&caller(&[])), Decision::Allowed);
    // A target without a node has no owner at all: the check is false.
    let decide = loaded
        .policy
        .enforce(Rule::NODE_GET, &caller(&[]), &Target::caller());
    assert_eq!(decide, Decision::Refused);
}

#[test]
fn values_compare_as_python_prints_them() {
    let yaml = r#"
        baremetal:node:get: is_admin_project:True and 'Reader':%(roles)s or rule:lowercase
        lowercase: is_admin_project:true
    "#;
    let policy = overrides(yaml).policy;
    let decide = |caller: &Caller| policy.enforce(Rule::NODE_GET, caller, &Target::caller());
    // `%(roles)s` formats the list: `['Reader']`, not `Reader`.
    assert_eq!(decide(&system(&["Reader"])), Decision::Refused);
    let policy = overrides(r#"baremetal:node:get: '"[''Reader'']":%(roles)s'"#).policy;
    let decide = policy.enforce(Rule::NODE_GET, &system(&["Reader"]), &Target::caller());
    assert_eq!(decide, Decision::Allowed);
}

#[test]
fn an_override_replaces_a_rule_and_keeps_its_scope() {
    let yaml = r#"
        # Readers of a project may list every node's chassis.
        "baremetal:chassis:get": "rule:readers"
        "readers": "role:reader"
        "baremetal:node:get": "(role:admin and system_scope:all) or rule:readers"
    "#;
    let loaded = overrides(yaml);
    assert_eq!(loaded.warnings, []);
    let policy = &loaded.policy;
    let reader = tenant(&["reader"]);
    let decide = |rule, caller: &Caller| policy.enforce(rule, caller, &Target::caller());
    assert_eq!(decide(Rule::NODE_GET, &reader), Decision::Allowed);
    assert_eq!(decide(Rule::NODE_GET, &tenant(&[])), Decision::Refused);
    assert_eq!(decide(Rule::CHASSIS_GET, &reader), Decision::InvalidScope);
    assert_eq!(
        decide(Rule::CHASSIS_GET, &system(&["reader"])),
        Decision::Allowed
    );
    // Rules not in the file keep their defaults.
    assert_eq!(decide(Rule::DRIVER_GET, &reader), Decision::InvalidScope);
    assert_eq!(
        decide(Rule::NODE_CREATE, &system(&["admin"])),
        Decision::Allowed
    );
}

#[test]
fn json_is_a_policy_file_too() {
    let loaded = overrides(r#"{"baremetal:node:create": "role:admin", "service_role": "!"}"#);
    assert_eq!(loaded.warnings, []);
    let decide = loaded
        .policy
        .enforce(Rule::NODE_CREATE, &tenant(&["admin"]), &Target::caller());
    assert_eq!(decide, Decision::Allowed);
}

#[test]
fn an_empty_file_changes_nothing() {
    for yaml in ["", "\n", "# nothing yet\n", "---\n", "{}"] {
        assert_eq!(overrides(yaml).warnings, [], "{yaml:?}");
    }
}

#[test]
fn doubtful_rules_load_with_warnings() {
    let yaml = r#"
        unused: role:admin
        used: role:admin
        baremetal:node:get: rule:used or Role:admin
        show_password: '!'
    "#;
    let warnings = overrides(yaml).warnings;
    assert_eq!(
        warnings,
        [
            Warning::SameAsDefault("show_password".into()),
            Warning::NoSuchValue {
                rule: "baremetal:node:get".into(),
                column: 14,
                path: "Role".into(),
            },
            Warning::Unreferenced("unused".into()),
        ]
    );
    assert_eq!(
        warnings[1].to_string(),
        "rule baremetal:node:get: column 14: the credentials hold no `Role`: this check is always false"
    );
}

#[test]
fn every_problem_is_reported_at_once() {
    let yaml = r#"
        baremetal:node:get: role:reader and (system_scope:all
        baremetal:node:create: rule:no_such_rule or role:admin
        baremetal:node:delete: ~
        baremetal:node:update: [role:admin]
        baremetal:port:get: http://policy.example.com/check
        7: role:admin
        baremetal:port:create: role:admin and   project_id:%(node.owner)d
    "#;
    let problems = problems(yaml);
    let shown: Vec<String> = problems.iter().map(Problem::to_string).collect();
    assert_eq!(
        shown,
        [
            "rule baremetal:node:delete: the check must be a string, not null (which oslo.policy would read as `@`, always allowed)",
            "rule baremetal:node:update: the check must be a string, not a list",
            "a rule name must be a string, not the number 7",
            "rule baremetal:node:get: column 17: this parenthesis is never closed",
            "rule baremetal:port:get: column 1: `http://policy.example.com/check`: remote (http:) checks are not supported",
            "rule baremetal:port:create: column 18: `%(node.owner)d`: only %(key)s substitutions and %% are supported after `%`",
            "rule baremetal:node:create: column 1: rule:no_such_rule is no rule",
        ]
    );
}

#[test]
fn a_cycle_between_rules_is_refused() {
    let yaml = r#"
        a: rule:b or role:admin
        b: role:reader and rule:c
        c: rule:a
        baremetal:node:get: rule:a
        selfish: not rule:selfish
    "#;
    assert_eq!(
        problems(yaml),
        [
            Problem::Cycle(vec!["a".into(), "b".into(), "c".into(), "a".into()]),
            Problem::Cycle(vec!["selfish".into(), "selfish".into()]),
        ]
    );
}

#[test]
fn yaml_that_is_no_mapping_is_refused() {
    assert_eq!(
        problems("- role:admin"),
        [Problem::NotAMapping("a list".into())]
    );
    assert!(matches!(problems("a: [").as_slice(), [Problem::Yaml(_)]));
    assert!(matches!(
        problems("a: x\na: y").as_slice(),
        [Problem::Yaml(_)]
    ));
}

#[test]
fn an_unreadable_file_says_which() {
    let e = Policy::load(
        Some(Path::new("/nonexistent/policy.yaml")),
        false,
        "service",
    )
    .map(|_| ())
    .expect_err("no such file");
    assert_eq!(e.origin, "/nonexistent/policy.yaml");
    assert!(matches!(e.problems.as_slice(), [Problem::Unreadable(_)]));
}
