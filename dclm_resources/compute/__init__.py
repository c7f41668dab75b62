"""Running work on Ray: a session helper for the CLI and one way to fan tasks out, shared by every engine."""

from dclm_resources.compute.ray_tasks import local_ray_init_options, map_tasks, ray_session

__all__ = ["local_ray_init_options", "map_tasks", "ray_session"]
