"""Tests of the diff engine, its partial and its benchmark."""
