"""`--where`: a Python-syntax condition turned into a pyarrow dataset filter (pushed into the scan).

    language == 'de' and quality_score > 0.5
    reject_reason in ['dup_line_frac', 'top_3_gram'] or len(text) < 200
    domain != None and contains(url, '/blog/')

Names are columns; constants are strings, numbers, booleans and None (`== None` is "is
null"); `len(column)` is the length in characters and `contains(column, 'text')` a substring
test. Only these forms are accepted: the string is parsed with `ast`, never evaluated.
"""

from __future__ import annotations

import ast
import operator

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as ds

from dataflow.errors import UserError

COMPARE = {ast.Eq: operator.eq, ast.NotEq: operator.ne, ast.Lt: operator.lt, ast.LtE: operator.le,
           ast.Gt: operator.gt, ast.GtE: operator.ge}
EXAMPLE = "e.g. --where \"language == 'de' and len(text) > 500\""


def parse_where(text: str, schema: pa.Schema) -> ds.Expression:
    """The filter expression for `text` over a dataset with `schema`; a one-line error otherwise."""
    try:
        tree = ast.parse(text.strip(), mode="eval")
    except SyntaxError as err:
        raise UserError(f"--where {text!r} is not a valid condition ({err.msg}); {EXAMPLE}") from None
    return _Converter(text, schema).convert(tree.body)


class _Converter:
    def __init__(self, text: str, schema: pa.Schema):
        self.text, self.schema = text, schema

    def convert(self, node: ast.AST) -> ds.Expression:
        if isinstance(node, ast.BoolOp):
            parts = [self.convert(value) for value in node.values]
            combined = parts[0]
            for part in parts[1:]:
                combined = (combined & part) if isinstance(node.op, ast.And) else (combined | part)
            return combined
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
            return ~self.convert(node.operand)
        if isinstance(node, ast.Compare):
            return self._compare(node)
        if isinstance(node, ast.Call):
            return self._call(node)
        return self._fail(node, "expected a comparison, `and`, `or`, `not` or contains(...)")

    def _compare(self, node: ast.Compare) -> ds.Expression:
        result, left = None, node.left
        for op, right in zip(node.ops, node.comparators):  # a < b < c means a < b and b < c
            result = self._one(left, op, right) if result is None else result & self._one(left, op, right)
            left = right
        return result

    def _one(self, left: ast.AST, op: ast.cmpop, right: ast.AST) -> ds.Expression:
        if isinstance(op, (ast.In, ast.NotIn)):
            if not isinstance(right, (ast.List, ast.Tuple, ast.Set)):
                return self._fail(right, "`in` needs a list of constants")
            expression = self._operand(left).isin([self._constant(item) for item in right.elts])
            return ~expression if isinstance(op, ast.NotIn) else expression
        if isinstance(op, (ast.Eq, ast.NotEq)) and isinstance(right, ast.Constant) and right.value is None:
            present = self._operand(left).is_valid()
            return ~present if isinstance(op, ast.Eq) else present
        if type(op) not in COMPARE:
            return self._fail(left, f"unsupported operator {type(op).__name__}")
        return COMPARE[type(op)](self._operand(left), self._operand(right))

    def _operand(self, node: ast.AST):
        if isinstance(node, ast.Name):
            return self._column(node.id)
        if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "len" and len(node.args) == 1:
            return pc.utf8_length(self._operand(node.args[0]))
        return self._constant(node)

    def _call(self, node: ast.Call) -> ds.Expression:
        if getattr(node.func, "id", None) == "contains" and len(node.args) == 2:
            return pc.match_substring(self._operand(node.args[0]), self._constant(node.args[1]))
        return self._fail(node, "the only functions are len(column) and contains(column, 'text')")

    def _column(self, name: str) -> ds.Expression:
        if name not in self.schema.names:
            raise UserError(f"--where {self.text!r}: no column {name!r}; columns: {', '.join(self.schema.names)}")
        return ds.field(name)

    def _constant(self, node: ast.AST):
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub) and isinstance(node.operand, ast.Constant):
            return -node.operand.value
        if isinstance(node, ast.Constant):
            return node.value
        return self._fail(node, "expected a column name or a constant")

    def _fail(self, node: ast.AST, why: str):
        raise UserError(f"--where {self.text!r}: {why} at {ast.unparse(node)!r}; {EXAMPLE}")
