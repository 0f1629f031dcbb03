"""`JaxRuntime`: the process-wide JAX set-up of a run, decided before JAX starts.

JAX's persistent compilation cache folder and its number of CPU devices (what lets MCMC chains
run in parallel) can only be set before its backends start, and core reads no environment
(core/jax_setup.py). So definitions.py builds this resource from the settings
(NASCAR_JAX_CACHE, default `<pipeline home>/cache/jax`; the cores the process may use), and the
assets that run JAX programs (race_model_fit, race_scenarios) take it: Dagster sets it up when
the run's step starts, before the asset's first JAX operation. `storage_resources()` binds a
`JaxRuntime()` too (the settings' folder, read in the run's process), so every set of race
resources carries one. The daemon's run workers, the CLI's in-process runs and Kubernetes run
pods all load the same definitions, so they all read the same variable (the image sets NASCAR_JAX_CACHE=/var/cache/nascar-pipeline/jax; on Kubernetes a run pod
starts with an empty cache unless the Helm chart's `jaxCache` mounts a shared volume there).
"""

from dagster import ConfigurableResource, InitResourceContext
from pydantic import Field, PrivateAttr


class JaxRuntime(ConfigurableResource):
    """Where compiled XLA programs persist (None: no persistent cache) and how many CPU devices
    JAX gets (None: the cores this process may use, cgroup and affinity aware)."""

    cache_dir: str | None = Field(
        default=None,
        description="JAX's persistent compilation cache folder, or off; unset: the settings' "
        "(NASCAR_JAX_CACHE, default <pipeline home>/cache/jax) in the run's process",
    )
    host_devices: int | None = Field(
        default=None,
        ge=1,
        description="CPU devices for parallel chains; unset: the cores the process may use",
    )

    _decided: dict | None = PrivateAttr(default=None)

    def setup_for_execution(self, context: InitResourceContext) -> None:
        decided = self.configure()
        if context.log is not None:
            context.log.info(
                f"JAX: compilation cache {decided['jax_cache_dir'] or 'off'}, "
                f"{decided['host_devices']} CPU device(s)"
            )

    def configure(self) -> dict:
        """Apply the set-up (the first decision in a process wins; see core/jax_setup.py) and
        return what the process has: {'jax_cache_dir', 'host_devices', 'host_devices_reason'}."""
        if self._decided is None:
            from nascar_pipeline.core.jax_setup import configure_jax, host_devices_reason

            decided = configure_jax(self.cache_folder(), self.host_devices)
            self._decided = {**decided, "host_devices_reason": host_devices_reason()}
        return self._decided

    def cache_folder(self) -> str | None:
        """The folder in use: this resource's, else the settings'; None: the cache is off."""
        from nascar_pipeline.settings import JAX_CACHE_OFF, get_settings

        if self.cache_dir is None:
            folder = get_settings().jax_cache_dir
            return None if folder is None else str(folder)
        return None if self.cache_dir.strip().lower() in JAX_CACHE_OFF else self.cache_dir


def jax_runtime_resource(settings) -> JaxRuntime:
    """The resource for these settings (`PipelineSettings`): their cache folder, or off."""
    folder = settings.jax_cache_dir
    return JaxRuntime(cache_dir="off" if folder is None else str(folder))
