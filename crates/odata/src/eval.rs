//! The compiled filter and its evaluation against a [`Record`].
//!
//! Boolean results are three-valued (`Option<bool>`, `None` = unknown) as in
//! OData 4.01: a canonical function with a null argument, or a null Bool
//! property, is unknown; `not` keeps unknown; `and`/`or` follow Kleene logic.
//! A record matches only when the whole filter is `Some(true)`.

use std::cmp::Ordering;

use chrono::{DateTime, Utc};

use crate::{Record, Value};

/// A literal constant, owned by the compiled filter.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Const {
    Null,
    Str(Box<str>),
    Int(i64),
    Bool(bool),
    DateTime(DateTime<Utc>),
}

impl Const {
    pub(crate) fn as_value(&self) -> Value<'_> {
        match self {
            Const::Null => Value::Null,
            Const::Str(s) => Value::Str(s),
            Const::Int(n) => Value::Int(*n),
            Const::Bool(b) => Value::Bool(*b),
            Const::DateTime(d) => Value::DateTime(*d),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CmpOp {
    Eq,
    Ne,
    Gt,
    Ge,
    Lt,
    Le,
}

impl CmpOp {
    pub(crate) fn from_keyword(word: &str) -> Option<CmpOp> {
        const OPS: [(&str, CmpOp); 6] = [
            ("eq", CmpOp::Eq),
            ("ne", CmpOp::Ne),
            ("gt", CmpOp::Gt),
            ("ge", CmpOp::Ge),
            ("lt", CmpOp::Lt),
            ("le", CmpOp::Le),
        ];
        OPS.iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(word))
            .map(|&(_, op)| op)
    }

    pub(crate) fn is_ordering(self) -> bool {
        !matches!(self, CmpOp::Eq | CmpOp::Ne)
    }

    fn test(self, ord: Ordering) -> bool {
        match self {
            CmpOp::Eq => ord == Ordering::Equal,
            CmpOp::Ne => ord != Ordering::Equal,
            CmpOp::Gt => ord == Ordering::Greater,
            CmpOp::Ge => ord != Ordering::Less,
            CmpOp::Lt => ord == Ordering::Less,
            CmpOp::Le => ord != Ordering::Greater,
        }
    }
}

/// The string functions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Func {
    StartsWith,
    EndsWith,
    Contains,
}

impl Func {
    pub(crate) fn from_keyword(word: &str) -> Option<Func> {
        const FUNCS: [(&str, Func); 3] = [
            ("startswith", Func::StartsWith),
            ("endswith", Func::EndsWith),
            ("contains", Func::Contains),
        ];
        FUNCS
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(word))
            .map(|&(_, f)| f)
    }

    pub(crate) fn name(self) -> &'static str {
        match self {
            Func::StartsWith => "startswith",
            Func::EndsWith => "endswith",
            Func::Contains => "contains",
        }
    }
}

/// One side of a comparison or a function argument.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Operand {
    Prop(usize),
    Const(Const),
    /// A boolean sub-expression, e.g. `startswith(...)` in `startswith(...) eq true`.
    Bool(Box<Expr>),
}

/// A compiled boolean expression.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Expr {
    Const(bool),
    BoolProp(usize),
    Not(Box<Expr>),
    And(Vec<Expr>),
    Or(Vec<Expr>),
    Cmp(CmpOp, Operand, Operand),
    In(Operand, Vec<Const>),
    Func(Func, Operand, Operand),
}

fn operand_value<'r, R: Record + ?Sized>(op: &'r Operand, r: &'r R) -> Value<'r> {
    match op {
        Operand::Prop(i) => r.get(*i),
        Operand::Const(c) => c.as_value(),
        Operand::Bool(e) => e.eval(r).map_or(Value::Null, Value::Bool),
    }
}

/// Order of two non-null values of the same kind; `None` when the kinds
/// differ (a record that returned a value of the wrong type).
fn ordering(a: &Value<'_>, b: &Value<'_>) -> Option<Ordering> {
    match (a, b) {
        // `str` orders by bytes: ordinal comparison.
        (Value::Str(x), Value::Str(y)) => Some(x.cmp(y)),
        (Value::Int(x), Value::Int(y)) => Some(x.cmp(y)),
        (Value::Bool(x), Value::Bool(y)) => Some(x.cmp(y)),
        (Value::DateTime(x), Value::DateTime(y)) => Some(x.cmp(y)),
        _ => None,
    }
}

/// OData comparison with nulls: two nulls are equal, null is unequal to any
/// value, and every ordering operator with a null operand is false.
pub(crate) fn compare(op: CmpOp, a: &Value<'_>, b: &Value<'_>) -> bool {
    match (a, b) {
        (Value::Null, Value::Null) => op == CmpOp::Eq,
        (Value::Null, _) | (_, Value::Null) => op == CmpOp::Ne,
        _ => match ordering(a, b) {
            Some(ord) => op.test(ord),
            None => op == CmpOp::Ne,
        },
    }
}

impl Expr {
    pub(crate) fn eval<R: Record + ?Sized>(&self, r: &R) -> Option<bool> {
        match self {
            Expr::Const(b) => Some(*b),
            Expr::BoolProp(i) => match r.get(*i) {
                Value::Bool(b) => Some(b),
                _ => None,
            },
            Expr::Not(e) => e.eval(r).map(|b| !b),
            Expr::And(items) => {
                let mut unknown = false;
                for e in items {
                    match e.eval(r) {
                        Some(false) => return Some(false),
                        None => unknown = true,
                        Some(true) => {}
                    }
                }
                if unknown { None } else { Some(true) }
            }
            Expr::Or(items) => {
                let mut unknown = false;
                for e in items {
                    match e.eval(r) {
                        Some(true) => return Some(true),
                        None => unknown = true,
                        Some(false) => {}
                    }
                }
                if unknown { None } else { Some(false) }
            }
            Expr::Cmp(op, a, b) => Some(compare(*op, &operand_value(a, r), &operand_value(b, r))),
            Expr::In(a, list) => {
                let v = operand_value(a, r);
                Some(list.iter().any(|c| compare(CmpOp::Eq, &v, &c.as_value())))
            }
            Expr::Func(f, a, b) => match (operand_value(a, r), operand_value(b, r)) {
                (Value::Str(s), Value::Str(t)) => Some(match f {
                    Func::StartsWith => s.starts_with(t),
                    Func::EndsWith => s.ends_with(t),
                    Func::Contains => s.contains(t),
                }),
                _ => None,
            },
        }
    }
}
