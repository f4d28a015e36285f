//! Database access: one module of plain functions per table. Each function takes the
//! caller's connection, so the caller decides the transaction.

pub mod conductors;
pub mod nodes;
pub mod pool;
pub mod ports;
pub mod reservation;
pub mod rpc_requests;
pub mod schema;
pub mod volume_connectors;
pub mod volume_targets;

pub use pool::{AnyConnection, Backend, Db};

/// How a list is ordered and where its page starts.
#[derive(Clone, Debug)]
pub struct Page {
    /// A column name, already checked against the table's sortable columns.
    pub sort_key: String,
    pub descending: bool,
    pub limit: i64,
    /// Internal id of the last row of the previous page.
    pub marker: Option<i64>,
}

/// Builds a boxed query ordered by a named column with `id` as tie-breaker, starting
/// after the marker row. `$sortable` lists the columns a client may sort on.
#[macro_export]
macro_rules! paginate {
    ($conn:expr, $table:ident, $query:expr, $page:expr, [$($col:ident: $ty:ty),+ $(,)?]) => {{
        use diesel::prelude::*;
        use $crate::db::schema::$table;
        let page: &$crate::db::Page = $page;
        let mut query = $query;
        let mut matched = false;
        $(
            if page.sort_key == stringify!($col) {
                matched = true;
                if let Some(marker) = page.marker {
                    let value: $ty = $table::table
                        .find(marker)
                        .select($table::$col)
                        .first($conn)?;
                    query = if page.descending {
                        query.filter(
                            $table::$col.lt(value.clone())
                                .or($table::$col.eq(value).and($table::id.lt(marker))),
                        )
                    } else {
                        query.filter(
                            $table::$col.gt(value.clone())
                                .or($table::$col.eq(value).and($table::id.gt(marker))),
                        )
                    };
                }
                query = if page.descending {
                    query.order(($table::$col.desc(), $table::id.desc()))
                } else {
                    query.order(($table::$col.asc(), $table::id.asc()))
                };
            }
        )+
        if !matched {
            return Err($crate::error::Error::invalid(format!(
                "The sort_key value \"{}\" is an invalid field for sorting", page.sort_key
            )));
        }
        query.limit(page.limit)
    }};
}
