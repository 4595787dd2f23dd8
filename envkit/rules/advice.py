"""The steps that fix things, chosen for the detected OS. envkit prints them; it never runs sudo.

Versions come from the knowledge base and the snapshot, never from literals here.
"""

from __future__ import annotations

from envkit.rules.drivers import install_driver_steps

# The TensorFlow install lines moved to rules/tf_install.py (helper tfjudge); re-exported here.
from envkit.rules.tf_install import pip_install_tensorflow, tensorflow_env_steps

# The driver steps live in drivers.py, generated per distribution family and context.
__all__ = ["install_driver_steps", "pip_install_tensorflow", "tensorflow_env_steps"]
