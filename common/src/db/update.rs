//! UPDATE statements that each connection prepares once.
//!
//! diesel marks every UPDATE it builds as unsafe to keep in a connection's statement
//! cache, so the database parses and plans it again on every execution: a row's update,
//! and a node lock's claim and release by work outside a transaction. [`update_where`]
//! builds the same statement without that mark, and diesel keeps it prepared, keyed by
//! its SQL text and the types of its values, as it does any SQL it cannot identify by
//! type.
//!
//! Keyed by its text, a cached statement is always the right one. The cache stays
//! small because the texts are few: a row's changeset writes every column
//! (`treat_none_as_null`), and a part whose text grows with its values (`IN` over a
//! list) still marks itself unsafe to cache.

use diesel::backend::Backend;
use diesel::expression::{AppearsOnTable, Expression};
use diesel::query_builder::{AsChangeset, AstPass, QueryFragment, QueryId};
use diesel::query_source::{QuerySource, Table};
use diesel::result::QueryResult;
use diesel::sql_types::BoolOrNullableBool;

/// `UPDATE table SET values WHERE filter`.
pub struct Update<T: QuerySource, W, V> {
    from: T::FromClause,
    filter: W,
    values: V,
}

/// `UPDATE table SET values WHERE filter`, executed with diesel's `execute`.
pub fn update_where<T, W, V>(table: T, filter: W, values: V) -> Update<T, W, V::Changeset>
where
    T: Table,
    W: Expression + AppearsOnTable<T>,
    W::SqlType: BoolOrNullableBool,
    V: AsChangeset<Target = T>,
{
    Update {
        from: table.from_clause(),
        filter,
        values: values.as_changeset(),
    }
}

impl<T, W, V, DB> QueryFragment<DB> for Update<T, W, V>
where
    DB: Backend,
    T: QuerySource,
    T::FromClause: QueryFragment<DB>,
    W: QueryFragment<DB>,
    V: QueryFragment<DB>,
{
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, DB>) -> QueryResult<()> {
        out.push_sql("UPDATE ");
        self.from.walk_ast(out.reborrow())?;
        out.push_sql(" SET ");
        self.values.walk_ast(out.reborrow())?;
        out.push_sql(" WHERE ");
        self.filter.walk_ast(out.reborrow())
    }
}

// No static id: diesel keys the statement by its SQL text.
impl<T: QuerySource, W, V> QueryId for Update<T, W, V> {
    type QueryId = ();

    const HAS_STATIC_QUERY_ID: bool = false;
}

impl<T: QuerySource, W, V, Conn> diesel::RunQueryDsl<Conn> for Update<T, W, V> {}
