"""Settings from the environment and the targets YAML, validated once at start-up.

Every mistake an operator can make is reported before anything connects, all at once, each with its
path in the file (`targets[1].auth.access_key_env`) and what to write instead. The names here (README.md,
"Configuration"; examples/targets.yml) are the contract with operators: they may be extended, never renamed.

One module per part: `types` (durations, principals, URLs), `targets` (the YAML's models), `settings`
(the environment), `problems` (ConfigError and the friendly lines), `loading` (reading both).
"""

from bot.config.loading import AppConfig, load_app_config, load_config, load_settings
from bot.config.problems import ConfigError
from bot.config.settings import Settings
from bot.config.targets import AkSkAuth, Auth, BotConfig, BreakGlass, PasswordAuth, Target
from bot.config.types import Principals, parse_duration
from bot.ecs.endpoints import Endpoints, default_endpoints

__all__ = [
    "AkSkAuth",
    "AppConfig",
    "Auth",
    "BotConfig",
    "BreakGlass",
    "ConfigError",
    "Endpoints",
    "PasswordAuth",
    "Principals",
    "Settings",
    "Target",
    "default_endpoints",
    "load_app_config",
    "load_config",
    "load_settings",
    "parse_duration",
]
