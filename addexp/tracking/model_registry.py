"""The MLflow Model Registry: a run's model as a new version of a registered model, the alias
`champion` on a sweep's best child, and model URIs read back to the run that logged them.

`tracking.register=NAME` registers, in the run's own store: a single run's model as a new
version of NAME (`models:/NAME/latest` names the newest), a sweep's best child's model (by
`eval.objective`) as a new version that the alias `champion` then points to
(`models:/NAME@champion`). Aliases, not the stages MLflow deprecated. Each version is tagged
with its run's name and objective, and for a sweep with the parent run's id.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

CHAMPION = "champion"
MODEL_URI = re.compile(r"models:/(?P<name>[^/@]+)(?:@(?P<alias>[^/]+)|/(?P<version>[^/]+))")


class RegistryError(LookupError):
    """A model URI the registry cannot resolve, or a name it cannot take: one line."""


@dataclass(frozen=True)
class Registered:
    """A new version of a registered model, and the alias set on it (None: none)."""

    name: str
    version: str
    alias: str | None

    @property
    def uri(self) -> str:
        return (
            f"models:/{self.name}@{self.alias}"
            if self.alias
            else f"models:/{self.name}/{self.version}"
        )


def register(
    uri: str, name: str, run_id: str, tags: dict[str, str], alias: str | None
) -> Registered:
    """Register run `run_id`'s model (the logged model it wrote as `model`) in the store at
    `uri` as a new version of `name` with `tags`, and point `alias` at it. Through the client,
    which prints nothing (MLflow's `register_model` prints each step)."""
    from mlflow.exceptions import MlflowException
    from mlflow.protos.databricks_pb2 import RESOURCE_ALREADY_EXISTS, ErrorCode
    from mlflow.tracking import MlflowClient

    client = MlflowClient(uri, registry_uri=uri)
    outputs = client.get_run(run_id).outputs
    model_id = max(outputs.model_outputs, key=lambda output: output.step).model_id
    try:
        client.create_registered_model(name)
    except MlflowException as error:
        if error.error_code != ErrorCode.Name(RESOURCE_ALREADY_EXISTS):
            raise
    made = client.create_model_version(
        name, source=f"models:/{model_id}", run_id=run_id, tags=tags, model_id=model_id
    )
    if alias:
        client.set_registered_model_alias(name, alias, made.version)
    return Registered(name, str(made.version), alias)


def run_of(uri: str, model_uri: str) -> str:
    """The id of the run whose model `model_uri` (`models:/NAME@ALIAS`, `models:/NAME/VERSION`,
    `models:/NAME/latest`) names in the store at `uri`. Raises RegistryError naming what is
    missing and what there is."""
    from mlflow.exceptions import MlflowException
    from mlflow.tracking import MlflowClient

    match = MODEL_URI.fullmatch(model_uri)
    if match is None:
        raise RegistryError(
            f"{model_uri}: a registered model is named models:/NAME@ALIAS, models:/NAME/VERSION "
            "or models:/NAME/latest"
        )
    name, alias, version = match["name"], match["alias"], match["version"]
    client = MlflowClient(uri, registry_uri=uri)
    try:
        model = client.get_registered_model(name)
    except MlflowException:
        raise RegistryError(
            f"{model_uri}: the store {uri} has no registered model {name!r}"
        ) from None
    if alias is not None:
        if alias not in model.aliases:
            held = ", ".join(sorted(model.aliases)) or "none"
            raise RegistryError(
                f"{model_uri}: {name!r} has no alias {alias!r} (its aliases: {held})"
            )
        version = str(model.aliases[alias])
    versions = {str(v.version): v for v in client.search_model_versions(f"name = '{name}'")}
    if version == "latest":
        version = max(versions, key=int)
    if str(version) not in versions:
        raise RegistryError(
            f"{model_uri}: {name!r} has no version {version} (its versions: "
            f"{', '.join(sorted(versions, key=int))})"
        )
    return versions[str(version)].run_id
