//! Recursive-descent parser and type checker over the lexer's tokens.
//!
//! Every parse function returns a typed [`Term`]; type errors are found while
//! parsing, so each error points at the token that caused it. Recursion is
//! bounded by [`MAX_DEPTH`](crate::MAX_DEPTH): every level of parentheses,
//! every `not` and every function call counts one level, and nothing else
//! recurses (`and`/`or` chains are loops building flat lists, comparisons do
//! not chain).

use crate::eval::{CmpOp, Const, Expr, Func, Operand};
use crate::lexer::{Tok, Token, tokenize};
use crate::{MAX_DEPTH, PropType, Schema};

/// A parse error at a byte offset.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ParseError {
    pub at: usize,
    pub reason: String,
}

type PResult<T> = Result<T, ParseError>;

/// Static type of a term.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Ty {
    Str,
    Int,
    DateTime,
    Bool,
    /// The `null` literal.
    Null,
}

impl Ty {
    fn of(p: PropType) -> Ty {
        match p {
            PropType::String => Ty::Str,
            PropType::Int => Ty::Int,
            PropType::DateTime => Ty::DateTime,
            PropType::Bool => Ty::Bool,
        }
    }

    fn noun(self) -> &'static str {
        match self {
            Ty::Str => "a string",
            Ty::Int => "an integer",
            Ty::DateTime => "a date/time",
            Ty::Bool => "a boolean",
            Ty::Null => "null",
        }
    }
}

#[derive(Debug)]
enum TermKind {
    Prop(usize),
    Lit(Const),
    Bool(Expr),
}

/// A parsed, typed sub-expression and its byte span.
#[derive(Debug)]
struct Term {
    kind: TermKind,
    ty: Ty,
    start: usize,
    end: usize,
}

impl Term {
    fn bool_expr(expr: Expr, start: usize, end: usize) -> Term {
        Term {
            kind: TermKind::Bool(expr),
            ty: Ty::Bool,
            start,
            end,
        }
    }

    fn into_operand(self) -> Operand {
        match self.kind {
            TermKind::Prop(i) => Operand::Prop(i),
            TermKind::Lit(c) => Operand::Const(c),
            TermKind::Bool(e) => Operand::Bool(Box::new(e)),
        }
    }
}

fn clip(text: &str) -> String {
    const MAX: usize = 40;
    match text.char_indices().nth(MAX) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text.to_owned(),
    }
}

/// Character (Unicode scalar value) index of a byte offset.
pub(crate) fn char_pos(src: &str, byte: usize) -> usize {
    src.char_indices().take_while(|&(i, _)| i < byte).count()
}

const OPERATOR_KEYWORDS: [&str; 9] = ["eq", "ne", "gt", "ge", "lt", "le", "and", "or", "in"];

fn is_operator_keyword(word: &str) -> bool {
    OPERATOR_KEYWORDS
        .iter()
        .any(|k| k.eq_ignore_ascii_case(word))
}

struct Parser<'s> {
    src: &'s str,
    toks: Vec<Token<'s>>,
    pos: usize,
    depth: usize,
    /// `depth` while parsing the arguments of the innermost function call
    /// (not inside parentheses within them); `usize::MAX` outside calls.
    call_depth: usize,
    schema: &'static Schema,
}

/// Parses and type-checks a whole filter. The caller has checked the length.
pub(crate) fn parse_filter(src: &str, schema: &'static Schema) -> PResult<Expr> {
    let toks = tokenize(src).map_err(|e| ParseError {
        at: e.at,
        reason: e.reason,
    })?;
    if toks.is_empty() {
        return Err(ParseError {
            at: 0,
            reason: "empty filter expression".into(),
        });
    }
    let mut p = Parser {
        src,
        toks,
        pos: 0,
        depth: 0,
        call_depth: usize::MAX,
        schema,
    };
    let term = p.parse_or("expected a condition at the start of the filter")?;
    if let Some(t) = p.peek() {
        let reason = if t.tok == Tok::RParen {
            "unexpected trailing input: ')' has no matching '('".to_owned()
        } else {
            format!(
                "unexpected trailing input starting at {}; join conditions with 'and' or 'or'",
                p.describe(Some(t))
            )
        };
        return Err(ParseError {
            at: t.start,
            reason,
        });
    }
    p.condition(term, "the filter")
}

impl<'s> Parser<'s> {
    fn peek(&self) -> Option<&Token<'s>> {
        self.toks.get(self.pos)
    }

    fn peek_tok(&self) -> Option<&Tok<'s>> {
        self.peek().map(|t| &t.tok)
    }

    fn peek_ident(&self) -> Option<&'s str> {
        match self.peek_tok() {
            Some(Tok::Ident(s)) => Some(s),
            _ => None,
        }
    }

    fn peek_keyword(&self, kw: &str) -> bool {
        self.peek_ident()
            .is_some_and(|s| s.eq_ignore_ascii_case(kw))
    }

    /// Byte offset of the next token, or the end of the input.
    fn here(&self) -> usize {
        self.peek().map_or(self.src.len(), |t| t.start)
    }

    fn text(&self, start: usize, end: usize) -> &'s str {
        self.src.get(start..end).unwrap_or("")
    }

    fn describe(&self, t: Option<&Token<'_>>) -> String {
        match t {
            None => "end of input".to_owned(),
            Some(t) => {
                let text = clip(self.text(t.start, t.end));
                match &t.tok {
                    Tok::Str(_) => format!("the string {text}"),
                    Tok::Ident(s) if is_operator_keyword(s) => format!("the operator '{text}'"),
                    _ => format!("'{text}'"),
                }
            }
        }
    }

    fn found(&self) -> String {
        self.describe(self.peek())
    }

    fn err<T>(&self, at: usize, reason: impl Into<String>) -> PResult<T> {
        Err(ParseError {
            at,
            reason: reason.into(),
        })
    }

    fn enter(&mut self, at: usize) -> PResult<()> {
        if self.depth >= MAX_DEPTH {
            return self.err(
                at,
                format!(
                    "nesting deeper than {MAX_DEPTH} levels (each '(', 'not' and function call is one level)"
                ),
            );
        }
        self.depth += 1;
        Ok(())
    }

    fn leave(&mut self) {
        self.depth = self.depth.saturating_sub(1);
    }

    /// How a term is named in error messages.
    fn describe_term(&self, t: &Term) -> String {
        match &t.kind {
            TermKind::Prop(i) => {
                let (name, ty) = self.schema.props()[*i];
                format!("property '{name}' is {ty}")
            }
            TermKind::Lit(_) if t.ty == Ty::Null => "null".to_owned(),
            TermKind::Lit(_) => format!("{} literal", t.ty.noun()),
            TermKind::Bool(_) => "a boolean expression".to_owned(),
        }
    }

    /// The noun for a term on the other side of a type mismatch.
    fn term_noun(&self, t: &Term) -> String {
        match &t.kind {
            TermKind::Prop(i) => {
                let (name, ty) = self.schema.props()[*i];
                format!("property '{name}' ({ty})")
            }
            _ => t.ty.noun().to_owned(),
        }
    }

    /// Turns a term used as a condition into a boolean expression.
    fn condition(&self, t: Term, what: &str) -> PResult<Expr> {
        match t.kind {
            TermKind::Bool(e) => return Ok(e),
            TermKind::Prop(i) if t.ty == Ty::Bool => return Ok(Expr::BoolProp(i)),
            TermKind::Lit(Const::Bool(b)) => return Ok(Expr::Const(b)),
            _ => {}
        }
        let desc = self.describe_term(&t);
        self.err(
            t.start,
            format!("{what} must be a boolean condition, but {desc}"),
        )
    }

    fn parse_or(&mut self, expected: &str) -> PResult<Term> {
        let first = self.parse_and(expected)?;
        if !self.peek_keyword("or") {
            return Ok(first);
        }
        let start = first.start;
        let mut end = first.end;
        let mut items = vec![self.condition(first, "the left operand of 'or'")?];
        while self.peek_keyword("or") {
            self.pos += 1;
            let next = self.parse_and("expected a condition after 'or'")?;
            end = next.end;
            items.push(self.condition(next, "the right operand of 'or'")?);
        }
        Ok(Term::bool_expr(Expr::Or(items), start, end))
    }

    fn parse_and(&mut self, expected: &str) -> PResult<Term> {
        let first = self.parse_cmp(expected)?;
        if !self.peek_keyword("and") {
            return Ok(first);
        }
        let start = first.start;
        let mut end = first.end;
        let mut items = vec![self.condition(first, "the left operand of 'and'")?];
        while self.peek_keyword("and") {
            self.pos += 1;
            let next = self.parse_cmp("expected a condition after 'and'")?;
            end = next.end;
            items.push(self.condition(next, "the right operand of 'and'")?);
        }
        Ok(Term::bool_expr(Expr::And(items), start, end))
    }

    fn peek_cmp_op(&self) -> Option<CmpOp> {
        self.peek_ident().and_then(CmpOp::from_keyword)
    }

    fn parse_cmp(&mut self, expected: &str) -> PResult<Term> {
        let lhs = self.parse_unary(expected)?;
        let result = if self.peek_keyword("in") {
            self.parse_in(lhs)?
        } else if let Some(op) = self.peek_cmp_op() {
            let (op_start, op_end) = self.peek().map_or((0, 0), |t| (t.start, t.end));
            let op_text = self.text(op_start, op_end);
            self.pos += 1;
            let rhs = self.parse_unary(&format!("expected a literal after '{op_text}'"))?;
            let (start, end) = (lhs.start, rhs.end);
            let (l, r) = self.unify(op, op_start, lhs, rhs)?;
            Term::bool_expr(Expr::Cmp(op, l, r), start, end)
        } else {
            // No operator. A non-boolean term is fine only where a value is
            // expected: a function argument (the call reports what is wrong
            // after it) or a parenthesised operand.
            let value_ok = self.depth == self.call_depth
                || matches!(self.peek_tok(), Some(Tok::RParen | Tok::Comma));
            if lhs.ty != Ty::Bool && !value_ok {
                let text = clip(self.text(lhs.start, lhs.end));
                return self.err(
                    self.here(),
                    format!(
                        "expected a comparison operator (eq, ne, gt, ge, lt, le or in) after '{text}', found {}",
                        self.found()
                    ),
                );
            }
            return Ok(lhs);
        };
        if self.peek_cmp_op().is_some() || self.peek_keyword("in") {
            return self.err(
                self.here(),
                format!(
                    "comparisons cannot be chained: found {} after a complete comparison; use parentheses",
                    self.found()
                ),
            );
        }
        Ok(result)
    }

    fn parse_unary(&mut self, expected: &str) -> PResult<Term> {
        if !self.peek_keyword("not") {
            return self.parse_primary(expected);
        }
        let start = self.here();
        self.enter(start)?;
        self.pos += 1;
        let operand = self.parse_unary("expected a condition after 'not'")?;
        self.leave();
        let end = operand.end;
        let hint = matches!(operand.kind, TermKind::Prop(_)) && operand.ty != Ty::Bool;
        let text = clip(self.text(operand.start, operand.end));
        let expr = match self.condition(operand, "the operand of 'not'") {
            Ok(e) => e,
            Err(mut e) if hint => {
                e.reason.push_str(&format!(
                    " ('not' binds tighter than comparisons: write not ({text} eq ...))"
                ));
                return Err(e);
            }
            Err(e) => return Err(e),
        };
        Ok(Term::bool_expr(Expr::Not(Box::new(expr)), start, end))
    }

    fn literal_term(&self, t: &Token<'_>) -> Option<Term> {
        let (c, ty) = match &t.tok {
            Tok::Str(s) => (Const::Str(s.as_str().into()), Ty::Str),
            Tok::Int(n) => (Const::Int(*n), Ty::Int),
            Tok::DateTime(d) => (Const::DateTime(*d), Ty::DateTime),
            Tok::Ident(s) if s.eq_ignore_ascii_case("true") => (Const::Bool(true), Ty::Bool),
            Tok::Ident(s) if s.eq_ignore_ascii_case("false") => (Const::Bool(false), Ty::Bool),
            Tok::Ident(s) if s.eq_ignore_ascii_case("null") => (Const::Null, Ty::Null),
            _ => return None,
        };
        Some(Term {
            kind: TermKind::Lit(c),
            ty,
            start: t.start,
            end: t.end,
        })
    }

    fn parse_primary(&mut self, expected: &str) -> PResult<Term> {
        let Some(t) = self.peek().cloned() else {
            return self.err(self.here(), format!("{expected}, found end of input"));
        };
        if let Some(lit) = self.literal_term(&t) {
            self.pos += 1;
            return Ok(lit);
        }
        match t.tok {
            Tok::LParen => {
                self.enter(t.start)?;
                self.pos += 1;
                let inner = self.parse_or("expected a condition after '('")?;
                if self.peek_tok() != Some(&Tok::RParen) {
                    return self.err(
                        self.here(),
                        format!(
                            "expected ')' to close the '(' at position {}, found {}",
                            char_pos(self.src, t.start),
                            self.found()
                        ),
                    );
                }
                let end = self.peek().map_or(self.src.len(), |r| r.end);
                self.pos += 1;
                self.leave();
                Ok(Term {
                    start: t.start,
                    end,
                    ..inner
                })
            }
            Tok::Ident(name) => {
                if is_operator_keyword(name) {
                    return self.err(t.start, format!("{expected}, found {}", self.found()));
                }
                let call = matches!(
                    self.toks.get(self.pos + 1),
                    Some(Token {
                        tok: Tok::LParen,
                        ..
                    })
                );
                match (Func::from_keyword(name), call) {
                    (Some(f), true) => return self.parse_call(f, t.start),
                    (None, true) => {
                        return self.err(
                            t.start,
                            format!(
                                "unknown function '{}'; supported functions are startswith, endswith and contains",
                                clip(name)
                            ),
                        );
                    }
                    (Some(f), false) => {
                        return self.err(
                            t.end,
                            format!(
                                "expected '(' after function name '{}', found {}",
                                f.name(),
                                self.describe(self.toks.get(self.pos + 1))
                            ),
                        );
                    }
                    (None, false) => {}
                }
                self.property(name, t.start, t.end)
            }
            _ => self.err(t.start, format!("{expected}, found {}", self.found())),
        }
    }

    fn property(&mut self, name: &str, start: usize, end: usize) -> PResult<Term> {
        if let Some(i) = self.schema.index_of(name) {
            self.pos += 1;
            let ty = Ty::of(self.schema.props()[i].1);
            return Ok(Term {
                kind: TermKind::Prop(i),
                ty,
                start,
                end,
            });
        }
        let list = self.schema.filterable_list();
        match self.schema.not_filterable_name(name) {
            Some(canonical) => self.err(
                start,
                format!("'{canonical}' is not filterable; filterable properties are: {list}"),
            ),
            None => self.err(
                start,
                format!(
                    "unknown property '{}'; filterable properties are: {list}",
                    clip(name)
                ),
            ),
        }
    }

    fn expect_arg_string(&self, f: Func, n: usize, t: Term) -> PResult<Operand> {
        match (&t.kind, t.ty) {
            (_, Ty::Str) => Ok(t.into_operand()),
            (TermKind::Lit(Const::Int(v)), _) => {
                Ok(Operand::Const(Const::Str(v.to_string().into())))
            }
            _ => {
                let desc = self.describe_term(&t);
                self.err(
                    t.start,
                    format!("{} needs a string as argument {n}, but {desc}", f.name()),
                )
            }
        }
    }

    /// `name ( arg , arg )`; the next token is the name, followed by `(`.
    fn parse_call(&mut self, f: Func, start: usize) -> PResult<Term> {
        self.enter(start)?;
        self.pos += 2;
        let outer_call_depth = std::mem::replace(&mut self.call_depth, self.depth);
        let result = self.parse_call_args(f, start);
        self.call_depth = outer_call_depth;
        self.leave();
        result
    }

    fn parse_call_args(&mut self, f: Func, start: usize) -> PResult<Term> {
        let name = f.name();
        let a = self.parse_or(&format!("expected a property after '{name}('"))?;
        if self.peek_tok() != Some(&Tok::Comma) {
            let reason = if self.peek_tok() == Some(&Tok::RParen) {
                format!("{name} takes 2 arguments, found 1")
            } else {
                format!(
                    "expected ',' after the first argument of {name}, found {}",
                    self.found()
                )
            };
            return self.err(self.here(), reason);
        }
        self.pos += 1;
        let b = self.parse_or(&format!("expected a string after ',' in {name}(...)"))?;
        if self.peek_tok() != Some(&Tok::RParen) {
            let reason = if self.peek_tok() == Some(&Tok::Comma) {
                format!("{name} takes 2 arguments, found more")
            } else {
                format!("expected ')' to close {name}(, found {}", self.found())
            };
            return self.err(self.here(), reason);
        }
        let end = self.peek().map_or(self.src.len(), |t| t.end);
        self.pos += 1;
        let a = self.expect_arg_string(f, 1, a)?;
        let b = self.expect_arg_string(f, 2, b)?;
        Ok(Term::bool_expr(Expr::Func(f, a, b), start, end))
    }

    /// `lhs in ( literal , ... )`; the next token is `in`.
    fn parse_in(&mut self, lhs: Term) -> PResult<Term> {
        let start = lhs.start;
        self.pos += 1;
        if self.peek_tok() != Some(&Tok::LParen) {
            return self.err(
                self.here(),
                format!("expected '(' after 'in', found {}", self.found()),
            );
        }
        self.pos += 1;
        if self.peek_tok() == Some(&Tok::RParen) {
            return self.err(self.here(), "the 'in' list is empty");
        }
        let mut list = Vec::new();
        loop {
            let Some(item) = self.peek().and_then(|t| self.literal_term(t)) else {
                return self.err(
                    self.here(),
                    format!(
                        "expected a literal in the 'in' list, found {}",
                        self.found()
                    ),
                );
            };
            self.pos += 1;
            // Type-check the item as `lhs eq item`, keeping the (possibly
            // coerced) constant.
            if let TermKind::Lit(c) = self.check_pair(CmpOp::Eq, 0, &lhs, item)?.kind {
                list.push(c);
            }
            match self.peek_tok() {
                Some(Tok::Comma) => self.pos += 1,
                Some(Tok::RParen) => {
                    let end = self.peek().map_or(self.src.len(), |t| t.end);
                    self.pos += 1;
                    return Ok(Term::bool_expr(
                        Expr::In(lhs.into_operand(), list),
                        start,
                        end,
                    ));
                }
                _ => {
                    return self.err(
                        self.here(),
                        format!(
                            "expected ',' or ')' in the 'in' list, found {}",
                            self.found()
                        ),
                    );
                }
            }
        }
    }

    /// Type-checks `l op r` and returns the operands.
    fn unify(&self, op: CmpOp, op_at: usize, l: Term, r: Term) -> PResult<(Operand, Operand)> {
        // Coerce an integer literal on the left against a string on the right.
        let l = coerce(l, r.ty);
        let r = self.check_pair(op, op_at, &l, r)?;
        Ok((l.into_operand(), r.into_operand()))
    }

    /// Checks types, coercing `r` (an integer literal against a string).
    fn check_pair(&self, op: CmpOp, op_at: usize, l: &Term, r: Term) -> PResult<Term> {
        let r = coerce(r, l.ty);
        if l.ty == Ty::Null || r.ty == Ty::Null {
            if op.is_ordering() {
                let at = if l.ty == Ty::Null { l.start } else { r.start };
                return self.err(at, "null can only be compared with 'eq' or 'ne'");
            }
            return Ok(r);
        }
        if l.ty != r.ty {
            let (at, reason) = match (&l.kind, &r.kind) {
                (TermKind::Prop(_), _) => (
                    r.start,
                    format!(
                        "{}; cannot compare with {}",
                        self.describe_term(l),
                        self.term_noun(&r)
                    ),
                ),
                (_, TermKind::Prop(_)) => (
                    l.start,
                    format!(
                        "{}; cannot compare with {}",
                        self.describe_term(&r),
                        self.term_noun(l)
                    ),
                ),
                _ => (
                    r.start,
                    format!(
                        "cannot compare {} with {}",
                        self.term_noun(l),
                        self.term_noun(&r)
                    ),
                ),
            };
            return self.err(at, reason);
        }
        if op.is_ordering() && l.ty == Ty::Bool {
            return self.err(
                op_at,
                format!(
                    "'{}' cannot be used on booleans; use 'eq' or 'ne'",
                    self.text(op_at, op_at + 2)
                ),
            );
        }
        Ok(r)
    }
}

/// An integer literal compared with a string is taken as its decimal text.
fn coerce(t: Term, other: Ty) -> Term {
    match t.kind {
        TermKind::Lit(Const::Int(n)) if other == Ty::Str => Term {
            kind: TermKind::Lit(Const::Str(n.to_string().into())),
            ty: Ty::Str,
            ..t
        },
        kind => Term { kind, ..t },
    }
}
