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

pub use pool::{AnyConnection, Backend, Db, write_transaction};

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

/// The non-null type of a sortable column's values: a nullable column's marker value is
/// read as `Option<Inner>`, like any other column's.
pub trait SortValue {
    type Inner;
}

impl<T> SortValue for Option<T> {
    type Inner = T;
}

macro_rules! plain_sort_values {
    ($($ty:ty),+) => { $(impl SortValue for $ty { type Inner = $ty; })+ };
}
plain_sort_values!(i32, i64, bool, String, chrono::NaiveDateTime);

/// Builds a boxed query ordered by a named column with `id` as tie-breaker, starting
/// after the marker row. `$sortable` lists the columns a client may sort on.
///
/// NULLs sort first ascending and last descending on every backend (each database has
/// its own default), and the marker condition treats them explicitly: `col > NULL` is
/// never true, so a plain comparison would end a walk at the first NULL.
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
                let col = $table::$col.nullable();
                if let Some(marker) = page.marker {
                    let value: Option<<$ty as $crate::db::SortValue>::Inner> = $table::table
                        .find(marker)
                        .select(col)
                        .first($conn)?;
                    query = match (value, page.descending) {
                        (Some(v), false) => query.filter(
                            col.gt(v.clone()).or(col.eq(v).and($table::id.gt(marker))),
                        ),
                        (None, false) => query.filter(
                            col.is_null().and($table::id.gt(marker)).or(col.is_not_null()),
                        ),
                        (Some(v), true) => query.filter(
                            col.lt(v.clone())
                                .or(col.eq(v).and($table::id.lt(marker)))
                                .or(col.is_null()),
                        ),
                        (None, true) => {
                            query.filter(col.is_null().and($table::id.lt(marker)))
                        }
                    };
                }
                query = if page.descending {
                    query.order((col.is_not_null().desc(), col.desc(), $table::id.desc()))
                } else {
                    query.order((col.is_not_null().asc(), col.asc(), $table::id.asc()))
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
