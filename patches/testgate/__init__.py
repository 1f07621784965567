"""The test gate: behavioural tests as data, run against every proposal in the background."""
