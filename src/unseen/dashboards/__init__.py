"""Operator dashboards served by Voila (``unseen dashboards``): live request monitoring and demand trends.

The notebooks in ``dashboards/`` only lay out what the functions here compute, so that each part can be tested
without a browser and the browser tests only check what a browser adds (rendering, live updates, buttons).
"""
