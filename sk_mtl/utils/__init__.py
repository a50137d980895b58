"""Utilities shared by the estimators: target encoding and input validation."""

from ._targets import (
    TaskTargets,
    encode_class_column,
    encode_targets,
    is_missing,
    labelled_values,
    stack_task_columns,
    task_columns,
)

__all__ = [
    "TaskTargets",
    "encode_class_column",
    "encode_targets",
    "is_missing",
    "labelled_values",
    "stack_task_columns",
    "task_columns",
]
