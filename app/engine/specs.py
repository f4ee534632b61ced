"""Task spec classes the platform substitutes into SpiffWorkflow."""

from __future__ import annotations

from SpiffWorkflow.spiff.specs.defaults import ServiceTask


class DeferredServiceTask(ServiceTask):
    """A service task that does not run in the engine.

    `_execute` returns None, which leaves the task STARTED; the platform records it as a service
    job, a worker runs the operator and completes the task later in its own transaction.
    """

    def _execute(self, task):  # noqa: ANN001
        return None
