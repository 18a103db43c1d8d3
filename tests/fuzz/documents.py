"""One valid document per operation, written from the schema: every argument is a variable,
and the selection reads the answer's fields (what a refusal says, and on success the fields
of the result, two levels of objects deep), so field resolvers run too.

Why not hypothesis-graphql (0.13, which does run with graphql-core 3.3 and this schema): it
writes argument values as literals inside the document, drawn per scalar type with no
knowledge of the argument, so an ID cannot be told to name this clinic's patient, another
clinic's or nothing, an end cannot follow its start, and a hazard cannot be placed at a known
path and swapped for a control. One fixed document per operation with generated variables
(tests/fuzz/values.py) is what a client sends, and leaves every value to the generator."""

from __future__ import annotations

from functools import cache

from graphql import (
    GraphQLArgument,
    GraphQLEnumType,
    GraphQLField,
    GraphQLInterfaceType,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLScalarType,
    GraphQLUnionType,
    TokenKind,
    ast_from_value,
    get_named_type,
    print_ast,
    validate,
)
from graphql.language import Lexer, Source, parse
from graphql.pyutils import Undefined

from graphql_api.schema import schema

GRAPHQL_SCHEMA = schema._schema
OPERATION_INFO = "... on OperationInfo { messages { kind code field message } }"
# Well under GRAPHQL_MAX_TOKENS (1,000): the documents must never be refused for their size.
MAX_TOKENS = 700


def root_field(kind: str, name: str) -> GraphQLField:
    root = GRAPHQL_SCHEMA.query_type if kind == "query" else GRAPHQL_SCHEMA.mutation_type
    assert root is not None
    return root.fields[name]


def _has_required_arguments(field: GraphQLField) -> bool:
    return any(
        isinstance(arg.type, GraphQLNonNull) and arg.default_value is Undefined
        for arg in field.args.values()
    )


def _selection(named: object, depth: int) -> str:
    """The selection of an output type: its leaves and, ``depth`` levels down, its objects."""
    if isinstance(named, GraphQLUnionType):
        parts = ["__typename"]
        for member in named.types:
            if member.name == "OperationInfo":
                parts.append(OPERATION_INFO)
            elif depth >= 0:
                parts.append(f"... on {member.name} {_selection(member, depth)}")
        return "{ " + " ".join(parts) + " }"
    assert isinstance(named, GraphQLObjectType | GraphQLInterfaceType), named
    parts = ["__typename"]
    for name, field in named.fields.items():
        if _has_required_arguments(field):
            continue
        inner = get_named_type(field.type)
        if isinstance(inner, GraphQLScalarType | GraphQLEnumType):
            parts.append(name)
        elif depth > 0:
            parts.append(f"{name} {_selection(inner, depth - 1)}")
    return "{ " + " ".join(parts) + " }"


def _tokens(text: str) -> int:
    lexer = Lexer(Source(text))
    count = 0
    while lexer.advance().kind is not TokenKind.EOF:
        count += 1
    return count


def _variable(name: str, argument: GraphQLArgument) -> str:
    """``$name: Type``, with the argument's default when it has one: a variable the client
    leaves out then takes the default, as the argument itself would."""
    if argument.default_value is Undefined:
        return f"${name}: {argument.type}"
    default = ast_from_value(argument.default_value, argument.type)
    assert default is not None, name
    return f"${name}: {argument.type} = {print_ast(default)}"


@cache
def document(kind: str, name: str) -> str:
    """The operation ``name`` with every argument as a variable, aliased ``result``; the
    deepest selection (at most three levels of objects) that stays under ``MAX_TOKENS``."""
    field = root_field(kind, name)
    params = ", ".join(_variable(arg, value) for arg, value in field.args.items())
    header = f"{kind} Fuzz({params})" if params else f"{kind} Fuzz"
    call_args = ", ".join(f"{arg}: ${arg}" for arg in field.args)
    call = f"{name}({call_args})" if call_args else name
    named = get_named_type(field.type)
    for depth in (3, 2, 1, 0):
        selection = (
            ""
            if isinstance(named, GraphQLScalarType | GraphQLEnumType)
            else " " + _selection(named, depth)
        )
        text = f"{header} {{ result: {call}{selection} }}"
        if _tokens(text) <= MAX_TOKENS:
            break
    errors = validate(GRAPHQL_SCHEMA, parse(text))
    assert not errors, (text, errors)
    return text
