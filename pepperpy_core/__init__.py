from pepperpy_core.exceptions import *  # noqa: F403
