"""Widgets for notebooks: plain ipywidgets, so they work in JupyterLab, Notebook 7 and VS Code."""

from .dashboard import Dashboard, dashboard

__all__ = ["Dashboard", "dashboard"]
