//! OData v4 `$filter` parsing and evaluation for `GET /api/deviceavinfo`, and
//! `$top` / `$skip` values.
//!
//! [`Filter::parse`] compiles a filter against a [`Schema`] (the filterable
//! properties and their types); [`Filter::matches`] evaluates it against any
//! [`Record`]. Errors are [`ODataError`]s carrying a position and a reason
//! meant to be shown to the client in a `400 ODataError` response.
//!
//! # Grammar
//!
//! ```text
//! filter     := or
//! or         := and ( "or" and )*
//! and        := comparison ( "and" comparison )*
//! comparison := unary [ cmpop unary | "in" "(" literal ( "," literal )* ")" ]
//! unary      := "not" unary | primary
//! primary    := "(" or ")" | function "(" or "," or ")" | property | literal
//! cmpop      := "eq" | "ne" | "gt" | "ge" | "lt" | "le"
//! function   := "startswith" | "endswith" | "contains"
//! literal    := string | integer | datetime | "true" | "false" | "null"
//! string     := "'" ( any character but "'" | "''" )* "'"      ('' is one quote)
//! integer    := [ "-" ] digit+                                 (64-bit signed)
//! datetime   := YYYY-MM-DD [ "Z" | "T" hh:mm [ ":" ss [ "." digit+ ] ] [ "Z" | ("+"|"-") hh:mm ] ]
//! ```
//!
//! Precedence, tightest first: `not`, comparisons (and `in`), `and`, `or`.
//! `not` binds tighter than a comparison, as in OData, so `not avMode eq '0'`
//! is an error (it reads `(not avMode) eq '0'`); write `not (avMode eq '0')`.
//! Comparisons do not chain (`a eq b eq c` is an error; parenthesise).
//!
//! Tokens are separated by any amount of whitespace (space, tab, CR, LF); the
//! server has already URL-decoded `+` and `%20` into spaces. Whitespace is
//! optional next to `(`, `)`, `,` and quotes.
//!
//! Date/time literals are unquoted: `2019-11-22T00:00:00Z`,
//! `2019-11-22T00:00:00.123+02:00`, `2018-08-01Z`, `2018-08-01`. A date alone
//! is midnight UTC, a time without an offset is UTC, fractions keep up to
//! nanoseconds (at most 12 digits accepted). Because an unencoded `+` in a
//! query string arrives as a space, `...T10:00:00 02:00` is read as
//! `+02:00`.
//!
//! # Case sensitivity
//!
//! - Keywords, operators, function names and `true`/`false`/`null` are
//!   matched case-insensitively (`EQ`, `And`, `StartsWith`, `NULL`). OData
//!   specifies lower case; accepting any case costs nothing and helps
//!   hand-written queries.
//! - Property names match the schema case-insensitively (`AVMODE`, `avmode`),
//!   as MDE documents mixed-case property names in its own samples.
//! - String comparisons (`eq ne gt ge lt le in`, `startswith`, `endswith`,
//!   `contains`) are case-sensitive and ordinal (byte order of UTF-8), as the
//!   OData standard specifies: `osKind eq 'Windows'` does not match
//!   `"windows"`.
//!
//! # Types
//!
//! Both sides of a comparison must have the same type, with two exceptions:
//! an integer literal compared with a String (in comparisons, `in` lists and
//! function arguments) stands for its decimal text (`avMode eq 0` is
//! `avMode eq '0'`; `avMode eq 007` is `avMode eq '7'`), and `null` may be
//! compared with anything using `eq`/`ne`. Ordering operators on booleans,
//! or with `null`, are errors. A String property compared with a date, or an
//! Int property with a string (`rbacGroupId eq '712'`), is an error.
//!
//! # Evaluation and nulls
//!
//! A missing value is [`Value::Null`]. Comparisons follow OData's lifted
//! operators: `null eq null` is true, `null eq 'x'` false, `ne` the opposite,
//! and `gt ge lt le` with a null operand are false. A function with a null
//! argument is *unknown*; `not` keeps unknown; `and`/`or` use three-valued
//! (Kleene) logic, and only a filter that is true selects a record. So
//! `not startswith(osPlatform,'Win')` does not select a record whose
//! `osPlatform` is null. A [`Record`] that returns a value of a kind other
//! than its schema type never panics: such a value is unequal to everything
//! and unordered.
//!
//! # Limits and errors
//!
//! A filter is at most [`MAX_FILTER_LEN`] characters and nests at most
//! [`MAX_DEPTH`] levels (each `(`, `not` and function call is one level).
//! Parsing is linear in the input and never panics. [`ODataError::position`]
//! is the 0-based index, in characters (Unicode scalar values, not bytes), of
//! the place the error was found: the offending token, or the end of the
//! input when something is missing.
//!
//! # Why a hand-written parser over a winnow lexer
//!
//! Tokens (strings with `''` escapes, integers, the date/time forms) are
//! recognised with `winnow` parsers. The expression grammar above them is a
//! small hand-written recursive-descent parser over the token list, because
//! every error must say exactly where and why (`expected a literal after
//! 'eq'`, `property 'rbacGroupId' is Int; cannot compare with a string`) and
//! type errors are found while parsing; with winnow combinators the failure
//! position after backtracking through `alt` is the furthest attempt, not the
//! token at fault, and a depth limit needs threaded state. Over a token list
//! each decision looks at one token, so positions are exact and the parse
//! is linear.

mod eval;
mod lexer;
mod parser;
mod query;

use std::fmt;

use chrono::{DateTime, Utc};

pub use query::{QueryOptionError, parse_skip, parse_top};

/// Longest accepted `$filter`, in characters.
pub const MAX_FILTER_LEN: usize = 4096;

/// Deepest accepted nesting of parentheses, `not` and function calls.
pub const MAX_DEPTH: usize = 64;

/// Type of a filterable property.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PropType {
    String,
    Int,
    DateTime,
    Bool,
}

impl fmt::Display for PropType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            PropType::String => "String",
            PropType::Int => "Int",
            PropType::DateTime => "DateTime",
            PropType::Bool => "Bool",
        })
    }
}

/// The properties a filter may name, with their types, plus the names that
/// exist on the entity but may not be filtered on (named as such in errors).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Schema {
    props: &'static [(&'static str, PropType)],
    not_filterable: &'static [&'static str],
}

impl Schema {
    /// `props` are the filterable properties; a property's index in this
    /// slice is the `prop_index` passed to [`Record::get`].
    pub const fn new(
        props: &'static [(&'static str, PropType)],
        not_filterable: &'static [&'static str],
    ) -> Schema {
        Schema {
            props,
            not_filterable,
        }
    }

    /// Index of a filterable property, matching names case-insensitively
    /// (ASCII).
    pub fn index_of(&self, name: &str) -> Option<usize> {
        self.props
            .iter()
            .position(|(p, _)| p.eq_ignore_ascii_case(name))
    }

    /// The filterable properties, in index order.
    pub fn props(&self) -> &'static [(&'static str, PropType)] {
        self.props
    }

    /// The names that exist but are not filterable.
    pub fn not_filterable(&self) -> &'static [&'static str] {
        self.not_filterable
    }

    /// Canonical spelling of a non-filterable name, matched case-insensitively.
    fn not_filterable_name(&self, name: &str) -> Option<&'static str> {
        self.not_filterable
            .iter()
            .copied()
            .find(|p| p.eq_ignore_ascii_case(name))
    }

    fn filterable_list(&self) -> String {
        let names: Vec<&str> = self.props.iter().map(|(n, _)| *n).collect();
        names.join(", ")
    }
}

/// A property value of one record. A missing value is `Null`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Value<'a> {
    Null,
    Str(&'a str),
    Int(i64),
    Bool(bool),
    DateTime(DateTime<Utc>),
}

/// Something a filter can be evaluated against.
pub trait Record {
    /// The value of the property at `prop_index` in the [`Schema`]'s
    /// `props`. It should be of the property's type, or `Null`.
    fn get(&self, prop_index: usize) -> Value<'_>;
}

/// A `$filter` that could not be parsed or type-checked.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("Invalid $filter at position {position}: {reason}")]
pub struct ODataError {
    /// 0-based character (Unicode scalar value) index into the filter text.
    pub position: usize,
    pub reason: String,
}

/// A compiled `$filter`.
#[derive(Debug, Clone)]
pub struct Filter {
    source: String,
    expr: eval::Expr,
}

impl Filter {
    /// Parses and type-checks `input` against `schema`.
    pub fn parse(input: &str, schema: &'static Schema) -> Result<Filter, ODataError> {
        if input.len() > MAX_FILTER_LEN && input.chars().count() > MAX_FILTER_LEN {
            return Err(ODataError {
                position: MAX_FILTER_LEN,
                reason: format!("filter longer than {MAX_FILTER_LEN} characters"),
            });
        }
        match parser::parse_filter(input, schema) {
            Ok(expr) => Ok(Filter {
                source: input.to_owned(),
                expr,
            }),
            Err(e) => Err(ODataError {
                position: parser::char_pos(input, e.at),
                reason: e.reason,
            }),
        }
    }

    /// Whether `r` is selected: the filter evaluates to true (not false, not
    /// unknown).
    pub fn matches<R: Record + ?Sized>(&self, r: &R) -> bool {
        self.expr.eval(r) == Some(true)
    }

    /// The original filter text, for echoing in `@odata.nextLink`.
    pub fn source(&self) -> &str {
        &self.source
    }
}
