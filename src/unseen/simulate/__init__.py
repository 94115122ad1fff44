"""Simulated shop life: catalogue and history seeding now; shoppers and attackers over real HTTP later."""
