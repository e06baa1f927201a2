"""Decky runtimes: `LocalRuntime` (loopback listeners) and `DockerRuntime` (containers)."""

from infrastructure.runtime.docker_runtime import DockerRuntime
from infrastructure.runtime.docker_specs import DockerNetworkOptions, DockerRuntimeOptions
from infrastructure.runtime.handlers import HandlerFactory, ServiceContext, ServiceHandler
from infrastructure.runtime.local import LocalRuntime, LocalRuntimeOptions

__all__ = [
    "DockerNetworkOptions",
    "DockerRuntime",
    "DockerRuntimeOptions",
    "HandlerFactory",
    "LocalRuntime",
    "LocalRuntimeOptions",
    "ServiceContext",
    "ServiceHandler",
]
