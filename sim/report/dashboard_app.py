"""The Solara app ``dyadsim viz`` serves: ``solara run sim.report.dashboard_app`` with the config in the environment."""

from sim.report.dashboard import build_page, config_from_env

page = build_page(config_from_env())
