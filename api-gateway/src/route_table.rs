//! The API's route templates, matched before routing as the router will match them
//! (the same templates, by the same matcher): the template a request is counted under
//! in the metrics and, under Keystone, the guard that checks it. Knowing both before
//! routing lets the API's middleware wrap the router once, instead of every route,
//! whose whole stack of services the router would clone for each request.

use axum::http::Method;

use crate::authorize::{GUARDS, Guard};

/// The parameters of a matched path, as the router captured them (undecoded).
pub type Params<'k, 'v> = matchit::Params<'k, 'v>;

/// One routed path template and the guards of its operations.
pub struct Route {
    pub template: String,
    guards: Vec<(&'static str, Guard)>,
}

impl Route {
    /// The guard of the operation `method` names on this path; none for a method the
    /// path does not serve or an operation that only refuses.
    pub fn guard(&self, method: &Method) -> Option<Guard> {
        // A HEAD is routed as the GET of the same path.
        let method = if method == Method::HEAD {
            "GET"
        } else {
            method.as_str()
        };
        self.guards
            .iter()
            .find(|(m, _)| *m == method)
            .map(|(_, g)| *g)
    }
}

pub struct RouteTable(matchit::Router<Route>);

impl RouteTable {
    /// Every routed template (`routed`), with the guards [`GUARDS`] gives them. A
    /// template in `GUARDS` that is not in `routed` is routed too (the vendor methods
    /// the OpenAPI document leaves out).
    pub fn new<'a>(routed: impl IntoIterator<Item = &'a str>) -> Result<RouteTable, String> {
        let mut by_path: std::collections::BTreeMap<String, Vec<(&'static str, Guard)>> = routed
            .into_iter()
            .map(|p| (p.to_string(), Vec::new()))
            .collect();
        for (method, path, guard) in GUARDS {
            by_path
                .entry(path.to_string())
                .or_default()
                .push((method, *guard));
        }
        let mut router = matchit::Router::new();
        for (template, guards) in by_path {
            let route = Route {
                template: template.clone(),
                guards,
            };
            router
                .insert(template.as_str(), route)
                .map_err(|e| format!("route {template}: {e}"))?;
        }
        Ok(RouteTable(router))
    }

    /// The route that takes `path`, and the path's parameters.
    pub fn find<'p>(&self, path: &'p str) -> Option<(&Route, Params<'_, 'p>)> {
        let matched = self.0.at(path).ok()?;
        Some((matched.value, matched.params))
    }
}
