//! Ports and portgroups, as far as Nova reads them.

use axum::Router;

use crate::app::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
}
