"""Compiled reads of the chart's clinical part (graphql_api/core/compiled): the anamnesis (the
current version and every version) and the odontogram. Each declaration computes what the
field's resolver in ``types.py`` / ``queries.py`` answers; the rows come from the clinical
selectors, the patient's existence (the ``NOT_FOUND`` of ``_patient_id``) is a ``requires``
checked in the same statement. Clinical notes are not compiled: every read of one is audited
(a write), which a read-only statement cannot do.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.db import DatabaseError, connection
from django.db.models import Field, Model, QuerySet
from graphql import GraphQLObjectType, get_named_type
from strawberry import relay

from backend.clinical import models, selectors
from backend.clinical.models import Condition, FindingCondition, FindingState, Material
from backend.patients import selectors as patient_selectors
from graphql_api.clinical.types import Finding, MedicalHistory
from graphql_api.core.compiled import sql
from graphql_api.core.compiled.coverage import (
    ArrayColumn,
    Column,
    DateTime,
    EnumName,
    Forward,
    NodeId,
    cover,
    cover_custom,
    cover_single,
)
from graphql_api.core.compiled.planner import (
    Decline,
    ObjectPlan,
    Planner,
    Selected,
    collect,
    sub_selections,
)
from graphql_api.core.datetimes import serialize_datetime
from graphql_api.core.ids import decode_id

_MAX_KEYS = 50  # json_build_object takes at most 100 arguments

cover(
    MedicalHistory,
    models.MedicalHistory,
    id=NodeId(),
    version=Column("version"),
    conditions=ArrayColumn("conditions", Condition),
    conditions_notes=Column("conditions_notes"),
    medications=Column("medications"),
    allergies=Column("allergies"),
    is_pregnant=Column("is_pregnant"),
    is_smoker=Column("is_smoker"),
    takes_anticoagulants=Column("takes_anticoagulants"),
    last_dental_visit=Column("last_dental_visit"),
    recorded_by=Forward("recorded_by"),
    recorded_at=DateTime("recorded_at"),
)
cover(
    Finding,
    models.Finding,
    id=NodeId(),
    tooth=Column("tooth"),
    surfaces=ArrayColumn("surfaces"),
    condition=EnumName("condition", FindingCondition),
    material=EnumName("material", Material, blank_is_null=True),
    state=EnumName("state", FindingState),
    notes=Column("notes"),
    recorded_by=Forward("recorded_by"),
    recorded_at=DateTime("recorded_at"),
    resolved_at=DateTime("resolved_at"),
)


def _column(alias: str, model: type[Model], name: str) -> str:
    """The SQL of a model field's column on the row ``alias`` (``pk``: the primary key's)."""
    field = model._meta.pk if name == "pk" else model._meta.get_field(name)
    assert isinstance(field, Field)
    assert field.column is not None
    return sql.column(alias, field.column)


def _patient_pk(patient_id: relay.GlobalID) -> int:
    """The key ``_patient_id`` (queries.py) decodes, without its lookup (a ``NOT_FOUND`` for
    another type's ID is raised here, and declines)."""
    return int(decode_id(patient_id, "Patient", field="patient_id"))


def _patient(info: Any, patient_id: relay.GlobalID, **_: Any) -> QuerySet[Any]:
    """The patient ``_patient_id`` requires (its ``NOT_FOUND`` when there is none)."""
    return patient_selectors.patient_rows(patient_id=_patient_pk(patient_id))


def _versions(info: Any, patient_id: relay.GlobalID) -> QuerySet[models.MedicalHistory]:
    return selectors.medical_history_versions(
        actor=info.context.require_user(), patient_id=_patient_pk(patient_id)
    )


def _findings(
    info: Any, patient_id: relay.GlobalID, at: dt.datetime | None = None
) -> QuerySet[models.Finding]:
    return selectors.odontogram_findings(
        actor=info.context.require_user(), patient_id=_patient_pk(patient_id), at=at
    )


def _ordered_keys(call: Callable[[], QuerySet[Any]]) -> tuple[str, list[Any]]:
    """``unnest(ARRAY(<the rows' keys in their order>)) WITH ORDINALITY AS e(pk, n)``: the
    selector's rows, numbered in the selector's own ``ORDER BY``; an error declines."""
    try:
        rows = call()
    except DatabaseError:
        raise
    except Exception as error:
        raise Decline(f"the rows: {error!r}") from None
    query = rows.query
    if (
        not query.order_by
        or query.extra_order_by
        or query.is_sliced
        or query.distinct
        or query.combinator
        or query.group_by is not None
        or query.select_for_update
    ):
        raise Decline("rows the plan cannot number")
    keys_sql, params = rows.values("pk").query.get_compiler(connection=connection).as_sql()
    return f"unnest(ARRAY({keys_sql})) WITH ORDINALITY AS e(pk, n)", list(params)


@dataclass
class _ListShape:
    """Every row of the root's rows, as a list of one covered type."""

    node: ObjectPlan
    checks: list[Any] = field(default_factory=list)
    objects: list[ObjectPlan] = field(default_factory=list)


@dataclass(frozen=True)
class ListRoot:
    """A root answering a list of every row of ``rows`` (``medicalHistoryVersions``), in the
    rows' order, as the resolver returns the selector's queryset."""

    rows: Callable[..., QuerySet[Any]]

    def plan(self, planner: Planner, graphql_type: Any, item: Any, fragments: Any) -> _ListShape:
        node_type = get_named_type(graphql_type)
        assert isinstance(node_type, GraphQLObjectType)
        node = planner.object_plan(node_type, sub_selections(item), fragments, 1)
        return _ListShape(node, node.checks, [node])

    def gates(self, shape: _ListShape) -> dict[str, Any]:
        return shape.node.gates

    def render(
        self, shape: _ListShape, *, kwargs: dict[str, Any], info: Any, gates: dict[str, bool]
    ) -> tuple[str, list[Any]]:
        keys, params = _ordered_keys(lambda: self.rows(info=info, **kwargs))
        meta = shape.node.coverage.model._meta
        return (
            f"SELECT coalesce(json_agg({shape.node.text(gates)} ORDER BY e.n), '[]'::json) "
            f"FROM {keys} JOIN {sql.identifier(meta.db_table)} t1 "
            f"ON {_column('t1', shape.node.coverage.model, 'pk')} = e.pk",
            params,
        )


# --- the odontogram --------------------------------------------------------------------------


@dataclass
class _TeethShape:
    type_name: str
    # (response key, "__typename" | "tooth" | "findings", the findings' plan)
    entries: list[tuple[str, str, ObjectPlan | None]]


@dataclass
class _OdontogramShape:
    type_name: str
    # (response key, "__typename" | "at" | "teeth", the teeth's shape)
    entries: list[tuple[str, str, _TeethShape | None]]
    gates: dict[str, Any] = field(default_factory=dict)
    checks: list[Any] = field(default_factory=list)
    objects: list[ObjectPlan] = field(default_factory=list)


class OdontogramRoot:
    """``odontogram(patientId, at)``: the findings of ``odontogram_findings``, grouped by tooth
    as ``queries.py`` groups them (``itertools.groupby`` over the selector's order: a new
    group wherever the tooth changes), and ``at`` echoed as the DateTime it was given."""

    def plan(
        self, planner: Planner, graphql_type: Any, item: Any, fragments: Any
    ) -> _OdontogramShape:
        odontogram = get_named_type(graphql_type)
        assert isinstance(odontogram, GraphQLObjectType)
        shape = _OdontogramShape(odontogram.name, [])
        for part in _collect(odontogram, sub_selections(item), fragments):
            if part.name in ("__typename", "at"):
                shape.entries.append((part.key, part.name, None))
            elif part.name == "teeth":
                teeth_type = get_named_type(odontogram.fields["teeth"].type)
                assert isinstance(teeth_type, GraphQLObjectType)
                teeth = _TeethShape(teeth_type.name, [])
                for tooth_part in _collect(teeth_type, sub_selections(part), fragments):
                    if tooth_part.name in ("__typename", "tooth"):
                        teeth.entries.append((tooth_part.key, tooth_part.name, None))
                    elif tooth_part.name == "findings":
                        finding_type = get_named_type(teeth_type.fields["findings"].type)
                        assert isinstance(finding_type, GraphQLObjectType)
                        findings = planner.object_plan(
                            finding_type, sub_selections(tooth_part), fragments, 1
                        )
                        shape.gates |= findings.gates
                        shape.checks += findings.checks
                        shape.objects.append(findings)
                        teeth.entries.append((tooth_part.key, "findings", findings))
                    else:
                        raise Decline(f"{teeth_type.name}.{tooth_part.name} is not covered")
                shape.entries.append((part.key, "teeth", teeth))
            else:
                raise Decline(f"{odontogram.name}.{part.name} is not covered")
        return shape

    def gates(self, shape: _OdontogramShape) -> dict[str, Any]:
        return shape.gates

    def render(
        self,
        shape: _OdontogramShape,
        *,
        kwargs: dict[str, Any],
        info: Any,
        gates: dict[str, bool],
    ) -> tuple[str, list[Any]]:
        at = kwargs.get("at")
        echoed = None
        if at is not None:
            try:  # the resolver's Odontogram(at=at), serialized as every DateTime is
                echoed = serialize_datetime(at)
            except (ValueError, OverflowError):
                raise Decline("`at` cannot be answered (naive or out of range)") from None
        keys, keys_params = _ordered_keys(lambda: _findings(info=info, **kwargs))
        table = sql.identifier(models.Finding._meta.db_table)
        pk = _column("t1", models.Finding, "pk")
        tooth = _column("t1", models.Finding, "tooth")
        pairs: list[str] = []
        params: list[Any] = []
        for key, kind, teeth in shape.entries:
            if kind == "__typename":
                value = sql.literal(shape.type_name)
            elif kind == "at":
                value = "%s::text" if echoed is not None else "NULL"
                params += [echoed] if echoed is not None else []
            else:
                assert teeth is not None
                value = self._teeth(teeth, gates, table, pk)
            pairs.append(f"{sql.literal(key)}, {value}")
        # Runs of one tooth in the selector's order (``groupby``): a run starts where the
        # tooth differs from the row before.
        text = (
            f"WITH r0 AS (SELECT e.pk, e.n, {tooth} AS tooth, {tooth} IS DISTINCT FROM "
            f"lag({tooth}) OVER (ORDER BY e.n) AS starts FROM {keys} JOIN {table} t1 "
            f"ON {pk} = e.pk), "
            "r AS (SELECT r0.pk, r0.n, r0.tooth, sum(r0.starts::int) OVER (ORDER BY r0.n) AS run "
            "FROM r0) "
            f"SELECT json_build_object({', '.join(pairs)})"
        )
        return text, keys_params + params

    @staticmethod
    def _teeth(teeth: _TeethShape, gates: dict[str, bool], table: str, pk: str) -> str:
        pairs, columns = [], []
        for index, (key, kind, findings) in enumerate(teeth.entries):
            if kind == "__typename":
                pairs.append((key, sql.literal(teeth.type_name)))
            elif kind == "tooth":
                pairs.append((key, "g.tooth"))
            else:
                assert findings is not None
                columns.append(f", json_agg({findings.text(gates)} ORDER BY r.n) AS f{index}")
                pairs.append((key, f"g.f{index}"))
        return (
            f"coalesce((SELECT json_agg({sql.json_object(pairs)} ORDER BY g.run) FROM "
            f"(SELECT r.run, min(r.tooth) AS tooth{''.join(columns)} FROM r "
            f"JOIN {table} t1 ON {pk} = r.pk GROUP BY r.run) g), '[]'::json)"
        )


def _collect(parent: GraphQLObjectType, selection_sets: Any, fragments: Any) -> list[Selected]:
    """The selection's fields on a plain type (``Odontogram``, ``ToothChart``), whose fields
    take no arguments, within ``json_build_object``'s 50 keys."""
    selected = collect(parent, selection_sets, fragments)
    if len(selected) > _MAX_KEYS:
        raise Decline("too many fields in one object")
    return selected


cover_single("medical_history", _versions, arguments=("patient_id",), first=True, requires=_patient)
cover_custom(
    "medical_history_versions",
    ListRoot(_versions),
    arguments=("patient_id",),
    requires=_patient,
)
cover_custom("odontogram", OdontogramRoot(), arguments=("patient_id", "at"), requires=_patient)
