"""The old name of `analysis.environment`, kept only while analysis/answers/common.py still imports `versions`
from here (that file is being edited elsewhere); delete this module once it imports from analysis.environment."""
from analysis.environment import PACKAGES, cpu_name, environment, versions  # noqa: F401 (re-exported)
