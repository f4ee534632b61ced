"""SpiffWorkflow serialisation configured for the platform's spec classes.

Specs are serialised once per definition version and restored once per process (cached); an
instance is rebuilt from its task rows plus a small metadata document, with the shared spec.
"""

from __future__ import annotations

import json
from functools import lru_cache
from typing import Any

from SpiffWorkflow.bpmn.serializer.default.event_definition import (
    TimerConditionalEventDefinitionConverter,
)
from SpiffWorkflow.bpmn.serializer.default.workflow import BpmnWorkflowConverter
from SpiffWorkflow.bpmn.serializer.workflow import BpmnWorkflowSerializer
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.spiff.serializer.config import SPIFF_CONFIG
from SpiffWorkflow.spiff.serializer.task_spec import ServiceTaskConverter
from SpiffWorkflow.spiff.specs.defaults import ServiceTask

from .indexed import IndexedBpmnWorkflow
from .specs import DeferredServiceTask
from .timers import BOUNDED


class SharedSpecWorkflowConverter(BpmnWorkflowConverter):
    """Accepts already restored spec objects so instances share one spec per version, and
    restores into an `IndexedBpmnWorkflow`."""

    def from_dict(self, dct):  # noqa: ANN001
        spec, subprocess_specs = dct.pop("spec"), dct.pop("subprocess_specs", {})
        if isinstance(spec, dict):
            spec = self.registry.restore(spec)
            subprocess_specs = self.mapping_from_dict(subprocess_specs)
        workflow = IndexedBpmnWorkflow(spec, subprocess_specs, deserializing=True)
        # Task() registers itself in workflow.tasks; rows come parents-first.
        workflow.tasks = {}
        for task_dct in dct["tasks"].values():
            self.registry.restore(task_dct, workflow=workflow)
        workflow.task_tree = workflow.tasks.get(_uuid(dct["root"]))
        self.set_default_attributes(workflow, dct)
        self.subprocesses_from_dict(dct["subprocesses"], workflow)
        workflow.bpmn_events = self.registry.restore(dct.pop("bpmn_events", []))
        return workflow


class BoundedTimerConverter(TimerConditionalEventDefinitionConverter):
    """Stores a bounded timer under SpiffWorkflow's type name and restores that name (also in
    specs stored before timers were bounded) as the bounded class."""

    def __init__(self, target_class, registry, typename=None):  # noqa: ANN001
        super().__init__(target_class, registry, typename or target_class.__mro__[1].__name__)


def _uuid(value: str):  # noqa: ANN202
    from uuid import UUID

    return UUID(value)


def _config() -> dict:
    config = dict(SPIFF_CONFIG)
    config[DeferredServiceTask] = ServiceTaskConverter
    config[ServiceTask] = ServiceTaskConverter
    config[BpmnWorkflow] = SharedSpecWorkflowConverter
    for bounded in BOUNDED.values():  # registered after the standard classes: restores win
        config[bounded] = BoundedTimerConverter
    return config


@lru_cache(maxsize=1)
def serializer() -> BpmnWorkflowSerializer:
    registry = BpmnWorkflowSerializer.configure(_config())
    return BpmnWorkflowSerializer(registry)


def dumps(obj: Any) -> str:
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False)


def spec_to_json(spec, subprocess_specs: dict) -> str:  # noqa: ANN001
    s = serializer()
    return dumps(
        {
            "spec": s.to_dict(spec),
            "subprocess_specs": {k: s.to_dict(v) for k, v in subprocess_specs.items()},
        }
    )


def spec_from_json(text: str):  # noqa: ANN201
    s = serializer()
    dct = json.loads(text)
    spec = s.from_dict(dct["spec"])
    subprocess_specs = {k: s.from_dict(v) for k, v in dct["subprocess_specs"].items()}
    return spec, subprocess_specs
