//! Database access: one module of plain functions per table. Each function takes the
//! caller's connection, so the caller decides the transaction.

pub mod chassis;
pub mod checkpoint;
pub mod conductors;
mod liveness;
pub mod nodes;
pub mod pool;
pub mod portgroups;
pub mod ports;
pub mod reservation;
pub mod rpc_requests;
pub mod schema;
pub mod sqlite_writer;
pub mod timestamp;
pub mod update;
pub mod volume_connectors;
pub mod volume_targets;
mod workers;

pub use pool::{AnyConnection, Backend, Db, write_transaction};

/// The queries of a table whose rows belong to a node: `$row` read with the node's UUID
/// converts (`TryFrom<($row, String)>`) into `$item`, a [`crate::child::NodeChild`],
/// which they store ([`crate::child::Stored`]). `$column`s are the columns an insert
/// writes from `$row` (every field but `id` and `node_id`, which the database gives).
/// The module words a broken uniqueness constraint with its `duplicate(&$item)`.
#[macro_export]
macro_rules! child_queries {
    ($table:ident, $row:ident, $item:ty, [$($column:ident),+ $(,)?]) => {
        impl $crate::child::Stored for $item {
            fn get(conn: &mut AnyConnection, uuid: &str) -> Result<Self, Error> {
                get_by_uuid(conn, uuid)
            }

            fn id_of(conn: &mut AnyConnection, uuid: &str) -> Result<i64, Error> {
                id_of(conn, uuid)
            }

            fn get_holding_node(
                conn: &mut AnyConnection,
                uuid: &str,
            ) -> Result<(Self, $crate::model::node::Node), Error> {
                use $crate::db::schema::chassis;
                let found = $crate::db::reservation::read_holding_node!(
                    conn,
                    $table::table
                        .inner_join(nodes::table.left_join(chassis::table))
                        .filter($table::uuid.eq(uuid))
                        .select((
                            $row::as_select(),
                            $crate::db::nodes::NodeRow::as_select(),
                            chassis::uuid.nullable(),
                        ))
                );
                let (row, node, chassis_uuid) = found?.ok_or_else(|| not_found(uuid))?;
                let node = $crate::db::nodes::joined((node, chassis_uuid))?;
                Ok((Self::try_from((row, node.uuid.clone()))?, node))
            }

            fn insert(
                conn: &mut AnyConnection,
                item: &Self,
                request: Option<$crate::db::rpc_requests::InStatement<'_>>,
            ) -> Result<Self, Error> {
                insert_row(conn, item, request, || duplicate(item))
            }

            fn save(
                conn: &mut AnyConnection,
                item: &Self,
                expect: $crate::child::Expect,
            ) -> Result<Option<Self>, Error> {
                update_row(conn, item, expect, || duplicate(item))
            }

            fn delete(
                conn: &mut AnyConnection,
                item: &Self,
                expect: $crate::child::Expect,
            ) -> Result<bool, Error> {
                delete_row(conn, item, expect)
            }
        }

        /// Inserts a row and returns it as stored.
        pub fn create(conn: &mut AnyConnection, item: &$item) -> Result<$item, Error> {
            insert_row(conn, item, None, || duplicate(item))
        }

        /// Writes every mutable field of an existing row, whatever it holds now.
        pub fn update(conn: &mut AnyConnection, item: &$item) -> Result<$item, Error> {
            use $crate::child::Expect;
            update_row(conn, item, Expect::Current, || duplicate(item))?
                .ok_or_else(|| not_found(&item.uuid))
        }

        pub fn not_found(uuid: &str) -> Error {
            <$item as $crate::child::NodeChild>::not_found(uuid)
        }

        pub fn get_by_uuid(conn: &mut AnyConnection, uuid: &str) -> Result<$item, Error> {
            $crate::db::pool::natively!(conn, |c| $table::table
                .inner_join(nodes::table)
                .filter($table::uuid.eq(uuid))
                .select(($row::as_select(), nodes::uuid))
                .first::<($row, String)>(c)
                .optional())?
            .ok_or_else(|| not_found(uuid))?
            .try_into()
        }

        /// Internal id of a row, for use as a list marker.
        pub fn id_of(conn: &mut AnyConnection, uuid: &str) -> Result<i64, Error> {
            $crate::db::pool::natively!(conn, |c| $table::table
                .filter($table::uuid.eq(uuid))
                .select($table::id)
                .first(c)
                .optional())?
            .ok_or_else(|| not_found(uuid))
        }

        /// All rows of a node, in creation order.
        pub fn list_for_node(conn: &mut AnyConnection, node_id: i64) -> Result<Vec<$item>, Error> {
            $table::table
                .inner_join(nodes::table)
                .filter($table::node_id.eq(node_id))
                .order($table::id.asc())
                .select(($row::as_select(), nodes::uuid))
                .load::<($row, String)>(conn)?
                .into_iter()
                .map(<$item>::try_from)
                .collect()
        }

        pub fn delete(conn: &mut AnyConnection, uuid: &str) -> Result<(), Error> {
            let n = diesel::delete($table::table.filter($table::uuid.eq(uuid))).execute(conn)?;
            if n == 0 { Err(not_found(uuid)) } else { Ok(()) }
        }

        /// Deletes `item`'s row as `expect` allows; whether there was one to delete.
        fn delete_row(
            conn: &mut AnyConnection,
            item: &$item,
            expect: $crate::child::Expect,
        ) -> Result<bool, Error> {
            use $crate::child::Expect;
            let uuid = $table::uuid.eq(&item.uuid);
            let deleted = $crate::db::pool::natively!(conn, |c| match (expect, item.updated_at) {
                (Expect::Current, _) => diesel::delete($table::table.filter(uuid)).execute(c),
                (Expect::AsRead, Some(at)) => {
                    diesel::delete($table::table.filter(uuid.and($table::updated_at.eq(at))))
                        .execute(c)
                }
                (Expect::AsRead, None) => {
                    diesel::delete($table::table.filter(uuid.and($table::updated_at.is_null())))
                        .execute(c)
                }
            });
            Ok(deleted? > 0)
        }

        /// Inserts a row on the node `item.node_uuid` names, and returns it as stored;
        /// the node's id is looked up by the insert itself (`INSERT ... SELECT` from
        /// `nodes`; MySQL looks it up first, see below), so creating a node's resource
        /// is one statement. No such node is the node's [`Error::NotFound`].
        /// `duplicate` words a broken uniqueness constraint other than the UUID's. Both
        /// are checked by the constraints, not by queries: a failed statement aborts a
        /// PostgreSQL transaction.
        ///
        /// The row as stored is the row written with the ids the database gave it, read
        /// as a read would (`RETURNING`); MySQL has no `RETURNING`, so there it is read
        /// back. The statement is built for each backend's own connection, as diesel's
        /// common backend renders no `RETURNING`.
        ///
        /// `request`, which only a PostgreSQL connection gives, is recorded as applied
        /// by the same statement.
        fn insert_row(
            conn: &mut AnyConnection,
            item: &$item,
            request: Option<$crate::db::rpc_requests::InStatement<'_>>,
            duplicate: impl FnOnce() -> Error,
        ) -> Result<$item, Error> {
            use diesel::dsl::SqlTypeOf;
            use diesel::result::Error::NotFound;
            let no_node = || $crate::db::nodes::not_found(&item.node_uuid);
            // Nodes are found by their canonical UUID only, as `nodes::id_of` finds them
            // (a case-insensitive collation would match another spelling).
            if $crate::model::canonical_uuid(&item.node_uuid).as_deref() != Some(&item.node_uuid) {
                return Err(no_node());
            }
            let mut row = $row::from(item);
            let node = || nodes::table.filter(nodes::uuid.eq(&item.node_uuid));
            macro_rules! insert {
                () => {
                    diesel::insert_into($table::table)
                        .values(
                            node().select((
                                nodes::id,
                                $((&row.$column).into_sql::<SqlTypeOf<$table::$column>>(),)+
                            )),
                        )
                        .into_columns(($table::node_id, $($table::$column,)+))
                };
            }
            // The new row's id and node id; none from MySQL, which has no `RETURNING`.
            // No node is `NotFound`.
            let ids: diesel::QueryResult<Option<(i64, i64)>> = match conn {
                #[cfg(feature = "postgres")]
                AnyConnection::Postgresql(pg) => {
                    let insert = insert!().returning(($table::id, $table::node_id));
                    match request {
                        Some(request) => $crate::db::rpc_requests::WithRecord::new(insert, request)
                            .get_result(pg),
                        None => insert.get_result(pg),
                    }
                    .map(Some)
                }
                // Only PostgreSQL records a request in the statement
                // (`rpc_requests::in_statement`).
                _ if request.is_some() => Err(diesel::result::Error::QueryBuilderError(
                    "only PostgreSQL records a request in its insert".into(),
                )),
                // InnoDB's `INSERT ... SELECT` locks the node's row before the new row's
                // place in the index, the opposite order to a node's deletion, and the
                // two deadlock: MySQL looks the node up first.
                #[cfg(feature = "mysql")]
                AnyConnection::Mysql(mysql) => node()
                    .select(nodes::id)
                    .first::<i64>(mysql)
                    .and_then(|node_id| {
                        row.node_id = node_id;
                        diesel::insert_into($table::table).values(&row).execute(mysql)
                    })
                    .map(|_| None),
                AnyConnection::Sqlite(sqlite) => insert!()
                    .returning(($table::id, $table::node_id))
                    .get_result(sqlite)
                    .map(Some),
            };
            match ids {
                Ok(Some((id, node_id))) => {
                    (row.id, row.node_id) = (id, node_id);
                    <$item>::try_from((row, item.node_uuid.clone()))
                }
                Ok(None) => get_by_uuid(conn, &item.uuid),
                Err(NotFound) => Err(no_node()),
                Err(e) if $crate::error::is_uuid_violation(&e, stringify!($table)) => {
                    Err(Error::conflict(format!(
                        "A {} with UUID {} already exists.",
                        <$item as $crate::child::NodeChild>::kind(),
                        item.uuid
                    )))
                }
                Err(e) if is_unique_violation(&e) => Err(duplicate()),
                // The node was deleted while the statement ran (on MySQL, after the
                // lookup): the row would be an orphan.
                Err(e) if is_foreign_key_violation(&e) => Err(no_node()),
                Err(e) => Err(e.into()),
            }
        }

        /// Writes every field of an existing row, and the time of the change, as
        /// `expect` allows; returns the row as stored, which is `item` with that time
        /// (timestamps are kept to the microsecond, as the databases keep them), or
        /// `None` when no row was written.
        fn update_row(
            conn: &mut AnyConnection,
            item: &$item,
            expect: $crate::child::Expect,
            duplicate: impl FnOnce() -> Error,
        ) -> Result<Option<$item>, Error> {
            use $crate::child::Expect;
            use $crate::db::update::update_where;
            let mut stored = item.clone();
            stored.updated_at = Some($crate::model::now());
            let row = $row::from(&stored);
            let uuid = $table::uuid.eq(&item.uuid);
            let updated = $crate::db::pool::natively!(conn, |c| match (expect, item.updated_at) {
                (Expect::Current, _) => update_where($table::table, uuid, &row).execute(c),
                (Expect::AsRead, Some(at)) => {
                    update_where($table::table, uuid.and($table::updated_at.eq(at)), &row)
                        .execute(c)
                }
                (Expect::AsRead, None) => {
                    update_where($table::table, uuid.and($table::updated_at.is_null()), &row)
                        .execute(c)
                }
            });
            match updated {
                Ok(0) => Ok(None),
                Ok(_) => Ok(Some(stored)),
                Err(e) if is_unique_violation(&e) => Err(duplicate()),
                Err(e) => Err(e.into()),
            }
        }
    };
}

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

/// Whether a column's SQL type admits NULL, as the schema declares it: a list orders a
/// nullable column's NULLs explicitly, and only such a column's.
pub trait Nullability {
    const NULLABLE: bool;
}

impl Nullability for diesel::sql_types::is_nullable::IsNullable {
    const NULLABLE: bool = true;
}

impl Nullability for diesel::sql_types::is_nullable::NotNull {
    const NULLABLE: bool = false;
}

/// Whether column `C` may hold NULL.
pub const fn nullable<C>() -> bool
where
    C: diesel::Expression,
    C::SqlType: diesel::sql_types::SqlType,
    <C::SqlType as diesel::sql_types::SqlType>::IsNull: Nullability,
{
    <<C::SqlType as diesel::sql_types::SqlType>::IsNull as Nullability>::NULLABLE
}

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
                // The NULLs term only on a nullable column: on any other it changes
                // nothing, yet hides the column's index from the planner, which then
                // sorts every row (SQLite in a temporary B-tree).
                let nullable = $crate::db::nullable::<$table::$col>();
                query = match (page.descending, nullable) {
                    (true, true) => query
                        .order((col.is_not_null().desc(), col.desc(), $table::id.desc())),
                    (true, false) => query.order((col.desc(), $table::id.desc())),
                    (false, true) => query
                        .order((col.is_not_null().asc(), col.asc(), $table::id.asc())),
                    (false, false) => query.order((col.asc(), $table::id.asc())),
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
