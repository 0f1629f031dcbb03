"""The embedded demo world: a synthetic but realistic NASCAR Cup world (pure NumPy; no I/O),
a race source beside Neo4j once written to a folder (sources/embedded.py).

- world.py: `generate_world(seed, seasons, upcoming)`, the whole world as OntologyTables;
- calendar.py: the season (tracks, race names, Sundays, lock times);
- cast.py: drivers, teams, latent skill, who enters where;
- race.py: one run race, by the model's generative story (core/race_story.py);
- slate.py: DraftKings and FanDuel pricing, ownership, GPP payouts;
- stats.py: `world_statistics`, comparable with the real history.
"""

from nascar_pipeline.sources.demo_world.stats import world_statistics
from nascar_pipeline.sources.demo_world.world import generate_world

__all__ = ["generate_world", "world_statistics"]
